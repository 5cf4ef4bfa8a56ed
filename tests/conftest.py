"""Shared fixtures: an isolated data folder per test, and the real mirror when configured."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

# Headless: charts.py leaves the matplotlib backend to the caller; tests draw off screen.
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest

from asc_evidence import build as build_mod


@pytest.fixture
def mirror() -> Path:
    """The real data mirror (``ASC_EVIDENCE_MIRROR``); the test is skipped when it is absent."""
    path = os.environ.get("ASC_EVIDENCE_MIRROR")
    if not path or not Path(path).is_dir():
        pytest.skip(
            "real data mirror not available: set ASC_EVIDENCE_MIRROR to the folder of official files "
            "(CI and the README's test command set it when ../shared/data/raw exists)"
        )
    return Path(path)


def _require_processed(*tables: str, purpose: str = "") -> Path:
    """Skip the calling test unless these processed tables are built; returns their folder."""
    from asc_evidence.config import settings

    folder = settings().processed  # ASC_EVIDENCE_PROCESSED, the config file or data/processed
    missing = [t for t in tables if not (folder / f"{t}.parquet").is_file()]
    if missing:
        pytest.skip(
            f"processed tables not built in {folder} ({', '.join(missing)}): run "
            f"`asc-evidence data build` (or set ASC_EVIDENCE_PROCESSED){purpose}"
        )
    return folder


@pytest.fixture(scope="session")
def require_processed():
    """``require_processed("ascof", ...)`` skips the test unless those processed tables are built."""
    return _require_processed


@pytest.fixture
def isolated_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point cache and processed folders at a temporary directory (the mirror setting is kept)."""
    monkeypatch.setenv("ASC_EVIDENCE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ASC_EVIDENCE_PROCESSED", str(tmp_path / "processed"))
    build_mod.clear_caches()
    yield tmp_path
    build_mod.clear_caches()


@contextlib.contextmanager
def _offline_page(path: Path):
    """Open ``path`` in headless Chromium with every request other than ``file:`` and ``data:``
    aborted (offline). Yields ``(page, problems)``; ``problems`` collects ``external`` (requests
    that tried the network), ``failed`` (failed requests) and ``errors`` (console errors and page
    exceptions). Skips the test when Chromium or playwright is missing."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("headless Chromium not installed (.ci/run installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    problems: dict[str, list[str]] = {"external": [], "failed": [], "errors": []}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page()

        def offline(route) -> None:
            if route.request.url.startswith(("file:", "data:")):
                route.continue_()
            else:
                problems["external"].append(route.request.url)
                route.abort()

        page.route("**/*", offline)
        page.on("requestfailed", lambda r: problems["failed"].append(r.url))
        page.on(
            "console", lambda m: problems["errors"].append(m.text) if m.type == "error" else None
        )
        page.on("pageerror", lambda e: problems["errors"].append(str(e)))
        page.goto(path.as_uri(), wait_until="load")
        try:
            yield page, problems
        finally:
            browser.close()


@pytest.fixture
def offline_page():
    """Context manager ``offline_page(path) -> (page, problems)``: see :func:`_offline_page`."""
    return _offline_page
