"""Run the question notebooks for a council and write one self-contained HTML report.

The notebooks in ``notebooks/`` stay standalone (each has a ``parameters`` cell and can be run on
its own with papermill). For a report they are merged into one notebook, executed once (one kernel,
data loaded once), split back into the executed per-question notebooks, and rendered to a single HTML
file with the code hidden. Output folders are named from the council's ONS code, never from user text.

Speed: the notebooks read the national evidence tables (:mod:`asc_evidence.evidence`) when they are
fresh, so a report only selects rows and draws. Notebooks are executed with nbclient directly
(papermill, used before, takes about 3 s to import and rewrites the whole notebook, images
included, before and after every cell); parameters are injected as papermill does
(:func:`inject_parameters`). ``--all`` runs councils in chunks, one kernel per chunk, whose
imports and evidence tables stay in memory between councils.
"""

from __future__ import annotations

import copy
import html
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable
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

    import nbformat

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
    """Write the executed cells of each source notebook back to its own file in ``out_dir``."""
    import nbformat

    current = nb.cells[0].metadata.get("asc_source", "report.ipynb") if nb.cells else "report.ipynb"
    for cell in (
        nb.cells
    ):  # papermill's injected-parameters cell has no source: it belongs with its neighbour
        current = cell.metadata.setdefault("asc_source", current)
    written = []
    for name in dict.fromkeys(c.metadata["asc_source"] for c in nb.cells):
        part = copy.deepcopy(nb)
        part.cells = [c for c in nb.cells if c.metadata["asc_source"] == name]
        path = out_dir / f"{safe_name(Path(name).stem)}.ipynb"
        nbformat.write(part, path)
        written.append(path)
    return written


def to_html(nb, title: str, footer: str = "") -> str:
    """Self-contained HTML (images inline, nothing fetched from the network) with the code hidden.

    Uses the package's ``asc_report`` template (JupyterLab's, without the require.js, MathJax and
    mermaid scripts it would load from a CDN; print-friendly CSS) and appends ``footer`` (HTML).
    """
    exporter = _exporter()
    nb = copy.deepcopy(nb)
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
    one makes the same two changes on the template's output with regular expressions.
    """
    import re
    from importlib import resources

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
    import nbformat

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
    from nbclient import NotebookClient

    return NotebookClient(
        nb,
        kernel_name="python3",
        timeout=900,
        resources={"metadata": {"path": str(cwd)}},
        extra_arguments=KERNEL_QUIET,
    )


def _execute(merged, output_path: Path, params: dict, cwd: Path):
    """Execute ``merged`` with ``params`` injected (nbclient, one kernel, working folder ``cwd``);
    returns the executed notebook. A failing cell raises nbclient's ``CellExecutionError``, which
    carries the notebook's own error name and value. ``output_path`` is where the caller writes
    the result (nothing is written while cells run)."""
    nb = inject_parameters(merged, params)
    _client(nb, cwd).execute()
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


def _ensure_evidence(progress: Callable[[str], None] | None) -> None:
    """Build the national evidence tables before ``--all`` when they are not fresh (once, instead
    of recomputing them in every council's report)."""
    from asc_evidence import evidence

    if evidence.status() != "fresh":
        if progress:
            progress(f"national evidence tables {evidence.status()}: building them first")
        evidence.build(progress=progress)


def _emit_warnings(messages: tuple[str, ...], warn: Callable[[str], None] | None) -> None:
    for m in messages:
        if warn is not None:
            warn(m)
        else:
            warnings.warn(m, stacklevel=3)


def _write_outputs(executed, council: Council, target: Path) -> Path:
    """Executed notebook, per-question notebooks and the self-contained HTML page in ``target``."""
    import nbformat

    nbformat.write(executed, target / "report.ipynb")
    split_notebook(executed, target)
    path = target / "report.html"
    html_text = to_html(
        executed, f"{council.name}: adult social care benchmarking", footer=footer_html()
    )
    path.write_text(html_text, encoding="utf-8")
    return path


def _run_chunk(
    codes: list[str], out: str, year: str | None, neighbours: int, neighbour_file: str | None
) -> list[tuple[str, str, str]]:
    """Reports for several councils in ONE kernel, so imports and data loads happen once per chunk.

    Each council gets a fresh namespace (``%reset -f``) and its parameters
    (:func:`inject_parameters`); package-level caches (evidence and processed tables, indicators,
    neighbours) stay warm. Each report is
    written to a hidden folder and moved into place when complete (see :func:`_publish`).
    Returns ``(code, html path or '', error or '')`` per council; one failure does not stop the rest.
    """
    import nbformat

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
            client.nb = nb
            target = Path(out) / safe_name(council.code)
            existed = target.exists()
            staging = _staging_dir(Path(out), safe_name(council.code))
            try:
                client.execute_cell(nbformat.v4.new_code_cell("%reset -f"), 0)
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index)
                _write_outputs(nb, council, staging)
                _publish(staging, target)
                results.append((code, str(target / "report.html"), ""))
            except Exception as exc:  # one council's failure must not stop the others
                shutil.rmtree(staging, ignore_errors=True)
                note = _unchanged_note(target, existed)
                results.append((code, "", f"{_failure_summary(exc)} {note}"))
    return results


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
    chunk_size: int = 16,
) -> Path:
    """Reports for every current council (or ``codes``) in parallel worker processes, plus the
    national index page (:func:`national_index`).

    Inputs are checked first (:func:`asc_evidence.validate.check_report_inputs`); councils that
    cannot be reported (e.g. no row in the neighbour file) are listed as failed without running.
    Councils are run in chunks of ``chunk_size`` per kernel (see :func:`_run_chunk`); each report
    folder is replaced only when its new report is complete.
    """
    from tqdm import tqdm

    from asc_evidence import validate

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
    _emit_warnings(inputs.warnings, warn)
    _ensure_evidence(progress)
    out = inputs.out
    failed: dict[str, str] = dict(inputs.skipped)
    todo = [c.code for c in inputs.councils if c.code not in failed]
    chunks = [todo[i : i + chunk_size] for i in range(0, len(todo), chunk_size)]
    done: dict[str, str] = {}
    nb_file = str(inputs.neighbour_file) if inputs.neighbour_file else None
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(_run_chunk, c, str(out), inputs.year, inputs.neighbours, nb_file)
            for c in chunks
        ]
        with tqdm(total=len(todo), desc="councils", disable=progress is None) as bar:
            for fut in as_completed(futures):
                for code, html_path, error in fut.result():
                    if error:
                        failed[code] = error
                    else:
                        done[code] = html_path
                    bar.update(1)
    index = national_index(out, year=inputs.year, failed=failed, progress=progress)
    if failed and progress:
        progress(
            f"{len(failed)} council(s) failed: "
            + "; ".join(f"{k}: {v[:160]}" for k, v in failed.items())
        )
    return index


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
    on its own; :func:`run_all` calls it last. See :mod:`asc_evidence.national`.
    """
    from asc_evidence import national

    return national.write_index(
        Path(out), year=year, codes=codes, failed=failed, maps=maps, progress=progress
    )
