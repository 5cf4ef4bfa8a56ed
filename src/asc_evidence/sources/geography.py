"""Geography: council lookups, boundaries, land areas and deprivation (IoD2019).

Council = upper-tier authority with adult social services responsibility (ONS codes E06, E08, E09,
E10), on the **April 2023 geography** (153 councils) unless a table says otherwise.

Lookups and their vintages (see each folder's PROVENANCE.md in the mirror):

* ``ons_ltla_utla_lookup_2022``: LTLA22 -> UTLA22 (December 2022, before the April 2023 changes).
  :func:`parse_ltla_utla_lookup` moves it to April 2023 councils with :data:`LTLA22_TO_UTLA23`
  (Cumbria districts -> Cumberland / Westmorland and Furness; North Yorkshire and Somerset districts
  -> the new unitaries of the same area).
* ``ons_msoa11_msoa21_lad22_lookup``: MSOA 2011 -> MSOA 2021 -> LAD22.
* ``ons_sam_lsoa_dec2021``: LSOA 2021 land areas (km²) with their LTLA22.
* ``mhclg_iod2019``: IoD2019 summaries on 2019 geography; :func:`imd_for_councils` carries them to
  2023 councils.

Tables: ``boundaries_council`` (May 2023), ``boundaries_council_2021`` (December 2021) and
``boundaries_msoa`` (MSOA 2021), all GeoParquet in British National Grid (EPSG:27700), England only.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from asc_evidence import tidy
from asc_evidence.build import TableSpec
from asc_evidence.common import ENGLAND
from asc_evidence.errors import SchemaChangedError
from asc_evidence.fetch import fetch
from asc_evidence.sources import excel

LTLA_UTLA_KEY = (
    "geography/ons_ltla_utla_lookup_2022/Lower_Tier_Local_Authority_to_Upper_Tier_Local_Authority_"
    "(December_2022)_Lookup_in_England_and_Wales.csv"
)
MSOA_LOOKUP_KEY = "geography/ons_msoa11_msoa21_lad22_lookup/MSOA11 to MSOA21 to LAD22 EW.csv"
SAM_LSOA_KEY = "geography/ons_sam_lsoa_dec2021/SAM_LSOA_DEC_2021_EW_in_KM.csv"
IOD_UPPER_KEY = "geography/mhclg_iod2019/File_11_-_IoD2019_Local_Authority_District_Summaries__upper-tier__.xlsx"
IOD_LOWER_KEY = "geography/mhclg_iod2019/File_10_-_IoD2019_Local_Authority_District_Summaries__lower-tier__.xlsx"
SHAPE_PARTS = ("shp", "shx", "dbf", "prj", "cpg")
CTYUA_2023_STEM = "geography/ons_ctyua_boundaries_buc/may2023/CTYUA_MAY_2023_UK_BUC"
CTYUA_2021_STEM = "geography/ons_ctyua_boundaries_buc/dec2021/CTYUA_DEC_2021_UK_BUC"
MSOA_BOUNDARY_STEM = "geography/ons_msoa2021_boundaries_bsc/MSOA_2021_EW_BSC"

COUNCIL_PREFIXES = ("E06", "E08", "E09", "E10")

# Councils created since April 2019 and the areas (older councils or lower-tier districts) that
# exactly make them up. Used to put figures published on older codes onto the April 2023 geography.
SUCCESSOR_COMPONENTS: dict[str, tuple[str, ...]] = {
    # Bournemouth, Christchurch and Poole (2019) = Bournemouth + Poole + Christchurch district
    "E06000058": ("E06000028", "E06000029", "E07000048"),
    # Dorset (2019) = Dorset County districts except Christchurch
    "E06000059": ("E07000049", "E07000050", "E07000051", "E07000052", "E07000053"),
    "E06000060": ("E10000002",),  # Buckinghamshire (2020), same area as the county
    # North Northamptonshire (2021) = Corby, East Northamptonshire, Kettering, Wellingborough
    "E06000061": ("E07000150", "E07000152", "E07000153", "E07000156"),
    # West Northamptonshire (2021) = Daventry, Northampton, South Northamptonshire
    "E06000062": ("E07000151", "E07000154", "E07000155"),
    # Cumberland (2023) = Allerdale, Carlisle, Copeland
    "E06000063": ("E07000026", "E07000028", "E07000029"),
    # Westmorland and Furness (2023) = Barrow-in-Furness, Eden, South Lakeland
    "E06000064": ("E07000027", "E07000030", "E07000031"),
    "E06000065": ("E10000023",),  # North Yorkshire (2023), same area as the county
    "E06000066": ("E10000027",),  # Somerset (2023), same area as the county
}

# LTLA22 / UTLA22 -> April 2023 council, for the codes that the December 2022 lookup gets wrong.
LTLA22_TO_UTLA23: dict[str, str] = {
    **{c: "E06000063" for c in SUCCESSOR_COMPONENTS["E06000063"]},
    **{c: "E06000064" for c in SUCCESSOR_COMPONENTS["E06000064"]},
}
UTLA22_TO_UTLA23: dict[str, str] = {"E10000023": "E06000065", "E10000027": "E06000066"}


def is_council(codes: pd.Series) -> pd.Series:
    """True where an ONS code is an upper-tier council code (E06, E08, E09, E10)."""
    return codes.astype("string").str[:3].isin(COUNCIL_PREFIXES).fillna(False).astype(bool)


def level_of(codes: pd.Series) -> pd.Series:
    """``council`` / ``region`` / ``england`` from ONS codes (NA for any other code)."""
    c = codes.astype("string")
    out = pd.Series(pd.NA, index=codes.index, dtype="string")
    out = out.mask(is_council(c), "council").mask(c.str[:3] == "E12", "region")
    return out.mask(c == ENGLAND, "england")


def strict_sum(df: pd.DataFrame, by: list[str], cols: list[str]) -> pd.DataFrame:
    """Sum ``cols`` by ``by`` (keys as columns); a group with any NaN gives NaN, never a partial sum."""
    if not by:
        sums = df[cols].sum(min_count=1).where(df[cols].notna().all())
        return sums.to_frame().T
    grouped = df.groupby(by, sort=False, observed=True)[cols]
    sums = grouped.sum(min_count=1).where(grouped.count().eq(grouped.size(), axis=0))
    return sums.reset_index()


def add_successors(
    df: pd.DataFrame, value_cols: list[str], code_col: str = "code", by: list[str] | None = None
) -> pd.DataFrame:
    """Append rows for councils in :data:`SUCCESSOR_COMPONENTS` missing from ``df``, summing their parts.

    ``by`` lists the other key columns (e.g. ``['sex', 'age']``) within which parts are summed. A
    successor is added only when all its component codes are present; a NaN part gives a NaN sum.
    Returns ``df`` plus the added rows, with column ``successor_of`` (component codes joined by
    '+', empty for rows that were already there).
    """
    out = df.assign(successor_of="")
    present = set(out[code_col].unique())
    pieces = [out]
    all_parts = {p for parts in SUCCESSOR_COMPONENTS.values() for p in parts}
    candidates = out[out[code_col].isin(all_parts)]  # filter the long frame once
    for succ, parts in SUCCESSOR_COMPONENTS.items():
        if succ in present or not set(parts) <= present:
            continue
        comp = candidates[candidates[code_col].isin(parts)]
        sums = strict_sum(comp, by or [], value_cols)
        pieces.append(sums.assign(**{code_col: succ, "successor_of": "+".join(parts)}))
    return pd.concat(pieces, ignore_index=True)


def _read_csv(path: Path, expected: list[str], **kwargs: object) -> pd.DataFrame:
    df = pd.read_csv(path, encoding="utf-8-sig", **kwargs)
    tidy.expect_columns(df.columns, expected, path.name)
    return df


def parse_ltla_utla_lookup(path: Path) -> pd.DataFrame:
    """LTLA22 -> UTLA22 lookup (England) with the April 2023 council of each district.

    Returns columns ``ltla_code, ltla_name, utla22_code, utla22_name, council_code`` where
    ``council_code`` applies :data:`LTLA22_TO_UTLA23` and :data:`UTLA22_TO_UTLA23`.
    """
    cols = ["LTLA22CD", "LTLA22NM", "UTLA22CD", "UTLA22NM"]
    df = _read_csv(path, cols, dtype=str, usecols=lambda c: c in cols)
    df = df[df["LTLA22CD"].str.startswith("E")].rename(
        columns={
            "LTLA22CD": "ltla_code",
            "LTLA22NM": "ltla_name",
            "UTLA22CD": "utla22_code",
            "UTLA22NM": "utla22_name",
        }
    )
    council = df["utla22_code"].replace(UTLA22_TO_UTLA23)
    df["council_code"] = df["ltla_code"].map(LTLA22_TO_UTLA23).fillna(council)
    return df[["ltla_code", "ltla_name", "utla22_code", "utla22_name", "council_code"]].reset_index(
        drop=True
    )


def parse_msoa_lookup(path: Path) -> pd.DataFrame:
    """MSOA 2011 -> MSOA 2021 -> LAD22 lookup, England only.

    Returns ``msoa11_code, msoa11_name, change, msoa21_code, msoa21_name, lad_code`` (one row per
    MSOA11-MSOA21 pair; ``change`` is CHNGIND: U unchanged, S split, M merged, X complex).
    """
    cols = ["MSOA11CD", "MSOA11NM", "CHNGIND", "MSOA21CD", "MSOA21NM", "LAD22CD"]
    df = _read_csv(path, cols, dtype=str, usecols=lambda c: c in cols)
    df = df[df["MSOA21CD"].str.startswith("E")]
    df.columns = ["msoa11_code", "msoa11_name", "change", "msoa21_code", "msoa21_name", "lad_code"]
    return df.reset_index(drop=True)


def parse_sam_lsoa(path: Path) -> pd.DataFrame:
    """LSOA 2021 Standard Area Measurements (England): ``lsoa_code, ltla_code, extent_km2, land_km2``.

    ``land_km2`` (``Land Count``) excludes inland water and is the area used for densities;
    ``extent_km2`` (``Extent of the Realm``) reaches mean low water.
    """
    extent, land = "Extent of the Realm (Area in KM2)", "Land Count (Area in KM2)"
    cols = ["LSOA21CD", extent, land, "LTLA22CD"]
    df = _read_csv(path, cols, usecols=cols, dtype={"LSOA21CD": str, "LTLA22CD": str})
    df = df[df["LSOA21CD"].str.startswith("E")]
    df = df.rename(
        columns={
            "LSOA21CD": "lsoa_code",
            "LTLA22CD": "ltla_code",
            extent: "extent_km2",
            land: "land_km2",
        }
    )
    return df[["lsoa_code", "ltla_code", "extent_km2", "land_km2"]].reset_index(drop=True)


def parse_iod_summary(path: Path) -> pd.DataFrame:
    """IMD average score from an IoD2019 local authority summary workbook (File 10 or 11), sheet ``IMD``.

    Returns ``code, name, imd_average_score`` (2019 local authority codes). The first two columns
    are the code and name; their header names differ between the lower- and upper-tier files.
    """
    df = excel.read_excel(path, sheet_name="IMD")
    df.columns = [str(c).strip() for c in df.columns]  # MHCLG headers end with a space
    tidy.expect_columns(df.columns, ["IMD - Average score"], path.name)
    code, name = df.columns[0], df.columns[1]
    if "code" not in str(code).lower() or "name" not in str(name).lower():
        raise SchemaChangedError(
            path.name, ["<LA> code (2019)", "<LA> name (2019)"], [str(c) for c in df.columns]
        )
    out = df[[code, name, "IMD - Average score"]].dropna(subset=[code])
    out.columns = ["code", "name", "imd_average_score"]
    out["imd_average_score"] = out["imd_average_score"].astype("float64")
    return out.reset_index(drop=True)


def imd_for_councils(
    upper: pd.DataFrame, lower: pd.DataFrame, district_population: pd.Series
) -> pd.DataFrame:
    """IMD 2019 average score for every April 2023 council, with how it was obtained.

    Parameters
    ----------
    upper, lower
        :func:`parse_iod_summary` of the upper-tier (File 11) and lower-tier (File 10) workbooks.
    district_population
        Population by 2019 district code, used as weights (mid-2018 estimates, April 2019 codes).

    Returns
    -------
    DataFrame with ``council_code, imd_average_score, imd_method``.

    Notes
    -----
    MHCLG's "average score" is the population-weighted mean of LSOA scores, so the score of a union
    of districts is the population-weighted mean of the district scores. Councils on their 2019
    area keep MHCLG's published figure; Buckinghamshire, North Yorkshire and Somerset take their
    2019 county's figure (same area); North/West Northamptonshire, Cumberland and Westmorland and
    Furness are population-weighted means of their 2019 districts (weights: ``district_population``,
    not MHCLG's mid-2015 LSOA populations, so they are approximations).
    """
    pub = upper.set_index("code")["imd_average_score"]
    out = pd.DataFrame(
        {
            "council_code": pub.index,
            "imd_average_score": pub.values,
            "imd_method": "published upper tier",
        }
    )
    dist = lower.set_index("code")["imd_average_score"]
    rows = []
    for succ, parts in SUCCESSOR_COMPONENTS.items():
        if succ in pub.index:
            continue
        if len(parts) == 1 and parts[0] in pub.index:
            rows.append((succ, pub[parts[0]], f"published upper tier of {parts[0]} (same area)"))
            continue
        w = district_population.reindex(list(parts))
        s = dist.reindex(list(parts))
        ok = w.notna().all() and s.notna().all()
        score = float(np.average(s, weights=w)) if ok else np.nan
        rows.append(
            (
                succ,
                score,
                f"population-weighted mean of 2019 districts {'+'.join(parts)} ({tidy.FLAG_APPROXIMATION})",
            )
        )
    extra = pd.DataFrame(rows, columns=["council_code", "imd_average_score", "imd_method"])
    return pd.concat([out, extra], ignore_index=True)


def _read_shapes(path: Path):  # -> gpd.GeoDataFrame
    """Read a shapefile, repairing invalid polygons (self-intersections left by generalisation)."""
    import geopandas as gpd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pyogrio notes on .cpg encodings
        gdf = gpd.read_file(path, engine="pyogrio")
    bad = ~gdf.geometry.is_valid
    if bad.any():
        gdf.loc[bad, "geometry"] = gdf.geometry[bad].buffer(0)
    return gdf


def parse_council_boundaries(path: Path, vintage: str):  # -> gpd.GeoDataFrame
    """England upper-tier council polygons from a CTYUA BUC shapefile (``vintage`` e.g. ``'23'``, ``'21'``).

    Returns ``council_code, council_name, geometry`` in EPSG:27700, sorted by code.
    """
    gdf = _read_shapes(path)
    code, name = f"CTYUA{vintage}CD", f"CTYUA{vintage}NM"
    tidy.expect_columns(gdf.columns, [code, name, "geometry"], path.name)
    gdf = gdf[gdf[code].str.startswith("E")].rename(
        columns={code: "council_code", name: "council_name"}
    )
    gdf = gdf[["council_code", "council_name", "geometry"]]
    if gdf.crs is None or gdf.crs.to_epsg() != 27700:
        gdf = gdf.set_crs(27700, allow_override=True) if gdf.crs is None else gdf.to_crs(27700)
    return gdf.sort_values("council_code").reset_index(drop=True)


def parse_msoa_boundaries(
    path: Path, msoa_lookup: pd.DataFrame, ltla_lookup: pd.DataFrame
):  # -> GeoDataFrame
    """England MSOA 2021 polygons with their April 2023 council: ``msoa_code, msoa_name, council_code, geometry``."""
    gdf = _read_shapes(path)
    tidy.expect_columns(gdf.columns, ["MSOA21CD", "MSOA21NM", "geometry"], path.name)
    gdf = gdf[gdf["MSOA21CD"].str.startswith("E")].rename(
        columns={"MSOA21CD": "msoa_code", "MSOA21NM": "msoa_name"}
    )
    lad = msoa_lookup.drop_duplicates("msoa21_code").set_index("msoa21_code")["lad_code"]
    council = ltla_lookup.set_index("ltla_code")["council_code"]
    gdf["council_code"] = gdf["msoa_code"].map(lad).map(council)
    if gdf.crs is None or gdf.crs.to_epsg() != 27700:
        gdf = gdf.to_crs(27700)
    return (
        gdf[["msoa_code", "msoa_name", "council_code", "geometry"]]
        .sort_values("msoa_code")
        .reset_index(drop=True)
    )


def fetch_shapefile(stem: str) -> Path:
    """Fetch (and hash-check) every part of a shapefile; return the ``.shp`` path."""
    paths = [fetch(f"{stem}.{ext}") for ext in SHAPE_PARTS]
    return paths[0]


def ltla_lookup() -> pd.DataFrame:
    """:func:`parse_ltla_utla_lookup` of the registered December 2022 lookup."""
    return parse_ltla_utla_lookup(fetch(LTLA_UTLA_KEY))


def make_boundaries_council():  # -> gpd.GeoDataFrame
    """Upper-tier council boundaries, May 2023 (153 English councils)."""
    return parse_council_boundaries(fetch_shapefile(CTYUA_2023_STEM), "23")


def make_boundaries_council_2021():  # -> gpd.GeoDataFrame
    """Upper-tier council boundaries, December 2021 (152 English councils)."""
    return parse_council_boundaries(fetch_shapefile(CTYUA_2021_STEM), "21")


def make_boundaries_msoa():  # -> gpd.GeoDataFrame
    """MSOA 2021 boundaries (England, 6,856) with their April 2023 council."""
    msoa = parse_msoa_lookup(fetch(MSOA_LOOKUP_KEY))
    return parse_msoa_boundaries(fetch_shapefile(MSOA_BOUNDARY_STEM), msoa, ltla_lookup())


TABLES: list[TableSpec] = [
    TableSpec(
        "boundaries_council",
        tuple(f"{CTYUA_2023_STEM}.{e}" for e in SHAPE_PARTS),
        make_boundaries_council,
        tidy=False,
        description="Council (CTYUA) boundaries May 2023, England, BUC, EPSG:27700 (GeoParquet)",
    ),
    TableSpec(
        "boundaries_council_2021",
        tuple(f"{CTYUA_2021_STEM}.{e}" for e in SHAPE_PARTS),
        make_boundaries_council_2021,
        tidy=False,
        description="Council (CTYUA) boundaries December 2021, England, BUC, EPSG:27700 (GeoParquet)",
    ),
    TableSpec(
        "boundaries_msoa",
        (*(f"{MSOA_BOUNDARY_STEM}.{e}" for e in SHAPE_PARTS), MSOA_LOOKUP_KEY, LTLA_UTLA_KEY),
        make_boundaries_msoa,
        tidy=False,
        description="MSOA 2021 boundaries, England, BSC, with April 2023 council (GeoParquet)",
    ),
]
