"""MSOA population by age: Census 2021 and mid-2019 small-area estimates (population_msoa)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from asc_evidence import tidy
from asc_evidence.errors import SchemaChangedError
from asc_evidence.fetch import fetch
from asc_evidence.sources import geography as geo
from asc_evidence.sources.population.bands import AGE_BANDS, to_age_bands

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
