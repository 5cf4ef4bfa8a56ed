"""Report plumbing: merging notebooks, splitting them back, safe output paths, index page."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from asc_evidence import report
from asc_evidence.errors import UnsafeNameError


def _nb(path: Path, params: str, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell(params)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}"), p, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)
    return path


def test_merge_keeps_one_parameters_cell_and_split_restores_each_notebook(tmp_path: Path) -> None:
    a = _nb(tmp_path / "01_a.ipynb", 'council = "Swindon"', "x = 1")
    b = _nb(tmp_path / "02_b.ipynb", 'council = "Swindon"', "y = 2")
    merged = report.merge_notebooks([a, b])
    tags = [c.metadata.get("tags", []) for c in merged.cells]
    assert sum("parameters" in t for t in tags) == 1  # papermill injects values once
    assert len(merged.cells) == 5  # 3 from a, 2 from b (its parameters cell dropped)
    # papermill's injected cell carries no source notebook: it must follow its neighbour
    injected = nbformat.v4.new_code_cell('council = "E06000030"')
    merged.cells.insert(2, injected)
    out = tmp_path / "out"
    out.mkdir()
    written = report.split_notebook(merged, out)
    assert [p.name for p in written] == ["01_a.ipynb", "02_b.ipynb"]
    first = nbformat.read(out / "01_a.ipynb", as_version=4)
    assert [c.source for c in first.cells][-2:] == ['council = "E06000030"', "x = 1"]
    second = nbformat.read(out / "02_b.ipynb", as_version=4)
    assert [c.source for c in second.cells] == ["# 02_b", "y = 2"]


def test_split_never_writes_outside_its_folder(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1")
    cell.metadata["asc_source"] = "../../etc/evil.ipynb"
    nb.cells = [cell]
    out = tmp_path / "out"
    out.mkdir()
    assert report.split_notebook(nb, out) == [out / "evil.ipynb"]
    cell.metadata["asc_source"] = "bad name;rm.ipynb"
    with pytest.raises(UnsafeNameError):
        report.split_notebook(nb, out)


def test_a_chunk_of_councils_keeps_every_cell_and_starts_each_council_afresh(
    monkeypatch, tmp_path: Path
) -> None:
    """``report --all`` runs several councils in one kernel (report._run_chunk): each council's
    report keeps every cell of the merged notebook, its first cell included (nbclient stores an
    executed cell at its index, so the namespace reset between councils once replaced it), and
    starts with an empty namespace (nothing left from the council before)."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    body = 'print(council, "left over" if "previous" in dir() else "fresh")\nprevious = council'
    _nb(folder / "01_a.ipynb", 'council = "Swindon"', body)
    _nb(folder / "02_b.ipynb", 'council = "Swindon"', "print(len(council))")
    monkeypatch.setattr(report, "notebooks_dir", lambda: folder)
    monkeypatch.setattr(report, "NOTEBOOKS", ["01_a.ipynb", "02_b.ipynb"])
    out = tmp_path / "reports"
    out.mkdir()
    results = report._run_chunk(["E06000030", "E08000030"], str(out), None, 15, None)
    assert [(code, error) for code, _, error in results] == [("E06000030", ""), ("E08000030", "")]
    for code in ("E06000030", "E08000030"):
        nb = nbformat.read(out / code / "report.ipynb", as_version=4)
        # 3 cells of 01_a, papermill's injected parameters, 2 of 02_b (its parameters dropped)
        assert [c.source.splitlines()[0] for c in nb.cells] == [
            "# 01_a", 'council = "Swindon"', "# Parameters", "print(council, "
            '"left over" if "previous" in dir() else "fresh")', "# 02_b", "print(len(council))",
        ]  # fmt: skip
        printed = [o["text"] for c in nb.cells for o in c.get("outputs", []) if "text" in o]
        assert printed == [f"{code} fresh\n", "9\n"]  # an ONS code has 9 characters
        assert "01_a" in (out / code / "report.html").read_text(encoding="utf-8")
