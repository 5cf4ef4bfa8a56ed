"""The demand projection: populations (with variants) x rates (x unit costs), council and England."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from asc_evidence import build
from asc_evidence.common import ENGLAND
from asc_evidence.councils import lookup
from asc_evidence.demand.inputs import (
    _SEX,
    BASE_YEAR,
    GROWTH_BANDS,
    HORIZON,
    NEED,
    POPULATION_PERIOD,
    PRINCIPAL,
    RATE_BANDS,
    _persons,
    apply_variants,
    rates_from_tables,
    snpp_frame,
    unit_costs_from_table,
    variant_ratios,
)
from asc_evidence.stats.projection import project_demand


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


#: Processed tables a projection reads, in the order :func:`projection_from_tables` takes them.
INPUT_TABLES = (
    "population_projection",
    "population_projection_variants",
    "ascfr_2021_22",
    "population_mye",
)


def input_tables() -> list[pd.DataFrame]:
    """The processed tables of :data:`INPUT_TABLES` (SNPP, NPP variants, ASC-FR/SALT, MYE)."""
    return [build.load(t) for t in INPUT_TABLES]


def projection_from_tables(
    snpp: pd.DataFrame,
    npp: pd.DataFrame,
    activity: pd.DataFrame,
    mye: pd.DataFrame,
    council_code: str,
    council_name: str = "",
    base_year: int = BASE_YEAR,
    horizon: int = HORIZON,
    shared: dict[object, object] | None = None,
) -> DemandProjection:
    """Core of :func:`council_projection` on tidy tables (SNPP, NPP variants, ASC-FR/SALT, MYE).

    ``shared``: a dict kept between calls on the SAME tables (e.g. every council in turn, as the
    evidence stage does), in which England's part (rates, costs, projection), which is the same for
    every council, is computed once.
    """
    memo: dict[object, object] = {} if shared is None else shared
    bands = tuple(dict.fromkeys((*RATE_BANDS, *GROWTH_BANDS, "all")))
    principal = snpp_frame(snpp, [council_code, ENGLAND], bands)
    years = range(base_year, base_year + horizon + 1)
    principal = principal[principal["year"].isin(years)]
    if "ratios" not in memo:
        memo["ratios"] = variant_ratios(npp)
    pop = apply_variants(principal, memo["ratios"])
    rates = rates_from_tables(activity, mye, council_code)
    costs = unit_costs_from_table(activity, council_code)
    rated = pop[pop["age_band"].isin(RATE_BANDS)]
    if ("england", base_year, horizon) not in memo:
        eng_rates = rates_from_tables(activity, mye, ENGLAND)
        eng_costs = unit_costs_from_table(activity, ENGLAND)
        eng = rated[rated["area_code"] == ENGLAND]
        memo["england", base_year, horizon] = (
            eng_rates,
            eng_costs,
            people_and_cost(eng, eng_rates, eng_costs, base_year, horizon),
            people_by_variant(eng, eng_rates, base_year, horizon),
        )
    eng_rates, eng_costs, eng_demand, eng_by_variant = memo["england", base_year, horizon]
    mine = rated[rated["area_code"] == council_code]
    demand = pd.concat(
        [people_and_cost(mine, rates, costs, base_year, horizon), eng_demand], ignore_index=True
    )
    by_variant = pd.concat(
        [people_by_variant(mine, rates, base_year, horizon), eng_by_variant], ignore_index=True
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
    from asc_evidence import evidence

    if base_year == BASE_YEAR and horizon == HORIZON:
        stored = evidence.demand_projection(council_code)  # None unless built and fresh
        if stored is not None:
            return stored
    council = lookup(council_code)
    return projection_from_tables(
        *input_tables(),
        council.code,
        council.name,
        base_year,
        horizon,
    )
