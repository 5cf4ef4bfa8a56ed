"""Quasi-Poisson dispersion of monthly counts, allowing for autocorrelation between months.

Used for delayed transfers of care: an annual rate is built from 12 monthly counts of delayed DAYS
per council. Delayed days are not independent events (one patient delayed 20 days gives 20 days,
and a delay spanning a month end is counted in both months), so Poisson intervals on days are far
too narrow; treating the daily average of delayed beds as a Poisson count errs the other way.

Model (one block = one financial year; one unit = one council; months ``m`` within the block)::

    E(Y_um) = mu_um = a_u * b_m * exposure_um       (b_m = 1 without a month effect)
    Var(Y_um) = phi * mu_um                          (quasi-Poisson; Wedderburn 1974)
    corr(Y_um, Y_um') = rho^|m - m'|                 (AR(1) between months of the same unit)

The means are the Poisson maximum-likelihood fit (iterative proportional fitting over the months a
unit reported). Pearson residuals ``e_um = (Y_um - mu_um) / sqrt(mu_um)`` are pooled over units.
Because each unit's mean is fitted, the residuals of a unit are ``sqrt(phi) (I - s s') z`` with
``s = sqrt(mu_um / sum_m mu_um)`` and ``z`` the standardised AR(1) errors, so

    E(sum e^2)              = phi * sum_u [k_u - s_u' R s_u]
    E(sum_adjacent e_m e_m+1) = phi * sum_u sum_adjacent [(I - s s') R (I - s s')]_{m, m+1}

with ``R = rho^|m - m'|``. ``rho`` is the root of observed/expected ratio of these two sums (a
method-of-moments estimator that removes the downward bias of a lag-1 autocorrelation computed
from a short, mean-corrected series; Kendall 1954), and ``phi`` follows from the first. With
``rho = 0`` and no month effect this is the classical Pearson estimator
``phi = X^2 / (N - p)`` (McCullagh & Nelder 1989, section 4.5.2).

The variance of a unit's total over ``k`` equally weighted months is then
``phi * f_k(rho) * E(total)`` with the AR(1) factor
``f_k(rho) = 1 + 2 sum_{j=1}^{k-1} (1 - j/k) rho^j`` (e.g. Box, Jenkins & Reinsel 2008, the
variance of a sample mean of a stationary series), and ``dispersion = phi * f_k(rho)`` is the
variance inflation of the annual total relative to Poisson. A confidence interval for the annual
rate is the exact Poisson interval on effective counts ``total / dispersion`` over
``exposure / dispersion`` (:func:`rate_ci`).

Assumptions and weaknesses
--------------------------
* Month-to-month variation within a year stands in for sampling variation: it also contains real
  change (a council's delays falling through the year), which inflates ``phi`` and ``rho``; the
  month effect removes only change common to all councils (e.g. the winter peak, the national
  2017-18 reduction). Without the month effect the seasonal pattern inflates both.
* One ``phi`` and one ``rho`` per block, pooled over councils: variance is assumed proportional to
  the mean in every council (quasi-Poisson), not to its square (negative binomial). Councils whose
  delays come from a few long stays are understated, others overstated (see
  :func:`unit_dispersion`).
* AR(1) is the simplest correlation between months; a delay spanning a month end makes adjacent
  months correlated, longer-range dependence (a stable local cause) is only partly captured.
* Pearson sums are sensitive to a few extreme months (data errors); nothing is winsorised.
* The month effect's own ``M - 1`` parameters are subtracted from the degrees of freedom as if the
  errors were independent (a negligible approximation with about 150 councils).

References
----------
Wedderburn RWM (1974). Quasi-likelihood functions, generalized linear models, and the Gauss-Newton
method. Biometrika 61:439-447. doi:10.1093/biomet/61.3.439
McCullagh P, Nelder JA (1989). Generalized Linear Models, 2nd ed. Chapman & Hall, sections 4.5
and 9.2.
Kendall MG (1954). Note on bias in the estimation of autocorrelation. Biometrika 41:403-404.
doi:10.1093/biomet/41.3-4.403
Box GEP, Jenkins GM, Reinsel GC (2008). Time Series Analysis, 4th ed. Wiley, section 2.1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import optimize

from asc_evidence.stats.intervals import CI, Confidence, rate_ci

RHO_BOUNDS = (-0.9, 0.99)


def ar1_sum_factor(rho: ArrayLike, k: ArrayLike) -> np.ndarray | float:
    """Variance of a sum of ``k`` AR(1) terms relative to ``k`` independent ones.

    ``f_k(rho) = 1 + 2 sum_{j=1}^{k-1} (1 - j/k) rho^j``; ``f_1 = 1``, ``f_k(0) = 1``,
    ``f_2(0.5) = 1.5`` (``Var(x1 + x2) = 2 + 2 x 0.5 = 3 = 2 x 1.5``). Box, Jenkins & Reinsel (2008).
    """
    r, kk = np.broadcast_arrays(np.asarray(rho, dtype=float), np.asarray(k, dtype=float))
    if np.any(kk < 1) or np.any(kk != np.floor(kk)):
        msg = f"k must be a whole number of months >= 1; got {np.unique(kk[(kk < 1) | (kk != np.floor(kk))])}."
        raise ValueError(msg)
    jmax = int(kk.max(initial=1))
    j = np.arange(1, jmax, dtype=float).reshape((-1,) + (1,) * r.ndim)
    terms = np.where(j < kk, (1 - j / kk) * r**j, 0.0)
    out = 1 + 2 * terms.sum(axis=0)
    return float(out) if out.ndim == 0 else out


def _check_columns(df: pd.DataFrame, cols: list[str]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        msg = f"columns {missing} not found; the frame has {list(df.columns)}."
        raise ValueError(msg)


def fit_means(
    counts: np.ndarray,
    exposure: np.ndarray,
    unit: np.ndarray,
    month: np.ndarray,
    month_effect: bool = True,
    tol: float = 1e-10,
    max_iter: int = 500,
) -> np.ndarray:
    """Poisson maximum-likelihood means ``a_unit * b_month * exposure`` over the observed cells.

    Iterative proportional fitting (each step matches the unit totals, then the month totals; for
    a log-linear model this converges to the MLE, McCullagh & Nelder 1989 section 6.4). Without a
    month effect ``mu = exposure * unit total / unit exposure`` in one step. ``unit`` and ``month``
    are integer codes (0..n-1).
    """
    y, e = counts.astype(float), exposure.astype(float)
    n_unit, n_month = int(unit.max(initial=-1)) + 1, int(month.max(initial=-1)) + 1
    y_unit = np.bincount(unit, y, n_unit)
    b = np.ones(n_month)
    a = np.zeros(n_unit)
    for _ in range(max_iter if month_effect else 1):
        denom = np.bincount(unit, e * b[month], n_unit)
        a = np.divide(y_unit, denom, out=np.zeros(n_unit), where=denom > 0)
        if not month_effect:
            break
        y_month = np.bincount(month, y, n_month)
        fit_month = np.bincount(month, e * a[unit], n_month)
        b_new = np.divide(y_month, fit_month, out=np.ones(n_month), where=fit_month > 0)
        b_new /= b_new.mean()
        done = np.max(np.abs(b_new - b)) < tol
        b = b_new
        if done:
            denom = np.bincount(unit, e * b[month], n_unit)
            a = np.divide(y_unit, denom, out=np.zeros(n_unit), where=denom > 0)
            break
    return a[unit] * b[month] * e


def _moments(mu: np.ndarray, obs: np.ndarray, rho: float) -> tuple[float, float]:
    """Expected (sum e^2, sum adjacent e e) / phi over units; ``mu`` (units x K) zero where absent."""
    k = mu.shape[1]
    lag = np.abs(np.subtract.outer(np.arange(k), np.arange(k)))
    r = rho**lag
    tot = mu.sum(axis=1, keepdims=True)
    s = np.sqrt(np.divide(mu, tot, out=np.zeros_like(mu), where=tot > 0))
    # C = D_obs - s s' restricted to observed months (D_obs the diagonal of observed months)
    c = np.einsum("ij,uj->uij", np.eye(k), obs.astype(float)) - np.einsum("ui,uj->uij", s, s)
    v = c @ r @ c  # covariance of residuals / phi, per unit
    e0 = np.trace(v, axis1=1, axis2=2).sum()
    adj = obs[:, :-1] & obs[:, 1:]
    e1 = (np.diagonal(v, offset=1, axis1=1, axis2=2) * adj).sum()
    return float(e0), float(e1)


def _block_arrays(
    g: pd.DataFrame, count: str, unit: str, time: str, mu_col: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Index]:
    t0 = int(g[time].min())
    k = int(g[time].max()) - t0 + 1
    units = pd.Index(sorted(g[unit].unique()))
    ui = units.get_indexer(g[unit])
    ti = g[time].to_numpy(dtype=int) - t0
    mu = np.zeros((len(units), k))
    y = np.zeros((len(units), k))
    obs = np.zeros((len(units), k), dtype=bool)
    mu[ui, ti] = g[mu_col].to_numpy(dtype=float)
    y[ui, ti] = g[count].to_numpy(dtype=float)
    obs[ui, ti] = True
    return y, mu, obs, units


def monthly_dispersion(
    df: pd.DataFrame,
    count: str = "value",
    exposure: str = "days_in_month",
    unit: str = "council_code",
    block: str = "fy",
    time: str = "month_index",
    month_effect: bool = True,
    rho: float | None = None,
) -> pd.DataFrame:
    """Pooled quasi-Poisson dispersion and lag-1 autocorrelation of monthly counts, per block.

    Parameters
    ----------
    df
        One row per unit and month with a count (NaN rows are ignored), an exposure (e.g. days in
        the month; any constant factor such as population cancels within a unit-block), a unit, a
        block (e.g. financial year) and an integer ``time`` (consecutive months differ by 1).
    month_effect
        Fit a common month factor in each block (removes the seasonal pattern and national change
        within the year); otherwise the mean is the unit's rate x exposure.
    rho
        Fix the autocorrelation (``0`` gives the classical Pearson ``X^2 / (N - p)``); ``None``
        estimates it.

    Returns
    -------
    DataFrame, one row per block: ``block`` (named as the input column), ``units`` (units with a
    positive total), ``unit_months``, ``months`` (K, distinct months in the block), ``pearson_x2``,
    ``phi`` (monthly dispersion), ``rho``, ``ar1_factor`` (``f_K(rho)``) and ``dispersion``
    (``phi * f_K``: variance of a K-month total / Poisson variance).

    Notes
    -----
    See the module docstring for the model, the estimator and its weaknesses.
    """
    _check_columns(df, [count, exposure, unit, block, time])
    d = df.dropna(subset=[count, exposure]).copy()
    if (d[count] < 0).any() or (d[exposure] <= 0).any():
        msg = "counts must be >= 0 and exposures > 0."
        raise ValueError(msg)
    if d.duplicated([unit, block, time]).any():
        msg = f"more than one row per {unit}, {block} and {time}."
        raise ValueError(msg)
    rows = []
    for key, g in d.groupby(block, sort=True):
        g = g.copy()
        u_codes = pd.factorize(g[unit])[0]
        m_codes = pd.factorize(g[time])[0]
        g["_mu"] = fit_means(
            g[count].to_numpy(float),
            g[exposure].to_numpy(float),
            u_codes,
            m_codes,
            month_effect=month_effect,
        )
        totals = g.groupby(unit)["_mu"].transform("sum")
        g = g[totals > 0]
        y, mu, obs, units = _block_arrays(g, count, unit, time, "_mu")
        with np.errstate(divide="ignore", invalid="ignore"):
            e = np.where(obs & (mu > 0), (y - mu) / np.sqrt(mu), 0.0)
        x2 = float((e**2).sum())
        s1 = float((e[:, :-1] * e[:, 1:] * (obs[:, :-1] & obs[:, 1:])).sum())
        n_months = int(g[time].nunique())
        extra_df = (n_months - 1) if month_effect else 0
        if rho is None:
            target = s1 / x2 if x2 > 0 else 0.0

            def gap(r: float, target: float = target, mu: np.ndarray = mu, obs=obs) -> float:
                e0, e1 = _moments(mu, obs, r)
                return e1 / e0 - target

            lo, hi = RHO_BOUNDS
            if gap(lo) >= 0:
                r_hat = lo
            elif gap(hi) <= 0:
                r_hat = hi
            else:
                r_hat = float(optimize.brentq(gap, lo, hi, xtol=1e-8))
        else:
            r_hat = float(rho)
        e0, _ = _moments(mu, obs, r_hat)
        dof = e0 - extra_df
        phi = x2 / dof if dof > 0 else np.nan
        f = ar1_sum_factor(r_hat, n_months)
        rows.append(
            {
                block: key,
                "units": len(units),
                "unit_months": int(obs.sum()),
                "months": n_months,
                "pearson_x2": x2,
                "phi": phi,
                "rho": r_hat,
                "ar1_factor": f,
                "dispersion": phi * f,
            }
        )
    return pd.DataFrame(rows)


def unit_dispersion(
    df: pd.DataFrame,
    pooled: pd.DataFrame,
    count: str = "value",
    exposure: str = "days_in_month",
    unit: str = "council_code",
    block: str = "fy",
    time: str = "month_index",
    month_effect: bool = True,
) -> pd.DataFrame:
    """Diagnostic: each unit's own Pearson dispersion given the block's pooled ``rho``.

    ``phi_u = sum_m e_um^2 / E(sum_m e_um^2 / phi)`` (about 10 degrees of freedom each, so noisy);
    ``dispersion_u = phi_u * f_K(rho)``. Use it to see whether variance grows faster than the mean
    (quasi-Poisson assumes it does not), not as an estimate for one council.
    ``pooled`` is the output of :func:`monthly_dispersion` on the same data.
    """
    _check_columns(pooled, [block, "rho", "months"])
    d = df.dropna(subset=[count, exposure]).copy()
    out = []
    for key, g in d.groupby(block, sort=True):
        rho = float(pooled.set_index(block).loc[key, "rho"])
        k = int(pooled.set_index(block).loc[key, "months"])
        g = g.copy()
        g["_mu"] = fit_means(
            g[count].to_numpy(float),
            g[exposure].to_numpy(float),
            pd.factorize(g[unit])[0],
            pd.factorize(g[time])[0],
            month_effect=month_effect,
        )
        g = g[g.groupby(unit)["_mu"].transform("sum") > 0]
        y, mu, obs, units = _block_arrays(g, count, unit, time, "_mu")
        e = np.where(obs & (mu > 0), (y - mu) / np.sqrt(np.where(mu > 0, mu, 1)), 0.0)
        for i, u in enumerate(units):
            e0, _ = _moments(mu[i : i + 1], obs[i : i + 1], rho)
            phi_u = float((e[i] ** 2).sum() / e0) if e0 > 0 else np.nan
            out.append(
                {
                    block: key,
                    unit: u,
                    "months": int(obs[i].sum()),
                    "mean_count": float(mu[i].sum() / max(obs[i].sum(), 1)),
                    "phi": phi_u,
                    "dispersion": phi_u * ar1_sum_factor(rho, k),
                }
            )
    return pd.DataFrame(out)


def split_half_check(
    df: pd.DataFrame,
    pooled: pd.DataFrame,
    count: str = "value",
    exposure: str = "days_in_month",
    unit: str = "council_code",
    block: str = "fy",
    time: str = "month_index",
    month_effect: bool = True,
) -> pd.DataFrame:
    """Observed vs model-predicted variance of the difference between a unit's two half-years.

    For units reporting every month of a block, ``U = T1 - w1 T`` with ``T1`` the first half's
    total, ``T`` the block total and ``w1`` the fitted share of the first half; ``U`` does not
    depend on the unit's level. Under the model
    ``Var(U) = phi sum_ij c_i c_j sqrt(mu_i mu_j) rho^|i-j|`` (``c = 1 - w1`` in the first half,
    ``-w1`` in the second). Returns per block ``units``, ``ratio`` = mean of ``U^2 / Var(U)``
    (about 1 when the model's variance of half-year totals is right; its sampling SD is about
    ``sqrt(2 / units)``), ``ratio_rho0`` (same with ``rho = 0``) and ``ratio_poisson``
    (``phi = 1, rho = 0``). This checks the AR(1) extrapolation from months to six-month sums.
    """
    _check_columns(pooled, [block, "phi", "rho"])
    d = df.dropna(subset=[count, exposure]).copy()
    rows = []
    for key, g in d.groupby(block, sort=True):
        p = pooled.set_index(block).loc[key]
        k = int(g[time].nunique())
        g = g[g.groupby(unit)[time].transform("count") == k].copy()
        if g.empty:
            continue
        g["_mu"] = fit_means(
            g[count].to_numpy(float),
            g[exposure].to_numpy(float),
            pd.factorize(g[unit])[0],
            pd.factorize(g[time])[0],
            month_effect=month_effect,
        )
        y, mu, _, _ = _block_arrays(g, count, unit, time, "_mu")
        keep = mu.sum(axis=1) > 0
        y, mu = y[keep], mu[keep]
        first = np.arange(mu.shape[1]) < mu.shape[1] // 2
        w1 = mu[:, first].sum(axis=1) / mu.sum(axis=1)
        u = y[:, first].sum(axis=1) - w1 * y.sum(axis=1)
        c = np.where(first[None, :], 1 - w1[:, None], -w1[:, None]) * np.sqrt(mu)
        lag = np.abs(np.subtract.outer(np.arange(mu.shape[1]), np.arange(mu.shape[1])))

        def var(phi: float, rho: float, c: np.ndarray = c, lag: np.ndarray = lag) -> np.ndarray:
            return phi * np.einsum("ui,ij,uj->u", c, rho**lag, c)

        rows.append(
            {
                block: key,
                "units": len(u),
                "ratio": float(np.mean(u**2 / var(p["phi"], p["rho"]))),
                "ratio_rho0": float(np.mean(u**2 / var(p["phi"], 0.0))),
                "ratio_poisson": float(np.mean(u**2 / var(1.0, 0.0))),
            }
        )
    return pd.DataFrame(rows)


def overdispersed_rate_ci(
    x: ArrayLike,
    denominator: ArrayLike,
    dispersion: ArrayLike,
    multiplier: float = 1e5,
    confidence: Confidence = 0.95,
) -> CI | dict[float, CI]:
    """Exact Poisson interval for ``x / denominator * multiplier`` on effective counts.

    The count's variance is ``dispersion`` times Poisson, so ``x / dispersion`` events over
    ``denominator / dispersion`` exposure have the same rate and a Poisson variance (the
    "effective sample size" device of quasi-likelihood; Wedderburn 1974). Limits are Garwood's
    exact limits (:func:`rate_ci`, which accepts non-integer counts). ``dispersion < 1`` is used
    as given (underdispersion narrows the interval); NaN dispersion gives NaN limits.

    Weakness: the dispersion is itself estimated (from about 1,700 council-months per year), and
    that uncertainty is ignored.
    """
    d = np.asarray(dispersion, dtype=float)
    if np.any(d <= 0):
        msg = f"dispersion must be > 0; got {d[d <= 0][:5]}."
        raise ValueError(msg)
    xs = x / d if isinstance(x, pd.Series) else np.asarray(x, dtype=float) / d
    ns = (
        denominator / d
        if isinstance(denominator, pd.Series)
        else np.asarray(denominator, dtype=float) / d
    )
    return rate_ci(xs, ns, multiplier=multiplier, confidence=confidence, method="exact")
