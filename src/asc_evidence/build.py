"""Build processed tables from the official files, skipping tables whose inputs are unchanged.

Each source module in :mod:`asc_evidence.sources` lists its tables as :class:`TableSpec` in ``TABLES``.
``data/processed/manifest.json`` records, per table, the sha256 of every input file and a hash of the
code that makes it; a table is rebuilt only when one of those changed or the parquet is missing.

The code hash (:func:`code_files`) covers every module of the package that the table's builder
imports, directly or through other package modules (import statements found by parsing the source,
including imports inside functions), and every package data file (``councils.csv``,
``registry.csv``) whose name one of those modules mentions. Installed libraries (pandas, calamine...)
are not covered: after upgrading them, rebuild with ``asc-evidence data build --force``.

Caches: functions that cache what they read from the processed tables or package data
(:func:`load`, ``fetch.registry``, ``councils.register``...) are registered with
:func:`register_cache`; :func:`build` calls :func:`clear_caches` when it ends, so nothing loaded
before a rebuild survives it in the same process. A module that caches results derived from
processed tables registers its cache the same way::

    from functools import cache
    from asc_evidence.build import register_cache

    @register_cache
    @cache
    def neighbours_table() -> pd.DataFrame: ...
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import inspect
import json
import multiprocessing
import os
import pickle
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from asc_evidence import councils, tidy
from asc_evidence import fetch as fetch_mod
from asc_evidence.config import settings
from asc_evidence.errors import DataNotBuiltError, UnknownTableError, UnsafeNameError
from asc_evidence.fetch import fetch, verified_sha256

PACKAGE = "asc_evidence"
PACKAGE_DIR = Path(__file__).resolve().parent

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


def package_data_files() -> dict[str, Path]:
    """Data files shipped in the package (``councils.csv``, ``registry.csv``), by file name."""
    return {p.name: p for p in sorted(PACKAGE_DIR.glob("*.csv"))}


def _module_path(name: str) -> Path | None:
    """Source file of a package module, or None when ``name`` is not a module (e.g. a function)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, AttributeError, ValueError):
        return None
    origin = spec.origin if spec else None
    return Path(origin).resolve() if origin and origin.endswith(".py") else None


def _scan(path: Path, package: str) -> tuple[set[str], set[str]]:
    """Package modules imported by a source file, and the last path part of its string constants."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    strings: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = importlib.util.resolve_name("." * node.level + base, package)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # submodules
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            strings.add(node.value.rsplit("/", 1)[-1])  # file names mentioned, e.g. councils.csv
    ours = set()
    for name in names:
        if name == PACKAGE or name.startswith(PACKAGE + "."):
            parts = name.split(".")
            ours.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))  # parents too
    return ours, strings


def code_files(root: Callable[..., Any], _memo: dict[Any, Any] | None = None) -> list[Path]:
    """Every file whose content can change what ``root`` (a table's ``make``) returns.

    The file defining ``root``, every :mod:`asc_evidence` module it imports directly or through
    other package modules (their ``__init__`` files included), and the package data files
    (:func:`package_data_files`) whose file name appears as a string in one of them. Sorted, so the
    hash does not depend on discovery order.
    """
    memo = {} if _memo is None else _memo
    start = Path(inspect.getfile(root)).resolve()
    if ("closure", start) in memo:
        return memo["closure", start]
    module = inspect.getmodule(root)
    data = package_data_files()
    package = (module.__package__ or "") if module else ""
    files: set[Path] = {start}
    todo: list[tuple[Path, str]] = [(start, package)]
    seen: set[Path] = set()
    while todo:
        path, pkg = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        if path not in memo:
            memo[path] = _scan(path, pkg)
        modules, strings = memo[path]
        files.update(data[s] for s in strings & data.keys())
        for name in modules:
            if ("module", name) not in memo:
                memo["module", name] = _module_path(name)
            found = memo["module", name]
            if found is not None:
                files.add(found)
                todo.append(
                    (found, name if found.name == "__init__.py" else name.rpartition(".")[0])
                )
    memo["closure", start] = sorted(files)
    return memo["closure", start]


def _code_hash(spec: TableSpec, memo: dict[Any, Any] | None = None) -> tuple[str, list[str]]:
    """Hash of the files of :func:`code_files` (names relative to the package, and contents)."""
    h = hashlib.sha256()
    names = []
    for path in code_files(spec.make, memo):
        name = (
            path.relative_to(PACKAGE_DIR).as_posix()
            if path.is_relative_to(PACKAGE_DIR)
            else path.name
        )
        names.append(name)
        h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16], names


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


def default_workers() -> int:
    """Processes :func:`build` uses by default: two, or one on a one-core machine."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(2, cores))


def build(
    only: list[str] | None = None,
    *,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
) -> dict[str, str]:
    """Build the processed tables; returns ``{table: 'built' | 'up to date'}``.

    A table is skipped when its parquet exists and its input hashes and code hash (over
    :func:`code_files`) are unchanged. The tables to build are made by ``workers`` forked processes
    (default :func:`default_workers`; no table reads another, so any order gives the same tables),
    each writing its parquet; the manifest is written by this process after each table. Registered
    caches are cleared when it ends (:func:`clear_caches`).
    """
    try:
        return _build(only, force=force, progress=progress, workers=workers)
    finally:
        clear_caches()


@dataclass(frozen=True)
class _Job:
    """A table to build, with the input and code hashes its manifest entry records."""

    spec: TableSpec
    inputs: dict[str, str]
    code: str
    files: list[str]
    size: int = 0  # bytes of its input files: the order of a first build (see _build_parallel)


def _build(
    only: list[str] | None,
    *,
    force: bool,
    progress: Callable[[str], None] | None,
    workers: int | None = None,
) -> dict[str, str]:
    cfg = settings()
    manifest = read_manifest()
    memo: dict[Any, Any] = {}  # parsed files and module paths, shared by the tables
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
    jobs: list[_Job] = []
    for spec in specs:
        paths = {key: fetch(key) for key in spec.inputs}
        inputs = {key: verified_sha256(p, cfg) for key, p in paths.items()}
        code, files = _code_hash(spec, memo)
        entry = manifest.get(spec.name, {})
        if (
            not force
            and table_path(spec.name).is_file()
            and entry.get("inputs") == inputs
            and entry.get("code") == code
        ):
            result[spec.name] = "up to date"
            if progress:
                progress(f"{spec.name}: up to date")
        else:
            jobs.append(_Job(spec, inputs, code, files, sum(map(_bytes_of, paths.values()))))

    def record(job: _Job, rows: int, seconds: float) -> None:
        manifest[job.spec.name] = {
            "inputs": job.inputs,
            "code": job.code,
            "code_files": job.files,
            "rows": rows,
            "seconds": round(seconds, 2),
            "description": job.spec.description,
        }
        _write_text_atomic(_manifest_path(), json.dumps(manifest, indent=1, sort_keys=True))
        result[job.spec.name] = "built"
        if progress:
            progress(f"{job.spec.name}: built {rows:,} rows in {seconds:.1f}s")

    workers = min(default_workers() if workers is None else workers, len(jobs))
    if can_fork(workers):
        _build_parallel(jobs, workers, manifest, record)
    else:
        for job in jobs:
            record(job, *_make_table(job.spec))
    return {s.name: result[s.name] for s in specs}


def _bytes_of(path: Path) -> int:
    """Size of an input: a file's bytes, or the sum over a folder's files."""
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size if path.exists() else 0


def _make_table(spec: TableSpec) -> tuple[int, float]:
    """Make, validate and write one table: (rows, seconds)."""
    t0 = time.perf_counter()
    df = spec.make()
    if spec.tidy:
        tidy.validate(df, spec.name)
    _write_atomic(df, table_path(spec.name))
    return len(df), time.perf_counter() - t0


_FORKED: list[TableSpec] = []  # the specs forked workers make, by index (set before the fork)


def call_forked(func: Callable[..., Any], *args: Any) -> Any:
    """``func(*args)`` in a forked worker; an error that would not survive pickling back to the
    parent is re-raised as a RuntimeError carrying its type name and message."""
    try:
        return func(*args)
    except Exception as exc:
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:
            msg = f"{type(exc).__name__}: {exc}"
            raise RuntimeError(msg) from None
        raise


def can_fork(workers: int) -> bool:
    """Whether to use forked workers: more than one asked for and the ``fork`` start method
    available (Linux; elsewhere the work runs in this process)."""
    return workers > 1 and "fork" in multiprocessing.get_all_start_methods()


def _make_forked(index: int) -> tuple[int, float]:
    """:func:`_make_table` in a forked worker (see :func:`call_forked`)."""
    return call_forked(_make_table, _FORKED[index])


def _build_parallel(
    jobs: list[_Job],
    workers: int,
    manifest: dict[str, dict],
    record: Callable[[_Job, int, float], None],
) -> None:
    """Make ``jobs`` in ``workers`` forked processes, longest first when the manifest knows the
    seconds of each, else largest inputs first (reading is most of a table's time: on the 2-core
    machine a first build's processed stage ends about 1 s sooner than in the declared order);
    ``record`` each table as it is written.

    Forked workers inherit the specs (no pickling of ``make``) and everything already imported.
    On the first failure the tables not yet handed to a worker are dropped, those handed over are
    finished and recorded, and the failure's exception is raised here.
    """
    order = list(range(len(jobs)))
    known = [manifest.get(job.spec.name, {}).get("seconds") for job in jobs]
    if all(isinstance(s, (int, float)) for s in known):
        order.sort(key=lambda i: -known[i])
    else:
        order.sort(key=lambda i: -jobs[i].size)
    _FORKED[:] = [job.spec for job in jobs]
    failure: BaseException | None = None
    try:
        fork = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=fork) as pool:
            futures = {pool.submit(_make_forked, i): jobs[i] for i in order}
            for future in as_completed(futures):
                try:
                    rows, seconds = future.result()
                except BaseException as exc:
                    if not future.cancelled() and failure is None:
                        failure = exc
                        for other in futures:
                            other.cancel()
                    continue
                if not future.cancelled():
                    record(futures[future], rows, seconds)
    finally:
        _FORKED.clear()
    if failure is not None:
        raise failure


def _write_text_atomic(path: Path, text: str) -> None:
    """Write ``path`` through a temporary file, so readers never see it half-written."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


_F = TypeVar("_F", bound=Callable[..., Any])
_CACHES: list[Any] = []


def register_cache(func: _F) -> _F:
    """Have :func:`clear_caches` (run at the end of every :func:`build`) clear ``func``'s cache.

    ``func`` is a :func:`functools.cache` / :func:`functools.lru_cache` wrapper (anything with
    ``cache_clear``); it is returned unchanged, so this works as a decorator above ``@cache``.
    Registering twice is harmless.
    """
    if not callable(getattr(func, "cache_clear", None)):
        msg = f"register_cache: {func!r} has no cache_clear(); decorate it with @functools.cache first"
        raise TypeError(msg)
    if not any(f is func for f in _CACHES):
        _CACHES.append(func)
    return func


def clear_caches() -> None:
    """Clear every registered cache (processed tables, registry, council register...).

    :func:`build` calls it when it ends (even after an error), so tables loaded before a rebuild
    are read again; call it yourself after changing the processed folder by other means.
    """
    for func in _CACHES:
        func.cache_clear()


@register_cache
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


# Package-data caches: they hold councils.csv / registry.csv as read; a rebuild reads them afresh.
register_cache(fetch_mod.registry)
register_cache(councils.register)
register_cache(councils._index)
register_cache(councils._by_code)
