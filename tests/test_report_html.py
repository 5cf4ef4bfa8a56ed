"""The report page is self-contained: it loads offline in headless Chromium with no failed request
and no console error, and names its date, data period, version and sources."""

from __future__ import annotations

from pathlib import Path

import nbformat

from asc_evidence import report

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _page(tmp_path: Path) -> Path:
    """The delayed-discharges notebook's stored (Swindon) outputs, figures included, rendered as the report renders them."""
    nb = nbformat.read(NOTEBOOKS / "02_delayed_discharges.ipynb", as_version=4)
    footer = '<footer class="asc-footer"><p>Made on 2026-01-01 by asc-evidence test.</p></footer>'
    path = tmp_path / "report.html"
    path.write_text(report.to_html(nb, "Swindon: test", footer=footer), encoding="utf-8")
    return path


def test_page_fetches_nothing_from_the_network(tmp_path: Path) -> None:
    text = _page(tmp_path).read_text(encoding="utf-8")
    for needle in ("cdnjs", "require.min.js", "mathjax", "mermaid.esm", "<script src="):
        assert needle not in text.lower(), needle
    assert 'class="asc-footer"' in text
    assert "@media print" in text


def test_page_loads_offline_without_errors(tmp_path: Path, offline_page) -> None:
    """Every request other than the page itself and inline data is aborted (offline); the page
    must still load with no failed request and no console error."""
    with offline_page(_page(tmp_path)) as (page, problems):
        title = page.title()
        images = page.eval_on_selector_all(
            "img", "els => els.filter(e => e.naturalWidth > 0).length"
        )
    assert problems == {"external": [], "failed": [], "errors": []}
    assert title == "Swindon: test"
    assert images >= 1  # inline figures decoded
