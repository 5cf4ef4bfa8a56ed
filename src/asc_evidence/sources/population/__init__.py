"""Population: ONS mid-year estimates, projections, Census 2021 and small areas; the council profile.

One module per publication: :mod:`.mye` (mid-year estimates), :mod:`.projections` (2018-based SNPP
and NPP), :mod:`.census` (Census 2021 TS007), :mod:`.small_areas` (MSOA estimates), with
:mod:`.bands` (age bands and shared helpers) and :mod:`.profile` (the statistical-neighbour inputs,
from several of them). Everything is importable from this package as before.

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

from asc_evidence.build import TableSpec
from asc_evidence.sources import geography as geo
from asc_evidence.sources.population.bands import (
    AGE_BANDS,
    AGGREGATE_BANDS,
    FIVE_YEAR_BANDS,
    REGION_NAMES,
    band_weights,
    single_year_sources,
    to_age_bands,
)
from asc_evidence.sources.population.census import (
    C21_DIR,
    GEO_CODE,
    NSSEC,
    NSSEC_ROUTINE,
    NSSEC_TOTAL,
    TENURE_OWNED,
    TENURE_TOTAL,
    TS007_CTRY_KEY,
    TS007_DIR,
    TS007_LTLA_KEY,
    TS007_RGN_KEY,
    TS007A_LSOA_KEY,
    TS007A_TOTAL,
    TS054_LTLA_KEY,
    TS062_LTLA_KEY,
    districts_to_councils,
    make_census2021_age,
    parse_census2021_age,
    parse_ts007,
)
from asc_evidence.sources.population.mye import (
    MYE_COLUMNS,
    MYE_DIR,
    MYE_FILES,
    MYE_SHEETS,
    make_population_mye,
    parse_mye,
    parse_mye2_grid,
)
from asc_evidence.sources.population.profile import (
    PROFILE_COLUMNS,
    SPARSE_PER_KM2,
    SUPER_SPARSE_PER_KM2,
    build_council_profile,
    make_council_profile,
    mye_2018_district_population,
    read_census_counts,
    sparsity_and_density,
)
from asc_evidence.sources.population.projections import (
    NPP_DIR,
    NPP_VARIANTS,
    SNPP_2018_KEY,
    SNPP_SOURCES,
    SNPP_YEARS,
    make_population_projection,
    make_population_projection_variants,
    npp_key,
    parse_npp_population,
    parse_snpp_2018,
)
from asc_evidence.sources.population.small_areas import (
    MSOA_2019_KEY,
    MSOA_2021_KEY,
    MSOA_COLUMNS,
    census_age_label,
    make_population_msoa,
    parse_msoa_2019,
    parse_msoa_2021,
)

__all__ = [
    "AGE_BANDS",
    "AGGREGATE_BANDS",
    "C21_DIR",
    "FIVE_YEAR_BANDS",
    "GEO_CODE",
    "MSOA_2019_KEY",
    "MSOA_2021_KEY",
    "MSOA_COLUMNS",
    "MYE_COLUMNS",
    "MYE_DIR",
    "MYE_FILES",
    "MYE_SHEETS",
    "NPP_DIR",
    "NPP_VARIANTS",
    "NSSEC",
    "NSSEC_ROUTINE",
    "NSSEC_TOTAL",
    "PROFILE_COLUMNS",
    "REGION_NAMES",
    "SNPP_2018_KEY",
    "SNPP_SOURCES",
    "SNPP_YEARS",
    "SPARSE_PER_KM2",
    "SUPER_SPARSE_PER_KM2",
    "TABLES",
    "TENURE_OWNED",
    "TENURE_TOTAL",
    "TS007A_LSOA_KEY",
    "TS007A_TOTAL",
    "TS007_CTRY_KEY",
    "TS007_DIR",
    "TS007_LTLA_KEY",
    "TS007_RGN_KEY",
    "TS054_LTLA_KEY",
    "TS062_LTLA_KEY",
    "band_weights",
    "build_council_profile",
    "census_age_label",
    "districts_to_councils",
    "make_census2021_age",
    "make_council_profile",
    "make_population_msoa",
    "make_population_mye",
    "make_population_projection",
    "make_population_projection_variants",
    "mye_2018_district_population",
    "npp_key",
    "parse_census2021_age",
    "parse_msoa_2019",
    "parse_msoa_2021",
    "parse_mye",
    "parse_mye2_grid",
    "parse_npp_population",
    "parse_snpp_2018",
    "parse_ts007",
    "read_census_counts",
    "single_year_sources",
    "sparsity_and_density",
    "to_age_bands",
]

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
