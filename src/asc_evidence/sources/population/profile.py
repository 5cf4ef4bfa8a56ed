"""The council profile: the inputs of the statistical-neighbours model (table council_profile)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from asc_evidence import councils, tidy
from asc_evidence.fetch import fetch
from asc_evidence.sources import excel
from asc_evidence.sources import geography as geo
from asc_evidence.sources.population.census import (
    GEO_CODE,
    NSSEC_ROUTINE,
    NSSEC_TOTAL,
    TENURE_OWNED,
    TENURE_TOTAL,
    TS007_LTLA_KEY,
    TS007A_LSOA_KEY,
    TS007A_TOTAL,
    TS054_LTLA_KEY,
    TS062_LTLA_KEY,
    districts_to_councils,
    parse_ts007,
)
from asc_evidence.sources.population.mye import MYE_FILES, parse_mye2_grid

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
