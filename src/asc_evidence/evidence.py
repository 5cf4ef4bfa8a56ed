"""National evidence: everything that does not depend on the council, computed once after a build.

A council's report compares it with every other council, so most of its numbers are national:
every indicator for every council and year, the funnel of each indicator and year, every council's
confidence intervals and Fingertips comparison, recent trends, neighbour sets, demand projections
and the care market. :func:`build` computes them once, after ``asc-evidence data build``, into
parquet tables in ``<processed>/evidence/`` (listed in :data:`TABLES`), with a manifest recording
the processed tables they were made from and a hash of the code that made them (the same
mechanism as :mod:`asc_evidence.build`: :func:`asc_evidence.build.code_files`). They are rebuilt
only when one of those changes. The tables are also what a think tank reads: one long table per
subject, documented by :func:`describe`.

How reports use them: the package functions (:func:`asc_evidence.indicators.get`,
:func:`asc_evidence.verdict.benchmark`, :mod:`asc_evidence.compare`, :mod:`asc_evidence.market`,
:func:`asc_evidence.demand.council_projection`...) first ask this module; it answers from the
evidence tables when they are present and fresh, and otherwise returns ``None`` and the function
computes as before. Two guards keep the answers right when the inputs are not the processed tables:

* tables read straight from processed data (indicators, delay dispersion, neighbours, market,
  demand) are used only when ``indicators.load`` is :func:`asc_evidence.build.load` (nothing
  monkeypatched, as tests do with synthetic tables);
* numbers derived from an indicator table (funnels, intervals, trends, area look-ups) are used
  only when the table in hand *is* the evidence's own table of that indicator (the object
  :func:`asc_evidence.indicators.get` returned), so a hand-made table is always computed afresh.

``with evidence.disabled(): ...`` computes everything afresh (``scripts/check_evidence.py`` uses
it to show that reports read from the evidence say exactly what they say when computed afresh).
Tables are read lazily, once per process, and forgotten by :func:`asc_evidence.build.clear_caches`.

Assumptions and weaknesses: the evidence is computed for the package's defaults (15 model
neighbours, the demand projection's default base year and horizon, each council's latest recent
trend); other settings are computed when asked. Installed libraries are not hashed (as for the
processed tables): after upgrading them, run ``asc-evidence data evidence --force``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from asc_evidence import build as build_mod
from asc_evidence.build import PACKAGE_DIR, register_cache
from asc_evidence.config import settings

#: Version of the evidence layout; a change makes every earlier evidence folder stale.
VERSION = 2
#: Number of model neighbours the neighbour tables are computed for (the reports' default).
NEIGHBOURS_N = 15
FOLDER = "evidence"


@dataclass(frozen=True)
class EvidenceTable:
    """A national table: its file name, what one row is, and what it holds."""

    name: str
    one_row_per: str
    description: str


TABLES: tuple[EvidenceTable, ...] = (
    EvidenceTable(
        "indicator_values",
        "indicator x council (and England, regions) x period",
        "Every indicator on today's councils (asc_evidence.indicators.get): numerator, "
        "denominator, value, unit, flag, the area the figure describes and how it was mapped; "
        "delayed transfers also the months reported and the within-council dispersion; survey "
        "measures their margin of error and respondents.",
    ),
    EvidenceTable(
        "delay_variance",
        "responsibility (social_care, both) x financial year",
        "Within-council dispersion of delayed days rising with council size (quasi-Poisson power "
        "variance with AR(1) months; asc_evidence.indicators.delay_variance).",
    ),
    EvidenceTable(
        "funnels",
        "indicator x period",
        "England's value as the verdicts use it and the funnel of every council around it: "
        "scale, overdispersion phi and tau2, chi-square p-value, units, the model in words "
        "(prices and survey measures: England only, no funnel).",
    ),
    EvidenceTable(
        "funnel_units",
        "indicator x period x council area in the funnel",
        "Each area's value, denominator, z-score and 95%/99.8% limits and flags, unadjusted and "
        "widened for overdispersion (asc_evidence.stats.funnel.FunnelResult.table).",
    ),
    EvidenceTable(
        "funnel_curves",
        "indicator x period x point of the plotted limits (200 per funnel)",
        "The funnel's control limits over a grid of denominators, for drawing.",
    ),
    EvidenceTable(
        "comparisons",
        "indicator x council x period (councils with counts)",
        "Each council's 95% and 99.8% confidence intervals (Wilson, exact Poisson, quasi-Poisson "
        "for delays) and the Fingertips comparison of England's value with them.",
    ),
    EvidenceTable(
        "recent_trends",
        "indicator x council",
        "The Fingertips recent-trend marker over the last five points of the council's newest "
        "segment (one definition, one area), with chi-square, slope and method.",
    ),
    EvidenceTable(
        "neighbours",
        "council x neighbour (15 nearest)",
        "The statistical neighbours model: rank and distance on the weighted, standardised profile.",
    ),
    EvidenceTable(
        "neighbour_stability",
        "change to the neighbour model",
        "Median and lowest Jaccard overlap of the 15-neighbour sets with the default model's, and "
        "the share of councils keeping at least half their neighbours.",
    ),
    EvidenceTable(
        "market_capacity",
        "council (and England) x bed type x age band x year",
        "Care-home beds (CQC) per 1,000 residents now and the beds needed to keep that ratio as "
        "the population ages, with low/high population variants (asc_evidence.market).",
    ),
    EvidenceTable(
        "market_capacity_areas",
        "area x bed type x age band x year x variant",
        "The area-level beds and populations the capacity table pools (for neighbours).",
    ),
    EvidenceTable(
        "market_prices",
        "council x service x series x basis x period",
        "Price paid to providers, in-house unit cost and Fair Cost of Care median, with the "
        "in-house plausibility checks (asc_evidence.market.price_table).",
    ),
    EvidenceTable(
        "demand_people",
        "projection (council) x area (council, England) x year x age band",
        "Projected population, people needing long-term support and gross cost with low/high "
        "ranges (asc_evidence.demand.council_projection, 2023 to 2035).",
    ),
    EvidenceTable(
        "demand_population",
        "projection x area x year x age band x sex x variant",
        "The projected population behind each demand projection, all variants.",
    ),
    EvidenceTable(
        "demand_by_variant",
        "projection x area x year x age band x variant",
        "People needing support under each population variant (central rates).",
    ),
    EvidenceTable(
        "demand_rates",
        "projection x whose rates (council, England) x age band",
        "Rates of long-term support per resident with Wilson intervals and their source.",
    ),
    EvidenceTable(
        "demand_unit_costs",
        "projection x age band",
        "Gross cost per client per year and its source.",
    ),
    EvidenceTable(
        "demand_notes",
        "projection x note",
        "The assumptions stated under each council's projection, in order.",
    ),
)
TABLE_NAMES = tuple(t.name for t in TABLES)


# ---------------------------------------------------------------------------------------------
# storage: many frames in one long table, each restored exactly (columns, order, dtypes)


def folder() -> Path:
    """The evidence folder: ``<processed>/evidence``."""
    return settings().processed / FOLDER


def _manifest_path() -> Path:
    return folder() / "manifest.json"


def read_manifest() -> dict[str, Any]:
    """The evidence manifest (empty when no evidence was built)."""
    path = _manifest_path()
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _dtype_spec(dtype: Any) -> str:
    """A string that :func:`_dtype_of` turns back into ``dtype`` (string storage and NA kept)."""
    if isinstance(dtype, pd.StringDtype):
        na = dtype.na_value
        nan = isinstance(na, float) and math.isnan(na)
        return f"string|{dtype.storage}|{'nan' if nan else 'NA'}"
    return str(dtype)


def _dtype_of(spec: str) -> Any:
    if spec.startswith("string|"):
        _, storage, na = spec.split("|")
        return pd.StringDtype(storage, na_value=np.nan if na == "nan" else pd.NA)
    return spec


def _storable(df: pd.DataFrame) -> pd.DataFrame:
    """Columns that survive concatenation with frames lacking them (ints and bools nullable,
    strings as Python objects)."""
    out = {}
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_bool_dtype(s.dtype) and not isinstance(s.dtype, pd.BooleanDtype):
            s = s.astype("boolean")
        elif pd.api.types.is_integer_dtype(s.dtype) and not isinstance(
            s.dtype, pd.api.extensions.ExtensionDtype
        ):
            s = s.astype("Int64")
        elif isinstance(s.dtype, pd.StringDtype):
            s = s.astype(object).where(s.notna(), None)
        out[col] = s
    return pd.DataFrame(out, index=df.index)


def pack(
    parts: dict[tuple[str, ...], pd.DataFrame], keys: tuple[str, ...]
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """One long table from several frames, each labelled by its key columns ``keys``.

    Returns the table and the schema of every part (its key, columns and dtypes), from which
    :func:`unpack` restores the part exactly. Key columns a part already has keep its values.
    """
    frames, schemas = [], []
    for key, df in parts.items():
        schemas.append(
            {
                "key": list(key),
                "columns": [str(c) for c in df.columns],
                "dtypes": [_dtype_spec(t) for t in df.dtypes],
            }
        )
        labelled = _storable(df.reset_index(drop=True))
        for col, value in zip(keys, key, strict=True):
            if col not in labelled:
                labelled.insert(0, col, value)
        frames.append(labelled)
    long = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(keys))
    first = [*keys, *[c for c in long.columns if c not in keys]]
    return long[first], schemas


def pack_frame(
    frame: pd.DataFrame, keys: tuple[str, ...]
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """:func:`pack` of the parts of ``frame`` labelled by its columns ``keys`` (each part's rows
    together, parts in order of appearance): the same table and schemas, without splitting it."""
    if frame.empty:
        return pack({}, keys)
    cols = [c for c in frame.columns if c not in keys]
    labels = frame[list(keys)].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, (labels[1:] != labels[:-1]).any(axis=1)])
    part_keys = [tuple(k) for k in labels[starts].tolist()]
    if len(set(part_keys)) != len(part_keys):
        msg = f"The parts of the frame are not each in one block of rows ({keys})."
        raise ValueError(msg)
    names = [str(c) for c in cols]
    dtypes = [_dtype_spec(t) for t in frame[cols].dtypes]
    schemas = [
        {"key": list(key), "columns": list(names), "dtypes": list(dtypes)} for key in part_keys
    ]
    long = _storable(frame[cols].reset_index(drop=True))
    for i, col in enumerate(keys):
        long.insert(i, col, frame[col].astype("str").reset_index(drop=True))
    return long, schemas


def unpack(long: pd.DataFrame, rows: np.ndarray, schema: dict[str, Any]) -> pd.DataFrame:
    """The part of ``long`` at positions ``rows``, with its own columns and dtypes."""
    df = long.iloc[rows][schema["columns"]].reset_index(drop=True)
    for col, spec in zip(schema["columns"], schema["dtypes"], strict=True):
        dtype = _dtype_of(spec)
        if spec == "object":
            df[col] = df[col].astype(object).where(df[col].notna(), None)
            continue
        if _dtype_spec(df[col].dtype) != spec:
            df[col] = df[col].astype(dtype)
    return df


# ---------------------------------------------------------------------------------------------
# freshness


def _inputs_digest() -> str:
    """Hash of what the processed tables were made from (their manifest's inputs and code)."""
    manifest = build_mod.read_manifest()
    basis = {t: {"inputs": e.get("inputs"), "code": e.get("code")} for t, e in manifest.items()}
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:16]


def _relative(path: Path) -> str:
    return (
        path.relative_to(PACKAGE_DIR).as_posix() if path.is_relative_to(PACKAGE_DIR) else str(path)
    )


def _files_hash(names: list[str]) -> str | None:
    """Hash of the named package files (as :func:`asc_evidence.build._code_hash`); None if one
    is missing."""
    h = hashlib.sha256()
    for name in names:
        path = PACKAGE_DIR / name
        if not path.is_file():
            return None
        h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def code_files() -> list[str]:
    """Package files whose content can change the evidence (:func:`asc_evidence.build.code_files`
    of :func:`compute`), relative to the package folder."""
    return [_relative(p) for p in build_mod.code_files(compute)]


def status() -> str:
    """``"fresh"``, ``"missing"`` or ``"stale (why)"`` for the evidence in the processed folder."""
    m = read_manifest()
    if not m:
        return "missing"
    if m.get("version") != VERSION:
        return "stale (made by another version of the evidence stage)"
    if any(not (folder() / f"{t}.parquet").is_file() for t in TABLE_NAMES):
        return "missing (some tables)"
    if m.get("inputs") != _inputs_digest():
        return "stale (the processed tables changed)"
    if m.get("code") != _files_hash(m.get("code_files", [])):
        return "stale (the code changed)"
    return "fresh"


# ---------------------------------------------------------------------------------------------
# in-memory state


@dataclass
class _State:
    """Evidence tables of one process: read lazily from disk, or set by :func:`build`."""

    on_disk: bool
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    schemas: dict[str, dict[tuple[str, ...], dict[str, Any]]] = field(default_factory=dict)
    groups: dict[str, dict[tuple[str, ...], np.ndarray]] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)  # indicators.get's objects
    memo: dict[Any, Any] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.tables or (self.on_disk and name in TABLE_NAMES)

    def table(self, name: str) -> pd.DataFrame | None:
        if name not in self.tables:
            if not self.on_disk or name not in TABLE_NAMES:
                return None
            self.tables[name] = pd.read_parquet(folder() / f"{name}.parquet")
        return self.tables[name]

    def set(self, name: str, long: pd.DataFrame, schemas: list[dict[str, Any]] | None) -> None:
        self.tables[name] = long
        if schemas is not None:
            self.schemas[name] = {tuple(s["key"]): s for s in schemas}
        self.groups.pop(name, None)

    def part(self, name: str, key: tuple[str, ...]) -> pd.DataFrame | None:
        """One stored frame of table ``name`` (None when that key was not stored)."""
        long = self.table(name)
        if long is None:
            return None
        if name not in self.schemas:
            entry = read_manifest().get("tables", {}).get(name, {})
            self.schemas[name] = {tuple(s["key"]): s for s in entry.get("schemas", [])}
        schema = self.schemas[name].get(key)
        if schema is None:
            return None
        if name not in self.groups:
            cols = list(KEYS[name])
            self.groups[name] = (
                {
                    (k if isinstance(k, tuple) else (k,)): v
                    for k, v in long.groupby(cols, sort=False, dropna=False).indices.items()
                }
                if cols
                else {(): np.arange(len(long))}  # a table that is one frame
            )
        rows = self.groups[name].get(key)
        if rows is None:
            return None
        return unpack(long, rows, schema)


#: Key columns of the tables stored with :func:`pack` (one frame of the package per key; no key:
#: the table is one frame).
KEYS: dict[str, tuple[str, ...]] = {
    "indicator_values": ("indicator",),
    "funnel_units": ("indicator", "period"),
    "funnel_curves": ("indicator", "period"),
    "market_capacity": (),
    "market_capacity_areas": (),
    "market_prices": (),
    "demand_people": ("projection",),
    "demand_population": ("projection",),
    "demand_by_variant": ("projection",),
    "demand_rates": ("projection", "rates_of"),
    "demand_unit_costs": ("projection",),
    "demand_notes": ("projection",),
    "neighbours": (),
    "neighbour_stability": (),
    "delay_variance": ("responsible",),
}

_ENABLED = [True]
_BUILDING: list[_State | None] = [None]


@register_cache
@cache
def _loaded() -> _State | None:
    """The fresh evidence of the processed folder (tables read when first asked for), or None."""
    return _State(on_disk=True) if status() == "fresh" else None


def _state() -> _State | None:
    if not _ENABLED[0]:
        return None
    if _BUILDING[0] is not None:
        return _BUILDING[0]
    return _loaded()


def active() -> bool:
    """Whether the package reads the evidence tables in this process (present, fresh, enabled)."""
    return _state() is not None


@contextmanager
def disabled() -> Iterator[None]:
    """Compute everything afresh inside the block (caches are cleared on entry and exit)."""
    build_mod.clear_caches()
    before = _ENABLED[0]
    _ENABLED[0] = False
    try:
        yield
    finally:
        _ENABLED[0] = before
        build_mod.clear_caches()


def _real_tables() -> bool:
    """True when the package reads the processed tables (``indicators.load`` not replaced)."""
    from asc_evidence import indicators

    return indicators.load is build_mod.load


def _base() -> _State | None:
    """The state, for tables made straight from processed data (see the module notes)."""
    st = _state()
    return st if st is not None and _real_tables() else None


# ---------------------------------------------------------------------------------------------
# read paths: tables made from processed data


def indicator(key: str) -> pd.DataFrame | None:
    """:func:`asc_evidence.indicators.get` of ``key`` from the evidence (None: compute it)."""
    st = _base()
    if st is None:
        return None
    if key not in st.frames:
        df = st.part("indicator_values", (key,))
        if df is None:
            return None
        st.frames[key] = df
    return st.frames[key]


def delay_variance(responsible: str, month_effect: bool = True) -> pd.DataFrame | None:
    """:func:`asc_evidence.indicators.delay_variance` from the evidence (None: compute it)."""
    st = _base()
    if st is None or not month_effect:
        return None
    return st.part("delay_variance", (responsible,))


def neighbour_table(n: int) -> pd.DataFrame | None:
    """:func:`asc_evidence.verdict.neighbour_table` of ``n`` from the evidence (None: compute)."""
    st = _base()
    return None if st is None or n != NEIGHBOURS_N else st.part("neighbours", ())


def stability_summary(n: int) -> pd.DataFrame | None:
    """:func:`asc_evidence.verdict.stability_summary` of ``n`` from the evidence (None: compute)."""
    st = _base()
    return None if st is None or n != NEIGHBOURS_N else st.part("neighbour_stability", ())


def capacity_tables() -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """:func:`asc_evidence.market.capacity_tables` from the evidence (None: compute them)."""
    st = _base()
    if st is None:
        return None
    table = st.part("market_capacity", ())
    frame = st.part("market_capacity_areas", ())
    return None if table is None or frame is None else (table, frame)


def price_table() -> pd.DataFrame | None:
    """:func:`asc_evidence.market.price_table` from the evidence (None: compute it)."""
    st = _base()
    return None if st is None else st.part("market_prices", ())


_DEMAND_FRAMES = {
    "demand": "demand_people",
    "population": "demand_population",
    "by_variant": "demand_by_variant",
    "unit_costs": "demand_unit_costs",
}


def demand_projection(council_code: str):  # -> DemandProjection | None
    """:func:`asc_evidence.demand.council_projection` with its default base year and horizon
    from the evidence (None: compute it)."""
    st = _base()
    if st is None:
        return None
    from asc_evidence.councils import lookup
    from asc_evidence.demand.inputs import BASE_YEAR, HORIZON
    from asc_evidence.demand.model import DemandProjection

    council = lookup(council_code)
    parts = {f: st.part(t, (council.code,)) for f, t in _DEMAND_FRAMES.items()}
    parts["rates"] = st.part("demand_rates", (council.code, "council"))
    parts["england_rates"] = st.part("demand_rates", (council.code, "England"))
    notes = st.part("demand_notes", (council.code,))
    if notes is None or any(v is None for v in parts.values()):
        return None
    return DemandProjection(
        council_code=council.code,
        council_name=council.name,
        base_year=BASE_YEAR,
        horizon=HORIZON,
        notes=[str(n) for n in notes["note"]],
        **parts,
    )


# ---------------------------------------------------------------------------------------------
# read paths: numbers derived from an indicator table (used only for the evidence's own table)


def owns(key: str, table: pd.DataFrame) -> _State | None:
    """The state when ``table`` is the evidence's own table of indicator ``key``, else None."""
    st = _state()
    if st is None or st.frames.get(key) is not table:
        return None
    return st


def memo(key: str, table: pd.DataFrame, name: str, args: tuple, compute: Callable[[], Any]) -> Any:
    """``compute()``, remembered for this process when ``table`` is the evidence's own table of
    ``key`` (so a result derived from it is computed once); computed every time otherwise."""
    st = owns(key, table)
    if st is None:
        return compute()
    k = (name, key, args)
    if k not in st.memo:
        st.memo[k] = compute()
    return st.memo[k]


def area_lookup(key: str, table: pd.DataFrame) -> dict[tuple[str, str], str] | None:
    """``{(council_code, period): area_code}`` of the evidence's own table (None otherwise)."""
    if owns(key, table) is None:
        return None

    def make() -> dict[tuple[str, str], str]:
        first = table.drop_duplicates(["council_code", "period"])
        return dict(
            zip(
                zip(first["council_code"], first["period"], strict=True),
                first["area_code"].astype(str),
                strict=True,
            )
        )

    return memo(key, table, "area_lookup", (), make)


_NOT_STORED = object()


def funnel(key: str, period: str, table: pd.DataFrame, dispersion: Any = 1.0) -> Any:
    """The funnel of ``key`` in ``period`` from the evidence: a
    :class:`~asc_evidence.stats.funnel.FunnelResult` (limit curve included), None when the
    period has no funnel, or :data:`NOT_STORED` when it must be computed. ``dispersion`` is the
    within-council dispersion the verdict uses (a number, or ``D(mu)`` for delays)."""
    st = owns(key, table)
    if st is None or not st.has("funnels"):
        return _NOT_STORED

    def make() -> Any:
        params = st.table("funnels")
        assert params is not None
        row = params[(params["indicator"] == key) & (params["period"] == period)]
        if row.empty:
            return _NOT_STORED
        r = row.iloc[0]
        if not bool(r["has_funnel"]):
            return None
        units = st.part("funnel_units", (key, period))
        curve = st.part("funnel_curves", (key, period))
        if units is None or curve is None:
            return _NOT_STORED
        return stored_funnel_class()(
            kind=str(r["kind"]),
            target=float(r["target"]),
            multiplier=float(r["multiplier"]),
            method=str(r["method"]),
            scale=str(r["scale"]),
            adjustment=str(r["adjustment"]),
            confidence=tuple(float(c) for c in r["confidence"]),
            n_units=int(r["n_units"]),
            phi=float(r["phi"]),
            p_value=float(r["p_value"]),
            tau2=float(r["tau2"]),
            winsor=float(r["winsor"]),
            table=units,
            dispersion=dispersion,
            stored_curve=curve,
        )

    res = memo(key, table, "funnel", (period,), make)
    if isinstance(res, stored_funnel_class()):
        res.dispersion = dispersion
    return res


NOT_STORED = _NOT_STORED


def _interval_rows(key: str, period: str, table: pd.DataFrame) -> pd.DataFrame | None:
    st = owns(key, table)
    if st is None or not st.has("comparisons"):
        return None

    def make() -> pd.DataFrame | None:
        comp = st.table("comparisons")
        assert comp is not None
        rows = comp[(comp["indicator"] == key) & (comp["period"] == period)]
        return rows.set_index("council_code") if len(rows) else None

    return memo(key, table, "intervals", (period,), make)


def council_intervals(
    key: str, table: pd.DataFrame, period: str, council_code: str
) -> dict[float, tuple[np.ndarray, np.ndarray]] | None:
    """The council's 95% and 99.8% intervals in ``period`` as
    :func:`asc_evidence.verdict.intervals` returns them (None: compute them)."""
    rows = _interval_rows(key, period, table)
    if rows is None or council_code not in rows.index:
        return None
    r = rows.loc[council_code]
    return {
        0.95: (np.array([r["lower95"]]), np.array([r["upper95"]])),
        0.998: (np.array([r["lower99_8"]]), np.array([r["upper99_8"]])),
    }


def comparisons(
    key: str, table: pd.DataFrame, period: str, codes: pd.Index, england: float
) -> pd.DataFrame | None:
    """Rows ``codes`` of the comparisons in ``period``: ``lower95, upper95`` (blank where too few
    months were reported) and ``compared`` (the Fingertips comparison); None: compute them."""
    rows = _interval_rows(key, period, table)
    if rows is None or not set(codes) <= set(rows.index):
        return None
    if not (
        rows["england"].iloc[0] == england or (np.isnan(england) and rows["england"].isna().all())
    ):
        return None
    out = rows.loc[list(codes)]
    few = out["few_months"].to_numpy(dtype=bool)
    return pd.DataFrame(
        {
            "lower95": np.where(few, np.nan, out["lower95"].to_numpy(dtype=float)),
            "upper95": np.where(few, np.nan, out["upper95"].to_numpy(dtype=float)),
            "compared": out["compared"].to_numpy(dtype=object),
        },
        index=codes,
    )


def row_intervals(
    key: str, table: pd.DataFrame, rows: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray] | None:
    """95% intervals of a council's ``rows`` (``period, council_code``), each in its own year,
    as :func:`asc_evidence.compare.recent_trend` computes them (None: compute them)."""
    lo, hi = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
    for i, (period, code) in enumerate(zip(rows["period"], rows["council_code"], strict=True)):
        stored = _interval_rows(key, str(period), table)
        if stored is None or code not in stored.index:
            return None
        lo[i], hi[i] = stored.at[code, "lower95"], stored.at[code, "upper95"]
    return lo, hi


def recent_trend(key: str, council_code: str, upto: str | None, table: pd.DataFrame):
    """The council's stored recent trend (:class:`~asc_evidence.stats.trends.RecentTrend`) when
    ``upto`` is None or not before its newest figure; None: compute it."""
    st = owns(key, table)
    if st is None or not st.has("recent_trends"):
        return None
    if "recent_trends" not in st.memo:
        t = st.table("recent_trends")
        assert t is not None
        st.memo["recent_trends"] = {
            (r["indicator"], r["council_code"]): r for r in t.to_dict("records")
        }
    r = st.memo["recent_trends"].get((key, council_code))
    if r is None or (upto is not None and str(upto) < str(r["last_period"])):
        return None
    from asc_evidence.stats.trends import RecentTrend

    direction = r["direction"]
    return RecentTrend(
        marker=r["marker"],
        direction=direction if isinstance(direction, str) else None,
        chi2=float(r["chi2"]),
        slope=float(r["slope"]),
        n_points=int(r["n_points"]),
        periods=tuple(str(p) for p in r["periods"]),
        method=r["method"],
        reason=r["reason"],
        significant=bool(r["significant"]),
        slope_scale=r["slope_scale"],
        leave_one_out=tuple(float(x) for x in r["leave_one_out"]),
    )


@cache
def stored_funnel_class() -> type:
    """:class:`~asc_evidence.stats.funnel.FunnelResult` read from the evidence, with its default
    limit curve stored (a class made on first use, so importing this module stays light)."""
    from asc_evidence.stats.funnel import FunnelResult

    @dataclass
    class StoredFunnel(FunnelResult):
        """A funnel read from the evidence: as computed, with its default limit curve stored."""

        stored_curve: pd.DataFrame | None = field(default=None, repr=False, compare=False)

        def curve(
            self, n_points: int = 200, denominator_range: tuple[float, float] | None = None
        ) -> pd.DataFrame:
            if self.stored_curve is not None and n_points == 200 and denominator_range is None:
                return self.stored_curve.copy()
            return super().curve(n_points, denominator_range)

    return StoredFunnel


# ---------------------------------------------------------------------------------------------
# computing and writing the tables


def _current_codes() -> list[str]:
    from asc_evidence.councils import current

    return list(current()["code"])


def demand_tables() -> dict[str, tuple[pd.DataFrame, list[dict[str, Any]] | None]]:
    """The demand projection of every current council (default base year and horizon), packed
    as its evidence tables. Reads only processed tables, so it can run in its own process."""
    from asc_evidence.demand.model import input_tables, projections_from_tables

    frames = projections_from_tables(*input_tables(), _current_codes())
    made = {name: pack_frame(frames[attr], KEYS[name]) for attr, name in _DEMAND_FRAMES.items()}
    made["demand_rates"] = pack_frame(frames["rates"], KEYS["demand_rates"])
    made["demand_notes"] = pack_frame(frames["notes"], KEYS["demand_notes"])
    return made


def compute(
    progress: Callable[[str], None] | None = None,
    state: _State | None = None,
    workers: int = 1,
) -> dict[str, tuple[pd.DataFrame, list[dict[str, Any]] | None]]:
    """Compute every evidence table (see :data:`TABLES`), in dependency order.

    Each table is put in ``state`` as soon as it is made, so later tables read it through the
    same read paths a report uses (e.g. recent trends use the stored intervals). With
    ``workers`` > 1 (and ``fork`` available, see :func:`asc_evidence.build.can_fork`), a forked
    process makes meanwhile the evidence of the indicators other than delayed transfers (whose
    builders read the within-council dispersion made here first), while this one makes the
    delays', the neighbours, the care market and the demand projections: about 10 s each on the
    2-core machine. A forked process inherits the imports, so it costs only the processed tables
    it reads (a spawned one was measured no faster: 24.2 s against 23.9 s in one process). Each
    indicator reads only its own rows, so the tables are the same either way (byte for byte,
    checked by sha256).
    """
    from asc_evidence import indicators, market, verdict

    st = state if state is not None else _State(on_disk=False)
    out: dict[str, tuple[pd.DataFrame, list[dict[str, Any]] | None]] = {}

    def put(name: str, long: pd.DataFrame, schemas: list[dict[str, Any]] | None, t0: float):
        st.set(name, long, schemas)
        out[name] = (long, schemas)
        if progress:
            progress(f"evidence {name}: {len(long):,} rows in {time.perf_counter() - t0:.1f}s")

    keys = list(indicators.INDICATORS)
    pool = None
    side_keys: list[str] = []
    if build_mod.can_fork(workers):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
        side_keys = [k for k in keys if not _reads_delay_variance(k)]
    try:
        _FORKED_STATE[:] = [st]  # inherited by the forked process (not pickled)
        side = pool.submit(_indicator_parts_forked, side_keys) if pool else None
        t0 = time.perf_counter()
        put("delay_variance", *_delay_variance(), t0)
        t0 = time.perf_counter()
        own = _indicator_parts([k for k in keys if k not in side_keys], st)
        own_seconds = time.perf_counter() - t0

        # neighbours and their stability; the care market; demand projections of every council
        t0 = time.perf_counter()
        later = {
            "neighbours": pack({(): verdict.neighbour_table(NEIGHBOURS_N)}, ()),
            "neighbour_stability": pack({(): verdict.stability_summary(NEIGHBOURS_N)}, ()),
        }
        seconds = dict.fromkeys(later, time.perf_counter() - t0)
        t0 = time.perf_counter()
        table, frame = market.capacity_tables()
        market_tables = {
            "market_capacity": pack({(): table}, ()),
            "market_capacity_areas": pack({(): frame}, ()),
            "market_prices": pack({(): market.price_table()}, ()),
        }
        seconds |= dict.fromkeys(market_tables, time.perf_counter() - t0)
        t0 = time.perf_counter()
        demand = demand_tables()
        seconds |= dict.fromkeys(demand, time.perf_counter() - t0)
        later |= market_tables | demand
        side_parts, side_seconds = side.result() if side else ({}, 0.0)
    finally:
        _FORKED_STATE.clear()
        if pool:
            pool.shutdown(cancel_futures=True)

    # every indicator on today's councils ("the evidence's own tables"), then per indicator and
    # period its funnel, England and every council's intervals and comparisons, and the recent
    # trends of every current council (read the stored intervals), in the indicators' order
    parts = {key: own[key] if key in own else side_parts[key] for key in keys}
    t0 = time.perf_counter() - max(own_seconds, side_seconds)  # the longer process's parts
    put("indicator_values", *pack({(k,): p.frame for k, p in parts.items()}, ("indicator",)), t0)
    put("funnels", pd.DataFrame([r for p in parts.values() for r in p.funnel_rows]), None, t0)
    units = {k: u for p in parts.values() for k, u in p.units.items()}
    put("funnel_units", *pack(units, KEYS["funnel_units"]), t0)
    curves = {k: c for p in parts.values() for k, c in p.curves.items()}
    put("funnel_curves", *pack(curves, KEYS["funnel_curves"]), t0)
    comps = [c for p in parts.values() for c in p.comparisons]
    put("comparisons", pd.concat(comps, ignore_index=True), None, t0)
    put("recent_trends", pd.DataFrame([r for p in parts.values() for r in p.trends]), None, t0)
    for name, packed in later.items():
        put(name, *packed, time.perf_counter() - seconds[name])  # the time it took, not the wait
    return out


def _reads_delay_variance(key: str) -> bool:
    """Whether indicator ``key``'s builder reads the within-council dispersion of delays."""
    from asc_evidence import indicators

    return indicators.spec(key).section == "delayed_discharges"


def _indicator_parts(keys: list[str], st: _State) -> dict[str, _Parts]:
    """Values, funnels, intervals, comparisons and recent trends of the indicators ``keys``.

    The comparisons are put in ``st`` before the trends are made, as the trends read them there
    (only each indicator's own rows, so a process making some indicators makes the same rows)."""
    from asc_evidence import indicators

    parts = {key: _Parts(indicators.get(key)) for key in keys}
    st.frames.update({key: p.frame for key, p in parts.items()})
    for key, p in parts.items():
        _funnels_of(key, p)
    comps = [c for p in parts.values() for c in p.comparisons]
    if comps:
        st.set("comparisons", pd.concat(comps, ignore_index=True), None)
    for key, p in parts.items():
        p.trends = _trends_of(key, p.frame)
    return parts


_FORKED_STATE: list[_State] = []  # the state compute hands to its forked process


def _indicator_parts_forked(keys: list[str]) -> tuple[dict[str, _Parts], float]:
    """:func:`_indicator_parts` in the forked process, on the state :func:`compute` handed over
    (:data:`_FORKED_STATE`, inherited), and the seconds it took (errors as
    :func:`asc_evidence.build.call_forked`)."""
    t0 = time.perf_counter()
    parts = build_mod.call_forked(_indicator_parts, keys, _FORKED_STATE[0])
    return parts, time.perf_counter() - t0


@dataclass
class _Parts:
    """The funnels and intervals of one indicator, before they are put in the national tables."""

    frame: pd.DataFrame  # indicators.get
    funnel_rows: list[dict[str, Any]] = field(default_factory=list)
    units: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    curves: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    comparisons: list[pd.DataFrame] = field(default_factory=list)
    trends: list[dict[str, Any]] = field(default_factory=list)  # one row per current council


def _delay_variance() -> tuple[pd.DataFrame, list[dict[str, Any]] | None]:
    """The within-council dispersion of delays, packed (the delayed-transfer builders read it)."""
    from asc_evidence import indicators

    responsible = sorted(
        {
            indicators.delay_responsibility(indicators.spec(k))
            for k in indicators.INDICATORS
            if _reads_delay_variance(k)
        }
    )
    return pack({(r,): indicators.delay_variance(r) for r in responsible}, KEYS["delay_variance"])


def _funnels_of(key: str, p: _Parts) -> None:
    """Per period: the funnel, England and every council's intervals and comparisons."""
    from asc_evidence import compare, indicators, verdict
    from asc_evidence.stats.comparison import compare_with_benchmark

    ind = indicators.spec(key)
    for period in sorted(p.frame["period"].dropna().unique()):
        period = str(period)
        councils_, usable, england = verdict._year(key, period)  # as a verdict reads them
        disp = verdict.within_dispersion(ind, period)
        counted = ind.kind in indicators.COUNTED_KINDS
        res = verdict._funnel(ind, usable, england, disp) if counted else None
        row: dict[str, Any] = {
            "indicator": key,
            "period": period,
            "indicator_kind": ind.kind,
            "england": england,
            "n_councils": int(councils_["value"].notna().sum()),
            "n_with_counts": len(usable),
            "has_funnel": res is not None,
        }
        if res is not None:
            row.update(
                kind=res.kind, target=res.target, multiplier=res.multiplier,
                method=res.method, scale=res.scale, adjustment=res.adjustment,
                confidence=list(res.confidence), n_units=res.n_units, phi=res.phi,
                p_value=res.p_value, tau2=res.tau2, winsor=res.winsor,
                overdispersed=res.overdispersed,
                model=res.model_description(centre_label="England"),
                dispersion=res.dispersion_description("council"),
            )  # fmt: skip
            p.units[key, period] = res.table
            p.curves[key, period] = res.curve()
        p.funnel_rows.append(row)
        if not counted:  # prices: no interval; surveys: the published one (cheap)
            continue
        rows = compare._council_rows(key, period)
        if rows.empty:
            continue
        ci = verdict.intervals(ind, rows["numerator"], rows["denominator"], disp)
        few = (
            rows["months"].fillna(12).to_numpy() < indicators.MIN_MONTHS
            if "months" in rows
            else np.zeros(len(rows), dtype=bool)
        )
        masked = {
            k: (np.where(few, np.nan, lo), np.where(few, np.nan, hi)) for k, (lo, hi) in ci.items()
        }
        compared = compare_with_benchmark(
            england, *masked[0.95], *masked[0.998], polarity=ind.polarity
        )
        p.comparisons.append(
            pd.DataFrame(
                {
                    "indicator": key,
                    "period": period,
                    "council_code": rows.index.astype(str),
                    "area_code": rows["area_code"].astype(str).to_numpy(),
                    "numerator": rows["numerator"].to_numpy(dtype=float),
                    "denominator": rows["denominator"].to_numpy(dtype=float),
                    "value": rows["value"].to_numpy(dtype=float),
                    "england": england,
                    "lower95": ci[0.95][0],
                    "upper95": ci[0.95][1],
                    "lower99_8": ci[0.998][0],
                    "upper99_8": ci[0.998][1],
                    "few_months": few,
                    "compared": np.asarray(compared, dtype=object),
                }
            )
        )  # fmt: skip


def _trends_of(key: str, table: pd.DataFrame) -> list[dict[str, Any]]:
    """The recent trend of every current council on indicator ``key`` (one row each)."""
    from asc_evidence import compare

    have = table[table["value"].notna()]
    last = have.groupby("council_code")["period"].max()
    rows = []
    for code in _current_codes():
        r = compare.recent_trend(key, code)
        rows.append(
            {
                "indicator": key,
                "council_code": code,
                "last_period": str(last.get(code, "")),
                "marker": r.marker,
                "direction": r.direction,
                "chi2": r.chi2,
                "slope": r.slope,
                "n_points": r.n_points,
                "periods": [str(p) for p in r.periods],
                "first_period": str(r.periods[0]) if r.periods else "",
                "method": r.method,
                "reason": r.reason,
                "significant": r.significant,
                "slope_scale": r.slope_scale,
                "leave_one_out": [float(x) for x in r.leave_one_out],
            }
        )
    return rows


def _write(name: str, df: pd.DataFrame) -> None:
    path = folder() / f"{build_mod.safe_name(name)}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    df.to_parquet(tmp, index=False)
    tmp.replace(path)


def build(
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
) -> str:
    """Compute and write the evidence tables unless they are fresh; returns ``"built"`` or
    ``"up to date"``. ``workers``: see :func:`compute` (default
    :func:`asc_evidence.build.default_workers`). The code hash is taken before computing, so code
    edited during a build leaves the tables stale, not falsely fresh. Registered caches are
    cleared when it ends."""
    try:
        if not force and status() == "fresh":
            if progress:
                progress("evidence: up to date")
            return "up to date"
        t0 = time.perf_counter()
        inputs = _inputs_digest()
        files = code_files()
        code = _files_hash(files)
        build_mod.clear_caches()
        st = _State(on_disk=False)
        _BUILDING[0] = st
        try:
            tables = compute(
                progress, st, build_mod.default_workers() if workers is None else workers
            )
        finally:
            _BUILDING[0] = None
        manifest: dict[str, Any] = {
            "version": VERSION,
            "inputs": inputs,
            "code": code,
            "code_files": files,
            "seconds": round(time.perf_counter() - t0, 1),
            "tables": {},
        }
        _manifest_path().unlink(missing_ok=True)  # stale while the tables are replaced
        for spec in TABLES:
            long, schemas = tables[spec.name]
            _write(spec.name, long)
            entry: dict[str, Any] = {
                "rows": len(long),
                "one_row_per": spec.one_row_per,
                "description": spec.description,
            }
            if schemas is not None:
                entry["keys"] = list(KEYS[spec.name])
                entry["schemas"] = schemas
            manifest["tables"][spec.name] = entry
        _manifest_path().write_text(
            json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8"
        )
        if progress:
            progress(f"evidence: built {len(TABLES)} tables in {manifest['seconds']:.0f}s")
        return "built"
    finally:
        build_mod.clear_caches()


def describe() -> str:
    """The evidence tables in plain text: name, what one row is, columns (from the files)."""
    import pyarrow.parquet as pq

    lines = []
    for spec in TABLES:
        path = folder() / f"{spec.name}.parquet"
        cols = ", ".join(pq.read_schema(path).names) if path.is_file() else "(not built)"
        lines += [f"{spec.name}.parquet: one row per {spec.one_row_per}.", f"  {spec.description}"]
        lines.append(f"  Columns: {cols}.")
    return "\n".join(lines)
