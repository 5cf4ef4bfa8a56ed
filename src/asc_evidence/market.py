"""The care market: supply (care-home beds) and price (paid, in-house, Fair Cost of Care) by council.

Councils asked for "market intelligence and an evidence base" before setting prices, after a home-care
price set at the peer average "then failed". This module sets the supply of care and the price paid
next to the demand projected for the same area.

**Capacity** (:func:`capacity_from_tables`, :func:`capacity_summary`, :func:`capacity_sentence`):
registered care-home beds (CQC care directory, 1 February 2021: all beds, beds in homes registered
with nursing, and the rest) per 1,000 people aged 75+ and 85+ at mid-2021 (ONS mid-year estimate)
and at the 2018-based SNPP populations of 2030 and 2035, with the range of the ONS national variant
projections applied as in :mod:`asc_evidence.demand`; the beds needed to keep the 2021 ratio and the
gap to the beds of 2021. England and neighbours are pooled: summed beds / summed population of
distinct areas with a figure.

**Price** (:func:`price_from_tables`, :func:`price_series`, :func:`price_figure`): the price paid
for home care (per hour, 18+) and care homes (per week, 65+: residential, nursing) against the
council's own in-house unit cost and its Fair Cost of Care 2022 median, each labelled by ``basis``
(the source and definition); segments of different bases are never joined. In-house unit costs that
rest on very little activity or sit far outside the distribution are flagged
(:func:`flag_in_house`) and drawn hollow.

Geography (the package rule, :func:`asc_evidence.councils.to_current_geography`): the CQC snapshot
is on the councils of February 2021. North Yorkshire and Somerset (recoded 2023, same area) are the
current councils; Northamptonshire (split April 2021) and Cumbria (split April 2023) are shown for
each successor as the predecessor area, flagged ``predecessor area``: beds cannot be divided from
the published counts. Prices follow the same rule (Somerset's ASC-FR rows under ``E10000027`` are
Somerset's; Cumberland shows Cumbria's figures before 2023, flagged).

Assumptions and weaknesses
--------------------------
1. Beds are registered places (CQC), all ages and client groups (older people, learning
   disability, mental health), any funder, not occupied or available beds; the per-1,000 ratios use
   the 75+ and 85+ populations as the main users, so they are indicators of supply, not of
   occupancy or unmet need. The source aggregates are secondary (British Red Cross, from the
   official CQC file); its "without nursing" column in fact counts homes *with* nursing (fixed in
   the build), and beds without nursing are derived as all beds minus those.
2. "Beds needed to keep today's ratio" = beds per 1,000 (mid-2021) x projected population / 1,000:
   no change in length of stay, the balance with home care, or the share of self-funders. The 2021
   level of the 2018-based SNPP differs from the Census-based mid-2021 estimate (England 75+:
   +2.4%); projected needs inherit that difference (:func:`capacity_notes` gives the council's).
3. The variant range applies England's variant/principal ratios to the council's SNPP
   (:func:`asc_evidence.demand.apply_variants`): an outer range of population futures, not a
   confidence interval; local migration uncertainty is likely larger.
4. Prices are cash prices of their year (no inflation adjustment). PSS-EX1 "price paid" is the
   unit cost of care bought from the independent sector (gross spend / activity), ASC-FR's the
   average weighted rate paid to external providers; the two are not strictly comparable, nor is
   the Fair Cost of Care median (a cost survey of providers, 2022-23 prices, extracted from council
   PDFs by The Health Foundation, 18+ home care).

References
----------
.. [1] Iglewicz, B. and Hoaglin, D. C. (1993). *How to Detect and Handle Outliers*. ASQC Quality
   Press (modified z-score, 0.6745 (x - median) / MAD, outliers above 3.5).
.. [2] Care Quality Commission. *HSCA Active Locations*, 1 February 2021 (care directory).
.. [3] Department of Health and Social Care (2022). *Market sustainability and fair cost of care
   fund 2022 to 2023: guidance* (cost of care exercises).
"""

from __future__ import annotations

from functools import cache, lru_cache

import numpy as np
import pandas as pd

from asc_evidence import build
from asc_evidence.common import ENGLAND, add_flag
from asc_evidence.councils import (
    BOUNDARY_CHANGES,
    register_by_code,
    require_current,
    to_current_geography,
)
from asc_evidence.demand.inputs import (
    PRINCIPAL,
    _persons,
    apply_variants,
    snpp_frame,
    variant_ratios,
)
from asc_evidence.errors import AscEvidenceError
from asc_evidence.indicators import register_cache

# ---------------------------------------------------------------------------------------------
# constants

#: CQC measure -> bed type label, in display order.
BED_TYPES: dict[str, str] = {
    "care_home_beds": "all care-home beds",
    "care_home_beds_nursing": "with nursing",
    "care_home_beds_without_nursing_derived": "without nursing",
}
CAPACITY_BANDS: tuple[str, ...] = ("75+", "85+")
CAPACITY_YEARS: tuple[int, ...] = (2030, 2035)
#: Mid-year of the population the 2021 beds are set against.
BEDS_BASE_YEAR = 2021
BEDS_DATE = "1 February 2021"
SOURCE_BEDS = (
    "CQC care directory (HSCA Active Locations, 1 February 2021; aggregates by the British Red "
    "Cross); ONS mid-2021 population estimates; ONS 2018-based subnational and national variant "
    "population projections"
)

HOME_CARE = "home care, £ per hour"
RESIDENTIAL = "residential care 65+, £ per week"
NURSING = "nursing care 65+, £ per week"
SERVICES: tuple[str, ...] = (HOME_CARE, RESIDENTIAL, NURSING)
PAID = "price paid"
IN_HOUSE = "in-house unit cost"
FCOC = "Fair Cost of Care median"
NEIGHBOURS_PAID = "neighbours' median price paid"

PSS_PAID = "PSS-EX1: unit cost of care bought from the independent sector"
PSS_OWN = "PSS-EX1: in-house unit cost"
PSS_1415 = "PSS-EX1 2014-15 (summed over support reasons)"
ASCFR_PAID = "ASC-FR: average rate paid to external providers"
ASCFR_OWN = "ASC-FR: in-house unit cost"
FCOC_BASIS = "Fair Cost of Care 2022: median cost of care (extracted)"

#: (table, measure, age band, service, series, basis); the 2014-15 PSS-EX1 rows get PSS_1415.
PRICE_MEASURES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("unit_costs", "fee_home_care_hour_independent", "18+", HOME_CARE, PAID, PSS_PAID),
    ("unit_costs", "unit_cost_home_care_hour_own", "18+", HOME_CARE, IN_HOUSE, PSS_OWN),
    ("ascfr_2021_22", "fee_home_care_hour_external", "18+", HOME_CARE, PAID, ASCFR_PAID),
    ("ascfr_2021_22", "unit_cost_home_care_hour_own", "18+", HOME_CARE, IN_HOUSE, ASCFR_OWN),
    ("fair_cost_of_care_2022", "fcoc_home_care_hour_median", "18+", HOME_CARE, FCOC, FCOC_BASIS),
    ("unit_costs", "fee_residential_65_week_independent", "65+", RESIDENTIAL, PAID, PSS_PAID),
    ("unit_costs", "unit_cost_residential_65_week_own", "65+", RESIDENTIAL, IN_HOUSE, PSS_OWN),
    ("ascfr_2021_22", "fee_residential_65_week_external", "65+", RESIDENTIAL, PAID, ASCFR_PAID),
    ("ascfr_2021_22", "unit_cost_residential_65_week_own", "65+", RESIDENTIAL, IN_HOUSE, ASCFR_OWN),
    (
        "fair_cost_of_care_2022",
        "fcoc_care_home_65_week_median_without_nursing",
        "65+",
        RESIDENTIAL,
        FCOC,
        FCOC_BASIS,
    ),
    ("unit_costs", "fee_nursing_65_week_independent", "65+", NURSING, PAID, PSS_PAID),
    ("ascfr_2021_22", "fee_nursing_65_week_external", "65+", NURSING, PAID, ASCFR_PAID),
    (
        "fair_cost_of_care_2022",
        "fcoc_care_home_65_week_median_with_nursing",
        "65+",
        NURSING,
        FCOC,
        FCOC_BASIS,
    ),
)
#: PSS-EX1 activity of all providers (hours, weeks) for the in-house share, by service.
ALL_PROVIDERS: dict[str, str] = {
    HOME_CARE: "unit_cost_home_care_hour_all",
    RESIDENTIAL: "unit_cost_residential_65_week_all",
}
#: The in-house flag rule (see :func:`flag_in_house`).
OUTLIER_Z = 3.5
SMALL_SHARE = 0.05
PRICE_MULTIPLE = 5.0
SOURCE_PRICES = (
    "PSS-EX1 unit costs (NHS Digital/DH) 2008-09 to 2014-15; NHS Digital ASC-FR 2020-21 and "
    "2021-22; councils' Fair Cost of Care 2022 reports as extracted by The Health Foundation"
)


class MarketInputError(AscEvidenceError, ValueError):
    """A table passed to the market functions lacks the rows the method needs, or an argument
    is outside what the data cover (e.g. a projection year not computed)."""


# ---------------------------------------------------------------------------------------------
# capacity: beds against projected population


def beds_by_council(cqc: pd.DataFrame) -> pd.DataFrame:
    """CQC beds by bed type on today's councils (the package's geography rule).

    Returns
    -------
    pandas.DataFrame
        ``council_code, area_code, geography, bed_type, beds, flag``: one row per current council
        and bed type. ``area_code`` is the area the count describes (Northamptonshire for North and
        West Northamptonshire; Cumbria for Cumberland and Westmorland and Furness), ``geography``
        one of ``current``, ``recoded`` (North Yorkshire, Somerset: same area) or ``predecessor
        area``. A bed type the source lacks for an area (City of London, Isles of Scilly: nursing)
        is NaN, never zero.
    """
    parts = []
    for measure, label in BED_TYPES.items():
        sub = cqc[cqc["measure"] == measure]
        if sub.empty:
            msg = f"The CQC beds table has no {measure!r} rows."
            raise MarketInputError(msg)
        mapped = to_current_geography(sub, period_kind="month")
        parts.append(mapped.assign(bed_type=label))
    out = pd.concat(parts, ignore_index=True)
    out = out[out["level"].fillna("council") == "council"]
    out = out.rename(columns={"value": "beds"})
    # every council has a row of every bed type: one the source lacks is NaN, with the reason
    first = out.drop_duplicates("council_code").set_index("council_code")
    grid = pd.MultiIndex.from_product(
        [first.index, list(BED_TYPES.values())], names=["council_code", "bed_type"]
    )
    out = out.set_index(["council_code", "bed_type"]).reindex(grid).reset_index()
    gap = out["beds"].isna() & out["area_code"].isna()
    for col in ("area_code", "geography"):
        out[col] = out[col].fillna(out["council_code"].map(first[col]))
    out["flag"] = add_flag(
        out["flag"].fillna(""), "no count of this bed type in the CQC aggregates", gap
    )
    cols = ["council_code", "area_code", "geography", "bed_type", "beds", "flag"]
    return out[cols].reset_index(drop=True)


def _fill_partitions(pop: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Add a split predecessor's population as the sum of its successors where it has none.

    Only for splits into two or more successors that together cover the predecessor's area
    (Northamptonshire, Cumbria); Dorset County (less Christchurch) is not a sum of successors.
    """
    extra = []
    have = set(pop["area_code"])
    for ch in BOUNDARY_CHANGES:
        if ch.kind != "split" or len(ch.successors) < 2 or len(ch.predecessors) != 1:
            continue
        (pred,) = ch.predecessors
        if pred in have or not set(ch.successors) <= have:
            continue
        summed = pop[pop["area_code"].isin(ch.successors)].groupby(keys, as_index=False)
        extra.append(summed["population"].sum(min_count=1).assign(area_code=pred))
    return pd.concat([pop, *extra], ignore_index=True) if extra else pop


def area_populations(
    mye: pd.DataFrame,
    snpp: pd.DataFrame,
    npp: pd.DataFrame,
    areas: list[str],
    bands: tuple[str, ...] = CAPACITY_BANDS,
    years: tuple[int, ...] = CAPACITY_YEARS,
) -> pd.DataFrame:
    """Mid-2021 estimate and projected populations (every variant) of ``areas``.

    Returns ``area_code, age_band, year, variant, population``: ``year`` 2021 from the mid-year
    estimate (principal only), later years from the SNPP x England's variant ratios. A split
    predecessor missing from a table (Northamptonshire at mid-2021) is the sum of its successors.
    Raises :class:`MarketInputError` when an area has no population.
    """
    base = _persons(mye, str(BEDS_BASE_YEAR), bands).rename(
        columns={"council_code": "area_code", "value": "population"}
    )[["area_code", "age_band", "population"]]
    base = _fill_partitions(base, ["age_band"])
    base = base[base["area_code"].isin(areas)].assign(year=BEDS_BASE_YEAR, variant=PRINCIPAL)
    sel = snpp[(snpp["sex"] == "persons") & snpp["period"].isin([str(y) for y in years])]
    sel = sel.rename(columns={"value": "population", "council_code": "area_code"})
    sel = _fill_partitions(
        sel[["area_code", "period", "age_band", "population"]], ["period", "age_band"]
    ).rename(columns={"area_code": "council_code", "population": "value"})
    sel = sel.assign(sex="persons")
    proj = apply_variants(snpp_frame(sel, areas, bands), variant_ratios(npp))
    out = pd.concat(
        [base, proj[["area_code", "age_band", "year", "variant", "population"]]],
        ignore_index=True,
    )
    want = pd.MultiIndex.from_product([areas, bands, (BEDS_BASE_YEAR, *years)])
    got = pd.MultiIndex.from_frame(out[["area_code", "age_band", "year"]].dropna())
    missing = want.difference(got[out["population"].notna().to_numpy()])
    if len(missing):
        msg = f"No population for (area, age band, year) {list(missing)[:5]}."
        raise MarketInputError(msg)
    return out


def _stats(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Ratios, needs and gaps per ``keys + [bed_type, age_band, year]`` from beds and populations
    by variant (year ``BEDS_BASE_YEAR``: today's ratio; later years: principal and range)."""
    k = [*keys, "bed_type", "age_band"]
    base = frame[frame["year"] == BEDS_BASE_YEAR].set_index(k)
    ratio = (base["beds"] * 1000 / base["population"]).rename("ratio")
    f = frame.join(ratio, on=k)
    f["per_1000"] = f["beds"] * 1000 / f["population"]
    f["needed"] = f["ratio"] * f["population"] / 1000
    g = f.groupby([*k, "year"], sort=False)
    central = f[f["variant"] == PRINCIPAL].set_index([*k, "year"])
    out = pd.DataFrame(
        {
            "beds": central["beds"],
            "population": central["population"],
            "population_low": g["population"].min(),
            "population_high": g["population"].max(),
            "beds_per_1000": central["per_1000"],
            "beds_per_1000_low": g["per_1000"].min(),
            "beds_per_1000_high": g["per_1000"].max(),
            "beds_needed": central["needed"],
            "beds_needed_low": g["needed"].min(),
            "beds_needed_high": g["needed"].max(),
        }
    )
    for s in ("", "_low", "_high"):
        out[f"extra_beds{s}"] = out[f"beds_needed{s}"] - out["beds"]
    return out.reset_index()


def _sorted(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Sort with bed types in :data:`BED_TYPES` order (deterministic output)."""
    rank = df["bed_type"].map({b: i for i, b in enumerate(BED_TYPES.values())})
    out = df.assign(_rank=rank).sort_values([c if c != "bed_type" else "_rank" for c in by])
    return out.drop(columns="_rank").reset_index(drop=True)


def _area_frame(beds: pd.DataFrame, pops: pd.DataFrame) -> pd.DataFrame:
    """Beds of each distinct area x its populations: ``area_code, bed_type, age_band, year,
    variant, beds, population``."""
    areas = beds.drop_duplicates(["area_code", "bed_type"])[["area_code", "bed_type", "beds"]]
    return areas.merge(pops, on="area_code", how="inner")


def pooled(area_frame: pd.DataFrame, areas: list[str], label: str) -> pd.DataFrame:
    """Pooled capacity of ``areas``: summed beds / summed population, per bed type, band, year and
    variant, over the areas with a count of that bed type (each area once).

    Returns :func:`_stats` columns with ``area_code = label`` and ``n_areas``.
    """
    sel = area_frame[area_frame["area_code"].isin(set(areas)) & area_frame["beds"].notna()]
    keys = ["bed_type", "age_band", "year", "variant"]
    sums = sel.groupby(keys, as_index=False)[["beds", "population"]].sum()
    n = sel.groupby("bed_type")["area_code"].nunique().rename("n_areas")
    out = _stats(sums.assign(area_code=label), ["area_code"])
    return out.join(n, on="bed_type")


def capacity_from_tables(
    cqc: pd.DataFrame,
    mye: pd.DataFrame,
    snpp: pd.DataFrame,
    npp: pd.DataFrame,
    years: tuple[int, ...] = CAPACITY_YEARS,
    bands: tuple[str, ...] = CAPACITY_BANDS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Care-home capacity of every current council and England, now and at projected populations.

    Computed once for all councils (a council selects rows).

    Parameters
    ----------
    cqc
        Tidy CQC beds table (``cqc_beds_2021``), measures of :data:`BED_TYPES`, 2021 councils.
    mye, snpp, npp
        Tidy mid-year estimates (``population_mye``), 2018-based SNPP (``population_projection``)
        and national variant projections (``population_projection_variants``).
    years, bands
        Projection years and age bands.

    Returns
    -------
    (table, area_frame)
        ``table``: one row per council (and ``E92000001`` England, pooled over all areas with a
        count) x bed type x age band x year (2021 and ``years``) with ``council_code, area_code,
        geography, flag, bed_type, age_band, year, beds, population[_low|_high],
        beds_per_1000[_low|_high], beds_needed[_low|_high], extra_beds[_low|_high]``. In 2021
        ``population`` is the mid-year estimate and ``beds_needed`` the beds. ``beds_per_1000`` in
        a projected year: the 2021 beds over the projected population (no new beds); ``_low`` and
        ``_high``: lowest and highest over the variant projections. ``area_frame``: the per-area
        beds and populations by variant, for pooling neighbours (:func:`pooled`).
    """
    beds = beds_by_council(cqc)
    areas = sorted(set(beds["area_code"]))
    pops = area_populations(mye, snpp, npp, areas, bands, years)
    frame = _area_frame(beds, pops)
    by_area = _stats(frame, ["area_code"])
    table = beds[["council_code", "area_code", "geography", "bed_type", "flag"]].merge(
        by_area, on=["area_code", "bed_type"], how="left"
    )
    eng = pooled(frame, areas, ENGLAND).drop(columns="n_areas")
    eng = eng.assign(council_code=ENGLAND, geography="current", flag="pooled over all councils")
    table = pd.concat([table, eng], ignore_index=True)
    table = _sorted(table, ["council_code", "bed_type", "age_band", "year"])
    return table, frame


@register_cache
@cache
def capacity_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`capacity_from_tables` on the processed tables (cached per process)."""
    from asc_evidence import evidence

    stored = evidence.capacity_tables()  # the national evidence tables, when built and fresh
    if stored is not None:
        return stored
    return capacity_from_tables(
        build.load("cqc_beds_2021"),
        build.load("population_mye"),
        build.load("population_projection"),
        build.load("population_projection_variants"),
    )


@register_cache
@lru_cache(maxsize=4)
def _pooled_neighbours(areas: tuple[str, ...]) -> pd.DataFrame:
    """:func:`pooled` capacity of the neighbours' ``areas`` (remembered: a council's report asks
    for its neighbours' capacity five times; callers copy before changing it)."""
    return pooled(capacity_tables()[1], list(areas), "neighbours")


def capacity_for(council_code: str, neighbours: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """The council's capacity rows with its neighbours (pooled) and England, ``role`` labelled.

    Neighbours are pooled over their distinct areas, leaving out the council's own area (two
    successors of one split county share it). Raises for an abolished or unknown council.
    """
    council = require_current(council_code)
    table, frame = capacity_tables()
    mine = table[table["council_code"] == council.code]
    if mine.empty:
        msg = f"No care-home beds for {council.name} ({council.code}) in the CQC table."
        raise MarketInputError(msg)
    own_area = mine["area_code"].iloc[0]
    nb = table[table["council_code"].isin(neighbours)]
    nb_areas = sorted(set(nb["area_code"]) - {own_area})
    parts = [mine.assign(role="council")]
    if nb_areas:
        parts.append(_pooled_neighbours(tuple(nb_areas)).assign(role="neighbours"))
    parts.append(table[table["council_code"] == ENGLAND].assign(role="England"))
    return pd.concat(parts, ignore_index=True)


def capacity_summary(
    council_code: str,
    neighbours: tuple[str, ...] | list[str],
    ages: tuple[str, ...] = CAPACITY_BANDS,
    bed_types: tuple[str, ...] = tuple(BED_TYPES.values()),
) -> pd.DataFrame:
    """Care-home beds against projected demand, for the council: one row per bed type, age band
    and year (2021, then the projection years), plain column names, rounded, fixed order.

    Columns: ``beds, aged, year, population, beds per 1,000, neighbours per 1,000, England per
    1,000, beds needed, needed (low), needed (high), extra beds needed``. In 2021 ``beds needed``
    is the beds counted (1 February 2021) and the population the mid-2021 estimate; in 2030 and
    2035 ``beds per 1,000`` keeps the 2021 beds (no new beds), ``beds needed`` keeps the 2021
    ratio at the projected population (2018-based SNPP, principal), low/high over the ONS variant
    projections, and ``extra beds needed`` = beds needed - beds of 2021.
    """
    rows = capacity_for(council_code, neighbours)
    rows = rows[rows["age_band"].isin(ages) & rows["bed_type"].isin(bed_types)]
    key = ["bed_type", "age_band", "year"]
    mine = rows[rows["role"] == "council"].set_index(key)
    per = rows.pivot_table(index=key, columns="role", values="beds_per_1000", aggfunc="first")
    per = per.reindex(index=mine.index, columns=["council", "neighbours", "England"])
    out = pd.DataFrame(
        {
            "population": mine["population"].round().astype("Int64"),
            "beds per 1,000": mine["beds_per_1000"].round(1),
            "neighbours per 1,000": per["neighbours"].round(1),
            "England per 1,000": per["England"].round(1),
            "beds needed": mine["beds_needed"].round().astype("Int64"),
            "needed (low)": mine["beds_needed_low"].round().astype("Int64"),
            "needed (high)": mine["beds_needed_high"].round().astype("Int64"),
            "extra beds needed": mine["extra_beds"].round().astype("Int64"),
        }
    )
    out = _sorted(out.reset_index(), ["bed_type", "age_band", "year"])
    return out.rename(columns={"bed_type": "beds", "age_band": "aged"})


def capacity_notes(council_code: str) -> list[str]:
    """Geography and projection notes for the council's capacity figures (assumptions 1-3)."""
    council = require_current(council_code)
    table, _ = capacity_tables()
    mine = table[table["council_code"] == council.code]
    notes = [
        f"Beds: registered care-home places on {BEDS_DATE} (CQC), all ages and client groups, any "
        "funder; 'without nursing' is all beds minus beds in homes registered with nursing.",
    ]
    flags = sorted({f for f in mine["flag"].dropna() if f})
    names = register_by_code()["name"]
    area = mine["area_code"].iloc[0] if len(mine) else council.code
    if len(mine) and mine["geography"].iloc[0] == "predecessor area":
        notes.append(
            f"{council.name} did not exist in February 2021: the figures are for "
            f"{names.get(area, area)} ({area}), the predecessor area, beds and populations alike; "
            "beds cannot be divided between successors from the published counts."
        )
    boundary = [p for f in flags for p in f.split("; ") if p.startswith("boundary:")]
    notes += [
        f"Geography: {p.removeprefix('boundary: ')}."
        for p in dict.fromkeys(boundary)
        if "predecessor area" not in p
    ]
    base = mine[(mine["year"] == BEDS_BASE_YEAR) & (mine["age_band"] == "75+")]
    snpp = build.load("population_projection")
    s = snpp[
        (snpp["council_code"] == area)
        & (snpp["period"] == str(BEDS_BASE_YEAR))
        & (snpp["age_band"] == "75+")
    ]
    if len(base) and len(s):
        diff = s["value"].iloc[0] / base["population"].iloc[0] - 1
        notes.append(
            f"The 2018-based projection of the 75+ population for mid-2021 is {diff:+.1%} against "
            "the Census-based mid-2021 estimate; beds needed at projected populations inherit "
            "that difference."
        )
    notes.append(
        "Beds needed keep the 2021 ratio of beds to people at the projected population; the range "
        "applies England's variant projections (population, life expectancy, migration) to the "
        "council, not a confidence interval."
    )
    return notes


def capacity_sentence(
    council_code: str, neighbours: tuple[str, ...] | list[str], age: str = "75+", year: int = 2035
) -> str:
    """One sentence: beds now, per 1,000 aged ``age`` against neighbours and England, and the beds
    needed in ``year`` to keep that ratio (variant range) with the gap to today's beds."""
    council = require_current(council_code)
    rows = capacity_for(council.code, neighbours)
    allb = rows[(rows["bed_type"] == "all care-home beds") & (rows["age_band"] == age)]
    now = allb[allb["year"] == BEDS_BASE_YEAR].set_index("role")
    then = allb[(allb["year"] == year) & (allb["role"] == "council")]
    if then.empty:
        msg = f"year must be one of {CAPACITY_YEARS}, not {year!r}"
        raise MarketInputError(msg)
    me, fut = now.loc["council"], then.iloc[0]
    nursing = rows[
        (rows["role"] == "council")
        & (rows["bed_type"] == "with nursing")
        & (rows["year"] == BEDS_BASE_YEAR)
        & (rows["age_band"] == age)
    ]["beds"]
    nurse = (
        f" ({nursing.iloc[0]:,.0f} with nursing)"
        if len(nursing) and pd.notna(nursing.iloc[0])
        else ""
    )
    names = register_by_code()["name"]
    where = (
        f" (figures for {names.get(me['area_code'], me['area_code'])}, the predecessor area)"
        if me["geography"] == "predecessor area"
        else ""
    )
    nb = (
        f"neighbours {now.loc['neighbours', 'beds_per_1000']:.1f}, "
        if "neighbours" in now.index
        else ""
    )
    head = f"{council.name}{where} had "
    eng = f"England {now.loc['England', 'beds_per_1000']:.1f}"
    if me["beds"] == 0:
        return (
            f"{head}no registered care-home beds on {BEDS_DATE} ({eng} per 1,000 people aged "
            f"{age}), so there is no ratio to carry forward."
        )
    extra = fut["extra_beds"]
    gap = _about(abs(extra))
    if gap == "0":
        gap_words = "about the same as in 2021"
    else:
        gap_words = f"{gap} {'more' if extra > 0 else 'fewer'} than in 2021"
    return (
        f"{head}{me['beds']:,.0f} registered care-home beds{nurse} on {BEDS_DATE}, "
        f"{me['beds_per_1000']:.1f} per 1,000 people aged {age} ({nb}{eng}); keeping that ratio "
        f"at the projected {age} population would take about {_about(fut['beds_needed'])} beds by {year} "
        f"({_about(fut['beds_needed_low'])} to {_about(fut['beds_needed_high'])} across the ONS "
        f"variant projections), {gap_words}."
    )


def _about(x: float) -> str:
    """A count for words: whole numbers under 100, else 3 significant figures to at least the
    nearest 10 (14.6 -> 15, 644 -> 640, 1,937 -> 1,940)."""
    if not np.isfinite(x):
        return "an unknown number of"
    if abs(x) < 100:
        return f"{x:,.0f}"
    digits = max(1, len(str(int(abs(x)))) - 3)
    return f"{round(x, -digits):,.0f}"


def plot_capacity(council_code: str, neighbours: tuple[str, ...] | list[str], age: str = "75+"):
    """Beds in 2021 against beds needed to keep the 2021 ratio (variant range), by bed type.

    Returns a matplotlib Figure: grouped bars (2021 beds; needed in each projection year with the
    variant range as an error bar), captioned with sources and the rule.
    """
    import matplotlib.pyplot as plt

    from asc_evidence import charts

    council = require_current(council_code)
    rows = capacity_for(council.code, neighbours)
    mine = rows[(rows["role"] == "council") & (rows["age_band"] == age)]
    years = sorted(mine["year"].unique())
    types = list(BED_TYPES.values())
    fig, ax = plt.subplots(figsize=(9, 5))
    charts.margins(fig, left=1.0, top=0.45, bottom=0.55)
    width = 0.8 / len(years)
    shades = ["#7f7f7f", charts.COUNCIL, "#a6361c", "#6b1d0f"]
    for j, y in enumerate(years):
        sub = mine[mine["year"] == y].set_index("bed_type").reindex(types)
        x = np.arange(len(types)) + (j - (len(years) - 1) / 2) * width
        val = sub["beds_needed"].to_numpy(dtype=float)
        err = None
        if y != BEDS_BASE_YEAR:
            err = np.vstack(
                [val - sub["beds_needed_low"].to_numpy(float), sub["beds_needed_high"] - val]
            )
        label = f"beds, {BEDS_DATE}" if y == BEDS_BASE_YEAR else f"needed in {y} (variant range)"
        ax.bar(x, val, width, yerr=err, capsize=3, color=shades[j % len(shades)], label=label)
    ax.set_xticks(np.arange(len(types)))
    ax.set_xticklabels(types)
    names = register_by_code()["name"]
    area = mine["area_code"].iloc[0]
    who = (
        council.name
        if mine["geography"].iloc[0] != "predecessor area"
        else (f"{council.name} (figures for {names.get(area, area)}, predecessor area)")
    )
    ax.set(
        title=f"{who}: care-home beds to keep the 2021 ratio to people aged {age}",
        ylabel="Registered care-home beds",
        xlabel="",
    )
    ax.legend(fontsize=8)
    charts.caption(
        fig,
        f"{SOURCE_BEDS}. Needed = 2021 beds per 1,000 aged {age} x projected population; bars "
        "show the principal projection, whiskers the lowest and highest variant",
        f"beds {BEDS_DATE}; population mid-2021 to mid-{years[-1]}",
    )
    return fig


# ---------------------------------------------------------------------------------------------
# price paid against in-house cost and the Fair Cost of Care


def _year(period: pd.Series) -> pd.Series:
    return pd.to_numeric(period.astype(str).str[:4], errors="coerce")


def _on_current(df: pd.DataFrame) -> pd.DataFrame:
    """One measure's rows on today's councils; PSS-EX1 activity taken as spend / unit cost.

    The PSS-EX1 2008-09 file puts weekly hours in the annual column for some councils (Walsall's
    in-house home care: 2,019 = hours a week; 4,295,000 / 40.9 = 105,012 a year), so the activity
    of every PSS-EX1 row is ``numerator / value`` (the annual hours or weeks the unit cost
    implies); a merger (BCP) then recomputes the activity-weighted unit cost correctly.
    """
    df = df.copy()
    ok = df["value"] > 0
    df["denominator"] = np.where(ok, df["numerator"] / df["value"].where(ok), np.nan)
    df.loc[~ok, "numerator"] = np.nan
    return to_current_geography(df, multiplier=1.0)


def price_from_tables(
    unit_costs: pd.DataFrame, ascfr: pd.DataFrame, fcoc: pd.DataFrame
) -> pd.DataFrame:
    """Every council's prices paid, in-house unit costs and Fair Cost of Care medians, long.

    Each measure is mapped onto today's councils (recoded councils' old codes included, split
    successors showing the predecessor area, flagged) and labelled with ``service``, ``series``
    (price paid / in-house unit cost / Fair Cost of Care median) and ``basis``. In-house costs are
    then flagged by :func:`flag_in_house`.

    Returns
    -------
    pandas.DataFrame
        ``council_code, area_code, geography, level, period, year, service, series, basis,
        measure, value, activity, flag`` plus the :func:`flag_in_house` columns, rows with a value
        only, sorted.
    """
    tables = {"unit_costs": unit_costs, "ascfr_2021_22": ascfr, "fair_cost_of_care_2022": fcoc}
    parts = []
    specs = [*PRICE_MEASURES]
    specs += [("unit_costs", m, "18+" if s == HOME_CARE else "65+", s, "all providers", PSS_OWN)
              for s, m in ALL_PROVIDERS.items()]  # fmt: skip
    for table, measure, band, service, series, basis in specs:
        df = tables[table]
        sub = df[
            (df["measure"] == measure)
            & (df["age_band"] == band)
            & (df["level"].fillna("council") != "region")
        ]
        if sub.empty:
            msg = f"{table} has no {measure} ({band}) rows."
            raise MarketInputError(msg)
        mapped = _on_current(sub) if table == "unit_costs" else to_current_geography(sub)
        mapped = mapped.assign(service=service, series=series, basis=basis, measure=measure)
        mapped["activity"] = mapped["denominator"] if table == "unit_costs" else np.nan
        if table == "unit_costs" and series != "all providers":
            mapped.loc[mapped["period"] == "2014-15", "basis"] = PSS_1415
        parts.append(mapped)
    out = pd.concat(parts, ignore_index=True)
    out["level"] = out["level"].fillna("council")
    out["year"] = _year(out["period"])
    out["flag"] = out["flag"].fillna("").astype(str)
    cols = ["council_code", "area_code", "geography", "level", "period", "year", "service",
            "series", "basis", "measure", "value", "activity", "flag"]  # fmt: skip
    out = out[cols]
    out = flag_in_house(out)
    out = out[out["series"] != "all providers"]
    out = out[out["value"].notna()]
    return out.sort_values(["council_code", "service", "series", "period"]).reset_index(drop=True)


def robust_z(values: pd.Series, groups: list[pd.Series]) -> pd.Series:
    """Modified z-score of log ``values`` within each group (Iglewicz and Hoaglin 1993):
    ``0.6745 x (log x - median) / MAD``; NaN where the MAD is 0 or the value is not positive."""
    logv = np.log(values.where(values > 0))
    g = logv.groupby(groups)
    med = g.transform("median")
    mad = (logv - med).abs().groupby(groups).transform("median")
    return 0.6745 * (logv - med) / mad.where(mad > 0)


def flag_in_house(prices: pd.DataFrame) -> pd.DataFrame:
    """Flag implausible in-house unit costs from their activity and the distribution.

    An in-house unit cost is flagged ``implausible`` when either

    1. **distribution**: it is an upper outlier among councils that year: the modified z-score of
       its log [1]_ (median and MAD of the distinct council areas' log costs for that measure,
       basis and year) exceeds :data:`OUTLIER_Z` = 3.5 (Iglewicz and Hoaglin's threshold; Oflog
       also measures distance from the median in MADs); or
    2. **denominator**: its activity (PSS-EX1 hours or weeks, as spend / unit cost) is under
       :data:`SMALL_SHARE` = 5% of the council's activity from all providers that year *and* the
       cost is more than :data:`PRICE_MULTIPLE` = 5 times the price the council paid others that
       year (about the 95th percentile of that multiple across councils and years, 2008-09 to
       2014-15). A residual in-house service spreads its fixed costs over few hours: the median
       in-house home-care cost is 1.7 x the price paid where in-house is over 20% of hours, 4.0 x
       where it is 2-5%.

    ASC-FR tables publish no activity, so rule 2 cannot apply to their in-house costs; the
    distribution rule still does. Walsall's in-house home care 2011-12 (£181.5 on 13,653 hours, 1.8%
    of its hours, 13.4 x its price of £13.5) is flagged by rule 2; North East Lincolnshire's
    £1,823 (2010-11) by rule 1. Weaknesses: thresholds are conventions, not tests; a genuinely
    costly specialist in-house service (reablement) can be flagged by rule 2; a cost just under
    both thresholds is not.

    Parameters
    ----------
    prices
        Long table with ``council_code, area_code, level, period, service, series, basis, value,
        activity`` where ``series`` is ``price paid``, ``in-house unit cost`` or ``all providers``
        (the PSS-EX1 all-provider activity).

    Returns
    -------
    pandas.DataFrame
        ``prices`` with ``activity_share, price_multiple, robust_z, implausible`` (bool) and
        ``implausible_reason`` (words; empty when not flagged) on in-house rows (NaN/False
        elsewhere).
    """
    out = prices.copy()
    out["_src"] = np.where(out["basis"].str.startswith("ASC-FR"), "ASC-FR", "PSS-EX1")
    key = ["council_code", "period", "service", "_src"]
    own = out["series"] == IN_HOUSE
    idx = pd.MultiIndex.from_frame(out[key])

    def lookup(series: str, column: str) -> np.ndarray:
        rows = out[out["series"] == series].drop_duplicates(key).set_index(key)[column]
        return rows.reindex(idx).to_numpy(dtype=float)

    share = out["activity"].to_numpy(dtype=float) / lookup("all providers", "activity")
    multiple = out["value"].to_numpy(dtype=float) / lookup(PAID, "value")
    out["activity_share"] = np.where(own, share, np.nan)
    out["price_multiple"] = np.where(own, multiple, np.nan)
    # the distribution of distinct council areas each year (an inherited area counts once)
    zkey = ["area_code", "basis", "period", "service"]
    areas = out[own & (out["level"] == "council") & out["value"].notna()].drop_duplicates(zkey)
    z = robust_z(areas["value"], [areas[c] for c in zkey[1:]])
    zmap = pd.Series(z.to_numpy(), index=pd.MultiIndex.from_frame(areas[zkey]))
    zval = zmap.reindex(pd.MultiIndex.from_frame(out[zkey])).to_numpy(dtype=float)
    out["robust_z"] = np.where(own, zval, np.nan)
    out = out.drop(columns="_src")
    rule1 = own & (out["robust_z"] > OUTLIER_Z)
    rule2 = own & (out["activity_share"] < SMALL_SHARE) & (out["price_multiple"] > PRICE_MULTIPLE)
    out["implausible"] = (rule1 | rule2).astype(bool)
    r1 = (
        "far above other councils that year (modified z "
        + out["robust_z"].round(1).astype(str)
        + " > 3.5)"
    )
    r2 = (
        "few hours or weeks in-house ("
        + (100 * out["activity_share"]).round(1).astype(str)
        + "% of all) and "
        + out["price_multiple"].round(1).astype(str)
        + " x the price paid"
    )
    reason = pd.Series("", index=out.index)
    reason = add_flag(reason, r1, rule1)
    reason = add_flag(reason, r2, rule2)
    out["implausible_reason"] = reason
    return out


@register_cache
@cache
def price_table() -> pd.DataFrame:
    """:func:`price_from_tables` on the processed tables (cached per process)."""
    from asc_evidence import evidence

    stored = evidence.price_table()  # the national evidence tables, when built and fresh
    if stored is not None:
        return stored
    return price_from_tables(
        build.load("unit_costs"), build.load("ascfr_2021_22"), build.load("fair_cost_of_care_2022")
    )


def price_series(council_code: str, neighbours: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """The council's price paid, in-house unit cost and Fair Cost of Care median by period, with
    its neighbours' median price paid (same basis and period, distinct areas, own area left out).

    Returns ``service, series, basis, period, year, value, implausible, implausible_reason,
    n_neighbours, geography, flag`` sorted by service, series, basis, period.
    """
    council = require_current(council_code)
    t = price_table()
    mine = t[t["council_code"] == council.code].copy()
    mine["n_neighbours"] = np.nan
    own_areas = set(mine["area_code"])
    nb = t[t["council_code"].isin(neighbours) & (t["series"] == PAID)]
    nb = nb[~nb["area_code"].isin(own_areas)].drop_duplicates(
        ["area_code", "service", "basis", "period"]
    )
    g = nb.groupby(["service", "basis", "period", "year"], as_index=False)["value"]
    med = g.median().merge(g.count().rename(columns={"value": "n_neighbours"}))
    med = med.assign(series=NEIGHBOURS_PAID, implausible=False, implausible_reason="",
                     geography="current", flag="")  # fmt: skip
    cols = ["service", "series", "basis", "period", "year", "value", "implausible",
            "implausible_reason", "n_neighbours", "geography", "flag"]  # fmt: skip
    out = pd.concat([mine[cols], med[cols]], ignore_index=True)
    order = {s: i for i, s in enumerate(SERVICES)}
    sorder = {s: i for i, s in enumerate((PAID, IN_HOUSE, FCOC, NEIGHBOURS_PAID))}
    out = out.assign(_s=out["service"].map(order), _r=out["series"].map(sorder))
    out = out.sort_values(["_s", "_r", "period", "basis"]).drop(columns=["_s", "_r"])
    return out.reset_index(drop=True)


def _series_style() -> dict[str, tuple[str, str]]:
    """Colour and line style of each price series (the council and its neighbours in the
    colours of every chart)."""
    from asc_evidence import charts

    return {
        PAID: (charts.COUNCIL, "-"),
        IN_HOUSE: ("#7570b3", "--"),
        FCOC: ("#1b9e77", "none"),
        NEIGHBOURS_PAID: (charts.NEIGHBOUR, ":"),
    }


_BASIS_MARKER = {PSS_PAID: "o", PSS_OWN: "o", PSS_1415: "v", ASCFR_PAID: "s", ASCFR_OWN: "s",
                 FCOC_BASIS: "D"}  # fmt: skip


def price_figure(
    council_code: str,
    neighbours: tuple[str, ...] | list[str],
    services: tuple[str, ...] = SERVICES,
):
    """Price paid vs in-house unit cost vs Fair Cost of Care median over time, one panel per
    service, with the neighbours' median price paid.

    Colour is the series, marker shape the basis (circle PSS-EX1, triangle PSS-EX1 2014-15,
    square ASC-FR, diamond Fair Cost of Care); a line joins consecutive years of one series and
    basis only, never across bases. In-house costs flagged by :func:`flag_in_house` are hollow and
    the caption says so. Returns a matplotlib Figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from asc_evidence import charts

    style = _series_style()

    council = require_current(council_code)
    data = price_series(council.code, neighbours)
    data = data[data["service"].isin(services)]
    fig, axes = plt.subplots(len(services), 1, figsize=(10, 3.6 * len(services)), squeeze=False)
    charts.margins(fig, left=1.0, right=2.7, top=0.75, bottom=0.5, gap=0.8)
    flagged_any = False
    for ax, service in zip(axes[:, 0], services, strict=True):
        sub = data[data["service"] == service]
        for (series, basis), part in sub.groupby(["series", "basis"], sort=False):
            colour, ls = style[series]
            marker = _BASIS_MARKER.get(basis, "o")
            years = np.arange(part["year"].min(), part["year"].max() + 1)
            line = part.set_index("year")["value"].reindex(years)
            ax.plot(years, line.to_numpy(), color=colour, linestyle=ls, linewidth=1.5)
            bad = part["implausible"].astype(bool).to_numpy()
            flagged_any |= bool(bad.any())
            ax.scatter(
                part["year"][~bad], part["value"][~bad], color=colour, marker=marker, zorder=3
            )
            ax.scatter(part["year"][bad], part["value"][bad], facecolors="white", edgecolors=colour,
                       marker=marker, linewidths=1.5, zorder=3)  # fmt: skip
        ax.set(title=service[0].upper() + service[1:], ylabel=service.split(", ")[-1], xlabel="")
        ax.set_xlim(2007.5, 2023.5)
        ticks = list(range(2008, 2024, 2))
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{y}-{(y + 1) % 100:02d}" for y in ticks])
        if sub.empty:
            ax.text(0.5, 0.5, "no figures", transform=ax.transAxes, ha="center", color="grey")
    handles = [Line2D([], [], color=c, linestyle=ls if ls != "none" else "", marker="o", label=s)
               for s, (c, ls) in style.items()]  # fmt: skip
    names = {"o": "PSS-EX1", "v": "PSS-EX1 2014-15", "s": "ASC-FR", "D": "Fair Cost of Care 2022"}
    handles += [Line2D([], [], color="grey", linestyle="", marker=m, label=f"basis: {n}")
                for m, n in names.items()]  # fmt: skip
    if flagged_any:
        handles.append(Line2D([], [], color="grey", linestyle="", marker="o", markerfacecolor="white",
                              label="in-house cost flagged implausible"))  # fmt: skip
    axes[0, 0].legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(
        f"{council.name}: price paid, in-house unit cost and Fair Cost of Care", weight="bold"
    )
    note = (
        ". Hollow: in-house cost flagged implausible (few hours or weeks in-house and over 5 x the "
        "price paid, or far above other councils): not a fair comparison with the price"
        if flagged_any
        else ""
    )
    charts.caption(
        fig,
        f"{SOURCE_PRICES}. Cash prices, no inflation adjustment; lines never join different "
        f"bases; neighbours' median over distinct neighbour areas{note}",
        "2008-09 to 2014-15, 2020-21 to 2021-22, 2022-23",
    )
    return fig


def capacity_table(
    council_code: str,
    neighbours: tuple[str, ...] | list[str],
    ages: tuple[str, ...] = ("75+", "85+"),
) -> pd.DataFrame:
    """:func:`capacity_summary` for display: indexed by bed type, age and year, plain column names,
    whole numbers with thousands separators (a missing one blank)."""
    out = capacity_summary(council_code, neighbours, ages=ages)
    for col in out.columns[out.dtypes.map(pd.api.types.is_integer_dtype)]:
        if col != "year":
            out[col] = [f"{int(x):,}" if pd.notna(x) else "" for x in out[col]]
    out = out.rename(columns={"beds": "Beds", "aged": "Aged", "year": "Year"})
    out = out.rename(columns=lambda c: c[:1].upper() + c[1:])
    return out.set_index(["Beds", "Aged", "Year"])
