"""Adult Social Care Activity and Finance Report (ASC-FR and SALT): the 2021-22 data tables
and 2017-18 spend (tables ascfr_2021_22, spend_2017_18).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from asc_evidence import tidy
from asc_evidence.common import ENGLAND
from asc_evidence.errors import SchemaChangedError
from asc_evidence.fetch import fetch
from asc_evidence.sources import excel
from asc_evidence.sources.finance_activity.shared import (
    ASCFR_2021_22_FILE,
    FLAG_ZERO_RATE,
    MARKERS,
    SPEND_2017_18_FILE,
    UNIT_HOUR_OWN,
    UNIT_WEEK,
    _warn_unresolved,
    resolve_councils,
)

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
