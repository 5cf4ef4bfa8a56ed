"""Trends in a council's yearly series, and whether its gap to a comparator is closing.

* :func:`trend_test`: Poisson (rates) or binomial (proportions) GLM on year, from counts;
* :func:`cochran_armitage`: chi-square test for trend in proportions (Armitage 1955);
* :func:`value_trend`: least-squares slope when only published values exist (no counts);
* :func:`gap_trend`: slope of the council-minus-comparator gap (or log ratio) on year;
* :func:`trend_by_group`: :func:`trend_test` for many councils in one long table.

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
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

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
    """Slope of the gap between a council and its comparator over time."""

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

    def sentence(self) -> str:
        """E.g. 'The gap is narrowing: from 12.0 to 4.1 (fitted), -1.3 a year (95% CI ...).'"""
        if self.scale == "log_ratio":
            fmt = lambda v: f"{np.expm1(v):+.1%}"  # noqa: E731
            unit = " (ratio - 1)"
        else:
            fmt = lambda v: f"{v:+.3g}"  # noqa: E731
            unit = ""
        lead = {"no clear change": "No clear change in the gap"}.get(
            self.verdict, f"The gap is {self.verdict}"
        )
        return (
            f"{lead}: fitted gap{unit} {fmt(self.first_gap)} at the start, {fmt(self.last_gap)} "
            f"at the end; change per year {self.slope:+.3g} "
            f"({self.confidence:.0%} CI {self.lower:+.3g} to {self.upper:+.3g})."
        )


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
    x = sm.add_constant(t - t.min())
    if kind == "rate":
        model = sm.GLM(y, x, family=sm.families.Poisson(), offset=np.log(n))
        method, effect = "Poisson GLM, log(denominator) offset", "rate ratio - 1"
    else:
        if (y > n).any():
            msg = "For proportions numerators cannot exceed denominators."
            raise ValueError(msg)
        if (y == 0).all() or (y == n).all():
            msg = "All proportions are 0 (or all 1): no trend can be estimated."
            raise ValueError(msg)
        model = sm.GLM(np.column_stack([y, n - y]), x, family=sm.families.Binomial())
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
    x = sm.add_constant(t - t.min())
    fit = (sm.WLS(v, x, weights=w) if w is not None else sm.OLS(v, x)).fit()
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


def gap_trend(
    council: pd.Series,
    comparator: pd.Series,
    scale: str = "difference",
    confidence: float = 0.95,
) -> GapResult:
    """Is the gap between a council's series and a comparator's narrowing?

    Parameters
    ----------
    council, comparator
        Values indexed by year (or financial year '2019-20'); e.g. England, or the mean of the
        council's neighbours. Only years present (non-missing) in both are used.
    scale
        ``"difference"`` (council - comparator, in value units) or ``"log_ratio"``
        (log(council / comparator): relative gap, suited to rates that move together).

    Returns
    -------
    GapResult
        OLS slope of the gap on year with a t interval; ``verdict`` is 'narrowing' if the slope
        is significantly of opposite sign to the mean gap, 'widening' if of the same sign,
        otherwise 'no clear change'.

    Notes
    -----
    Treats the comparator as fixed (its own sampling error is ignored; negligible for England)
    and the gap as linear in time with independent residuals. If the fitted gap changes sign
    within the period the council has crossed the comparator; ``note`` says so.
    """
    if scale not in GAP_SCALES:
        msg = f"scale must be one of {GAP_SCALES}; got {scale!r}."
        raise ValueError(msg)
    alpha = _check_confidence(confidence)
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
        gap = np.log(both.iloc[:, 0] / both.iloc[:, 1])
    else:
        gap = both.iloc[:, 0] - both.iloc[:, 1]
    t = both.index.to_numpy(dtype="float64")
    slope, lo, hi, p, first, last = _ls_slope(t, gap.to_numpy(), None, alpha)
    mean_gap = float(gap.mean())
    sign = np.sign(mean_gap)
    if sign != 0 and (lo > 0 or hi < 0):
        verdict = "widening" if np.sign(slope) == sign else "narrowing"
    else:
        verdict = "no clear change"
    note = (
        "the council crossed the comparator (fitted gap changed sign)" if first * last < 0 else ""
    )
    return GapResult(
        scale=scale,
        slope=slope,
        lower=lo,
        upper=hi,
        p_value=p,
        mean_gap=mean_gap,
        first_gap=first,
        last_gap=last,
        verdict=verdict,
        n_years=len(both),
        confidence=confidence,
        note=note,
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
