"""Adult Social Care Outcomes Framework (ASCOF) measures, and Oflog's nearest-neighbour lists.

Tables
------
``ascof``
    * 2020-21: NHS Digital's official open-data file (sheet ``in``). The Numerator, Denominator and
      Outcome rows of each area x measure x disaggregation become one row (``numerator``,
      ``denominator``, ``value``). ``[x]`` -> NaN flagged ``not available`` (e.g. every Adult Social
      Care Survey measure for councils in 2020-21); ``[c]`` -> NaN flagged ``suppressed``. When the
      outcome is published but its numerator or denominator is not, the flag says so
      (``numerator suppressed``...). Base and Margin Of Error rows of survey measures are not kept.
      Disaggregations: ``Total`` -> age_band ``all``; ``18-64``; ``65 and over`` -> ``65+``;
      ``65-74``; ``75-84``; ``65-84``; ``85 and over`` -> ``85+``; ``64 and under`` -> ``under 65``
      (carers); ``Male``/``Female`` -> sex. ``all`` means "the measure's own population"
      (e.g. adults 65+ for 2A2).
    * 2017-18 to 2023-24 (outcome values only, Total only): a stacked extract of the official yearly
      open-data CSVs (acbockmuehl/ascof-repos ``trend_data.csv``). Numerators and denominators are
      not published there: they are NaN and the row is flagged ``numerator not published``. A 2020-21
      trend row is kept only where the official file lacks that key.

    Measure ids are ``ascof_<code>`` with the OLD (to 2022-23) framework codes, e.g. ``ascof_2A1``
    (permanent admissions to care homes, 18-64, per 100,000), ``ascof_2A2`` (same, 65+),
    ``ascof_2C1`` / ``ascof_2C2`` / ``ascof_2C3`` (delayed transfers of care from hospital per 100,000
    adults 18+: all / attributable to social care / jointly to NHS and social care; 2017-18 to
    2019-20, a daily average of delayed DAYS, not the pre-2015 snapshot basis), ``ascof_1C1A``
    (% users receiving self-directed support), ``ascof_1C2A`` (% users receiving direct payments).
    The 2023-24 edition uses the NEW framework codes; they are mapped back to the old ones as
    read from the measure descriptions (:data:`NEW_TO_OLD`): 1B->1J, 1C->1D, 1D->3A, 1E->3B, 2A->2D,
    2B->2A1, 2C->2A2, 2D1->2B1, 2D2->2B2, 2E->1G, 3A->1B, 3B->3C, 3C1->3D1, 3C2->3D2,
    3D1A->1C1A, 3D1B->1C1B, 3D2A->1C2A, 3D2B->1C2B, 5A1->1I1, 5A2->1I2 (1A and 4A unchanged).
    Levels ``council`` / ``region`` / ``england`` (council-type aggregates are dropped);
    ``council_code`` is the ONS code. Units: ``per 100,000`` (2A*, 2C*), ``score`` (1A, 1D, 1J),
    ``%`` otherwise.

``ascof_timeseries`` (tidy, plus columns ``moe`` and ``respondents``)
    The official ASCOF time series 2015-16 to 2024-25 (ODS, DHSC/NHS England; one sheet per measure,
    read by :func:`parse_timeseries`). Two layouts, checked column by column (a changed layout raises
    :class:`~asc_evidence.errors.SchemaChangedError` naming the expected and found columns):

    * **survey** sheets (Adult Social Care Survey: 1A, 1B, 1D, 3A, 3C(1), 4A, 5A(1); carers' survey:
      1C, 1E, 3B, 3C(2), 5A(2)), every year: ``<year> - margin of error``, ``- number of
      respondents``, ``- outcome``. Outcomes are weighted survey estimates with no counts, so
      ``numerator`` and ``denominator`` are NaN; ``moe`` is the published margin of error (in the
      value's units; the 95% level: see :data:`MOE_CONFIDENCE`) and ``respondents`` the published
      number of respondents (rounded by the publisher). 2020-21: the survey was voluntary (COVID-19),
      18 councils took part, no England or regional figure; those rows say so in ``flag``. The
      carers' survey is biennial (other years ``[z]``, flagged ``not applicable``); its 2016-17
      cells hold the official score with, in brackets, the score on the earlier eligible population:
      the official figure is kept and the row flagged.
    * **counts** sheets (client-level data: 2A, 2B, 2C, 2D(1), 2D(2), 2E(1), 3D(1a), 3D(2a)),
      2024-25 only: ``- numerator``, ``- denominator``, ``- outcome``. Every row is flagged
      :data:`FLAG_NEW_DEFINITION` (client-level data replaced SALT: not comparable with 2023-24 and
      earlier, as the workbook's comparability log says); ``[c]`` rows (fewer than 5, or the council's
      data missing: the workbook's notes 10, 13, 14) are NaN flagged ``suppressed``; 3D(1a) rows also
      carry the publisher's data-quality warning (note 15).

    Measure ids are ``ascof_<old code>`` as in ``ascof`` (the workbook's 2024-25 codes mapped by
    :data:`NEW_TO_OLD`: e.g. sheet 1d, overall satisfaction, is ``ascof_3A``; sheet 2b is
    ``ascof_2A1``), so one measure id means one measure in both tables. Not read: 2e(2a), 2e(2b),
    4b and 6a/6b (new measures without an old code; 6b has another layout). Rows: England, regions
    and councils (ONS code); council-type aggregates are dropped. ``age_band`` ``all`` (the
    measure's own population), ``sex`` ``persons``.

``oflog_neighbours`` (not tidy)
    Oflog's nearest-neighbour comparator lists (``NN.json``): ``council_code``, ``neighbour_code``,
    ``rank`` for councils with adult social services responsibilities (codes in the register), the
    council itself and repeated codes removed. Oflog's lists are stored in code order, so ``rank`` is
    the position in the list, NOT a similarity order. Meant as a user-supplied neighbour set.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from asc_evidence import councils, tidy
from asc_evidence.build import TableSpec
from asc_evidence.common import ENGLAND, add_flag
from asc_evidence.errors import SchemaChangedError
from asc_evidence.fetch import fetch
from asc_evidence.sources import excel

SOURCE = "ascof"
OFFICIAL_KEY = "ascof/nhsd_ascof_2020_21/meas-from-asc-of-eng-2021-open-data-csv_v2.xlsx"
OFFICIAL_PERIOD = "2020-21"
TREND_KEY = "ascof/ascof_repos_trend_2017_2024/trend_data.csv"
NEIGHBOURS_KEY = "ascof/oflog_extract/NN.json"
TIMESERIES_KEY = "ascof/ascof_timeseries_2015_2025/ascof_timeseries_2015-16_to_2024-25.ods"

FLAG_NUMERATOR_NOT_PUBLISHED = "numerator not published"
MARKERS = {"[x]": tidy.FLAG_NOT_AVAILABLE, "[c]": tidy.FLAG_SUPPRESSED}
LEVELS = {"council": "council", "region": "region", "england": "england"}

#: 2023-24 (new framework) code -> old framework code, from the measure descriptions.
NEW_TO_OLD: dict[str, str] = {
    "1A": "1A", "1B": "1J", "1C": "1D", "1D": "3A", "1E": "3B",
    "2A": "2D", "2B": "2A1", "2C": "2A2", "2D1": "2B1", "2D2": "2B2", "2E": "1G",
    "3A": "1B", "3B": "3C", "3C1": "3D1", "3C2": "3D2",
    "3D1A": "1C1A", "3D1B": "1C1B", "3D2A": "1C2A", "3D2B": "1C2B",
    "4A": "4A", "5A1": "1I1", "5A2": "1I2",
}  # fmt: skip
NEW_FRAMEWORK_FROM = "2023-24"

#: disaggregation label -> (age_band, sex)
DISAGGREGATIONS: dict[str, tuple[str, str]] = {
    "Total": ("all", "persons"),
    "18-64": ("18-64", "persons"),
    "64 and under": ("under 65", "persons"),
    "65 and over": ("65+", "persons"),
    "65-74": ("65-74", "persons"),
    "75-84": ("75-84", "persons"),
    "65-84": ("65-84", "persons"),
    "85 and over": ("85+", "persons"),
    "Male": ("all", "male"),
    "Female": ("all", "female"),
}
OFFICIAL_COLUMNS = [
    "Geographical Description", "Geographical Level", "ONS Code", "Disaggregation Level",
    "Measure Type", "Measure Value", "Measure Group",
]  # fmt: skip
TREND_COLUMNS = [
    "Year", "Geographical Description", "ONS Code", "Measure Group", "Measure_Value",
    "Geographical Level", "Disaggregation Level", "Measure Type",
]  # fmt: skip
KEY = ["council_code", "period", "measure", "age_band", "sex"]


def unit_for(codes: pd.Series) -> pd.Series:
    """Unit of each old-framework code: ``per 100,000`` for 2A*/2C*, ``score`` for 1A/1D/1J, else ``%``."""
    unit = pd.Series("%", index=codes.index, dtype="string")
    unit = unit.mask(codes.str.match(r"^2[AC]"), "per 100,000")
    return unit.mask(codes.isin(["1A", "1D", "1J"]), "score")


def _areas(df: pd.DataFrame) -> pd.DataFrame:
    """Keep council/region/England rows; add ``level``, ``council_code`` and ``council_name``."""
    level = df["Geographical Level"].str.strip().str.lower()
    df = df[level.isin(LEVELS)].copy()
    df["level"] = level[level.isin(LEVELS)]
    df["council_code"] = df["ONS Code"].str.strip()
    if df["council_code"].isna().any() or (df["council_code"] == "").any():
        bad = sorted(set(df.loc[df["council_code"].fillna("") == "", "Geographical Description"]))[
            :5
        ]
        msg = f"ASCOF rows without an ONS code: {bad}"
        raise ValueError(msg)
    names = councils.register().set_index("code")["name"]
    file_name = df["Geographical Description"].str.strip()
    df["council_name"] = (
        df["council_code"].map(names).where(df["level"] == "council").fillna(file_name)
    )
    return df


def parse_official(path: Path, period: str = OFFICIAL_PERIOD) -> pd.DataFrame:
    """Tidy the official ASCOF open-data file (xlsx, sheet ``in``) of one year.

    Parameters
    ----------
    path
        The workbook (official open-data CSV layout saved as xlsx).
    period
        Financial year of the file, e.g. ``2020-21``.
    """
    raw = excel.read_excel(path, sheet_name="in", dtype=str)
    tidy.expect_columns(raw.columns, OFFICIAL_COLUMNS, path.name)
    df = _areas(raw)
    df = df[df["Measure Type"].isin(["Numerator", "Denominator", "Outcome"])]
    unknown = set(df["Disaggregation Level"].unique()) - set(DISAGGREGATIONS)
    if unknown:
        msg = f"{path.name}: unknown disaggregation levels {sorted(unknown)}; add them to DISAGGREGATIONS."
        raise ValueError(msg)
    values, flags = tidy.to_number(df["Measure Value"], MARKERS)
    df = df.assign(num=values, why=flags)
    idx = ["council_code", "council_name", "level", "Measure Group", "Disaggregation Level"]
    dup = df.duplicated([*idx, "Measure Type"])
    if dup.any():
        msg = f"{path.name}: {int(dup.sum())} repeated area x measure x disaggregation x type rows"
        raise ValueError(msg)
    wide = df.set_index([*idx, "Measure Type"])[["num", "why"]].unstack("Measure Type")
    wide.columns = [f"{a}_{b}" for a, b in wide.columns]
    wide = wide.reset_index()
    for t in ("Numerator", "Denominator", "Outcome"):
        wide[f"num_{t}"] = wide.get(f"num_{t}", np.nan)
        wide[f"why_{t}"] = wide.get(f"why_{t}", pd.Series("", index=wide.index)).fillna("")
    wide = wide[
        wide["why_Outcome"].ne("") | wide["num_Outcome"].notna()
    ]  # keep only keys with an Outcome row
    flag = wide["why_Outcome"].astype("string")
    for part in ("Numerator", "Denominator"):
        extra = wide[f"why_{part}"].astype("string")
        note = part.lower() + " " + extra
        flag = flag.mask((flag == "") & (extra != ""), note)
    age_sex = wide["Disaggregation Level"].map(DISAGGREGATIONS)
    out = pd.DataFrame(
        {
            "council_code": wide["council_code"],
            "council_name": wide["council_name"],
            "level": wide["level"],
            "period": period,
            "measure": "ascof_" + wide["Measure Group"],
            "age_band": age_sex.str[0],
            "sex": age_sex.str[1],
            "numerator": wide["num_Numerator"],
            "denominator": wide["num_Denominator"],
            "value": wide["num_Outcome"],
            "unit": unit_for(wide["Measure Group"].astype("string")),
            "flag": flag,
        }
    )
    return tidy.make_tidy(out, source=SOURCE)


def parse_trend(path: Path) -> pd.DataFrame:
    """Tidy the stacked yearly ASCOF outcomes (``trend_data.csv``): values only, Total only.

    2023-24 new-framework codes are mapped back to old codes with :data:`NEW_TO_OLD`; an unknown
    2023-24 code raises ``ValueError`` rather than being silently mislabelled.
    """
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    tidy.expect_columns(raw.columns, TREND_COLUMNS, path.name)
    df = _areas(raw)
    df = df[
        df["Measure Type"].isin(["Outcome", ""]) & df["Disaggregation Level"].isin(["Total", ""])
    ]
    code = df["Measure Group"].str.strip()
    new = df["Year"] >= NEW_FRAMEWORK_FROM
    unknown = set(code[new]) - set(NEW_TO_OLD)
    if unknown:
        msg = f"{path.name}: new-framework ASCOF codes without an old equivalent: {sorted(unknown)}"
        raise ValueError(msg)
    code = code.where(~new, code.map(NEW_TO_OLD))
    values, flags = tidy.to_number(df["Measure_Value"], MARKERS)
    flags = flags.mask(flags == "", FLAG_NUMERATOR_NOT_PUBLISHED)
    out = pd.DataFrame(
        {
            "council_code": df["council_code"],
            "council_name": df["council_name"],
            "level": df["level"],
            "period": df["Year"].str.strip(),
            "measure": "ascof_" + code,
            "value": values,
            "unit": unit_for(code.astype("string")),
            "flag": flags,
        }
    )
    return tidy.make_tidy(out, source=SOURCE)


def combine(official: pd.DataFrame, trend: pd.DataFrame) -> pd.DataFrame:
    """Official rows plus trend rows whose key the official file lacks."""
    have = pd.MultiIndex.from_frame(official[KEY])
    extra = trend[~pd.MultiIndex.from_frame(trend[KEY]).isin(have)]
    out = pd.concat([official, extra], ignore_index=True)
    return out.sort_values(KEY).reset_index(drop=True)


def make_ascof() -> pd.DataFrame:
    """Build ``ascof`` from the mirror/cache."""
    return combine(parse_official(fetch(OFFICIAL_KEY)), parse_trend(fetch(TREND_KEY)))


# ---------------------------------------------------------------------------------------------
# the official time series 2015-16 .. 2024-25 (ODS): table ``ascof_timeseries``

SURVEY = "survey"
COUNTS = "counts"
#: The three columns of each year, per layout, in the workbook's order.
LAYOUT_PARTS: dict[str, tuple[str, str, str]] = {
    SURVEY: ("margin of error", "number of respondents", "outcome"),
    COUNTS: ("numerator", "denominator", "outcome"),
}
ID_COLUMNS = ["Local authority code", "Local authority", "ONS area code"]
#: Sheet -> (2024-25 framework code, a key of :data:`NEW_TO_OLD`; layout). Sheets not listed are
#: not read (see the module docstring).
TIMESERIES_SHEETS: dict[str, tuple[str, str]] = {
    "Table_1a": ("1A", SURVEY),
    "Table_1b": ("1B", SURVEY),
    "Table_1c": ("1C", SURVEY),
    "Table_1d": ("1D", SURVEY),
    "Table_1e": ("1E", SURVEY),
    "Table_2a": ("2A", COUNTS),
    "Table_2b": ("2B", COUNTS),
    "Table_2c": ("2C", COUNTS),
    "Table_2d(1)": ("2D1", COUNTS),
    "Table_2d(2)": ("2D2", COUNTS),
    "Table_2e(1)": ("2E", COUNTS),
    "Table_3a": ("3A", SURVEY),
    "Table_3b": ("3B", SURVEY),
    "Table_3c(1)": ("3C1", SURVEY),
    "Table_3c(2)": ("3C2", SURVEY),
    "Table_3d(1a)": ("3D1A", COUNTS),
    "Table_3d(2a)": ("3D2A", COUNTS),
    "Table_4a": ("4A", SURVEY),
    "Table_5a(1)": ("5A1", SURVEY),
    "Table_5a(2)": ("5A2", SURVEY),
}
TIMESERIES_MARKERS = {**MARKERS, "[z]": tidy.FLAG_NOT_APPLICABLE}
#: Confidence level of the published survey margins of error. The workbook's Notes do not state
#: it; the survey guidance sizes samples for a +/-5% margin at 95% (its example, 278 returns from
#: 1,000 eligible, is z = 1.96 with the finite-population correction), and the published margins
#: agree: for 1D in 2024-25 the median over councils of moe / (100 sqrt(p (1 - p) / n)) is 1.90
#: (1.96 less the finite-population correction), not 2.58 (99%).
MOE_CONFIDENCE = 0.95
FLAG_NEW_DEFINITION = (
    "new definition: not comparable with 2023-24 and earlier (client-level data replaced SALT)"
)
FLAG_SURVEY_2020_21 = (
    "2020-21 survey voluntary (COVID-19; 18 councils took part), no England or regional figure"
)
#: Measures from the biennial Survey of Adult Carers in England (2024-25 codes); the others of
#: the survey layout come from the annual Adult Social Care Survey.
CARERS_SURVEY = frozenset({"1C", "1E", "3B", "3C2", "5A2"})
FLAG_CARERS_NOT_RUN = "carers' survey not run this year (biennial; 2020-21 postponed to 2021-22)"
FLAG_BRACKETED = (
    "official score kept; the score on the earlier eligible population (in brackets) not kept"
)
FLAG_CLD_SUPPRESSED = "suppressed (fewer than 5, or the council's client-level data missing)"
FLAG_3D1A_QUALITY = (
    "publisher's warning: below 100% likely from client-level data quality, not practice"
)
TIMESERIES_EXTRA = {"moe": "float64", "respondents": "float64"}
_BRACKETED = re.compile(r"^\s*(-?[0-9][0-9,.]*)\s*\(\s*(?:-?[0-9][0-9,.]*|:)\s*\)\s*$")
_YEAR_COLUMN = re.compile(r"^(\d{4}) to (\d{4}) - (.+)$")


def _header_row(raw: pd.DataFrame, where: str) -> int:
    """Index of the row whose first cell is ``Local authority code`` (within the first 15)."""
    first = raw.iloc[:15, 0].astype("string").str.strip()
    hits = first.index[(first == ID_COLUMNS[0]).fillna(False)]
    if not len(hits):
        found = [str(c) for c in raw.iloc[min(6, len(raw) - 1)]] if len(raw) else []
        raise SchemaChangedError(where, ID_COLUMNS, found)
    return int(hits[0])


def _sheet_columns(raw: pd.DataFrame, h: int, layout: str, where: str) -> list[str]:
    """The header of a sheet, checked against the layout: the three id columns, then each year's
    three columns in :data:`LAYOUT_PARTS` order (SchemaChangedError otherwise)."""
    cols = [str(c).strip() for c in raw.iloc[h]]
    while cols and cols[-1] in ("nan", "<NA>", "") and raw.iloc[h:, len(cols) - 1].isna().all():
        cols.pop()  # an empty trailing column
    years = list(dict.fromkeys(m.group(1) for c in cols if (m := _YEAR_COLUMN.match(c))))
    expected = ID_COLUMNS + [
        f"{y} to {int(y) + 1} - {part}" for y in years for part in LAYOUT_PARTS[layout]
    ]
    if not years or cols != expected:
        raise SchemaChangedError(where, expected, cols)
    return cols


def _official_part(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The figure outside brackets of cells like ``0.2 (5.3)``, and where brackets were dropped."""
    text = text.astype("string")
    m = text.str.extract(_BRACKETED, expand=False)
    bracketed = m.notna()
    return text.where(~bracketed, m), bracketed.fillna(False).astype(bool)


def _timeseries_cells(
    book: pd.ExcelFile, sheet: str, code: str, layout: str, file: str
) -> pd.DataFrame:
    """One sheet's cells, long: area (``council_code, council_name, level``), ``period``,
    ``part`` (a :data:`LAYOUT_PARTS` name) and the cell ``text``, after checking the layout."""
    where = f"{file}, sheet {sheet}"
    raw = excel.read_excel(book, sheet_name=sheet, header=None, dtype=str)
    h = _header_row(raw, where)
    cols = _sheet_columns(raw, h, layout, where)
    body = raw.iloc[h + 1 :, : len(cols)].set_axis(cols, axis=1)
    body = body[body["ONS area code"].notna()]
    ons = body["ONS area code"].str.strip()
    keep = ons != "[z]"  # council-type aggregates (shire counties, London...) have no code
    body, ons = body[keep], ons[keep]
    level = pd.Series("council", index=body.index, dtype="string")
    level = level.mask(ons == ENGLAND, "england").mask(ons.str.match(r"^E12\d{6}$"), "region")
    bad = ons[(level == "council") & ~ons.str.match(r"^E(06|08|09|10)\d{6}$")]
    if len(bad):
        msg = f"{where}: rows with an unexpected ONS area code {sorted(set(bad))[:5]}"
        raise ValueError(msg)
    names = councils.register().set_index("code")["name"]
    name = ons.map(names).where(level == "council").fillna(body["Local authority"].str.strip())
    wide = pd.DataFrame({"council_code": ons, "council_name": name, "level": level})
    wide = pd.concat([wide, body[cols[3:]]], axis=1)
    long = wide.melt(id_vars=["council_code", "council_name", "level"], var_name="column",
                     value_name="text")  # fmt: skip
    year_part = long["column"].str.extract(_YEAR_COLUMN)
    long["period"] = year_part[0] + "-" + year_part[1].str[2:]
    long["part"] = year_part[2]
    long["code"] = code
    long["layout"] = layout
    long["derby_note"] = "[note 5]" in str(raw.iloc[0, 0])  # Derby's 2024-25 survey missing
    return long.drop(columns="column")


def _with_reason(flag: pd.Series, why: str, where: pd.Series) -> pd.Series:
    """Where ``where``: a bare marker flag (``not available``...) becomes ``marker: why`` (the
    reason first, as verdicts quote a flag's first part); other flags get ``why`` appended."""
    bare = flag.isin(list(TIMESERIES_MARKERS.values()))
    flag = flag.mask(where & bare, flag + ": " + why)
    return add_flag(flag, why, where & ~bare)


def _timeseries_rows(cells: pd.DataFrame) -> pd.DataFrame:
    """Long cells of every sheet -> one tidy row per area x period x measure, with flags."""
    text, bracketed = _official_part(cells["text"])
    num, why = tidy.to_number(text, TIMESERIES_MARKERS)
    idx = ["code", "layout", "derby_note", "council_code", "council_name", "level", "period"]
    cells = cells[idx + ["part"]].assign(num=num, why=why, bracketed=bracketed)
    dup = cells.duplicated([*idx, "part"])
    if dup.any():
        msg = (
            f"repeated area x year x column cells: {cells.loc[dup, idx].head(3).to_dict('records')}"
        )
        raise ValueError(msg)
    wide = cells.set_index([*idx, "part"]).unstack("part")
    out = wide.index.to_frame(index=False)

    def get(what: str, part: str) -> pd.Series:
        if (what, part) in wide.columns:
            return wide[(what, part)].reset_index(drop=True)
        return pd.Series(np.nan, index=out.index)

    survey = out["layout"] == SURVEY
    value = get("num", "outcome").astype(float)
    flag = get("why", "outcome").fillna("").astype("string")
    flag = flag.mask(~survey & (flag == tidy.FLAG_SUPPRESSED), FLAG_CLD_SUPPRESSED)
    for part, label in (
        ("margin of error", "margin of error"), ("number of respondents", "respondents"),
        ("numerator", "numerator"), ("denominator", "denominator"),
    ):  # fmt: skip
        why = get("why", part).fillna("").astype("string")
        flag = add_flag(flag, label + " " + why, value.notna() & (why != ""))
    bracketed = pd.concat(
        [get("bracketed", p).fillna(False).astype(bool) for p in LAYOUT_PARTS[SURVEY]], axis=1
    ).any(axis=1)
    flag = add_flag(flag, FLAG_BRACKETED, bracketed & value.notna())
    carers = out["code"].isin(CARERS_SURVEY)
    voluntary = survey & ~carers & (out["period"] == "2020-21")
    voluntary &= flag != tidy.FLAG_NOT_APPLICABLE  # [z]: the council did not exist yet
    flag = _with_reason(flag, FLAG_SURVEY_2020_21, voluntary)
    england_na = (out["level"] == "england") & (get("why", "outcome") == tidy.FLAG_NOT_APPLICABLE)
    not_run = england_na.groupby([out["code"], out["period"]]).transform("any")
    flag = _with_reason(flag, FLAG_CARERS_NOT_RUN, carers & not_run & value.isna())
    flag = add_flag(flag, FLAG_NEW_DEFINITION, ~survey)
    flag = add_flag(flag, FLAG_3D1A_QUALITY, (out["code"] == "3D1A") & value.notna())
    flag = add_flag(
        flag,
        "England and regional figures use Derby's 2023-24 survey (none for 2024-25)",
        out["derby_note"].astype(bool)
        & ~carers
        & (out["period"] == "2024-25")
        & (out["level"] != "council"),
    )
    old = out["code"].map(NEW_TO_OLD).astype("string")
    return pd.DataFrame(
        {
            "council_code": out["council_code"],
            "council_name": out["council_name"],
            "level": out["level"],
            "period": out["period"],
            "measure": "ascof_" + old,
            "numerator": get("num", "numerator").astype(float).where(~survey),
            "denominator": get("num", "denominator").astype(float).where(~survey),
            "value": value,
            "unit": unit_for(old),
            "flag": flag,
            "moe": get("num", "margin of error").astype(float).where(survey),
            "respondents": get("num", "number of respondents").astype(float).where(survey),
        }
    )


def parse_timeseries(path: Path) -> pd.DataFrame:
    """Tidy the official ASCOF time series 2015-16 to 2024-25 (``ascof_timeseries``).

    Parameters
    ----------
    path
        The workbook (ODS as published; any layout-identical xlsx/ods works: read with calamine).

    Returns
    -------
    pandas.DataFrame
        The tidy columns (:data:`asc_evidence.tidy.COLUMNS`) plus ``moe`` (published margin of
        error of survey measures, value units, 95%) and ``respondents`` (survey measures), both
        NaN for client-level-data measures. See the module docstring for flags and measure ids.

    Raises
    ------
    SchemaChangedError
        A sheet of :data:`TIMESERIES_SHEETS` is missing, or its header row or columns differ from
        the layout it was written for (names the expected and found columns).
    """
    book = excel.open_workbook(path)
    missing = [s for s in TIMESERIES_SHEETS if s not in book.sheet_names]
    if missing:
        where = f"{path.name} (sheets)"
        raise SchemaChangedError(where, list(TIMESERIES_SHEETS), book.sheet_names)
    cells = pd.concat(
        [
            _timeseries_cells(book, sheet, code, layout, path.name)
            for sheet, (code, layout) in TIMESERIES_SHEETS.items()
        ],
        ignore_index=True,
    )
    df = _timeseries_rows(cells)
    out = tidy.make_tidy(df, source=SOURCE)
    for col, dtype in TIMESERIES_EXTRA.items():
        out[col] = df[col].astype(dtype).to_numpy()
    return out.sort_values(KEY).reset_index(drop=True)


def make_ascof_timeseries() -> pd.DataFrame:
    """Build ``ascof_timeseries`` from the mirror/cache."""
    return parse_timeseries(fetch(TIMESERIES_KEY))


def parse_neighbours(path: Path) -> pd.DataFrame:
    """Oflog nearest-neighbour lists -> ``council_code, neighbour_code, rank`` (see module docstring)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        msg = f"{path.name}: expected a JSON object of council code -> list of codes"
        raise ValueError(msg)
    pairs = pd.DataFrame(
        [(k, v) for k, vs in data.items() for v in vs], columns=["council_code", "neighbour_code"]
    )
    cassr = set(councils.register()["code"])
    pairs = pairs[pairs["council_code"].isin(cassr) & pairs["neighbour_code"].isin(cassr)]
    pairs = pairs[pairs["council_code"] != pairs["neighbour_code"]].drop_duplicates()
    pairs["rank"] = pairs.groupby("council_code").cumcount() + 1
    return pairs.astype(
        {"council_code": "string", "neighbour_code": "string", "rank": "int64"}
    ).reset_index(drop=True)


def make_oflog_neighbours() -> pd.DataFrame:
    """Build ``oflog_neighbours`` from the mirror/cache."""
    return parse_neighbours(fetch(NEIGHBOURS_KEY))


TABLES: list[TableSpec] = [
    TableSpec(
        name="ascof",
        inputs=(OFFICIAL_KEY, TREND_KEY),
        make=make_ascof,
        description="ASCOF measures by council/region/England, 2017-18 to 2023-24 (old codes); "
        "numerators only for 2020-21",
    ),
    TableSpec(
        name="ascof_timeseries",
        inputs=(TIMESERIES_KEY,),
        make=make_ascof_timeseries,
        description="Official ASCOF time series: survey measures 2015-16 to 2024-25 with margins "
        "of error and respondents; client-level-data measures 2024-25 with numerators and "
        "denominators (old codes)",
    ),
    TableSpec(
        name="oflog_neighbours",
        inputs=(NEIGHBOURS_KEY,),
        make=make_oflog_neighbours,
        tidy=False,
        description="Oflog nearest-neighbour lists for councils with adult social care duties",
    ),
]
