"""Council unit costs, fee rates, spend and activity from PSS-EX1 and ASC-FR releases.

Tables
------
``unit_costs`` (source ``pss_ex1_unit_costs``)
    PSS Expenditure and Unit Costs council files 2008-09 .. 2013-14 (multi-row report CSVs, columns found
    by their description text) and 2014-15 (wide file, councils as columns; 65+ figures summed over
    primary support reasons). The independent-sector hourly home care cost is the price councils paid,
    i.e. the fee-rate series up to 2014-15.
``ascfr_2021_22`` (source ``ascfr_salt_2021_22``)
    ASC-FR and SALT Data Tables 2021-22: home care £/hour (T51), care home £/week (T52, T55), gross
    current expenditure and long-term support clients (T1, T38, T43, T44), for 2020-21 and 2021-22.
``cqc_beds_2021`` (source ``cqc_care_directory_2021``)
    CQC care directory aggregates by council, 1 February 2021: care home beds, nursing beds,
    domiciliary care services.
``spend_2017_18`` (source ``ascfr_2017_18``)
    ASC-FR 2017-18 gross current expenditure by council, care type, support setting and age band.
"""

from __future__ import annotations

import csv
import re
import warnings
from functools import cache
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd

from asc_evidence import tidy
from asc_evidence.build import TableSpec, register_cache
from asc_evidence.common import ENGLAND
from asc_evidence.councils import lookup
from asc_evidence.errors import SchemaChangedError, UnknownCouncilError
from asc_evidence.fetch import fetch
from asc_evidence.sources import excel

PSS_DIR = "finance_activity/bengoodair_adults_social_care_data/Raw_data"
PSS_UNIT_COST_FILES: dict[str, str] = {
    "2008-09": f"{PSS_DIR}/2009/pers-soc-serv-exp-unit-cost-eng-2008-09-units (1).csv",
    "2009-10": f"{PSS_DIR}/2010/Final_Council Level_DetailedUnitcosts_200910.csv",
    "2010-11": f"{PSS_DIR}/2011/Final_Council_Level_Unit_Costs_Data_2010-11.csv",
    "2011-12": f"{PSS_DIR}/2012/Final_Council_Level_Detailed_UnitCosts_2011_12v2.csv",
    "2012-13": f"{PSS_DIR}/2013/Annex_Fin_CASSR_Level_Unit_Costs_2012_13.csv",
    "2013-14": f"{PSS_DIR}/2014/Annex_Final_CASSR_Level_Unit_Costs_2013_14.csv",
}
PSS_2014_15_FILE = f"{PSS_DIR}/2015/pss-exp-eng-14-15-fin-coun-lev-unit-cost.csv"
ASCFR_2021_22_FILE = (
    "finance_activity/ascfr_salt_data_tables_2021_22/ASCFR and SALT Data Tables 2021-22.xlsx"
)
CQC_DIR = "finance_activity/cqc_care_directory_la_aggregates_feb2021"
CQC_FILES = {
    "beds": f"{CQC_DIR}/nhs_eng_care_home_beds_la.csv",
    "nursing": f"{CQC_DIR}/nhs_eng_care_home_beds_without_nursing_la.csv",
    "dom": f"{CQC_DIR}/nhs_eng_dom_care_la.csv",
}
SPEND_2017_18_FILE = "finance_activity/ascfr_2017_18_gce_by_la_samrickman/Support Type With Populations all PSRs incl Sicilly.rds"

# Markers in the PSS-EX1 / ASC-FR files (their footnotes) and in the harmonised files.
MARKERS: dict[str, str] = {
    "..": tidy.FLAG_NOT_AVAILABLE,
    ":": tidy.FLAG_NOT_AVAILABLE,
    ".": "not applicable (zero or missing component)",
    "-": tidy.FLAG_SUPPRESSED,
    "*": tidy.FLAG_SUPPRESSED,
    "c": tidy.FLAG_SUPPRESSED,
    "z": tidy.FLAG_NOT_APPLICABLE,
    "[x]": "not submitted",
    "[c]": tidy.FLAG_SUPPRESSED,
}
FLAG_ZERO_RATE = "zero published (no such provision); not a price"

UNIT_HOUR_INDEPENDENT = "GBP per hour (price paid, independent sector)"
UNIT_HOUR_OWN = "GBP per hour (in-house provision)"
UNIT_WEEK = "GBP per week"


# Councils abolished on 1 April 2009 (not in the register), by DH CASSR code: ONS code and name.
LEGACY_COUNCILS: dict[str, tuple[str, str]] = {
    "320": ("E10000004", "Cheshire (county council, abolished 2009)"),
    "610": ("E10000001", "Bedfordshire (county council, abolished 2009)"),
}
FLAG_LEGACY = "boundary: council abolished April 2009 (not in register)"


@register_cache
@cache
def _council_of(query: str) -> tuple[str, str] | None:
    """``(ONS code, register name)`` of :func:`councils.lookup`, None when unknown.

    Cached: the same codes and names recur in every year's file; :func:`build.build` clears it.
    """
    try:
        council = lookup(query)
    except UnknownCouncilError:
        return None
    return council.code, council.name


def resolve_councils(codes: pd.Series, names: pd.Series) -> tuple[pd.Series, pd.Series, list[str]]:
    """Map council codes (NHS/DH CASSR or ONS) with names to ONS codes and register names.

    The code is tried first, then the name, then :data:`LEGACY_COUNCILS`. Returns
    ``(ons_codes, register_names, unresolved)`` where unresolved entries are ``"code name"``
    strings whose rows get ``<NA>``.
    """
    pairs = pd.DataFrame(
        {"code": codes.astype("string").fillna(""), "name": names.astype("string").fillna("")}
    )
    uniq = pairs.drop_duplicates()
    found: dict[tuple[str, str], tuple[str, str]] = {}
    unresolved = []
    for code, name in uniq.itertuples(index=False):
        council = None
        for query in (code.strip(), name.strip()):
            if query:
                council = _council_of(query)
                if council is not None:
                    break
        if council is None and code.strip() in LEGACY_COUNCILS:
            found[(code, name)] = LEGACY_COUNCILS[code.strip()]
        elif council is None:
            unresolved.append(f"{code} {name}".strip())
        else:
            found[(code, name)] = council
    keys = list(zip(pairs["code"], pairs["name"], strict=True))
    ons = pd.Series(
        [found.get(k, (pd.NA, pd.NA))[0] for k in keys], index=codes.index, dtype="string"
    )
    reg = pd.Series(
        [found.get(k, (pd.NA, pd.NA))[1] for k in keys], index=codes.index, dtype="string"
    )
    return ons, reg, unresolved


def _warn_unresolved(unresolved: list[str], file: str) -> None:
    if unresolved:
        warnings.warn(
            f"{file}: council(s) not in the register, rows dropped: {unresolved}", stacklevel=3
        )


def _zero_rate_to_nan(values: pd.Series, flags: pd.Series) -> tuple[pd.Series, pd.Series]:
    zero = values == 0
    return values.mask(zero), flags.mask(zero, FLAG_ZERO_RATE)


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
    hits = head.apply(lambda col: col.str.contains("Average gross hourly cost", regex=False)).any(
        axis=1
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


# --------------------------------------------------------------------------- ASC-FR 2021-22 workbook

ASCFR_ID_COLUMNS = ["Geography code", "LA code", "LA name", "Region code", "Region name"]
_UNIT_HOUR_EXTERNAL = "GBP per hour (average weighted standard rate, external providers)"
# sheet -> {header path (labels joined by " | "): (measure, age band, period, unit)}
ASCFR_SELECTION: dict[str, dict[str, tuple[str, str, str, str]]] = {
    "T51": {
        f"{y} | External": ("fee_home_care_hour_external", "18+", y, _UNIT_HOUR_EXTERNAL)
        for y in ("2020-21", "2021-22")
    }
    | {
        f"{y} | In House": ("unit_cost_home_care_hour_own", "18+", y, UNIT_HOUR_OWN)
        for y in ("2020-21", "2021-22")
    },
    "T55": {
        f"External | {y} | 65 and Over": (
            "fee_residential_65_week_external",
            "65+",
            y,
            f"{UNIT_WEEK} (residential care, external providers)",
        )
        for y in ("2020-21", "2021-22")
    }
    | {
        f"In House | {y} | 65 and Over": (
            "unit_cost_residential_65_week_own",
            "65+",
            y,
            f"{UNIT_WEEK} (own provision residential care)",
        )
        for y in ("2020-21", "2021-22")
    },
    "T52": {
        f"Nursing | {y} | 65 and Over": (
            "fee_nursing_65_week_external",
            "65+",
            y,
            f"{UNIT_WEEK} (nursing care, all providers; almost all external)",
        )
        for y in ("2020-21", "2021-22")
    }
    | {
        f"Residential | {y} | 65 and Over": (
            "unit_cost_residential_65_week_all",
            "65+",
            y,
            f"{UNIT_WEEK} (residential care, all providers)",
        )
        for y in ("2020-21", "2021-22")
    },
    "T1": {
        "Gross Current Expenditure": (
            "gross_current_expenditure",
            "18+",
            "2021-22",
            "GBP thousand",
        ),
        "Long Term Support during the year | 18 to 64": (
            "clients_long_term_support_in_year",
            "18-64",
            "2021-22",
            "people",
        ),
        "Long Term Support during the year | 65 and over": (
            "clients_long_term_support_in_year",
            "65+",
            "2021-22",
            "people",
        ),
    },
    "T38": {
        f"{band} | {setting}": (
            f"clients_long_term_support_year_end_{mid}",
            age,
            "2021-22",
            "people",
        )
        for band, age in (("18 to 64", "18-64"), ("65 and over", "65+"))
        for setting, mid in (
            ("Nursing", "nursing"),
            ("Residential", "residential"),
            ("Community Direct Payment Only", "direct_payment_only"),
            ("Community Part Direct Payment", "part_direct_payment"),
            ("Total", "total"),
        )
    },
    **{
        sheet: {
            setting: (f"gce_long_term_{mid}", age, "2021-22", "GBP thousand")
            for setting, mid in (
                ("Nursing", "nursing"),
                ("Residential", "residential"),
                ("Community: Direct Payments", "direct_payments"),
                ("Community: Home Care", "home_care"),
                ("Total", "total"),
            )
        }
        for sheet, age in (("T43", "18-64"), ("T44", "65+"))
    },
}
ASCFR_RATE_MEASURES = {
    "fee_home_care_hour_external",
    "unit_cost_home_care_hour_own",
    "fee_residential_65_week_external",
    "unit_cost_residential_65_week_own",
    "fee_nursing_65_week_external",
    "unit_cost_residential_65_week_all",
}


def _clean_label(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return re.sub(r"\s+", " ", str(value)).strip()


def _header_paths(head: pd.DataFrame) -> list[str]:
    """Join multi-row header labels per column; a blank cell repeats the label on its left only
    while the labels above are the same (so a merged cell never spills into the next group)."""
    rows = head.to_numpy().tolist()
    filled: list[list[str]] = []
    for r, row in enumerate(rows):
        out = []
        for c, cell in enumerate(row):
            same_parent = c > 0 and all(filled[k][c] == filled[k][c - 1] for k in range(r))
            out.append(cell if cell or not same_parent else out[c - 1])
        filled.append(out)
    return [
        " | ".join(filled[r][c] for r in range(len(rows)) if filled[r][c])
        for c in range(len(rows[0]))
    ]


def ascfr_sheet_long(grid: pd.DataFrame, file: str, sheet: str) -> pd.DataFrame:
    """Turn one ASC-FR/SALT T-sheet cell grid into long rows (identifiers, header path, raw cell).

    The header block runs from the row starting ``Geography code`` to the England row; header labels
    are carried right over merged cells and joined with ``" | "``.
    """
    first = grid[0].map(_clean_label)
    start = first[first == "Geography code"].index
    if start.empty:
        where = f"{file} [{sheet}]"
        raise SchemaChangedError(where, ASCFR_ID_COLUMNS, [str(v) for v in first.head(12)])
    h0 = start[0]
    ids = [_clean_label(v) for v in grid.loc[h0, :4]]
    tidy.expect_columns(ids, ASCFR_ID_COLUMNS, f"{file} [{sheet}]")
    region = grid[3].map(_clean_label)
    data_start = region[(region.index > h0) & region.str.fullmatch(r"E9\d{7}")].index
    if data_start.empty:
        where = f"{file} [{sheet}]"
        raise SchemaChangedError(where, [f"England row ({ENGLAND})"], region.tolist()[:15])
    labels = _header_paths(grid.loc[h0 : data_start[0] - 1, 5:].map(_clean_label))
    body = grid.loc[data_start[0] :]
    code = body[0].map(_clean_label)
    keep = code.str.fullmatch(r"E\d{8}") | region[body.index].str.fullmatch(r"E9\d{7}|E12\d{6}")
    body = body[keep]
    long = body.loc[:, 5 : 5 + len(labels) - 1].copy()
    long.columns = labels
    long["geo"] = body[0].map(_clean_label)
    long["la_code"] = body[1].map(_clean_label)
    long["la_name"] = body[2].map(_clean_label)
    long["region_code"] = region[body.index]
    long["region_name"] = body[4].map(_clean_label)
    return long.melt(
        id_vars=["geo", "la_code", "la_name", "region_code", "region_name"],
        var_name="header",
        value_name="raw",
    )


def parse_ascfr_tables(grids: dict[str, pd.DataFrame], file: str) -> pd.DataFrame:
    """Select the fee-rate, spend and activity cells of the ASC-FR 2021-22 sheets into the tidy table.

    ``grids`` maps sheet name to its cell grid (``header=None``). A missing sheet or header path raises
    :class:`SchemaChangedError`. Unit costs of 0 (no such provision) become NaN with a flag.
    """
    tidy.expect_columns(grids, ASCFR_SELECTION, file)
    pieces = []
    for sheet, wanted in ASCFR_SELECTION.items():
        long = ascfr_sheet_long(grids[sheet], file, sheet)
        tidy.expect_columns(long["header"].unique(), wanted, f"{file} [{sheet}]")
        sel = long[long["header"].isin(wanted)].copy()
        spec = pd.DataFrame(
            wanted.values(), index=list(wanted), columns=["measure", "age_band", "period", "unit"]
        )
        sel = sel.join(spec, on="header")
        pieces.append(sel)
    out = pd.concat(pieces, ignore_index=True)
    values, flags = tidy.to_number(out["raw"].astype("string"), MARKERS)
    rate = out["measure"].isin(ASCFR_RATE_MEASURES)
    zero = rate & (values == 0)
    out["value"] = values.mask(zero)
    out["flag"] = flags.mask(zero, FLAG_ZERO_RATE)
    is_council = out["geo"].str.fullmatch(r"E\d{8}")
    codes, names, unresolved = resolve_councils(
        out["geo"].where(is_council, ""), out["la_name"].where(is_council, "")
    )
    _warn_unresolved(sorted(u for u in unresolved if u), file)
    out["level"] = np.where(
        is_council, "council", np.where(out["region_code"] == ENGLAND, "england", "region")
    )
    out["council_code"] = codes.where(is_council, out["region_code"])
    out["council_name"] = names.where(is_council, out["region_name"])
    out = out[out["council_code"].notna()]
    return tidy.make_tidy(out, source="ascfr_salt_2021_22")


def make_ascfr_2021_22() -> pd.DataFrame:
    """The ``ascfr_2021_22`` table."""
    path = fetch(ASCFR_2021_22_FILE)
    grids = excel.read_excel(path, sheet_name=list(ASCFR_SELECTION), header=None, dtype=object)
    return parse_ascfr_tables(grids, path.name)


# --------------------------------------------------------------------------- CQC care directory Feb 2021

CQC_NON_COUNCILS = {"Unspecified", "Flintshire"}


def parse_cqc_beds(beds: Path, nursing: Path, dom: Path) -> pd.DataFrame:
    """Parse the three CQC aggregate CSVs into tidy rows per council (period ``2021-02``).

    ``care_home_beds_without_nursing`` is mislabelled in the source: it counts beds in homes registered
    WITH nursing (see PROVENANCE), so it becomes ``care_home_beds_nursing``; beds in homes without
    nursing are derived as the difference. Non-council rows (Unspecified, Flintshire) are dropped.
    """
    specs = (
        (beds, "care_home_beds", "care_home_beds", "beds"),
        (nursing, "care_home_beds_without_nursing", "care_home_beds_nursing", "beds"),
        (dom, "num_domiciliary_services", "domiciliary_care_services", "locations"),
    )
    frames = []
    for path, column, measure, unit in specs:
        df = pd.read_csv(path, dtype="string", keep_default_na=False)
        tidy.expect_columns(df.columns, ["lad_name", column], path.name)
        vals, flags = tidy.to_number(df[column], MARKERS)
        frames.append(
            pd.DataFrame(
                {
                    "name": df["lad_name"].str.strip(),
                    "measure": measure,
                    "unit": unit,
                    "value": vals,
                    "flag": flags,
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out = out[~out["name"].isin(CQC_NON_COUNCILS)]
    wide = out.pivot_table(index="name", columns="measure", values="value", aggfunc="first")
    if {"care_home_beds", "care_home_beds_nursing"} <= set(wide.columns):
        derived = (wide["care_home_beds"] - wide["care_home_beds_nursing"]).dropna()
        out = pd.concat(
            [
                out,
                pd.DataFrame(
                    {
                        "name": derived.index,
                        "measure": "care_home_beds_without_nursing_derived",
                        "unit": "beds",
                        "value": derived.values,
                        "flag": "derived: all beds minus beds in homes registered with nursing",
                    }
                ),
            ],
            ignore_index=True,
        )
    codes, names, unresolved = resolve_councils(out["name"], out["name"])
    _warn_unresolved(sorted(unresolved), "CQC care directory aggregates")
    out["council_code"], out["council_name"] = codes, names
    out = out[out["council_code"].notna()]
    return tidy.make_tidy(out, source="cqc_care_directory_2021", period="2021-02", age_band="all")


def make_cqc_beds() -> pd.DataFrame:
    """The ``cqc_beds_2021`` table."""
    return parse_cqc_beds(*(fetch(CQC_FILES[k]) for k in ("beds", "nursing", "dom")))


# --------------------------------------------------------------------------- ASC-FR 2017-18 spend

SPEND_2017_18_COLUMNS = [
    "GEOGRAPHY_CODE",
    "DH_GEOGRAPHY_NAME",
    "CareType_Key",
    "AgeBand_Key",
    "SupportSetting_Key",
    "ITEMVALUE",
]


def parse_spend_2017_18(df: pd.DataFrame, file: str = "spend 2017-18") -> pd.DataFrame:
    """Sum the 2017-18 gross current expenditure rows (£) by council, care type/setting and age band.

    Measures: ``gce_<care type or support setting>`` (e.g. ``gce_long_term_residential``) in GBP;
    rows with missing ``ITEMVALUE`` (":" in the official file) count as missing, not zero.
    """
    tidy.expect_columns(df.columns, SPEND_2017_18_COLUMNS, file)
    d = df[SPEND_2017_18_COLUMNS].copy()
    setting = d["SupportSetting_Key"].astype("string").fillna("").str.strip()
    care = d["CareType_Key"].astype("string").fillna("").str.strip()
    label = (care + " " + setting).str.strip()
    d["measure"] = "gce_" + label.str.lower().str.replace(r"[^a-z0-9]+", "_", regex=True).str.strip(
        "_"
    )
    age = d["AgeBand_Key"].astype("string").fillna("").str.strip()
    d["age_band"] = age.map(
        {"18 to 64": "18-64", "65 and Over": "65+", "65 and over": "65+"}
    ).fillna("all")
    d["value"] = pd.to_numeric(d["ITEMVALUE"], errors="coerce")
    keys = ["GEOGRAPHY_CODE", "DH_GEOGRAPHY_NAME", "measure", "age_band"]
    g = d.groupby(keys, dropna=False)["value"]
    n_missing = d["value"].isna().groupby([d[k] for k in keys], dropna=False).sum()
    out = pd.DataFrame({"value": g.sum(min_count=1), "n_missing": n_missing}).reset_index()
    out["flag"] = np.where(
        out["value"].isna(),
        tidy.FLAG_NOT_AVAILABLE,
        np.where(out["n_missing"] > 0, "partial: some component rows not available", ""),
    )
    codes, names, unresolved = resolve_councils(out["GEOGRAPHY_CODE"], out["DH_GEOGRAPHY_NAME"])
    _warn_unresolved(sorted(unresolved), file)
    out["council_code"], out["council_name"] = codes, names
    out = out[out["council_code"].notna()]
    return tidy.make_tidy(out, source="ascfr_2017_18", period="2017-18", unit="GBP")


def make_spend_2017_18() -> pd.DataFrame:
    """The ``spend_2017_18`` table."""
    import rdata

    path = fetch(SPEND_2017_18_FILE)
    with warnings.catch_warnings():  # tibble classes fall back to data.frame, as wanted
        warnings.filterwarnings("ignore", message="Missing constructor", category=UserWarning)
        df = rdata.conversion.convert(rdata.parser.parse_file(path), default_encoding="utf8")
    return parse_spend_2017_18(pd.DataFrame(df), path.name)


TABLES: list[TableSpec] = [
    TableSpec(
        "unit_costs",
        (*PSS_UNIT_COST_FILES.values(), PSS_2014_15_FILE),
        make_unit_costs,
        description="PSS-EX1 council unit costs 2008-09..2014-15: home care £/hour, care homes 65+ £/week",
    ),
    TableSpec(
        "ascfr_2021_22",
        (ASCFR_2021_22_FILE,),
        make_ascfr_2021_22,
        description="ASC-FR 2021-22 tables: home care £/hour, care home £/week, spend, clients",
    ),
    TableSpec(
        "cqc_beds_2021",
        tuple(CQC_FILES.values()),
        make_cqc_beds,
        description="CQC care directory Feb 2021: care home beds, nursing beds, domiciliary services",
    ),
    TableSpec(
        "spend_2017_18",
        (SPEND_2017_18_FILE,),
        make_spend_2017_18,
        description="ASC-FR 2017-18 gross current expenditure by council x setting x age band",
    ),
]
