"""Shared fixtures: an isolated data folder per test, and the real mirror when configured."""

from __future__ import annotations

import os
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


@pytest.fixture
def isolated_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point cache and processed folders at a temporary directory (the mirror setting is kept)."""
    monkeypatch.setenv("ASC_EVIDENCE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ASC_EVIDENCE_PROCESSED", str(tmp_path / "processed"))
    build_mod.clear_caches()
    yield tmp_path
    build_mod.clear_caches()
