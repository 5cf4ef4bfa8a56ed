"""PSS-EX1 expenditure and unit costs (NHS Digital), 2008-09 to 2014-15 (table unit_costs)."""

from __future__ import annotations

import csv
import re
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd

from asc_evidence import tidy
from asc_evidence.common import ENGLAND
from asc_evidence.errors import SchemaChangedError
from asc_evidence.fetch import fetch
from asc_evidence.sources.finance_activity.shared import (
    FLAG_LEGACY,
    LEGACY_COUNCILS,
    MARKERS,
    PSS_2014_15_FILE,
    PSS_UNIT_COST_FILES,
    UNIT_HOUR_INDEPENDENT,
    UNIT_HOUR_OWN,
    UNIT_WEEK,
    _warn_unresolved,
    _zero_rate_to_nan,
    resolve_councils,
)

# --------------------------------------------------------------------------- PSS-EX1 2008-09 .. 2013-14

# measure, age band, unit, unit-cost description, denominator description (both regex, case-insensitive)
PSS_MEASURES: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "fee_home_care_hour_independent",
        "18+",
        UNIT_HOUR_INDEPENDENT,
        r"^average gross hourly cost for home help/care provided by others",
        r"actual number of home help/care contact hours provided by independent sector",
    ),
    (
        "unit_cost_home_care_hour_own",
        "18+",
        UNIT_HOUR_OWN,
        r"^average gross hourly cost for home help/care provided by LA",
        r"actual number of home help/care contact hours provided by LA",
    ),
    (
        "unit_cost_home_care_hour_all",
        "18+",
        "GBP per hour (all providers)",
        r"^average gross hourly cost for home help/care\s*$",
        r"actual number of home help/care contact hours for all adult",
    ),
    (
        "fee_residential_65_week_independent",
        "65+",
        f"{UNIT_WEEK} (residential care provided by others)",
        r"^average gross weekly expenditure per person on supporting older people in residential care provided by others",
        r"weeks older people .*supported in residential care provided by others",
    ),
    (
        "unit_cost_residential_65_week_own",
        "65+",
        f"{UNIT_WEEK} (own provision residential care)",
        r"^average gross weekly expenditure per person on supporting older people in own provision residential care",
        r"weeks older people were supported in own provision residential care",
    ),
    (
        "fee_nursing_65_week_independent",
        "65+",
        f"{UNIT_WEEK} (nursing care, all purchased)",
        r"^average gross weekly expenditure per person on supporting older people in nursing care",
        r"weeks older people .*supported in nursing care",
    ),
    (
        "unit_cost_residential_65_week_all",
        "65+",
        f"{UNIT_WEEK} (residential care, all providers)",
        r"^average gross weekly expenditure per person on supporting older people in residential care \(",
        r"weeks older people were supported in residential care \(",
    ),
)


def _read_csv_grid(path: Path) -> pd.DataFrame:
    """Read a report-style CSV as a string grid: UTF-8 (with or without BOM) else Windows-1252."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    rows = list(csv.reader(StringIO(text)))
    width = max((len(r) for r in rows), default=0)
    return pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype="string")


def parse_pss_unit_costs(path: Path, period: str) -> pd.DataFrame:
    """Parse one PSS-EX1 council unit-cost CSV (2008-09 .. 2013-14) into the tidy table.

    Columns come in (numerator £000, denominator, unit cost) triples; each measure is located by the
    description text of its unit-cost column and of the denominator column before it. Numerators are
    converted to £ so that ``numerator / denominator == value``. A published unit cost of 0 means no
    such provision and becomes NaN.

    Raises
    ------
    SchemaChangedError
        When the description row or an expected indicator cannot be found.
    """
    grid = _read_csv_grid(path)
    head = grid.head(10)
    hits = pd.Series(
        [
            any(isinstance(c, str) and "Average gross hourly cost" in c for c in row)
            for row in head.to_numpy(dtype=object)
        ],
        index=head.index,
    )
    expected = [m[3] for m in PSS_MEASURES]
    if not hits.any():
        raise SchemaChangedError(path.name, expected, [str(c) for c in grid.iloc[0].tolist() if c])
    desc = grid.loc[hits.idxmax()].fillna("").str.strip()
    cols: dict[str, int] = {}
    for measure, _, _, uc_pat, den_pat in PSS_MEASURES:
        for j in range(2, len(desc)):
            if re.search(uc_pat, desc[j], re.I) and re.search(den_pat, desc[j - 1], re.I):
                cols[measure] = j
                break
    missing = [m[3] for m in PSS_MEASURES if m[0] not in cols]
    if missing:
        raise SchemaChangedError(path.name, expected, [d for d in desc.tolist() if d])

    first = grid[0].fillna("").str.strip()
    council = first.str.extract(r"^(\d{3})\s*-\s*(.+?)$")
    is_council = council[0].notna()
    is_england = first.str.fullmatch(r"(?i)(total\s+)?england")
    rows = grid[is_council | is_england]
    # every numerator, denominator and unit-cost column parsed in one to_number call
    used = sorted({j - k for j in cols.values() for k in (0, 1, 2)})
    numbers, number_flags = tidy.to_number(pd.concat([rows[j] for j in used]), MARKERS)

    def number(j: int) -> tuple[pd.Series, pd.Series]:
        at = slice(used.index(j) * len(rows), (used.index(j) + 1) * len(rows))
        return numbers.iloc[at].set_axis(rows.index), number_flags.iloc[at].set_axis(rows.index)

    pieces = []
    for measure, age, unit, *_ in PSS_MEASURES:
        j = cols[measure]
        num, _ = number(j - 2)
        den, _ = number(j - 1)
        val, flag = _zero_rate_to_nan(*number(j))
        pieces.append(
            pd.DataFrame(
                {
                    "cassr": council.loc[rows.index, 0],
                    "file_name": council.loc[rows.index, 1],
                    "is_england": is_england[rows.index],
                    "measure": measure,
                    "age_band": age,
                    "unit": unit,
                    "numerator": num * 1000,
                    "denominator": den,
                    "value": val,
                    "flag": flag,
                }
            )
        )
    out = pd.concat(pieces, ignore_index=True)
    codes, names, unresolved = resolve_councils(out["cassr"], out["file_name"])
    eng = out["is_england"].astype(bool)
    _warn_unresolved(sorted({u for u in unresolved if u}), path.name)
    out["council_code"] = codes.mask(eng, ENGLAND)
    out["council_name"] = names.mask(eng, "England")
    out["level"] = np.where(eng, "england", "council")
    legacy = out["cassr"].isin(list(LEGACY_COUNCILS))
    out["flag"] = out["flag"].mask(legacy, (out["flag"] + "; ").str.lstrip("; ") + FLAG_LEGACY)
    out = out[out["council_code"].notna()]
    return tidy.make_tidy(out, source="pss_ex1_unit_costs", period=period)


# --------------------------------------------------------------------------- PSS 2014-15 (wide)

PSS_2014_15_ID_COLUMNS = [
    "Support type",
    "Age category",
    "Primary support reason",
    "Service delivery mechanism",
    "Unit cost category",
    "Unit cost provision",
]
# (measure, service delivery mechanism, unit cost provision, unit)
PSS_2014_15_MEASURES = (
    (
        "fee_residential_65_week_independent",
        "Residential",
        "Provision by others",
        f"{UNIT_WEEK} (residential care provided by others)",
    ),
    (
        "unit_cost_residential_65_week_own",
        "Residential",
        "Own provision",
        f"{UNIT_WEEK} (own provision residential care)",
    ),
    (
        "fee_nursing_65_week_independent",
        "Nursing",
        "All",
        f"{UNIT_WEEK} (nursing care, all purchased)",
    ),
    (
        "unit_cost_residential_65_week_all",
        "Residential",
        "All",
        f"{UNIT_WEEK} (residential care, all providers)",
    ),
)
FLAG_2014_15 = "2014-15: summed over primary support reasons; new Care Act categories, not comparable with earlier years"


def parse_pss_unit_costs_2014_15(path: Path) -> pd.DataFrame:
    """Parse the 2014-15 wide unit-cost file (councils as columns) into 65+ weekly costs.

    The file has no 65+ total, only rows per primary support reason: numerators (£000) and
    denominators (weeks) are summed over reasons and the unit cost recomputed (flagged so).
    No hourly home care cost was published for 2014-15.
    """
    grid = _read_csv_grid(path)
    header = grid.iloc[1].fillna("").str.strip()
    tidy.expect_columns(header.tolist(), PSS_2014_15_ID_COLUMNS, path.name)
    body = grid.iloc[2:].copy()
    body.columns = range(body.shape[1])
    ids = {
        name: body[header[header == name].index[0]].fillna("").str.strip()
        for name in PSS_2014_15_ID_COLUMNS
    }
    area_cols = [j for j, h in header.items() if h and h not in PSS_2014_15_ID_COLUMNS]
    pieces = []
    for measure, mechanism, provision, unit in PSS_2014_15_MEASURES:
        sel = (
            (ids["Support type"] == "Long term")
            & (ids["Age category"] == "Age 65 and over")
            & (ids["Service delivery mechanism"] == mechanism)
            & (ids["Unit cost provision"] == provision)
        )
        parts = {}
        for cat in ("Numerator", "Denominator"):
            block = body.loc[sel & (ids["Unit cost category"] == cat), area_cols]
            if block.empty:
                raise SchemaChangedError(
                    path.name, [f"{measure}: {mechanism} / {provision} / {cat}"], []
                )
            stacked = block.stack()
            vals, flags = tidy.to_number(stacked, MARKERS)
            parts[cat] = vals.groupby(level=1).sum(min_count=len(block))
            parts[cat + "_flag"] = flags.groupby(level=1).max()
        num, den = parts["Numerator"] * 1000, parts["Denominator"]
        value = (num / den).where(den > 0)
        flag = pd.Series(FLAG_2014_15, index=value.index, dtype="string")
        flag = flag.mask(
            value.isna(), "not applicable (zero or missing component); " + FLAG_2014_15
        )
        pieces.append(
            pd.DataFrame(
                {
                    "area": header[value.index].values,
                    "measure": measure,
                    "age_band": "65+",
                    "unit": unit,
                    "numerator": num.values,
                    "denominator": den.values,
                    "value": value.values,
                    "flag": flag.values,
                }
            )
        )
    out = pd.concat(pieces, ignore_index=True)
    area = out["area"].str.extract(r"^(\d{3})\s*-\s*(.+?)\s*$")
    is_council = area[0].notna()
    is_england = out["area"].str.fullmatch(r"(?i)england")
    codes, names, unresolved = resolve_councils(area[0], area[1])
    _warn_unresolved(sorted(u for u in unresolved if u), path.name)
    out["council_code"] = codes.mask(is_england, ENGLAND)
    out["council_name"] = names.mask(is_england, "England")
    out["level"] = np.where(is_england, "england", "council")
    out = out[(is_council | is_england) & out["council_code"].notna()]
    return tidy.make_tidy(out, source="pss_ex1_unit_costs", period="2014-15")


def make_unit_costs() -> pd.DataFrame:
    """The ``unit_costs`` table: 2008-09 .. 2014-15 council unit costs."""
    frames = [
        parse_pss_unit_costs(fetch(key), period) for period, key in PSS_UNIT_COST_FILES.items()
    ]
    frames.append(parse_pss_unit_costs_2014_15(fetch(PSS_2014_15_FILE)))
    return pd.concat(frames, ignore_index=True)
