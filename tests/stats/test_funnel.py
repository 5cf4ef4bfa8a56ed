"""Funnel limits, z-scores, overdispersion (phi, tau2) and flags."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from asc_evidence.stats import funnel as funnel_mod
from asc_evidence.stats.funnel import (
    funnel,
    funnel_limits,
    funnel_table,
    overdispersion,
    plot_funnel,
    winsorise,
)

matplotlib.use("Agg")


def test_normal_proportion_limits_by_hand():
    # target 0.5, n = 100: sd = 0.05; 95%: 0.5 -/+ 1.959964 * 0.05 = 0.402002, 0.597998
    lim = funnel_limits(100, 0.5, "proportion", confidence=0.95, method="normal")
    assert lim[0.95][0] == pytest.approx(0.402002, abs=1e-6)
    assert lim[0.95][1] == pytest.approx(0.597998, abs=1e-6)


def test_exact_binomial_limits_between_integer_quantiles():
    # Spiegelhalter (2005, App. A.1) interpolates between the integer quantiles r_p - 1 and r_p;
    # our continuous inverse must lie in the same interval.
    n = np.array([10, 37, 120, 1000, 4567])
    lim = funnel_limits(n, 0.3, "proportion", confidence=(0.95, 0.998))
    for level, (lower, upper) in lim.items():
        for q, limit in (((1 - level) / 2, lower), ((1 + level) / 2, upper)):
            r = stats.binom.ppf(q, n, 0.3)
            assert np.all(limit * n <= r + 1e-9)
            assert np.all(limit * n >= np.maximum(r - 1, 0) - 1e-9)


def test_exact_poisson_limit_for_mean_ten():
    # Poisson(10): P(X <= 16) = 0.9730, P(X <= 17) = 0.9857, so the 97.5% count limit is in (16, 17];
    # P(X <= 4) = 0.0293, P(X <= 3) = 0.0103, so the 2.5% limit is in (3, 4].
    lim = funnel_limits(10_000, 100.0, "rate", confidence=0.95, multiplier=1e5)  # E = 10
    lower, upper = lim[0.95]
    assert 3 < lower * 10_000 / 1e5 <= 4
    assert 16 < upper * 10_000 / 1e5 <= 17


def test_limits_narrow_as_denominator_grows():
    # from an expected count of 10 upwards (below about 1 the exact limits are not monotone,
    # because the count quantile jumps from 0 to 1)
    for kind, target, n in (
        ("proportion", 0.2, np.geomspace(50, 1e6, 50)),
        ("rate", 300.0, np.geomspace(3400, 1e9, 50)),
        ("ratio", 1.0, np.geomspace(10, 1e5, 50)),
    ):
        for method in ("exact", "normal"):
            lim = funnel_limits(
                n, target, kind, method=method, multiplier=1e5 if kind == "rate" else 1
            )
            for lower, upper in lim.values():
                assert np.all(np.diff(upper - lower) < 0)
                assert np.all(lower <= target)
                assert np.all(upper >= target)
            assert np.all(lim[0.998][1] > lim[0.95][1])


def test_z_scores_by_hand():
    # proportion: (0.6 - 0.5) / sqrt(0.25/100) = 2; ratio on sqrt scale: 2 (sqrt 16 - sqrt 9) = 2;
    # rate (standard scale): (30 - 20) / sqrt(20) = 2.2361 with target 20 per 1 unit
    r = funnel(np.array([60, 40]), np.array([100, 100]), "proportion", target=0.5)
    np.testing.assert_allclose(r.table["z"], [2.0, -2.0])
    r = funnel(np.array([16, 9]), np.array([9, 9]), "ratio")
    np.testing.assert_allclose(r.table["z"], [2.0, 0.0])
    r = funnel(np.array([30, 20]), np.array([1, 1]), "rate", target=20, multiplier=1)
    np.testing.assert_allclose(r.table["z"], [10 / np.sqrt(20), 0.0])


def test_winsorise_and_phi_by_hand():
    z = np.array([-3.0, -1.0, 0.0, 1.0, 3.0])
    # numpy linear quantiles at 0.1 and 0.9: -3 + 0.4 * 2 = -2.2 and 2.2
    np.testing.assert_allclose(winsorise(z, 0.1), [-2.2, -1, 0, 1, 2.2])
    phi, p, tau2 = overdispersion(z, np.ones(5), winsor=0.1)
    # phi = (4.84 + 1 + 0 + 1 + 4.84) / 5 = 2.336; n phi = 11.68 vs chi2(4):
    # p = exp(-5.84) (1 + 5.84) = 0.0029088 * 6.84 = 0.019896; tau2 = (11.68 - 4) / (5 - 5/5) = 1.92
    assert phi == pytest.approx(2.336)
    assert p == pytest.approx(0.019896, abs=2e-6)
    assert tau2 == pytest.approx(1.92)


def test_tau2_zero_when_n_phi_not_above_n_minus_1():
    z = np.array([0.5, -0.5, 0.3, -0.3, 0.1, 1.0])
    phi, p, tau2 = overdispersion(z, np.array([1, 2, 3, 4, 5, 6.0]), winsor=0)
    assert len(z) * phi <= len(z) - 1
    assert tau2 == 0.0
    assert p > 0.5


def _simulated(overdispersed: bool, units: int = 2000, seed: int = 7):
    rng = np.random.default_rng(seed)
    n = rng.integers(100, 5000, units)
    p = rng.beta(60, 140, units) if overdispersed else np.full(units, 0.3)
    return rng.binomial(n, p), n


def test_no_overdispersion_phi_near_one():
    x, n = _simulated(False)
    r = funnel(x, n, "proportion", winsor=0)
    assert abs(r.phi - 1) < 3 * np.sqrt(2 / len(n))  # Monte-Carlo sd of phi ~ sqrt(2/n)
    assert not r.overdispersed
    # with 10% winsorising each tail, E[phi] for normal z = 2[(0.4 - q phi(q)) + 0.1 q^2] = 0.6787
    # with q = 1.28155 (worked by hand), so phi is biased low by design
    r10 = funnel(x, n, "proportion", winsor=0.1)
    assert r10.phi == pytest.approx(0.6787, abs=0.05)
    assert r10.tau2 == 0.0
    # about 5% flagged outside the 95% limits
    share = np.mean(r.table["flag95"] != "within")
    assert share == pytest.approx(0.05, abs=0.02)


def test_overdispersion_detected_and_limits_widened():
    x, n = _simulated(True)
    r = funnel(x, n, "proportion", adjustment="additive")
    assert r.phi > 5
    assert r.p_value < 1e-6
    assert r.tau2 > 0
    t = r.table
    assert np.all(t["upper99_8_adj"] >= t["upper99_8"] - 1e-12)
    assert (t["flag99_8_adj"] != "within").sum() < (t["flag99_8"] != "within").sum()
    # true between-unit variance of Beta(60, 140): 0.3 * 0.7 / 201 = 0.001045; without
    # winsorising the DerSimonian-Laird estimate recovers it; winsorising shrinks it
    r0 = funnel(x, n, "proportion", winsor=0)
    assert r0.tau2 == pytest.approx(0.001045, rel=0.15)
    assert r.tau2 < r0.tau2
    m = funnel(x, n, "proportion", adjustment="multiplicative")
    half_adj = m.table["upper95_adj"] - m.target
    half = 1.959964 * np.sqrt(m.target * (1 - m.target) / n)
    np.testing.assert_allclose(half_adj, np.sqrt(m.phi) * half, rtol=1e-5)


def test_flags_and_default_target():
    x = np.array([10, 50, 90, 50])
    n = np.array([100, 100, 100, 100])
    r = funnel(x, n, "proportion", adjustment="none")
    assert r.target == pytest.approx(0.5)  # pooled 200 / 400
    assert list(r.table["flag99_8"]) == ["below", "within", "above", "within"]
    r = funnel(np.array([3.0, np.nan]), np.array([10.0, 10.0]), "proportion", target=0.3)
    assert pd.isna(r.table["flag95"].iloc[1])
    assert r.n_units == 1


def test_grid_interpolation_is_accurate(monkeypatch):
    monkeypatch.setattr(funnel_mod, "_EXACT_MAX_UNIQUE", 100)
    rng = np.random.default_rng(3)
    n = rng.uniform(5, 50_000, 3000)
    approx = funnel_limits(n, 0.2, "proportion", confidence=0.998)[0.998]
    monkeypatch.setattr(funnel_mod, "_EXACT_MAX_UNIQUE", 10**9)
    direct = funnel_limits(n, 0.2, "proportion", confidence=0.998)[0.998]
    np.testing.assert_allclose(approx[1], direct[1], rtol=1e-5)
    np.testing.assert_allclose(approx[0], direct[0], rtol=1e-4, atol=1e-6)


def test_funnel_table_and_curve_and_plot():
    df = pd.DataFrame(
        {
            "council_name": ["Ayshire", "Beeshire", "Ceeshire", "Deeshire"],
            "O": [30, 12, 55, 9],
            "E": [20.0, 14.0, 50.0, 10.0],
        }
    )
    r = funnel_table(df, "O", "E", "ratio", multiplier=100)
    assert r.target == 100
    assert r.table["value"].iloc[0] == pytest.approx(150.0)
    assert r.table["method"].iloc[0].startswith("Poisson funnel, exact limits")
    assert list(df.columns) == ["council_name", "O", "E"]
    curve = r.curve(n_points=20)
    assert len(curve) == 20
    assert {"lower95", "upper99_8", "lower99_8_adj"} <= set(curve.columns)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    plot_funnel(ax, r, highlight=["Beeshire"], labels="council_name", title="Test funnel")
    assert ax.get_title() == "Test funnel"
    assert [t.get_text() for t in ax.texts] == ["Beeshire"]
    plt.close(fig)


def test_errors():
    with pytest.raises(ValueError, match="valid methods are: 'proportion', 'rate', 'ratio'"):
        funnel([1], [10], "mean")
    with pytest.raises(ValueError, match="valid methods are: 'additive'"):
        funnel([1], [10], "proportion", adjustment="both")
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        funnel([1], [10], "proportion", confidence=99.8)
    with pytest.raises(ValueError, match="target must be"):
        funnel([1], [10], "proportion", target=1.5)
