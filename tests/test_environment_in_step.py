"""environment.yml lists the same packages, with the same floors, as pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["dev"]
    return dict(re.match(r"([A-Za-z0-9_.-]+)(.*)", r).groups() for r in reqs)


def _conda() -> dict[str, str]:
    out = {}
    text = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1]
    for line in text.splitlines():
        m = re.match(r"\s+- ([A-Za-z0-9_.-]+)([<>=!].*)?$", line)
        if m and m.group(1) not in {"python", "pip"}:
            out[m.group(1)] = m.group(2) or ""
    return out


def test_environment_yml_matches_pyproject() -> None:
    assert _conda() == _pyproject()
