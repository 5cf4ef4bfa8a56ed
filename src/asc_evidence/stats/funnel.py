"""Funnel plots: control limits around a benchmark, overdispersion, per-unit flags and a plot.

Three kinds of indicator, each with a value, a "precision" (denominator) and a target ``theta0``:

============ ======================= ===================== =========================================
kind         value                   denominator           variance of the value at the target
============ ======================= ===================== =========================================
proportion   x / n (x multiplier)    n (people asked...)   d theta0 (1 - theta0) / n   (binomial)
rate         x / n (x multiplier)    n (population)        d theta0 / n                (Poisson)
ratio        O / E (x multiplier)    E (expected events)   d theta0 / E                (Poisson)
============ ======================= ===================== =========================================

``d`` is the within-unit ``dispersion`` (default 1): for quasi-binomial or quasi-Poisson data,
whose sampling variance is ``d`` times the binomial or Poisson one (McCullagh and Nelder 1989,
chapter 9, quasi-likelihood), the limits and z-scores use the *effective counts* ``x / d`` events
out of ``n / d``. The value ``x / n`` is unchanged, so limits can still be drawn over the real
denominators. ``d`` must be estimated elsewhere (e.g. from within-unit monthly variation);
assuming ``d = 1`` for clustered events (delayed days cluster by patient) makes every unit look
more precise than it is. ``d`` may also be a function ``d(E)`` of the expected count under the
target, ``E = theta0 x denominator``, for a dispersion varying with size (e.g.
:func:`asc_evidence.stats.quasi_poisson.dispersion_function`): the limits at denominator ``n``
then use ``d(theta0 n)`` and each unit's z-score ``d`` at its own expected count, i.e. the funnel
of the effective counts ``x_i / d_i`` out of ``n_i / d_i`` unit by unit. Evaluating ``d`` at the
expected rather than the observed count keeps the limits a function of the denominator alone (a
test of the target).

Unadjusted control limits (``method``): ``exact`` inverts the binomial or Poisson distribution
function of the (effective) count at the target for every denominator, using its continuous form
(the regularised incomplete beta / gamma function; scipy ``bdtrik``/``pdtrik``, which accept
non-integer counts), which interpolates smoothly between the integer quantiles as Spiegelhalter
(2005a, Appendix A.1) does linearly; ``normal`` uses ``y0 +/- z s`` on the z-score scale (below),
back-transformed.

Overdispersion between units (Spiegelhalter 2005a, Section 6; 2005b; Spiegelhalter et al. 2012):

1. z-scores ``z_i = (y_i - y0) / s_i`` on a variance-stabilising scale (``scale``), with
   ``n_i`` the effective denominator (``denominator / dispersion``):

   ========= ============================= ================================== ====================
   scale     y (value per 1 is p or r)      s                                  default for
   ========= ============================= ================================== ====================
   sqrt      sqrt(r)                       1 / (2 sqrt(n))                    rate, ratio
   log       log(r)                        1 / sqrt(n theta0)                 (option)
   arcsine   asin(sqrt(p))                 1 / (2 sqrt(n))                    proportion
   logit     log(p / (1 - p))              1 / sqrt(n theta0 (1 - theta0))    (option)
   standard  the value itself              sqrt(variance at the target)       (option)
   ========= ============================= ================================== ====================

   On the square-root scale ``z = 2 (sqrt(O) - sqrt(E))`` with ``O = x``, ``E = n theta0``
   (Spiegelhalter 2005b); a ratio's default is the square root too (Spiegelhalter 2005a; the
   CQC method of FunnelPlotR), because it copes with zero counts; ``log`` is the SHMI/FunnelPlotR
   default for ratios and ``y = log(O / E)``, ``s = 1 / sqrt(E)`` when theta0 = 1. On the log
   and logit scales a zero (or, for logit, full) count is replaced by 0.5 (or n - 0.5), a
   Haldane-type correction, so its z-score is finite.
2. Winsorise: z-scores below the ``winsor`` quantile or above the ``1 - winsor`` quantile (default
   10% each tail, numpy's linear quantile) are set to those quantiles.
3. ``phi = mean(z_winsorised^2)``; test statistic ``n * phi`` against chi-square with ``n - 1``
   degrees of freedom, p-value ``P(chi2_{n-1} >= n phi)``.
4. Additive random effects (DerSimonian-Laird style, as FunnelPlotR):
   ``tau2 = max(0, (n phi - (n - 1)) / (sum(w) - sum(w^2) / sum(w)))`` with ``w = 1 / s^2``.

Adjusted limits are built on the same scale from the unadjusted ones (exact or normal) and
back-transformed. With ``g`` the scale's transform, ``y0 = g(theta0)`` and ``D = |g(L) - y0|`` the
distance of an unadjusted limit ``L`` from the target on that scale:

* additive: ``D_adj = sqrt(D^2 + z^2 tau2)``. Under the additive model a unit's value is
  ``y0 + u + e`` with between-unit ``u ~ N(0, tau2)`` and sampling error ``e``; when ``e`` is
  normal its ``z`` quantile is ``z sqrt(s^2 + tau2) = sqrt((z s)^2 + z^2 tau2)``, exactly the
  limits of Spiegelhalter et al. (2012) and FunnelPlotR. Putting the exact sampling distance in
  place of ``z s`` keeps the exact limits' small-count accuracy (they are reproduced when
  ``tau2 = 0``), and the result tends to the normal form as denominators grow.
  (Stretching ``D`` by ``sqrt(s^2 + tau2) / s`` instead would also contain the exact limits, but
  it multiplies their small-count skew on the square-root scale: where effective expected
  counts are small, as for delayed days divided by a large within-unit dispersion, it sets many
  more lower limits to zero than quadrature does.)
* multiplicative: ``D_adj = sqrt(phi) D`` (phi floored at 1), the inflation of limits about the
  target of Spiegelhalter (2005a, Section 6).

So the adjusted limits always contain the unadjusted ones where ``tau2 > 0`` (or ``phi > 1``)
and equal them otherwise (containment is also enforced elementwise against rounding). Limits
beyond the scale's boundary are clipped to it (0 for counts; 0 and 1 for proportions): where the
adjusted lower limit is 0, lower values cannot be distinguished from the target (column
``lower{level}_adj_is_zero``). Weakness: the between-unit spread is assumed normal on the
transformed scale, and tau2 is estimated once for all units from winsorised z-scores.

References
----------
Spiegelhalter DJ (2005a). Funnel plots for comparing institutional performance. Stat Med
24:1185-1202. doi:10.1002/sim.1970
Spiegelhalter DJ (2005b). Handling over-dispersion of performance indicators. Qual Saf Health Care
14:347-351. doi:10.1136/qshc.2005.013755
Spiegelhalter DJ, Sherlaw-Johnson C, Bardsley M, Blunt I, Wood C, Grigg O (2012). Statistical
methods for healthcare regulation: rating, screening and surveillance. JRSS A 175:1-47.
doi:10.1111/j.1467-985X.2011.01010.x
DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Control Clin Trials 7:177-188.
McCullagh P, Nelder JA (1989). Generalized Linear Models, 2nd ed. Chapman & Hall, chapter 9.
FunnelPlotR (R package, Chris Mainey): the same transforms, winsorised phi and tau2 estimators.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from asc_evidence.stats.intervals import (
    ArrayLike,
    Confidence,
    check_confidence,
    check_method,
    level_label,
    z_value,
)

KINDS = {"proportion": "binomial", "rate": "Poisson", "ratio": "Poisson"}
LIMIT_METHODS = {"exact": "exact", "normal": "normal approximation"}
ADJUSTMENTS = {
    "additive": "additive random effects (tau2)",
    "multiplicative": "multiplicative (phi)",
    "none": "none",
}
SCALES = {
    "standard": "untransformed",
    "sqrt": "square-root",
    "log": "log",
    "arcsine": "arcsine square-root",
    "logit": "logit",
}
KIND_SCALES = {
    "proportion": ("arcsine", "logit", "standard"),
    "rate": ("sqrt", "log", "standard"),
    "ratio": ("sqrt", "log", "standard"),
}
WITHIN, ABOVE, BELOW = "within", "above", "below"
_EXACT_MAX_UNIQUE = 20_000  # beyond this many distinct denominators, interpolate on a log grid
_GRID_POINTS = 4_096


def level_tag(level: float) -> str:
    """Column suffix for a confidence level: ``95`` for 0.95, ``99_8`` for 0.998."""
    return f"{level * 100:g}".replace(".", "_")


# ---------------------------------------------------------------------------------------------
# scales: value (per 1) <-> z-score scale


def _to_scale(y: np.ndarray, scale: str) -> np.ndarray:
    """The transform ``g`` (value per 1 -> z-score scale); infinite at the scale's boundary."""
    y = np.asarray(y, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if scale == "sqrt":
            return np.sqrt(y)
        if scale == "log":
            return np.log(y)
        if scale == "arcsine":
            return np.arcsin(np.sqrt(y))
        if scale == "logit":
            return special.logit(y)
    return y


def _from_scale(t: np.ndarray, scale: str, kind: str) -> np.ndarray:
    """Inverse of :func:`_to_scale`, clipped to the values a proportion or count can take."""
    if scale == "sqrt":
        return np.maximum(t, 0.0) ** 2
    if scale == "log":
        return np.exp(t)
    if scale == "arcsine":
        return np.sin(np.clip(t, 0.0, np.pi / 2)) ** 2
    if scale == "logit":
        return special.expit(t)
    return np.clip(t, 0.0, 1.0) if kind == "proportion" else np.maximum(t, 0.0)


def _sd(n_eff: np.ndarray, theta0: float, kind: str, scale: str) -> np.ndarray:
    """Standard deviation of the (per 1) value at the target on the z-score scale.

    ``n_eff`` is the effective denominator (denominator / dispersion).
    """
    g = theta0 * (1 - theta0) if kind == "proportion" else theta0
    with np.errstate(divide="ignore", invalid="ignore"):
        if scale in ("sqrt", "arcsine"):
            return 1 / (2 * np.sqrt(n_eff))
        if scale in ("log", "logit"):
            return 1 / np.sqrt(n_eff * g)
        return np.sqrt(g / n_eff)


def _scaled_value(x_eff: np.ndarray, n_eff: np.ndarray, kind: str, scale: str) -> np.ndarray:
    """``g(x / n)`` for z-scores, with the 0.5 correction of zero (full) counts on log/logit."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if scale == "log":
            return np.log(np.maximum(x_eff, 0.5) / n_eff)
        if scale == "logit":
            x_c = np.clip(x_eff, 0.5, np.maximum(n_eff - 0.5, 0.5))
            return special.logit(x_c / n_eff)
        return _to_scale(x_eff / n_eff, scale)


# ---------------------------------------------------------------------------------------------
# limits


def _exact_count_quantile(
    q: float, denominator: np.ndarray, theta0: float, kind: str
) -> np.ndarray:
    if kind == "proportion":
        return special.bdtrik(q, denominator, theta0)
    return special.pdtrik(q, denominator * theta0)


def _exact_limits(
    qs: Sequence[float], denominator: np.ndarray, theta0: float, kind: str
) -> list[np.ndarray]:
    """Exact limits (per 1) for each probability in ``qs``: continuous count quantile / denominator.

    ``denominator`` may be non-integer (effective counts). Evaluated once per distinct
    denominator; with more than ``_EXACT_MAX_UNIQUE`` distinct values, on a geometric grid of
    ``_GRID_POINTS`` denominators, linearly interpolated in log(denominator) (relative error
    below 1e-5 for denominators >= 1; tested).
    """
    ok = np.isfinite(denominator) & (denominator > 0)
    d = denominator[ok]
    outs = [np.full(denominator.shape, np.nan) for _ in qs]
    if d.size == 0:
        return outs
    uniq, inverse = np.unique(d, return_inverse=True)
    use_grid = uniq.size > _EXACT_MAX_UNIQUE
    points = np.geomspace(uniq[0], uniq[-1], _GRID_POINTS) if use_grid else uniq
    log_d, log_points = (np.log(d), np.log(points)) if use_grid else (None, None)
    for out, q in zip(outs, qs, strict=True):
        values = _exact_count_quantile(q, points, theta0, kind) / points
        out[ok] = np.interp(log_d, log_points, values) if use_grid else values[inverse]
    return outs


Dispersion = float | Callable[[np.ndarray], ArrayLike]


def _check_dispersion(dispersion: Dispersion) -> Dispersion:
    if callable(dispersion):
        return dispersion
    if (
        isinstance(dispersion, bool)
        or not isinstance(dispersion, int | float | np.floating | np.integer)
        or not (np.isfinite(dispersion) and dispersion > 0)
    ):
        msg = (
            "dispersion must be one positive finite number (the ratio of the within-unit variance "
            f"to the binomial/Poisson variance; 1 for none) or a function of the expected count; "
            f"got {dispersion!r}. Estimate it first (e.g. from within-unit monthly variation) and "
            "pass a scalar, or a function D(E) for a dispersion varying with size."
        )
        raise ValueError(msg)
    return float(dispersion)


def _dispersion_at(dispersion: Dispersion, expected: np.ndarray) -> np.ndarray:
    """Per-unit dispersion: the scalar, or ``D(expected)`` (NaN where ``expected`` is not > 0)."""
    expected = np.asarray(expected, dtype=float)
    if not callable(dispersion):
        return np.full(expected.shape, float(dispersion))
    ok = np.isfinite(expected) & (expected > 0)
    out = np.full(expected.shape, np.nan)
    if ok.any():
        got = np.broadcast_to(np.asarray(dispersion(expected[ok]), dtype=float), expected[ok].shape)
        bad = ~(np.isfinite(got) & (got > 0))
        if bad.any():
            msg = (
                "the dispersion function must return positive finite values at every positive "
                f"expected count; got {got[bad][:3]} at {expected[ok][bad][:3]}. Floor it (e.g. "
                "at 1) or check its parameters."
            )
            raise ValueError(msg)
        out[ok] = got
    return out


def _widen(
    t: np.ndarray, y0: float, side: int, z: float, adjustment: str, phi: float, tau2: float
) -> np.ndarray | None:
    """Move a limit ``t`` (z-score scale; ``side`` -1 lower, +1 upper) away from ``y0``.

    Additive: distance ``sqrt((t - y0)^2 + z^2 tau2)``; multiplicative: ``sqrt(phi) |t - y0|``.
    None when there is nothing to widen (``tau2 <= 0`` or ``phi <= 1``).
    """
    with np.errstate(invalid="ignore"):
        distance = np.maximum(side * (t - y0), 0.0)
        if adjustment == "multiplicative" and np.isfinite(phi) and phi > 1:
            return y0 + side * np.sqrt(phi) * distance
        if adjustment == "additive" and np.isfinite(tau2) and tau2 > 0:
            return y0 + side * np.sqrt(distance**2 + z**2 * tau2)
    return None


def funnel_limits(
    denominator: ArrayLike,
    target: float,
    kind: str,
    confidence: Confidence = (0.95, 0.998),
    method: str = "exact",
    multiplier: float = 1.0,
    phi: float = 1.0,
    tau2: float = 0.0,
    adjustment: str = "none",
    scale: str | None = None,
    dispersion: Dispersion = 1.0,
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """Lower and upper control limits at each denominator, for each confidence level.

    Parameters
    ----------
    denominator : scalar, array or Series
        n (proportion, rate) or expected count E (ratio): the real one, not divided by the
        dispersion.
    target : float
        Benchmark in value units (e.g. 0.62, or 512.3 per 100,000, or 1 for a ratio).
    kind : {"proportion", "rate", "ratio"}
    confidence : float or tuple of float
        Default ``(0.95, 0.998)``: the usual "2 and 3 sigma" funnel limits.
    method : {"exact", "normal"}
        Unadjusted limits, and the limits the adjustment widens (see the module notes).
    multiplier : float
        Value units per 1 (100 for percentages, 100,000 for rates per 100,000).
    phi, tau2 : float
        Overdispersion estimates on the z-score ``scale`` (from :func:`funnel`).
    adjustment : {"none", "multiplicative", "additive"}
    scale : {"sqrt", "log", "arcsine", "logit", "standard"} or None
        z-score scale; None picks ``arcsine`` for proportions and ``sqrt`` for rates and ratios.
    dispersion : float or callable
        Within-unit dispersion ``d`` (default 1): limits of the effective counts ``n / d``; a
        function ``D(E)`` is evaluated at the expected count ``E = target / multiplier x n``.

    Returns
    -------
    dict
        ``{level: (lower, upper)}`` arrays in value units; NaN where the denominator is not > 0.
        Adjusted limits contain the unadjusted ones and equal them when ``tau2 = 0``
        (additive) or ``phi <= 1`` (multiplicative).

    Notes
    -----
    Exact limits assume a binomial or Poisson (effective) count; the normal ones are poor for
    small denominators or targets near 0 or 1. Where the expected count (effective denominator
    x target) is below about 1, exact limits do not narrow monotonically (the count quantile
    jumps from 0 to 1); no funnel is informative there.
    """
    check_method(kind, KINDS)
    check_method(method, LIMIT_METHODS)
    check_method(adjustment, ADJUSTMENTS)
    scale = _default_scale(kind, scale)
    dispersion = _check_dispersion(dispersion)
    levels = check_confidence(confidence)
    d = np.asarray(
        denominator.to_numpy() if isinstance(denominator, pd.Series) else denominator, dtype=float
    )
    theta0 = float(target) / multiplier
    _check_target(theta0, kind)
    with np.errstate(invalid="ignore"):
        n_eff = d / _dispersion_at(dispersion, theta0 * d)
    bad = ~(np.isfinite(n_eff) & (n_eff > 0))
    s = _sd(n_eff, theta0, kind, scale)
    y0 = float(_to_scale(np.float64(theta0), scale))
    if method == "exact":
        qs = [q for level in levels for q in ((1 - level) / 2, (1 + level) / 2)]
        exact = _exact_limits(qs, n_eff, theta0, kind)
    out: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    for i, level in enumerate(levels):
        if method == "exact":
            lower, upper = exact[2 * i], exact[2 * i + 1]
            t_lower, t_upper = _to_scale(lower, scale), _to_scale(upper, scale)
        else:
            half = z_value(level) * s
            t_lower, t_upper = y0 - half, y0 + half
            lower, upper = _from_scale(t_lower, scale, kind), _from_scale(t_upper, scale, kind)
        t_lower_adj = _widen(t_lower, y0, -1, z_value(level), adjustment, phi, tau2)
        t_upper_adj = _widen(t_upper, y0, +1, z_value(level), adjustment, phi, tau2)
        if t_lower_adj is not None and t_upper_adj is not None:
            adj_lower = _from_scale(t_lower_adj, scale, kind)
            adj_upper = _from_scale(t_upper_adj, scale, kind)
            # the construction already implies containment; enforce it against rounding
            lower, upper = np.fmin(adj_lower, lower), np.fmax(adj_upper, upper)
        lower = np.where(bad, np.nan, lower)
        upper = np.where(bad, np.nan, upper)
        out[level] = (lower * multiplier, upper * multiplier)
    return out


def _default_scale(kind: str, scale: str | None) -> str:
    if scale is None:
        return KIND_SCALES[kind][0]
    check_method(scale, SCALES)
    if scale not in KIND_SCALES[kind]:
        valid = ", ".join(repr(v) for v in KIND_SCALES[kind])
        msg = f"scale={scale!r} does not suit a {kind}; use one of {valid}."
        raise ValueError(msg)
    return scale


def _check_target(theta0: float, kind: str) -> None:
    upper = 1 if kind == "proportion" else np.inf
    if not (np.isfinite(theta0) and 0 < theta0 < upper):
        msg = f"target must be strictly between 0 and {'1 x multiplier' if upper == 1 else 'infinity'} for a {kind}; got {theta0} per 1."
        raise ValueError(msg)


def _flag(value: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> pd.Categorical:
    """``above``/``below``/``within`` as a categorical (missing where any input is NaN)."""
    codes = np.where(value > upper, 1, np.where(value < lower, 2, 0)).astype(np.int8)
    codes[~(np.isfinite(value) & np.isfinite(lower) & np.isfinite(upper))] = -1
    return pd.Categorical.from_codes(codes, categories=[WITHIN, ABOVE, BELOW])


# ---------------------------------------------------------------------------------------------
# overdispersion


def winsorise(z: np.ndarray, fraction: float = 0.1) -> np.ndarray:
    """Clip ``z`` to its ``fraction`` and ``1 - fraction`` quantiles (numpy linear quantiles)."""
    if not 0 <= fraction < 0.5:
        msg = f"winsor fraction must be in [0, 0.5); got {fraction}."
        raise ValueError(msg)
    if fraction == 0 or z.size == 0:
        return z.copy()
    lo, hi = np.quantile(z, [fraction, 1 - fraction])
    return np.clip(z, lo, hi)


def overdispersion(
    z: np.ndarray, sd: np.ndarray, winsor: float = 0.1
) -> tuple[float, float, float]:
    """Winsorised phi, its chi-square p-value and the additive tau2 (Spiegelhalter 2005a, Section 6).

    Parameters
    ----------
    z : array
        z-scores of the units (finite values only are used).
    sd : array
        Their standard deviations on the same scale (weights ``w = 1 / sd^2``).
    winsor : float
        Fraction winsorised in each tail (default 0.1).

    Returns
    -------
    (phi, p_value, tau2)
        ``phi = mean(winsorised z^2)``; ``p_value = P(chi2_{n-1} >= n phi)`` (small when the
        units vary more than chance allows); ``tau2 = max(0, (n phi - (n - 1)) /
        (sum w - sum w^2 / sum w))``, the between-unit variance on the z-score scale.

    Notes
    -----
    The chi-square reference is approximate: winsorisation shrinks ``n phi`` (so the test is
    conservative), and ``n - 1`` degrees of freedom allow for a target estimated from the same
    units (with an external target ``n`` would be closer). With few units (say under 20) phi is
    imprecise. tau2 is 0 whenever ``n phi <= n - 1``. Winsorising biases phi (and so tau2)
    downwards by design: for normal z-scores with no overdispersion, 10% each tail gives
    ``E[phi] = 0.679``, not 1; use ``winsor=0`` for an unbiased (but outlier-sensitive) estimate.
    """
    ok = np.isfinite(z) & np.isfinite(sd) & (sd > 0)
    z, sd = z[ok], sd[ok]
    n = z.size
    if n < 2:
        return np.nan, np.nan, np.nan
    zw = winsorise(z, winsor)
    phi = float(np.mean(zw**2))
    p_value = float(stats.chi2.sf(n * phi, n - 1))
    w = 1 / sd**2
    denom = w.sum() - (w**2).sum() / w.sum()
    tau2 = max(0.0, (n * phi - (n - 1)) / denom) if denom > 0 else 0.0
    return phi, p_value, float(tau2)


# ---------------------------------------------------------------------------------------------
# results


def _number(x: float) -> str:
    """A short human number: 3.134 -> '3.134', 512.34 -> '512.3', 12345.6 -> '12,346'."""
    if not np.isfinite(x):
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


@dataclass
class FunnelResult:
    """A funnel comparison: per-unit table, overdispersion estimates and limit curves.

    ``table`` holds per unit: ``value``, ``denominator``, ``z`` (on ``scale``), and for each level
    ``lower95``, ``upper95``, ``flag95`` (unadjusted), ``lower95_adj``, ``upper95_adj``,
    ``flag95_adj`` (adjusted) and ``lower95_adj_is_zero`` (nullable boolean: True where the
    adjusted lower limit is 0, so a value below the target cannot be told apart from it; NA
    where the limit is missing), with ``99_8`` for 0.998. Flags are ``"above"``, ``"below"``,
    ``"within"`` (missing where the value or denominator is missing). ``phi`` and ``tau2`` are on
    ``scale``; ``dispersion`` is the within-unit dispersion used for limits and z-scores (a
    number, or a function of the expected count; ``table`` then also has ``dispersion_used``,
    each unit's value at its expected count under the target).
    """

    kind: str
    target: float
    multiplier: float
    method: str
    scale: str
    adjustment: str
    confidence: tuple[float, ...]
    n_units: int
    phi: float
    p_value: float
    tau2: float
    winsor: float
    table: pd.DataFrame = field(repr=False)
    dispersion: Dispersion = 1.0

    @property
    def typical_dispersion(self) -> float:
        """The within-unit dispersion as one number: the scalar, or ``D`` at the median unit's
        expected count under the target (NaN without a positive denominator)."""
        if not callable(self.dispersion):
            return float(self.dispersion)
        d = self.table["denominator"].to_numpy(dtype=float, na_value=np.nan)
        d = d[np.isfinite(d) & (d > 0)]
        if d.size == 0:
            return np.nan
        expected = np.median(d) * self.target / self.multiplier
        return float(_dispersion_at(self.dispersion, np.array([expected]))[0])

    def dispersion_description(self, unit_name: str = "unit") -> str:
        """``"within-council dispersion 54.2"``, ``"within-council dispersion rising with size
        (D = 54.2 at the median council)"``, or ``""`` for none (1 everywhere)."""
        typical = self.typical_dispersion
        trend = ""
        if callable(self.dispersion):
            d = self.table["denominator"].to_numpy(dtype=float, na_value=np.nan)
            d = d[np.isfinite(d) & (d > 0)]
            if d.size:
                ends = _dispersion_at(
                    self.dispersion, np.array([d.min(), d.max()]) * self.target / self.multiplier
                )
                if ends[1] > ends[0] * (1 + 1e-9):
                    trend = "rising"
                elif ends[1] < ends[0] * (1 - 1e-9):
                    trend = "falling"
        if trend:
            return (
                f"within-{unit_name} dispersion {trend} with size (D = {typical:.3g} at the median "
                f"{unit_name})"
            )
        if typical == 1:
            return ""
        return f"within-{unit_name} dispersion {typical:.3g}"

    @property
    def overdispersed(self) -> bool:
        """Whether the chi-square test rejects "no overdispersion" at the 5% level."""
        return bool(self.p_value < 0.05)

    def limits(
        self, denominator: ArrayLike, adjusted: bool = False
    ) -> dict[float, tuple[np.ndarray, np.ndarray]]:
        """Limits at any (real) denominators (unadjusted, or with this result's adjustment)."""
        return funnel_limits(
            denominator,
            self.target,
            self.kind,
            confidence=self.confidence,
            method=self.method,
            multiplier=self.multiplier,
            phi=self.phi,
            tau2=self.tau2,
            adjustment=self.adjustment if adjusted else "none",
            scale=self.scale,
            dispersion=self.dispersion,
        )

    def curve(
        self, n_points: int = 200, denominator_range: tuple[float, float] | None = None
    ) -> pd.DataFrame:
        """Limit curves for plotting over a geometric grid of denominators.

        Default range: 0.8 x the smallest to 1.2 x the largest positive denominator in ``table``.
        Columns: ``denominator``, ``target``, ``lower95``, ``upper95``, ..., and the ``_adj`` ones
        when an adjustment was chosen.
        """
        if denominator_range is None:
            d = self.table["denominator"].to_numpy(dtype=float)
            d = d[np.isfinite(d) & (d > 0)]
            if d.size == 0:
                msg = "No positive denominators to draw a funnel over; give denominator_range."
                raise ValueError(msg)
            denominator_range = (0.8 * d.min(), 1.2 * d.max())
        lo, hi = denominator_range
        grid = np.geomspace(max(lo, 1e-9), hi, n_points)
        out = pd.DataFrame({"denominator": grid, "target": self.target})
        for level, (lower, upper) in self.limits(grid).items():
            out[f"lower{level_tag(level)}"], out[f"upper{level_tag(level)}"] = lower, upper
        if self.adjustment != "none":
            for level, (lower, upper) in self.limits(grid, adjusted=True).items():
                out[f"lower{level_tag(level)}_adj"] = lower
                out[f"upper{level_tag(level)}_adj"] = upper
        return out

    def model_description(self, centre_label: str = "target", unit_name: str = "unit") -> str:
        """One plain-English line naming the model, for captions.

        e.g. ``"Poisson funnel around 3.134 (England); square-root scale; additive random-effects
        overdispersion (tau2 = 2.03e-06, phi = 3.36, 10% winsorised each tail); 95% and 99.8%
        exact limits; within-council dispersion 54.2"`` (``centre_label="England"``,
        ``unit_name="council"``); with a dispersion function, e.g. ``"...; within-council
        dispersion rising with size (D = 54.2 at the median council)"``.
        """
        parts = [f"{KINDS[self.kind]} funnel around {_number(self.target)} ({centre_label})"]
        parts.append(f"{SCALES[self.scale]} scale")
        wins = f"{self.winsor * 100:g}% winsorised each tail"
        stats_ = f"tau2 = {self.tau2:.3g}, phi = {self.phi:.3g}, {wins}"
        if self.adjustment == "additive":
            od = f"additive random-effects overdispersion ({stats_})"
            if not self.tau2 > 0:
                od += ", so limits not widened"
        elif self.adjustment == "multiplicative":
            od = f"multiplicative overdispersion (phi = {self.phi:.3g}, {wins})"
            if not self.phi > 1:
                od += ", so limits not widened"
        else:
            od = f"no overdispersion adjustment (phi = {self.phi:.3g}, {wins})"
        parts.append(od)
        levels = [level_label(level) for level in self.confidence]
        joined = levels[0] if len(levels) == 1 else ", ".join(levels[:-1]) + f" and {levels[-1]}"
        parts.append(f"{joined} {'exact' if self.method == 'exact' else 'normal'} limits")
        phrase = self.dispersion_description(unit_name)
        if phrase:
            parts.append(phrase)
        return "; ".join(parts)

    def summary(self) -> dict[str, Any]:
        """Scalars of the result as a dict (for reports; ``dispersion`` is
        :attr:`typical_dispersion`)."""
        return {
            "kind": self.kind, "target": self.target, "method": self.method, "scale": self.scale,
            "adjustment": self.adjustment, "n_units": self.n_units, "phi": self.phi,
            "p_value": self.p_value, "tau2": self.tau2, "winsor": self.winsor,
            "dispersion": self.typical_dispersion,
        }  # fmt: skip


def funnel(
    x: ArrayLike,
    denominator: ArrayLike,
    kind: str,
    target: float | None = None,
    confidence: Confidence = (0.95, 0.998),
    method: str = "exact",
    adjustment: str = "additive",
    multiplier: float | None = None,
    winsor: float = 0.1,
    scale: str | None = None,
    dispersion: Dispersion = 1.0,
) -> FunnelResult:
    """Funnel plot limits, z-scores, overdispersion and flags for all units at once.

    Parameters
    ----------
    x : scalar, array or Series
        Numerator: count with the attribute (proportion), events (rate) or observed O (ratio).
    denominator : scalar, array or Series
        n, population, or expected E.
    kind : {"proportion", "rate", "ratio"}
    target : float or None
        Benchmark in value units (e.g. the England value). None: the pooled value
        ``sum(x) / sum(denominator)`` for proportions and rates (England's value when the units
        are all of England's councils), 1 x multiplier for ratios.
    confidence : float or tuple of float
        Default ``(0.95, 0.998)``.
    method : {"exact", "normal"}
        Limits before widening; see :func:`funnel_limits`.
    adjustment : {"additive", "multiplicative", "none"}
        Adjusted limits and flags (default additive random effects, Spiegelhalter et al. 2012).
        The adjusted columns are always computed; whether they should be used is a judgement the
        ``p_value`` (and knowledge of the data) informs.
    multiplier : float or None
        Value units per 1: default 1 for proportions and ratios, 100,000 for rates.
    winsor : float
        Fraction winsorised in each tail for phi (default 0.1).
    scale : {"sqrt", "log", "arcsine", "logit", "standard"} or None
        z-score scale for z, phi, tau2 and the adjusted limits; None: ``arcsine`` for
        proportions, ``sqrt`` for rates and ratios (see the module notes).
    dispersion : float or callable
        Within-unit dispersion (default 1): each unit's sampling variance is ``dispersion`` times
        the binomial/Poisson one; z-scores and limits use ``x / dispersion`` events out of
        ``denominator / dispersion``. One number for all units, or a function ``D(E)`` of the
        expected count ``E = target / multiplier x denominator`` (vectorised, positive), used at
        each unit's ``E`` for its z-score and limits, and along the curve.

    Returns
    -------
    FunnelResult

    Notes
    -----
    Assumes the units are independent and, under the null, share the target. Units with a
    missing or non-positive denominator get NaN limits and no flag and are left out of phi.
    """
    check_method(kind, KINDS)
    check_method(method, LIMIT_METHODS)
    check_method(adjustment, ADJUSTMENTS)
    levels = check_confidence(confidence)
    scale = _default_scale(kind, scale)
    dispersion = _check_dispersion(dispersion)
    if multiplier is None:
        multiplier = 1e5 if kind == "rate" else 1.0
    index = next((v.index for v in (x, denominator) if isinstance(v, pd.Series)), None)
    xa, da = (
        np.asarray(
            v.to_numpy(dtype=float, na_value=np.nan) if isinstance(v, pd.Series) else v, dtype=float
        )
        for v in (x, denominator)
    )
    xa, da = np.broadcast_arrays(np.atleast_1d(xa), np.atleast_1d(da))
    ok = np.isfinite(xa) & np.isfinite(da) & (da > 0)
    if np.count_nonzero(xa[ok] < 0) or (kind == "proportion" and np.count_nonzero(xa[ok] > da[ok])):
        msg = "numerators must be >= 0 (and <= denominators for proportions)."
        raise ValueError(msg)
    if target is None:
        target = multiplier * (xa[ok].sum() / da[ok].sum() if kind != "ratio" else 1.0)
    theta0 = float(target) / multiplier
    _check_target(theta0, kind)

    with np.errstate(invalid="ignore"):
        d_unit = _dispersion_at(dispersion, theta0 * np.where(ok, da, np.nan))
    x_eff, n_eff = xa / d_unit, da / d_unit
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(ok, xa / da, np.nan)
        s = np.where(ok, _sd(n_eff, theta0, kind, scale), np.nan)
        y_scaled = np.where(ok, _scaled_value(x_eff, n_eff, kind, scale), np.nan)
        z = (y_scaled - _to_scale(np.float64(theta0), scale)) / s
    phi, p_value, tau2 = overdispersion(z, s, winsor)

    value = y * multiplier
    table = pd.DataFrame({"value": value, "denominator": da, "z": z}, index=index)
    if callable(dispersion):
        table["dispersion_used"] = d_unit
    common = {"multiplier": multiplier, "scale": scale, "dispersion": dispersion}
    unadj = funnel_limits(da, target, kind, levels, method, **common)
    adj = funnel_limits(
        da, target, kind, levels, method, phi=phi, tau2=tau2, adjustment=adjustment, **common
    )
    for level in levels:
        tag = level_tag(level)
        lo, hi = unadj[level]
        table[f"lower{tag}"], table[f"upper{tag}"] = lo, hi
        table[f"flag{tag}"] = _flag(value, lo, hi)
        lo, hi = adj[level]
        table[f"lower{tag}_adj"], table[f"upper{tag}_adj"] = lo, hi
        table[f"flag{tag}_adj"] = _flag(value, lo, hi)
        table[f"lower{tag}_adj_is_zero"] = pd.array(
            np.where(np.isfinite(lo), lo <= 0, None), dtype="boolean"
        )
    return FunnelResult(
        kind=kind,
        target=float(target),
        multiplier=float(multiplier),
        method=method,
        scale=scale,
        adjustment=adjustment,
        confidence=levels,
        n_units=int(np.count_nonzero(ok)),
        phi=phi,
        p_value=p_value,
        tau2=tau2,
        winsor=winsor,
        table=table,
        dispersion=dispersion,
    )


def funnel_table(
    df: pd.DataFrame,
    x_col: str,
    n_col: str,
    kind: str,
    target: float | None = None,
    confidence: Confidence = (0.95, 0.998),
    method: str = "exact",
    adjustment: str = "additive",
    multiplier: float | None = None,
    winsor: float = 0.1,
    scale: str | None = None,
    dispersion: Dispersion = 1.0,
) -> FunnelResult:
    """:func:`funnel` on two columns of ``df``; ``result.table`` is ``df`` with the per-unit
    columns appended (``value``, ``z``, limits, flags, ``lower99_8_adj_is_zero``...) and a
    ``method`` column naming the method.
    """
    result = funnel(
        df[x_col],
        df[n_col],
        kind,
        target,
        confidence,
        method,
        adjustment,
        multiplier,
        winsor,
        scale,
        dispersion,
    )
    per_unit = result.table.drop(columns="denominator")
    table = df.copy()
    for col in per_unit:
        values = per_unit[col]  # keep the nullable boolean dtype of the *_is_zero columns
        table[col] = values.array if values.dtype == "boolean" else values.to_numpy()
    method_text = (
        f"{KINDS[kind]} funnel, {LIMIT_METHODS[method]} limits, "
        f"{ADJUSTMENTS[adjustment]} adjustment, {SCALES[result.scale]} scale"
    )
    phrase = result.dispersion_description("unit")
    if phrase:
        method_text += f", {phrase}"
    table["method"] = method_text
    table["denominator"] = df[n_col].to_numpy(dtype=float, na_value=np.nan)
    result.table = table
    return result


# ---------------------------------------------------------------------------------------------
# plot


def plot_funnel(
    ax: Any,
    result: FunnelResult,
    highlight: Sequence[object] | np.ndarray | pd.Series | None = None,
    labels: Sequence[object] | np.ndarray | pd.Series | str | None = None,
    title: str | None = None,
    xlabel: str = "Denominator",
    ylabel: str | None = None,
    adjusted: bool | None = None,
) -> Any:
    """Draw a funnel plot on a matplotlib ``ax`` and return it.

    Parameters
    ----------
    ax : matplotlib Axes
    result : FunnelResult
    highlight : labels to highlight, or a boolean mask over ``result.table`` rows
        Highlighted units are drawn larger in a contrasting colour and labelled.
    labels : column name of ``result.table``, or a sequence aligned with its rows
        Unit names (e.g. council names); default the table's index.
    title, xlabel, ylabel : str
    adjusted : bool or None
        Draw the adjusted limits too; default when they differ from the unadjusted ones
        (additive with tau2 > 0, multiplicative with phi > 1).
    """
    table = result.table
    if isinstance(labels, str):
        names = table[labels].astype(str).to_numpy()
    elif labels is None:
        names = table.index.astype(str).to_numpy()
    else:
        names = np.asarray(labels, dtype=object).astype(str)
    if highlight is None:
        mask = np.zeros(len(table), dtype=bool)
    elif np.asarray(highlight).dtype == bool and len(np.asarray(highlight)) == len(table):
        mask = np.asarray(highlight, dtype=bool)
    else:
        mask = np.isin(names, np.asarray(highlight, dtype=object).astype(str))
    if adjusted is None:
        adjusted = (result.adjustment == "additive" and result.tau2 > 0) or (
            result.adjustment == "multiplicative" and result.phi > 1
        )

    curve = result.curve()
    ax.axhline(result.target, color="black", linewidth=1, label=f"Target {result.target:,.3g}")
    styles = {0: "--", 1: "-"}
    for i, level in enumerate(sorted(result.confidence)):
        tag = level_tag(level)
        style = styles.get(i, ":")
        ax.plot(
            curve["denominator"],
            curve[f"lower{tag}"],
            color="tab:blue",
            linestyle=style,
            label=f"{level * 100:g}% limits",
        )
        ax.plot(curve["denominator"], curve[f"upper{tag}"], color="tab:blue", linestyle=style)
        if adjusted and f"lower{tag}_adj" in curve:
            ax.plot(
                curve["denominator"],
                curve[f"lower{tag}_adj"],
                color="tab:orange",
                linestyle=style,
                label=f"{level * 100:g}% limits, overdispersion-adjusted",
            )
            ax.plot(
                curve["denominator"], curve[f"upper{tag}_adj"], color="tab:orange", linestyle=style
            )
    d = table["denominator"].to_numpy(dtype=float)
    v = table["value"].to_numpy(dtype=float)
    ax.scatter(d[~mask], v[~mask], s=14, color="grey", alpha=0.7, label="Councils")
    if mask.any():
        ax.scatter(d[mask], v[mask], s=40, color="tab:red", zorder=3, label="Highlighted")
        for xi, yi, name in zip(d[mask], v[mask], names[mask], strict=True):
            ax.annotate(name, (xi, yi), xytext=(4, 4), textcoords="offset points", fontsize=8)
    ax.set_xlabel(xlabel)
    unit = {1.0: "", 100.0: " (%)"}.get(result.multiplier, f" per {result.multiplier:,.0f}")
    ax.set_ylabel(ylabel or f"{result.kind.capitalize()}{unit}")
    ax.set_title(title or f"Funnel plot ({result.kind}, {KINDS[result.kind]} limits)")
    ax.legend(fontsize=8, loc="best")
    return ax


__all__ = [
    "ADJUSTMENTS",
    "KINDS",
    "LIMIT_METHODS",
    "SCALES",
    "FunnelResult",
    "funnel",
    "funnel_limits",
    "funnel_table",
    "overdispersion",
    "plot_funnel",
    "winsorise",
]
