"""Funnel plots: control limits around a benchmark, overdispersion, per-unit flags and a plot.

Three kinds of indicator, each with a value, a "precision" (denominator) and a target ``theta0``:

============ ======================= ===================== =========================================
kind         value                   denominator           variance of the value at the target
============ ======================= ===================== =========================================
proportion   x / n (x multiplier)    n (people asked...)   theta0 (1 - theta0) / n   (binomial)
rate         x / n (x multiplier)    n (population)        theta0 / n                (Poisson)
ratio        O / E (x multiplier)    E (expected events)   theta0 / E                (Poisson)
============ ======================= ===================== =========================================

Control limits (``method``): ``exact`` inverts the binomial or Poisson distribution function of
the count at the target for every denominator, using its continuous form (the regularised
incomplete beta / gamma function; scipy ``bdtrik``/``pdtrik``), which interpolates smoothly between
the integer quantiles as Spiegelhalter (2005, Appendix A.1) does linearly; ``normal`` uses
``theta0 +/- z * sd`` on the z-score scale (below).

Overdispersion (Spiegelhalter 2005, Section 6; Spiegelhalter et al. 2012):

1. z-scores ``z_i = (y_i - y0) / s_i`` on a scale (``scale``): ``standard`` (the table's variance;
   default for proportions and rates) or ``sqrt`` for Poisson kinds (``y = sqrt(value)``,
   ``s = 1 / (2 sqrt(denominator))``, so ``z = 2 (sqrt(O) - sqrt(E))`` for a ratio; default for
   ratios, as FunnelPlotR does).
2. Winsorise: z-scores below the ``winsor`` quantile or above the ``1 - winsor`` quantile (default
   10% each tail, numpy's linear quantile) are set to those quantiles.
3. ``phi = mean(z_winsorised^2)``; test statistic ``n * phi`` against chi-square with ``n - 1``
   degrees of freedom, p-value ``P(chi2_{n-1} >= n phi)``.
4. Multiplicative adjustment: limits ``y0 +/- z_a sqrt(phi) s`` (phi floored at 1).
   Additive random effects (DerSimonian-Laird style, as FunnelPlotR):
   ``tau2 = max(0, (n phi - (n - 1)) / (sum(w) - sum(w^2) / sum(w)))`` with ``w = 1 / s^2``, and
   limits ``y0 +/- z_a sqrt(s^2 + tau2)``; both back-transformed from the z-score scale.

References
----------
Spiegelhalter DJ (2005). Funnel plots for comparing institutional performance. Stat Med
24:1185-1202. doi:10.1002/sim.1970
Spiegelhalter DJ, Sherlaw-Johnson C, Bardsley M, Blunt I, Wood C, Grigg O (2012). Statistical
methods for healthcare regulation: rating, screening and surveillance. JRSS A 175:1-47.
doi:10.1111/j.1467-985X.2011.01010.x
DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Control Clin Trials 7:177-188.
FunnelPlotR (R package, Chris Mainey): the same winsorised phi and tau2 estimators.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    z_value,
)

KINDS = {"proportion": "binomial", "rate": "Poisson", "ratio": "Poisson"}
LIMIT_METHODS = {"exact": "exact", "normal": "normal approximation"}
ADJUSTMENTS = {
    "additive": "additive random effects (tau2)",
    "multiplicative": "multiplicative (phi)",
    "none": "none",
}
SCALES = {"standard": "standard", "sqrt": "square root"}
WITHIN, ABOVE, BELOW = "within", "above", "below"
_EXACT_MAX_UNIQUE = 20_000  # beyond this many distinct denominators, interpolate on a log grid
_GRID_POINTS = 4_096


def level_tag(level: float) -> str:
    """Column suffix for a confidence level: ``95`` for 0.95, ``99_8`` for 0.998."""
    return f"{level * 100:g}".replace(".", "_")


# ---------------------------------------------------------------------------------------------
# scales: value (per 1) <-> z-score scale


def _to_scale(y: np.ndarray, scale: str) -> np.ndarray:
    return np.sqrt(y) if scale == "sqrt" else y


def _from_scale(t: np.ndarray, scale: str) -> np.ndarray:
    return np.maximum(t, 0.0) ** 2 if scale == "sqrt" else t


def _sd(denominator: np.ndarray, theta0: float, kind: str, scale: str) -> np.ndarray:
    """Standard deviation of the (per 1) value at the target, on the z-score scale."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if scale == "sqrt":
            return 1 / (2 * np.sqrt(denominator))
        g = theta0 * (1 - theta0) if kind == "proportion" else theta0
        return np.sqrt(g / denominator)


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

    Evaluated once per distinct denominator; with more than ``_EXACT_MAX_UNIQUE`` distinct
    values, on a geometric grid of ``_GRID_POINTS`` denominators, linearly interpolated in
    log(denominator) (relative error below 1e-5 for denominators >= 1; tested).
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
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """Lower and upper control limits at each denominator, for each confidence level.

    Parameters
    ----------
    denominator : scalar, array or Series
        n (proportion, rate) or expected count E (ratio).
    target : float
        Benchmark in value units (e.g. 0.62, or 512.3 per 100,000, or 1 for a ratio).
    kind : {"proportion", "rate", "ratio"}
    confidence : float or tuple of float
        Default ``(0.95, 0.998)``: the usual "2 and 3 sigma" funnel limits.
    method : {"exact", "normal"}
        Unadjusted limits (see the module notes). Ignored when ``adjustment`` is not ``"none"``:
        adjusted limits are always normal on the z-score scale (Spiegelhalter 2005, Section 6).
    multiplier : float
        Value units per 1 (100 for percentages, 100,000 for rates per 100,000).
    phi, tau2 : float
        Overdispersion estimates (from :func:`funnel`); phi below 1 is treated as 1.
    adjustment : {"none", "multiplicative", "additive"}
    scale : {"standard", "sqrt"} or None
        z-score scale; None picks ``standard`` for proportions and rates, ``sqrt`` for ratios.

    Returns
    -------
    dict
        ``{level: (lower, upper)}`` arrays in value units; NaN where the denominator is not > 0.

    Notes
    -----
    Exact limits assume a binomial or Poisson count; the normal ones are poor for small
    denominators or targets near 0 or 1 (the lower proportion limit may be clipped at 0).
    Where the expected count (denominator x target) is below about 1, exact limits do not
    narrow monotonically (the count quantile jumps from 0 to 1); no funnel is informative there.
    """
    check_method(kind, KINDS)
    check_method(method, LIMIT_METHODS)
    check_method(adjustment, ADJUSTMENTS)
    scale = _default_scale(kind, scale)
    levels = check_confidence(confidence)
    d = np.asarray(
        denominator.to_numpy() if isinstance(denominator, pd.Series) else denominator, dtype=float
    )
    theta0 = float(target) / multiplier
    _check_target(theta0, kind)
    out: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    exact = adjustment == "none" and method == "exact"
    if exact:
        qs = [q for level in levels for q in ((1 - level) / 2, (1 + level) / 2)]
        limits = _exact_limits(qs, d, theta0, kind)
    for i, level in enumerate(levels):
        if exact:
            lower, upper = limits[2 * i], limits[2 * i + 1]
        else:
            s = _sd(d, theta0, kind, scale)
            if adjustment == "multiplicative":
                half = z_value(level) * np.sqrt(max(phi, 1.0)) * s
            elif adjustment == "additive":
                half = z_value(level) * np.sqrt(s**2 + max(tau2, 0.0))
            else:
                half = z_value(level) * s
            y0 = _to_scale(np.float64(theta0), scale)
            lower = _from_scale(y0 - half, scale)
            upper = _from_scale(y0 + half, scale)
            if kind == "proportion":
                lower, upper = np.clip(lower, 0, 1), np.clip(upper, 0, 1)
            else:
                lower = np.maximum(lower, 0)
            bad = ~(np.isfinite(d) & (d > 0))
            lower, upper = np.where(bad, np.nan, lower), np.where(bad, np.nan, upper)
        out[level] = (lower * multiplier, upper * multiplier)
    return out


def _default_scale(kind: str, scale: str | None) -> str:
    if scale is None:
        return "sqrt" if kind == "ratio" else "standard"
    check_method(scale, SCALES)
    if scale == "sqrt" and kind == "proportion":
        msg = (
            "scale='sqrt' is for Poisson kinds (rate, ratio); use scale='standard' for proportions."
        )
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
    """Winsorised phi, its chi-square p-value and the additive tau2 (Spiegelhalter 2005, Section 6).

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


@dataclass
class FunnelResult:
    """A funnel comparison: per-unit table, overdispersion estimates and limit curves.

    ``table`` holds per unit: ``value``, ``denominator``, ``z``, for each level ``lower95``,
    ``upper95``, ``flag95`` (unadjusted) and ``lower95_adj``, ``upper95_adj``, ``flag95_adj``
    (adjusted), with ``99_8`` for 0.998. Flags are ``"above"``, ``"below"``, ``"within"``
    (None where the value or denominator is missing).
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

    @property
    def overdispersed(self) -> bool:
        """Whether the chi-square test rejects "no overdispersion" at the 5% level."""
        return bool(self.p_value < 0.05)

    def limits(
        self, denominator: ArrayLike, adjusted: bool = False
    ) -> dict[float, tuple[np.ndarray, np.ndarray]]:
        """Limits at any denominators (unadjusted, or with this result's adjustment)."""
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

    def summary(self) -> dict[str, Any]:
        """Scalars of the result as a dict (for reports)."""
        return {
            "kind": self.kind, "target": self.target, "method": self.method, "scale": self.scale,
            "adjustment": self.adjustment, "n_units": self.n_units, "phi": self.phi,
            "p_value": self.p_value, "tau2": self.tau2, "winsor": self.winsor,
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
        Unadjusted limits; see :func:`funnel_limits`.
    adjustment : {"additive", "multiplicative", "none"}
        Adjusted limits and flags (default additive random effects, Spiegelhalter et al. 2012).
        The adjusted columns are always computed; whether they should be used is a judgement the
        ``p_value`` (and knowledge of the data) informs.
    multiplier : float or None
        Value units per 1: default 1 for proportions and ratios, 100,000 for rates.
    winsor : float
        Fraction winsorised in each tail for phi (default 0.1).
    scale : {"standard", "sqrt"} or None
        z-score scale; see the module notes.

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

    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(ok, xa / da, np.nan)
        s = np.where(ok, _sd(da, theta0, kind, scale), np.nan)
        z = (_to_scale(y, scale) - _to_scale(np.float64(theta0), scale)) / s
    phi, p_value, tau2 = overdispersion(z, s, winsor)

    value = y * multiplier
    table = pd.DataFrame({"value": value, "denominator": da, "z": z}, index=index)
    unadj = funnel_limits(da, target, kind, levels, method, multiplier, scale=scale)
    adj_method = adjustment if adjustment != "none" else "none"
    adj = funnel_limits(da, target, kind, levels, method, multiplier, phi, tau2, adj_method, scale)
    for level in levels:
        tag = level_tag(level)
        lo, hi = unadj[level]
        table[f"lower{tag}"], table[f"upper{tag}"] = lo, hi
        table[f"flag{tag}"] = _flag(value, lo, hi)
        lo, hi = adj[level]
        table[f"lower{tag}_adj"], table[f"upper{tag}_adj"] = lo, hi
        table[f"flag{tag}_adj"] = _flag(value, lo, hi)
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
) -> FunnelResult:
    """:func:`funnel` on two columns of ``df``; ``result.table`` is ``df`` with the per-unit
    columns appended (``value``, ``z``, limits, flags) and a ``method`` column naming the method.
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
    )
    per_unit = result.table.drop(columns="denominator")
    table = df.copy()
    for col in per_unit:
        table[col] = per_unit[col].to_numpy()
    table["method"] = (
        f"{KINDS[kind]} funnel, {LIMIT_METHODS[method]} limits, "
        f"{ADJUSTMENTS[adjustment]} adjustment, {SCALES[result.scale]} scale"
    )
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
        Draw the adjusted limits too; default when an adjustment was chosen and phi > 1 or
        tau2 > 0.
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
        adjusted = result.adjustment != "none" and (result.tau2 > 0 or result.phi > 1)

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
    "FunnelResult",
    "funnel",
    "funnel_limits",
    "funnel_table",
    "overdispersion",
    "plot_funnel",
    "winsorise",
]
