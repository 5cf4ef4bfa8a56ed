"""Delayed transfers of care (DToC): monthly delayed DAYS by council, and the mid-2014 ONS population.

Tables
------
``dtoc_monthly``
    NHS England / DH monthly "Total Delayed Days Local Authority" (LA Type B) workbooks, April 2011 to
    December 2019, sheets ``LA - by responsible org`` and ``LA - by reason``. Each value is the number
    of **delayed days** in the month: bed-days occupied by patients aged 18+ whose transfer of care was
    delayed, acute and non-acute, all NHS providers, attributed to the patient's council of residence.
    This is NOT the basis of ASCOF 2C up to 2014-15, which averaged a monthly *snapshot count of delayed
    patients* (the "Type A" files, not available here); days-based rates come out lower.
    Delayed days depend on month length: divide by days in month before comparing months.

    Measures (unit ``days``): ``dtoc_days_nhs``, ``dtoc_days_social_care``, ``dtoc_days_both``
    (delays attributable to the NHS, to social care, or jointly), ``dtoc_days_total`` and
    ``dtoc_days_reason_<X>`` for the official reason codes ``A`` (completion of assessment),
    ``B`` (public funding), ``C`` (further non-acute NHS care), ``Di`` (residential home),
    ``Dii`` (nursing home), ``E`` (care package in own home), ``F`` (community equipment and
    adaptations), ``G`` (patient or family choice), ``H`` (disputes), ``I`` (housing) and ``O``
    (other; collected from April 2017 only, so absent before). Rows exist only for reasons a month's
    workbook reports. ``period`` is ``YYYY-MM`` read from the workbook's own "Period:" cell.

    Codes: before July 2015 the workbooks carry only the DH/NHS council code (e.g. ``819`` Swindon,
    ``00KB`` Bedford); from July 2015 they also carry the ONS code. Rows are given ONS codes in this
    order: the ``ONS Geography`` column; the register's ``nhs_code`` among councils existing that month;
    the council name among councils existing that month (this resolves Bournemouth ``810``, Poole
    ``811``, Dorset County ``809`` and Buckinghamshire County ``612``, and the DH codes ``00EQ``,
    ``00EW``, ``00KB``, ``00KC`` that differ from the register's NHS Digital codes). The England row
    is ``E92000001`` (level ``england``; it includes patients resident outside England). The pseudo-areas
    "Resident in Scotland/Wales/outside GB" are dropped. Isles of Scilly is counted with Cornwall.
    ``-`` cells become NaN flagged ``not applicable``.

    January and February 2020 (no official workbook found) come from a third-party council x month
    aggregate of the NHS England provider extracts (JonnyP1990/dtoc; columns ``NHS_B``, ``SC_B``,
    ``Both_B``, ``dtoc_total``), flagged ``third-party aggregate (JonnyP1990/dtoc)``; it has no England
    row and no reasons, and a council with no delays that month has no row.

``population_2014``
    ONS mid-2014 population estimates (MYE2, persons), for councils with adult social services
    responsibilities (E06/E08/E09/E10) and England: age bands ``all``, ``18+`` (sum of single years
    18 to 90+) and ``65+``; unit ``people``; period ``2014``. Denominator for 18+ DToC rates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from asc_evidence import councils, tidy
from asc_evidence.build import TableSpec
from asc_evidence.common import ENGLAND
from asc_evidence.errors import SchemaChangedError
from asc_evidence.fetch import fetch, registry
from asc_evidence.sources import excel

SOURCE = "delayed_transfers"
TYPE_B_DIR = "delayed_transfers/la_type_b_days_2011_2019/"
JONNYP_KEY = "delayed_transfers/la_days_combined_2011_2020_jonnyp/dtoc_totals.csv"
POPULATION_KEY = "delayed_transfers/population_18plus_ons_mye2_mid2014/UK persons-Table 1.csv"

ORG_SHEET = "LA - by responsible org"
REASON_SHEET = "LA - by reason"
ORG_COLUMNS = {"NHS": "nhs", "Social Care": "social_care", "Both": "both", "Total": "total"}
REASONS = ("A", "B", "C", "Di", "Dii", "E", "F", "G", "H", "I")  # "O" (other) from April 2017
OPTIONAL_REASONS = ("O",)
FLAG_THIRD_PARTY = "third-party aggregate (JonnyP1990/dtoc)"
_REASON_RE = re.compile(r"^\s*(dii|di|[a-io])\)", re.IGNORECASE)
_CANONICAL_REASON = {r.lower(): r for r in (*REASONS, *OPTIONAL_REASONS)}


def type_b_keys() -> tuple[str, ...]:
    """Registry keys of the monthly LA Type B workbooks."""
    return tuple(sorted(k for k in registry() if k.startswith(TYPE_B_DIR) and k.endswith(".xls")))


# ----------------------------------------------------------------------------- sheet layout
def _cell_text(values: Iterable[object]) -> list[str]:
    return ["" if pd.isna(v) else str(v).strip() for v in values]


def _header_key(text: str) -> str:
    """Canonical header: reason letter (``Di``) for reason columns, ``Total`` for TOTAL, else as is."""
    m = _REASON_RE.match(text)
    if m:
        return _CANONICAL_REASON[m.group(1).lower()]
    return "Total" if text.upper() == "TOTAL" else text


def _text_grid(grid: pd.DataFrame | np.ndarray) -> np.ndarray:
    """The cells as stripped text (``str(cell).strip()``) in a 2-D object array; empty cells ``None``.

    Computed once per sheet (vectorised) and shared by the header, period and body steps.
    """
    values = grid.to_numpy(dtype=object) if isinstance(grid, pd.DataFrame) else grid
    if values.size == 0:
        return np.empty(values.shape, dtype=object)
    text = np.char.strip(values.astype(str)).astype(object)
    text[pd.isna(values)] = None
    return text


def find_header(
    grid: pd.DataFrame, expected: list[str], file: str, text: np.ndarray | None = None
) -> tuple[int, list[str]]:
    """Locate the header row (the first row holding ``Code`` and ``Name``) and check its columns.

    Returns ``(row position, canonical header keys)``. Raises :class:`SchemaChangedError` naming the
    file when no header row is found or an expected column is absent. ``text``: the grid's
    :func:`_text_grid`, when the caller has it already.
    """
    text = _text_grid(grid) if text is None else text
    rows = np.flatnonzero((text == "Code").any(axis=1) & (text == "Name").any(axis=1))
    if rows.size == 0:
        found = [c for c in _cell_text(grid.iloc[: min(20, len(grid))].to_numpy().ravel()) if c]
        raise SchemaChangedError(file, expected, found)
    pos = int(rows[0])
    header = [_header_key(c or "") for c in text[pos]]
    tidy.expect_columns([h for h in header if h], expected, file)
    return pos, header


def sheet_period(
    grid: pd.DataFrame, header_row: int, file: str, text: np.ndarray | None = None
) -> str:
    """``YYYY-MM`` from the cover block's ``Period:`` cell (e.g. ``April 2011`` -> ``2011-04``)."""
    cover = (_text_grid(grid) if text is None else text)[:header_row]
    for r, c in zip(*np.nonzero(cover == "Period:"), strict=True):
        rest = [v for v in cover[r, c + 1 :] if v]
        if rest:
            when = pd.to_datetime(rest[0], format="%B %Y", errors="coerce")
            if pd.notna(when):
                return f"{when.year:04d}-{when.month:02d}"
    raise SchemaChangedError(
        file, ["Period: <Month YYYY>"], _cell_text(grid.iloc[:header_row].to_numpy().ravel())
    )


def _first_columns(header: list[str], names: Iterable[str]) -> dict[str, int]:
    """Position of the FIRST column with each name (later blocks repeat names as people-per-day)."""
    return {n: header.index(n) for n in names if n in header}


def parse_sheet_grid(grid: pd.DataFrame, kind: str, file: str) -> pd.DataFrame:
    """Parse one sheet's raw cell grid (``header=None``) into a long frame.

    Parameters
    ----------
    grid
        The sheet as read with ``header=None`` (cover block, header row, England row, councils).
    kind
        ``"org"`` for ``LA - by responsible org`` or ``"reason"`` for ``LA - by reason``.
    file
        File name used in error messages.

    Returns
    -------
    DataFrame with columns ``period, raw_code, raw_ons, raw_name, measure, raw_value``: one row per
    area (rows with a name) and measure, measure by measure; ``raw_value`` is the cell as read.
    """
    if kind == "org":
        expected = ["Code", "Name", *ORG_COLUMNS]
        measures = {k: f"dtoc_days_{v}" for k, v in ORG_COLUMNS.items()}
    elif kind == "reason":
        expected = ["Code", "Name", *REASONS, "Total"]
        measures = {r: f"dtoc_days_reason_{r}" for r in (*REASONS, *OPTIONAL_REASONS)}
    else:
        msg = f"kind must be 'org' or 'reason', not {kind!r}"
        raise ValueError(msg)
    cells = grid.to_numpy(dtype=object)
    text = _text_grid(cells)
    pos, header = find_header(grid, expected, file, text)
    period = sheet_period(grid, pos, file, text)
    cols = _first_columns(header, ["Code", "Name", "ONS Geography", *measures])
    body = text[pos + 1 :]
    rows = pos + 1 + np.flatnonzero(body[:, cols["Name"]] != None)  # noqa: E711 (elementwise)
    rows = rows[text[rows, cols["Name"]] != ""]
    kept = [(label, m) for label, m in measures.items() if label in cols]
    n, k = len(rows), len(kept)

    def ids(col: str) -> pd.arrays.StringArray:
        cells = text[rows, cols[col]] if col in cols else np.full(n, None, dtype=object)
        if col == "Code":
            cells = np.array([c if c is None else re.sub(r"\.0$", "", c) for c in cells], object)
        return pd.array(np.tile(cells, k), dtype="string")

    values = cells[rows][:, [cols[label] for label, _ in kept]]
    return pd.DataFrame(
        {
            "period": pd.Series(period, index=range(n * k), dtype="str"),
            "raw_code": ids("Code"),
            "raw_ons": ids("ONS Geography"),
            "raw_name": ids("Name"),
            "measure": pd.array(np.repeat([m for _, m in kept], n), dtype="str"),
            "raw_value": pd.Series(values.ravel(order="F"), dtype=object),
        }
    )


def read_workbook(path: Path) -> pd.DataFrame:
    """Read one LA Type B workbook (both sheets, one open) into the long frame of :func:`parse_sheet_grid`.

    The responsible-org sheet gives NHS / Social Care / Both / Total; the reason sheet adds one
    measure per reason (its Total repeats the other sheet's and is checked, not kept).
    """
    sheets = excel.read_excel(path, sheet_name=[ORG_SHEET, REASON_SHEET], header=None)
    org = parse_sheet_grid(sheets[ORG_SHEET], "org", f"{path.name} [{ORG_SHEET}]")
    reason = parse_sheet_grid(sheets[REASON_SHEET], "reason", f"{path.name} [{REASON_SHEET}]")
    return pd.concat([org, reason], ignore_index=True)


# ----------------------------------------------------------------------------- council codes
def _valid_register(period: pd.Series) -> pd.DataFrame:
    """Register rows crossed with the distinct periods, kept where the council existed that month."""
    reg = councils.register()[["code", "name", "nhs_code", "valid_from", "valid_to"]]
    periods = pd.DataFrame({"period": period.drop_duplicates()})
    cross = periods.merge(reg, how="cross")
    start = cross["period"] + "-01"
    ok = ((cross["valid_from"] == "") | (cross["valid_from"] <= start)) & (
        (cross["valid_to"] == "") | (cross["valid_to"] >= start)
    )
    return cross[ok]


def _name_key(names: pd.Series) -> pd.Series:
    """Normalised council name with a trailing 'county' dropped ("Dorset County" ~ "Dorset")."""
    return names.map(councils.normalise).str.replace(r"county$", "", regex=True)


def assign_codes(long: pd.DataFrame) -> pd.DataFrame:
    """Add ``council_code``, ``level`` and drop pseudo-areas; raise if any area stays unresolved.

    Order: ONS column (when an E-code in the register), register NHS code valid that month, name
    among councils valid that month. England -> ``E92000001``.
    """
    name = long["raw_name"]
    keep = ~name.str.contains(r"^resident", case=False, regex=True) & ~long["raw_code"].isin(
        ["9900", "9901", "9902"]
    )
    long = long[keep].copy()
    areas = long[["period", "raw_code", "raw_ons", "raw_name"]].drop_duplicates()
    reg_codes = set(councils.register()["code"])
    areas["council_code"] = areas["raw_ons"].where(areas["raw_ons"].isin(reg_codes))
    areas.loc[areas["raw_name"].str.lower() == "england", "council_code"] = ENGLAND

    valid = _valid_register(areas["period"])
    by_nhs = valid[valid["nhs_code"] != ""][["period", "nhs_code", "code"]].rename(
        columns={"nhs_code": "raw_code", "code": "nhs_match"}
    )
    areas = areas.merge(
        by_nhs.drop_duplicates(["period", "raw_code"]), on=["period", "raw_code"], how="left"
    )
    areas["council_code"] = areas["council_code"].fillna(areas["nhs_match"])

    by_name = valid.assign(key=_name_key(valid["name"]))[["period", "key", "code"]].rename(
        columns={"code": "name_match"}
    )
    areas["key"] = _name_key(areas["raw_name"])
    areas = areas.merge(
        by_name.drop_duplicates(["period", "key"]), on=["period", "key"], how="left"
    )
    areas["council_code"] = areas["council_code"].fillna(areas["name_match"])

    missing = areas[areas["council_code"].isna()]
    if not missing.empty:
        sample = (
            missing[["period", "raw_code", "raw_name"]]
            .drop_duplicates(["raw_code", "raw_name"])
            .head(10)
        )
        msg = f"Delayed-transfer areas not matched to a council (add them to councils.csv):\n{sample.to_string(index=False)}"
        raise ValueError(msg)
    out = long.merge(
        areas[["period", "raw_code", "raw_ons", "raw_name", "council_code"]],
        on=["period", "raw_code", "raw_ons", "raw_name"],
        how="left",
    )
    return out


def nhs_code_report(long: pd.DataFrame) -> pd.DataFrame:
    """DH/NHS code -> ONS code pairs found in the workbooks whose NHS code the register lacks or differs.

    For the lead to complete ``councils.csv``; needs the output of :func:`assign_codes`.
    """
    reg = councils.register().set_index("code")["nhs_code"]
    pairs = long[["raw_code", "council_code", "raw_name"]].drop_duplicates(
        ["raw_code", "council_code"]
    )
    pairs = pairs[pairs["council_code"] != ENGLAND]
    return (
        pairs[pairs["council_code"].map(reg) != pairs["raw_code"]]
        .sort_values("council_code")
        .reset_index(drop=True)
    )


# ----------------------------------------------------------------------------- tables
def _to_tidy(long: pd.DataFrame) -> pd.DataFrame:
    values, flags = tidy.to_number(long["raw_value"], {"-": tidy.FLAG_NOT_APPLICABLE})
    names = councils.register().set_index("code")["name"]
    out = pd.DataFrame(
        {
            "council_code": long["council_code"],
            "council_name": long["council_code"].map(names).fillna("England"),
            "level": np.where(long["council_code"] == ENGLAND, "england", "council"),
            "period": long["period"],
            "measure": long["measure"],
            "value": values,
            "unit": "days",
            "flag": flags,
        }
    )
    return tidy.make_tidy(out, source=SOURCE)


def parse_type_b(paths: Iterable[Path]) -> pd.DataFrame:
    """Tidy delayed days from the official LA Type B workbooks (see module docstring)."""
    long = pd.concat([read_workbook(p) for p in paths], ignore_index=True)
    return _to_tidy(assign_codes(long))


def parse_jonnyp(path: Path, periods: Iterable[str] = ("2020-01", "2020-02")) -> pd.DataFrame:
    """Delayed days by responsible organisation from JonnyP1990/dtoc ``dtoc_totals.csv``, for ``periods``.

    ``NHS_B``/``SC_B``/``Both_B``/``dtoc_total`` -> ``dtoc_days_nhs``/``_social_care``/``_both``/``_total``,
    flagged as a third-party aggregate.
    """
    raw = pd.read_csv(path, dtype=str)
    cols = {
        "NHS_B": "dtoc_days_nhs",
        "SC_B": "dtoc_days_social_care",
        "Both_B": "dtoc_days_both",
        "dtoc_total": "dtoc_days_total",
    }
    tidy.expect_columns(raw.columns, ["Y/M", "areaCode", "areaName", *cols], path.name)
    when = pd.to_datetime(raw["Y/M"].str.title(), format="%Y_%B", errors="coerce")
    if when.isna().any():
        bad = sorted(set(raw.loc[when.isna(), "Y/M"]))[:5]
        msg = f"{path.name}: unreadable months {bad}"
        raise ValueError(msg)
    raw["period"] = when.dt.strftime("%Y-%m")
    raw = raw[raw["period"].isin(list(periods))]
    long = raw.melt(
        id_vars=["period", "areaCode"],
        value_vars=list(cols),
        var_name="col",
        value_name="raw_value",
    )
    unknown = set(long["areaCode"]) - set(councils.register()["code"])
    if unknown:
        msg = f"{path.name}: council codes not in the register: {sorted(unknown)}"
        raise ValueError(msg)
    long = long.assign(measure=long["col"].map(cols), council_code=long["areaCode"])
    out = _to_tidy(long)
    out["flag"] = out["flag"].where(out["flag"] != "", FLAG_THIRD_PARTY).astype("string")
    return out


def make_dtoc_monthly() -> pd.DataFrame:
    """Build ``dtoc_monthly`` from the mirror/cache (105 official workbooks + Jan-Feb 2020)."""
    official = parse_type_b([fetch(k) for k in type_b_keys()])
    extra = parse_jonnyp(fetch(JONNYP_KEY))
    extra = extra[~extra["period"].isin(set(official["period"].unique()))]
    return pd.concat([official, extra], ignore_index=True)


def parse_population_2014(path: Path) -> pd.DataFrame:
    """Tidy ONS mid-2014 persons (MYE2 ``UK persons`` sheet exported as CSV): all, 18+ and 65+.

    The header row (``CODE, NAME, ALL AGES, 0 ... 90``) is found by content below the title rows;
    numbers are quoted text with thousands separators. Keeps E06/E08/E09/E10 councils and England.
    """
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    ages = [str(a) for a in range(91)]
    expected = ["CODE", "NAME", "ALL AGES", *ages]
    hits = [
        i for i, line in enumerate(lines[:50]) if line.split(",", 1)[0].strip().strip('"') == "CODE"
    ]
    if not hits:
        raise SchemaChangedError(path.name, expected, lines[:5])
    body = pd.read_csv(
        path, skiprows=hits[0], dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )
    body.columns = [str(c).strip() for c in body.columns]
    tidy.expect_columns(body.columns, expected, path.name)
    body["CODE"] = body["CODE"].str.strip()
    body = body[body["CODE"].str.match(r"^E(06|08|09|10)\d{6}$") | (body["CODE"] == ENGLAND)]
    body = body.drop_duplicates("CODE")
    nums = {c: tidy.to_number(body[c], {})[0] for c in ["ALL AGES", *ages]}
    bands = {
        "all": nums["ALL AGES"],
        "18+": sum(nums[a] for a in ages[18:]),
        "65+": sum(nums[a] for a in ages[65:]),
    }
    names = councils.register().set_index("code")["name"]
    pieces = [
        pd.DataFrame({"council_code": body["CODE"], "age_band": band, "value": vals})
        for band, vals in bands.items()
    ]
    out = pd.concat(pieces, ignore_index=True)
    file_names = dict(zip(body["CODE"], body["NAME"].str.strip(), strict=True))
    out["council_name"] = out["council_code"].map(names).fillna(out["council_code"].map(file_names))
    out.loc[out["council_code"] == ENGLAND, "council_name"] = "England"
    out["level"] = np.where(out["council_code"] == ENGLAND, "england", "council")
    return tidy.make_tidy(
        out, source="ons_mye_2014", period="2014", measure="population", unit="people"
    )


def make_population_2014() -> pd.DataFrame:
    """Build ``population_2014`` from the mirror/cache."""
    return parse_population_2014(fetch(POPULATION_KEY))


TABLES: list[TableSpec] = [
    TableSpec(
        name="dtoc_monthly",
        inputs=(*type_b_keys(), JONNYP_KEY),
        make=make_dtoc_monthly,
        description="Delayed DAYS by council and month (responsible org, reason), Apr 2011 - Feb 2020",
    ),
    TableSpec(
        name="population_2014",
        inputs=(POPULATION_KEY,),
        make=make_population_2014,
        description="ONS mid-2014 population (all, 18+, 65+) by council and England",
    ),
]
