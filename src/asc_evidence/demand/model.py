"""The demand projection: populations (with variants) x rates (x unit costs), council and England."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
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
    _years,
    apply_variants,
    costs_per_client,
    rate_counts,
    rates_of_councils,
    snpp_frame,
    unit_costs_of_councils,
    variant_ratios,
)
from asc_evidence.stats.projection import project_demand


def _project(
    pop: pd.DataFrame, rates: pd.DataFrame, base_year: int, horizon: int, central: str = PRINCIPAL
) -> pd.DataFrame:
    cols = ["area_code"] if "area_code" in rates.columns else []
    r = rates[[*cols, "age_band", "rate", "rate_lower", "rate_upper"]].assign(sex=_SEX)
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
    envelope as ``people_low/high`` (lowest variant x lower rate; highest x upper rate). Rates
    and unit costs with an ``area_code`` column are each area's own (many areas in one call).
    """
    people = _project(pop, rates, base_year, horizon)
    if unit_costs is None:
        return people
    on = [c for c in ("area_code",) if c in rates.columns and c in unit_costs.columns]
    on.append("age_band")
    uc = rates.merge(unit_costs[[*on, "unit_cost"]], on=on, how="left")
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

    One ``project_demand`` call: each (area, variant) pair is passed as its own area (with its
    area's rates when ``rates`` has an ``area_code`` column).
    """
    keyed = pop.assign(area_code=pop["area_code"] + "|" + pop["variant"], variant=PRINCIPAL)
    if "area_code" in rates.columns:
        pairs = pop[["area_code", "variant"]].drop_duplicates()
        rates = pairs.merge(rates, on="area_code")
        rates["area_code"] = rates["area_code"] + "|" + rates["variant"]
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


def _parts(
    frame: pd.DataFrame, parts: list[tuple[str, ...]], union: bool = False, **labels: list[str]
) -> pd.DataFrame:
    """The rows of each part's areas (``area_code``) in turn, with first columns ``labels`` (one
    value per part). A part's rows are its areas' one area after another (as a concatenation
    gives) or, with ``union``, in ``frame``'s order (as a selection of those areas gives)."""
    where = frame.groupby("area_code", sort=False).indices
    rows = [np.concatenate([where[a] for a in part]) for part in parts]
    if union:
        rows = [np.unique(r) for r in rows]
    out = frame.take(np.concatenate(rows)).reset_index(drop=True)
    sizes = [len(r) for r in rows]
    for i, (col, values) in enumerate(labels.items()):
        label = np.repeat(np.array(values, dtype=object), sizes)
        out.insert(i, col, pd.Series(label, dtype="str"))
    return out


def _gaps_65(snpp: pd.DataFrame, mye: pd.DataFrame) -> dict[str, float]:
    """2018-based SNPP 65+ for 2021 against the mid-2021 estimate (``proj / est - 1``), by council.

    The first row of each council in either table, as in the note of :func:`_notes`; councils
    lacking either value (or with no estimate) are left out.
    """
    proj = snpp[snpp["age_band"] == "65+"]
    proj21 = proj[_years(proj["period"]).to_numpy() == 2021].drop_duplicates("council_code")
    est = _persons(mye, POPULATION_PERIOD, ("65+",)).drop_duplicates("council_code")
    est21 = dict(zip(est["council_code"], est["value"], strict=True))
    return {
        code: p / est21[code] - 1
        for code, p in zip(proj21["council_code"], proj21["value"], strict=True)
        if code in est21 and pd.notna(est21[code])
    }


def projections_from_tables(
    snpp: pd.DataFrame,
    npp: pd.DataFrame,
    activity: pd.DataFrame,
    mye: pd.DataFrame,
    council_codes: Sequence[str],
    base_year: int = BASE_YEAR,
    horizon: int = HORIZON,
    shared: dict[object, object] | None = None,
) -> dict[str, pd.DataFrame]:
    """:func:`projection_from_tables` of many councils at once, as long frames.

    The councils and England go through one population, one people-and-cost and one by-variant
    projection together (each council with its own rates and costs, England with England's), so
    nothing is repeated per council; the numbers are those of one council at a time.

    Returns
    -------
    dict of pandas.DataFrame
        ``demand``, ``population``, ``by_variant``, ``unit_costs``: each council's frame of
        :class:`DemandProjection` in turn, with a first column ``projection`` (its code);
        ``rates``: its ``rates`` then ``england_rates``, labelled by ``projection, rates_of``
        (``council``, ``England``); ``notes``: ``projection, note``, one row per note.
    """
    memo: dict[object, object] = {} if shared is None else shared
    codes = list(dict.fromkeys(council_codes))
    areas = list(dict.fromkeys([*codes, ENGLAND]))
    bands = tuple(dict.fromkeys((*RATE_BANDS, *GROWTH_BANDS, "all")))
    principal = snpp_frame(snpp, areas, bands)
    years = range(base_year, base_year + horizon + 1)
    principal = principal[principal["year"].isin(years)]
    if "ratios" not in memo:
        memo["ratios"] = variant_ratios(npp)
    pop = apply_variants(principal, memo["ratios"])
    if "inputs" not in memo:  # rate counts, costs per client and 65+ gaps of every council
        memo["inputs"] = (
            rate_counts(activity, mye),
            costs_per_client(activity),
            _gaps_65(snpp, mye),
        )
    counts, per_client, gaps = memo["inputs"]
    to_area = {"council_code": "area_code"}
    rates = rates_of_councils(counts, areas).rename(columns=to_area)
    costs = unit_costs_of_councils(per_client, areas).rename(columns=to_area)
    rated = pop[pop["age_band"].isin(RATE_BANDS)]
    demand = people_and_cost(rated, rates, costs, base_year, horizon)
    by_variant = people_by_variant(rated, rates, base_year, horizon)
    with_england = [(c, ENGLAND) for c in codes]
    whose = [(c, of, a) for c in codes for of, a in (("council", c), ("England", ENGLAND))]
    notes = _notes_of(rates, costs, gaps, codes)
    return {
        "demand": _parts(demand, with_england, projection=codes),
        "population": _parts(pop, with_england, union=True, projection=codes),
        "by_variant": _parts(by_variant, with_england, projection=codes),
        "unit_costs": _parts(costs, [(c,) for c in codes], projection=codes).drop(
            columns="area_code"
        ),
        "rates": _parts(
            rates,
            [(a,) for _, _, a in whose],
            projection=[c for c, _, _ in whose],
            rates_of=[of for _, of, _ in whose],
        ).drop(columns="area_code"),
        "notes": pd.DataFrame(
            {
                "projection": pd.Series(np.repeat(codes, [len(n) for n in notes]), dtype="str"),
                "note": pd.Series([n for ns in notes for n in ns], dtype="str"),
            }
        ),
    }


def _part(frame: pd.DataFrame, code: str, **labels: str) -> pd.DataFrame:
    """The frame of council ``code`` (and ``labels``) in a frame of :func:`projections_from_tables`."""
    sel = frame["projection"] == code
    for col, value in labels.items():
        sel &= frame[col] == value
    return frame.loc[sel].drop(columns=["projection", *labels]).reset_index(drop=True)


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

    :func:`projections_from_tables` of one council. ``shared``: a dict kept between calls on the
    SAME tables (e.g. every council in turn), in which what is the same for every council (the
    variant ratios; the rate counts, costs per client and 65+ gaps of all councils) is made once.
    """
    frames = projections_from_tables(
        snpp, npp, activity, mye, [council_code], base_year, horizon, shared
    )
    return DemandProjection(
        council_code=council_code,
        council_name=council_name or council_code,
        base_year=base_year,
        horizon=horizon,
        rates=_part(frames["rates"], council_code, rates_of="council"),
        england_rates=_part(frames["rates"], council_code, rates_of="England"),
        unit_costs=_part(frames["unit_costs"], council_code),
        population=_part(frames["population"], council_code),
        demand=_part(frames["demand"], council_code),
        by_variant=_part(frames["by_variant"], council_code),
        notes=[str(n) for n in _part(frames["notes"], council_code)["note"]],
    )


def _notes_of(
    rates: pd.DataFrame, costs: pd.DataFrame, gaps: dict[str, float], codes: list[str]
) -> list[list[str]]:
    """:func:`_notes` of each council of ``codes`` from the long rates and costs (``area_code``)."""
    flags: dict[str, list[str]] = {c: [] for c in codes}
    for code, band, flag in zip(rates["area_code"], rates["age_band"], rates["flag"], strict=True):
        if code in flags and flag:
            flags[code].append(f"{band}: {flag}.")
    per_client: dict[str, list[str]] = {c: [] for c in codes}
    cols = ("area_code", "age_band", "unit_cost", "cost_source", "flag")
    for code, band, cost, source, flag in zip(*(costs[c] for c in cols), strict=True):
        if code in per_client:
            per_client[code].append(f"{band} £{cost:,.0f} ({source if not flag else flag})")
    return [_notes(flags[c], per_client[c], gaps.get(c)) for c in codes]


def _notes(rate_flags: list[str], per_client: list[str], gap_65: float | None) -> list[str]:
    notes = [
        f"Rates: {NEED} at 31 March 2022 per resident of the same age at mid-2021, for 18-64 and "
        "65+ only (the bands SALT publishes by council). The projection captures growth of those "
        "two populations; need rises steeply with age within 65+, so 85+ growth is the key driver "
        "to read alongside and a single 65+ rate understates it.",
        "Rates are held at their 2021-22 level (no change in health, eligibility, charging or supply).",
        *rate_flags,
        "Cost per client per year (gross current expenditure on long-term support / clients at "
        "31 March 2022, 2021-22 prices): " + "; ".join(per_client) + ".",
    ]
    if gap_65 is not None:
        notes.append(
            f"The 2018-based projection of the 65+ population for 2021 is {gap_65:+.1%} against the "
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
