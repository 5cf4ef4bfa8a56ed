"""Population: ONS mid-year estimates, projections, Census 2021 and small areas; the council profile.

Age bands everywhere: five-year bands ``0-4`` ... ``85-89``, ``90+`` and the aggregates ``18+``,
``18-64``, ``65+``, ``75+``, ``85+`` and ``all`` (:data:`AGE_BANDS`).

Tables (council = upper tier with adult social services, on April 2023 codes unless stated):

``population_mye`` (tidy, ``ons_mye``)
    Mid-year estimates 2018-2022 by council, region and England, age band and sex. Each year is on
    the codes of its file (PROVENANCE): mid-2018 April 2019 codes; mid-2019 April 2020; mid-2020 and
    mid-2021 April 2021; mid-2022 April 2023. So abolished codes appear (Buckinghamshire County 2018,
    Northamptonshire 2018-19, Cumbria / North Yorkshire / Somerset counties 2018-21; flagged
    ``boundary: code abolished after ...``) and councils created later are added for earlier years
    by summing the districts (or county) that make them up exactly (flagged ``boundary: summed from
    predecessor areas ...``). Mid-2018 to mid-2020 are the original estimates, not the
    Census-2021-rebased revision; mid-2021 onward are Census-based.
``population_projection`` (tidy, ``ons_snpp_2018``)
    2018-based subnational projections (principal), persons, 2018-2043, 2018 codes (pre-2019
    councils flagged as abolished; later councils summed from 2018 districts). ``18+``/``18-64``
    take 2/5 of the 15-19 band (flagged ``approximation``).
``population_projection_variants`` (tidy, ``ons_npp_2018``)
    England national projections 2018-2118 for the principal and six variants, measure
    ``npp_<code>`` (:data:`NPP_VARIANTS`), by age band and sex: the uncertainty range.
``population_msoa`` (not tidy)
    MSOA population by age band: Census 2021 (2021 MSOAs) and mid-2019 (2011 MSOAs), with district
    (LAD22) and April 2023 council.
``census2021_age`` (tidy, ``census2021_ts007``)
    Census 2021 usual residents by age band: councils (districts summed to April 2023 councils),
    regions and England.
``council_profile`` (not tidy)
    One row per April 2023 council: the inputs of statistical neighbours (see
    :func:`build_council_profile` for each variable's source and year).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from asc_evidence import councils, tidy
from asc_evidence.build import TableSpec
from asc_evidence.common import ENGLAND
from asc_evidence.errors import SchemaChangedError
from asc_evidence.fetch import fetch
from asc_evidence.sources import excel
from asc_evidence.sources import geography as geo

# ---------------------------------------------------------------------------------------------
# age bands

FIVE_YEAR_BANDS: list[str] = [f"{a}-{a + 4}" for a in range(0, 90, 5)] + ["90+"]
AGGREGATE_BANDS: dict[str, tuple[int, float]] = {
    "18+": (18, np.inf),
    "18-64": (18, 64),
    "65+": (65, np.inf),
    "75+": (75, np.inf),
    "85+": (85, np.inf),
    "all": (0, np.inf),
}
AGE_BANDS: list[str] = FIVE_YEAR_BANDS + list(AGGREGATE_BANDS)
_TARGETS: dict[str, tuple[int, float]] = {
    **{b: (int(b.split("-")[0]), int(b.split("-")[1])) for b in FIVE_YEAR_BANDS[:-1]},
    "90+": (90, np.inf),
    **AGGREGATE_BANDS,
}

REGION_NAMES: dict[str, str] = {
    "E12000001": "North East",
    "E12000002": "North West",
    "E12000003": "Yorkshire and The Humber",
    "E12000004": "East Midlands",
    "E12000005": "West Midlands",
    "E12000006": "East of England",
    "E12000007": "London",
    "E12000008": "South East",
    "E12000009": "South West",
}


def band_weights(sources: dict[str, tuple[int, float]]) -> pd.DataFrame:
    """Share of each source age range that falls in each target band of :data:`AGE_BANDS`.

    ``sources`` maps a source label to its inclusive age range (``np.inf`` for an open top).
    Returns ``src, age_band, weight`` with weight > 0 only; a weight strictly between 0 and 1
    (a source band straddling a target's edge, assumed evenly spread) makes the result approximate.
    An open source band (``90+``) counts fully in targets that contain it and not at all elsewhere.
    """
    rows = []
    for src, (lo, hi) in sources.items():
        for band, (tlo, thi) in _TARGETS.items():
            if np.isinf(hi):
                w = 1.0 if (tlo <= lo and np.isinf(thi)) else 0.0
            else:
                w = max(0.0, min(hi, thi) - max(lo, tlo) + 1) / (hi - lo + 1)
            if w > 0:
                rows.append((src, band, w))
    return pd.DataFrame(rows, columns=["src", "age_band", "weight"])


def single_year_sources(top: int = 90) -> dict[str, tuple[int, float]]:
    """Source ranges for single years ``'0'`` ... ``str(top - 1)`` and an open ``str(top)`` (= top and over)."""
    out: dict[str, tuple[int, float]] = {str(a): (a, a) for a in range(top)}
    out[str(top)] = (top, np.inf)
    return out


def to_age_bands(
    long: pd.DataFrame,
    keys: list[str],
    src: str = "age",
    value: str = "value",
    sources: dict[str, tuple[int, float]] | None = None,
) -> pd.DataFrame:
    """Sum ``value`` over the ages in each band of :data:`AGE_BANDS`, by ``keys``.

    ``long[src]`` holds source labels (single years ``'0'``..``'90'`` by default, 90 = 90+).
    Returns ``keys + ['age_band', value, 'approximate']``: a band is NaN when any of its ages is
    NaN, and ``approximate`` is True when a source band was split between target bands.
    """
    weights = band_weights(sources or single_year_sources())
    merged = long[[*keys, src, value]].merge(weights, left_on=src, right_on="src", how="inner")
    merged["_v"] = merged[value] * merged["weight"]
    merged["_partial"] = merged["weight"] < 1
    # one grouping for the strict sum (as geography.strict_sum) and the approximate flag
    grouped = merged.groupby([*keys, "age_band"], sort=False, observed=True)
    sums = grouped["_v"].sum(min_count=1)
    out = sums.where(grouped["_v"].count().eq(grouped.size())).rename(value).to_frame()
    out["approximate"] = grouped["_partial"].any()
    return out.reset_index()


# ---------------------------------------------------------------------------------------------
# shared helpers


def _join_flags(*flags: pd.Series) -> pd.Series:
    """Join non-empty flag strings with '; ' row-wise."""
    columns = [f.astype("string").fillna("").to_numpy(dtype=object) for f in flags]
    joined = [
        "".join(f"{f}; " for f in row if f).rstrip("; ") for row in zip(*columns, strict=True)
    ]
    return pd.Series(joined, index=flags[0].index, dtype="string")


def _boundary_flags(codes: pd.Series, successor_of: pd.Series) -> pd.Series:
    """Flags for abolished council codes and councils built from their predecessor areas."""
    reg = councils.register().set_index("code")
    valid_to = codes.map(reg["valid_to"]).fillna("")
    abolished = pd.Series(
        np.where(valid_to != "", "boundary: code abolished after " + valid_to, ""),
        index=codes.index,
    )
    summed = pd.Series(
        np.where(successor_of != "", "boundary: summed from predecessor areas " + successor_of, ""),
        index=codes.index,
    )
    return _join_flags(abolished, summed)


def _names(codes: pd.Series, file_names: pd.Series | None = None) -> pd.Series:
    """Council names from the register, region names from :data:`REGION_NAMES`, else the file's."""
    reg = councils.register().set_index("code")["name"]
    names = codes.map(reg).fillna(codes.map(REGION_NAMES)).mask(codes == ENGLAND, "England")
    if file_names is not None:
        names = names.fillna(file_names)
    return names.astype("string")


def _keep_codes(codes: pd.Series) -> pd.Series:
    """England, regions, councils and the components of :data:`geography.SUCCESSOR_COMPONENTS`."""
    parts = {p for ps in geo.SUCCESSOR_COMPONENTS.values() for p in ps}
    return geo.level_of(codes).notna() | codes.isin(parts)


def _number_label(x: object) -> str:
    text = str(x).strip()
    return str(int(float(text))) if re.fullmatch(r"\d+(\.0+)?", text) else text


# ---------------------------------------------------------------------------------------------
# mid-year estimates

MYE_DIR = "population/ons_mye_uk_single_year"
MYE_FILES: dict[str, str] = {
    "2018": f"{MYE_DIR}/ukmidyearestimates20182019ladcodes.xlsx",  # April 2019 codes
    "2019": f"{MYE_DIR}/ukmidyearestimates20192020ladcodes.xls",  # April 2020 codes
    "2020": f"{MYE_DIR}/ukpopestimatesmid2020on2021geography.xls",  # April 2021 codes
    "2021": f"{MYE_DIR}/ukpopestimatesmid2021on2021geographyfinal.xls",  # April 2021 codes
    "2022": f"{MYE_DIR}/mye22final.xlsx",  # April 2023 codes
}
MYE_SHEETS: dict[str, tuple[str, ...]] = {
    "persons": ("MYE2 - Persons", "MYE2-All"),
    "male": ("MYE2 - Males",),
    "female": ("MYE2 - Females",),
}
MYE_COLUMNS: list[str] = ["Code", "Name", "All ages", *[str(a) for a in range(90)], "90+"]


def parse_mye2_grid(grid: pd.DataFrame, file: str) -> pd.DataFrame:
    """Table of an ``MYE2`` sheet read with ``header=None``: header row found by its ``Code`` cell.

    Returns ``code, name, '0'`` ... ``'89', '90'`` (90 = 90 and over) as text cells, one row per
    area (footnotes dropped). Raises :class:`SchemaChangedError` if the expected columns are absent.
    """
    first = grid.iloc[:, 0].astype("string").str.strip()
    hits = first.index[first == "Code"]
    if len(hits) == 0:
        raise SchemaChangedError(file, MYE_COLUMNS, [str(c) for c in grid.iloc[:12, 0]])
    header = [_number_label(c) for c in grid.loc[hits[0]]]
    if "90+" not in header and "90" in header:  # mid-2018: last column '90' means 90 and over
        header = ["90+" if h == "90" else h for h in header]
    tidy.expect_columns(header, MYE_COLUMNS, file)
    body = grid.loc[hits[0] + 1 :].copy()
    body.columns = header
    body = body[
        body["Code"].astype("string").str.fullmatch(r"[A-Z]\d{8}").fillna(False).astype(bool)
    ]
    out = body[["Code", "Name", *[str(a) for a in range(90)], "90+"]]
    out.columns = ["code", "name", *[str(a) for a in range(91)]]
    return out.reset_index(drop=True)


def _mye_long(path: Path) -> pd.DataFrame:
    """All three MYE2 sheets of one workbook as ``code, name, sex, age, value`` (kept areas only)."""
    with excel.open_workbook(path) as book:
        names = book.sheet_names
        pieces = []
        for sex, candidates in MYE_SHEETS.items():
            sheet = next((s for s in candidates if s in names), None)
            if sheet is None:
                msg = f"{path.name} (sheets)"
                raise SchemaChangedError(msg, list(candidates), names)
            grid = excel.read_excel(book, sheet_name=sheet, header=None, dtype=object)
            wide = parse_mye2_grid(grid, f"{path.name} [{sheet}]")
            wide = wide[_keep_codes(wide["code"])]
            long = wide.melt(id_vars=["code", "name"], var_name="age", value_name="raw")
            long["sex"] = sex
            pieces.append(long)
    long = pd.concat(pieces, ignore_index=True)
    long["value"], _ = tidy.to_number(long["raw"], {})
    return long.drop(columns="raw")


def parse_mye(path: Path, period: str) -> pd.DataFrame:
    """Tidy mid-year estimates by area, age band and sex from one ONS MYE workbook.

    Councils created after the file's code vintage are added by summing their predecessor areas
    (:data:`geography.SUCCESSOR_COMPONENTS`); district rows are then dropped.
    """
    long = _mye_long(path)
    long = geo.add_successors(long, ["value"], code_col="code", by=["sex", "age"])
    names = long.drop_duplicates("code").set_index("code")["name"]
    succ = long.drop_duplicates("code").set_index("code")["successor_of"]
    long = long[geo.level_of(long["code"]).notna()]
    bands = to_age_bands(long, ["code", "sex"])
    return _finish(bands, names, succ, source="ons_mye", period=period)


def _finish(
    bands: pd.DataFrame,
    names: pd.Series | None = None,
    succ: pd.Series | None = None,
    **constants: object,
) -> pd.DataFrame:
    """Council names, levels and flags for banded population counts; -> tidy frame.

    ``names``: file names by code (fallback for codes the register does not know); ``succ``: the
    ``successor_of`` text by code from :func:`geography.add_successors`.
    """
    codes = bands["code"].astype("string")
    successor_of = pd.Series("", index=codes.index, dtype="string")
    if succ is not None:
        successor_of = codes.map(succ).astype("string").fillna("")
    flags = _join_flags(
        _boundary_flags(codes, successor_of),
        pd.Series(
            np.where(
                bands["approximate"],
                tidy.FLAG_APPROXIMATION + ": 18-19 as 2/5 of the 15-19 band",
                "",
            ),
            index=bands.index,
        ),
        pd.Series(np.where(bands["value"].isna(), tidy.FLAG_NOT_AVAILABLE, ""), index=bands.index),
    )
    out = pd.DataFrame(
        {
            "council_code": codes,
            "council_name": _names(codes, codes.map(names) if names is not None else None),
            "level": geo.level_of(codes),
            "measure": bands.get("measure", "population"),
            "age_band": bands["age_band"],
            "sex": bands.get("sex", "persons"),
            "value": bands["value"],
            "unit": "people",
            "flag": flags,
        }
    )
    if "period" in bands:
        out["period"] = bands["period"].astype(str)
    out = tidy.make_tidy(out, **constants)
    return out.sort_values(["council_code", "period", "measure", "sex", "age_band"]).reset_index(
        drop=True
    )


def make_population_mye() -> pd.DataFrame:
    """``population_mye``: all five MYE workbooks."""
    return pd.concat(
        [parse_mye(fetch(key), period) for period, key in MYE_FILES.items()], ignore_index=True
    )


# ---------------------------------------------------------------------------------------------
# projections

SNPP_2018_KEY = "population/ons_snpp_2018/ons_pop.csv"
SNPP_YEARS: list[str] = [str(y) for y in range(2018, 2044)]
SNPP_SOURCES: dict[str, tuple[int, float]] = {
    **{b: (int(b.split("-")[0]), int(b.split("-")[1])) for b in FIVE_YEAR_BANDS[:-1]},
    "90+": (90, np.inf),
}


def parse_snpp_2018(path: Path) -> pd.DataFrame:
    """Tidy 2018-based SNPP (persons, 5-year bands) for England, regions and councils, 2018-2043.

    ``all`` is the published ``All ages`` row; other aggregates are sums of bands (``18+`` and
    ``18-64`` approximate, flagged). Councils created after 2018 are summed from 2018 areas.
    """
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    tidy.expect_columns(df.columns, ["CODE", "AREA", "AGE GROUP", *SNPP_YEARS], path.name)
    df = df[_keep_codes(df["CODE"])]
    long = df.melt(
        id_vars=["CODE", "AREA", "AGE GROUP"],
        value_vars=SNPP_YEARS,
        var_name="period",
        value_name="raw",
    )
    long["value"], _ = tidy.to_number(long["raw"], {})
    long = long.rename(columns={"CODE": "code", "AREA": "name", "AGE GROUP": "age"})
    groups = set(long["age"].unique())
    if groups != set(FIVE_YEAR_BANDS) | {"All ages"}:
        msg = f"{path.name} (AGE GROUP values)"
        raise SchemaChangedError(msg, [*FIVE_YEAR_BANDS, "All ages"], sorted(groups))
    long = geo.add_successors(long, ["value"], code_col="code", by=["period", "age"])
    names = long.drop_duplicates("code").set_index("code")["name"]
    succ = long.drop_duplicates("code").set_index("code")["successor_of"]
    long = long[geo.level_of(long["code"]).notna()]
    bands = to_age_bands(long[long["age"] != "All ages"], ["code", "period"], sources=SNPP_SOURCES)
    bands = bands[bands["age_band"] != "all"]
    total = long[long["age"] == "All ages"][["code", "period", "value"]].assign(
        age_band="all", approximate=False
    )
    bands = pd.concat([bands, total], ignore_index=True)
    return _finish(bands, names, succ, source="ons_snpp_2018")


def make_population_projection() -> pd.DataFrame:
    """``population_projection``: 2018-based SNPP."""
    return parse_snpp_2018(fetch(SNPP_2018_KEY))


NPP_DIR = "population/ons_npp_2018"
NPP_VARIANTS: dict[str, str] = {
    "ppp": "principal",
    "hhh": "high population",
    "lll": "low population",
    "php": "high life expectancy",
    "plp": "low life expectancy",
    "pph": "high migration",
    "ppl": "low migration",
}  # fertility variants (hpp, lpp) are not in the mirror


def npp_key(variant: str) -> str:
    """Registry key of the 2018-based NPP open-data workbook for ``variant`` (e.g. ``'ppp'``)."""
    return f"{NPP_DIR}/en_{variant}_opendata2018.xls"


def parse_npp_population(
    frame: pd.DataFrame, variant: str, file: str = "NPP Population sheet"
) -> pd.DataFrame:
    """Tidy England projection by age band and sex from the ``Population`` sheet of an NPP workbook.

    ``frame`` is the sheet read with its header row (``Sex``, ``Age``, year columns). ``Sex`` 1 is
    male, 2 female; persons are their sum. Ages ``'105 - 109'`` and ``'110 and over'`` fall in 90+.
    """
    frame = frame.rename(columns=lambda c: _number_label(c))
    years = [c for c in frame.columns if re.fullmatch(r"\d{4}", c)]
    tidy.expect_columns(frame.columns, ["Sex", "Age", "2018", "2043"], file)
    long = frame.melt(id_vars=["Sex", "Age"], value_vars=years, var_name="period", value_name="raw")
    long["value"], _ = tidy.to_number(long["raw"], {})
    first = long["Age"].astype("string").str.strip().str.extract(r"^(\d+)", expand=False)
    if first.isna().any():
        msg = f"{file} (Age values)"
        raise SchemaChangedError(
            msg,
            ["0", "...", "110 and over"],
            sorted(set(long.loc[first.isna(), "Age"].astype(str))),
        )
    long["age"] = first.astype(int).clip(upper=90).astype(str)
    sex = long["Sex"].astype(str).str.strip().map({"1": "male", "2": "female"})
    if sex.isna().any():
        msg = f"{file} (Sex values)"
        raise SchemaChangedError(msg, ["1", "2"], sorted(set(long["Sex"].astype(str))))
    long["sex"] = sex
    long = long.groupby(["sex", "period", "age"], as_index=False)["value"].sum()
    persons = long.groupby(["period", "age"], as_index=False)["value"].sum().assign(sex="persons")
    long = pd.concat([long, persons], ignore_index=True).assign(code=ENGLAND)
    bands = to_age_bands(long, ["code", "sex", "period"])
    bands["measure"] = f"npp_{variant}"
    return _finish(bands, source="ons_npp_2018")


def make_population_projection_variants() -> pd.DataFrame:
    """``population_projection_variants``: England NPP 2018, principal and six variants."""
    pieces = []
    for variant in NPP_VARIANTS:
        path = fetch(npp_key(variant))
        sheet = excel.read_excel(path, sheet_name="Population")
        pieces.append(parse_npp_population(sheet, variant, path.name))
    return pd.concat(pieces, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# small areas

MSOA_2021_KEY = "population/small_area_msoa/msoa_age_by_single_year_2021_data.csv"
MSOA_2019_KEY = "population/small_area_msoa/msoa_population_estimates_2019_data.csv"
MSOA_COLUMNS = [
    "msoa_code",
    "msoa_name",
    "msoa_vintage",
    "lad_code",
    "council_code",
    "period",
    "age_band",
    "sex",
    "population",
]


def census_age_label(label: str) -> str | None:
    """Single year from a Census age header (``'Aged 7 years'`` -> ``'7'``; 90 and over -> ``'90'``).

    Subtotal headers (``'Aged 5 to 9 years'``, ``'Aged 85 years and over'``...) give None.
    """
    text = re.sub(r"^Age: |; measures: Value$", "", label.strip())
    if text == "Aged under 1 year":
        return "0"
    if text == "Aged 100 years and over":
        return "90"
    m = re.fullmatch(r"Aged (\d+) years?", text)
    return str(min(int(m.group(1)), 90)) if m else None


def _census_single_years(df: pd.DataFrame, code_col: str, file: str) -> pd.DataFrame:
    """Long ``code, age, value`` from a Census table with single-year age columns (ages 0-100+)."""
    ages = {c: census_age_label(c) for c in df.columns}
    ages = {c: a for c, a in ages.items() if a is not None}
    if len(ages) != 101:
        raise SchemaChangedError(
            file,
            ["Aged under 1 year", "Aged 1 year", "...", "Aged 100 years and over"],
            [str(c) for c in df.columns],
        )
    long = df[[code_col, *ages]].melt(id_vars=code_col, var_name="col", value_name="raw")
    long["age"] = long["col"].map(ages)
    long["value"], _ = tidy.to_number(long["raw"], {})
    return geo.strict_sum(long, [code_col, "age"], ["value"]).rename(columns={code_col: "code"})


def _msoa_frame(
    bands: pd.DataFrame,
    names: pd.Series,
    lad: pd.Series,
    council: pd.Series,
    vintage: str,
    period: str,
) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "msoa_code": bands["code"].astype("string"),
            "msoa_name": bands["code"].map(names).astype("string"),
            "msoa_vintage": vintage,
            "lad_code": bands["code"].map(lad).astype("string"),
            "period": period,
            "age_band": bands["age_band"].astype("string"),
            "sex": "persons",
            "population": bands["value"].astype("float64"),
        }
    )
    out["council_code"] = out["lad_code"].map(council).astype("string")
    return out[MSOA_COLUMNS]


def parse_msoa_2021(
    path: Path, msoa_lookup: pd.DataFrame, ltla_lookup: pd.DataFrame
) -> pd.DataFrame:
    """Census 2021 population of 2021 MSOAs (England) by age band, with district and council."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    tidy.expect_columns(df.columns, ["msoa21cd", "msoa21nm", "Total"], path.name)
    df = df[df["msoa21cd"].str.startswith("E")]
    bands = to_age_bands(_census_single_years(df, "msoa21cd", path.name), ["code"])
    lk = msoa_lookup.drop_duplicates("msoa21_code").set_index("msoa21_code")
    names = df.set_index("msoa21cd")["msoa21nm"]
    council = ltla_lookup.set_index("ltla_code")["council_code"]
    return _msoa_frame(bands, names, lk["lad_code"], council, "MSOA 2021", "2021")


def parse_msoa_2019(
    path: Path, msoa_lookup: pd.DataFrame, ltla_lookup: pd.DataFrame
) -> pd.DataFrame:
    """ONS mid-2019 estimates for 2011 MSOAs (England) by age band, with district (LAD22) and council."""
    cols = ["MSOA Code", "Population", *[str(a) for a in range(90)], "90+"]
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    tidy.expect_columns(df.columns, cols, path.name)
    df = df[df["MSOA Code"].str.startswith("E")].rename(columns={"90+": "90", "MSOA Code": "code"})
    long = df.melt(
        id_vars="code", value_vars=[str(a) for a in range(91)], var_name="age", value_name="raw"
    )
    long["value"], _ = tidy.to_number(long["raw"], {})
    bands = to_age_bands(long, ["code"])
    lk = msoa_lookup.drop_duplicates("msoa11_code").set_index("msoa11_code")
    council = ltla_lookup.set_index("ltla_code")["council_code"]
    return _msoa_frame(bands, lk["msoa11_name"], lk["lad_code"], council, "MSOA 2011", "2019")


def make_population_msoa() -> pd.DataFrame:
    """``population_msoa``: Census 2021 (2021 MSOAs) and mid-2019 (2011 MSOAs) by age band."""
    msoa = geo.parse_msoa_lookup(fetch(geo.MSOA_LOOKUP_KEY))
    ltla = geo.ltla_lookup()
    out = pd.concat(
        [
            parse_msoa_2021(fetch(MSOA_2021_KEY), msoa, ltla),
            parse_msoa_2019(fetch(MSOA_2019_KEY), msoa, ltla),
        ],
        ignore_index=True,
    )
    order = out["age_band"].map({b: i for i, b in enumerate(AGE_BANDS)})
    return (
        out.assign(_o=order)
        .sort_values(["period", "msoa_code", "_o"])
        .drop(columns="_o")
        .reset_index(drop=True)
    )


# ---------------------------------------------------------------------------------------------
# Census 2021

TS007_DIR = "population/census2021_ts007_age_single_year"
TS007_LTLA_KEY = f"{TS007_DIR}/census2021-ts007-ltla.csv"
TS007_RGN_KEY = f"{TS007_DIR}/census2021-ts007-rgn.csv"
TS007_CTRY_KEY = f"{TS007_DIR}/census2021-ts007-ctry.csv"
C21_DIR = "population/census2021_ts007a_ts054_ts062"
TS007A_LSOA_KEY = f"{C21_DIR}/census2021-ts007a-lsoa.csv"
TS054_LTLA_KEY = f"{C21_DIR}/census2021-ts054-ltla.csv"
TS062_LTLA_KEY = f"{C21_DIR}/census2021-ts062-ltla.csv"
GEO_CODE = "geography code"
TENURE_TOTAL = "Tenure of household: Total: All households"
TENURE_OWNED = "Tenure of household: Owned"
NSSEC = "National Statistics Socio-economic Classification (NS-SEC)"
NSSEC_TOTAL = f"{NSSEC}: Total: All usual residents aged 16 years and over"
NSSEC_ROUTINE = [f"{NSSEC}: L12 Semi-routine occupations", f"{NSSEC}: L13 Routine occupations"]
TS007A_TOTAL = "Age: Total"


def parse_ts007(path: Path) -> pd.DataFrame:
    """Census 2021 TS007 (single year of age) as ``code, age, value`` (England and English areas only)."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    tidy.expect_columns(df.columns, ["geography", GEO_CODE], path.name)
    df = df[df[GEO_CODE].str.startswith("E")]
    return _census_single_years(df, GEO_CODE, path.name)


def districts_to_councils(
    long: pd.DataFrame,
    ltla_lookup: pd.DataFrame,
    value_cols: list[str],
    by: list[str] | None = None,
) -> pd.DataFrame:
    """Sum district (LTLA22) rows ``code`` into April 2023 councils; districts not in the lookup raise."""
    council = long["code"].map(ltla_lookup.set_index("ltla_code")["council_code"])
    if council.isna().any():
        missing = sorted(set(long.loc[council.isna(), "code"]))[:5]
        msg = f"District codes not in the LTLA->UTLA lookup: {missing}"
        raise ValueError(msg)
    return geo.strict_sum(long.assign(code=council), ["code", *(by or [])], value_cols)


def parse_census2021_age(
    ltla: pd.DataFrame, region: pd.DataFrame, country: pd.DataFrame, ltla_lookup: pd.DataFrame
) -> pd.DataFrame:
    """Tidy Census 2021 age bands from :func:`parse_ts007` outputs of the LTLA, region and country files."""
    councils_long = districts_to_councils(ltla, ltla_lookup, ["value"], by=["age"])
    long = pd.concat(
        [councils_long, region, country[country["code"] == ENGLAND]], ignore_index=True
    )
    bands = to_age_bands(long, ["code"])
    return _finish(
        bands,
        source="census2021_ts007",
        period="2021",
    )


def make_census2021_age() -> pd.DataFrame:
    """``census2021_age``: Census 2021 usual residents by age band, councils / regions / England."""
    return parse_census2021_age(
        parse_ts007(fetch(TS007_LTLA_KEY)),
        parse_ts007(fetch(TS007_RGN_KEY)),
        parse_ts007(fetch(TS007_CTRY_KEY)),
        geo.ltla_lookup(),
    )


# ---------------------------------------------------------------------------------------------
# council profile

SPARSE_PER_KM2 = 400.0  # 4 persons per hectare
SUPER_SPARSE_PER_KM2 = 50.0  # 0.5 persons per hectare
PROFILE_COLUMNS = [
    "council_code",
    "council_name",
    "region",
    "type",
    "population_2021",
    "share_18_64",
    "share_65plus",
    "share_85plus",
    "imd_average_score",
    "imd_method",
    "land_km2",
    "density_per_km2",
    "sparsity",
    "owner_occupied_share",
    "nssec_routine_share",
]


def read_census_counts(path: Path, columns: list[str]) -> pd.DataFrame:
    """Census Nomis CSV -> ``code`` + ``columns`` as float (England rows only; read once, only these columns)."""
    head = pd.read_csv(path, nrows=0).columns
    tidy.expect_columns(head, [GEO_CODE, *columns], path.name)
    df = pd.read_csv(
        path,
        usecols=[GEO_CODE, *columns],
        dtype={GEO_CODE: str, **dict.fromkeys(columns, str)},
        keep_default_na=False,
    )
    df = df[df[GEO_CODE].str.startswith("E")].rename(columns={GEO_CODE: "code"})
    for col in columns:
        df[col], _ = tidy.to_number(df[col], {})
    return df.reset_index(drop=True)


def sparsity_and_density(
    lsoa_pop: pd.DataFrame, sam: pd.DataFrame, ltla_lookup: pd.DataFrame
) -> pd.DataFrame:
    """Council land area, density and sparsity from LSOA populations and LSOA land areas.

    ``lsoa_pop``: ``code`` (LSOA21), ``population``. ``sam``: :func:`geography.parse_sam_lsoa`.
    Density = council population / council land area (persons per km²). Sparsity follows NHS
    Digital's ASC peer-group method: (population of LSOAs with density <= 4 per hectare, counting
    those <= 0.5 per hectare twice) / council population, with LSOA density on land area.
    """
    df = lsoa_pop.merge(sam, left_on="code", right_on="lsoa_code", how="inner")
    df["council_code"] = df["ltla_code"].map(ltla_lookup.set_index("ltla_code")["council_code"])
    density = df["population"] / df["land_km2"]
    weight = np.where(
        density <= SUPER_SPARSE_PER_KM2, 2.0, np.where(density <= SPARSE_PER_KM2, 1.0, 0.0)
    )
    df["sparse_pop"] = df["population"] * weight
    agg = df.groupby("council_code").agg(
        population=("population", "sum"),
        land_km2=("land_km2", "sum"),
        sparse_pop=("sparse_pop", "sum"),
    )
    agg["density_per_km2"] = agg["population"] / agg["land_km2"]
    agg["sparsity"] = agg["sparse_pop"] / agg["population"]
    return agg[["land_km2", "density_per_km2", "sparsity"]].reset_index()


def build_council_profile(
    ages: pd.DataFrame,
    lsoa_pop: pd.DataFrame,
    sam: pd.DataFrame,
    tenure: pd.DataFrame,
    nssec: pd.DataFrame,
    imd: pd.DataFrame,
    ltla_lookup: pd.DataFrame,
) -> pd.DataFrame:
    """One row per April 2023 council with the statistical-neighbour variables.

    Parameters
    ----------
    ages
        :func:`parse_ts007` of the Census 2021 TS007 LTLA file (single years by district).
    lsoa_pop
        ``code`` (LSOA21), ``population``: TS007A ``Age: Total`` by LSOA.
    sam
        :func:`geography.parse_sam_lsoa`.
    tenure, nssec
        :func:`read_census_counts` of the TS054 and TS062 LTLA files.
    imd
        :func:`geography.imd_for_councils`.
    ltla_lookup
        :func:`geography.parse_ltla_utla_lookup` (LTLA22 -> April 2023 council).

    Notes
    -----
    Sources and years (all Census figures: usual residents, 21 March 2021, districts summed to
    April 2023 councils, so Cumberland, Westmorland and Furness, North Yorkshire and Somerset are
    sums of their former districts):

    * ``population_2021``, ``share_18_64``, ``share_65plus``, ``share_85plus``: Census 2021 TS007
      single year of age (shares of all ages).
    * ``imd_average_score``: IoD2019 (MHCLG 2019) upper-tier "IMD - Average score", higher = more
      deprived; councils created since 2019 per :func:`geography.imd_for_councils` (``imd_method``).
    * ``land_km2``, ``density_per_km2``: ONS SAM LSOA December 2021 land area and Census 2021 TS007A
      LSOA populations (persons per km² of land).
    * ``sparsity``: see :func:`sparsity_and_density` (same inputs).
    * ``owner_occupied_share``: Census 2021 TS054, households owned outright or with a mortgage /
      all households (shared ownership not counted as owned).
    * ``nssec_routine_share``: Census 2021 TS062, residents 16+ in NS-SeC L12 semi-routine and L13
      routine occupations (analytic classes 6-7) / all residents 16+.
    """
    a = districts_to_councils(ages, ltla_lookup, ["value"], by=["age"])
    age = a["age"].astype(int)
    pop = a.groupby("code")["value"].sum()
    share = {
        "share_18_64": a[(age >= 18) & (age <= 64)].groupby("code")["value"].sum() / pop,
        "share_65plus": a[age >= 65].groupby("code")["value"].sum() / pop,
        "share_85plus": a[age >= 85].groupby("code")["value"].sum() / pop,
    }
    t = districts_to_councils(tenure, ltla_lookup, [TENURE_TOTAL, TENURE_OWNED]).set_index("code")
    n = districts_to_councils(nssec, ltla_lookup, [NSSEC_TOTAL, *NSSEC_ROUTINE]).set_index("code")
    area = sparsity_and_density(lsoa_pop, sam, ltla_lookup).set_index("council_code")
    reg = councils.current().set_index("code")
    out = pd.DataFrame(index=reg.index.rename("council_code"))
    out["council_name"] = reg["name"]
    out["region"] = reg["region"]
    out["type"] = reg["type"]
    out["population_2021"] = pop
    for k, v in share.items():
        out[k] = v
    imd_i = imd.set_index("council_code")
    out["imd_average_score"] = imd_i["imd_average_score"]
    out["imd_method"] = imd_i["imd_method"]
    out = out.join(area)
    out["owner_occupied_share"] = t[TENURE_OWNED] / t[TENURE_TOTAL]
    out["nssec_routine_share"] = n[NSSEC_ROUTINE].sum(axis=1) / n[NSSEC_TOTAL]
    out = out.reset_index()[PROFILE_COLUMNS]
    for col in ("council_code", "council_name", "region", "type", "imd_method"):
        out[col] = out[col].astype("string")
    return out.sort_values("council_code").reset_index(drop=True)


def mye_2018_district_population() -> pd.Series:
    """Mid-2018 all-ages population by April 2019 code (weights for IoD2019 district scores)."""
    path = fetch(MYE_FILES["2018"])
    grid = excel.read_excel(path, sheet_name="MYE2-All", header=None, dtype=object)
    long = parse_mye2_grid(grid, path.name).melt(
        id_vars=["code", "name"], var_name="age", value_name="raw"
    )
    long["value"], _ = tidy.to_number(long["raw"], {})
    return geo.strict_sum(long, ["code"], ["value"]).set_index("code")["value"]


def make_council_profile() -> pd.DataFrame:
    """``council_profile``: statistical-neighbour inputs for the 153 councils of April 2023."""
    ltla = geo.ltla_lookup()
    lsoa = read_census_counts(fetch(TS007A_LSOA_KEY), [TS007A_TOTAL]).rename(
        columns={TS007A_TOTAL: "population"}
    )
    imd = geo.imd_for_councils(
        geo.parse_iod_summary(fetch(geo.IOD_UPPER_KEY)),
        geo.parse_iod_summary(fetch(geo.IOD_LOWER_KEY)),
        mye_2018_district_population(),
    )
    return build_council_profile(
        ages=parse_ts007(fetch(TS007_LTLA_KEY)),
        lsoa_pop=lsoa,
        sam=geo.parse_sam_lsoa(fetch(geo.SAM_LSOA_KEY)),
        tenure=read_census_counts(fetch(TS054_LTLA_KEY), [TENURE_TOTAL, TENURE_OWNED]),
        nssec=read_census_counts(fetch(TS062_LTLA_KEY), [NSSEC_TOTAL, *NSSEC_ROUTINE]),
        imd=imd,
        ltla_lookup=ltla,
    )


TABLES: list[TableSpec] = [
    TableSpec(
        "population_mye",
        tuple(MYE_FILES.values()),
        make_population_mye,
        description="ONS mid-year estimates 2018-2022 by council, age band and sex",
    ),
    TableSpec(
        "population_projection",
        (SNPP_2018_KEY,),
        make_population_projection,
        description="ONS 2018-based SNPP (principal), persons, by council and age band, 2018-2043",
    ),
    TableSpec(
        "population_projection_variants",
        tuple(npp_key(v) for v in NPP_VARIANTS),
        make_population_projection_variants,
        description="ONS 2018-based NPP, England, principal and 6 variants, by age band and sex",
    ),
    TableSpec(
        "population_msoa",
        (MSOA_2021_KEY, MSOA_2019_KEY, geo.MSOA_LOOKUP_KEY, geo.LTLA_UTLA_KEY),
        make_population_msoa,
        tidy=False,
        description="MSOA population by age band: Census 2021 and mid-2019, with council",
    ),
    TableSpec(
        "census2021_age",
        (TS007_LTLA_KEY, TS007_RGN_KEY, TS007_CTRY_KEY, geo.LTLA_UTLA_KEY),
        make_census2021_age,
        description="Census 2021 usual residents by age band (April 2023 councils)",
    ),
    TableSpec(
        "council_profile",
        (
            TS007_LTLA_KEY,
            TS007A_LSOA_KEY,
            TS054_LTLA_KEY,
            TS062_LTLA_KEY,
            geo.SAM_LSOA_KEY,
            geo.LTLA_UTLA_KEY,
            geo.IOD_UPPER_KEY,
            geo.IOD_LOWER_KEY,
            MYE_FILES["2018"],
        ),
        make_council_profile,
        tidy=False,
        description="One row per April 2023 council: statistical-neighbour variables",
    ),
]
