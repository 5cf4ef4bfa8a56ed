"""Run the question notebooks for a council and write one self-contained HTML report.

The notebooks in ``notebooks/`` stay standalone (each has a ``parameters`` cell and can be run on
its own with papermill). For a report they are merged into one notebook, executed once (one kernel,
data loaded once), split back into the executed per-question notebooks, and rendered to a single HTML
file with the code hidden. Output folders are named from the council's ONS code, never from user text.

Speed: the notebooks read the national evidence tables (:mod:`asc_evidence.evidence`) when they are
fresh, so a report only selects rows and draws. Notebooks are executed with nbclient directly
(papermill, used before, takes about 3 s to import and rewrites the whole notebook, images
included, before and after every cell); parameters are injected as papermill does
(:func:`inject_parameters`). ``--all`` gives each worker process one kernel, whose imports and
evidence tables stay in memory between councils; workers take the next council from a shared
queue as they finish one, so they finish together.
"""

from __future__ import annotations

import contextlib
import copy
import html
import itertools
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import cache
from pathlib import Path

from asc_evidence.build import safe_name
from asc_evidence.config import settings
from asc_evidence.councils import Council, lookup
from asc_evidence.errors import InvalidOptionError, ReportFailedError, UserInputError

NOTEBOOKS = (
    "06_council_report.ipynb",
    "01_fee_rates.ipynb",
    "02_delayed_discharges.ipynb",
    "03_admissions.ipynb",
    "04_personal_budgets.ipynb",
    "05_demand.ipynb",
    "08_outcomes.ipynb",
)


def _nbformat():  # -> the nbformat module
    """``nbformat``, imported without the IRI syntax checker of jsonschema.

    jsonschema registers an "iri" format check when ``rfc3987_syntax`` is installed, and that
    package builds a grammar parser when imported: 2.6 s of every report process's start here.
    The notebook schema has no "iri" format, so the report process does without it (the entry is
    only set when jsonschema has not been imported yet, so nothing already loaded changes).
    """
    import sys

    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    import nbformat

    return nbformat


def notebooks_dir() -> Path:
    """The folder of question notebooks (``notebooks/`` in the project)."""
    folder = settings().project / "notebooks"
    missing = [n for n in NOTEBOOKS if not (folder / n).is_file()]
    if missing:
        msg = "report notebooks not found"
        raise UserInputError(
            msg,
            f"the question notebooks {list(NOTEBOOKS)} in {folder}",
            f"{len(missing)} missing ({', '.join(missing)})",
            "Run the command from the asc-evidence project folder (the one holding "
            "pyproject.toml and notebooks/), or a folder below it.",
        )
    return folder


def merge_notebooks(paths: list[Path]):  # -> nbformat.NotebookNode
    """One notebook from several: the first ``parameters`` cell is kept, later ones dropped.

    Every cell remembers its source notebook in ``metadata.asc_source`` so the executed result can be
    split back. Later notebooks' parameter cells are dropped because papermill injects values once.
    Stored outputs are dropped before the notebook is validated (they are most of its size: read
    with them, the notebooks took 2 s to validate).
    """
    import json

    nbformat = _nbformat()

    merged = None
    for path in paths:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        for cell in raw.get("cells", []):
            if cell.get("cell_type") == "code":
                cell["outputs"] = []
                cell["execution_count"] = None
        nb = nbformat.reads(json.dumps(raw), as_version=4)
        for cell in nb.cells:
            cell.metadata["asc_source"] = path.name
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
        if merged is None:
            merged = nb
            continue
        merged.cells.extend(c for c in nb.cells if "parameters" not in c.metadata.get("tags", []))
    assert merged is not None
    return merged


def split_notebook(nb, out_dir: Path) -> list[Path]:
    """Write the executed cells of each source notebook back to its own file in ``out_dir``.

    Each part is written as :func:`nbformat.write` writes it, without validating it again: it is
    some of the cells and the metadata of ``nb``, which :func:`_write_outputs` writes (and so
    validates) as ``report.ipynb`` (nbformat only logs an invalid notebook, as here).
    """
    nbformat = _nbformat()

    current = nb.cells[0].metadata.get("asc_source", "report.ipynb") if nb.cells else "report.ipynb"
    for cell in (
        nb.cells
    ):  # papermill's injected-parameters cell has no source: it belongs with its neighbour
        current = cell.metadata.setdefault("asc_source", current)
    written = []
    for name in dict.fromkeys(c.metadata["asc_source"] for c in nb.cells):
        part = copy.copy(nb)  # the cells and metadata are shared, not changed
        part.cells = [c for c in nb.cells if c.metadata["asc_source"] == name]
        path = out_dir / f"{safe_name(Path(name).stem)}.ipynb"
        path.write_text(nbformat.v4.writes(part) + "\n", encoding="utf-8")  # as nbformat.write
        written.append(path)
    return written


def to_html(nb, title: str, footer: str = "") -> str:
    """Self-contained HTML (images inline, nothing fetched from the network) with the code hidden.

    Uses the package's ``asc_report`` template (JupyterLab's, without the require.js, MathJax and
    mermaid scripts it would load from a CDN; print-friendly CSS) and appends ``footer`` (HTML).
    """
    exporter = _exporter()
    nb = copy.copy(nb)  # the exporter copies the notebook itself; only the metadata is changed
    nb.metadata = copy.copy(nb.metadata)
    nb.metadata["title"] = title
    nb.metadata["asc_footer"] = footer
    body, _ = exporter.from_notebook_node(nb)
    return body


#: Alternative text nbconvert gives an image that has none (kept, for screen readers).
NO_ALT = "No description has been provided for this image"


@cache
def _exporter():  # -> nbconvert.HTMLExporter
    """The HTML exporter with the package's template (made once per process: --all reuses it).

    nbconvert's HTML exporter parses its own output with BeautifulSoup only to give images a
    default alternative text and output areas a ``tabindex`` (a second of a report's time); this
    one makes the same two changes on the template's output with regular expressions. It also
    validates the notebook once (nbconvert's ``optimistic_validation``) rather than after each of
    its twelve preprocessors, most of which are off.
    """
    import re
    from importlib import resources

    _nbformat()  # before nbconvert imports it
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class FastHTMLExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            self.register_filter(
                "highlight_code",
                self.filters.get(
                    "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)
                ),
            )
            resources = self._init_resources(resources)
            self.register_filter(
                "filter_data_type",
                WidgetsDataTypeFilter(
                    notebook_metadata=self._nb_metadata, parent=self, resources=resources
                ),
            )
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            html = re.sub(r"<img(?![^>]*\balt=)", f'<img alt="{NO_ALT}"', html)
            html = re.sub(
                r'(<div\b[^>]*\bclass="[^"]*\b(?:jp-OutputArea-output|jp-Cell-inputWrapper)\b'
                r'[^"]*")(?![^>]*\btabindex=)',
                r'\1 tabindex="0"',
                html,
            )
            return html, resources

    templates = str(resources.files("asc_evidence") / "templates")
    exporter = FastHTMLExporter(template_name="asc_report", extra_template_basedirs=[templates])
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    # validate the notebook once, after the last preprocessor, not after each of the twelve
    exporter.optimistic_validation = True
    return exporter


def footer_html(today: str | None = None) -> str:
    """Report footer: date made, data period of each headline indicator, package version, sources."""
    import datetime as dt
    from importlib.metadata import PackageNotFoundError, version

    import pandas as pd

    from asc_evidence import indicators

    try:
        ver = version("asc-evidence")
    except PackageNotFoundError:  # running from a source tree without installing
        ver = "unknown"
    periods = []
    for key in ("delayed_social_care", "admissions_65", "direct_payments", "fee_home_care_hour"):
        t = indicators.get(key)
        p = sorted(t.loc[t["value"].notna(), "period"].unique())
        if p:
            periods.append(f"{indicators.INDICATORS[key].title}: {p[0]} to {p[-1]}")
    reg = pd.read_csv(resources_registry())
    pages = reg.dropna(subset=["official_page"]).drop_duplicates("official_page")
    pages = pages.groupby("dataset").head(3)
    items = "".join(
        f'<li>{html.escape(str(r.publisher))}: <a href="{html.escape(str(r.official_page))}">'
        f"{html.escape(str(r.official_page))}</a></li>"
        for r in pages.itertuples()
    )
    made = today or dt.date.today().isoformat()
    return (
        '<footer class="asc-footer">'
        f"<p>Made on {made} by asc-evidence {html.escape(ver)}. Data periods: "
        f"{html.escape('; '.join(periods))}. Licence of the data: Open Government Licence v3.0.</p>"
        "<p>Official sources (the package's registry also says where each copy used came from):</p>"
        f"<ul>{items}</ul></footer>"
    )


def resources_registry():
    """Path of the packaged registry (official pages, URLs and where each copy came from)."""
    from importlib import resources

    return resources.files("asc_evidence") / "registry.csv"


#: Kernel options for quiet runs: the kernel only listens on the loopback interface, so its
#: "running over TCP without encryption" warning says nothing to a report reader.
KERNEL_QUIET = ["--IPKernelApp.log_level=ERROR"]


#: Tag of the cell holding the injected parameter values (papermill's name).
INJECTED = "injected-parameters"


def inject_parameters(nb, params: dict):  # -> nbformat.NotebookNode
    """A copy of ``nb`` with the values of ``params`` assigned in a new cell right after its
    ``parameters`` cell (at the top when it has none), tagged ``injected-parameters``, replacing
    any earlier injected cell: papermill's convention, without importing papermill.

    Values are written as Python literals (``repr``), so any text (quotes, backslashes) is safe.
    """
    nbformat = _nbformat()

    nb = copy.deepcopy(nb)
    source = "# Parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in params.items())
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [INJECTED]
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    old = [i for i, t in enumerate(tags) if INJECTED in t]
    if old:
        nb.cells[old[0]] = cell
        for i in reversed(old[1:]):
            del nb.cells[i]
    else:
        first = next((i for i, t in enumerate(tags) if "parameters" in t), -1)
        nb.cells.insert(first + 1, cell)
    nb.metadata.setdefault("asc_evidence", {})["parameters"] = dict(params)
    return nb


def _client(nb, cwd: Path):  # -> nbclient.NotebookClient
    _nbformat()  # before nbclient imports it
    from nbclient import NotebookClient

    return NotebookClient(
        nb,
        kernel_name="python3",
        timeout=900,
        resources={"metadata": {"path": str(cwd)}},
        extra_arguments=KERNEL_QUIET,
    )


#: Seconds each question notebook's cells take in a warm kernel on the 2-core machine, once the
#: package is imported (measured with one kernel, Walsall), to share them between kernels; a
#: notebook not listed counts as 2. The first notebook of each kernel also pays the imports
#: (about 2.5 s), the same for every group.
NOTEBOOK_COST = {
    "06_council_report.ipynb": 1.5,
    "01_fee_rates.ipynb": 1.4,
    "02_delayed_discharges.ipynb": 1.7,
    "03_admissions.ipynb": 3.3,
    "04_personal_budgets.ipynb": 0.9,
    "05_demand.ipynb": 2.3,
    "08_outcomes.ipynb": 2.6,
}
_DEFAULT_COST = 2.0


def kernel_groups(names: list[str], kernels: int) -> list[list[str]]:
    """``names`` shared between ``kernels`` kernels so that the most loaded one finishes first
    (:data:`NOTEBOOK_COST`): every assignment is tried when there are few (the best one, ties
    broken by the first found), else costliest first to the least loaded. Each group keeps the
    order of ``names``; empty groups are dropped."""
    import itertools

    kernels = max(1, kernels)
    cost = [NOTEBOOK_COST.get(n, _DEFAULT_COST) for n in names]
    if kernels ** len(names) <= 5000:
        best = min(
            itertools.product(range(kernels), repeat=len(names)),
            key=lambda a: max(
                sum(c for c, k in zip(cost, a, strict=True) if k == g) for g in range(kernels)
            ),
        )
    else:
        loads = [0.0] * kernels
        best_list = [0] * len(names)
        for i in sorted(range(len(names)), key=lambda i: (-cost[i], i)):
            g = loads.index(min(loads))
            best_list[i] = g
            loads[g] += cost[i]
        best = tuple(best_list)
    groups = [[n for n, g in zip(names, best, strict=True) if g == k] for k in range(kernels)]
    return [g for g in groups if g]


def default_kernels() -> int:
    """Kernels for one council's report: 2 where the machine has 2 or more cores, else 1."""
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def _execute(merged, output_path: Path, params: dict, cwd: Path, kernels: int | None = None):
    """Execute ``merged`` with ``params`` injected (nbclient, working folder ``cwd``); returns
    the executed notebook. A failing cell raises nbclient's ``CellExecutionError``, which carries
    the notebook's own error name and value. ``output_path`` is where the caller writes the
    result (nothing is written while cells run).

    With ``kernels`` > 1 (default :func:`default_kernels`) the question notebooks (each
    standalone) are shared between that many kernels run at the same time
    (:func:`kernel_groups`), and their executed cells put back in the merged order: the same
    cells and outputs as one kernel gives, in about half the time on two free cores. The
    parameter cells of every group but the first are left out of the result, as in the merged
    notebook.
    """
    import asyncio

    kernels = default_kernels() if kernels is None else kernels
    try:
        asyncio.get_running_loop()
        kernels = 1  # called from a running event loop (e.g. a notebook): one kernel
    except RuntimeError:
        pass
    names = list(dict.fromkeys(c.metadata.get("asc_source", "") for c in merged.cells))
    groups = kernel_groups(names, kernels) if kernels > 1 and len(names) > 1 else [names]
    if len(groups) == 1:
        nb = inject_parameters(merged, params)
        _client(nb, cwd).execute()
        return nb

    parts = []
    for group in groups:
        part = copy.deepcopy(merged)
        part.cells = [c for c in merged.cells if c.metadata.get("asc_source", "") in group]
        first = next((i for i, c in enumerate(part.cells) if c.cell_type == "code"), 0)
        if "parameters" not in part.cells[first].metadata.get("tags", []):
            cell = copy.deepcopy(
                next(c for c in merged.cells if "parameters" in c.metadata.get("tags", []))
            )
            cell.metadata["asc_source"] = part.cells[first].metadata.get("asc_source", "")
            part.cells.insert(first, cell)
        parts.append(inject_parameters(part, params))

    async def run_all_parts() -> None:
        await asyncio.gather(*(_client(p, cwd).async_execute() for p in parts))

    asyncio.run(run_all_parts())
    primary = next(i for i, g in enumerate(groups) if names[0] in g)
    executed: dict[str, list] = {}
    for i, part in enumerate(parts):
        for cell in part.cells:
            tags = cell.metadata.get("tags", [])
            if i != primary and ("parameters" in tags or INJECTED in tags):
                continue  # the merged notebook has one parameters cell, in its first notebook
            # the injected cell has no source notebook: it follows the parameters cell
            executed.setdefault(cell.metadata.get("asc_source", names[0]), []).append(cell)
    nb = inject_parameters(merged, params)  # the merged notebook's metadata, executed cells
    nb.cells = [cell for name in names for cell in executed.get(name, [])]
    return nb


def _staging_dir(out: Path, code: str) -> Path:
    """A fresh hidden folder beside ``out/<code>`` (same filesystem, so the final move is a rename)."""
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{code}.partial-", dir=out))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; a report folder is not
    return staging


def _publish(staging: Path, target: Path) -> None:
    """Replace ``target`` by the complete ``staging`` folder.

    Two renames on one filesystem: the old folder is moved aside, the new one moved in, then the
    old one deleted; if the second rename fails the old folder is moved back.
    """
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        target.rename(old)
    try:
        staging.rename(target)
    except BaseException:
        if old is not None:
            old.rename(target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _failure_summary(exc: BaseException) -> str:
    """One line: the notebook's own error name and value when papermill reports one."""
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    text = f"{ename}: {evalue}" if ename else f"{type(exc).__name__}: {exc}"
    text = " ".join(str(text).split())
    return text if len(text) <= 300 else text[:297] + "..."


def _unchanged_note(target: Path, existed: bool) -> str:
    if existed:
        return f"The previous report in {target} is unchanged."
    return f"No report was written to {target}."


def _params(council: Council, year: str | None, neighbours: int, nb_file: Path | None) -> dict:
    return {
        "council": council.code,
        "year": year or "",
        "neighbours": int(neighbours),
        "neighbour_file": str(nb_file or ""),
    }


def run_council(
    council: Council | str,
    *,
    out: Path = Path("reports"),
    year: str | None = None,
    neighbours: int = 15,
    neighbour_file: Path | None = None,
    progress: Callable[[str], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> Path:
    """Execute the merged report for one council; returns the HTML path ``out/<code>/report.html``.

    The inputs are checked first (:func:`asc_evidence.validate.check_report_inputs`; warnings go to
    ``warn``, default :func:`warnings.warn`). The notebooks run into a hidden folder beside the
    target, and the complete folder (report.html, report.ipynb, section notebooks) replaces
    ``out/<code>`` only when everything was written. On failure the previous report is unchanged
    and :class:`~asc_evidence.errors.ReportFailedError` says so.
    """
    from asc_evidence import validate

    inputs = validate.check_report_inputs(
        council, year=year, neighbours=neighbours, neighbour_file=neighbour_file, out=out
    )
    _emit_warnings(inputs.warnings + _evidence_warning(), warn)
    council = inputs.councils[0]
    code = safe_name(council.code)
    target = inputs.out / code
    folder = notebooks_dir()
    merged = merge_notebooks([folder / n for n in NOTEBOOKS])
    params = _params(council, inputs.year, inputs.neighbours, inputs.neighbour_file)
    if progress:
        progress(f"{council.name} ({council.code}): running {len(NOTEBOOKS)} notebooks")
    existed = target.exists()
    staging = _staging_dir(inputs.out, code)
    try:
        executed = _execute(merged, staging / "report.ipynb", params, folder)
        _write_outputs(executed, council, staging)
        _publish(staging, target)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit
            raise
        msg = (
            f"The report for {council.name} ({council.code}) failed while running the notebooks "
            f"({_failure_summary(exc)}). {_unchanged_note(target, existed)} "
            "Rerun with `asc-evidence --debug report ...` to see the full traceback."
        )
        raise ReportFailedError(msg) from exc
    path = target / "report.html"
    if progress:
        progress(f"{council.name}: wrote {path}")
    return path


def _evidence_warning() -> tuple[str, ...]:
    """A warning when the national evidence tables cannot be used (the report is then slower)."""
    from asc_evidence import evidence

    status = evidence.status()
    if status == "fresh":
        return ()
    return (
        f"The national evidence tables are {status}: the report computes every national table "
        "itself, which takes several times longer. Run `asc-evidence data evidence` (or `data "
        "build`) once to make them.",
    )


def ensure_evidence(progress: Callable[[str], None] | None = None) -> str:
    """Build the national evidence tables when they are not fresh (``report --all`` does this
    first: once, instead of recomputing national tables in every council's report); returns
    ``"built"`` or ``"up to date"``."""
    from asc_evidence import evidence

    status = evidence.status()
    if status == "fresh":
        return "up to date"
    if progress:
        progress(f"national evidence tables {status}: building them first")
    return evidence.build(progress=progress)


def _emit_warnings(messages: tuple[str, ...], warn: Callable[[str], None] | None) -> None:
    for m in messages:
        if warn is not None:
            warn(m)
        else:
            warnings.warn(m, stacklevel=3)


def _write_outputs(executed, council: Council, target: Path) -> Path:
    """Executed notebook, per-question notebooks and the self-contained HTML page in ``target``."""
    nbformat = _nbformat()

    nbformat.write(executed, target / "report.ipynb")
    split_notebook(executed, target)
    path = target / "report.html"
    html_text = to_html(
        executed, f"{council.name}: adult social care benchmarking", footer=footer_html()
    )
    path.write_text(html_text, encoding="utf-8")
    return path


def _run_chunk(
    codes: Iterable[str],
    out: str,
    year: str | None,
    neighbours: int,
    neighbour_file: str | None,
    done_queue=None,
) -> list[tuple[str, str, str]]:
    """Reports for several councils in ONE kernel, so imports and data loads happen once per chunk.

    ``codes`` may be any iterable, read one code at a time (:func:`_run_queue` passes councils
    taken from a queue as the kernel becomes free).

    Each council gets a fresh namespace (``%reset -f``) and its parameters
    (:func:`inject_parameters`); package-level caches (evidence and processed tables, indicators,
    neighbours) stay warm. Each report is written to a hidden folder and moved into place when
    complete (see :func:`_publish`). Returns ``(code, html path or '', error or '')`` per council;
    one failure does not stop the rest. Each finished council is also put on ``done_queue``
    (when given) as ``(code, error or '')``, for the progress bar.
    """
    folder = notebooks_dir()
    merged = merge_notebooks([folder / n for n in NOTEBOOKS])
    client = _client(copy.deepcopy(merged), folder)
    results = []
    with client.setup_kernel():
        for code in codes:
            council = lookup(code)
            params = _params(
                council, year, neighbours, Path(neighbour_file) if neighbour_file else None
            )
            nb = inject_parameters(merged, params)
            target = Path(out) / safe_name(council.code)
            existed = target.exists()
            staging = _staging_dir(Path(out), safe_name(council.code))
            try:
                _reset_namespace(client)
                client.nb = nb
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index)
                _write_outputs(nb, council, staging)
                _publish(staging, target)
                results.append((code, str(target / "report.html"), ""))
            except Exception as exc:  # one council's failure must not stop the others
                shutil.rmtree(staging, ignore_errors=True)
                note = _unchanged_note(target, existed)
                results.append((code, "", f"{_failure_summary(exc)} {note}"))
            if done_queue is not None:
                done_queue.put((code, results[-1][2]))
    return results


def _reset_namespace(client) -> None:
    """Empty the kernel's namespace (``%reset -f``) between two councils of a chunk, then collect
    the previous council's garbage and leave what the kernel keeps (modules, tables, memoised
    rows) out of later collections (:func:`asc_evidence.common.freeze_live_objects`), with
    automatic collection paused: each council's garbage is collected here, at the next reset.

    The cell runs in a notebook of its own: nbclient stores an executed cell at its index in
    ``client.nb``, so run inside the report it would replace the report's first cell.
    """
    nbformat = _nbformat()

    cell = nbformat.v4.new_code_cell(
        "%reset -f\nimport asc_evidence.common as _common\n"
        "_common.freeze_live_objects(pause=True)\ndel _common"
    )
    client.nb = nbformat.v4.new_notebook(cells=[cell])
    client.execute_cell(cell, 0)


#: Most councils one kernel of ``--all`` reports before it is replaced by a fresh one (a kernel's
#: start and first imports cost about 7 s; its memory stays flat over councils, so this is only a
#: guard against slow growth). With 153 councils and two workers, each worker starts one kernel.
MAX_PER_KERNEL = 80


def _queued(todo, limit: int) -> Iterator[str]:
    """Codes taken from the queue ``todo`` one at a time, at most ``limit``, until it is empty.

    Only an empty queue ends it: a lost connection to the queue's manager raises, so the worker
    fails (and ``run_all`` with it) rather than leaving councils silently unreported."""
    import queue as queue_mod

    for _ in range(limit):
        try:
            yield todo.get_nowait()
        except queue_mod.Empty:
            return


def _run_queue(
    todo,
    out: str,
    year: str | None,
    neighbours: int,
    neighbour_file: str | None,
    done_queue=None,
    per_kernel: int = MAX_PER_KERNEL,
) -> list[tuple[str, str, str]]:
    """One worker of ``--all``: reports for councils taken from the queue ``todo`` as the kernel
    becomes free (:func:`_run_chunk`), in a fresh kernel every ``per_kernel`` councils, until the
    queue is empty. Workers sharing one queue finish within a council of each other, whatever
    each council costs (fixed chunks left one worker idle for minutes at the end)."""
    results: list[tuple[str, str, str]] = []
    while True:
        codes = _queued(todo, per_kernel)
        first = next(codes, None)
        if first is None:
            return results
        results += _run_chunk(
            itertools.chain([first], codes), out, year, neighbours, neighbour_file, done_queue
        )


def run_all(
    *,
    out: Path = Path("reports"),
    year: str | None = None,
    neighbours: int = 15,
    neighbour_file: Path | None = None,
    workers: int = 2,
    codes: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    warn: Callable[[str], None] | None = None,
    per_kernel: int = MAX_PER_KERNEL,
) -> Path:
    """Reports for every current council (or ``codes``) in parallel worker processes, plus the
    national index page (as :func:`national_index` writes it).

    Inputs are checked first (:func:`asc_evidence.validate.check_report_inputs`); councils that
    cannot be reported (e.g. no row in the neighbour file) are listed as failed without running.
    Each of ``workers`` processes runs councils in one kernel, taking the next council from a
    shared queue when it finishes one (:func:`_run_queue`; a fresh kernel every ``per_kernel``
    councils); each report folder is replaced only when its new report is complete. The national
    index's verdicts are computed in a thread of this process while the workers run
    (:func:`asc_evidence.national.national_frame`, pandas only), so no core waits for them at the
    end; its maps are drawn last, in the main thread. The progress
    bar moves as each council finishes; a council's error is kept and listed at the end, not
    raised. Run :func:`ensure_evidence` first (``report --all`` does) so the national tables are
    not recomputed in every council's report.
    """
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    from asc_evidence import national, validate

    if not isinstance(workers, int) or workers < 1:
        msg = f"--workers {workers}"
        raise InvalidOptionError(msg, "a whole number of at least 1", str(workers), "Use 1 or 2.")
    inputs = validate.check_report_inputs(
        all_councils=True,
        codes=codes,
        year=year,
        neighbours=neighbours,
        neighbour_file=neighbour_file,
        out=out,
    )
    _emit_warnings(inputs.warnings + _evidence_warning(), warn)
    out = inputs.out
    failed: dict[str, str] = dict(inputs.skipped)
    todo = [c.code for c in inputs.councils if c.code not in failed]
    done: dict[str, str] = {}
    nb_file = str(inputs.neighbour_file) if inputs.neighbour_file else None
    n_workers = min(workers, len(todo))
    with (
        _manager() as manager,
        ProcessPoolExecutor(max_workers=max(1, n_workers)) as pool,
        ThreadPoolExecutor(max_workers=1) as side,
    ):
        todo_queue, queue = manager.Queue(), manager.Queue()
        for code in todo:
            todo_queue.put(code)
        args = (todo_queue, str(out), inputs.year, inputs.neighbours, nb_file, queue, per_kernel)
        futures = [pool.submit(_run_queue, *args) for _ in range(n_workers)]
        # started after the workers are forked (a fork while a thread holds a lock can hang);
        # pandas only: the maps are drawn at the end, in the main thread (pyplot)
        verdicts = side.submit(national.national_frame, inputs.year)
        with tqdm(total=len(todo), desc="councils", disable=progress is None) as bar:
            ticked: set[str] = set()
            pending = set(futures)
            while pending:
                for code in _drain(queue, timeout=0.5 if pending else 0):
                    if code not in ticked:
                        ticked.add(code)
                        bar.update(1)
                finished = [f for f in pending if f.done()]
                for fut in as_completed(finished):
                    pending.discard(fut)
                    for code, html_path, error in fut.result():
                        if error:
                            failed[code] = error
                        else:
                            done[code] = html_path
                        if code not in ticked:
                            ticked.add(code)
                            bar.update(1)
        if progress:
            progress("national index")
        index = national.write_index(out, year=inputs.year, failed=failed, frame=verdicts.result())
    if failed and progress:
        progress(
            f"{len(failed)} council(s) failed: "
            + "; ".join(f"{k}: {v[:160]}" for k, v in failed.items())
        )
    return index


@contextlib.contextmanager
def _manager():
    """A manager process, whose queues worker processes share (councils to do; councils done)."""
    import multiprocessing

    manager = multiprocessing.Manager()
    try:
        yield manager
    finally:
        manager.shutdown()


def _drain(queue, timeout: float) -> list[str]:
    """Codes put on ``queue`` so far (waiting up to ``timeout`` seconds for the first)."""
    import queue as queue_mod

    codes = []
    try:
        codes.append(queue.get(timeout=timeout)[0] if timeout else queue.get_nowait()[0])
        while True:
            codes.append(queue.get_nowait()[0])
    except (queue_mod.Empty, EOFError, OSError):
        pass
    return codes


def national_index(
    out: Path = Path("reports"),
    *,
    year: str | None = None,
    codes: list[str] | None = None,
    failed: dict[str, str] | None = None,
    maps: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """The national index ``out/index.html``: every council (or ``codes``) and headline indicator
    in one sortable table with the profile's colours, a map per indicator, links to the councils'
    reports found in ``out``, and the councils in ``failed``.

    Computed in this process from the processed tables (no notebook is run), so it can be rebuilt
    on its own; :func:`run_all` writes the same page, with the verdicts computed while its
    workers run. See :mod:`asc_evidence.national`.
    """
    from asc_evidence import national

    return national.write_index(
        Path(out), year=year, codes=codes, failed=failed, maps=maps, progress=progress
    )
