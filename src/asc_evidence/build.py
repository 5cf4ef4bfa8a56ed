"""Build processed tables from the official files, skipping tables whose inputs are unchanged.

Each source module in :mod:`asc_evidence.sources` lists its tables as :class:`TableSpec` in ``TABLES``.
``data/processed/manifest.json`` records, per table, the sha256 of every input file and a hash of the
parser's source code; a table is rebuilt only when one of those changed or the parquet is missing.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pandas as pd

from asc_evidence import tidy
from asc_evidence.config import settings
from asc_evidence.errors import DataNotBuiltError, UnknownTableError, UnsafeNameError
from asc_evidence.fetch import fetch, verified_sha256

SOURCE_MODULES = (
    "ascof",
    "delayed_transfers",
    "finance_activity",
    "fee_rates",
    "population",
    "geography",
)


@dataclass(frozen=True)
class TableSpec:
    """A processed table: its name, the registry keys it reads and the function that makes it.

    ``tidy=True`` tables follow :mod:`asc_evidence.tidy` and are validated before writing.
    """

    name: str
    inputs: tuple[str, ...]
    make: Callable[[], pd.DataFrame]
    tidy: bool = True
    description: str = field(default="", compare=False)


def all_specs() -> list[TableSpec]:
    """Every table of every source module, in build order."""
    specs: list[TableSpec] = []
    for mod in SOURCE_MODULES:
        module = importlib.import_module(f"asc_evidence.sources.{mod}")
        specs.extend(getattr(module, "TABLES", []))
    return specs


def safe_name(name: str) -> str:
    """Reject names that are not plain ``[a-z0-9_-]`` file stems (no paths, no dots)."""
    import re

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,80}", name):
        msg = f"Unsafe output name {name!r}: use letters, digits, '_' or '-' only."
        raise UnsafeNameError(msg)
    return name


def table_path(name: str) -> Path:
    """Parquet path of a processed table."""
    return settings().processed / f"{safe_name(name)}.parquet"


def _code_hash(spec: TableSpec) -> str:
    module = inspect.getmodule(spec.make)
    text = inspect.getsource(module) if module else ""
    text += inspect.getsource(tidy)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _manifest_path() -> Path:
    return settings().processed / "manifest.json"


def read_manifest() -> dict[str, dict]:
    """The processed-data manifest (empty when nothing was built)."""
    path = _manifest_path()
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _write_atomic(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if hasattr(df, "to_wkb") or "geometry" in df.columns and hasattr(df, "crs"):
        df.to_parquet(tmp)  # GeoDataFrame -> GeoParquet
    else:
        df.to_parquet(tmp, index=False)
    tmp.replace(path)


def build(
    only: list[str] | None = None,
    *,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, str]:
    """Build the processed tables; returns ``{table: 'built' | 'up to date'}``.

    A table is skipped when its parquet exists and the input hashes and parser code are unchanged.
    """
    cfg = settings()
    manifest = read_manifest()
    result: dict[str, str] = {}
    specs = [s for s in all_specs() if only is None or s.name in only]
    if only:
        unknown = sorted(set(only) - {s.name for s in specs})
        if unknown:
            known = ", ".join(sorted(s.name for s in all_specs()))
            msg = (
                f"data build --only: expected table names from this list: {known}; "
                f"found unknown name(s) {unknown}. Nothing was built; rerun with one of the listed "
                "names (`asc-evidence data tables` shows the tables built so far)."
            )
            raise UnknownTableError(msg)
    for spec in specs:
        paths = {key: fetch(key) for key in spec.inputs}
        inputs = {key: verified_sha256(p, cfg) for key, p in paths.items()}
        code = _code_hash(spec)
        entry = manifest.get(spec.name, {})
        out = table_path(spec.name)
        if (
            not force
            and out.is_file()
            and entry.get("inputs") == inputs
            and entry.get("code") == code
        ):
            result[spec.name] = "up to date"
            if progress:
                progress(f"{spec.name}: up to date")
            continue
        t0 = time.perf_counter()
        df = spec.make()
        if spec.tidy:
            tidy.validate(df, spec.name)
        _write_atomic(df, out)
        manifest[spec.name] = {
            "inputs": inputs,
            "code": code,
            "rows": len(df),
            "seconds": round(time.perf_counter() - t0, 2),
            "description": spec.description,
        }
        _manifest_path().write_text(
            json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8"
        )
        result[spec.name] = "built"
        if progress:
            progress(f"{spec.name}: built {len(df):,} rows in {time.perf_counter() - t0:.1f}s")
    load.cache_clear()
    return result


@cache
def load(name: str) -> pd.DataFrame:
    """Read a processed table (cached per process). Raises :class:`DataNotBuiltError` if absent."""
    path = table_path(name)
    if not path.is_file():
        msg = f"Processed table {name!r} not found at {path}. Run `asc-evidence data build` first."
        raise DataNotBuiltError(msg)
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    if b"geo" in meta:
        import geopandas as gpd

        return gpd.read_parquet(path)
    return pd.read_parquet(path)
