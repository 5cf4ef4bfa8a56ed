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

``oflog_neighbours`` (not tidy)
    Oflog's nearest-neighbour comparator lists (``NN.json``): ``council_code``, ``neighbour_code``,
    ``rank`` for councils with adult social services responsibilities (codes in the register), the
    council itself and repeated codes removed. Oflog's lists are stored in code order, so ``rank`` is
    the position in the list, NOT a similarity order. Meant as a user-supplied neighbour set.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from asc_evidence import councils, tidy
from asc_evidence.build import TableSpec
from asc_evidence.fetch import fetch
from asc_evidence.sources import excel

SOURCE = "ascof"
OFFICIAL_KEY = "ascof/nhsd_ascof_2020_21/meas-from-asc-of-eng-2021-open-data-csv_v2.xlsx"
OFFICIAL_PERIOD = "2020-21"
TREND_KEY = "ascof/ascof_repos_trend_2017_2024/trend_data.csv"
NEIGHBOURS_KEY = "ascof/oflog_extract/NN.json"

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
        name="oflog_neighbours",
        inputs=(NEIGHBOURS_KEY,),
        make=make_oflog_neighbours,
        tidy=False,
        description="Oflog nearest-neighbour lists for councils with adult social care duties",
    ),
]
