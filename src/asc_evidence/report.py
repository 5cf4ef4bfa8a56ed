"""Run the question notebooks for a council with papermill and write one self-contained HTML report.

The six notebooks in ``notebooks/`` stay standalone (each has a ``parameters`` cell and can be run on
its own with papermill). For a report they are merged into one notebook, executed once (one kernel,
data loaded once), split back into the executed per-question notebooks, and rendered to a single HTML
file with the code hidden. Output folders are named from the council's ONS code, never from user text.
"""

from __future__ import annotations

import copy
import html
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from asc_evidence.build import safe_name
from asc_evidence.config import settings
from asc_evidence.councils import Council, current, lookup

NOTEBOOKS = (
    "06_council_report.ipynb",
    "01_fee_rates.ipynb",
    "02_delayed_discharges.ipynb",
    "03_admissions.ipynb",
    "04_personal_budgets.ipynb",
    "05_demand.ipynb",
)


def notebooks_dir() -> Path:
    """The folder of question notebooks (``notebooks/`` in the project)."""
    folder = settings().project / "notebooks"
    if not (folder / NOTEBOOKS[0]).is_file():
        msg = f"Notebooks not found in {folder}; run from the asc-evidence project folder."
        raise FileNotFoundError(msg)
    return folder


def merge_notebooks(paths: list[Path]):  # -> nbformat.NotebookNode
    """One notebook from several: the first ``parameters`` cell is kept, later ones dropped.

    Every cell remembers its source notebook in ``metadata.asc_source`` so the executed result can be
    split back. Later notebooks' parameter cells are dropped because papermill injects values once.
    """
    import nbformat

    merged = None
    for path in paths:
        nb = nbformat.read(path, as_version=4)
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


def to_html(nb, title: str) -> str:
    """Self-contained HTML (images inline) with the code cells hidden."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    nb = copy.deepcopy(nb)
    nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(nb)
    return body


def run_council(
    council: Council,
    *,
    out: Path = Path("reports"),
    year: str | None = None,
    neighbours: int = 15,
    neighbour_file: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Execute the merged report for one council; returns the HTML path ``out/<code>/report.html``."""
    import papermill as pm

    code = safe_name(council.code)
    target = Path(out) / code
    target.mkdir(parents=True, exist_ok=True)
    folder = notebooks_dir()
    merged = merge_notebooks([folder / n for n in NOTEBOOKS])
    params = {
        "council": council.code,
        "year": year or "",
        "neighbours": int(neighbours),
        "neighbour_file": str(neighbour_file or ""),
    }
    if progress:
        progress(f"{council.name} ({council.code}): running {len(NOTEBOOKS)} notebooks")
    executed = pm.execute_notebook(
        merged,
        str(target / "report.ipynb"),
        parameters=params,
        cwd=str(folder),
        progress_bar=False,
        log_output=False,
        kernel_name="python3",
    )
    path = _write_outputs(executed, council, target)
    if progress:
        progress(f"{council.name}: wrote {path}")
    return path


def _write_outputs(executed, council: Council, target: Path) -> Path:
    """Executed per-question notebooks and the self-contained HTML page (atomic write)."""
    split_notebook(executed, target)
    path = target / "report.html"
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    html_text = to_html(executed, f"{council.name}: adult social care benchmarking")
    tmp.write_text(html_text, encoding="utf-8")
    tmp.replace(path)
    return path


def _run_chunk(
    codes: list[str], out: str, year: str | None, neighbours: int, neighbour_file: str | None
) -> list[tuple[str, str, str]]:
    """Reports for several councils in ONE kernel, so imports and data loads happen once per chunk.

    Each council gets a fresh namespace (``%reset -f``) and papermill's parameter injection;
    package-level caches (processed tables, indicators, neighbours) stay warm. Returns
    ``(code, html path or '', error or '')`` per council; one failure does not stop the rest.
    """
    import nbformat
    from nbclient import NotebookClient
    from papermill.parameterize import parameterize_notebook

    folder = notebooks_dir()
    merged = merge_notebooks([folder / n for n in NOTEBOOKS])
    client = NotebookClient(
        copy.deepcopy(merged),
        kernel_name="python3",
        timeout=900,
        resources={"metadata": {"path": str(folder)}},
    )
    results = []
    with client.setup_kernel():
        for code in codes:
            council = lookup(code)
            params = {
                "council": council.code,
                "year": year or "",
                "neighbours": int(neighbours),
                "neighbour_file": neighbour_file or "",
            }
            nb = parameterize_notebook(copy.deepcopy(merged), params)
            client.nb = nb
            try:
                client.execute_cell(nbformat.v4.new_code_cell("%reset -f"), 0)
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index)
                target = Path(out) / safe_name(council.code)
                target.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, target / "report.ipynb")
                results.append((code, str(_write_outputs(nb, council, target)), ""))
            except Exception as exc:  # one council's failure must not stop the others
                results.append((code, "", f"{type(exc).__name__}: {str(exc)[-300:]}"))
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
    chunk_size: int = 16,
) -> Path:
    """Reports for every current council (or ``codes``) in parallel worker processes, plus an index.

    Councils are run in chunks of ``chunk_size`` per kernel (see :func:`_run_chunk`).
    """
    from tqdm import tqdm

    todo = codes or current()["code"].tolist()
    chunks = [todo[i : i + chunk_size] for i in range(0, len(todo), chunk_size)]
    done: dict[str, str] = {}
    failed: dict[str, str] = {}
    nb_file = str(neighbour_file) if neighbour_file else None
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_run_chunk, c, str(out), year, neighbours, nb_file) for c in chunks]
        with tqdm(total=len(todo), desc="councils", disable=progress is None) as bar:
            for fut in as_completed(futures):
                for code, html_path, error in fut.result():
                    if error:
                        failed[code] = error
                    else:
                        done[code] = html_path
                    bar.update(1)
    index = Path(out) / "index.html"
    index.write_text(_index_html(done, failed), encoding="utf-8")
    if failed and progress:
        progress(
            f"{len(failed)} council(s) failed: "
            + "; ".join(f"{k}: {v[:120]}" for k, v in failed.items())
        )
    return index


def _index_html(done: dict[str, str], failed: dict[str, str]) -> str:
    reg = current().set_index("code")
    rows = []
    for code in sorted(done, key=lambda c: reg.loc[c, "name"] if c in reg.index else c):
        name = html.escape(str(reg.loc[code, "name"])) if code in reg.index else code
        region = html.escape(str(reg.loc[code, "region"])) if code in reg.index else ""
        rows.append(
            f'<tr><td><a href="{code}/report.html">{name}</a></td><td>{code}</td><td>{region}</td></tr>'
        )
    fails = "".join(
        f"<li>{html.escape(c)}: {html.escape(m)}</li>" for c, m in sorted(failed.items())
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>asc-evidence: council reports</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td{padding:2px 12px}</style></head><body>"
        f"<h1>Adult social care benchmarking reports</h1><p>{len(done)} councils.</p>"
        f"<table><tr><th>Council</th><th>Code</th><th>Region</th></tr>{''.join(rows)}</table>"
        + (f"<h2>Failed</h2><ul>{fails}</ul>" if failed else "")
        + "</body></html>"
    )
