"""Trends in a council's yearly series, and whether its gap to a comparator is closing.

* :func:`trend_test`: Poisson (rates) or binomial (proportions) GLM on year, from counts;
* :func:`cochran_armitage`: chi-square test for trend in proportions (Armitage 1955);
* :func:`value_trend`: least-squares slope when only published values exist (no counts);
* :func:`gap_trend`: slope of the council-minus-comparator gap (or log ratio) on year;
* :func:`trend_by_group`: :func:`trend_test` for many councils in one long table;
* :func:`recent_trend`: OHID Fingertips' "recent trend" marker for the 5 most recent points;
* :func:`recent_trend_table`: :func:`recent_trend` for every council of a long table;
* :func:`segments`: split a period list at definition breaks, so trends never span one.

References
----------
.. [1] McCullagh, P. and Nelder, J. A. (1989). *Generalized Linear Models*, 2nd ed. Chapman and
   Hall. Sections 4.5 (over-dispersion) and 6.2 (Poisson log-linear models with an offset).
.. [2] Armitage, P. (1955). Tests for linear trends in proportions and frequencies.
   *Biometrics* 11(3), 375-386. doi:10.2307/3001775
.. [3] Cochran, W. G. (1954). Some methods for strengthening the common chi-square tests.
   *Biometrics* 10(4), 417-451. doi:10.2307/3001616
.. [4] Agresti, A. (2013). *Categorical Data Analysis*, 3rd ed. Wiley. Section 3.4 (tests of
   linear trend, infant malformation example).
.. [5] Office for Health Improvement and Disparities. Fingertips source code,
   ukhsa-collaboration/fingertips-open on GitHub: ``PholioVisualisationWS/Analysis/
   TrendMarkers/TrendMarkerCalculator.cs`` and ``TrendRequest.cs`` (recent trend), and the
   Public Health Outcomes Framework "Further information" page, section "Recent trends".
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

# the model classes themselves, not statsmodels.api (which imports formulas, plots and time-series
# tools too: 0.6 s more at every report's start)
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.regression.linear_model import OLS, WLS
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning
from statsmodels.tools.tools import add_constant

KINDS = ("rate", "proportion")
GAP_SCALES = ("difference", "log_ratio")


@dataclass(frozen=True)
class TrendResult:
    """A trend estimate with its interval, test and plain-language direction.

    ``annual_change`` is a relative change (0.05 = +5% a year) for the GLMs and an absolute
    change in the value's units per year for least-squares slopes; ``effect`` says which.
    """

    method: str
    effect: str
    annual_change: float
    lower: float
    upper: float
    p_value: float
    direction: str
    n_years: int
    confidence: float
    dispersion: float = float("nan")
    chi2_trend: float = float("nan")
    p_trend: float = float("nan")
    note: str = ""

    @property
    def relative(self) -> bool:
        """True when ``annual_change`` is a relative (percentage) change."""
        return self.effect.endswith("ratio - 1")

    def sentence(self) -> str:
        """E.g. 'Rising by 3.2% a year (95% CI 1.1% to 5.4%; p = 0.004).'"""
        level = f"{self.confidence:.0%}"
        if self.relative:
            est = f"{abs(self.annual_change):.1%} a year"
            ci = f"{self.lower:+.1%} to {self.upper:+.1%}"
        else:
            est = f"{abs(self.annual_change):.3g} a year"
            ci = f"{self.lower:+.3g} to {self.upper:+.3g}"
        p = f"p = {self.p_value:.3f}" if self.p_value >= 0.001 else "p < 0.001"
        if self.direction == "no clear trend":
            return f"No clear trend ({level} CI for the annual change {ci}; {p})."
        return f"{self.direction.capitalize()} by {est} ({level} CI {ci}; {p})."

    def to_dict(self) -> dict[str, object]:
        """Fields plus the sentence, for a results table."""
        return {**asdict(self), "sentence": self.sentence()}


@dataclass(frozen=True)
class CochranArmitage:
    """Chi-square test for linear trend in proportions (1 df)."""

    chi2: float
    z: float
    p_value: float


@dataclass(frozen=True)
class GapResult:
    """Trend in the size of the gap |council - comparator| over time, and any crossings.

    ``slope``, ``lower``, ``upper``, ``mean_gap``, ``first_gap`` and ``last_gap`` are all on the
    *absolute* gap (value units, or absolute log ratio for ``scale="log_ratio"``);
    ``first_gap``/``last_gap`` are fitted values at the first and last year. ``crossings`` lists
    the first period the council was on the other side of the comparator, once per crossing;
    ``sides`` the side in the first and last period ('above', 'below' or 'equal').
    """

    scale: str
    slope: float
    lower: float
    upper: float
    p_value: float
    mean_gap: float
    first_gap: float
    last_gap: float
    verdict: str
    n_years: int
    confidence: float
    note: str = ""
    crossings: tuple[str, ...] = ()
    sides: tuple[str, str] = ("", "")
    method: str = "least-squares slope of the absolute gap |council - comparator| on year"

    def sentence(self) -> str:
        """E.g. 'The gap is narrowing: fitted size 10.3 at the start, 3.7 at the end; ...'."""
        if self.scale == "log_ratio":
            fmt = lambda v: f"{np.expm1(v):+.1%}"  # noqa: E731
            unit = " (larger / smaller - 1)"
        else:
            fmt = lambda v: f"{v:+.3g}"  # noqa: E731
            unit = ""
        lead = {"no clear change": "No clear change in the size of the gap"}.get(
            self.verdict, f"The gap is {self.verdict}"
        )
        text = (
            f"{lead}: fitted size of the gap{unit} {fmt(self.first_gap)} at the start, "
            f"{fmt(self.last_gap)} at the end; change per year {self.slope:+.3g} "
            f"({self.confidence:.0%} CI {self.lower:+.3g} to {self.upper:+.3g})."
        )
        return f"{text} {self.note}." if self.note else text


def period_to_year(period: object) -> float:
    """Numeric year of a period: 2019 -> 2019; '2019-20' or '2019/20' (financial year) -> 2019.

    Raises ValueError for anything else (months need an SPC chart, not this module).
    """
    if isinstance(period, int | float | np.integer | np.floating):
        return float(period)
    text = str(period).strip()
    m = re.fullmatch(r"(\d{4})(?:[-/](\d{2}|\d{4}))?", text)
    if m and (m[2] is None or int(m[2][-2:]) == (int(m[1]) + 1) % 100):
        return float(m[1])
    msg = f"Cannot read {period!r} as a year (expected 2019, '2019-20' or '2019/20')."
    raise ValueError(msg)


def _years(years: Sequence[object] | np.ndarray | pd.Series) -> np.ndarray:
    return np.array([period_to_year(y) for y in years], dtype="float64")


def _direction(lower: float, upper: float) -> str:
    """'rising' / 'falling' when the interval excludes zero change, else 'no clear trend'."""
    if lower > 0:
        return "rising"
    if upper < 0:
        return "falling"
    return "no clear trend"


def _check_confidence(confidence: float) -> float:
    if not 0 < confidence < 1:
        msg = f"confidence must be between 0 and 1 (e.g. 0.95 or 0.998); got {confidence}."
        raise ValueError(msg)
    return 1 - confidence


def trend_test(
    years: Sequence[object] | np.ndarray | pd.Series,
    numerators: Sequence[float] | np.ndarray | pd.Series,
    denominators: Sequence[float] | np.ndarray | pd.Series,
    kind: str = "rate",
    confidence: float = 0.95,
    overdispersion: bool = True,
) -> TrendResult:
    """Annual change in a rate or proportion from yearly counts, by a GLM on year.

    Parameters
    ----------
    years
        Years (2019) or financial years ('2019-20', read as 2019); gaps are allowed.
    numerators
        Counts: events (``kind="rate"``) or people with the outcome (``kind="proportion"``).
    denominators
        Population at risk (rates) or number of people asked/eligible (proportions).
    kind
        ``"rate"``: Poisson GLM, log link, offset log(denominator); ``annual_change`` is the
        rate ratio per year - 1. ``"proportion"``: binomial GLM, logit link; ``annual_change``
        is the odds ratio per year - 1, and the Cochran-Armitage test is added.
    confidence
        Two-sided level of the interval, e.g. 0.95.
    overdispersion
        Quasi-likelihood correction: when the Pearson dispersion ``phi = X2 / (k - 2)`` exceeds 1,
        standard errors are multiplied by ``sqrt(phi)`` and intervals use t with ``k - 2`` df
        (quasi-Poisson / quasi-binomial, McCullagh and Nelder [1]_ 4.5). ``phi`` is never
        used to shrink intervals (phi < 1 is left at 1).

    Returns
    -------
    TrendResult
        With ``direction`` 'rising' / 'falling' when the interval excludes no change,
        else 'no clear trend'.

    Notes
    -----
    Assumes a constant relative change per year (log-linear rates, logit-linear proportions)
    and independent years. Council series of year-to-year counts usually vary more than
    Poisson allows (case-mix, recording changes), hence the dispersion correction; but with
    ``k`` years ``phi`` is estimated on ``k - 2`` degrees of freedom, so with fewer than about
    six years it is itself very uncertain and the interval should be read as indicative.
    A break in definitions (e.g. ASCOF 2022-23) violates the model: test periods separately.
    """
    if kind not in KINDS:
        msg = f"kind must be one of {KINDS}; got {kind!r}."
        raise ValueError(msg)
    alpha = _check_confidence(confidence)
    t = _years(years)
    y = np.asarray(numerators, dtype="float64")
    n = np.asarray(denominators, dtype="float64")
    if not len(t) == len(y) == len(n):
        msg = f"years, numerators and denominators differ in length ({len(t)}, {len(y)}, {len(n)})."
        raise ValueError(msg)
    keep = ~(np.isnan(y) | np.isnan(n))
    dropped = int((~keep).sum())
    t, y, n = t[keep], y[keep], n[keep]
    if len(np.unique(t)) < 3:
        msg = f"A trend needs at least 3 years with counts; got {len(np.unique(t))}."
        raise ValueError(msg)
    if (n <= 0).any() or (y < 0).any():
        msg = "Denominators must be positive and numerators non-negative."
        raise ValueError(msg)
    x = add_constant(t - t.min())
    if kind == "rate":
        model = GLM(y, x, family=families.Poisson(), offset=np.log(n))
        method, effect = "Poisson GLM, log(denominator) offset", "rate ratio - 1"
    else:
        if (y > n).any():
            msg = "For proportions numerators cannot exceed denominators."
            raise ValueError(msg)
        if (y == 0).all() or (y == n).all():
            msg = "All proportions are 0 (or all 1): no trend can be estimated."
            raise ValueError(msg)
        model = GLM(np.column_stack([y, n - y]), x, family=families.Binomial())
        method, effect = "binomial GLM, logit link", "odds ratio - 1"
    with warnings.catch_warnings():
        # statsmodels raises this for a perfect fit (zero deviance), which is not separation:
        # all-0 / all-1 proportions, the real separation case, are refused above.
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        fit = model.fit()
    df = fit.df_resid
    phi = fit.pearson_chi2 / df if df > 0 else float("nan")
    note = "quasi-likelihood: not needed (phi <= 1)"
    if overdispersion and phi > 1:
        fit = model.fit(scale="X2", use_t=True)
        method = "quasi-" + method
        note = f"quasi-likelihood: SEs x sqrt(phi) = {np.sqrt(phi):.2f}, t on {df:.0f} df"
    if not overdispersion:
        note = "no over-dispersion correction"
    if df < 4:
        note += f"; only {len(t)} years, dispersion estimate fragile"
    if dropped:
        note += f"; {dropped} year(s) without counts dropped"
    b = float(fit.params[1])
    lo, hi = (float(v) for v in np.asarray(fit.conf_int(alpha))[1])
    est, lower, upper = np.expm1(b), np.expm1(lo), np.expm1(hi)
    extra: dict[str, float] = {}
    if kind == "proportion":
        ca = cochran_armitage(y, n, scores=t)
        extra = {"chi2_trend": ca.chi2, "p_trend": ca.p_value}
    return TrendResult(
        method=method,
        effect=effect,
        annual_change=float(est),
        lower=float(lower),
        upper=float(upper),
        p_value=float(fit.pvalues[1]),
        direction=_direction(lo, hi),
        n_years=len(t),
        confidence=confidence,
        dispersion=float(phi),
        note=note,
        **extra,
    )


def cochran_armitage(
    successes: Sequence[float] | np.ndarray,
    totals: Sequence[float] | np.ndarray,
    scores: Sequence[float] | np.ndarray | None = None,
) -> CochranArmitage:
    """Chi-square test for linear trend in proportions (Cochran [3]_, Armitage [2]_).

    Parameters
    ----------
    successes, totals
        Counts with the outcome, and group sizes, per ordered group (e.g. year).
    scores
        Group scores (e.g. years); default 0, 1, 2, ...

    Returns
    -------
    CochranArmitage
        ``chi2 = T^2 / V`` on 1 df, with ``T = sum x_i (s_i - s_bar)``,
        ``V = p(1 - p) sum n_i (s_i - s_bar)^2``, ``s_bar = sum n_i s_i / N``, ``p = sum x_i / N``;
        ``z = T / sqrt(V)`` (positive when the proportion rises with the score) and the
        two-sided p-value.

    Notes
    -----
    Tests only the linear component and assumes independent binomial groups (no
    over-dispersion: with large council counts it will call small wobbles significant). It
    equals ``N r^2`` where ``r`` is the correlation of score and outcome over the ``N``
    individuals; Agresti's ``M^2 = (N - 1) r^2`` [4]_ differs by the factor ``(N - 1)/N``.
    """
    x = np.asarray(successes, dtype="float64")
    n = np.asarray(totals, dtype="float64")
    s = (
        np.arange(len(x), dtype="float64")
        if scores is None
        else np.asarray(scores, dtype="float64")
    )
    if not len(x) == len(n) == len(s):
        msg = f"successes, totals and scores differ in length ({len(x)}, {len(n)}, {len(s)})."
        raise ValueError(msg)
    big_n = n.sum()
    p = x.sum() / big_n
    s_bar = (n * s).sum() / big_n
    t_stat = (x * (s - s_bar)).sum()
    var = p * (1 - p) * (n * (s - s_bar) ** 2).sum()
    if var <= 0:
        msg = "The trend test is undefined: all proportions are 0 or 1, or all scores are equal."
        raise ValueError(msg)
    chi2 = t_stat**2 / var
    return CochranArmitage(
        chi2=float(chi2), z=float(t_stat / np.sqrt(var)), p_value=float(stats.chi2.sf(chi2, 1))
    )


def _ls_slope(
    t: np.ndarray, v: np.ndarray, w: np.ndarray | None, alpha: float
) -> tuple[float, float, float, float, float, float]:
    """Slope, CI, p, and fitted values at first and last year of a (weighted) LS line."""
    x = add_constant(t - t.min())
    fit = (WLS(v, x, weights=w) if w is not None else OLS(v, x)).fit()
    lo, hi = np.asarray(fit.conf_int(alpha))[1]
    fitted = fit.params[0] + fit.params[1] * (np.array([t.min(), t.max()]) - t.min())
    return (
        float(fit.params[1]),
        float(lo),
        float(hi),
        float(fit.pvalues[1]),
        float(fitted[0]),
        float(fitted[1]),
    )


def value_trend(
    years: Sequence[object] | np.ndarray | pd.Series,
    values: Sequence[float] | np.ndarray | pd.Series,
    weights: Sequence[float] | np.ndarray | pd.Series | None = None,
    confidence: float = 0.95,
) -> TrendResult:
    """Least-squares slope of published values on year, for series without counts.

    Parameters
    ----------
    years, values
        The series; missing values are dropped.
    weights
        Optional inverse-variance weights (e.g. ``1 / se**2`` from published intervals): WLS.
        Without them, OLS.

    Returns
    -------
    TrendResult
        ``annual_change`` in the value's units per year, t-based interval on ``k - 2`` df.

    Notes
    -----
    A fallback, labelled as such in ``method``: without counts the sampling variation of each
    value is unknown, so the interval reflects only the scatter of the points around a
    straight line (assumed linear, independent, equal variance unless weighted).
    """
    alpha = _check_confidence(confidence)
    t = _years(years)
    v = np.asarray(values, dtype="float64")
    w = None if weights is None else np.asarray(weights, dtype="float64")
    keep = ~np.isnan(v) if w is None else ~(np.isnan(v) | np.isnan(w))
    t, v = t[keep], v[keep]
    w = None if w is None else w[keep]
    if len(np.unique(t)) < 3:
        msg = f"A trend needs at least 3 years with values; got {len(np.unique(t))}."
        raise ValueError(msg)
    slope, lo, hi, p, _, _ = _ls_slope(t, v, w, alpha)
    name = "WLS" if w is not None else "OLS"
    return TrendResult(
        method=f"{name} slope on published values (no counts)",
        effect="change per year (value units)",
        annual_change=slope,
        lower=lo,
        upper=hi,
        p_value=p,
        direction=_direction(lo, hi),
        n_years=len(t),
        confidence=confidence,
        note="interval from scatter around the line only; sampling error of each value unknown",
    )


def _side(gap: float) -> str:
    return "above" if gap > 0 else "below" if gap < 0 else "equal"


def _crossings(labels: Sequence[object], gap: np.ndarray) -> tuple[tuple[str, ...], str]:
    """First period on the other side, once per crossing, and a plain-language note.

    A period exactly on the comparator (gap 0) is on neither side and keeps the previous side.
    """
    crossings: list[str] = []
    words: list[str] = []
    side = 0.0
    for label, g in zip(labels, np.sign(gap), strict=True):
        if g == 0:
            continue
        if side == 0:
            words.append(f"{_side(g)} it in {label}")
        elif g != side:
            crossings.append(str(label))
            words.append(f"{_side(g)} from {label}")
        side = g
    if not crossings:
        return (), ""
    return tuple(crossings), "the council crossed the comparator: " + ", ".join(words)


def gap_trend(
    council: pd.Series,
    comparator: pd.Series,
    scale: str = "difference",
    confidence: float = 0.95,
) -> GapResult:
    """Is the gap between a council's series and a comparator's getting smaller?

    Parameters
    ----------
    council, comparator
        Values indexed by year (or financial year '2019-20'); e.g. England, or the mean of the
        council's neighbours. Only years present (non-missing) in both are used. Pass one
        definition segment at a time (see :func:`segments`).
    scale
        ``"difference"``: the gap is ``|council - comparator|`` in value units;
        ``"log_ratio"``: ``|log(council / comparator)|``, a relative gap suited to rates that
        move together.

    Returns
    -------
    GapResult
        OLS slope of the *absolute* gap on year with a t interval: ``verdict`` is 'narrowing'
        when the interval lies below zero, 'widening' when above, otherwise 'no clear change'.
        ``crossings`` names the first period on the other side each time the council moved
        from above the comparator to below it (or back), and ``note`` says so in words.

    Notes
    -----
    Judging the size of the gap, not its signed mean, means a council that moves from well
    below England to just above it is not called "widening" (the signed gap grows, its size
    shrinks). The absolute gap is V-shaped around a crossing, so a straight line fits it
    poorly there: read the verdict together with the crossing note. The comparator is treated
    as fixed (its own sampling error is ignored; negligible for England), residuals as
    independent, and the sampling error of each council value is not used (OLS, not WLS).
    """
    if scale not in GAP_SCALES:
        msg = f"scale must be one of {GAP_SCALES}; got {scale!r}."
        raise ValueError(msg)
    alpha = _check_confidence(confidence)
    labels = dict(zip(_years(council.index), council.index, strict=True))
    a = pd.Series(council.to_numpy(dtype="float64"), index=_years(council.index))
    b = pd.Series(comparator.to_numpy(dtype="float64"), index=_years(comparator.index))
    both = pd.concat([a, b], axis=1, join="inner").dropna().sort_index()
    if len(both) < 3:
        msg = f"A gap trend needs at least 3 years present in both series; got {len(both)}."
        raise ValueError(msg)
    if scale == "log_ratio":
        if (both <= 0).any().any():
            msg = "log_ratio needs positive values in both series."
            raise ValueError(msg)
        gap = np.log(both.iloc[:, 0] / both.iloc[:, 1]).to_numpy()
    else:
        gap = (both.iloc[:, 0] - both.iloc[:, 1]).to_numpy()
    size = np.abs(gap)
    t = both.index.to_numpy(dtype="float64")
    slope, lo, hi, p, first, last = _ls_slope(t, size, None, alpha)
    if lo > 0:
        verdict = "widening"
    elif hi < 0:
        verdict = "narrowing"
    else:
        verdict = "no clear change"
    period_labels = [labels[y] for y in both.index]
    crossings, note = _crossings(period_labels, gap)
    return GapResult(
        scale=scale,
        slope=slope,
        lower=lo,
        upper=hi,
        p_value=p,
        mean_gap=float(size.mean()),
        first_gap=first,
        last_gap=last,
        verdict=verdict,
        n_years=len(both),
        confidence=confidence,
        note=note,
        crossings=crossings,
        sides=(_side(gap[0]), _side(gap[-1])),
        method=(
            "least-squares slope of the absolute gap "
            + ("|council - comparator|" if scale == "difference" else "|log(council / comparator)|")
            + " on year"
        ),
    )


def trend_by_group(
    df: pd.DataFrame,
    by: str = "council_code",
    year: str = "period",
    numerator: str = "numerator",
    denominator: str = "denominator",
    kind: str = "rate",
    confidence: float = 0.95,
    overdispersion: bool = True,
) -> pd.DataFrame:
    """:func:`trend_test` for each group (e.g. council) of a long table; one row per group.

    Groups where the test cannot run (fewer than 3 years of counts, ...) get NaN estimates and
    the reason in ``note``, rather than stopping the whole table.
    """
    rows = []
    for key, g in df.groupby(by, sort=True):
        try:
            r = trend_test(
                g[year],
                g[numerator],
                g[denominator],
                kind=kind,
                confidence=confidence,
                overdispersion=overdispersion,
            ).to_dict()
        except ValueError as exc:
            r = {"direction": "not tested", "note": str(exc)}
        rows.append({by: key, **r})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Fingertips recent trend

TREND_KINDS = ("proportion", "rate", "value")
TREND_POLARITIES = ("lower", "higher", "neutral")
CHI2_998 = float(stats.chi2.ppf(0.998, 1))
"""9.5495: the 99.8% point of chi-squared on 1 df, Fingertips' significance threshold."""
CANNOT = "Cannot be calculated"
NO_CHANGE = "No significant change"
MIN_TREND_COUNT = 10
"""Fewest events behind each point of a weighted-slope trend on exact Poisson intervals (a rule
of this package, not of Fingertips' recent trend).

The weights ``1/SE^2`` come from each year's own interval, and a Poisson interval narrows as its
count falls: a year of 0 events weighs about 14 times a year of 10, so one chance low year can
make a "significant" trend (Isles of Scilly, admissions 65+: 10, 13, 24, 6, 0 people; chi2 25
by the weighted slope, 6.9 by a Poisson score test for trend on the same counts over equal
populations). The number 10 is borrowed from PHE's rule for directly standardised rates (not
published on fewer than 10 events: unreliable limits, see :mod:`asc_evidence.stats.dsr`); it
only removes the worst cases (with weights from each year's own count, 24 events still weigh
about 0.4 times 10). Below it: "Cannot be calculated", naming the years. Not applied to
quasi-Poisson intervals (delayed days: a count of days, not of events, whose interval for a
year of 0 days is not the narrowest)."""
MARKERS = {
    ("increasing", "lower"): "Increasing and getting worse",
    ("increasing", "higher"): "Increasing and getting better",
    ("decreasing", "lower"): "Decreasing and getting better",
    ("decreasing", "higher"): "Decreasing and getting worse",
    ("increasing", "neutral"): "Increasing",
    ("decreasing", "neutral"): "Decreasing",
}
"""Marker text by (direction, polarity), in Fingertips' words."""


@dataclass(frozen=True)
class RecentTrend:
    """A Fingertips recent-trend marker with the numbers behind it.

    ``slope`` is the all-points slope whose sign gives the direction: log-odds per period for
    proportions, value units per period otherwise (``slope_scale`` says which).
    ``leave_one_out`` holds the slopes with each point left out in turn (oldest first).
    ``reason`` says why no marker could be calculated, or why a large chi2 was not significant.
    """

    marker: str
    direction: str | None
    chi2: float
    slope: float
    n_points: int
    periods: tuple[object, ...]
    method: str
    reason: str = ""
    significant: bool = False
    slope_scale: str = ""
    leave_one_out: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """Fields for a results table (periods as first and last period)."""
        d = asdict(self)
        periods = d.pop("periods")
        d.pop("leave_one_out")
        d["first_period"] = periods[0] if periods else None
        d["last_period"] = periods[-1] if periods else None
        return d


def _period_keys(periods: Sequence[object]) -> np.ndarray | None:
    """Years for annual periods (2019, '2019-20'); None when they are not all years."""
    try:
        return _years(periods)
    except ValueError:
        return None


def segments(periods: Sequence[object], breaks: Sequence[object] = ()) -> list[list[object]]:
    """Split a period list at definition breaks: trends are computed within one definition.

    Parameters
    ----------
    periods
        Periods of one series: years (2019), financial years ('2019-20'), months
        ('2019-04', Period or Timestamp) or anything mutually comparable. Sorted here.
    breaks
        First period of each new definition (e.g. ``['2022-23']`` for the ASCOF 2022-23
        change). A break need not be one of ``periods``: a series with 2021-22 and 2023-24 is
        still split between them.

    Returns
    -------
    list of lists
        Non-empty segments in time order, each sorted, e.g.
        ``segments(['2021-22', '2022-23', '2020-21'], ['2022-23'])`` ->
        ``[['2020-21', '2021-22'], ['2022-23']]``.
    """
    items = list(periods)
    marks = list(breaks)
    keys = _period_keys(items + marks)
    if keys is None:
        try:
            keys = np.array(
                [pd.Period(str(p), freq="M").ordinal for p in items + marks], dtype="float64"
            )
        except (ValueError, TypeError):
            keys = np.array(items + marks, dtype=object)
    pk, bk = keys[: len(items)], np.sort(keys[len(items) :])
    order = sorted(range(len(items)), key=lambda i: pk[i])
    out: dict[int, list[object]] = {}
    for i in order:
        seg = int(np.searchsorted(bk, pk[i], side="right"))  # breaks at or before the period
        out.setdefault(seg, []).append(items[i])
    return [out[k] for k in sorted(out)]


def _opt(a: object, n: int, name: str) -> np.ndarray | None:
    if a is None:
        return None
    arr = np.asarray(a.to_numpy() if isinstance(a, pd.Series) else a, dtype="float64")
    if arr.shape != (n,):
        msg = f"{name} has {arr.size} values but there are {n} periods."
        raise ValueError(msg)
    return arr


def _wls_slope(t: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Weighted least-squares slope and its standard error with known weights 1/SE^2."""
    s1, s2, s3, s4, s5 = w.sum(), (w * y * t).sum(), (w * t).sum(), (w * y).sum(), (w * t * t).sum()
    det = s1 * s5 - s3**2
    return float((s1 * s2 - s3 * s4) / det), float(np.sqrt(s1 / det))


def _ols_slope(t: np.ndarray, y: np.ndarray) -> float:
    tc = t - t.mean()
    return float((tc * (y - y.mean())).sum() / (tc**2).sum())


def _leave_one_out(t: np.ndarray, slope_of: object) -> tuple[float, ...]:
    keep = ~np.eye(len(t), dtype=bool)
    return tuple(slope_of(k) for k in keep)  # type: ignore[operator]


def recent_trend(
    periods: Sequence[object] | np.ndarray | pd.Series,
    *,
    numerator: Sequence[float] | np.ndarray | pd.Series | None = None,
    denominator: Sequence[float] | np.ndarray | pd.Series | None = None,
    value: Sequence[float] | np.ndarray | pd.Series | None = None,
    lower95: Sequence[float] | np.ndarray | pd.Series | None = None,
    upper95: Sequence[float] | np.ndarray | pd.Series | None = None,
    kind: str = "proportion",
    polarity: str | None = "lower",
    n_points: int = 5,
    multiplier: float = 1.0,
    counts: Sequence[float] | np.ndarray | pd.Series | None = None,
) -> RecentTrend:
    """Fingertips' recent-trend marker from the most recent points of one definition.

    Parameters
    ----------
    periods
        Periods of one definition segment (see :func:`segments`), e.g. 2019 or '2019-20'
        (sorted here, and a missing year breaks the run) or other labels given in time order.
    numerator, denominator
        Counts: needed for ``kind="proportion"``; for ``kind="rate"`` they give the value
        (``numerator / denominator * multiplier``) and, without limits, an exact Poisson 95% CI.
    value, lower95, upper95
        The published value and its 95% limits (``kind="value"`` needs all three). A missing
        ``value`` makes a point invalid even when counts exist (Fingertips reads it as
        suppression).
    kind
        ``"proportion"``: chi-squared test for linear trend on the counts; ``"rate"`` or
        ``"value"``: weighted least-squares slope with weights ``1/SE^2``.
    polarity
        ``"lower"`` (low is good), ``"higher"`` or ``"neutral"``/None; turns the direction
        into "... and getting better/worse".
    n_points
        Points used, 5 in Fingertips.
    multiplier
        Scale of a rate computed from counts (e.g. 100000).
    counts
        Events behind each value of a weighted-slope trend whose intervals are exact Poisson
        (``kind="rate"`` from counts: the numerator when not given). A point of the run with
        fewer than :data:`MIN_TREND_COUNT` gives "Cannot be calculated"; unknown counts (NaN)
        are not checked. Leave it out for intervals that are not on counts of events.

    Returns
    -------
    RecentTrend
        ``marker`` is one of "Increasing and getting worse", "Increasing and getting better",
        "Decreasing and getting better", "Decreasing and getting worse", "Increasing",
        "Decreasing" (neutral), "No significant change" or "Cannot be calculated" (with
        ``reason``).

    Notes
    -----
    Follows Fingertips [5]_. Only the ``n_points`` most recent points of an unbroken run of
    valid values are used (walking back from the latest period, a missing value or a missing
    year ends the run); fewer gives "Cannot be calculated". With ``t = 1..n``:

    * proportions: ``chi2 = N (N Sum(r t) - R Sum(n t))^2 / (R (N - R) (N Sum(n t^2) -
      (Sum(n t))^2))``, ``N = Sum n``, ``R = Sum r``; the direction and the leave-one-out check
      use the ordinary least-squares slope of the log-odds ``log(r / (n - r))`` on ``t`` (as
      Fingertips does; 0.5 is added to ``r`` and ``n - r`` where either is 0);
    * other values: ``SE = (UCI95 - LCI95) / 3.92``, slope ``b`` by weighted least squares
      with weights ``1/SE^2`` and ``SE(b) = sqrt(Sum w / (Sum w Sum w t^2 - (Sum w t)^2))``,
      ``chi2 = (b / SE(b))^2``.

    The trend is significant when ``chi2 > 9.5495`` (99.8%, 1 df) *and* the slope has the same
    sign with all points and with each point left out in turn (a zero slope has no sign, so it
    fails; Fingertips counts it as positive). Like Fingertips it ignores overdispersion: for
    large councils year-to-year wobbles are often "significant" by chi2, which the
    leave-one-out rule partly guards against. Only meaningful within one definition. Unlike
    Fingertips, a weighted slope is not calculated when a point of the run rests on fewer than
    :data:`MIN_TREND_COUNT` events (``counts``): its weight would be unstable.
    """
    if kind not in TREND_KINDS:
        msg = f"kind must be one of {TREND_KINDS}; got {kind!r}."
        raise ValueError(msg)
    polarity = "neutral" if polarity is None else polarity
    if polarity not in TREND_POLARITIES:
        msg = f"polarity must be one of {TREND_POLARITIES} or None; got {polarity!r}."
        raise ValueError(msg)
    if int(n_points) != n_points or n_points < 3:
        msg = f"n_points must be a whole number >= 3; got {n_points}."
        raise ValueError(msg)
    labels = list(periods.to_numpy() if isinstance(periods, pd.Series) else periods)
    n = len(labels)
    num, den = _opt(numerator, n, "numerator"), _opt(denominator, n, "denominator")
    val, lo, hi = _opt(value, n, "value"), _opt(lower95, n, "lower95"), _opt(upper95, n, "upper95")
    years = _period_keys(labels)
    order = np.argsort(years, kind="stable") if years is not None else np.arange(n)

    if kind == "proportion":
        if num is None or den is None:
            msg = "kind='proportion' needs numerator and denominator (counts)."
            raise ValueError(msg)
        method = (
            f"Fingertips recent trend: chi-squared test for linear trend on counts, "
            f"{n_points} most recent points, chi2 > {CHI2_998:.4f} (99.8%) and leave-one-out "
            "log-odds slopes of one sign"
        )
        with np.errstate(invalid="ignore"):
            valid = np.isfinite(num) & np.isfinite(den) & (den > 0) & (num >= 0) & (num <= den)
    else:
        if lo is None or hi is None:
            if kind == "value" or num is None or den is None:
                msg = (
                    f"kind={kind!r} needs lower95 and upper95 (or, for rates, numerator and "
                    "denominator to derive an exact Poisson interval)."
                )
                raise ValueError(msg)
            with np.errstate(invalid="ignore", divide="ignore"):
                ok = np.isfinite(num) & np.isfinite(den) & (den > 0) & (num >= 0)
            lo, hi = np.full(n, np.nan), np.full(n, np.nan)
            if ok.any():
                from asc_evidence.stats.intervals import rate_ci

                ci = rate_ci(num[ok], den[ok], multiplier=multiplier, confidence=0.95)
                lo[ok], hi[ok] = np.asarray(ci[0]), np.asarray(ci[1])
            ci_note = "exact Poisson 95% CI from counts"
        else:
            ci_note = "published 95% CI"
        if val is None:
            if num is None or den is None:
                msg = "Give value (or numerator and denominator) for the trend."
                raise ValueError(msg)
            with np.errstate(invalid="ignore", divide="ignore"):
                val = num / den * multiplier
        method = (
            f"Fingertips recent trend: weighted least-squares slope, weights 1/SE^2 with "
            f"SE = (UCI95 - LCI95)/3.92 ({ci_note}), {n_points} most recent points, "
            f"chi2 = (slope/SE)^2 > {CHI2_998:.4f} (99.8%) and leave-one-out slopes of one sign"
        )
        with np.errstate(invalid="ignore"):
            valid = np.isfinite(val) & np.isfinite(lo) & np.isfinite(hi) & (hi > lo)
    if val is not None:
        valid &= np.isfinite(val)

    # walk back from the latest period until an invalid point or a missing year
    run: list[int] = []
    stop = ""
    for j, i in enumerate(order[::-1]):
        if j and years is not None and years[order[::-1][j - 1]] - years[i] != 1:
            stop = f"no value for the period(s) between {labels[i]} and {labels[run[-1]]}"
            break
        if not valid[i]:
            stop = f"{labels[i]} has no valid value"
            break
        run.append(int(i))
        if len(run) == n_points:
            break
    run = run[::-1]
    used = tuple(labels[i] for i in run)

    def cannot(reason: str) -> RecentTrend:
        return RecentTrend(CANNOT, None, float("nan"), float("nan"), len(run), used, method, reason)

    if len(run) < n_points:
        if n < n_points:
            return cannot(f"only {n} period(s) in this definition; {n_points} are needed")
        if not run:
            return cannot(f"the most recent period: {stop}; {n_points} points are needed")
        return cannot(
            f"only {len(run)} consecutive valid point(s) ({used[0]} to {used[-1]}): {stop}; "
            f"{n_points} are needed"
        )
    events = _opt(counts, n, "counts") if counts is not None else num
    if kind != "proportion" and events is not None:
        few = [labels[i] for i in run if events[i] < MIN_TREND_COUNT]  # NaN: not checked
        if few:
            return cannot(
                f"fewer than {MIN_TREND_COUNT} events in {', '.join(map(str, few))}: weighted by "
                "its own interval, a year with so few events would outweigh the others"
            )
    t = np.arange(1.0, n_points + 1)
    idx = np.array(run)
    if kind == "proportion":
        r, nn = num[idx], den[idx]
        big_n, big_r = nn.sum(), r.sum()
        if big_r == 0 or big_r == big_n:
            every = "0%" if big_r == 0 else "100%"
            return cannot(f"every proportion is {every}: no trend can be tested")
        chi2 = (
            big_n
            * (big_n * (r * t).sum() - big_r * (nn * t).sum()) ** 2
            / (big_r * (big_n - big_r) * (big_n * (nn * t * t).sum() - (nn * t).sum() ** 2))
        )
        edge = (r == 0) | (r == nn)
        logit = np.log((r + 0.5 * edge) / (nn - r + 0.5 * edge))
        slope = _ols_slope(t, logit)
        loo = _leave_one_out(t, lambda k: _ols_slope(t[k], logit[k]))
        scale = "log-odds per period"
        if edge.any():
            method += "; 0.5 added to counts of 0 (or n) for the log-odds"
    else:
        y = val[idx]
        w = (3.92 / (hi[idx] - lo[idx])) ** 2
        slope, se = _wls_slope(t, y, w)
        chi2 = (slope / se) ** 2
        loo = _leave_one_out(t, lambda k: _wls_slope(t[k], y[k], w[k])[0])
        scale = "value units per period"
    signs = np.sign([slope, *loo])
    same_sign = bool(signs[0] != 0 and (signs == signs[0]).all())
    big = bool(chi2 > CHI2_998)
    direction = ("increasing" if slope > 0 else "decreasing") if big and same_sign else None
    if direction:
        marker, reason = MARKERS[(direction, polarity)], ""
    else:
        marker = NO_CHANGE
        reason = (
            f"chi2 = {chi2:.2f} is not above {CHI2_998:.4f}"
            if not big
            else "chi2 is above the threshold but the slope changes sign when a point is left out"
        )
    return RecentTrend(
        marker=marker,
        direction=direction,
        chi2=float(chi2),
        slope=slope,
        n_points=n_points,
        periods=used,
        method=method,
        reason=reason,
        significant=direction is not None,
        slope_scale=scale,
        leave_one_out=loo,
    )


def recent_trend_table(
    df: pd.DataFrame,
    *,
    by: str = "council_code",
    period: str = "period",
    numerator: str | None = None,
    denominator: str | None = None,
    value: str | None = None,
    lower95: str | None = None,
    upper95: str | None = None,
    kind: str = "proportion",
    polarity: str | None = "lower",
    n_points: int = 5,
    multiplier: float = 1.0,
) -> pd.DataFrame:
    """:func:`recent_trend` for every group (council) of a long table, one row per group.

    Column arguments name the columns of ``df`` to use (None: not used). Pass one definition
    segment at a time (filter ``df`` with :func:`segments` first). Returns columns ``by,
    marker, direction, chi2, slope, slope_scale, n_points, first_period, last_period,
    significant, method, reason``; groups that cannot be calculated keep NaN numbers and the
    reason, rather than stopping the table.
    """
    cols = {
        "numerator": numerator,
        "denominator": denominator,
        "value": value,
        "lower95": lower95,
        "upper95": upper95,
    }
    missing = [c for c in [by, period, *cols.values()] if c is not None and c not in df.columns]
    if missing:
        msg = f"Columns {missing} are not in the table (it has {list(df.columns)})."
        raise ValueError(msg)
    rows = []
    for key, g in df.groupby(by, sort=True):
        r = recent_trend(
            g[period],
            **{arg: (None if c is None else g[c]) for arg, c in cols.items()},
            kind=kind,
            polarity=polarity,
            n_points=n_points,
            multiplier=multiplier,
        )
        rows.append({by: key, **r.to_dict()})
    order = [
        by,
        "marker",
        "direction",
        "chi2",
        "slope",
        "slope_scale",
        "n_points",
        "first_period",
        "last_period",
        "significant",
        "method",
        "reason",
    ]
    return pd.DataFrame(rows, columns=order)
