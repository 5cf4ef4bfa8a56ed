"""Is it accurately benchmarked? One council's verdict under several benchmarks, side by side.

A council told that an indicator is "higher than its statistical neighbours" (a county council asked
exactly this of nursing placements in 2013) needs to know whether the conclusion survives a change
of benchmark. :func:`benchmark_sensitivity` answers with one row per benchmark:

* **England** (every council; the verdict's funnel and Fingertips words, :func:`verdict.benchmark`);
* **the package's neighbours** (:func:`verdict.neighbour_set`, nearest ``n`` by council profile);
* **Oflog's neighbours** (processed table ``oflog_neighbours``: Oflog's published comparator lists);
* **a user's list** (CIPFA or NHS England peers) from a neighbour file, when one is given;
* **England, age-standardised** by indirect standardisation on 65-74 / 75-84 / 85+ with England's
  age-specific rates (:func:`asc_evidence.stats.dsr.isr_table`), when they are known;
* for care-home indicators, **another definition**: nursing and residential care together, so a
  council that uses nursing homes where others use residential homes is seen as such.

Each row gives the comparator's value, the council's, their ratio with its exact 95% interval, the
council's rank among the comparators, and two tests: **chance alone** (the exact 95% interval of the
ratio excludes 1: Fingertips' rule, the comparator taken as fixed) and **allowing for variation
between councils** (beyond the 99.8% funnel limit around the comparator's value, with England's
funnel's between-council variance tau2 on its variance-stabilising scale; Spiegelhalter 2005). A
last line says whether the conclusion changes across the rows, and why.

Assumptions and weaknesses
--------------------------
* Ratio intervals treat the comparator's value as known (its own sampling error, from pooling
  many councils, is small); exact Poisson limits of the council's count for rates (Garwood 1936),
  Clopper-Pearson limits for proportions; counts that are not whole numbers (PSS-EX1 average
  residents = weeks / weeks in the year) use the continuous form of the same distributions.
* Poisson for care-home residents: with placements starting independently and stays of any
  length, the number resident at a moment is Poisson (the M/G/infinity queue); a year's average
  varies less than that, so Poisson limits are if anything wide for a council's own chance. Real
  differences between councils (overdispersion, phi >> 1 here) are what the funnel test allows for.
* The between-council test reuses tau2 estimated around England for targets other than England
  (the neighbours' value): reasonable on a variance-stabilising scale, where the spread does not
  depend on the level, but an approximation.
* Indirect standardisation needs England's age-specific rates for the same definition and year.
  Neither PSS-EX1 (65+ only) nor SALT 2021-22 (T38: 18-64 and 65+ only) publishes care-home
  residents by 65-74 / 75-84 / 85+, and the package has council populations by those bands only
  from mid-2018; so for the years of these indicators the row is "not computed" unless
  ``reference_rates`` is given, and it says how the council's age mix differs from England's.

References
----------
Breslow NE, Day NE (1987). Statistical Methods in Cancer Research, Vol II. IARC Sci Publ 82.
Spiegelhalter DJ (2005). Funnel plots for comparing institutional performance. Stat Med 24:1185-1202.
OHID Fingertips: comparison of an area's confidence interval with the benchmark.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from asc_evidence import charts, indicators, verdict
from asc_evidence.build import load
from asc_evidence.common import ENGLAND
from asc_evidence.councils import recode_map, require_current
from asc_evidence.indicators import Indicator
from asc_evidence.stats import funnel as funnel_mod
from asc_evidence.stats.dsr import isr_ci
from asc_evidence.stats.funnel import FunnelResult, funnel_limits
from asc_evidence.stats.intervals import proportion_ci

#: Columns of the sensitivity table, in order.
COLUMNS = [
    "benchmark",
    "what changes",
    "comparators",
    "comparator value",
    "council value",
    "ratio",
    "ratio 95% lower",
    "ratio 95% upper",
    "rank",
    "chance alone (exact 95%)",
    "allowing for variation between councils (99.8%)",
    "verdict",
]
CHANCE = "chance alone (exact 95%)"
BETWEEN = "allowing for variation between councils (99.8%)"
CONCLUSION = "Does the conclusion change?"
#: Age bands of the indirect standardisation and the ONS 5-year bands that make them up.
AGE_BANDS: dict[str, tuple[str, ...]] = {
    "65-74": ("65-69", "70-74"),
    "75-84": ("75-79", "80-84"),
    "85+": ("85+",),
}
#: Indicators that get a sensitivity table in their notebook section (:func:`show`).
SECTIONS: dict[str, tuple[str, ...]] = {"admissions": ("nursing_65",)}
#: Care-home indicators and the other setting that completes "all care homes".
OTHER_SETTING = {"nursing_65": "residential_65", "residential_65": "nursing_65"}
NO_AGE_RATES = (
    "Not computed: England's rates by 65-74, 75-84 and 85+ are not published for this indicator "
    "(PSS-EX1 and SALT give 65+ only); pass reference_rates to compute it"
)


# ---------------------------------------------------------------------------------------------
# the tests of one row


def _direction(lower: float, upper: float) -> str:
    """``higher`` when the ratio's interval is above 1, ``lower`` below, else ``similar``."""
    if not (np.isfinite(lower) and np.isfinite(upper)):
        return "not compared"
    if lower > 1:
        return "higher"
    if upper < 1:
        return "lower"
    return "similar"


def ratio_interval(
    ind: Indicator, numerator: float, denominator: float, comparator: float
) -> tuple[float, float, float]:
    """The council's value over the comparator's, with its exact 95% interval (comparator fixed).

    Rates: ``O / E`` with ``E = comparator / multiplier x denominator`` and Garwood's exact Poisson
    limits of ``O`` over ``E`` (:func:`asc_evidence.stats.dsr.isr_ci`). Proportions: the
    Clopper-Pearson limits of ``numerator / denominator`` over the comparator proportion. NaN when
    a count or the comparator is missing or not positive.
    """
    ok = all(np.isfinite(v) for v in (numerator, denominator, comparator))
    if not ok or denominator <= 0 or comparator <= 0 or numerator < 0:
        return np.nan, np.nan, np.nan
    if ind.kind == "proportion":
        p0 = comparator / ind.multiplier
        ci = proportion_ci(numerator, denominator, confidence=0.95, method="exact")
        return numerator / denominator / p0, float(ci.lower) / p0, float(ci.upper) / p0
    expected = comparator / ind.multiplier * denominator
    ci = isr_ci(numerator, expected, confidence=0.95, method="exact")
    return numerator / expected, float(ci.lower), float(ci.upper)


def between_councils(
    ind: Indicator,
    value: float,
    denominator: float,
    comparator: float,
    res: FunnelResult | None,
    kind: str | None = None,
    multiplier: float | None = None,
) -> str:
    """``higher``/``lower``/``similar``: is ``value`` beyond the 99.8% funnel limit around
    ``comparator`` at ``denominator``, with ``res``'s scale, phi and tau2 (additive random
    effects)? ``not tested`` without a funnel."""
    if res is None or not all(np.isfinite(v) for v in (value, denominator, comparator)):
        return "not tested"
    kind = kind or ("proportion" if ind.kind == "proportion" else "rate")
    mult = multiplier if multiplier is not None else ind.multiplier
    if comparator <= 0 or (kind == "proportion" and comparator >= mult):
        return "not tested"
    lims = funnel_limits(
        np.array([denominator]),
        comparator,
        kind,
        confidence=0.998,
        method=res.method,
        multiplier=mult,
        phi=res.phi,
        tau2=res.tau2,
        adjustment=res.adjustment,
        scale=res.scale,
        dispersion=res.dispersion if kind == res.kind else 1.0,
    )
    lo, hi = (float(np.asarray(v)[0]) for v in lims[0.998])
    if value > hi:
        return "higher"
    if value < lo:
        return "lower"
    return "similar"


def fmt_ratio(x: float) -> str:
    """A ratio to 2 decimals, or up to 4 where fewer would show a value other than 1 as 1.00."""
    if not np.isfinite(x):
        return ""
    for decimals in (2, 3, 4):
        text = f"{x:.{decimals}f}"
        if x == 1 or float(text) != 1:
            return text
    return text


def _words(
    chance: str, between: str, ratio: float, lower: float, upper: float, polarity: str, what: str
) -> str:
    """The row's verdict in words."""
    if chance == "not compared":
        return f"not compared with {what}"
    tone = ""
    if polarity != "neutral" and chance in ("higher", "lower"):
        good = (chance == "higher") == (polarity == "higher")
        tone = f" ({'better' if good else 'worse'})"
    head = {
        "higher": f"higher than {what}{tone}",
        "lower": f"lower than {what}{tone}",
        "similar": f"similar to {what}",
    }[chance]
    text = (
        f"{head[0].upper()}{head[1:]}: ratio {fmt_ratio(ratio)} (exact 95% interval "
        f"{fmt_ratio(lower)} to {fmt_ratio(upper)})"
    )
    if between == "not tested":
        return text + "; the variation between councils was not estimated"
    if between == chance:
        return text + (
            "; still so after allowing for the normal variation between councils"
            if chance != "similar"
            else "; and within the normal variation between councils"
        )
    if between == "similar":
        return text + "; but within the normal variation between councils (99.8% funnel limit)"
    return (
        text + f"; {between} beyond the 99.8% funnel limit allowing for variation between councils"
    )


def ratio_row(
    ind: Indicator,
    benchmark: str,
    comparators: str,
    numerator: float,
    denominator: float,
    comparator_value: float,
    rank: str = "",
    res: FunnelResult | None = None,
    what: str = "",
    between: str | None = None,
    changes: str = "comparators",
) -> dict[str, Any]:
    """One row for a crude comparison of the council's value with a comparator's.

    ``between`` overrides the between-council test (e.g. the England funnel's own flag); else it
    is computed with ``res`` (:func:`between_councils`). ``changes`` says what the row varies:
    ``comparators`` (a benchmark), ``age mix`` or ``definition`` (another definition of the
    indicator, reported beside the conclusion rather than in it).
    """
    value = numerator / denominator * ind.multiplier if denominator and denominator > 0 else np.nan
    ratio, lower, upper = ratio_interval(ind, numerator, denominator, comparator_value)
    chance = _direction(lower, upper)
    if between is None:
        between = between_councils(ind, value, denominator, comparator_value, res)
    return {
        "benchmark": benchmark,
        "what changes": changes,
        "comparators": comparators,
        "comparator value": comparator_value,
        "council value": value,
        "ratio": ratio,
        "ratio 95% lower": lower,
        "ratio 95% upper": upper,
        "rank": rank,
        CHANCE: chance,
        BETWEEN: between,
        "verdict": _words(chance, between, ratio, lower, upper, ind.polarity, what or benchmark),
    }


def standardised_row(
    ind: Indicator,
    benchmark: str,
    observed: float,
    expected: float,
    reference_value: float,
    res: FunnelResult | None = None,
    comparators: str = "England's age-specific rates",
) -> dict[str, Any]:
    """One row for the indirectly standardised ratio ``observed / expected``.

    ``comparator value`` is England's crude value and ``council value`` the indirectly
    standardised rate ``ISR x England's value``. The between-council test uses ``res``, a
    *ratio* funnel (:func:`ratio_funnel`), at the denominator ``expected``.
    """
    ok = np.isfinite(observed) and np.isfinite(expected) and expected > 0
    ratio = observed / expected if ok else np.nan
    ci = isr_ci(observed, expected, method="exact") if ok else None
    lower, upper = (float(ci.lower), float(ci.upper)) if ci else (np.nan, np.nan)
    chance = _direction(lower, upper)
    between = (
        between_councils(ind, ratio, expected, 1.0, res, kind="ratio", multiplier=1.0)
        if ok
        else "not tested"
    )
    return {
        "benchmark": benchmark,
        "what changes": "age mix",
        "comparators": comparators,
        "comparator value": reference_value,
        "council value": ratio * reference_value,
        "ratio": ratio,
        "ratio 95% lower": lower,
        "ratio 95% upper": upper,
        "rank": "",
        CHANCE: chance,
        BETWEEN: between,
        "verdict": _words(
            chance, between, ratio, lower, upper, ind.polarity, "England for its age mix"
        ),
    }


def not_computed_row(
    benchmark: str, comparators: str, reason: str, changes: str = "comparators"
) -> dict[str, Any]:
    """A row for a benchmark that could not be computed, saying why."""
    return {
        "benchmark": benchmark,
        "what changes": changes,
        "comparators": comparators,
        "comparator value": np.nan,
        "council value": np.nan,
        "ratio": np.nan,
        "ratio 95% lower": np.nan,
        "ratio 95% upper": np.nan,
        "rank": "",
        CHANCE: "not compared",
        BETWEEN: "not tested",
        "verdict": reason,
    }


def conclusion(rows: pd.DataFrame) -> tuple[bool, str]:
    """Whether the verdict changes with the benchmark, and why (the benchmarks for each verdict).

    Judged on the rows that change the comparators or the age mix, each test separately: the
    conclusion changes when the rows that could be compared do not all give the same direction
    (higher / similar / lower) by chance alone, or do not all give the same direction once the
    variation between councils is allowed for (:func:`changes_by_test` says which). Rows with
    another definition of the indicator are reported after the yes/no: they answer a different
    question, and "depends on what is counted" is said only when such a row's direction by chance
    alone is one that no benchmark of the indicator's own definition gave.
    """
    core = rows[rows["what changes"] != "definition"]
    parts = []
    changes = any(changes_by_test(rows).values())
    tests = ((CHANCE, "by chance alone"), (BETWEEN, "allowing for variation between councils"))
    for col, label in tests:
        d = core[~core[col].isin(["not compared", "not tested"])]
        groups = d.groupby(col, sort=False)["benchmark"].agg(list)
        if len(groups):
            said = "; ".join(f"{k} against {', '.join(v)}" for k, v in groups.items())
            parts.append(f"{label}: {said}")
    if not parts:
        return False, "No: no benchmark could be compared."
    text = ("Yes. " if changes else "No. ") + ". ".join(p[0].upper() + p[1:] for p in parts) + "."
    skipped = core.loc[core[CHANCE] == "not compared", "benchmark"].tolist()
    if skipped:
        text += f" Not compared: {', '.join(skipped)}."
    given = set(core.loc[core[CHANCE].isin(["higher", "lower", "similar"]), CHANCE])
    other = rows[(rows["what changes"] == "definition") & (rows[CHANCE] != "not compared")]
    for bench, chance, between in zip(
        other["benchmark"], other[CHANCE], other[BETWEEN], strict=True
    ):
        text += (
            f" With another definition ({bench}): {chance} by chance alone, {between} "
            "allowing for variation between councils"
        )
        text += (
            ", so the answer depends on what is counted, not only on the benchmark."
            if given and chance not in given
            else "."
        )
    return changes, text


def changes_by_test(rows: pd.DataFrame) -> dict[str, bool | None]:
    """For each test (by chance alone; allowing for variation between councils), whether the
    benchmarks of the indicator's own definition that could be compared disagree on the
    direction; None when fewer than one could be compared with that test."""
    core = rows[rows["what changes"] != "definition"]
    out: dict[str, bool | None] = {}
    for col in (CHANCE, BETWEEN):
        said = core.loc[~core[col].isin(["not compared", "not tested"]), col]
        out[col] = said.nunique() > 1 if len(said) else None
    return out


def sensitivity_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The rows as a table with the final "Does the conclusion change?" line.

    ``attrs["conclusion_changes"]`` holds the yes/no as a bool and ``attrs["why"]`` the reason.
    """
    table = pd.DataFrame(rows, columns=COLUMNS)
    changes, why = conclusion(table)
    last = not_computed_row(CONCLUSION, "", why)
    for col, changed in changes_by_test(table).items():  # each test its own answer
        last[col] = "not tested" if changed is None else "yes" if changed else "no"
    last["what changes"] = ""
    out = pd.concat([table, pd.DataFrame([last], columns=COLUMNS)], ignore_index=True)
    out.attrs["conclusion_changes"] = changes
    out.attrs["why"] = why
    return out


def formatted(table: pd.DataFrame) -> pd.DataFrame:
    """The table for display: values to 1 decimal place, ratios to 2, blanks for missing numbers,
    indexed by benchmark (``attrs`` kept)."""
    out = table.copy()
    for col in ("comparator value", "council value"):
        out[col] = [f"{v:,.1f}" if np.isfinite(v) else "" for v in table[col].astype(float)]
    for col in ("ratio", "ratio 95% lower", "ratio 95% upper"):
        out[col] = [fmt_ratio(v) for v in table[col].astype(float)]
    out = out.rename(columns={"rank": "rank (1 = highest)"})
    out = out.set_index("benchmark").rename_axis("Benchmark")
    out = out.rename(columns=lambda c: c[:1].upper() + c[1:])
    out.attrs = dict(table.attrs)
    return out


# ---------------------------------------------------------------------------------------------
# comparator groups on the real data


def _areas(key: str, period: str) -> pd.DataFrame:
    """The period's council areas with counts, indexed by ``area_code`` (England excluded)."""
    rows = indicators.cross_section(key, period)
    rows = rows[rows["area_code"].str.match(r"^E(06|08|09|10)")]
    return rows.set_index("area_code")


def _rank(values: pd.Series, area: str) -> str:
    v = values.dropna()
    if area not in v.index:
        return ""
    return f"{int(v.rank(ascending=False, method='min')[area])} of {len(v)}"


def oflog_neighbours(council_code: str) -> tuple[str, ...]:
    """Oflog's comparator list for a current council (filed under its code or a predecessor's)."""
    nn = load("oflog_neighbours")
    codes = {council_code} | {p for p, s in recode_map().items() if s == council_code}
    rows = nn[nn["council_code"].isin(codes)].sort_values("rank")
    return tuple(dict.fromkeys(recode_map().get(c, c) for c in rows["neighbour_code"]))


def _group_row(
    ind: Indicator,
    areas_: pd.DataFrame,
    area: str,
    label: str,
    source: str,
    codes: tuple[str, ...],
    period: str,
    res: FunnelResult | None,
    what: str,
) -> dict[str, Any]:
    nb = [a for a in verdict.areas_of(ind.key, codes, period) if a in areas_.index and a != area]
    with_counts = areas_.loc[nb].dropna(subset=["numerator", "denominator"])
    with_counts = with_counts[with_counts["denominator"] > 0]
    if with_counts.empty:
        return not_computed_row(label, source, f"none of the {len(codes)} councils has a figure")
    pooled = verdict.pooled_value(with_counts, ind)
    me = areas_.loc[area]
    comps = f"{source}: {len(with_counts)} of {len(codes)} with figures, taken together"
    return ratio_row(
        ind,
        label,
        comps,
        float(me["numerator"]),
        float(me["denominator"]),
        float(pooled),
        rank=_rank(areas_.loc[[area, *with_counts.index], "value"], area),
        res=res,
        what=f"{what} taken together",
    )


def _band_populations(period: str, codes: list[str]) -> tuple[pd.DataFrame | None, int]:
    """Populations by :data:`AGE_BANDS` for the codes at the mid-year nearest the period's start
    (from mid-2018: the earliest the package holds by 5-year band), and that year."""
    mye = load("population_mye")
    mye = mye[(mye["sex"] == "persons") & mye["council_code"].isin(codes)]
    years = sorted(mye["period"].astype(int).unique())
    if not years:
        return None, 0
    start = int(period[:4])
    year = min(years, key=lambda y: abs(y - start))
    mye = mye[mye["period"].astype(int) == year]
    band_of = {five: band for band, fives in AGE_BANDS.items() for five in fives}
    mye = mye[mye["age_band"].isin(band_of)].assign(band=lambda d: d["age_band"].map(band_of))
    wide = mye.pivot_table(index="council_code", columns="band", values="value", aggfunc="sum")
    return wide.reindex(columns=list(AGE_BANDS)), year


def _age_mix_note(council_code: str, period: str, area: str) -> str:
    """The council's 85+ share of its 65+ population against England's (nearest mid-year)."""
    pops, year = _band_populations(period, [council_code, area, ENGLAND])
    if pops is None:
        return ""
    mine = pops.loc[[c for c in (council_code, area) if c in pops.index]]
    if mine.empty or ENGLAND not in pops.index:
        return ""
    share = mine.iloc[0]["85+"] / mine.iloc[0].sum()
    eng = pops.loc[ENGLAND, "85+"] / pops.loc[ENGLAND].sum()
    older = "older" if share > eng else "younger"
    effect = "overstates" if share > eng else "understates"
    when = f"mid-{year}" + ("" if year == int(period[:4]) else f", nearest to {period}")
    return (
        f". Its 65+ population is {older} than England's: {share:.1%} aged 85+ against "
        f"{eng:.1%} ({when}), so if care-home use rises with age as expected, the crude "
        f"comparison {effect} its rate for its age mix"
    )


def ratio_funnel(
    key: str, period: str, reference_rates: pd.Series | None = None
) -> tuple[FunnelResult, str]:
    """Funnel of every council's observed / expected around 1, and how ``expected`` was made.

    Expected = England's age-specific rates (``reference_rates``, per person by
    :data:`AGE_BANDS`) x the council's population in each band, when given and populations by band
    exist; else England's crude rate x the council's denominator (the ratio funnel is then the
    rate funnel rescaled: same flags, the x-axis in expected events).
    """
    ind = indicators.spec(key)
    if ind.kind != "rate":
        msg = f"{key} is a {ind.kind}; a ratio funnel needs a rate (counts over a population)."
        raise ValueError(msg)
    areas_ = _areas(key, period).dropna(subset=["numerator", "denominator"])
    areas_ = areas_[areas_["denominator"] > 0].reset_index()
    england = verdict.england_value(key, period)
    areas_["expected"] = england / ind.multiplier * areas_["denominator"]
    how = "England's crude rate x the council's population"
    if reference_rates is not None:
        rates = _check_rates(reference_rates)
        shares, year = _band_shares(period, areas_["area_code"].tolist())
        if shares is not None:
            per_person = (shares * rates).sum(axis=1, min_count=len(AGE_BANDS))
            areas_["expected"] = areas_["denominator"] * areas_["area_code"].map(per_person)
            how = (
                "England's age-specific rates x the council's population, by its age mix "
                f"(mid-{year})"
            )
    areas_ = areas_.dropna(subset=["expected"])
    res = funnel_mod.funnel_table(
        areas_, "numerator", "expected", "ratio", target=1.0, multiplier=1.0
    )
    return res, how


# ---------------------------------------------------------------------------------------------
# the table and the figure


def benchmark_sensitivity(
    key: str,
    council_code: str,
    period: str | None = None,
    neighbour_file: str | None = None,
    n_neighbours: int = 15,
    reference_rates: pd.Series | None = None,
) -> pd.DataFrame:
    """The council's verdict on indicator ``key`` in ``period`` under each benchmark (one row each)
    and whether the conclusion changes (last row). See the module docstring.

    Parameters
    ----------
    key
        An indicator with counts (rate or proportion), e.g. ``"nursing_65"``.
    council_code
        A current council (code or name; a predecessor's code is refused naming its successor).
    period
        Financial year, e.g. ``"2012-13"``; default the council's latest.
    neighbour_file
        A user's CIPFA or NHS England neighbour list (see
        :func:`asc_evidence.stats.neighbours.load_neighbour_file`); adds a row.
    n_neighbours
        Size of the package's neighbour set.
    reference_rates
        England's rates per person by 65-74 / 75-84 / 85+ for the same definition and year
        (e.g. ``pd.Series({"65-74": 0.0012, "75-84": 0.0065, "85+": 0.028})``); without them the
        age-standardised row says why it is not computed and how the council's age mix differs.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`; ``attrs``: ``conclusion_changes`` (bool), ``why``, ``indicator``,
        ``council``, ``period``.
    """
    ind = indicators.spec(key)
    if ind.kind == "price":
        msg = f"{key} is a price: it has no counts to test, so no sensitivity table."
        raise ValueError(msg)
    council = require_current(council_code)
    code = council.code
    table = indicators.get(key)
    period = period or verdict.latest_period(table, code)
    areas_ = _areas(key, period)
    area = indicators.area_of(key, code, period) or code
    v = verdict.benchmark(key, code, period, ())
    name = council.name
    if area not in areas_.index or not np.isfinite(v.value):
        rows = [not_computed_row("England", "all councils", f"{name} has no {period} figure")]
        out = sensitivity_table(rows)
        out.attrs.update(indicator=key, council=name, period=period)
        return out
    me = areas_.loc[area]
    num, den = float(me["numerator"]), float(me["denominator"])
    res = v.funnel
    rows = [
        ratio_row(
            ind,
            "England",
            f"all councils ({v.n_all} with figures)",
            num,
            den,
            v.england,
            rank=f"{v.rank_all} of {v.n_all}" if v.rank_all else "",
            what="England",
            between={"above": "higher", "below": "lower", "within": "similar"}.get(
                v.funnel998, "not tested"
            ),
        )
    ]
    groups = [
        (
            f"Statistical neighbours ({n_neighbours}, asc-evidence model)",
            "asc-evidence statistical neighbours",
            verdict.neighbour_set(code, n_neighbours),
            f"its {n_neighbours} statistical neighbours",
        ),
        (
            "Oflog's neighbours",
            "Oflog comparator list",
            oflog_neighbours(code),
            "its Oflog neighbours",
        ),
    ]
    if neighbour_file:
        groups.append(
            (
                "User's neighbours (neighbour file)",
                f"neighbour file {neighbour_file}",
                verdict.neighbour_set(code, n_neighbours, str(neighbour_file)),
                "the neighbours in the user's file",
            )
        )
    for label, source, codes, what in groups:
        if not codes:
            rows.append(not_computed_row(label, source, f"no list for {name}"))
            continue
        rows.append(_group_row(ind, areas_, area, label, source, codes, period, res, what))
    if ind.kind == "rate" and ind.age_band == "65+":
        rows.append(
            _standardised(ind, key, code, area, period, num, den, v.england, reference_rates)
        )
    other = OTHER_SETTING.get(key)
    if other:
        rows.append(_all_care_homes(ind, key, other, area, period))
    out = sensitivity_table(rows)
    out.attrs.update(indicator=key, council=name, period=period, council_flag=str(me["flag"]))
    return out


def _check_rates(reference_rates: pd.Series) -> np.ndarray:
    """The rates per person in :data:`AGE_BANDS` order; a clear error when one is missing or bad."""
    from asc_evidence.errors import UserInputError

    what = "reference_rates"
    if not isinstance(reference_rates, pd.Series):
        raise UserInputError(
            what,
            f"a pandas Series of England's rates per person indexed by {list(AGE_BANDS)}",
            type(reference_rates).__name__,
            'Pass e.g. pd.Series({"65-74": 0.001, "75-84": 0.005, "85+": 0.03}).',
        )
    rates = pd.to_numeric(reference_rates.reindex(list(AGE_BANDS)), errors="coerce")
    bad = [b for b, r in rates.items() if not (np.isfinite(r) and 0 <= r <= 1)]
    if bad:
        raise UserInputError(
            what,
            f"a rate per person between 0 and 1 for each of {list(AGE_BANDS)}",
            f"none or an invalid value for {bad} (given: {reference_rates.to_dict()})",
            "Give England's rate per person (not per 100,000) for every band.",
        )
    return rates.to_numpy(dtype=float)


def _band_shares(period: str, codes: list[str]) -> tuple[pd.DataFrame | None, int]:
    """Each code's share of its 65+ population in each of :data:`AGE_BANDS` (rows sum to 1), at
    the mid-year nearest the period's start (:func:`_band_populations`)."""
    pops, year = _band_populations(period, codes)
    if pops is None:
        return None, year
    return pops.div(pops.sum(axis=1, min_count=len(AGE_BANDS)), axis=0), year


def _standardised(
    ind: Indicator,
    key: str,
    code: str,
    area: str,
    period: str,
    observed: float,
    denominator: float,
    england: float,
    reference_rates: pd.Series | None,
) -> dict[str, Any]:
    """The indirect standardisation row: ``E = denominator x sum(share_b x R_b)`` with the council's
    age mix (shares of its 65+ population by band) and England's rates ``R_b``."""
    label = "England, age-standardised (indirect, 65-74/75-84/85+)"
    if reference_rates is None:
        return not_computed_row(
            label,
            "England's age-specific rates",
            NO_AGE_RATES + _age_mix_note(code, period, area),
            "age mix",
        )
    rates = _check_rates(reference_rates)
    shares, year = _band_shares(period, [code, area, ENGLAND])
    mine = None if shares is None else shares.reindex([area, code]).dropna().head(1)
    if mine is None or mine.empty:
        return not_computed_row(label, "", f"no population by age band for {code}", "age mix")
    expected = denominator * float((mine.iloc[0].to_numpy(dtype=float) * rates).sum())
    res, _ = ratio_funnel(key, period, reference_rates)
    when = f"mid-{year}" + ("" if year == int(period[:4]) else f", nearest to {period}")
    comps = f"England's age-specific rates x its 65+ population's age mix ({when})"
    row = standardised_row(ind, label, observed, expected, england, res, comps)
    if ENGLAND in shares.index:
        # England's own rates must give back England's value for its own age mix
        implied = float((shares.loc[ENGLAND].to_numpy(dtype=float) * rates).sum()) * ind.multiplier
        if abs(implied / england - 1) > 0.05:
            row["verdict"] += (
                f". Check the reference rates: for England's own age mix they give "
                f"{implied:,.1f} {ind.unit} against England's {england:,.1f}"
            )
    return row


def _all_care_homes(ind: Indicator, key: str, other: str, area: str, period: str) -> dict[str, Any]:
    """Nursing and residential together: the council's and England's combined rates."""
    label = "England, all care homes (nursing + residential)"
    a = indicators.cross_section(key, period).set_index("area_code")
    b = indicators.cross_section(other, period).set_index("area_code")
    both = a[["numerator", "denominator"]].join(
        b[["numerator"]].rename(columns={"numerator": "numerator_other"}), how="inner"
    )
    both["numerator"] = both["numerator"] + both["numerator_other"]
    both = both.dropna(subset=["numerator", "denominator"])
    both = both[(both["denominator"] > 0) & both.index.str.match(r"^E(06|08|09|10)")]
    t = indicators.get(key)
    o = indicators.get(other)
    eng = [x[(x["period"] == period) & (x["council_code"] == ENGLAND)] for x in (t, o)]
    if area not in both.index or any(e.empty for e in eng):
        return not_computed_row(label, "", "no figure for both settings", "definition")
    eng_num = float(eng[0]["numerator"].iloc[0] + eng[1]["numerator"].iloc[0])
    england = eng_num / float(eng[0]["denominator"].iloc[0]) * ind.multiplier
    both["value"] = both["numerator"] / both["denominator"] * ind.multiplier
    res = funnel_mod.funnel_table(
        both.reset_index(),
        "numerator",
        "denominator",
        "rate",
        target=england,
        multiplier=ind.multiplier,
    )
    flag = res.table.set_index("area_code").loc[area, "flag99_8_adj"]
    me = both.loc[area]
    return ratio_row(
        ind,
        label,
        f"all councils ({len(both)} with both figures)",
        float(me["numerator"]),
        float(me["denominator"]),
        england,
        rank=_rank(both["value"], area),
        what="England for all care homes",
        between={"above": "higher", "below": "lower", "within": "similar"}.get(
            str(flag), "not tested"
        ),
        changes="definition",
    )


def ratio_funnel_figure(
    key: str,
    council_code: str,
    period: str,
    neighbours: tuple[str, ...] = (),
    reference_rates: pd.Series | None = None,
) -> plt.Figure:
    """Funnel plot of observed / expected for every council, the council and its neighbours named.

    Titled with the indicator and period, axes labelled (expected events; ratio, 1 = England),
    captioned with the source, how ``expected`` was made and the funnel model.
    """
    ind = indicators.spec(key)
    code = require_current(council_code).code
    res, how = ratio_funnel(key, period, reference_rates)
    table = res.table
    area = indicators.area_of(key, code, period) or code
    fig, ax = plt.subplots(figsize=(11, 6))
    charts.margins(fig, left=1.0, right=2.7, top=0.5, bottom=0.8)
    funnel_mod.plot_funnel(
        ax,
        res,
        highlight=table["area_code"].eq(area).to_numpy(),
        labels="area_name",
        title=f"{ind.title}: observed / expected, {period}",
        xlabel="Expected (England's rate applied to the council's population aged 65+)",
        ylabel="Observed / expected (1 = England)",
    )
    nb = table[table["area_code"].isin(verdict.areas_of(key, neighbours, period))]
    nb = nb[nb["area_code"] != area]
    ax.scatter(
        nb["denominator"], nb["value"], s=30, color=charts.NEIGHBOUR, zorder=3, label="Neighbours"
    )
    for row in nb.itertuples():
        ax.annotate(
            row.area_name,
            (row.denominator, row.value),
            fontsize=7,
            color=charts.NEIGHBOUR,
            xytext=(3, 3),
            textcoords="offset points",
        )
    charts.log_x(ax)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    charts.caption(
        fig,
        f"{ind.source}. Expected = {how}. Model: "
        f"{res.model_description(centre_label='England', unit_name='council')} (Spiegelhalter 2005)",
        period,
    )
    return fig


def show(
    ctx: Any, section: str, neighbour_file: str = "", n_neighbours: int = 15, figure: bool = True
) -> dict[str, pd.DataFrame]:
    """In a notebook: for each indicator of ``section`` in :data:`SECTIONS`, the conclusion line,
    the sensitivity table, each benchmark's verdict in words and the ratio funnel.

    ``ctx`` is the notebook's :class:`asc_evidence.notebook.Context` (council, neighbours, year);
    ``neighbour_file`` and ``n_neighbours`` are the notebook's parameters. The period is the
    year asked for when the indicator has it for the council, else its latest. ``figure=False``
    leaves out the funnel (for the one-page report). Returns the tables.
    """
    from IPython.display import Markdown, display

    out = {}
    code = ctx.council.code
    for key in SECTIONS.get(section, ()):
        period = verdict.period_for(key, code, ctx.year)
        table = benchmark_sensitivity(key, code, period, neighbour_file or None, n_neighbours)
        title = indicators.spec(key).display_heading
        display(
            Markdown(f"**{title}, {period}: does the conclusion change?** {table.attrs['why']}")
        )
        display(formatted(table).drop(columns="Verdict"))
        rows = table.iloc[:-1]  # the last row is the conclusion, shown above
        bullets = [
            f"- **{b}.** {w}" for b, w in zip(rows["benchmark"], rows["verdict"], strict=True)
        ]
        display(Markdown("\n".join(bullets)))
        if figure and indicators.spec(key).kind == "rate":
            fig = ratio_funnel_figure(key, code, period, ctx.neighbours)
            display(fig)
            plt.close(fig)
        out[key] = table
    return out


__all__ = [
    "COLUMNS",
    "benchmark_sensitivity",
    "between_councils",
    "conclusion",
    "fmt_ratio",
    "formatted",
    "not_computed_row",
    "oflog_neighbours",
    "ratio_funnel",
    "ratio_funnel_figure",
    "ratio_interval",
    "ratio_row",
    "sensitivity_table",
    "show",
    "standardised_row",
]
