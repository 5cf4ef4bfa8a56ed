"""Trend tests: exact log-linear data, Agresti's Cochran-Armitage example, hand-worked slopes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from asc_evidence.fetch import fetch
from asc_evidence.stats.trends import (
    cochran_armitage,
    gap_trend,
    period_to_year,
    trend_by_group,
    trend_test,
    value_trend,
)

YEARS = ["2015-16", "2016-17", "2017-18", "2018-19"]
# rate = 0.01 * 1.1^t exactly; denominators vary, so counts = rate * denominator
DEN = np.array([100_000.0, 200_000.0, 100_000.0, 100_000.0])
NUM = np.array([1000.0, 2200.0, 1210.0, 1331.0])


def test_poisson_trend_recovers_exact_ratio() -> None:
    r = trend_test(YEARS, NUM, DEN, kind="rate")
    assert r.annual_change == pytest.approx(0.10, abs=1e-8)
    assert r.dispersion == pytest.approx(0.0, abs=1e-8)  # perfect fit: no over-dispersion
    assert not r.method.startswith("quasi")  # phi < 1 never shrinks the interval
    # Wald interval by hand: Fisher information X' diag(mu) X with mu = the (exactly fitted) counts
    x = np.column_stack([np.ones(4), np.arange(4.0)])
    se = np.sqrt(np.linalg.inv(x.T @ (NUM[:, None] * x))[1, 1])
    z = stats.norm.ppf(0.975)
    assert r.lower == pytest.approx(1.1 * np.exp(-z * se) - 1, rel=1e-6)
    assert r.upper == pytest.approx(1.1 * np.exp(z * se) - 1, rel=1e-6)
    assert r.direction == "rising"
    assert r.sentence().startswith("Rising by 10.0% a year (95% CI")


def test_falling_rate_and_missing_year() -> None:
    # rate halves each year; a missing year is dropped and counted in the note
    r = trend_test([2019, 2020, 2021, 2022], [800, 400, np.nan, 100], [1e4] * 4)
    assert r.annual_change == pytest.approx(-0.5, abs=1e-8)
    assert r.direction == "falling"
    assert r.n_years == 3
    assert "1 year(s) without counts dropped" in r.note


def test_overdispersion_widens_the_interval() -> None:
    num = np.array([1000.0, 1500.0, 1000.0, 1600.0, 1100.0, 1700.0])
    den = np.full(6, 1e5)
    plain = trend_test(range(2017, 2023), num, den, overdispersion=False)
    quasi = trend_test(range(2017, 2023), num, den, overdispersion=True)
    assert quasi.annual_change == pytest.approx(plain.annual_change)
    assert quasi.method.startswith("quasi-Poisson")
    assert quasi.dispersion > 10  # swings of +-25% on ~1,300 events are far beyond Poisson
    assert (quasi.upper - quasi.lower) > 2 * (plain.upper - plain.lower)
    assert plain.direction == "rising"
    assert quasi.direction == "no clear trend"


def test_binomial_trend_recovers_exact_odds_ratio() -> None:
    # odds 1, 2, 4 (15/15, 20/10, 24/6): odds ratio 2 a year
    r = trend_test([2020, 2021, 2022], [15, 20, 24], [30, 30, 30], kind="proportion")
    assert r.annual_change == pytest.approx(1.0, abs=1e-6)
    assert r.effect == "odds ratio - 1"
    # Cochran-Armitage by hand: N=90, p=59/90, s_bar=1, T = -15 + 24 = 9,
    # V = (59/90)(31/90)(30 + 30) -> chi2 = 81 * 8100 / (59 * 31 * 60) = 5.97868
    assert r.chi2_trend == pytest.approx(81 * 8100 / (59 * 31 * 60))
    assert r.p_trend == pytest.approx(stats.chi2.sf(5.97868, 1), rel=1e-4)


def test_cochran_armitage_agresti_example() -> None:
    # Agresti, Categorical Data Analysis (3rd ed.), Section 3.4: infant malformation by maternal
    # alcohol consumption (0, <1, 1-2, 3-5, >=6 drinks/day). With scores (0, 0.5, 1.5, 4, 7)
    # Agresti reports M^2 = 6.57 (P = 0.01); with midrank scores M^2 = 0.35.
    # M^2 = (N - 1) r^2 and the Cochran-Armitage statistic is N r^2: equal to 2 decimals here.
    present = [48, 38, 5, 1, 1]
    totals = [17066 + 48, 14464 + 38, 788 + 5, 126 + 1, 37 + 1]
    ca = cochran_armitage(present, totals, scores=[0, 0.5, 1.5, 4, 7])
    assert round(ca.chi2, 2) == pytest.approx(6.57)
    assert round(ca.p_value, 2) == pytest.approx(0.01)
    assert ca.z > 0  # malformation rises with consumption
    n = np.array(totals, dtype=float)
    midranks = np.cumsum(n) - (n - 1) / 2
    assert round(cochran_armitage(present, totals, scores=midranks).chi2, 2) == pytest.approx(0.35)


def test_value_trend_ols_by_hand() -> None:
    # t = 0..3, v = 1, 3, 2, 4: slope = 4 / 5 = 0.8; SSE = 1.8; s^2 = 0.9; se = sqrt(0.9/5)
    r = value_trend([2020, 2021, 2022, 2023], [1.0, 3.0, 2.0, 4.0])
    se = np.sqrt(0.18)
    tq = stats.t.ppf(0.975, 2)  # 4.303
    assert r.annual_change == pytest.approx(0.8)
    assert r.lower == pytest.approx(0.8 - tq * se)
    assert r.upper == pytest.approx(0.8 + tq * se)
    assert r.p_value == pytest.approx(2 * stats.t.sf(0.8 / se, 2))
    assert r.direction == "no clear trend"
    assert r.method == "OLS slope on published values (no counts)"
    assert not r.relative


def test_gap_narrowing_by_hand() -> None:
    # gap = 10, 9, 5, 4: slope = -11 / 5 = -2.2, se = sqrt(0.9/5) as above -> CI excludes 0
    england = pd.Series([50.0] * 4, index=YEARS)
    council = pd.Series([60.0, 59.0, 55.0, 54.0], index=YEARS)
    g = gap_trend(council, england)
    tq = stats.t.ppf(0.975, 2)
    assert g.slope == pytest.approx(-2.2)
    assert g.upper == pytest.approx(-2.2 + tq * np.sqrt(0.18))
    assert g.first_gap == pytest.approx(10.3)
    assert g.last_gap == pytest.approx(3.7)
    assert g.verdict == "narrowing"
    # the same gap below England (negative and shrinking in size) is also narrowing
    assert gap_trend(2 * england - council, england).verdict == "narrowing"
    # reversed in time: widening
    assert (
        gap_trend(pd.Series(council.to_numpy()[::-1], index=YEARS), england).verdict == "widening"
    )


def test_gap_crossing_and_log_ratio() -> None:
    england = pd.Series([100.0, 200.0, 400.0], index=[2020, 2021, 2022])
    crossing = gap_trend(england + pd.Series([3.0, 0.5, -2.0], index=england.index), england)
    assert "crossed" in crossing.note
    # log ratios 0.3, 0.2, 0.1: slope -0.1 per year, the relative gap narrows
    council = england * np.exp([0.3, 0.2, 0.1])
    g = gap_trend(council, england, scale="log_ratio")
    assert g.slope == pytest.approx(-0.1)
    assert g.verdict == "narrowing"
    assert "+35.0%" in g.sentence()  # exp(0.3) - 1, the fitted relative gap at the start


def test_gap_uses_common_years_only() -> None:
    a = pd.Series([1.0, 2.0, np.nan, 4.0], index=[2019, 2020, 2021, 2022])
    b = pd.Series([0.0, 0.0, 0.0], index=[2020, 2021, 2022])
    with pytest.raises(ValueError, match="at least 3 years present in both series; got 2"):
        gap_trend(a, b)


def test_period_to_year() -> None:
    assert period_to_year("2019-20") == 2019
    assert period_to_year("2019/20") == 2019
    assert period_to_year(2021) == 2021
    with pytest.raises(ValueError, match="Cannot read '2019-12'"):
        period_to_year("2019-12")


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"kind must be one of \('rate', 'proportion'\)"):
        trend_test(YEARS, NUM, DEN, kind="ratio")
    with pytest.raises(ValueError, match="at least 3 years with counts; got 2"):
        trend_test([2020, 2021], [1, 2], [10, 10])
    with pytest.raises(ValueError, match="cannot exceed"):
        trend_test([2020, 2021, 2022], [1, 20, 3], [10, 10, 10], kind="proportion")
    with pytest.raises(ValueError, match="confidence must be between 0 and 1"):
        trend_test(YEARS, NUM, DEN, confidence=95)


def test_trend_by_group() -> None:
    df = pd.DataFrame(
        {
            "council_code": ["E06000001"] * 4 + ["E06000002"] * 2,
            "period": YEARS + YEARS[:2],
            "numerator": list(NUM) + [5.0, 6.0],
            "denominator": list(DEN) + [100.0, 100.0],
        }
    )
    out = trend_by_group(df).set_index("council_code")
    assert out.loc["E06000001", "annual_change"] == pytest.approx(0.10, abs=1e-8)
    assert out.loc["E06000002", "direction"] == "not tested"
    assert np.isnan(out.loc["E06000002", "annual_change"])


@pytest.mark.mirror
def test_england_admissions_trend_on_real_values(mirror: Path) -> None:
    # ascof/trafford_lginform_extract/PROVENANCE.md quotes England 2A(2) (per 100,000 aged 65+):
    # 2014/15..2020/21 = 658.5, 628.2, 610.7, 585.6, 577.6, 584, 498.2.
    # OLS by hand: t - 3 = -3..3, Sxx = 28, sum (t - 3) v = -602.4 -> slope -21.514 a year.
    df = pd.read_csv(fetch("ascof/trafford_lginform_extract/admissions_care_homes_65p.csv"))
    eng = df[(df["area_code"] == "E92000001") & (df["period"] <= "2020/21")].sort_values("period")
    assert eng["value"].tolist() == [658.5, 628.2, 610.7, 585.6, 577.6, 584.0, 498.2]
    r = value_trend(eng["period"], eng["value"])
    assert r.n_years == 7
    assert r.annual_change == pytest.approx(-602.4 / 28)
    assert r.direction == "falling"
