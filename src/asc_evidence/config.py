"""Where data lives: the mirror, the download cache and the processed tables.

Resolution (first wins), read afresh on each call and never at import:

1. environment variables ``ASC_EVIDENCE_MIRROR``, ``ASC_EVIDENCE_CACHE``, ``ASC_EVIDENCE_PROCESSED``;
2. a TOML config file: ``ASC_EVIDENCE_CONFIG`` if set, else ``asc-evidence.toml`` in the project
   folder (the nearest ancestor of the working directory holding ``pyproject.toml``), with keys
   ``mirror``, ``cache`` and ``processed`` under ``[data]``; relative paths are taken from the file's folder;
3. defaults: no mirror; cache ``data/raw`` and processed tables ``data/processed`` in the project folder.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from asc_evidence.errors import ConfigError

ENV_MIRROR = "ASC_EVIDENCE_MIRROR"
ENV_CACHE = "ASC_EVIDENCE_CACHE"
ENV_PROCESSED = "ASC_EVIDENCE_PROCESSED"
ENV_CONFIG = "ASC_EVIDENCE_CONFIG"


@dataclass(frozen=True)
class Settings:
    """Resolved data folders. ``mirror`` is None when no mirror is configured."""

    mirror: Path | None
    cache: Path
    processed: Path
    project: Path


def project_root(start: Path | None = None) -> Path:
    """Nearest ancestor of ``start`` (default: cwd) that holds a ``pyproject.toml``; else ``start``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return here


def _read_config_file(root: Path) -> tuple[dict[str, str], Path]:
    path = (
        Path(os.environ[ENV_CONFIG]) if os.environ.get(ENV_CONFIG) else root / "asc-evidence.toml"
    )
    if not path.is_file():
        if os.environ.get(ENV_CONFIG):
            msg = f"{ENV_CONFIG} points to {path}, which does not exist."
            raise ConfigError(msg)
        return {}, root
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        msg = f"Config file {path} is not valid TOML: {exc}"
        raise ConfigError(msg) from exc
    section = data.get("data", {})
    unknown = set(section) - {"mirror", "cache", "processed"}
    if unknown:
        msg = f"Config file {path}: unknown keys {sorted(unknown)} under [data]; allowed: mirror, cache, processed."
        raise ConfigError(msg)
    return {k: str(v) for k, v in section.items()}, path.parent


def settings() -> Settings:
    """Resolve the data folders from environment, config file and defaults."""
    root = project_root()
    file_values, base = _read_config_file(root)

    def pick(env: str, key: str, default: Path | None) -> Path | None:
        if os.environ.get(env):
            return Path(os.environ[env]).expanduser().resolve()
        if key in file_values:
            return (base / Path(file_values[key]).expanduser()).resolve()
        return default

    mirror = pick(ENV_MIRROR, "mirror", None)
    if mirror is not None and not mirror.is_dir():
        msg = f"The configured mirror {mirror} is not a folder (set by {ENV_MIRROR} or [data] mirror)."
        raise ConfigError(msg)
    cache = pick(ENV_CACHE, "cache", root / "data" / "raw")
    processed = pick(ENV_PROCESSED, "processed", root / "data" / "processed")
    assert cache is not None
    assert processed is not None
    return Settings(mirror=mirror, cache=cache, processed=processed, project=root)
