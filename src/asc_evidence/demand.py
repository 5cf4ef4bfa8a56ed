"""Demand projection by geography: how much more long-term care need is coming, and where?

The POPPI/PANSI method of the Institute of Public Care (Oxford Brookes University) [1]_: hold the
rate at which each age group uses a service fixed, multiply by the projected population of that
age group, and add up. Here the rates are the council's own:

* :func:`service_rates`: adults receiving long-term support at 31 March 2022 (SALT, in the ASC-FR
  and SALT data tables 2021-22) per resident of the same age at mid-2021 (ONS mid-year estimate),
  for ages 18-64 and 65+, with Wilson 95% intervals;
* :func:`council_projection`: the 2018-based SNPP for the council and England, a low/high range from
  the 2018-based national variant projections, and people needing support (and money) per year;
* :func:`growth_table` and :func:`headline`: growth of the 65+, 75+ and 85+ populations and of the
  people needing support, council against England, in a table and in words;
* :func:`small_area_projection`: the council projection shared out to its MSOAs (Census 2021) and
  joined to MSOA boundaries for a map; :func:`council_growth_map` maps every council's growth.

Each function that reads processed tables is a thin wrapper over a ``*_from_tables`` core that
takes the frames, so the method can be tested on small synthetic tables. The arithmetic is done
by :mod:`asc_evidence.stats.projection` (``rates_from_counts``, ``project_demand``,
``growth_comparison``, ``apportion_to_small_areas``).

Assumptions (also listed in :attr:`DemandProjection.notes`):

1. Rates stay at their 2021-22 level: no change in the health of each age group, eligibility,
   charging, supply or the balance between long-term support and prevention.
2. SALT publishes long-term support clients by council only for ages 18-64 and 65+, so the
   projection captures the growth of those two populations. Need rises steeply with age within
   65+, so as the 85+ share grows a single 65+ rate understates growth; 85+ growth is reported
   alongside as the key driver.
3. A council with no published count (not submitted or suppressed) takes England's rate for that
   band, flagged; a council created after 2021-22 takes its predecessor's rate, flagged. A missing
   count is never treated as zero.
4. The 2018-based SNPP is the latest subnational projection in the data; it predates Census 2021
   and the pandemic. Its 18-64 band includes 2/5 of the 15-19 band (ages 18-19, approximate).
5. Low/high range: England's national variant projections (2018-based NPP: high/low population,
   life expectancy and migration) as a ratio to the principal projection by year and age band,
   applied proportionally to the council's SNPP (the SNPP has no published variants in the data).
   This assumes each council's uncertainty is England's in proportion; local migration
   uncertainty is likely larger. The combined range of ``project_demand`` also takes the Wilson
   interval of the rates at its extremes at the same time: an outer envelope, not a confidence
   interval. Growth ranges use the population variants only (a fixed rate cancels out of growth).
6. Money: people x gross current expenditure on long-term support per client at 31 March 2022,
   by age band (ASC-FR 2021-22, the council's, else England's, flagged), in 2021-22 prices with
   no uplift for inflation or fee growth. In the base year it reproduces spend scaled by population.

References
----------
.. [1] Institute of Public Care, Oxford Brookes University. *Projecting Older People Population
   Information System (POPPI)* and *Projecting Adult Needs and Service Information (PANSI)*,
   methodology. https://www.poppi.org.uk/ and https://www.pansi.org.uk/
.. [2] Office for National Statistics (2020). *Subnational population projections for England:
   2018-based*; (2019) *National population projections: 2018-based* (variant projections).
.. [3] NHS Digital (2022). *Adult Social Care Activity and Finance Report, England, 2021-22*, data
   tables (ASC-FR and SALT).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from asc_evidence import build, charts
from asc_evidence.councils import lineage, lookup
from asc_evidence.stats.projection import (
    POP_COLUMNS,
    apportion_to_small_areas,
    growth_comparison,
    project_demand,
    rates_from_counts,
)

ENGLAND = "E92000001"
RATE_BANDS: tuple[str, ...] = ("18-64", "65+")
GROWTH_BANDS: tuple[str, ...] = ("65+", "75+", "85+")
INDEX_BANDS: tuple[str, ...] = ("18-64", "65+", "85+")
CLIENT_MEASURE = "clients_long_term_support_year_end_total"
COST_MEASURE = "gce_long_term_total"
ACTIVITY_PERIOD = "2021-22"
POPULATION_PERIOD = "2021"
PRINCIPAL = "principal"
VARIANTS: dict[str, str] = {
    "npp_ppp": PRINCIPAL,
    "npp_hhh": "high population",
    "npp_lll": "low population",
    "npp_php": "high life expectancy",
    "npp_plp": "low life expectancy",
    "npp_pph": "high migration",
    "npp_ppl": "low migration",
}
BASE_YEAR = 2023
HORIZON = 12

SOURCE_SNPP = (
    "ONS 2018-based subnational population projections; ONS 2018-based national variant projections"
)
SOURCE_RATES = (
    "NHS Digital ASC-FR and SALT data tables 2021-22 (long-term support clients at 31 March 2022, "
    "gross expenditure on long-term support); ONS mid-2021 population estimates"
)
SOURCE_MSOA = "Census 2021 MSOA populations; ONS MSOA 2021 boundaries"
NEED = "adults receiving long-term support"

# project_demand sums male and female rows when every rate has sex "persons"; our populations are
# persons only, so both tables are labelled with this neutral sex value instead.
_SEX = "all"


def _years(period: pd.Series) -> pd.Series:
    return pd.to_numeric(period, errors="raise").astype("int64")


def _persons(tidy_table: pd.DataFrame, period: str, bands: tuple[str, ...]) -> pd.DataFrame:
    sel = tidy_table[
        (tidy_table["period"] == period)
        & (tidy_table["sex"] == "persons")
        & tidy_table["age_band"].isin(bands)
    ]
    return sel[["council_code", "age_band", "value", "flag"]]


# ---------------------------------------------------------------------------------------------
# rates and unit costs


def rates_from_tables(
    activity: pd.DataFrame,
    population: pd.DataFrame,
    council_code: str,
    *,
    measure: str = CLIENT_MEASURE,
    period: str = ACTIVITY_PERIOD,
    population_period: str = POPULATION_PERIOD,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Age-specific rates of long-term support use for a council, from tidy tables.

    Parameters
    ----------
    activity
        Tidy ASC-FR/SALT table (``ascfr_2021_22``) with ``measure`` counts by council and band.
    population
        Tidy population estimates (``population_mye``), persons by council and band.
    council_code
        ONS code of the council (or ``E92000001`` for England).
    measure, period, population_period
        The count (default: clients receiving long-term support at the year end), its financial
        year, and the mid-year of the denominator.
    confidence
        Level of the Wilson interval.

    Returns
    -------
    pandas.DataFrame
        One row per band of :data:`RATE_BANDS`: ``age_band, sex, users, population, rate,
        rate_lower, rate_upper, method, rate_source, source_code, flag``. ``rate_source`` is
        ``council``, ``predecessor`` (the area a new council was split or recoded from) or
        ``England`` (no count published for the council: England's rate, never zero).
    """
    counts = activity[
        (activity["measure"] == measure)
        & (activity["period"] == period)
        & activity["age_band"].isin(RATE_BANDS)
    ][["council_code", "age_band", "value", "flag"]]
    pop = _persons(population, population_period, RATE_BANDS)
    both = counts.merge(pop, on=["council_code", "age_band"], suffixes=("_users", "_pop"))
    both = both.set_index(["council_code", "age_band"])
    if both.empty:
        msg = (
            f"No {measure} ({period}) or mid-{population_period} population for bands {RATE_BANDS}."
        )
        raise ValueError(msg)

    rows = []
    for band in RATE_BANDS:
        chosen, why = None, ""
        for code, relation in lineage(council_code):
            if (code, band) not in both.index:
                continue
            row = both.loc[(code, band)]
            if pd.notna(row["value_users"]) and pd.notna(row["value_pop"]):
                own = "England" if code == ENGLAND else "council"
                chosen = (code, own if relation == "self" else "predecessor")
                why = (
                    ""
                    if relation == "self"
                    else f"rate of predecessor area {code} ({relation}); no {period} count for {council_code}"
                )
                break
            if not why:
                flag = row["flag_users"]
                why = str(flag) if isinstance(flag, str) and flag else "count missing"
        if chosen is None:
            if (ENGLAND, band) not in both.index:
                msg = f"No {band} count for {council_code} and no England row to fall back on."
                raise ValueError(msg)
            chosen = (ENGLAND, "England")
            why = f"England rate used: council {band} count missing ({why or 'not in the table'})"
        code, source = chosen
        row = both.loc[(code, band)]
        rows.append((band, row["value_users"], row["value_pop"], source, code, why))
    out = pd.DataFrame(
        rows,
        columns=["age_band", "users", "population", "rate_source", "source_code", "flag"],
    )
    ci = rates_from_counts(out["users"], out["population"], confidence)
    out = pd.concat([out[["age_band"]], ci, out[["rate_source", "source_code", "flag"]]], axis=1)
    out.insert(1, "sex", "persons")
    return out


def unit_costs_from_table(
    activity: pd.DataFrame,
    council_code: str,
    *,
    period: str = ACTIVITY_PERIOD,
) -> pd.DataFrame:
    """Gross current expenditure on long-term support per client at the year end, by age band.

    ``cost = gce_long_term_total (GBP thousand) x 1000 / clients_long_term_support_year_end_total``
    for 18-64 and 65+ in ``period``. A council created after ``period`` takes its predecessor's
    figure (as for rates); where both are missing, England's is used. Either is flagged.

    Returns
    -------
    pandas.DataFrame
        ``age_band, unit_cost`` (GBP per client per year, ``period`` prices), ``cost_source,
        source_code, flag``.
    """
    chain = [code for code, _ in lineage(council_code)]
    sel = activity[
        (activity["period"] == period)
        & activity["measure"].isin([COST_MEASURE, CLIENT_MEASURE])
        & activity["age_band"].isin(RATE_BANDS)
        & activity["council_code"].isin([*chain, ENGLAND])
    ]
    wide = sel.pivot_table(
        index=["council_code", "age_band"], columns="measure", values="value", dropna=False
    ).reindex(columns=[COST_MEASURE, CLIENT_MEASURE])
    per_client = (wide[COST_MEASURE] * 1000 / wide[CLIENT_MEASURE]).rename("unit_cost")
    per_client = per_client[np.isfinite(per_client) & (per_client > 0)]
    have = set(per_client.index)
    rows = []
    for band in RATE_BANDS:
        code = next((c for c in [*chain, ENGLAND] if (c, band) in have), None)
        if code is None:
            msg = f"No {band} {COST_MEASURE} / {CLIENT_MEASURE} for {council_code} or England ({period})."
            raise ValueError(msg)
        if code == council_code:
            source, flag = ("England" if code == ENGLAND else "council"), ""
        elif code == ENGLAND:
            source = "England"
            flag = f"England cost per client used: council {period} expenditure or count missing"
        else:
            source = "predecessor"
            flag = f"cost per client of predecessor area {code}"
        rows.append((band, float(per_client[(code, band)]), source, code, flag))
    return pd.DataFrame(
        rows, columns=["age_band", "unit_cost", "cost_source", "source_code", "flag"]
    )


def service_rates(council_code: str, confidence: float = 0.95) -> pd.DataFrame:
    """Rates of long-term support use, 18-64 and 65+, for a council (see :func:`rates_from_tables`).

    Reads ``ascfr_2021_22`` and ``population_mye``. Only two age bands exist in the council-level
    SALT data: the projection therefore captures the growth of the 18-64 and 65+ populations, and
    85+ growth is reported alongside as the key driver (see :func:`growth_table`).
    """
    code = lookup(council_code).code if council_code != ENGLAND else ENGLAND
    return rates_from_tables(
        build.load("ascfr_2021_22"), build.load("population_mye"), code, confidence=confidence
    )


# ---------------------------------------------------------------------------------------------
# population with variants


def snpp_frame(snpp: pd.DataFrame, codes: list[str], bands: tuple[str, ...]) -> pd.DataFrame:
    """Tidy SNPP -> ``area_code, year, age_band, sex, population`` for ``codes`` and ``bands``."""
    sel = snpp[snpp["council_code"].isin(codes) & snpp["age_band"].isin(bands)]
    missing = sorted(set(codes) - set(sel["council_code"]))
    if missing:
        msg = f"The population projection has no rows for {missing}."
        raise ValueError(msg)
    return pd.DataFrame(
        {
            "area_code": sel["council_code"].astype(str).to_numpy(),
            "year": _years(sel["period"]).to_numpy(),
            "age_band": sel["age_band"].astype(str).to_numpy(),
            "sex": "persons",
            "population": sel["value"].to_numpy(dtype="float64"),
        }
    )


def variant_ratios(npp: pd.DataFrame) -> pd.DataFrame:
    """England variant / principal population by year and age band (persons).

    Returns ``year, age_band, variant, ratio`` with ``variant`` named as in :data:`VARIANTS`
    (``principal`` has ratio 1).
    """
    sel = npp[(npp["sex"] == "persons") & npp["measure"].isin(VARIANTS)]
    wide = sel.assign(year=_years(sel["period"])).pivot_table(
        index=["year", "age_band"], columns="measure", values="value"
    )
    if "npp_ppp" not in wide.columns:
        msg = "The national projection table lacks the principal projection (npp_ppp)."
        raise ValueError(msg)
    ratios = wide.div(wide["npp_ppp"], axis=0).rename(columns=VARIANTS)
    ratios.columns.name = "variant"
    return ratios.stack().rename("ratio").reset_index()


def apply_variants(pop: pd.DataFrame, ratios: pd.DataFrame) -> pd.DataFrame:
    """Each variant's population: ``pop x ratio(year, age_band, variant)`` (from :func:`variant_ratios`).

    The England ratio of a variant to the principal projection is applied proportionally to every
    area's principal projection in the same year and age band. Raises if a year/band has no ratio.
    """
    out = pop.merge(ratios, on=["year", "age_band"], how="left")
    if out["ratio"].isna().any():
        bad = out.loc[out["ratio"].isna(), ["year", "age_band"]].drop_duplicates()
        msg = f"No variant ratio for (year, age band) {bad.to_numpy().tolist()[:5]}."
        raise ValueError(msg)
    out["population"] = out["population"] * out["ratio"]
    return out.drop(columns="ratio")


# ---------------------------------------------------------------------------------------------
# projection


def _project(
    pop: pd.DataFrame, rates: pd.DataFrame, base_year: int, horizon: int, central: str = PRINCIPAL
) -> pd.DataFrame:
    r = rates[["age_band", "rate", "rate_lower", "rate_upper"]].assign(sex=_SEX)
    return project_demand(pop.assign(sex=_SEX), r, base_year, horizon, central_variant=central)


def people_and_cost(
    pop: pd.DataFrame,
    rates: pd.DataFrame,
    unit_costs: pd.DataFrame | None,
    base_year: int,
    horizon: int,
) -> pd.DataFrame:
    """``project_demand`` output, with cost columns from band-specific unit costs.

    Cost is projected as ``project_demand`` with rates multiplied by the band's unit cost, so
    ``cost = sum over bands of rate x unit cost x population`` and ``cost_low/high`` are the same
    envelope as ``people_low/high`` (lowest variant x lower rate; highest x upper rate).
    """
    people = _project(pop, rates, base_year, horizon)
    if unit_costs is None:
        return people
    uc = rates.merge(unit_costs[["age_band", "unit_cost"]], on="age_band", how="left")
    if uc["unit_cost"].isna().any():
        msg = f"No unit cost for bands {uc.loc[uc['unit_cost'].isna(), 'age_band'].tolist()}."
        raise ValueError(msg)
    for c in ("rate", "rate_lower", "rate_upper"):
        uc[c] = uc[c] * uc["unit_cost"]
    money = _project(pop, uc, base_year, horizon)
    money = money[["area_code", "year", "age_band", "people", "people_low", "people_high"]]
    money.columns = ["area_code", "year", "age_band", "cost", "cost_low", "cost_high"]
    return people.merge(money, on=["area_code", "year", "age_band"], how="left")


def people_by_variant(
    pop: pd.DataFrame, rates: pd.DataFrame, base_year: int, horizon: int
) -> pd.DataFrame:
    """Central rates x each population variant: ``area_code, year, age_band, variant, people``.

    One ``project_demand`` call: each (area, variant) pair is passed as its own area.
    """
    keyed = pop.assign(area_code=pop["area_code"] + "|" + pop["variant"], variant=PRINCIPAL)
    out = _project(keyed, rates, base_year, horizon)
    parts = out["area_code"].str.split("|", n=1, expand=True)
    return pd.DataFrame(
        {
            "area_code": parts[0],
            "year": out["year"],
            "age_band": out["age_band"],
            "variant": parts[1],
            "people": out["people"],
        }
    )


@dataclass(eq=False)
class DemandProjection:
    """A council's projected demand, with England alongside (see :func:`council_projection`)."""

    council_code: str
    council_name: str
    base_year: int
    horizon: int
    rates: pd.DataFrame
    england_rates: pd.DataFrame
    unit_costs: pd.DataFrame
    population: pd.DataFrame
    """``area_code, year, age_band, sex, variant, population``: council and England, all variants."""
    demand: pd.DataFrame
    """:func:`project_demand` output for council (its rates) and England (England's rates) + cost."""
    by_variant: pd.DataFrame
    """``area_code, year, age_band, variant, people``: central rates x each population variant."""
    notes: list[str] = field(default_factory=list)

    @property
    def final_year(self) -> int:
        """Last projected year."""
        return self.base_year + self.horizon


def projection_from_tables(
    snpp: pd.DataFrame,
    npp: pd.DataFrame,
    activity: pd.DataFrame,
    mye: pd.DataFrame,
    council_code: str,
    council_name: str = "",
    base_year: int = BASE_YEAR,
    horizon: int = HORIZON,
) -> DemandProjection:
    """Core of :func:`council_projection` on tidy tables (SNPP, NPP variants, ASC-FR/SALT, MYE)."""
    bands = tuple(dict.fromkeys((*RATE_BANDS, *GROWTH_BANDS, "all")))
    principal = snpp_frame(snpp, [council_code, ENGLAND], bands)
    years = range(base_year, base_year + horizon + 1)
    principal = principal[principal["year"].isin(years)]
    pop = apply_variants(principal, variant_ratios(npp))
    rates = rates_from_tables(activity, mye, council_code)
    eng_rates = rates_from_tables(activity, mye, ENGLAND)
    costs = unit_costs_from_table(activity, council_code)
    eng_costs = unit_costs_from_table(activity, ENGLAND)
    rated = pop[pop["age_band"].isin(RATE_BANDS)]
    demand = pd.concat(
        [
            people_and_cost(
                rated[rated["area_code"] == council_code], rates, costs, base_year, horizon
            ),
            people_and_cost(
                rated[rated["area_code"] == ENGLAND], eng_rates, eng_costs, base_year, horizon
            ),
        ],
        ignore_index=True,
    )
    by_variant = pd.concat(
        [
            people_by_variant(rated[rated["area_code"] == code], r, base_year, horizon)
            for code, r in ((council_code, rates), (ENGLAND, eng_rates))
        ],
        ignore_index=True,
    )
    notes = _notes(rates, costs, snpp, mye, council_code)
    return DemandProjection(
        council_code=council_code,
        council_name=council_name or council_code,
        base_year=base_year,
        horizon=horizon,
        rates=rates,
        england_rates=eng_rates,
        unit_costs=costs,
        population=pop,
        demand=demand,
        by_variant=by_variant,
        notes=notes,
    )


def _notes(
    rates: pd.DataFrame, costs: pd.DataFrame, snpp: pd.DataFrame, mye: pd.DataFrame, code: str
) -> list[str]:
    notes = [
        f"Rates: {NEED} at 31 March 2022 per resident of the same age at mid-2021, for 18-64 and "
        "65+ only (the bands SALT publishes by council). The projection captures growth of those "
        "two populations; need rises steeply with age within 65+, so 85+ growth is the key driver "
        "to read alongside and a single 65+ rate understates it.",
        "Rates are held at their 2021-22 level (no change in health, eligibility, charging or supply).",
    ]
    notes += [f"{r.age_band}: {r.flag}." for r in rates.itertuples() if r.flag]
    notes.append(
        "Cost per client per year (gross current expenditure on long-term support / clients at "
        "31 March 2022, 2021-22 prices): "
        + "; ".join(
            f"{c.age_band} £{c.unit_cost:,.0f} ({c.cost_source if not c.flag else c.flag})"
            for c in costs.itertuples()
        )
        + "."
    )
    proj = snpp_frame(snpp, [code], ("65+",))
    proj21 = proj.loc[proj["year"] == 2021, "population"]
    est = _persons(mye, POPULATION_PERIOD, ("65+",))
    est21 = est.loc[est["council_code"] == code, "value"]
    if len(proj21) and len(est21) and pd.notna(est21.iloc[0]):
        gap = proj21.iloc[0] / est21.iloc[0] - 1
        notes.append(
            f"The 2018-based projection of the 65+ population for 2021 is {gap:+.1%} against the "
            "mid-2021 estimate (Census-based): levels inherit that difference, growth much less so."
        )
    notes.append(
        "Low/high range: England's 2018-based variant projections (high/low population, life "
        "expectancy and migration) applied proportionally to the council by year and age band, "
        "combined with the Wilson 95% interval of the rates; an outer envelope, not a confidence "
        "interval."
    )
    return notes


def council_projection(
    council_code: str, base_year: int = BASE_YEAR, horizon: int = HORIZON
) -> DemandProjection:
    """Projected population, people needing long-term support and gross cost, council and England.

    Parameters
    ----------
    council_code
        Council name or ONS code.
    base_year
        First projected year (2018-based SNPP years 2018-2043).
    horizon
        Years after ``base_year`` (default 12: 2023 to 2035).

    Returns
    -------
    DemandProjection
        ``population`` by variant, ``demand`` (people and cost per year and band with the combined
        low/high range; cost in 2021-22 prices), ``by_variant`` people, ``rates``, ``unit_costs``
        and the ``notes`` stating every assumption (see the module docstring).
    """
    council = lookup(council_code)
    return projection_from_tables(
        build.load("population_projection"),
        build.load("population_projection_variants"),
        build.load("ascfr_2021_22"),
        build.load("population_mye"),
        council.code,
        council.name,
        base_year,
        horizon,
    )


# ---------------------------------------------------------------------------------------------
# growth


def _variant_growth(values: pd.DataFrame, value: str, from_year: int, to_year: int) -> pd.DataFrame:
    """Growth ``to/from - 1`` per area, band and variant -> min and max over variants."""
    wide = values[values["year"].isin([from_year, to_year])].pivot_table(
        index=["area_code", "age_band", "variant"], columns="year", values=value, aggfunc="sum"
    )
    growth = (wide[to_year] / wide[from_year] - 1).groupby(level=["area_code", "age_band"])
    return pd.DataFrame({"low": growth.min(), "high": growth.max()})


def growth_from_projection(
    proj: DemandProjection, from_year: int | None = None, to_year: int | None = None
) -> pd.DataFrame:
    """Core of :func:`growth_table`: growth of 65+/75+/85+ population and of people needing support."""
    from_year = proj.base_year if from_year is None else from_year
    to_year = proj.final_year if to_year is None else to_year
    code = proj.council_code
    pop_c = proj.population[proj.population["variant"] == PRINCIPAL]
    rows = []
    for band in GROWTH_BANDS:
        g = growth_comparison(pop_c, code, ENGLAND, band, from_year, to_year, "population")
        rows.append((f"Population {band}", "population", band, g))
    labels = {"18-64": "aged 18-64", "65+": "aged 65+", "all": "all adults"}
    for band in (*RATE_BANDS, "all"):
        g = growth_comparison(proj.demand, code, ENGLAND, band, from_year, to_year, "people")
        rows.append((f"Needing long-term support, {labels[band]}", "people", band, g))
    ranges = pd.concat(
        [
            _variant_growth(proj.population, "population", from_year, to_year).assign(
                measure="population"
            ),
            _variant_growth(proj.by_variant, "people", from_year, to_year).assign(measure="people"),
        ]
    ).set_index("measure", append=True)
    out = []
    for label, measure, band, g in rows:
        rc = ranges.loc[(code, band, measure)]
        re = ranges.loc[(ENGLAND, band, measure)]
        out.append(
            {
                "measure": label,
                f"{proj.council_name} {from_year}": round(g.area_from),
                f"{proj.council_name} {to_year}": round(g.area_to),
                f"{proj.council_name} growth %": round(100 * g.area_growth, 1),
                "range low %": round(100 * rc["low"], 1),
                "range high %": round(100 * rc["high"], 1),
                "England growth %": round(100 * g.comparator_growth, 1),
                "England range %": f"{100 * re['low']:.1f} to {100 * re['high']:.1f}",
            }
        )
    return pd.DataFrame(out).set_index("measure")


def growth_table(
    council: str | DemandProjection, from_year: int | None = None, to_year: int | None = None
) -> pd.DataFrame:
    """Growth of the 65+, 75+ and 85+ populations and of people needing support, council vs England.

    Parameters
    ----------
    council
        Council name or code (a projection from ``from_year`` to ``to_year`` is made), or a
        :class:`DemandProjection` already made.
    from_year, to_year
        Default: the projection's base and final years.

    Returns
    -------
    pandas.DataFrame
        One row per measure (the index): council values (whole people), council growth % and its
        range over the population variants, England growth % and range (1 dp). Ranges reflect the
        population variants only: with rates held fixed they cancel out of growth.
    """
    if not isinstance(council, DemandProjection):
        base = BASE_YEAR if from_year is None else from_year
        end = base + HORIZON if to_year is None else to_year
        council = council_projection(council, base, end - base)
    return growth_from_projection(council, from_year, to_year)


def headline(
    proj: DemandProjection, from_year: int | None = None, to_year: int | None = None
) -> str:
    """Two sentences: 85+ growth and growth of people needing support, each with its range."""
    from_year = proj.base_year if from_year is None else from_year
    to_year = proj.final_year if to_year is None else to_year
    pop_c = proj.population[proj.population["variant"] == PRINCIPAL]
    g85 = growth_comparison(
        pop_c, proj.council_code, ENGLAND, "85+", from_year, to_year, "population"
    )
    gpp = growth_comparison(
        proj.demand, proj.council_code, ENGLAND, "all", from_year, to_year, "people"
    )
    r85 = _variant_growth(proj.population, "population", from_year, to_year).loc[
        (proj.council_code, "85+")
    ]
    rpp = _variant_growth(proj.by_variant, "people", from_year, to_year).loc[
        (proj.council_code, "all")
    ]
    d = proj.demand.set_index(["area_code", "year", "age_band"]).loc[
        (proj.council_code, to_year, "all")
    ]
    s85 = g85.sentence().replace("85+ population", f"In {proj.council_name} the 85+ population")
    spp = gpp.sentence().replace("all people", f"The number of {NEED}")
    more = gpp.area_to - gpp.area_from
    change = f"{abs(more):,.0f} {'more' if more >= 0 else 'fewer'} people"
    return (
        f"{s85[:-1]} (range across ONS variant projections {r85['low']:.0%} to {r85['high']:.0%}). "
        f"{spp[:-1]} (range {rpp['low']:.0%} to {rpp['high']:.0%}): about {change}, "
        f"{d['people']:,.0f} in {to_year} "
        f"(combined range {d['people_low']:,.0f} to {d['people_high']:,.0f})."
    )


def people_table(proj: DemandProjection, step: int = 2) -> pd.DataFrame:
    """People needing support and gross cost for the council every ``step`` years (display-ready).

    People are rounded to whole numbers, money to GBP million at 1 dp (2021-22 prices).
    """
    d = proj.demand[
        (proj.demand["area_code"] == proj.council_code) & (proj.demand["age_band"] == "all")
    ]
    years = [*range(proj.base_year, proj.final_year, step), proj.final_year]
    d = d[d["year"].isin(years)].set_index("year")
    return pd.DataFrame(
        {
            "people (central)": d["people"].round().astype("int64"),
            "people low": d["people_low"].round().astype("int64"),
            "people high": d["people_high"].round().astype("int64"),
            "gross cost £m, 2021-22 prices": (d["cost"] / 1e6).round(1),
            "cost low £m": (d["cost_low"] / 1e6).round(1),
            "cost high £m": (d["cost_high"] / 1e6).round(1),
        }
    )


def rates_table(proj: DemandProjection) -> pd.DataFrame:
    """Council and England rates per 1,000 population with Wilson intervals (display-ready)."""
    pieces = []
    for name, r in ((proj.council_name, proj.rates), ("England", proj.england_rates)):
        pieces.append(
            pd.DataFrame(
                {
                    "area": name,
                    "age band": r["age_band"],
                    "people supported": r["users"].round().astype("int64"),
                    "population mid-2021": r["population"].round().astype("int64"),
                    "per 1,000": (1000 * r["rate"]).round(1),
                    "95% CI low": (1000 * r["rate_lower"]).round(1),
                    "95% CI high": (1000 * r["rate_upper"]).round(1),
                    "rate from": r["rate_source"],
                }
            )
        )
    return pd.concat(pieces, ignore_index=True).set_index(["area", "age band"])


# ---------------------------------------------------------------------------------------------
# small areas and maps


def small_area_from_tables(
    msoa: pd.DataFrame,
    boundaries,  # geopandas.GeoDataFrame: msoa_code, geometry
    proj: DemandProjection,
    target_year: int | None = None,
):  # -> geopandas.GeoDataFrame
    """Core of :func:`small_area_projection` on the ``population_msoa`` and boundary tables."""
    import geopandas as gpd

    target_year = proj.final_year if target_year is None else target_year
    code = proj.council_code
    base = msoa[
        (msoa["period"] == "2021")
        & (msoa["council_code"] == code)
        & msoa["age_band"].isin(RATE_BANDS)
    ]
    columns = [
        "msoa_code",
        "msoa_name",
        "people_base",
        "people_target",
        "change",
        "change_pct",
        "people_target_low",
        "people_target_high",
        "people_65_target",
    ]
    if base.empty:
        empty = gpd.GeoDataFrame(
            {c: pd.Series(dtype="float64") for c in columns},
            geometry=gpd.GeoSeries([], crs=getattr(boundaries, "crs", None)),
        )
        empty.attrs["message"] = (
            f"No Census 2021 MSOA populations for {proj.council_name} ({code}): "
            "no small-area projection."
        )
        return empty
    small_base = pd.DataFrame(
        {
            "area_code": base["msoa_code"].astype(str).to_numpy(),
            "parent_code": code,
            "age_band": base["age_band"].astype(str).to_numpy(),
            "sex": "persons",
            "population": base["population"].to_numpy(dtype="float64"),
        }
    )
    council_pop = proj.population[
        (proj.population["area_code"] == code) & proj.population["age_band"].isin(RATE_BANDS)
    ]
    small = apportion_to_small_areas(small_base, council_pop)
    people = _project(
        small[[*POP_COLUMNS, "variant"]], proj.rates, proj.base_year, target_year - proj.base_year
    ).set_index(["area_code", "age_band", "year"])
    tot = people.xs("all", level="age_band")
    b = tot.xs(proj.base_year, level="year")
    t = tot.xs(target_year, level="year")
    out = pd.DataFrame(
        {
            "people_base": b["people"],
            "people_target": t["people"],
            "change": t["people"] - b["people"],
            "change_pct": 100 * (t["people"] / b["people"] - 1),
            "people_target_low": t["people_low"],
            "people_target_high": t["people_high"],
            "people_65_target": people.xs(("65+", target_year), level=["age_band", "year"])[
                "people"
            ],
        }
    ).rename_axis("msoa_code")
    names = base.drop_duplicates("msoa_code").set_index("msoa_code")["msoa_name"].astype(str)
    out.insert(0, "msoa_name", names.reindex(out.index).to_numpy())
    geo = boundaries[["msoa_code", "geometry"]].merge(out.reset_index(), on="msoa_code")
    geo = geo[["msoa_code", "msoa_name", *columns[2:], "geometry"]]
    geo = gpd.GeoDataFrame(geo, geometry="geometry", crs=boundaries.crs)
    geo = geo.sort_values("msoa_code").reset_index(drop=True)
    lost = len(out) - len(geo)
    geo.attrs["message"] = (
        f"{len(geo)} MSOA{'s' if len(geo) != 1 else ''} in {proj.council_name}; "
        f"projected change {proj.base_year}-{target_year}."
        + (f" {lost} MSOAs had no boundary and are not mapped." if lost else "")
    )
    return geo


def small_area_projection(
    council: str | DemandProjection, target_year: int | None = None
):  # -> geopandas.GeoDataFrame
    """People needing long-term support per MSOA in ``target_year`` and the change from the base year.

    Census 2021 MSOA populations aged 18-64 and 65+ inside the council are apportioned to the
    council projection (:func:`apportion_to_small_areas`: each MSOA keeps its 2021 share of each
    band), then multiplied by the council's rates. MSOAs add up to the council total exactly. The
    result is joined to the MSOA 2021 boundaries (British National Grid) for a map; a council with
    no MSOAs gives an empty frame whose ``attrs['message']`` says why.
    """
    proj = council if isinstance(council, DemandProjection) else council_projection(council)
    return small_area_from_tables(
        build.load("population_msoa"), build.load("boundaries_msoa"), proj, target_year
    )


def council_growth_from_tables(
    snpp: pd.DataFrame, boundaries, age_band: str, from_year: int, to_year: int
):  # -> geopandas.GeoDataFrame
    """Growth % of ``age_band`` (principal SNPP) for every council, joined to council boundaries."""
    sel = snpp[snpp["age_band"] == age_band]
    sel = sel[_years(sel["period"]).isin([from_year, to_year])]
    wide = sel.assign(year=_years(sel["period"])).pivot_table(
        index="council_code", columns="year", values="value"
    )
    growth = (100 * (wide[to_year] / wide[from_year] - 1)).rename("growth_pct")
    out = boundaries.merge(growth, left_on="council_code", right_index=True, how="left")
    return out.sort_values("council_code").reset_index(drop=True)


def council_growth_map(
    age_band: str = "85+", from_year: int = BASE_YEAR, to_year: int = BASE_YEAR + HORIZON
):  # -> geopandas.GeoDataFrame
    """Every council's projected growth (%) of ``age_band`` with its boundary, for a choropleth."""
    return council_growth_from_tables(
        build.load("population_projection"),
        build.load("boundaries_council"),
        age_band,
        from_year,
        to_year,
    )


# ---------------------------------------------------------------------------------------------
# charts (calls to :mod:`asc_evidence.charts` plus the few touches it has no parameter for)


def index_frame(proj: DemandProjection, bands: tuple[str, ...] = INDEX_BANDS) -> pd.DataFrame:
    """Principal population indexed to 100 at the base year: ``series, year, index``."""
    p = proj.population[
        (proj.population["variant"] == PRINCIPAL) & proj.population["age_band"].isin(bands)
    ].copy()
    base = p[p["year"] == proj.base_year].set_index(["area_code", "age_band"])["population"]
    p["index"] = (
        100
        * p["population"]
        / base.reindex(pd.MultiIndex.from_frame(p[["area_code", "age_band"]])).to_numpy()
    )
    name = p["area_code"].map({proj.council_code: proj.council_name, ENGLAND: "England"})
    p["series"] = name + " " + p["age_band"]
    return p[["series", "area_code", "age_band", "year", "index"]].reset_index(drop=True)


def plot_population_index(proj: DemandProjection):  # -> matplotlib.figure.Figure
    """Lines of the council's and England's population by age band, indexed to 100 (England dashed)."""
    frame = index_frame(proj)
    fig = charts.trend_lines(
        frame,
        title=f"{proj.council_name} and England: projected population by age (base year = 100)",
        ylabel=f"Index ({proj.base_year} = 100)",
        source="ONS 2018-based subnational population projections (principal)",
        period=f"mid-{proj.base_year} to mid-{proj.final_year}",
        x="year",
        y="index",
        hue="series",
    )
    ax = fig.axes[0]
    ax.set_xlabel("Year (mid-year)")
    colours = dict(zip(INDEX_BANDS, ("#1b9e77", "#7570b3", charts.COUNCIL), strict=False))
    for line in ax.get_lines():
        label = str(line.get_label())
        line.set_color(colours.get(label.rsplit(" ", 1)[-1], charts.OTHER))
        line.set_markersize(4)
        if label.startswith("England"):
            line.set_linestyle("--")
    ax.legend(ncol=2, fontsize=8, title="solid: council, dashed: England", title_fontsize=8)
    return fig


def plot_people(proj: DemandProjection):  # -> matplotlib.figure.Figure
    """People needing long-term support per year (council) with the variant and combined ranges."""
    d = proj.demand[
        (proj.demand["area_code"] == proj.council_code) & (proj.demand["age_band"] == "all")
    ]
    frame = pd.DataFrame(
        {"series": f"{proj.council_name} (central)", "year": d["year"], "value": d["people"]}
    )
    fig = charts.trend_lines(
        frame,
        title=f"{proj.council_name}: adults needing long-term support, projected",
        ylabel="People (18+) receiving long-term support",
        source=f"{SOURCE_RATES}; {SOURCE_SNPP}",
        period=f"rates 2021-22; projection mid-{proj.base_year} to mid-{proj.final_year}",
        x="year",
        y="value",
    )
    ax = fig.axes[0]
    ax.get_lines()[0].set_color(charts.COUNCIL)
    ax.fill_between(
        d["year"],
        d["people_low"],
        d["people_high"],
        color=charts.NEIGHBOUR,
        alpha=0.15,
        label="combined range (variants and rate interval)",
    )
    ax.fill_between(
        d["year"],
        d["people_pop_low"],
        d["people_pop_high"],
        color=charts.NEIGHBOUR,
        alpha=0.35,
        label="population variants only",
    )
    ax.set_xlabel("Year (mid-year)")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def plot_small_area_map(areas, proj: DemandProjection):  # -> matplotlib.figure.Figure | None
    """Choropleth of the projected change in people needing support per MSOA, council outlined."""
    if areas.empty:
        return None
    import geopandas as gpd

    target = proj.final_year
    outline = gpd.GeoDataFrame(geometry=[areas.union_all()], crs=areas.crs)
    return charts.choropleth(
        areas,
        "change",
        title=f"{proj.council_name}: change in {NEED} by MSOA, {proj.base_year} to {target}",
        legend_label=f"Additional people {proj.base_year}-{target}",
        source=f"{SOURCE_MSOA}; {SOURCE_RATES}; {SOURCE_SNPP}",
        period=f"Census 2021 base, projected mid-{proj.base_year} to mid-{target}",
        highlight=outline,
        cmap="Oranges",
    )


def plot_growth_map(
    growth, proj: DemandProjection, age_band: str = "85+"
):  # -> matplotlib.figure.Figure
    """Choropleth of every council's projected growth of ``age_band``, the council outlined."""
    return charts.choropleth(
        growth,
        "growth_pct",
        title=f"Projected growth of the {age_band} population by council, "
        f"{proj.base_year} to {proj.final_year}",
        legend_label=f"Growth of {age_band} population (%)",
        source="ONS 2018-based subnational population projections (principal); ONS boundaries May 2023",
        period=f"mid-{proj.base_year} to mid-{proj.final_year}",
        highlight=growth[growth["council_code"] == proj.council_code],
        cmap="viridis",
    )


def small_area_table(areas, n: int = 10) -> pd.DataFrame:
    """The ``n`` MSOAs with the largest projected increase (display-ready, whole people, 1 dp %)."""
    if areas.empty:
        return pd.DataFrame(columns=["MSOA", "code", "now", "projected", "change", "change %"])
    top = areas.sort_values(["change", "msoa_code"], ascending=[False, True]).head(n)
    return pd.DataFrame(
        {
            "MSOA": top["msoa_name"].to_numpy(),
            "code": top["msoa_code"].to_numpy(),
            "now": top["people_base"].round().astype("int64").to_numpy(),
            "projected": top["people_target"].round().astype("int64").to_numpy(),
            "change": top["change"].round().astype("int64").to_numpy(),
            "change %": top["change_pct"].round(1).to_numpy(),
        },
        index=pd.RangeIndex(1, len(top) + 1, name="rank"),
    )


def growth_rank(growth, council_code: str, age_band: str = "85+") -> str:
    """Where the council's growth (from :func:`council_growth_map`) ranks among all councils."""
    g = growth.dropna(subset=["growth_pct"]).sort_values(
        ["growth_pct", "council_code"], ascending=[False, True]
    )
    ranks = pd.Series(range(1, len(g) + 1), index=g["council_code"].to_numpy())
    if council_code not in ranks.index:
        return f"No {age_band} growth figure for {council_code}."
    row = g.set_index("council_code").loc[council_code]
    median = g["growth_pct"].median()
    return (
        f"{row['council_name']}'s {age_band} population grows {row['growth_pct']:.1f}%, "
        f"the {_ordinal(int(ranks[council_code]))} fastest of {len(g)} councils "
        f"(median council {median:.1f}%)."
    )


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
