"""The report page is self-contained: it loads offline in headless Chromium with no failed request
and no console error, and names its date, data period, version and sources."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from asc_evidence import report

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


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


@pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (.ci/run installs it)"
)
def test_page_loads_offline_without_errors(tmp_path: Path) -> None:
    """Every request other than the page itself and inline data is aborted (offline); the page
    must still load with no failed request and no console error."""
    sync_api = pytest.importorskip("playwright.sync_api")
    path = _page(tmp_path)
    failed: list[str] = []
    errors: list[str] = []
    external: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page()

        def offline(route) -> None:
            url = route.request.url
            if url.startswith(("file:", "data:")):
                route.continue_()
            else:
                external.append(url)
                route.abort()

        page.route("**/*", offline)
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.as_uri(), wait_until="load")
        title = page.title()
        images = page.eval_on_selector_all(
            "img", "els => els.filter(e => e.naturalWidth > 0).length"
        )
        browser.close()
    assert external == []
    assert failed == []
    assert errors == []
    assert title == "Swindon: test"
    assert images >= 1  # inline figures decoded
