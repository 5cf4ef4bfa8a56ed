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
    # untransformed scale, target 0.5, n = 100: sd = 0.05;
    # 95%: 0.5 -/+ 1.959964 * 0.05 = 0.402002, 0.597998
    lim = funnel_limits(100, 0.5, "proportion", confidence=0.95, method="normal", scale="standard")
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
    # untransformed scale (scale="standard"): proportion (0.6 - 0.5) / sqrt(0.25/100) = 2;
    # rate (30 - 20) / sqrt(20) = 2.2361 with target 20 per 1 unit;
    # ratio on the default sqrt scale: 2 (sqrt 16 - sqrt 9) = 2
    r = funnel(np.array([60, 40]), np.array([100, 100]), "proportion", target=0.5, scale="standard")
    np.testing.assert_allclose(r.table["z"], [2.0, -2.0])
    r = funnel(np.array([16, 9]), np.array([9, 9]), "ratio")
    np.testing.assert_allclose(r.table["z"], [2.0, 0.0])
    r = funnel(
        np.array([30, 20]), np.array([1, 1]), "rate", target=20, multiplier=1, scale="standard"
    )
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
    # true between-unit variance of Beta(60, 140): 0.3 * 0.7 / 201 = 0.001045 on the raw
    # scale; without winsorising the DerSimonian-Laird estimate recovers it; winsorising
    # shrinks it. On the arcsine scale the variance of asin(sqrt(p)) is about
    # 0.001045 / (4 * 0.3 * 0.7) = 0.001244 (delta method; 0.001249 by numerical integration)
    r0 = funnel(x, n, "proportion", winsor=0, scale="standard")
    assert r0.tau2 == pytest.approx(0.001045, rel=0.15)
    a0 = funnel(x, n, "proportion", winsor=0)
    assert a0.tau2 == pytest.approx(0.001249, rel=0.15)
    assert r.tau2 < a0.tau2
    # multiplicative, normal limits, untransformed scale: half-width sqrt(phi) z sd
    m = funnel(x, n, "proportion", adjustment="multiplicative", method="normal", scale="standard")
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
    assert str(r.table["lower99_8_adj_is_zero"].dtype) == "boolean"
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


# ---------------------------------------------------------------------------------------------
# variance-stabilising scales (issue 10): z-scores, phi, tau2 and limits on the scale


def test_arcsine_normal_limits_by_hand():
    # arcsine scale: y0 = asin(sqrt(0.5)) = pi/4 = 0.785398, s = 1 / (2 sqrt(100)) = 0.05;
    # 95%: 0.785398 -/+ 1.959964 * 0.05 = 0.687400, 0.883397; sin^2 -> 0.402628, 0.597372
    lim = funnel_limits(100, 0.5, "proportion", confidence=0.95, method="normal")
    assert lim[0.95][0] == pytest.approx(0.402628, abs=1e-6)
    assert lim[0.95][1] == pytest.approx(0.597372, abs=1e-6)


def test_z_scores_on_each_scale_by_hand():
    # arcsine (default for proportions): 2 sqrt(100) (asin(sqrt(0.6)) - pi/4)
    #   = 20 (0.886077 - 0.785398) = 2.013579
    r = funnel(np.array([60, 40]), np.array([100, 100]), "proportion", target=0.5)
    np.testing.assert_allclose(r.table["z"], [2.013579, -2.013579], atol=1e-6)
    # logit: logit(0.6) = log(1.5) = 0.405465, s = 1 / sqrt(100 * 0.25) = 0.2 -> 2.027326
    r = funnel(np.array([60]), np.array([100]), "proportion", target=0.5, scale="logit")
    np.testing.assert_allclose(r.table["z"], [2.027326], atol=1e-6)
    # square root (default for rates): Spiegelhalter (2005b) z = 2 (sqrt(O) - sqrt(E)):
    # O = 30, E = 20: 2 (5.477226 - 4.472136) = 2.010180; O = 20: 0
    r = funnel(np.array([30, 20]), np.array([1, 1]), "rate", target=20, multiplier=1)
    np.testing.assert_allclose(r.table["z"], [2.010180, 0.0], atol=1e-6)
    # the same for any O, E: z = 2 (sqrt O - sqrt E), E = n * target
    rng = np.random.default_rng(1)
    n = rng.uniform(1e3, 1e6, 50)
    o = rng.poisson(n * 3e-3).astype(float)
    r = funnel(o, n, "rate", target=300.0)
    np.testing.assert_allclose(r.table["z"], 2 * (np.sqrt(o) - np.sqrt(n * 3e-3)), rtol=1e-12)
    # log (SHMI style, FunnelPlotR): log(O/E) sqrt(E): log(1.5) sqrt(20) = 0.405465 * 4.472136
    # = 1.813295;
    # a zero count is taken as 0.5: log(0.5 / 4) sqrt(4) = -4.158883
    r = funnel(np.array([30, 0]), np.array([20, 4]), "ratio", scale="log")
    np.testing.assert_allclose(r.table["z"], [1.813295, -4.158883], atol=1e-6)


def test_arcsine_phi_tau2_and_limits_worked_by_hand():
    # Five made-up units, target 0.5 (so y0 = pi/4 = 0.7853982), arcsine scale, 10% winsorised.
    # x/n = 40/100, 50/100, 60/100, 180/400, 240/400; s = 0.05, 0.05, 0.05, 0.025, 0.025
    # y = asin(sqrt(p)) = 0.6847192, 0.7853982, 0.8860771, 0.7353145, 0.8860771
    # z = (y - y0) / s = -2.013579, 0, 2.013579, -2.003348, 4.027158
    # sorted: -2.013579, -2.003348, 0, 2.013579, 4.027158; numpy linear quantiles:
    #   q10 = -2.013579 + 0.4 (0.010231) = -2.009487; q90 = 2.013579 + 0.6 (2.013579) = 3.221727
    # winsorised: -2.009487, 0, 2.013579, -2.003348, 3.221727
    # phi = (4.038038 + 0 + 4.054502 + 4.013404 + 10.379580) / 5 = 4.497093
    # w = 1/s^2 = 400, 400, 400, 1600, 1600: sum w = 4400, sum w^2 = 5,600,000,
    #   denominator 4400 - 5,600,000 / 4400 = 3127.273; tau2 = (5 * 4.497093 - 4) / 3127.273
    #   = 0.0059111
    # 99.8% normal adjusted limits at n = 100: pi/4 -/+ 3.090232 sqrt(0.0025 + 0.0059111)
    #   = 0.785398 -/+ 0.283416; sin^2 -> 0.231523, 0.768477 (unadjusted 0.347936, 0.652064)
    x = np.array([40, 50, 60, 180, 240])
    n = np.array([100, 100, 100, 400, 400])
    r = funnel(x, n, "proportion", target=0.5, method="normal")
    assert r.scale == "arcsine"
    np.testing.assert_allclose(
        r.table["z"], [-2.013579, 0, 2.013579, -2.003348, 4.027158], atol=1e-6
    )
    assert r.phi == pytest.approx(4.497093, abs=1e-6)
    assert r.tau2 == pytest.approx(0.0059111, abs=1e-7)
    t = r.table
    assert t["lower99_8_adj"].iloc[0] == pytest.approx(0.231523, abs=1e-6)
    assert t["upper99_8_adj"].iloc[0] == pytest.approx(0.768477, abs=1e-6)
    assert t["lower99_8"].iloc[0] == pytest.approx(0.347936, abs=1e-6)
    assert t["upper99_8"].iloc[0] == pytest.approx(0.652064, abs=1e-6)
    # exact limits are widened on the arcsine scale by adding the between-unit term in
    # quadrature: (g(L_adj) - y0)^2 = (g(L) - y0)^2 + z^2 tau2, from the exact unadjusted limits
    e = funnel(x, n, "proportion", target=0.5)
    for col, z in (("lower99_8", 3.090232), ("upper95", 1.959964)):
        g, g_adj = np.arcsin(np.sqrt(e.table[col])), np.arcsin(np.sqrt(e.table[col + "_adj"]))
        expected = (g - np.pi / 4) ** 2 + z**2 * e.tau2
        np.testing.assert_allclose((g_adj - np.pi / 4) ** 2, expected, rtol=1e-6)


def test_normal_limits_match_funnelplotr_formulas():
    # FunnelPlotR build_limits_lookup (nhs-r-community/FunnelPlotR, R/build_limits_lookup.R):
    # CQC (square root): (1 +/- z sqrt((1 / (2 sqrt(E)))^2 + tau2))^2;
    # SHMI (log): exp(+/- z sqrt(1 / E + tau2)); target 1, multiplier 1.
    e = np.array([10.0, 50.0, 250.0, 2000.0])
    tau2, z = 0.02, 3.090232
    cqc = funnel_limits(e, 1.0, "ratio", 0.998, "normal", tau2=tau2, adjustment="additive")
    half = z * np.sqrt((1 / (2 * np.sqrt(e))) ** 2 + tau2)
    np.testing.assert_allclose(cqc[0.998][1], (1 + half) ** 2, rtol=1e-6)
    np.testing.assert_allclose(cqc[0.998][0], np.maximum(1 - half, 0) ** 2, rtol=1e-6)
    shmi = funnel_limits(e, 1.0, "ratio", 0.998, "normal", 1, 1, tau2, "additive", "log")
    np.testing.assert_allclose(shmi[0.998][1], np.exp(z * np.sqrt(1 / e + tau2)), rtol=1e-6)
    np.testing.assert_allclose(shmi[0.998][0], np.exp(-z * np.sqrt(1 / e + tau2)), rtol=1e-6)


_CASES = [
    ("proportion", 0.3, 1.0, np.geomspace(5, 1e6, 80)),
    ("rate", 14.0, 1e5, np.geomspace(500, 1e7, 80)),  # admissions 18-64-like, small councils
    ("ratio", 1.0, 1.0, np.geomspace(0.5, 1e4, 80)),
]


@pytest.mark.parametrize(("kind", "target", "mult", "grid"), _CASES)
def test_adjusted_limits_contain_unadjusted_and_equal_them_without_overdispersion(
    kind, target, mult, grid
):
    for scale in funnel_mod.KIND_SCALES[kind]:
        for method in ("exact", "normal"):
            base = {"multiplier": mult, "method": method, "scale": scale}
            unadj = funnel_limits(grid, target, kind, **base)
            for adjustment, phi, tau2 in (("additive", 3.0, 0.01), ("multiplicative", 3.0, 0)):
                adj = funnel_limits(
                    grid, target, kind, phi=phi, tau2=tau2, adjustment=adjustment, **base
                )
                for level in unadj:
                    assert np.all(adj[level][0] <= unadj[level][0])
                    assert np.all(adj[level][1] >= unadj[level][1])
                # and strictly wider on the side away from the scale's boundary
                assert np.all(adj[0.998][1] > unadj[0.998][1])
            for adjustment, phi, tau2 in (("additive", 3.0, 0.0), ("multiplicative", 0.7, 0.5)):
                same = funnel_limits(
                    grid, target, kind, phi=phi, tau2=tau2, adjustment=adjustment, **base
                )
                for level in unadj:
                    np.testing.assert_array_equal(same[level][0], unadj[level][0])
                    np.testing.assert_array_equal(same[level][1], unadj[level][1])


def test_small_population_adjusted_limit_not_inside_exact_one():
    # Issue 10: on the raw scale the normal "adjusted" 99.8% upper limit at small populations lay
    # inside the exact unadjusted one. Target 14 per 100,000 at 6,000 people: E = 0.84; raw-scale
    # tau2 = 1e-9: 14e-5 + 3.090232 sqrt(14e-5 / 6000 + 1e-9) = 62.2 per 100,000, while the
    # exact 99.9% Poisson(0.84) count quantile is 5 (continuous limit in (4, 5], so 66.7-83.3).
    old = funnel_limits(6000, 14.0, "rate", 0.998, multiplier=1e5, tau2=1e-9,
                        adjustment="additive", scale="standard", method="normal")  # fmt: skip
    exact = funnel_limits(6000, 14.0, "rate", 0.998, multiplier=1e5)
    assert old[0.998][1] < exact[0.998][1]  # the old defect, reproduced
    new = funnel_limits(6000, 14.0, "rate", 0.998, multiplier=1e5, tau2=1e-5, adjustment="additive")
    assert new[0.998][1] > exact[0.998][1]


def test_dispersion_equals_poisson_funnel_of_effective_counts():
    # quasi-Poisson with dispersion d: same limits, z, phi, tau2 as the Poisson funnel of
    # (x / d, n / d); non-integer effective counts on purpose (d = 54.2)
    rng = np.random.default_rng(5)
    n = rng.uniform(2e4, 1e6, 120)
    x = rng.poisson(n * 3e-5 * rng.gamma(8, 1 / 8, 120) * 54.2).astype(float)
    d = 54.2
    for kind, xs, ns, target in (("rate", x, n, None), ("proportion", x, n * 10, None)):
        a = funnel(xs, ns, kind, target=target, dispersion=d)
        b = funnel(xs / d, ns / d, kind, target=target)
        assert a.dispersion == d
        np.testing.assert_allclose(a.table["value"], b.table["value"], rtol=1e-12)
        np.testing.assert_allclose(a.table["z"], b.table["z"], rtol=1e-10)
        assert a.phi == pytest.approx(b.phi, rel=1e-10)
        assert a.tau2 == pytest.approx(b.tau2, rel=1e-10)
        for col in ("lower95", "upper99_8", "lower99_8_adj", "upper99_8_adj"):
            np.testing.assert_allclose(a.table[col], b.table[col], rtol=1e-10)
        # limits() and curve() work over the real denominators
        grid = np.array([5e4, 3e5])
        la, lb = a.limits(grid, adjusted=True), b.limits(grid / d, adjusted=True)
        np.testing.assert_allclose(la[0.998][1], lb[0.998][1], rtol=1e-10)
        curve = a.curve(n_points=5, denominator_range=(5e4, 3e5))
        np.testing.assert_allclose(curve["upper99_8_adj"].iloc[[0, -1]], la[0.998][1], rtol=1e-10)


def test_exact_limits_with_non_integer_effective_counts():
    # Poisson mean m = 7.3 (non-integer): the continuous 99.9% count limit lies in (r - 1, r]
    # with r the integer quantile: P(X <= 15 | 7.3) = 0.9964, P(X <= 16) = 0.9985, P(X <= 17)
    # = 0.9994, so r = 17. Effective denominator 7.3 / 0.002 = 3650 = 197,830 / 54.2.
    lim = funnel_limits(197_830.0, 200.0, "rate", 0.998, multiplier=1e5, dispersion=54.2)
    r = stats.poisson.ppf(0.999, 7.3)
    assert r == 17
    upper_count = lim[0.998][1] / 1e5 * 3650
    assert r - 1 < upper_count <= r
    # lower 0.1% quantile: P(X <= 1 | 7.3) = 0.0056 > 0.001 >= P(X <= 0) = 0.00068 -> in (0, 1]
    lower_count = lim[0.998][0] / 1e5 * 3650
    assert 0 <= lower_count <= 1


def test_lower_limit_informative_when_heavily_overdispersed():
    # true rates vary with CV 0.63 (gamma shape 2.5) around 300 per 100,000; populations
    # 50k-1m. The winsorised raw-scale tau2 gives a between-unit sd of about 0.41 x target, more
    # than 1 / 3.09 = 0.32, so on the raw scale the 99.8% adjusted lower limit is 0 for every
    # unit (issue 10); on the square-root scale it is clipped only when
    # 3.09 sqrt(tau2) > sqrt(target), i.e. a CV above about 2 / 3.09 = 0.65: here all > 0.
    rng = np.random.default_rng(11)
    n = rng.uniform(5e4, 1e6, 150)
    x = rng.poisson(n * 3e-3 * rng.gamma(2.5, 1 / 2.5, 150))
    old = funnel(x, n, "rate", target=300.0, scale="standard", method="normal")
    assert old.table["lower99_8_adj_is_zero"].all()
    new = funnel(x, n, "rate", target=300.0)
    assert new.scale == "sqrt"
    assert (new.table["lower99_8_adj"] > 0).all()
    assert not new.table["lower99_8_adj_is_zero"].any()
    lo = new.limits(np.array([5e4, 1e6]), adjusted=True)[0.998][0]
    assert np.all(lo > 0)


def test_lower_adj_is_zero_flag():
    # Poisson 0.1% count quantile: 0 for E = 0.25 (P(X = 0) = 0.78); for E = 10, P(X <= 1) =
    # 0.0005 < 0.001 so the limit is > 0; a missing denominator gives NA, not False
    x, n = np.array([0, 9, 50, 1]), np.array([100, 4e3, 2e4, np.nan])
    r = funnel(x, n, "rate", target=250.0, adjustment="none")
    flags = r.table["lower99_8_adj_is_zero"]
    assert str(flags.dtype) == "boolean"
    assert list(flags.iloc[:3]) == [True, False, False]  # E = 0.25 -> 0; E = 10 and 50 -> > 0
    assert pd.isna(flags.iloc[3])
    assert (r.table["lower99_8_adj"].iloc[:3] == 0).tolist() == [True, False, False]


def test_model_description():
    x = np.array([40, 50, 60, 180, 240])
    n = np.array([100, 100, 100, 400, 400])
    r = funnel(x, n, "proportion", target=0.5)
    assert r.model_description("England") == (
        f"binomial funnel around 0.5 (England); arcsine square-root scale; additive random-effects "
        f"overdispersion (tau2 = {r.tau2:.3g}, phi = 4.5, 10% winsorised each tail); "
        "95% and 99.8% exact limits"
    )
    q = funnel(x * 3, n * 3, "rate", target=3134.0, adjustment="none", dispersion=54.2)
    text = q.model_description("England", unit_name="council")
    assert text.startswith("Poisson funnel around 3,134 (England); square-root scale; no overdisp")
    assert text.endswith("95% and 99.8% exact limits; within-council dispersion 54.2")


def test_dispersion_and_scale_errors():
    with pytest.raises(ValueError, match="dispersion must be one positive finite number"):
        funnel([1], [10], "rate", dispersion=0)
    with pytest.raises(ValueError, match="dispersion must be one positive finite number"):
        funnel_limits([10], 5.0, "rate", dispersion=np.array([2.0, 3.0]))
    with pytest.raises(ValueError, match="does not suit a proportion"):
        funnel([1], [10], "proportion", scale="sqrt")


# ------------------------------------------------------------------ dispersion varying with size
def _delay_like(seed: int = 5, n_units: int = 120):
    """Rates around 3e-5 per person-day with within-unit dispersion rising with size."""
    rng = np.random.default_rng(seed)
    n = rng.uniform(2e4, 1e6, n_units) * 365
    x = rng.poisson(n * 3e-5 * rng.gamma(8, 1 / 8, n_units)).astype(float)
    return x, n


def _rising(e):
    """D(E) = 30 (E / 3000)^0.25, floored at 1 (the form of quasi_poisson.dispersion_at)."""
    return np.maximum(30 * (np.asarray(e, dtype=float) / 3000) ** 0.25, 1.0)


def test_constant_dispersion_function_equals_the_scalar():
    x, n = _delay_like()
    a = funnel(x, n, "rate", dispersion=54.2)
    b = funnel(x, n, "rate", dispersion=lambda e: np.full(np.shape(e), 54.2))
    assert callable(b.dispersion)
    assert b.typical_dispersion == a.typical_dispersion == 54.2
    for col in a.table:
        if a.table[col].dtype.kind == "f":
            np.testing.assert_allclose(b.table[col], a.table[col], rtol=1e-12)
        else:
            assert list(b.table[col]) == list(a.table[col])
    np.testing.assert_allclose(b.table["dispersion_used"], 54.2)
    assert (b.phi, b.tau2) == (a.phi, a.tau2)
    grid = np.array([1e7, 1e8])
    np.testing.assert_allclose(
        b.limits(grid, adjusted=True)[0.998][0], a.limits(grid, True)[0.998][0]
    )
    pd.testing.assert_frame_equal(b.curve(n_points=7), a.curve(n_points=7))
    assert b.model_description("England", "council") == a.model_description("England", "council")
    assert b.summary()["dispersion"] == 54.2


def test_dispersion_function_is_the_poisson_funnel_of_effective_counts_unit_by_unit():
    """With D_i = D(theta0 n_i) each unit's z-score and limits are those of the Poisson funnel of
    (x_i / D_i, n_i / D_i) around the same target (quasi-likelihood effective counts)."""
    x, n = _delay_like()
    target = x.sum() / n.sum() * 1e5
    a = funnel(x, n, "rate", target=target, dispersion=_rising)
    d = _rising(target / 1e5 * n)
    assert d.min() < 0.7 * d.max()  # the dispersion really varies
    b = funnel(x / d, n / d, "rate", target=target)
    np.testing.assert_allclose(a.table["dispersion_used"], d, rtol=1e-12)
    np.testing.assert_allclose(a.table["value"], b.table["value"], rtol=1e-12)
    np.testing.assert_allclose(a.table["z"], b.table["z"], rtol=1e-10)
    assert a.phi == pytest.approx(b.phi, rel=1e-10)
    assert a.tau2 == pytest.approx(b.tau2, rel=1e-10)
    for col in ("lower95", "upper95", "lower99_8", "upper99_8", "lower99_8_adj", "upper99_8_adj"):
        np.testing.assert_allclose(a.table[col], b.table[col], rtol=1e-10)
    # limits() and curve() at any denominator use D at that denominator's expected count
    grid = np.array([1e7, 1e8, 3e8])
    dg = _rising(target / 1e5 * grid)
    la = a.limits(grid, adjusted=True)[0.998]
    lb = funnel_limits(grid / dg, target, "rate", 0.998, multiplier=1e5, tau2=b.tau2,
                       adjustment="additive")[0.998]  # fmt: skip
    np.testing.assert_allclose(la, lb, rtol=1e-10)
    curve = a.curve(n_points=3, denominator_range=(1e7, 3e8))
    lc = a.limits(curve["denominator"].to_numpy())[0.95]
    np.testing.assert_allclose(curve["upper95"], lc[1], rtol=1e-12)
    # a council 10x the size of another has 10^0.25 = 1.78 x its dispersion: wider effective
    # limits than the scalar funnel at the median D would give for the large one
    scalar = funnel(x, n, "rate", target=target, dispersion=a.typical_dispersion)
    big = np.argmax(n)
    assert a.table["upper95"].iloc[big] > scalar.table["upper95"].iloc[big]


def test_dispersion_function_in_words_and_table():
    x, n = _delay_like()
    target = x.sum() / n.sum() * 1e5
    r = funnel(x, n, "rate", target=target, adjustment="none", dispersion=_rising)
    median_d = float(_rising(target / 1e5 * np.median(n)))
    assert r.typical_dispersion == pytest.approx(median_d)
    text = r.model_description("England", unit_name="council")
    assert text.endswith(
        f"exact limits; within-council dispersion rising with size (D = {median_d:.3g} at the "
        "median council)"
    )
    df = pd.DataFrame({"x": x, "n": n, "dispersion": 99.0})
    t = funnel_table(df, "x", "n", "rate", target=target, dispersion=_rising)
    assert (
        t.table["method"]
        .iloc[0]
        .endswith(
            f"within-unit dispersion rising with size (D = {median_d:.3g} at the median unit)"
        )
    )
    assert (t.table["dispersion"] == 99.0).all()  # the input's own column is left alone
    np.testing.assert_allclose(t.table["dispersion_used"], _rising(target / 1e5 * n))


def test_dispersion_function_errors():
    with pytest.raises(ValueError, match="dispersion function must return positive"):
        funnel([1.0, 2.0], [10.0, 20.0], "rate", dispersion=lambda e: np.zeros(np.shape(e)))
    with pytest.raises(ValueError, match="dispersion function must return positive"):
        funnel_limits([10.0], 5.0, "rate", dispersion=lambda e: -np.ones(np.shape(e)))
    # a missing denominator is not passed to the function and gets NaN
    r = funnel([1.0, 2.0, 3.0], [10.0, np.nan, 30.0], "rate", dispersion=_rising)
    assert np.isnan(r.table["dispersion_used"].iloc[1])
