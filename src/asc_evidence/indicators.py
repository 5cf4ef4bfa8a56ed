"""The indicators a council is judged on: each declared once, in :data:`INDICATORS`.

One :class:`Indicator` holds everything about an indicator that other modules need: title, unit,
polarity, kind, multiplier, the source line of its charts, its builder and the processed-table
measures it reads, its definition breaks, the funnel's x-axis label, whether it is a headline
indicator and which notebook section shows it. Verdicts (:mod:`asc_evidence.verdict`), comparisons
and charts (:mod:`asc_evidence.compare`) and notebook sections (:func:`asc_evidence.notebook.section`)
read the spec; nothing else names an indicator. Adding an indicator of an existing kind is one
entry in :data:`INDICATORS` (its builder is a family builder: :func:`ascof`, :func:`ascof_survey`,
:func:`fee_rates`, :func:`delayed_transfers`) and a test.

Each indicator is a long table with one row per council (and England, regions where published) and
period: ``indicator, council_code, council_name, level, period, numerator, denominator, value, unit,
flag``. ``flag`` says when a figure is approximate (e.g. a numerator derived as rate x population, or an
interpolated population) so the report can say so. Declared polarity says which direction is better.

Assumptions (also in the README):

* Delayed transfers per 100,000 adults follow ASCOF 2C from 2015-16: delayed days in the months a
  council reported / (18+ population x days in those months) x 100,000, i.e. the average number of
  delayed beds per day per 100,000 adults; a missing month is left out of both, and a year with fewer
  than 10 reported months is flagged so no verdict is given. Delayed days are not Poisson events (one
  patient's delay gives many days, and adjacent months share patients): the table's ``dispersion`` is
  the year's variance inflation of annual delayed days relative to Poisson, estimated from councils'
  month-to-month variation (quasi-Poisson with council and month effects, Pearson dispersion pooled
  over councils, times an AR(1) allowance for correlation between months;
  :mod:`asc_evidence.stats.quasi_poisson`). Intervals and funnels use effective counts
  days / dispersion over person-days / dispersion. Month-to-month variation stands in for sampling
  variation (real change within a year inflates it) and one value is pooled over all councils.
  2019-20 covers the 11 months to February 2020 (collection stopped; Jan-Feb 2020 from a third-party
  aggregate); England's 2019-20 figure is the sum of the councils over the same 11 months because
  the England row stops in December 2019.
* 18+ population: ONS mid-2014 and mid-2018 to mid-2022 estimates for the year a financial year starts;
  2011-2013 use mid-2014 and 2015-2017 are interpolated linearly between mid-2014 and mid-2018, flagged.
* ASCOF admissions (2A) publish numerators only for 2020-21 and 2024-25 here; other years'
  numerators are approximated as rate x ONS population / 100,000 and flagged. 2024-25 (official
  time series, client-level data: new codes 2B/2C, 2D(1), 3D(1a)/3D(2a)) is a new definition,
  flagged and never joined to earlier years (``breaks``).
* Survey indicators (``kind="survey"``: ASCOF 1A, 1D, 3A, 4A, 5A(1) of the Adult Social Care
  Survey) are published as weighted estimates with a 95% margin of error and no counts: their
  interval is value +/- margin of error, compared with England by Fingertips' single-interval
  rule; no funnel. 2020-21 (voluntary survey) has no England figure.
* ASCOF 1C proportions publish their denominators only for 2020-21 (and 2024-25, a new definition); other SALT years use the council's 2020-21
  denominator, flagged.
* Fee rates: 2008-09 to 2013-14 the unit cost of independent-sector care (price paid, PSS-EX1);
  2020-21 and 2021-22 the ASC-FR average rate paid to external providers. The series break is flagged.
* Geography: :func:`get` maps every series onto today's councils once (code changes are the same
  council; Bournemouth + Poole summed into BCP before April 2019, boundary-approximate; split
  successors show the predecessor's figure, flagged). Councils abolished in 2019 have no 18+ estimate
  after mid-2014, which is carried forward and flagged. :func:`cross_section` gives one row per area
  for a year's comparison.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from asc_evidence.build import clear_caches as build_clear_caches
from asc_evidence.build import load, register_cache
from asc_evidence.common import ENGLAND, add_flag
from asc_evidence.councils import recode_map, to_current_geography

COLS = [
    "indicator",
    "council_code",
    "council_name",
    "level",
    "period",
    "numerator",
    "denominator",
    "value",
    "unit",
    "flag",
]
#: Builder columns kept after ``COLS`` when present (combined across codes by
#: :data:`asc_evidence.councils.EXTRA_AGG`).
PASS_THROUGH = ("dispersion", "months", "moe", "respondents")
#: Columns :func:`get` adds: the area a figure describes, how it was mapped, the source codes.
GEO_COLS = ["area_code", "area_name", "geography", "source_codes"]


POLARITIES = ("lower", "higher", "neutral")
#: ``rate``: events per ``multiplier`` population (Poisson); ``proportion``: % of a denominator
#: (binomial); ``price``: a price paid (no sampling error, no counts); ``survey``: a weighted
#: survey estimate published with its 95% margin of error (``moe``) and respondents, no counts.
KINDS = ("rate", "proportion", "price", "survey")
#: Kinds with a numerator and a denominator (intervals from the counts, funnel plots).
COUNTED_KINDS = ("rate", "proportion")
#: Notebook sections (one question each) and the notebook that shows them.
SECTIONS: dict[str, str] = {
    "fee_rates": "01_fee_rates.ipynb",
    "delayed_discharges": "02_delayed_discharges.ipynb",
    "admissions": "03_admissions.ipynb",
    "personal_budgets": "04_personal_budgets.ipynb",
    "outcomes": "08_outcomes.ipynb",
}


def clear_caches() -> None:
    """Forget every cached indicator table, population and neighbour set (a rebuild does this).

    The caches are registered with :func:`asc_evidence.build.register_cache`, so this is
    :func:`asc_evidence.build.clear_caches` (which also forgets loaded processed tables).
    """
    build_clear_caches()


@dataclass(frozen=True)
class Indicator:
    """Everything about one indicator, declared once (see the module docstring).

    Attributes
    ----------
    key, title, unit
        Identifier, full title, unit of ``value`` (also the y-axis label).
    polarity
        Which direction is better: ``lower``, ``higher`` or ``neutral`` (never "better"/"worse").
    kind
        One of :data:`KINDS`; decides the interval, the funnel and the wording of the verdict.
    multiplier
        ``value = numerator / denominator x multiplier`` (1e5 for rates, 100 for %, 1 for prices).
    source
        The source line of every caption of this indicator (charts, funnel, SPC chart).
    section
        The notebook section that shows it (a key of :data:`SECTIONS`).
    builder
        ``builder(indicator) -> table`` of :data:`COLS` on the codes of the processed tables;
        :func:`get` maps it onto today's councils.
    measures
        The processed-table measures the builder reads.
    age_band
        Population band of a rate's denominator, when the builder derives numerators from it.
    heading
        Short heading of the indicator's notebook section (default: the title).
    denominator_label
        X-axis label of its funnel plot (what the denominator counts).
    headline
        Shown on the report's headline page (:func:`asc_evidence.verdict.headline`).
    breaks, definitions
        First period of each new definition (never joined across), and one label per definition
        segment (``len(breaks) + 1``).
    """

    key: str
    title: str
    unit: str
    polarity: str
    kind: str
    multiplier: float
    source: str
    section: str
    builder: Callable[[Indicator], pd.DataFrame]
    measures: tuple[str, ...] = ()
    age_band: str = ""
    heading: str = ""
    denominator_label: str = ""
    headline: bool = False
    breaks: tuple[str, ...] = ()
    definitions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems = []
        if self.polarity not in POLARITIES:
            problems.append(f"polarity {self.polarity!r} not in {POLARITIES}")
        if self.kind not in KINDS:
            problems.append(f"kind {self.kind!r} not in {KINDS}")
        if self.section not in SECTIONS:
            problems.append(f"section {self.section!r} not in {sorted(SECTIONS)}")
        if self.definitions and len(self.definitions) != len(self.breaks) + 1:
            problems.append("needs one definition label per segment (len(breaks) + 1)")
        if self.kind in COUNTED_KINDS and not self.denominator_label:
            problems.append("an indicator with counts needs a denominator_label for its funnel")
        if self.kind == "survey":
            if self.denominator_label or self.age_band:
                problems.append(
                    "a survey indicator has no counts: no denominator_label (no funnel) and no "
                    "age_band (no numerator derived from a population)"
                )
            if self.multiplier != 1.0:
                problems.append("a survey indicator's value is the published figure: multiplier 1")
        if problems:
            msg = f"Indicator {self.key!r}: " + "; ".join(problems)
            raise ValueError(msg)

    @property
    def display_heading(self) -> str:
        """The notebook heading: ``heading`` or else the title."""
        return self.heading or self.title

    def definition(self, period: str) -> str:
        """Label of the definition a period belongs to (segments split at ``breaks``)."""
        i = sum(period >= b for b in self.breaks)
        return self.definitions[i] if i < len(self.definitions) else f"definition {i + 1}"


@register_cache
@cache
def population(age_band: str) -> pd.DataFrame:
    """Council population for ``age_band`` by mid-year 2011..2022 with an approximation flag.

    Columns ``council_code, year, population, pop_flag``. Sources: mid-2014 (delayed-transfers
    folder) and mid-2018..mid-2022 estimates; 2011-2013 take mid-2014; 2015-2017 are interpolated.
    The mid-2018+ estimates are on April 2023 boundaries with some abolished codes alongside, so a
    code missing in a year is filled where exact (:func:`_fill_reorganised`: a recoded council's
    other code; a split county as the sum of its successors); councils abolished in 2019
    (Bournemouth, Poole, Dorset County) have no later estimate and carry mid-2014 forward, flagged.
    """
    frames = []
    for table in ("population_2014", "population_mye"):
        df = load(table)
        df = df[(df["age_band"] == age_band) & (df["sex"] == "persons")]
        frames.append(df[["council_code", "period", "value"]])
    pop = pd.concat(frames)
    pop["year"] = pop["period"].astype(int)
    wide = pop.pivot_table(index="council_code", columns="year", values="value", aggfunc="first")
    wide = _fill_reorganised(wide)
    out = []
    for year in range(2011, 2023):
        flag = pd.Series("", index=wide.index)
        if year in wide.columns:
            s = wide[year]
        elif year < 2014 and 2014 in wide.columns:
            s = wide[2014]
            flag[:] = f"approximation: population for mid-{year} taken as mid-2014"
        elif 2014 in wide.columns and 2018 in wide.columns:
            w = (year - 2014) / 4
            s = (1 - w) * wide[2014] + w * wide[2018]
            flag[:] = f"approximation: mid-{year} population interpolated (mid-2014, mid-2018)"
        else:
            continue
        if year > 2014 and 2014 in wide.columns:
            carry = s.isna() & wide[2014].notna() & ~wide.loc[:, 2015:].notna().any(axis=1)
            s = s.where(~carry, wide[2014])
            flag[carry] = (
                f"approximation: population for mid-{year} taken as mid-2014 "
                "(no later estimate on this council's boundary)"
            )
        out.append(
            pd.DataFrame(
                {
                    "council_code": s.index,
                    "year": year,
                    "population": s.to_numpy(),
                    "pop_flag": flag.to_numpy(),
                }
            )
        )
    return pd.concat(out, ignore_index=True).dropna(subset=["population"])


def _fill_reorganised(wide: pd.DataFrame) -> pd.DataFrame:
    """Fill a reorganised council's missing year from the codes covering exactly the same area.

    A recode's two codes are one area (either fills the other); a county split without boundary
    change (Northamptonshire, Cumbria) is the sum of its successors. Dorset County and BCP differ
    by Christchurch and are not filled.
    """
    from asc_evidence.councils import APPROXIMATE_AREAS, BOUNDARY_CHANGES

    wide = wide.copy()
    for ch in BOUNDARY_CHANGES:
        codes = [*ch.predecessors, *ch.successors]
        if any(c in APPROXIMATE_AREAS for c in codes) or ch.kind == "merge":
            continue
        for c in codes:
            if c not in wide.index:
                wide.loc[c] = np.nan
        if ch.kind == "recode":
            (p,), (s_,) = ch.predecessors, ch.successors
            wide.loc[p] = wide.loc[p].fillna(wide.loc[s_])
            wide.loc[s_] = wide.loc[s_].fillna(wide.loc[p])
        else:
            (p,) = ch.predecessors
            total = wide.loc[list(ch.successors)].sum(min_count=len(ch.successors))
            wide.loc[p] = wide.loc[p].fillna(total)
    return wide


def _names() -> pd.Series:
    from asc_evidence.councils import register_by_code

    reg = register_by_code()["name"]
    return reg


def _finish(df: pd.DataFrame, ind: Indicator) -> pd.DataFrame:
    """A builder's rows in the common layout: :data:`COLS` plus any :data:`PASS_THROUGH` columns."""
    df = df.copy()
    df["indicator"] = ind.key
    df["unit"] = ind.unit
    if "council_name" not in df:
        df["council_name"] = df["council_code"].map(_names())
    df["council_name"] = df["council_name"].fillna(df["council_code"])
    if "level" not in df:
        df["level"] = np.where(df["council_code"] == ENGLAND, "england", "council")
    df["flag"] = df["flag"].fillna("").astype(str)
    extra = [c for c in PASS_THROUGH if c in df and c not in COLS]
    return df[COLS + extra].sort_values(["period", "council_code"]).reset_index(drop=True)


def _financial_year(month: pd.Series) -> pd.Series:
    y = month.str[:4].astype(int)
    m = month.str[5:7].astype(int)
    start = np.where(m >= 4, y, y - 1)
    return pd.Series([f"{s}-{str(s + 1)[2:]}" for s in start], index=month.index)


# Bucks: the third-party Jan-Feb 2020 rows use the unitary's code (valid from April 2020); the county
# council (same boundary) was the authority until 31 March 2020, and ONS mid-2019+ estimates use the new code.
DTOC_CODE_ALIAS = {("E06000060", "2020-01"): "E10000002", ("E06000060", "2020-02"): "E10000002"}
POPULATION_ALIAS = {"E10000002": "E06000060"}
MIN_MONTHS = 10
LAST_YEAR_NOTE = "11 months (Apr 2019 to Feb 2020): collection stopped after February 2020"


def monthly_delays(responsible: str = "social_care") -> pd.DataFrame:
    """Monthly delayed days with financial year, days in month, the 18+ population of the year the
    financial year starts, and the rate ``value / days_in_month / population x 100,000``.

    The one place the monthly figures meet their denominators: the annual indicator, its dispersion
    and the SPC chart all start here. Columns: those of ``dtoc_monthly`` plus ``fy`` (``2019-20``),
    ``days_in_month``, ``year`` (start of the financial year), ``month_index`` (months since year 0,
    consecutive months differ by 1), ``population``, ``pop_flag``, ``rate``. Buckinghamshire's
    Jan-Feb 2020 rows (filed under the April 2020 unitary code) are put under the county council's
    code, whose 18+ population is taken from the same-boundary unitary where ONS lacks it.
    Made once per process (:func:`_monthly_delays`; each council's SPC chart reads it); each call
    returns its own copy.
    """
    return _monthly_delays(responsible).copy()


@register_cache
@cache
def _monthly_delays(responsible: str) -> pd.DataFrame:
    """:func:`monthly_delays`, computed (cached: treat as read-only)."""
    dt = load("dtoc_monthly")
    dt = dt[dt["measure"] == f"dtoc_days_{responsible}"].copy()
    alias = pd.Series(list(zip(dt["council_code"], dt["period"], strict=True)), index=dt.index)
    dt["council_code"] = alias.map(DTOC_CODE_ALIAS).fillna(dt["council_code"])
    dt["fy"] = _financial_year(dt["period"])
    dt["days_in_month"] = pd.to_datetime(dt["period"] + "-01").dt.days_in_month
    dt["year"] = dt["fy"].str[:4].astype(int)
    dt["month_index"] = (
        dt["period"].str[:4].astype(int) * 12 + dt["period"].str[5:7].astype(int) - 1
    )
    dt["value"] = dt["value"].astype(float)
    pop = population("18+")[["council_code", "year", "population", "pop_flag"]]
    dt = dt.merge(pop, on=["council_code", "year"], how="left")
    for code, same in POPULATION_ALIAS.items():
        fill = dt["population"].isna() & (dt["council_code"] == code)
        if fill.any():
            alt = pop[pop["council_code"] == same].set_index("year")
            dt.loc[fill, "population"] = dt.loc[fill, "year"].map(alt["population"])
            dt.loc[fill & dt["population"].notna(), "pop_flag"] = (
                f"population of {same} (same boundary)"
            )
    dt["rate"] = dt["value"] / dt["days_in_month"] / dt["population"] * 1e5
    return dt


def delay_dispersion(responsible: str = "social_care", month_effect: bool = True) -> pd.DataFrame:
    """Per financial year: pooled quasi-Poisson dispersion of councils' monthly delayed days.

    :func:`asc_evidence.stats.quasi_poisson.monthly_dispersion` over council rows (council and
    month effects, AR(1) between months): columns ``period, units, unit_months, months,
    pearson_x2, phi, rho, ar1_factor, dispersion``; ``dispersion = phi x f_K(rho)`` is the variance
    of a council's annual delayed days relative to Poisson.
    """
    from asc_evidence.stats.quasi_poisson import monthly_dispersion

    dt = monthly_delays(responsible)
    dt = dt[dt["level"] == "council"]
    out = monthly_dispersion(
        dt,
        count="value",
        exposure="days_in_month",
        unit="council_code",
        block="fy",
        time="month_index",
        month_effect=month_effect,
    )
    return out.rename(columns={"fy": "period"})


def delay_variance(responsible: str = "social_care", month_effect: bool = True) -> pd.DataFrame:
    """Per financial year: dispersion of councils' delayed days rising with council size.

    :func:`asc_evidence.stats.quasi_poisson.power_variance` over council rows (council and month
    effects; ``Var = phi mu (mu / mu_ref)^b`` monthly, AR(1) coefficient ``rho + rho_slope log
    size``): columns ``period, units, unit_months, months, mu_ref, phi, b, b_se, rho, rho_slope,
    rho_slope_se, ar1_factor, dispersion_ref, pearson_x2, capped, converged``. A council expecting
    ``mu`` delayed days in the year has annual dispersion ``quasi_poisson.dispersion_at(mu, row)``.
    """
    from asc_evidence import evidence
    from asc_evidence.stats.quasi_poisson import power_variance

    stored = evidence.delay_variance(responsible, month_effect)  # None: compute it
    if stored is not None:
        return stored
    dt = monthly_delays(responsible)
    dt = dt[dt["level"] == "council"]
    out = power_variance(
        dt,
        count="value",
        exposure="days_in_month",
        unit="council_code",
        block="fy",
        time="month_index",
        month_effect=month_effect,
    )
    return out.rename(columns={"fy": "period"})


def _delay_dispersion_column(g: pd.DataFrame, responsible: str) -> np.ndarray:
    """Per row of ``g`` (``fy, level, numerator, months``): councils' annual dispersion at their
    observed days (:func:`delay_variance`); other rows (England), which are sums of councils,
    the days-weighted mean of the councils' (``Var(sum) = sum D_i x_i``); NaN without days."""
    from asc_evidence.stats.quasi_poisson import dispersion_at

    par = delay_variance(responsible).set_index("period").reindex(g["fy"].to_numpy())
    x = g["numerator"].to_numpy(dtype=float)
    council = (g["level"] == "council").to_numpy() & np.isfinite(x)
    council &= par["phi"].notna().to_numpy() & (g["months"] > 0).to_numpy()
    d = np.full(len(g), np.nan)
    d[council] = dispersion_at(
        x[council], par[council], months=g["months"].to_numpy(dtype=float)[council]
    )
    weighted = pd.Series(np.where(council, d * x, np.nan), index=g.index).groupby(g["fy"]).sum()
    days = pd.Series(np.where(council, x, np.nan), index=g.index).groupby(g["fy"]).sum()
    other = ~council & np.isfinite(x) & (g["level"] != "council").to_numpy()
    d[other] = g.loc[other, "fy"].map(weighted / days).to_numpy(dtype=float)
    return d


def delay_responsibility(ind: Indicator) -> str:
    """Who a delayed-transfer indicator's delays are attributed to (``social_care`` or ``both``),
    from its ``dtoc_monthly`` measure ``dtoc_days_<responsible>``."""
    (measure,) = ind.measures
    if not measure.startswith("dtoc_days_"):
        msg = f"{ind.key} is not a delayed-transfer indicator (measure {measure!r})"
        raise ValueError(msg)
    return measure.removeprefix("dtoc_days_")


def delayed_transfers(ind: Indicator) -> pd.DataFrame:
    """ASCOF-2C-style rate from monthly delayed days: average delayed beds per day per 100,000 adults.

    Builder of the delayed-transfer indicators: ``ind.measures`` names the ``dtoc_monthly`` measure
    (``dtoc_days_social_care`` or ``dtoc_days_both``). Over the months a council reported in the
    financial year: ``numerator`` = delayed days, ``denominator`` = 18+ population x days in those
    months (adult person-days), ``value`` = numerator / denominator x 100,000 (as ASCOF 2C from
    2015-16). Extra columns: ``months`` (months reported) and ``dispersion`` (variance of the
    council's annual delayed days relative to Poisson at its observed days, rising with council
    size, floored at 1; England: the days-weighted mean over councils; see
    :func:`delay_variance`), so a 95% interval is
    ``quasi_poisson.overdispersed_rate_ci(numerator, denominator, dispersion)``.

    Flags: ``fewer than 10 months reported (n of K)`` comes first when it applies (the verdict
    refuses such years); ``n of 12 months reported``; 2019-20 always says it covers 11 months
    (Apr 2019 to Feb 2020). England's row is the published England total when it covers every month
    the councils have; otherwise (2019-20: no England row for Jan-Feb 2020) it is the sum of the
    councils' days over the sum of their person-days for the same months, flagged.
    """
    responsible = delay_responsibility(ind)
    dt = monthly_delays(responsible)
    expected = dt.groupby("fy")["period"].nunique().rename("expected")
    dt["third_party"] = dt["flag"].str.contains("third-party", regex=False).fillna(False)
    dt["third_party"] = dt["third_party"].astype(bool)
    rep = dt[dt["value"].notna()].copy()
    rep["person_days"] = rep["population"] * rep["days_in_month"]
    g = rep.groupby(["council_code", "fy"], as_index=False).agg(
        numerator=("value", "sum"),
        covered=("days_in_month", "sum"),
        denominator=("person_days", lambda s: s.sum(min_count=len(s))),
        months=("period", "nunique"),
        third_party=("third_party", "any"),
        level=("level", "first"),
        population=("population", "first"),
        pop_flag=("pop_flag", "first"),
    )
    # council-years with no month reported at all: NaN with a reason, never zero
    none = dt.groupby(["council_code", "fy"], as_index=False).agg(level=("level", "first"))
    g = none.merge(g, on=["council_code", "fy", "level"], how="left")
    g["months"] = g["months"].fillna(0).astype(int)
    g = g.merge(expected, left_on="fy", right_index=True)
    g["england_sum"] = False

    # England over the same months as the councils
    eng = g["level"] == "england"
    short = g[eng & (g["months"] < g["expected"])]
    if len(short):
        c = g[(g["level"] == "council") & g["fy"].isin(short["fy"]) & g["denominator"].notna()]
        sums = c.groupby("fy")[["numerator", "denominator"]].sum()
        idx = g.index[eng & g["fy"].isin(sums.index)]
        g.loc[idx, "numerator"] = g.loc[idx, "fy"].map(sums["numerator"]).to_numpy()
        g.loc[idx, "denominator"] = g.loc[idx, "fy"].map(sums["denominator"]).to_numpy()
        g.loc[idx, "months"] = g.loc[idx, "expected"].to_numpy()
        g.loc[idx, "england_sum"] = True
    g["value"] = g["numerator"] / g["denominator"] * ind.multiplier

    g["dispersion"] = _delay_dispersion_column(g, responsible)

    few = g["months"] < MIN_MONTHS
    flag = pd.Series("", index=g.index)
    flag = add_flag(
        flag,
        "fewer than 10 months reported ("
        + g["months"].astype(str)
        + " of "
        + g["expected"].astype(str)
        + ")",
        few,
    )
    flag = add_flag(flag, "no month reported", g["months"] == 0)
    flag = add_flag(flag, g["pop_flag"].fillna(""), g["pop_flag"].fillna("") != "")
    flag = add_flag(
        flag, "no 18+ population for this code", g["population"].isna() & (g["months"] > 0)
    )
    flag = add_flag(
        flag,
        g["months"].astype(str) + " of " + g["expected"].astype(str) + " months reported",
        ~few & (g["months"] < g["expected"]),
    )
    flag = add_flag(flag, LAST_YEAR_NOTE, g["fy"] == "2019-20")
    third = g["third_party"].fillna(False).astype(bool)
    flag = add_flag(flag, "includes Jan-Feb 2020 third-party aggregate", third)
    flag = add_flag(
        flag,
        "England = sum of councils over the same months (no England row for Jan-Feb 2020; "
        "excludes patients resident outside England)",
        g["england_sum"],
    )
    g["flag"] = flag
    g["period"] = g["fy"]
    return _finish(g, ind)  # keeps the PASS_THROUGH columns dispersion and months


def ascof(ind: Indicator) -> pd.DataFrame:
    """Builder of the ASCOF indicators: the ``ascof`` table's measure ``ind.measures[0]``.

    Rates (``kind="rate"`` with an ``age_band``, e.g. 2A(1), 2A(2) per 100,000): where no numerator
    is published (all years but 2020-21 here), numerator = published rate x ONS population of
    ``age_band`` / multiplier, denominator = that population, flagged; years after the newest
    population estimate use it, flagged. Proportions (``kind="proportion"``, e.g. 1C(1A), 1C(2A) in
    %): where no denominator is published, the council's 2020-21 denominator (shared by a recoded
    council's two codes), numerator = % x denominator / 100, flagged.
    """
    (measure,) = ind.measures
    a = load("ascof")
    a = a[(a["measure"] == measure) & (a["sex"] == "persons") & (a["level"] != "region")]
    a = a[a["age_band"].isin(["all", "Total"])]
    a = _with_timeseries(a, measure)
    a["flag"] = a["flag"].fillna("")
    a["year"] = a["period"].str[:4].astype(int)
    if ind.kind == "rate" and ind.age_band:
        pop = population(ind.age_band).copy()
        pop["year_used"] = pop["year"]
        latest = pop["year"].max()
        a["pop_year"] = a["year"].clip(upper=latest)
        a = a.merge(
            pop.rename(columns={"year": "pop_year"}), on=["council_code", "pop_year"], how="left"
        )
        need = a["numerator"].isna() & a["value"].notna() & a["population"].notna()
        a.loc[need, "denominator"] = a.loc[need, "population"]
        a.loc[need, "numerator"] = a.loc[need, "value"] * a.loc[need, "population"] / ind.multiplier
        note = "approximation: numerator = published rate x ONS population / 100,000"
        a["flag"] = add_flag(
            a["flag"].where(
                ~need, a["flag"].str.replace("numerator not published", "").str.strip("; ")
            ),
            note,
            need,
        )
        later = need & (a["year"] > latest)
        a["flag"] = add_flag(a["flag"], f"population mid-{latest} used", later)
        a["flag"] = add_flag(
            a["flag"], a["pop_flag"].fillna(""), need & (a["pop_flag"].fillna("") != "")
        )
    elif ind.kind == "proportion":
        # a recoded council is one area: its 2020-21 denominator serves both codes; a
        # denominator is only borrowed within one definition (never across the 2024-25 break)
        series = a["council_code"].replace(recode_map())
        key = series + "|" + a["period"].map(ind.definition)
        exact = a[a["denominator"].notna()].assign(key=key)
        base = exact.sort_values("period").groupby("key")["denominator"].last()
        need = a["denominator"].isna() & a["value"].notna() & key.isin(base.index)
        a.loc[need, "denominator"] = key[need].map(base)
        a.loc[need, "numerator"] = (
            a.loc[need, "value"] / ind.multiplier * a.loc[need, "denominator"]
        )
        a["flag"] = add_flag(
            a["flag"].where(~need, ""),
            "approximation: denominator from 2020-21, numerator = % x denominator",
            need,
        )
    return _finish(a, ind)


def _with_timeseries(a: pd.DataFrame, measure: str) -> pd.DataFrame:
    """``ascof`` rows of one measure plus the official time series' rows it lacks: 2024-25 from
    client-level data, with the published numerators and denominators, flagged as a new definition
    (processed table ``ascof_timeseries``; see :mod:`asc_evidence.sources.ascof`)."""
    ts = load("ascof_timeseries")
    ts = ts[
        (ts["measure"] == measure)
        & (ts["level"] != "region")
        & (ts["age_band"] == "all")
        & (ts["sex"] == "persons")
    ]
    have = pd.MultiIndex.from_frame(a[["council_code", "period"]])
    new = ts[~pd.MultiIndex.from_frame(ts[["council_code", "period"]]).isin(have)]
    return pd.concat([a, new[a.columns]], ignore_index=True)


#: Survey years published for a few councils only and without an England figure: not used for
#: comparisons (a neighbours' median or a rank among 18 councils would mislead); the values stay in
#: the processed table ``ascof_timeseries``.
SURVEY_YEARS_NOT_USED = {
    "2020-21": "not available: 2020-21 survey voluntary (COVID-19; 18 councils took part), no "
    "England figure: not used for comparisons",
}


def ascof_survey(ind: Indicator) -> pd.DataFrame:
    """Builder of the survey indicators (``kind="survey"``): measure ``ind.measures[0]`` of the
    official time series (``ascof_timeseries``, 2015-16 to 2024-25), every year as published.

    The value is the weighted survey estimate; ``moe`` its published 95% margin of error and
    ``respondents`` the published number of respondents (kept as :data:`PASS_THROUGH` columns);
    there are no counts, so ``numerator`` and ``denominator`` stay NaN (never derived). 2020-21
    (voluntary survey, 18 councils, no England figure) is left out for every council
    (:data:`SURVEY_YEARS_NOT_USED`); the flags say why a year is missing.
    """
    (measure,) = ind.measures
    t = load("ascof_timeseries")
    t = t[
        (t["measure"] == measure)
        & (t["level"] != "region")
        & (t["age_band"] == "all")
        & (t["sex"] == "persons")
    ].copy()
    for period, why in SURVEY_YEARS_NOT_USED.items():
        drop = (t["period"] == period) & t["value"].notna()
        t.loc[drop, ["value", "moe", "respondents"]] = np.nan
        t.loc[drop, "flag"] = why
    return _finish(t, ind)


def fee_rates(ind: Indicator) -> pd.DataFrame:
    """Builder of the fee indicators: price paid per hour / week, ``ind.measures`` = (PSS-EX1
    independent-sector unit cost in ``unit_costs``, ASC-FR external rate in ``ascfr_2021_22``)."""
    old, new = ind.measures
    parts = []
    for table, measure in (("unit_costs", old), ("ascfr_2021_22", new)):
        df = load(table)
        df = df[(df["measure"] == measure) & (df["level"] != "region")].copy()
        df = df[df["age_band"].isin(["all", "65+", "18+"])]
        df["flag"] = df["flag"].fillna("")
        parts.append(df)
    return _finish(pd.concat(parts, ignore_index=True), ind)


def weeks_in_year(period: pd.Series) -> pd.Series:
    """Weeks in each financial year ``YYYY-YY``: its days (1 April to 31 March) / 7.

    52.142857 for a 365-day year, 52.285714 when the year holds 29 February (2011-12, 2015-16...).
    """
    start = pd.to_datetime(period.astype(str).str[:4] + "-04-01")
    end = pd.to_datetime((period.astype(str).str[:4].astype(int) + 1).astype(str) + "-04-01")
    return (end - start).dt.days / 7


FLAG_2014_15_COUNT = (
    "2014-15: long-term support only, summed over primary support reasons (new Care Act "
    "categories, not comparable with earlier years)"
)
FLAG_NO_WEEKS = "weeks of care not published"
FLAG_ZERO_WEEKS = "0 weeks published (no council-arranged care of this kind, or not reported)"


def care_home_counts(weeks_measure: str, salt_measure: str) -> pd.DataFrame:
    """People in council-arranged care homes, 65+: a count-like number per council and year.

    2008-09 to 2014-15 (PSS-EX1, ``unit_costs``): the average number of residents over the year,
    ``weeks of care / weeks in the year`` (:func:`weeks_in_year`), from the weeks that are the
    denominator of the weekly unit cost ``weeks_measure``: ``fee_nursing_65_week_independent``
    (nursing care, all council-arranged placements; 2012-13 file column L "The total number of
    weeks older people (including full cost and preserved rights clients) were supported in nursing
    care") or ``unit_cost_residential_65_week_all`` (residential care, own provision and provided
    by others, column O). Permanent and temporary placements, including full-cost payers. 2014-15
    is long-term support only, summed over primary support reasons (a new basis).
    2021-22 (SALT LTS001b, ``ascfr_2021_22`` T38): clients in long-term support in the setting at
    31 March 2022 (``salt_measure``, e.g. ``clients_long_term_support_year_end_nursing``), rounded
    to the nearest 5 by NHS Digital.

    Returns ``council_code, council_name, level, period, count, flag`` (England included).
    """
    uc = load("unit_costs")
    uc = uc[(uc["measure"] == weeks_measure) & (uc["level"] != "region")].copy()
    weeks = uc["denominator"].astype(float)
    uc["count"] = weeks / weeks_in_year(uc["period"])
    # the price's own markers ("not available", "not applicable") do not apply to the weeks;
    # the boundary notes and the 2014-15 break do
    src = uc["flag"].fillna("").astype(str)
    kept = src.str.split("; ").map(lambda ps: "; ".join(p for p in ps if p.startswith("boundary")))
    kept = add_flag(kept, FLAG_2014_15_COUNT, src.str.contains("2014-15: summed", regex=False))
    flag = add_flag(kept, FLAG_NO_WEEKS, weeks.isna())
    uc["flag"] = add_flag(flag, FLAG_ZERO_WEEKS, weeks == 0)
    salt = load("ascfr_2021_22")
    salt = salt[
        (salt["measure"] == salt_measure)
        & (salt["age_band"] == "65+")
        & (salt["level"] != "region")
    ].copy()
    salt["count"] = salt["value"].astype(float)
    salt["flag"] = salt["flag"].fillna("").astype(str)
    cols = ["council_code", "council_name", "level", "period", "count", "flag"]
    out = pd.concat([uc[cols], salt[cols]], ignore_index=True)
    out["period"] = out["period"].astype(str)
    return out


def _per_population(counts: pd.DataFrame, age_band: str) -> pd.DataFrame:
    """Counts over the ONS population of ``age_band`` at mid-year of the financial year's start
    (2008-2010 take the earliest estimate the package has, mid-2014, flagged)."""
    pop = population(age_band)
    first, latest = int(pop["year"].min()), int(pop["year"].max())
    df = counts.copy()
    df["year"] = df["period"].str[:4].astype(int)
    df["pop_year"] = df["year"].clip(lower=first, upper=latest)
    df = df.merge(
        pop.rename(columns={"year": "pop_year"}), on=["council_code", "pop_year"], how="left"
    )
    pop_flag = df["pop_flag"].fillna("").astype(str)
    early = df["year"] < first
    renamed = [
        f.replace(f"mid-{first}", f"mid-{y}") if e else f
        for f, y, e in zip(pop_flag, df["year"], early, strict=True)
    ]
    pop_flag = pd.Series(renamed, index=df.index, dtype=object)
    late = df["year"] > latest
    pop_flag = add_flag(pop_flag, f"population mid-{latest} used", late)
    df["flag"] = add_flag(df["flag"], pop_flag, pop_flag != "")
    no_pop = df["population"].isna() & df["count"].notna()
    df["flag"] = add_flag(df["flag"], f"no {age_band} population for this code", no_pop)
    df["numerator"] = df["count"]
    df["denominator"] = df["population"]
    return df


def care_home_residents(ind: Indicator) -> pd.DataFrame:
    """Builder of the care-home rates: people 65+ in council-arranged nursing (or residential) care
    per 100,000 aged 65+ (:func:`care_home_counts` over the 65+ population).

    ``ind.measures`` = (PSS-EX1 weekly-cost measure whose denominator is the weeks, SALT year-end
    measure). ``numerator`` is the average number of residents (PSS-EX1, not a whole number) or the
    year-end count (SALT); ``denominator`` the ONS 65+ population of the mid-year the financial
    year starts in (approximations flagged as for ASCOF admissions).

    Intervals and funnels treat the numerator as Poisson: residents at a moment are Poisson when
    placements start independently and last any length of time (the M/G/infinity queue); a year's
    average varies less than that, so the limits are if anything wide for a council's own chance,
    and the funnel's overdispersion allowance carries the real differences between councils.
    Polarity is neutral: a high rate may mean need (age, health), a market short of residential
    beds or low NHS continuing healthcare funding as much as over-use, and a low rate may mean
    good community support or unmet need; the rate is for benchmarking, not a target.
    """
    weeks_measure, salt_measure = ind.measures
    df = _per_population(care_home_counts(weeks_measure, salt_measure), ind.age_band)
    with np.errstate(divide="ignore", invalid="ignore"):
        df["value"] = df["numerator"] / df["denominator"] * ind.multiplier
    return _finish(df, ind)


def care_home_share(ind: Indicator) -> pd.DataFrame:
    """Builder of nursing care as a share of all care-home placements, 65+ (%).

    ``ind.measures`` = (nursing weeks, nursing SALT, residential weeks, residential SALT), as in
    :func:`care_home_residents`: ``numerator`` = nursing residents, ``denominator`` = nursing +
    residential residents (the weeks in the year cancel, so for PSS-EX1 this is the share of
    care-home weeks spent in nursing care).
    """
    nursing = care_home_counts(*ind.measures[:2])
    residential = care_home_counts(*ind.measures[2:])
    keys = ["council_code", "level", "period"]
    df = nursing.merge(
        residential.drop(columns="council_name"), on=keys, how="outer", suffixes=("", "_res")
    )
    df["numerator"] = df["count"]
    df["denominator"] = df["count"] + df["count_res"]
    with np.errstate(divide="ignore", invalid="ignore"):
        df["value"] = (df["numerator"] / df["denominator"] * ind.multiplier).where(
            df["denominator"] > 0
        )
    flags = (df["flag"].fillna("") + "; " + df["flag_res"].fillna("")).str.split("; ")
    df["flag"] = flags.map(lambda parts: "; ".join(dict.fromkeys(p for p in parts if p)))
    return _finish(df, ind)


# ---------------------------------------------------------------------------------------------
# the indicators, each declared once

_DTOC_SOURCE = (
    "NHS England Delayed Transfers of Care (LA Type B delayed days; Jan-Feb 2020 third-party "
    "aggregate); ONS mid-year estimates"
)
_DTOC_AXIS = "Adults (18+) x days in the months reported (person-days)"
_DTOC_DEFINITIONS = ("delayed days from NHS England's monthly council files",)
_ASCOF_BREAKS = ("2024-25",)
_ASCOF_DEFINITIONS = ("ASCOF (SALT basis)", "ASCOF 2024-25 (client-level data basis)")
_SURVEY_SOURCE = (
    "DHSC/NHS England ASCOF time series 2015-16 to 2024-25 (Adult Social Care Survey, weighted; "
    "95% margin of error as published)"
)
_SURVEY_DEFINITIONS = ("Adult Social Care Survey (weighted estimate)",)


def _survey(key: str, title: str, heading: str, measure: str, unit: str = "%") -> Indicator:
    """An Adult Social Care Survey measure of the ASCOF time series (``kind="survey"``): higher
    is better, the published estimate with its margin of error (:func:`ascof_survey`)."""
    return Indicator(
        key=key,
        title=title,
        heading=heading,
        unit=unit,
        polarity="higher",
        kind="survey",
        multiplier=1.0,
        source=_SURVEY_SOURCE,
        section="outcomes",
        builder=ascof_survey,
        measures=(measure,),
        definitions=_SURVEY_DEFINITIONS,
    )


_PSS_EX1 = "PSS-EX1 unit cost of independent-sector care"
_ASC_FR = "ASC-FR average rate paid to external providers"

_CARE_HOME_SOURCE = (
    "PSS-EX1 weeks of care, 65+ (NHS Digital, 2008-09 to 2014-15); SALT LTS001b clients at "
    "31 March (ASC-FR and SALT Data Tables 2021-22, T38); ONS mid-year estimates"
)
_CARE_HOME_BREAKS = ("2014-15", "2021-22")
_CARE_HOME_DEFINITIONS = (  # short: they label the trend chart's breaks
    "PSS-EX1 average residents (all placements)",
    "PSS-EX1 2014-15 (long-term support only)",
    "SALT clients at 31 March (rounded to 5)",
)

INDICATORS: dict[str, Indicator] = {
    i.key: i
    for i in (
        Indicator(
            key="delayed_social_care",
            title="Delayed transfers of care attributable to social care",
            heading="Delays attributable to social care",
            unit="per 100,000 adults (18+) per day",
            polarity="lower",
            kind="rate",
            multiplier=1e5,
            source=_DTOC_SOURCE,
            section="delayed_discharges",
            builder=delayed_transfers,
            measures=("dtoc_days_social_care",),
            denominator_label=_DTOC_AXIS,
            headline=True,
            definitions=_DTOC_DEFINITIONS,
        ),
        Indicator(
            key="delayed_both",
            title="Delayed transfers of care attributable to both NHS and social care",
            heading="Delays attributable to both NHS and social care",
            unit="per 100,000 adults (18+) per day",
            polarity="lower",
            kind="rate",
            multiplier=1e5,
            source=_DTOC_SOURCE,
            section="delayed_discharges",
            builder=delayed_transfers,
            measures=("dtoc_days_both",),
            denominator_label=_DTOC_AXIS,
            definitions=_DTOC_DEFINITIONS,
        ),
        Indicator(
            key="admissions_65",
            title="Permanent admissions to residential and nursing care, 65+ (ASCOF 2A(2))",
            heading="Aged 65 and over",
            unit="per 100,000 aged 65+",
            polarity="lower",
            kind="rate",
            multiplier=1e5,
            source="NHS England ASCOF; ONS mid-year estimates",
            section="admissions",
            builder=ascof,
            measures=("ascof_2A2",),
            age_band="65+",
            denominator_label="Population aged 65+",
            headline=True,
            breaks=_ASCOF_BREAKS,
            definitions=_ASCOF_DEFINITIONS,
        ),
        Indicator(
            key="admissions_18_64",
            title="Permanent admissions to residential and nursing care, 18-64 (ASCOF 2A(1))",
            heading="Aged 18 to 64",
            unit="per 100,000 aged 18-64",
            polarity="lower",
            kind="rate",
            multiplier=1e5,
            source="NHS England ASCOF; ONS mid-year estimates",
            section="admissions",
            builder=ascof,
            measures=("ascof_2A1",),
            age_band="18-64",
            denominator_label="Population aged 18-64",
            headline=True,
            breaks=_ASCOF_BREAKS,
            definitions=_ASCOF_DEFINITIONS,
        ),
        Indicator(
            key="direct_payments",
            title="Service users receiving direct payments (ASCOF 1C(2A))",
            heading="Direct payments",
            unit="%",
            polarity="higher",
            kind="proportion",
            multiplier=100.0,
            source="NHS England ASCOF",
            section="personal_budgets",
            builder=ascof,
            measures=("ascof_1C2A",),
            denominator_label="Service users in scope (denominator)",
            headline=True,
            breaks=_ASCOF_BREAKS,
            definitions=_ASCOF_DEFINITIONS,
        ),
        Indicator(
            key="self_directed_support",
            title="Service users receiving self-directed support (ASCOF 1C(1A))",
            heading="Self-directed support",
            unit="%",
            polarity="higher",
            kind="proportion",
            multiplier=100.0,
            source="NHS England ASCOF",
            section="personal_budgets",
            builder=ascof,
            measures=("ascof_1C1A",),
            denominator_label="Service users in scope (denominator)",
            breaks=_ASCOF_BREAKS,
            definitions=_ASCOF_DEFINITIONS,
        ),
        Indicator(
            key="reablement_at_home",
            title="Still at home 91 days after discharge into reablement, 65+ (ASCOF 2B(1)/2D(1))",
            heading="Still at home after reablement",
            unit="%",
            polarity="higher",
            kind="proportion",
            multiplier=100.0,
            source="NHS England ASCOF (SALT to 2023-24; client-level data 2024-25)",
            section="outcomes",
            builder=ascof,
            measures=("ascof_2B1",),
            denominator_label="People 65+ discharged from hospital into reablement",
            breaks=_ASCOF_BREAKS,
            definitions=_ASCOF_DEFINITIONS,
        ),
        _survey(
            "quality_of_life",
            "Social care-related quality of life (ASCOF 1A)",
            "Quality of life",
            "ascof_1A",
            unit="score out of 24",
        ),
        _survey(
            "satisfaction",
            "Extremely or very satisfied with care and support (ASCOF 1D, formerly 3A)",
            "Satisfaction with care and support",
            "ascof_3A",
        ),
        _survey(
            "control_daily_life",
            "Have control over their daily life (ASCOF 3A, formerly 1B)",
            "Control over daily life",
            "ascof_1B",
        ),
        _survey(
            "feel_safe",
            "Feel safe (ASCOF 4A)",
            "Feeling safe",
            "ascof_4A",
        ),
        _survey(
            "social_contact",
            "As much social contact as they would like (ASCOF 5A(1), formerly 1I(1))",
            "Social contact",
            "ascof_1I1",
        ),
        Indicator(
            key="fee_home_care_hour",
            title="Home care fee paid to independent/external providers",
            heading="Home care, £ per hour",
            unit="GBP per hour",
            polarity="neutral",
            kind="price",
            multiplier=1.0,
            source=(
                "PSS-EX1 unit costs (NHS Digital/DH) to 2013-14; NHS Digital ASC-FR 2020-21 and "
                "2021-22"
            ),
            section="fee_rates",
            builder=fee_rates,
            measures=("fee_home_care_hour_independent", "fee_home_care_hour_external"),
            headline=True,
            breaks=("2020-21",),
            definitions=(_PSS_EX1, _ASC_FR),
        ),
        Indicator(
            key="fee_residential_65_week",
            title="Residential care fee, 65+, independent/external providers",
            heading="Residential care for people aged 65+, £ per week",
            unit="GBP per week",
            polarity="neutral",
            kind="price",
            multiplier=1.0,
            source=(
                "PSS-EX1 unit costs (NHS Digital/DH) to 2014-15; NHS Digital ASC-FR 2020-21 and "
                "2021-22"
            ),
            section="fee_rates",
            builder=fee_rates,
            measures=("fee_residential_65_week_independent", "fee_residential_65_week_external"),
            headline=True,
            breaks=("2014-15", "2020-21"),
            definitions=(_PSS_EX1, "PSS-EX1 2014-15 (summed over support reasons)", _ASC_FR),
        ),
        Indicator(
            key="fee_nursing_65_week",
            title="Nursing care fee, 65+, independent/external providers",
            heading="Nursing care for people aged 65+, £ per week",
            unit="GBP per week",
            polarity="neutral",
            kind="price",
            multiplier=1.0,
            source=(
                "PSS-EX1 unit costs (NHS Digital/DH) to 2014-15; NHS Digital ASC-FR 2020-21 and "
                "2021-22"
            ),
            section="fee_rates",
            builder=fee_rates,
            measures=("fee_nursing_65_week_independent", "fee_nursing_65_week_external"),
            headline=True,
            breaks=("2014-15", "2020-21"),
            definitions=(_PSS_EX1, "PSS-EX1 2014-15 (summed over support reasons)", _ASC_FR),
        ),
        Indicator(
            key="nursing_65",
            title="People aged 65+ in council-arranged nursing care",
            heading="Nursing care, aged 65 and over",
            unit="per 100,000 aged 65+",
            polarity="neutral",
            kind="rate",
            multiplier=1e5,
            source=_CARE_HOME_SOURCE,
            section="admissions",
            builder=care_home_residents,
            measures=(
                "fee_nursing_65_week_independent",
                "clients_long_term_support_year_end_nursing",
            ),
            age_band="65+",
            denominator_label="Population aged 65+",
            breaks=_CARE_HOME_BREAKS,
            definitions=_CARE_HOME_DEFINITIONS,
        ),
        Indicator(
            key="residential_65",
            title="People aged 65+ in council-arranged residential care",
            heading="Residential care, aged 65 and over",
            unit="per 100,000 aged 65+",
            polarity="neutral",
            kind="rate",
            multiplier=1e5,
            source=_CARE_HOME_SOURCE,
            section="admissions",
            builder=care_home_residents,
            measures=(
                "unit_cost_residential_65_week_all",
                "clients_long_term_support_year_end_residential",
            ),
            age_band="65+",
            denominator_label="Population aged 65+",
            breaks=_CARE_HOME_BREAKS,
            definitions=_CARE_HOME_DEFINITIONS,
        ),
        Indicator(
            key="nursing_share_65",
            title="Nursing care as a share of council-arranged care-home placements, 65+",
            heading="Nursing as a share of care-home placements, aged 65 and over",
            unit="%",
            polarity="neutral",
            kind="proportion",
            multiplier=100.0,
            source=_CARE_HOME_SOURCE.removesuffix("; ONS mid-year estimates"),
            section="admissions",
            builder=care_home_share,
            measures=(
                "fee_nursing_65_week_independent",
                "clients_long_term_support_year_end_nursing",
                "unit_cost_residential_65_week_all",
                "clients_long_term_support_year_end_residential",
            ),
            denominator_label="People 65+ in council-arranged care homes (nursing + residential)",
            breaks=_CARE_HOME_BREAKS,
            definitions=_CARE_HOME_DEFINITIONS,
        ),
    )
}
#: Headline indicators, in declaration order (derived from the specs).
HEADLINE: tuple[str, ...] = tuple(k for k, i in INDICATORS.items() if i.headline)


def spec(key: str) -> Indicator:
    """The :class:`Indicator` declared for ``key`` (KeyError naming the choices otherwise)."""
    if key not in INDICATORS:
        msg = f"Unknown indicator {key!r}; choose from {sorted(INDICATORS)}"
        raise KeyError(msg)
    return INDICATORS[key]


def keys_for(section: str) -> tuple[str, ...]:
    """The indicators a notebook section shows, in declaration order (see :data:`SECTIONS`)."""
    if section not in SECTIONS:
        msg = f"Unknown section {section!r}; choose from {sorted(SECTIONS)}"
        raise KeyError(msg)
    return tuple(k for k, i in INDICATORS.items() if i.section == section)


def raw(key: str) -> pd.DataFrame:
    """The indicator's builder table, on the codes of the processed tables (before :func:`get`)."""
    ind = spec(key)
    return ind.builder(ind)


@register_cache
@cache
def get(key: str) -> pd.DataFrame:
    """One indicator's long table on today's councils (cached per process).

    The single entry for verdicts and comparisons. The builder's rows (whatever codes the processed
    tables use) are mapped once by :func:`asc_evidence.councils.to_current_geography`: a recoded
    council's earlier rows are its own, Bournemouth + Poole are summed into BCP before 2019 (counts
    and spend/hours summed, value recomputed), and split successors show their predecessor's figure
    before the split. Each council has at most one row per period.

    Returns
    -------
    pandas.DataFrame
        ``COLS`` plus ``area_code`` (the area the figure describes: the predecessor for
        split-inherited rows, the council otherwise), ``area_name``, ``geography`` ("current",
        "recoded", "merged", "predecessor area"), ``source_codes`` and any :data:`PASS_THROUGH`
        columns. For a cross-council comparison of one year use :func:`cross_section`, which counts
        each area once.
    """
    from asc_evidence import evidence

    stored = evidence.indicator(key)  # the national evidence tables, when built and fresh
    if stored is not None:
        return stored
    ind = spec(key)
    df = to_current_geography(ind.builder(ind), multiplier=ind.multiplier)
    names = _names()
    df["area_name"] = df["area_code"].map(names).fillna(df["council_name"])
    df["level"] = df["level"].fillna("council")
    extra = [c for c in df.columns if c in PASS_THROUGH and c not in COLS]
    return (
        df[COLS + GEO_COLS + extra].sort_values(["period", "council_code"]).reset_index(drop=True)
    )


def cross_section(key: str, period: str) -> pd.DataFrame:
    """The distinct council areas of one period, for that year's funnel, ranking or neighbours.

    One row per ``area_code`` (England and regions excluded): the councils of that year, except
    that Bournemouth + Poole appear summed as BCP (``E06000058``) before 2019. A split county
    (Cumbria before 2023) appears once under its own code however many successors inherit it, so
    no area is counted twice; ``council_codes`` lists the current councils that map to the row
    (``;``-joined). A current council finds its row through its ``area_code`` in :func:`get` (or
    :func:`area_of`).

    Returns
    -------
    pandas.DataFrame
        ``area_code, area_name, council_codes, level, period, numerator, denominator, value, unit,
        flag, geography, source_codes`` and pass-through columns, sorted by ``area_code``.
    """
    from asc_evidence import evidence

    t = get(key)
    return evidence.memo(
        key, t, "cross_section", (period,), lambda: _cross_section(t, period)
    ).copy()


def _cross_section(t: pd.DataFrame, period: str) -> pd.DataFrame:
    rows = t[(t["period"] == period) & (t["level"] == "council")]
    members: dict[str, set[str]] = {}
    for area, code in zip(rows["area_code"], rows["council_code"], strict=True):
        members.setdefault(area, set()).add(code)
    codes = pd.Series(
        {a: ";".join(sorted(c)) for a, c in members.items()}, dtype=rows["council_code"].dtype
    )
    out = rows.drop_duplicates("area_code").drop(columns=["council_code", "council_name"])
    out.insert(2, "council_codes", out["area_code"].map(codes))
    first = ["area_code", "area_name", "council_codes"]
    out = out[first + [c for c in out.columns if c not in first]]
    return out.sort_values("area_code").reset_index(drop=True)


def council_rows(key: str, council_code: str) -> pd.DataFrame:
    """The rows of one council (or England: :data:`ENGLAND`) in :func:`get`, in table order: the same
    frame as ``t[t["council_code"] == council_code]``. For the evidence's own table the row
    positions of every council are found once (a report asks for the same councils' rows many
    times); for any other table the rows are selected afresh."""
    from asc_evidence import evidence

    t = get(key)
    if not evidence.owns(key, t):
        return t[t["council_code"] == council_code]
    index = evidence.memo(
        key, t, "council_rows", (), lambda: t.groupby("council_code", sort=False).indices
    )
    return t.iloc[index.get(council_code, np.empty(0, dtype=np.intp))]


def area_of(key: str, council_code: str, period: str) -> str | None:
    """The ``area_code`` of a current council's row in :func:`cross_section` (None if no row)."""
    from asc_evidence import evidence

    t = get(key)
    lookup = evidence.area_lookup(key, t)  # a dict for the evidence's own table, else None
    if lookup is not None:
        return lookup.get((council_code, period))
    mine = council_rows(key, council_code)
    rows = mine.loc[mine["period"] == period, "area_code"]
    return str(rows.iloc[0]) if len(rows) else None
