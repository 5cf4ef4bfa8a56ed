"""Confidence intervals for proportions, counts and rates, vectorised over councils and years.

Array functions accept scalars, numpy arrays or pandas Series (broadcast together) and return the
same shape: a float for scalars, an array for arrays, a Series (with the input's index) when any
input is a Series. They return :class:`CI` ``(lower, upper)`` for one confidence level, or a dict
``{level: CI}`` when ``confidence`` is a tuple such as ``(0.95, 0.998)``.

Table wrappers (:func:`proportion_table`, :func:`rate_table`) append ``value``, the limits and
``confidence``, ``statistic`` and ``method`` columns, as PHEindicatormethods' ``phe_proportion``
does: ``lowercl``/``uppercl`` for one level, ``lower95_0cl``/``upper95_0cl``/``lower99_8cl``/...
for several.

Methods
-------
proportions  ``wilson`` (Wilson 1927, via statsmodels), ``exact`` (Clopper & Pearson 1934).
counts/rates ``exact`` (Garwood 1936, chi-square/gamma relation), ``byar`` (Breslow & Day 1987).

References
----------
Wilson EB (1927). Probable inference, the law of succession, and statistical inference.
JASA 22:209-212. doi:10.1080/01621459.1927.10502953
Clopper CJ, Pearson ES (1934). The use of confidence or fiducial limits illustrated in the case
of the binomial. Biometrika 26:404-413. doi:10.1093/biomet/26.4.404
Garwood F (1936). Fiducial limits for the Poisson distribution. Biometrika 28:437-442.
doi:10.1093/biomet/28.3-4.437
Breslow NE, Day NE (1987). Statistical Methods in Cancer Research, Vol II. IARC Sci Publ 82, p69.
Newcombe RG (1998). Two-sided confidence intervals for the single proportion: comparison of seven
methods. Stat Med 17:857-872. doi:10.1002/(SICI)1097-0258(19980430)17:8<857::AID-SIM777>3.0.CO;2-E
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import special, stats
from statsmodels.stats.proportion import proportion_confint

ArrayLike = float | int | np.ndarray | pd.Series | Sequence[float]
Confidence = float | tuple[float, ...]

PROPORTION_METHODS = {"wilson": "Wilson", "exact": "Clopper-Pearson exact"}
POISSON_METHODS = {"exact": "Exact Poisson (Garwood)", "byar": "Byar"}


class CI(NamedTuple):
    """Lower and upper confidence limits, in the shape of the input."""

    lower: float | np.ndarray | pd.Series
    upper: float | np.ndarray | pd.Series


# ---------------------------------------------------------------------------------------------
# shared helpers (also used by dsr.py and funnel.py)


def check_confidence(confidence: Confidence) -> tuple[float, ...]:
    """Return the confidence level(s) as a tuple of fractions; ``ValueError`` unless each is in (0, 1)."""
    levels = tuple(confidence) if isinstance(confidence, tuple | list) else (confidence,)
    if not levels:
        msg = "confidence is empty: give a level such as 0.95, or a tuple such as (0.95, 0.998)."
        raise ValueError(msg)
    for level in levels:
        if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
            msg = (
                f"confidence must be a fraction strictly between 0 and 1 such as 0.95 or 0.998 "
                f"(or a tuple of them); got {level!r}."
            )
            raise ValueError(msg)
    return tuple(float(level) for level in levels)


def check_method(method: str, valid: dict[str, str] | Sequence[str]) -> str:
    """Return ``method`` if it is one of ``valid``; else ``ValueError`` listing the valid ones."""
    if method not in valid:
        msg = f"Unknown method {method!r}; valid methods are: {', '.join(repr(m) for m in valid)}."
        raise ValueError(msg)
    return method


def z_value(confidence: float) -> float:
    """Two-sided standard normal quantile: 1.959964 for 0.95, 3.090232 for 0.998."""
    return float(stats.norm.isf((1 - confidence) / 2))


def level_label(confidence: float) -> str:
    """``'95%'``, ``'99.8%'``."""
    return f"{confidence * 100:g}%"


def cl_columns(confidence: Confidence) -> dict[float, tuple[str, str]]:
    """Column names for the limits, as PHEindicatormethods names them.

    One level: ``lowercl``/``uppercl``; several: ``lower95_0cl``/``upper95_0cl``, ``lower99_8cl``...
    """
    levels = check_confidence(confidence)
    if len(levels) == 1:
        return {levels[0]: ("lowercl", "uppercl")}
    out = {}
    for level in levels:
        tag = f"{level * 100:.1f}".replace(".", "_")
        out[level] = (f"lower{tag}cl", f"upper{tag}cl")
    return out


def as_arrays(*values: ArrayLike) -> tuple[list[np.ndarray], Callable[[np.ndarray], object]]:
    """Broadcast inputs to float arrays; return them and a function restoring the input's kind.

    The restorer gives a float for all-scalar input, a Series (index of the first Series input)
    when any input is a Series, else an ndarray.
    """
    index = next((v.index for v in values if isinstance(v, pd.Series)), None)
    scalar = all(np.ndim(v) == 0 for v in values)
    arrays = np.broadcast_arrays(
        *(
            np.asarray(
                v.to_numpy(dtype=float, na_value=np.nan) if isinstance(v, pd.Series) else v,
                dtype=float,
            )
            for v in values
        )
    )
    arrays = [np.array(a, dtype=float) for a in arrays]  # writable copies

    def restore(result: np.ndarray) -> object:
        if index is not None:
            return pd.Series(result, index=index)
        if scalar:
            return float(np.asarray(result).reshape(-1)[0])
        return result

    return arrays, restore


def _per_level(
    levels: tuple[float, ...], one: Callable[[float], CI], confidence: Confidence
) -> CI | dict[float, CI]:
    if isinstance(confidence, tuple | list):
        return {level: one(level) for level in levels}
    return one(levels[0])


def _check_counts(x: np.ndarray, n: np.ndarray | None = None) -> None:
    bad = np.count_nonzero(x < 0)
    if bad:
        msg = f"counts must be >= 0; {bad} value(s) are negative."
        raise ValueError(msg)
    if n is not None:
        bad = np.count_nonzero(n < 0)
        if bad:
            msg = f"denominators must be >= 0; {bad} value(s) are negative."
            raise ValueError(msg)
        bad = np.count_nonzero(x > n)
        if bad:
            msg = f"numerators must not exceed denominators; {bad} value(s) do."
            raise ValueError(msg)


def _on_distinct(func: Callable[..., CI], key: np.ndarray, *args: np.ndarray) -> CI:
    """Evaluate ``func(*args)`` once per distinct ``key`` (1-D float array) and broadcast back.

    The inverse incomplete gamma/beta functions cost about 1 microsecond per value, and tables
    repeat the same counts (and count/denominator pairs) many times, so this is exact and faster.
    """
    if key.size < 10_000:
        return func(*args)
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    if uniq.size > 0.7 * key.size:
        return func(*args)
    lower, upper = func(*(a[first] for a in args))
    return CI(lower[inverse], upper[inverse])


# ---------------------------------------------------------------------------------------------
# proportions


def _wilson(x: np.ndarray, n: np.ndarray, confidence: float) -> CI:
    with np.errstate(invalid="ignore", divide="ignore"):
        lower, upper = proportion_confint(x, n, alpha=1 - confidence, method="wilson")
    lower = np.where(x == 0, 0.0, np.clip(lower, 0, 1))
    upper = np.where(x == n, 1.0, np.clip(upper, 0, 1))
    return CI(lower, upper)


def _clopper_pearson(x: np.ndarray, n: np.ndarray, confidence: float) -> CI:
    alpha = 1 - confidence

    def limits(x: np.ndarray, n: np.ndarray) -> CI:
        # beta quantiles: lower = B^-1(a/2; x, n-x+1), upper = B^-1(1-a/2; x+1, n-x);
        # x = 0 gives lower 0 and x = n upper 1 exactly
        lower, upper = np.zeros_like(x), np.ones_like(x)
        lo, hi = x > 0, x < n
        lower[lo] = special.betaincinv(x[lo], n[lo] - x[lo] + 1, alpha / 2)
        upper[hi] = special.betaincinv(x[hi] + 1, n[hi] - x[hi], 1 - alpha / 2)
        return CI(lower, upper)

    # distinct (x, n) pairs get distinct keys when both are whole numbers
    whole = bool(np.all(x == np.floor(x)) and np.all(n == np.floor(n)))
    key = x * (np.max(n, initial=0) + 1) + n if whole else np.arange(x.size, dtype=float)
    return _on_distinct(limits, key, x, n)


def proportion_ci(
    x: ArrayLike, n: ArrayLike, confidence: Confidence = 0.95, method: str = "wilson"
) -> CI | dict[float, CI]:
    """Confidence interval for a proportion ``x / n``.

    Parameters
    ----------
    x, n : scalar, array or Series
        Numerator (successes) and denominator, broadcast together; ``0 <= x <= n``.
    confidence : float or tuple of float
        0.95, 0.998, or a tuple such as ``(0.95, 0.998)``.
    method : {"wilson", "exact"}
        ``wilson``: Wilson (1927) score interval (statsmodels ``proportion_confint``);
        ``exact``: Clopper & Pearson (1934) interval from beta quantiles.

    Returns
    -------
    CI or dict of CI
        Limits on the proportion scale (0-1), in the shape of the input; NaN where ``n`` is 0 or
        an input is NaN.

    Notes
    -----
    Assumes ``x`` is binomial with ``n`` independent trials. Wilson is PHE's method for
    proportions; its coverage is close to nominal on average but dips below it for some ``p``
    near 0 or 1 with small ``n`` (Newcombe 1998). Clopper-Pearson guarantees at least nominal
    coverage and is therefore conservative (too wide), most of all for small ``n``. ``x = 0`` gives
    a lower limit of exactly 0 and ``x = n`` an upper limit of exactly 1, for both methods. Neither
    allows for overdispersion (e.g. clustering of people within providers).

    References
    ----------
    Wilson (1927) JASA 22:209-212; Clopper & Pearson (1934) Biometrika 26:404-413; worked values in
    Newcombe (1998) Stat Med 17:857-872, Table II.
    """
    levels = check_confidence(confidence)
    check_method(method, PROPORTION_METHODS)
    (xa, na), restore = as_arrays(x, n)
    _check_counts(xa, na)
    valid = (na > 0) & np.isfinite(xa) & np.isfinite(na)
    func = _wilson if method == "wilson" else _clopper_pearson

    def one(level: float) -> CI:
        lower = np.full(xa.shape, np.nan)
        upper = np.full(xa.shape, np.nan)
        ci = func(xa[valid], na[valid], level)
        lower[valid], upper[valid] = ci.lower, ci.upper
        return CI(restore(lower), restore(upper))

    return _per_level(levels, one, confidence)


# ---------------------------------------------------------------------------------------------
# counts and rates


def _poisson_exact(x: np.ndarray, confidence: float) -> CI:
    alpha = 1 - confidence

    def limits(x: np.ndarray) -> CI:
        # Garwood: lower = chi2(a/2; 2x)/2 = Gamma^-1(a/2; x); upper = chi2(1-a/2; 2x+2)/2
        lower = np.zeros_like(x)
        pos = x > 0
        lower[pos] = special.gammaincinv(x[pos], alpha / 2)
        return CI(lower, special.gammaincinv(x + 1, 1 - alpha / 2))

    return _on_distinct(limits, x, x)


def _poisson_byar(x: np.ndarray, confidence: float) -> CI:
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = x * (1 - 1 / (9 * x) - z / (3 * np.sqrt(x))) ** 3
        upper = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * np.sqrt(x + 1))) ** 3
    lower = np.where(x == 0, 0.0, np.maximum(lower, 0.0))
    return CI(lower, upper)


def poisson_ci(
    x: ArrayLike, confidence: Confidence = 0.95, method: str = "exact"
) -> CI | dict[float, CI]:
    """Confidence interval for the mean of a Poisson count ``x``.

    Parameters
    ----------
    x : scalar, array or Series
        Observed counts (>= 0; non-integers are accepted and treated through the continuous
        gamma relation).
    confidence : float or tuple of float
        0.95, 0.998, or a tuple such as ``(0.95, 0.998)``.
    method : {"exact", "byar"}
        ``exact``: Garwood (1936) limits ``chi2(a/2, 2x)/2`` and ``chi2(1-a/2, 2x+2)/2``,
        computed as gamma quantiles (scipy). ``byar``: Byar's approximation (Breslow & Day 1987,
        p69) ``x(1 - 1/(9x) - z/(3 sqrt x))^3`` and
        ``(x+1)(1 - 1/(9(x+1)) + z/(3 sqrt(x+1)))^3``.

    Returns
    -------
    CI or dict of CI
        Limits on the count scale; the lower limit is exactly 0 when ``x = 0``.

    Notes
    -----
    Assumes events are independent with a constant rate (Poisson). The exact interval is
    conservative (coverage >= nominal). Byar's approximation is within about 1% of the exact
    limits for ``x >= 10`` at 95% (2% at 99.8%) but poor for small counts (its lower limit for ``x = 0`` is undefined and
    set to 0 here); PHE uses exact limits below 10 events and Byar above. Repeated events for the
    same person (e.g. readmissions) are overdispersed, and these limits are then too narrow.

    References
    ----------
    Garwood (1936) Biometrika 28:437-442; Breslow & Day (1987) IARC Sci Publ 82.
    """
    levels = check_confidence(confidence)
    check_method(method, POISSON_METHODS)
    (xa,), restore = as_arrays(x)
    _check_counts(xa)
    valid = np.isfinite(xa)
    func = _poisson_exact if method == "exact" else _poisson_byar

    def one(level: float) -> CI:
        lower = np.full(xa.shape, np.nan)
        upper = np.full(xa.shape, np.nan)
        ci = func(xa[valid], level)
        lower[valid], upper[valid] = ci.lower, ci.upper
        return CI(restore(lower), restore(upper))

    return _per_level(levels, one, confidence)


def rate_ci(
    x: ArrayLike,
    denominator: ArrayLike,
    multiplier: float = 1e5,
    confidence: Confidence = 0.95,
    method: str = "exact",
) -> CI | dict[float, CI]:
    """Confidence interval for a crude rate ``x / denominator * multiplier``.

    The Poisson limits of :func:`poisson_ci` for the count are divided by the denominator and
    multiplied by ``multiplier`` (e.g. 100,000 for a rate per 100,000 people). The denominator is
    taken as known without error (a population estimate's own error is ignored). NaN where the
    denominator is 0 or missing. See :func:`poisson_ci` for the methods and their weaknesses.
    """
    levels = check_confidence(confidence)
    check_method(method, POISSON_METHODS)
    (xa, da), restore = as_arrays(x, denominator)
    if np.count_nonzero(da < 0):
        msg = "denominators must be >= 0."
        raise ValueError(msg)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(da > 0, multiplier / da, np.nan)
    counts = poisson_ci(xa, confidence=levels, method=method)
    assert isinstance(counts, dict)

    def one(level: float) -> CI:
        lo, hi = counts[level]
        return CI(restore(np.asarray(lo) * scale), restore(np.asarray(hi) * scale))

    return _per_level(levels, one, confidence)


# ---------------------------------------------------------------------------------------------
# table wrappers


def _append(
    df: pd.DataFrame,
    value: np.ndarray,
    cis: dict[float, CI],
    confidence: Confidence,
    statistic: str,
    method: str,
) -> pd.DataFrame:
    out = df.copy()
    out["value"] = value
    for level, (lo_col, hi_col) in cl_columns(confidence).items():
        out[lo_col] = np.asarray(cis[level].lower)
        out[hi_col] = np.asarray(cis[level].upper)
    out["confidence"] = ", ".join(level_label(v) for v in check_confidence(confidence))
    out["statistic"] = statistic
    out["method"] = method
    return out


def proportion_table(
    df: pd.DataFrame,
    x_col: str,
    n_col: str,
    confidence: Confidence = 0.95,
    method: str = "wilson",
    multiplier: float = 1,
) -> pd.DataFrame:
    """Append ``value``, the limits, ``confidence``, ``statistic`` and ``method`` to ``df``.

    ``multiplier=100`` gives percentages. See :func:`proportion_ci` for the methods.
    """
    levels = check_confidence(confidence)
    check_method(method, PROPORTION_METHODS)
    x = df[x_col].to_numpy(dtype=float, na_value=np.nan)
    n = df[n_col].to_numpy(dtype=float, na_value=np.nan)
    cis = proportion_ci(x, n, confidence=levels, method=method)
    assert isinstance(cis, dict)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(n > 0, x / n, np.nan) * multiplier
    scaled = {
        k: CI(np.asarray(v.lower) * multiplier, np.asarray(v.upper) * multiplier)
        for k, v in cis.items()
    }
    statistic = "percentage" if multiplier == 100 else f"proportion of {multiplier:g}"
    return _append(df, value, scaled, confidence, statistic, PROPORTION_METHODS[method])


def rate_table(
    df: pd.DataFrame,
    x_col: str,
    n_col: str,
    multiplier: float = 1e5,
    confidence: Confidence = 0.95,
    method: str = "exact",
) -> pd.DataFrame:
    """Append crude rate ``value`` per ``multiplier``, the limits and metadata columns to ``df``.

    See :func:`rate_ci` and :func:`poisson_ci` for the methods.
    """
    levels = check_confidence(confidence)
    check_method(method, POISSON_METHODS)
    x = df[x_col].to_numpy(dtype=float, na_value=np.nan)
    n = df[n_col].to_numpy(dtype=float, na_value=np.nan)
    cis = rate_ci(x, n, multiplier=multiplier, confidence=levels, method=method)
    assert isinstance(cis, dict)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(n > 0, x / n, np.nan) * multiplier
    return _append(
        df, value, cis, confidence, f"rate per {multiplier:,.0f}", POISSON_METHODS[method]
    )
