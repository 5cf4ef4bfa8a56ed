"""Intervals for proportions, counts and rates against published values and properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from asc_evidence.stats.intervals import (
    CI,
    poisson_ci,
    proportion_ci,
    proportion_table,
    rate_ci,
    rate_table,
)

# Newcombe RG (1998) Stat Med 17:857-872, Table II, methods 3 (Wilson score) and 5 (exact,
# Clopper-Pearson), 95% limits quoted to 4 decimals.
NEWCOMBE = [
    # x, n, wilson lower, wilson upper, exact lower, exact upper
    (81, 263, 0.2553, 0.3662, 0.2527, 0.3676),
    (15, 148, 0.0624, 0.1605, 0.0578, 0.1617),
    (0, 20, 0.0000, 0.1611, 0.0000, 0.1684),
    (1, 29, 0.0061, 0.1718, 0.0009, 0.1776),
]


@pytest.mark.parametrize(("x", "n", "wl", "wu", "el", "eu"), NEWCOMBE)
def test_proportion_matches_newcombe_table(x, n, wl, wu, el, eu):
    wilson = proportion_ci(x, n, 0.95, method="wilson")
    exact = proportion_ci(x, n, 0.95, method="exact")
    assert wilson.lower == pytest.approx(wl, abs=5e-5)
    assert wilson.upper == pytest.approx(wu, abs=5e-5)
    assert exact.lower == pytest.approx(el, abs=5e-5)
    assert exact.upper == pytest.approx(eu, abs=5e-5)


def test_proportion_vectorised_matches_newcombe():
    x = np.array([r[0] for r in NEWCOMBE])
    n = np.array([r[1] for r in NEWCOMBE])
    lower, upper = proportion_ci(x, n, method="exact")
    np.testing.assert_allclose(lower, [r[4] for r in NEWCOMBE], atol=5e-5)
    np.testing.assert_allclose(upper, [r[5] for r in NEWCOMBE], atol=5e-5)


@pytest.mark.parametrize("method", ["wilson", "exact"])
def test_zero_and_full_counts_are_exact(method):
    lower, upper = proportion_ci(np.array([0, 7]), np.array([7, 7]), method=method)
    assert lower[0] == 0.0
    assert upper[1] == 1.0
    # symmetric: x = n mirrors x = 0
    assert lower[1] == pytest.approx(1 - upper[0], abs=1e-12)


def test_exact_zero_count_closed_form():
    # Clopper-Pearson upper limit for x = 0 is 1 - (alpha/2)^(1/n): n = 20 -> 1 - 0.025^(1/20)
    assert proportion_ci(0, 20, method="exact").upper == pytest.approx(0.168433, abs=1e-6)


# Exact Poisson limits (Garwood 1936), as tabulated e.g. in Documenta Geigy / Breslow & Day
# (1987) Appendix II: 95% (lower, upper) and 99% (lower, upper).
POISSON_95 = {
    0: (0.0, 3.689),
    1: (0.0253, 5.572),
    2: (0.2422, 7.225),
    3: (0.6187, 8.767),
    5: (1.623, 11.668),
    10: (4.795, 18.390),
    20: (12.217, 30.888),
}


@pytest.mark.parametrize(("x", "limits"), POISSON_95.items())
def test_exact_poisson_table(x, limits):
    ci = poisson_ci(x, 0.95, method="exact")
    assert ci.lower == pytest.approx(limits[0], abs=6e-4)
    assert ci.upper == pytest.approx(limits[1], abs=6e-4)


def test_exact_poisson_99():
    assert poisson_ci(0, 0.99).upper == pytest.approx(5.298, abs=6e-4)
    ci = poisson_ci(1, 0.99)
    assert ci.lower == pytest.approx(0.00501, abs=6e-6)
    assert ci.upper == pytest.approx(7.430, abs=6e-4)


def test_byar_worked_values():
    # Byar, x = 10, z = 1.959964 (worked by hand):
    # lower = 10 (1 - 1/90 - 1.959964/(3 sqrt 10))^3 = 10 * 0.782291^3 = 4.7874
    # upper = 11 (1 - 1/99 + 1.959964/(3 sqrt 11))^3 = 11 * 1.186883^3 = 18.3915
    ci = poisson_ci(10, 0.95, method="byar")
    assert ci.lower == pytest.approx(4.7874, abs=2e-4)
    assert ci.upper == pytest.approx(18.3915, abs=2e-4)
    assert poisson_ci(0, method="byar").lower == 0.0


def test_byar_close_to_exact_for_large_counts():
    x = np.arange(10, 2000)
    for level, rtol in ((0.95, 0.01), (0.998, 0.02)):
        byar = poisson_ci(x, level, method="byar")
        exact = poisson_ci(x, level, method="exact")
        np.testing.assert_allclose(byar.lower, exact.lower, rtol=rtol)
        np.testing.assert_allclose(byar.upper, exact.upper, rtol=rtol)


def test_rate_scales_poisson_limits():
    # 10 events in 50,000 people: 20 per 100,000, limits 4.795*2, 18.390*2
    ci = rate_ci(10, 50_000, multiplier=1e5)
    assert ci.lower == pytest.approx(9.590, abs=2e-3)
    assert ci.upper == pytest.approx(36.780, abs=2e-3)
    assert np.isnan(rate_ci(3, 0).lower)


def test_shapes_follow_input():
    assert isinstance(proportion_ci(3, 10).lower, float)
    arr = proportion_ci(np.array([1, 2]), np.array([10, 10]))
    assert isinstance(arr.lower, np.ndarray)
    assert arr.lower.shape == (2,)
    s = pd.Series([1, 2], index=["E06000001", "E06000002"])
    ser = proportion_ci(s, 10)
    assert isinstance(ser.lower, pd.Series)
    assert list(ser.lower.index) == ["E06000001", "E06000002"]
    both = poisson_ci(s, confidence=(0.95, 0.998))
    assert set(both) == {0.95, 0.998}
    assert isinstance(both[0.95], CI)
    assert (both[0.998].upper > both[0.95].upper).all()


def test_nan_and_zero_denominator_give_nan():
    lower, upper = proportion_ci(np.array([np.nan, 0, 1]), np.array([5, 0, 4]))
    assert np.isnan(lower[:2]).all()
    assert np.isnan(upper[:2]).all()
    assert np.isfinite(lower[2])


def test_monotone_in_count_and_narrowing_with_denominator():
    n = 200
    x = np.arange(0, n + 1)
    for method in ("wilson", "exact"):
        lower, upper = proportion_ci(x, n, method=method)
        assert (np.diff(lower) > 0).all()
        assert (np.diff(upper) > 0).all()
    sizes = np.array([10, 100, 1000, 10_000])
    lower, upper = proportion_ci(0.3 * sizes, sizes, method="wilson")
    assert (np.diff(upper - lower) < 0).all()
    lower, upper = poisson_ci(np.arange(0, 100))
    assert (np.diff(lower) > 0).all()
    assert (np.diff(upper) > 0).all()


def test_coverage_by_simulation():
    rng = np.random.default_rng(20240601)
    reps = 20_000
    n, p = 40, 0.15
    x = rng.binomial(n, p, reps)
    exact = proportion_ci(x, n, method="exact")
    cover = np.mean((exact.lower <= p) & (p <= exact.upper))
    se = np.sqrt(0.95 * 0.05 / reps)
    assert cover >= 0.95 - 3 * se  # Clopper-Pearson: at least nominal
    wilson = proportion_ci(x, n, method="wilson")
    cover_w = np.mean((wilson.lower <= p) & (p <= wilson.upper))
    assert abs(cover_w - 0.95) < 0.03  # Wilson: close to nominal on average
    mu = 6.5
    counts = rng.poisson(mu, reps)
    pois = poisson_ci(counts, 0.95)
    assert np.mean((pois.lower <= mu) & (mu <= pois.upper)) >= 0.95 - 3 * se


def test_table_wrappers():
    df = pd.DataFrame({"code": ["a", "b"], "x": [81, 15], "n": [263, 148]})
    out = proportion_table(df, "x", "n", method="wilson", multiplier=100)
    assert out["value"].iloc[0] == pytest.approx(30.80, abs=0.005)
    assert out["lowercl"].iloc[0] == pytest.approx(25.53, abs=0.005)
    assert out["uppercl"].iloc[1] == pytest.approx(16.05, abs=0.005)
    assert (out["method"] == "Wilson").all()
    assert (out["confidence"] == "95%").all()
    assert list(df.columns) == ["code", "x", "n"]  # input untouched
    two = rate_table(df, "x", "n", confidence=(0.95, 0.998), multiplier=1000)
    assert {"lower95_0cl", "upper95_0cl", "lower99_8cl", "upper99_8cl"} <= set(two.columns)
    assert (two["confidence"] == "95%, 99.8%").all()
    assert (two["lower99_8cl"] < two["lower95_0cl"]).all()


def test_errors():
    with pytest.raises(ValueError, match=r"valid methods are: 'wilson', 'exact'"):
        proportion_ci(1, 10, method="agresti")
    with pytest.raises(ValueError, match=r"valid methods are: 'exact', 'byar'"):
        poisson_ci(1, method="normal")
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        proportion_ci(1, 10, confidence=95)
    with pytest.raises(ValueError, match="must not exceed"):
        proportion_ci(11, 10)
    with pytest.raises(ValueError, match="negative"):
        poisson_ci(-1)


def test_large_arrays_take_the_distinct_value_path_unchanged():
    # > 10,000 rows with repeats use the de-duplicated path; compare with the textbook formulas
    # evaluated directly (scipy beta and chi-square quantiles)
    rng = np.random.default_rng(11)
    n = rng.integers(1, 60, 30_000).astype(float)
    x = rng.binomial(n.astype(int), 0.4).astype(float)
    lower, upper = proportion_ci(x, n, method="exact")
    ref_lo = np.where(x > 0, stats.beta.ppf(0.025, x, n - x + 1), 0.0)
    ref_hi = np.where(x < n, stats.beta.ppf(0.975, x + 1, n - x), 1.0)
    np.testing.assert_allclose(lower, ref_lo, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(upper, ref_hi, rtol=1e-10, atol=1e-14)
    plo, phi = poisson_ci(x, 0.998)
    np.testing.assert_allclose(
        plo, np.where(x > 0, stats.chi2.ppf(0.001, 2 * x) / 2, 0.0), rtol=1e-10
    )
    np.testing.assert_allclose(phi, stats.chi2.ppf(0.999, 2 * x + 2) / 2, rtol=1e-10)
