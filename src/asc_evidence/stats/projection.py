"""Demand projection by the POPPI/PANSI method: age- and sex-specific rates x projected population.

* :func:`rates_from_counts`: a council's own rates of service use with Wilson intervals;
* :func:`project_demand`: people (and cost) per area and year, with low/high ranges;
* :func:`growth_comparison`: growth of an age band in an area against a comparator, in words;
* :func:`apportion_to_small_areas`: council projections shared out to small areas (MSOAs).

References
----------
.. [1] Institute of Public Care, Oxford Brookes University. *Projecting Older People
   Population Information System (POPPI)* and *Projecting Adult Needs and Service Information
   (PANSI)*, methodology pages. https://www.poppi.org.uk/ and https://www.pansi.org.uk/
.. [2] Office for National Statistics. *Subnational population projections for England*
   (2018-based, and variant projections), methodology.
.. [3] Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
   inference. *JASA* 22(158), 209-212. doi:10.1080/01621459.1927.10502953
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from asc_evidence.common import ENGLAND

POP_COLUMNS = ["area_code", "year", "age_band", "sex", "population"]
RATE_COLUMNS = ["age_band", "sex", "rate"]


def _need(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        msg = f"The {what} table lacks columns {missing}; it has {list(df.columns)}."
        raise ValueError(msg)


def rates_from_counts(
    users: pd.Series | Sequence[float] | np.ndarray | float,
    population: pd.Series | Sequence[float] | np.ndarray | float,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Rates of service use per person with Wilson score intervals.

    Parameters
    ----------
    users
        People using the service (e.g. council-funded residential clients aged 65+), one value
        per age band/sex; a Series keeps its index (e.g. a MultiIndex ``age_band, sex``).
    population
        Resident population of the same bands (same shape or index).
    confidence
        Two-sided level, e.g. 0.95.

    Returns
    -------
    pandas.DataFrame
        ``users, population, rate, rate_lower, rate_upper, method``: ready, after
        ``reset_index()``, to be the ``rates`` input of :func:`project_demand`.

    Notes
    -----
    Wilson's interval [3]_ (``statsmodels`` ``proportion_confint(method="wilson")``) treats
    users as a binomial sample of the population: right for the uncertainty of a rate as an
    estimate of the underlying propensity, and sensible near 0 where the normal interval
    fails. It does not cover changes in eligibility, supply or charging policy, which usually
    matter more for projections than sampling error.
    """
    if not 0 < confidence < 1:
        msg = f"confidence must be between 0 and 1 (e.g. 0.95); got {confidence}."
        raise ValueError(msg)
    index = users.index if isinstance(users, pd.Series) else None
    u = np.atleast_1d(np.asarray(users, dtype="float64"))
    n = np.atleast_1d(np.asarray(population, dtype="float64"))
    if u.shape != n.shape:
        msg = f"users and population differ in shape ({u.shape} vs {n.shape})."
        raise ValueError(msg)
    if (n <= 0).any() or (u < 0).any() or (u > n).any():
        msg = "Need population > 0 and 0 <= users <= population in every band."
        raise ValueError(msg)
    lower, upper = proportion_confint(u, n, alpha=1 - confidence, method="wilson")
    return pd.DataFrame(
        {
            "users": u,
            "population": n,
            "rate": u / n,
            "rate_lower": lower,
            "rate_upper": upper,
            "method": f"Wilson score {confidence:.0%}",
        },
        index=index,
    )


def project_demand(
    pop: pd.DataFrame,
    rates: pd.DataFrame,
    base_year: int,
    horizon: int = 10,
    unit_cost: float | None = None,
    central_variant: str = "principal",
) -> pd.DataFrame:
    """Projected people with a need (or using a service), per area, year and age band.

    Parameters
    ----------
    pop
        Population projection: ``area_code, year, age_band, sex, population`` and optionally
        ``variant`` (e.g. ONS principal, high and low migration variants). Any area codes:
        councils, England, or small areas from :func:`apportion_to_small_areas`.
    rates
        ``age_band, sex, rate`` per person, optionally ``rate_lower, rate_upper`` (e.g. from
        :func:`rates_from_counts` or a POPPI prevalence study). If every rate has sex
        ``persons``, male and female populations are summed first. Bands of ``pop`` without a
        rate are left out (the rates define the population of interest). With an ``area_code``
        column the rates are area-specific (e.g. each council's own): every area of ``pop``
        takes its own rates, so many areas are projected in one call.
    base_year
        First year of the projection.
    horizon
        Years after ``base_year`` to project. The population table must hold the base and the
        final year; years in between are used when present (tables may be five-yearly).
    unit_cost
        Cost per person per year (e.g. gross weekly cost x 52) in base-year prices; adds
        ``cost, cost_low, cost_high``.
    central_variant
        Value of ``variant`` used for the central projection.

    Returns
    -------
    pandas.DataFrame
        One row per ``area_code, year, age_band`` (sexes summed), plus ``age_band = "all"``
        totals: ``population`` (central), ``people`` (central rate x central population),
        ``people_rate_low/high`` (rate interval, central population), ``people_pop_low/high``
        (central rate, lowest/highest population variant), ``people_low/high`` (combined),
        and the cost columns when ``unit_cost`` is given.

    Notes
    -----
    The POPPI/PANSI method [1]_: ``people(area, year) = sum over age band and sex of
    rate(band, sex) x population(area, year, band, sex)``. It assumes the rates stay as they
    were in the source study or base year: no change in health of each age group, in
    eligibility, or in service supply. The combined range takes the extremes of both sources
    at once: ``people_low = min over variants of sum(rate_lower x population)`` and
    ``people_high = max over variants of sum(rate_upper x population)``. It is an outer
    envelope (both uncertainties at their worst together), wider than a probabilistic
    interval, and is not a confidence interval. Variant minima and maxima are taken
    separately for each band and for the total, so band ranges need not add to the total's.
    """
    _need(pop, POP_COLUMNS, "population")
    _need(rates, RATE_COLUMNS, "rates")
    if horizon < 0:
        msg = f"horizon must be >= 0; got {horizon}."
        raise ValueError(msg)
    r = rates.copy()
    for c in ("rate_lower", "rate_upper"):
        if c not in r.columns:
            r[c] = r["rate"]
    by_area = "area_code" in r.columns
    on = ["area_code", "age_band", "sex"] if by_area else ["age_band", "sex"]
    if r.duplicated(on).any():
        dup = r.loc[r.duplicated(on), on].to_numpy().tolist()
        msg = f"The rates table repeats {'area/' if by_area else ''}age band/sex pairs: {dup}."
        raise ValueError(msg)
    bad = ~(
        (r["rate_lower"] <= r["rate"]) & (r["rate"] <= r["rate_upper"]) & (r["rate_lower"] >= 0)
    )
    if bad.any():
        msg = f"Rates must satisfy 0 <= rate_lower <= rate <= rate_upper; check bands {r.loc[bad, 'age_band'].tolist()}."
        raise ValueError(msg)

    years = range(base_year, base_year + horizon + 1)
    p = pop[pop["year"].isin(years)].copy()
    if "variant" not in p.columns:
        p["variant"] = central_variant
    absent = sorted({base_year, base_year + horizon} - set(p["year"]))
    if absent:
        msg = f"The population table lacks years {absent} (needed for {base_year}+{horizon})."
        raise ValueError(msg)
    if central_variant not in set(p["variant"]):
        msg = (
            f"No population variant {central_variant!r}; variants are {sorted(set(p['variant']))}."
        )
        raise ValueError(msg)
    if by_area:
        unrated = sorted(set(p["area_code"]) - set(r["area_code"]))
        if unrated:
            msg = f"The rates table has no rates for areas {unrated[:5]}."
            raise ValueError(msg)
    if set(r["sex"]) == {"persons"}:
        p = (
            p[p["sex"] != "persons"]
            .groupby(["area_code", "year", "variant", "age_band"], as_index=False)["population"]
            .sum()
            .assign(sex="persons")
        )
    m = p.merge(r, on=on, how="inner")
    keys = ["area_code", "year", "variant"]
    found = m.groupby(keys).size()
    if by_area:  # rated cells each area needs
        per_area = r.groupby("area_code").size()
        need = per_area.reindex(found.index.get_level_values("area_code")).to_numpy()
        short = found[found.to_numpy() < need]
    else:
        short = found[found < len(r)]
    cells = p[keys].drop_duplicates()
    if len(short) or len(found) < len(cells):
        have = set(zip(p["age_band"], p["sex"], strict=True))
        lacking = sorted(set(zip(r["age_band"], r["sex"], strict=True)) - have)
        msg = (
            f"Population is missing rated age band/sex cells for some areas or years "
            f"(e.g. {lacking[:5] or list(short.index[:3])}); no zero is assumed."
        )
        raise ValueError(msg)
    m["people"] = m["population"] * m["rate"]
    m["people_rate_low"] = m["population"] * m["rate_lower"]
    m["people_rate_high"] = m["population"] * m["rate_upper"]
    value_cols = ["population", "people", "people_rate_low", "people_rate_high"]
    by_band = m.groupby([*keys, "age_band"], as_index=False)[value_cols].sum()
    total = by_band.groupby(keys, as_index=False)[value_cols].sum().assign(age_band="all")
    both = pd.concat([by_band, total], ignore_index=True)

    cell = ["area_code", "year", "age_band"]
    central = both[both["variant"] == central_variant].drop(columns="variant").set_index(cell)
    g = both.groupby(cell)
    central["people_pop_low"] = g["people"].min()
    central["people_pop_high"] = g["people"].max()
    central["people_low"] = g["people_rate_low"].min()
    central["people_high"] = g["people_rate_high"].max()
    out = central.reset_index()
    if unit_cost is not None:
        out["cost"] = out["people"] * unit_cost
        out["cost_low"] = out["people_low"] * unit_cost
        out["cost_high"] = out["people_high"] * unit_cost
    order = {b: i for i, b in enumerate(r["age_band"].drop_duplicates())}
    out["_order"] = out["age_band"].map(order).fillna(len(order))
    return (
        out.sort_values(["area_code", "year", "_order"])
        .drop(columns="_order")
        .reset_index(drop=True)
    )


@dataclass(frozen=True)
class GrowthComparison:
    """Growth of one measure and age band in an area against a comparator."""

    area: str
    comparator: str
    age_band: str
    measure: str
    from_year: int
    to_year: int
    area_from: float
    area_to: float
    area_growth: float
    comparator_from: float
    comparator_to: float
    comparator_growth: float

    def sentence(self) -> str:
        """E.g. '85+ people grows 38% by 2035 (from 2025) vs 29% nationally.'"""

        def change(g: float) -> str:
            return f"grows {g:.0%}" if g >= 0 else f"falls {-g:.0%}"

        where = "nationally" if self.comparator == ENGLAND else f"in {self.comparator}"
        other = (
            f"{self.comparator_growth:.0%}"
            if self.comparator_growth >= 0
            else (f"a fall of {-self.comparator_growth:.0%}")
        )
        return (
            f"{self.age_band} {self.measure} {change(self.area_growth)} by {self.to_year} "
            f"(from {self.from_year}) vs {other} {where}."
        )


def growth_comparison(
    proj: pd.DataFrame,
    area: str,
    comparator: str = ENGLAND,
    age_band: str | Sequence[str] = "85+",
    from_year: int | None = None,
    to_year: int | None = None,
    measure: str = "people",
    central_variant: str = "principal",
) -> GrowthComparison:
    """Percentage growth of a measure for an age band, area vs comparator.

    Parameters
    ----------
    proj
        Output of :func:`project_demand`, or a population table (``area_code, year, age_band,
        population`` and optionally ``sex``, ``variant``; sexes are summed, the central
        variant kept).
    area, comparator
        Area codes (the comparator defaults to England).
    age_band
        A band as in the table, or a list of bands to add up (e.g. ``["85-89", "90+"]``).
    from_year, to_year
        Default: first and last year in the table.
    measure
        Column to compare: ``people`` (projected need) or ``population``.

    Returns
    -------
    GrowthComparison
        Values, growth ``to / from - 1`` for both, and :meth:`GrowthComparison.sentence`.
    """
    _need(proj, ["area_code", "year", "age_band", measure], "projection")
    bands = [age_band] if isinstance(age_band, str) else list(age_band)
    label = age_band if isinstance(age_band, str) else "+".join(bands)
    df = proj
    if "variant" in df.columns:
        df = df[df["variant"] == central_variant]
    from_year = int(df["year"].min()) if from_year is None else from_year
    to_year = int(df["year"].max()) if to_year is None else to_year
    sel = df[
        df["age_band"].isin(bands)
        & df["area_code"].isin([area, comparator])
        & df["year"].isin([from_year, to_year])
    ]
    got = sel.groupby(["area_code", "year"])[measure].sum()
    counts = sel.groupby(["area_code", "year"])["age_band"].nunique()
    for code in (area, comparator):
        for y in (from_year, to_year):
            if counts.get((code, y), 0) < len(bands):
                msg = f"No {measure} for {code}, {y}, age bands {bands} in the table."
                raise ValueError(msg)
    a0, a1 = got[(area, from_year)], got[(area, to_year)]
    c0, c1 = got[(comparator, from_year)], got[(comparator, to_year)]
    return GrowthComparison(
        area=area,
        comparator=comparator,
        age_band=label,
        measure=measure,
        from_year=from_year,
        to_year=to_year,
        area_from=float(a0),
        area_to=float(a1),
        area_growth=float(a1 / a0 - 1),
        comparator_from=float(c0),
        comparator_to=float(c1),
        comparator_growth=float(c1 / c0 - 1),
    )


def apportion_to_small_areas(small_base: pd.DataFrame, council_proj: pd.DataFrame) -> pd.DataFrame:
    """Share a council's population projection out to its small areas (e.g. MSOAs).

    Parameters
    ----------
    small_base
        Base-year small-area population: ``area_code, parent_code`` (the council),
        ``age_band, sex, population``.
    council_proj
        The councils' projection: ``area_code, year, age_band, sex, population`` and
        optionally ``variant``; its bands and sexes must match ``small_base``.

    Returns
    -------
    pandas.DataFrame
        A projection table for the small areas (same columns as ``council_proj``, plus
        ``parent_code``), usable by :func:`project_demand`.

    Notes
    -----
    ``pop(small, year, band, sex) = pop(council, year, band, sex) x share``, with
    ``share = base pop(small, band, sex) / sum over the council's small areas of the same``.
    Each small area keeps its base-year share of the council's population in every age band
    and sex; equivalently, the council's projected growth in each band is apportioned to small
    areas pro rata to their base-year population, and the small areas add up to the council
    projection exactly. This ignores what differs locally (new housing, care home openings,
    different migration), so treat small-area figures as a distribution of the council total,
    not as independent projections. If the small-area base does not add up to the council's
    base year (different sources), the shares still do; the scaling absorbs the difference.
    """
    _need(
        small_base, ["area_code", "parent_code", "age_band", "sex", "population"], "small-area base"
    )
    _need(council_proj, POP_COLUMNS, "council projection")
    keys = ["parent_code", "age_band", "sex"]
    sb = small_base.copy()
    sb["share"] = sb["population"] / sb.groupby(keys)["population"].transform("sum")
    if sb["share"].isna().any():
        bad = sb.loc[sb["share"].isna(), keys].drop_duplicates().to_numpy().tolist()[:5]
        msg = f"Small areas of some council bands have zero total population: {bad}."
        raise ValueError(msg)
    parents = set(sb["parent_code"])
    missing = sorted(parents - set(council_proj["area_code"]))
    if missing:
        msg = f"No council projection for parent codes {missing}."
        raise ValueError(msg)
    cp = council_proj[council_proj["area_code"].isin(parents)].rename(
        columns={"area_code": "parent_code", "population": "parent_population"}
    )
    out = sb.drop(columns="population").merge(cp, on=keys, how="left")
    if out["parent_population"].isna().any():
        bad = (
            out.loc[out["parent_population"].isna(), keys].drop_duplicates().to_numpy().tolist()[:5]
        )
        msg = f"The council projection lacks age band/sex cells used by the small areas: {bad}."
        raise ValueError(msg)
    out["population"] = out["parent_population"] * out["share"]
    cols = [c for c in council_proj.columns if c != "population"]
    return out[[*cols, "parent_code", "population"]].reset_index(drop=True)
