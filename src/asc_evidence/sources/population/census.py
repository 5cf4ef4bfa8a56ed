"""Census 2021 usual residents by age, TS007 (table census2021_age)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from asc_evidence import tidy
from asc_evidence.common import ENGLAND
from asc_evidence.fetch import fetch
from asc_evidence.sources import geography as geo
from asc_evidence.sources.population.bands import to_age_bands
from asc_evidence.sources.population.mye import _finish
from asc_evidence.sources.population.small_areas import _census_single_years

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
