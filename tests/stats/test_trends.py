"""Trend tests: exact log-linear data, Agresti's Cochran-Armitage example, hand-worked slopes,
Fingertips recent trends worked by hand, the absolute-gap judgement and crossings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from asc_evidence.fetch import fetch
from asc_evidence.stats.intervals import rate_ci
from asc_evidence.stats.trends import (
    CHI2_998,
    cochran_armitage,
    gap_trend,
    period_to_year,
    recent_trend,
    recent_trend_table,
    segments,
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
    assert crossing.note == "the council crossed the comparator: above it in 2020, below from 2022"
    assert crossing.crossings == ("2022",)
    assert crossing.sides == ("above", "below")
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


def test_gap_judged_on_its_size_not_its_signed_mean() -> None:
    # gaps 7, 5, 3, 1, -1, -3: the council came down through England and is moving away below.
    # The old rule (signed slope -2 against a positive mean gap 2) called this "narrowing".
    # Absolute gap 7, 5, 3, 1, 1, 3 on t = 0..5: Sxx = 17.5, Sxy = -17 -> slope -0.9714,
    # residual SS 10.80 on 4 df -> se = sqrt(2.70 / 17.5) = 0.393, t(4) = 2.776 -> CI includes 0
    years = [f"{y}-{(y + 1) % 100:02d}" for y in range(2016, 2022)]
    england = pd.Series([50.0] * 6, index=years)
    council = england + pd.Series([7.0, 5.0, 3.0, 1.0, -1.0, -3.0], index=years)
    g = gap_trend(council, england)
    assert g.slope == pytest.approx(-17 / 17.5)
    assert g.verdict == "no clear change"
    assert g.crossings == ("2020-21",)
    assert "above it in 2016-17, below from 2020-21" in g.note
    assert g.mean_gap == pytest.approx(20 / 6)
    assert g.method.startswith("least-squares slope of the absolute gap")
    # back and forth: each crossing is named with its first period on the other side
    c = gap_trend(england + pd.Series([2.0, -1.0, 0.0, 3.0, 4.0, 5.0], index=years), england)
    assert c.crossings == ("2017-18", "2019-20")  # a period exactly on England is on no side


def _props(r: list[float], n: list[float], years: list[object] | None = None) -> object:
    years = years or list(range(2016, 2016 + len(r)))
    return recent_trend(years, numerator=r, denominator=n, kind="proportion", polarity="lower")


def test_recent_trend_proportion_chi2_by_hand() -> None:
    # r = 100, 110, 120, 130, 150 of n = 1000 each, t = 1..5:
    # N = 5000, R = 610, Sum(r t) = 1950, Sum(n t) = 15000, Sum(n t^2) = 55000
    # chi2 = 5000 (5000 * 1950 - 610 * 15000)^2 / (610 * 4390 * (5000 * 55000 - 15000^2))
    #      = 5000 * 600000^2 / (2677900 * 50000000) = 13.4434 > 9.5495
    r, n = [100.0, 110.0, 120.0, 130.0, 150.0], [1000.0] * 5
    res = _props(r, n)
    assert res.chi2 == pytest.approx(5000 * 600_000**2 / (610 * 4390 * 50_000_000))
    assert res.chi2 == pytest.approx(13.4434, abs=1e-4)
    assert res.chi2 == pytest.approx(cochran_armitage(r, n).chi2)  # the same test, other form
    assert CHI2_998 == pytest.approx(9.5495, abs=1e-4)
    assert res.marker == "Increasing and getting worse"
    assert res.direction == "increasing"
    assert res.significant
    assert res.periods == (2016, 2017, 2018, 2019, 2020)
    logit = np.log(np.array(r) / (np.array(n) - r))
    assert res.slope == pytest.approx(np.polyfit(np.arange(1, 6), logit, 1)[0])
    assert len(res.leave_one_out) == 5
    assert min(res.leave_one_out) > 0
    hi = recent_trend(range(5), numerator=r, denominator=n, polarity="higher")
    assert hi.marker == "Increasing and getting better"
    assert recent_trend(range(5), numerator=r, denominator=n, polarity=None).marker == "Increasing"
    down = recent_trend(range(5), numerator=r[::-1], denominator=n, polarity="higher")
    assert down.marker == "Decreasing and getting worse"


def test_leave_one_out_sign_rule() -> None:
    # r = 104, 103, 102, 101, 160 of 1000: R = 570, Sum(r t) = 1820,
    # chi2 = 5000 (5000 * 1820 - 570 * 15000)^2 / (570 * 4430 * 50000000) = 11.98 > 9.5495,
    # but without the last point the proportions fall: the slope changes sign -> not significant
    res = _props([104.0, 103.0, 102.0, 101.0, 160.0], [1000.0] * 5)
    assert res.chi2 == pytest.approx(5000 * 550_000**2 / (570 * 4430 * 50_000_000))
    assert res.chi2 > CHI2_998
    assert res.leave_one_out[-1] < 0 < res.slope
    assert res.marker == "No significant change"
    assert not res.significant
    assert res.direction is None
    assert "changes sign" in res.reason
    # chi2 below the threshold: r = 100, 102, 104, 106, 108 -> 5000 * 100000^2 / (520 * 4480 * 5e7)
    small = _props([100.0, 102.0, 104.0, 106.0, 108.0], [1000.0] * 5)
    assert small.chi2 == pytest.approx(5000 * 100_000**2 / (520 * 4480 * 50_000_000))  # 0.429
    assert small.marker == "No significant change"


def test_recent_trend_wls_by_hand() -> None:
    # values 10, 12, 11, 14, 15 with 95% CIs +- 1.96 (SE = 3.92 / 3.92 = 1, weights 1):
    # slope = Sum((t - 3) y) / Sum((t - 3)^2) = 12 / 10 = 1.2; SE(b) = sqrt(5 / (5 * 55 - 15^2))
    # = sqrt(0.1); chi2 = 1.44 / 0.1 = 14.4. Leaving out t = 5: slope 5.5 / 5 = 1.1
    v = np.array([10.0, 12.0, 11.0, 14.0, 15.0])
    years = ["2016-17", "2017-18", "2018-19", "2019-20", "2020-21"]
    shuffled = [2, 0, 4, 1, 3]  # financial years are sorted before use
    res = recent_trend(
        [years[i] for i in shuffled],
        value=v[shuffled],
        lower95=v[shuffled] - 1.96,
        upper95=v[shuffled] + 1.96,
        kind="value",
        polarity="higher",
    )
    assert res.periods == tuple(years)
    assert res.slope == pytest.approx(1.2)
    assert res.chi2 == pytest.approx(14.4)
    assert res.leave_one_out[-1] == pytest.approx(1.1)
    assert res.marker == "Increasing and getting better"
    assert res.slope_scale == "value units per period"


def test_recent_trend_wls_weights_match_statsmodels() -> None:
    import statsmodels.api as sm

    v = np.array([20.0, 22.0, 21.0, 25.0, 24.0])
    se = np.array([1.0, 2.0, 1.0, 0.5, 1.0])
    res = recent_trend(range(5), value=v, lower95=v - 1.96 * se, upper95=v + 1.96 * se, kind="rate")
    fit = sm.WLS(v, sm.add_constant(np.arange(1.0, 6.0)), weights=1 / se**2).fit()
    known_se = fit.bse[1] / np.sqrt(fit.scale)  # SEs taken as known, not from residuals
    assert res.slope == pytest.approx(fit.params[1])
    assert res.chi2 == pytest.approx((fit.params[1] / known_se) ** 2)


def test_rate_from_counts_uses_exact_poisson_ci() -> None:
    num = np.array([50.0, 60.0, 75.0, 90.0, 110.0])
    den = np.array([1e5, 1.01e5, 1.02e5, 1.03e5, 1.04e5])
    derived = recent_trend(range(5), numerator=num, denominator=den, kind="rate", multiplier=1e5)
    lo, hi = rate_ci(num, den, multiplier=1e5, confidence=0.95, method="exact")
    given = recent_trend(
        range(5), value=num / den * 1e5, lower95=lo, upper95=hi, kind="rate", multiplier=1e5
    )
    assert derived.chi2 == pytest.approx(given.chi2)
    assert derived.slope == pytest.approx(given.slope)
    assert "exact Poisson" in derived.method


def test_broken_run_cannot_be_calculated() -> None:
    n = [1000.0] * 7
    r = [100.0, 110.0, 120.0, np.nan, 140.0, 150.0, 160.0]
    res = _props(r, n)  # 2016..2022, 2019 missing
    assert res.marker == "Cannot be calculated"
    assert res.periods == (2020, 2021, 2022)
    assert res.reason == (
        "only 3 consecutive valid point(s) (2020 to 2022): 2019 has no valid value; 5 are needed"
    )
    # a missing year breaks the run too
    gap = _props(
        [100.0, 110.0, 120.0, 130.0, 140.0, 150.0],
        [1000.0] * 6,
        [2015, 2016, 2018, 2019, 2020, 2021],
    )
    assert gap.marker == "Cannot be calculated"
    assert "between 2016 and 2018" in gap.reason
    # the latest period missing: nothing to start from
    latest = _props([100.0, 110.0, 120.0, 130.0, 140.0, np.nan], [1000.0] * 6)
    assert latest.reason.startswith("the most recent period: 2021 has no valid value")
    # an older gap does not matter when the 5 most recent points are valid, and only they
    # are used: the result equals the 5-point series
    long = _props([np.nan, 5.0, 100.0, 110.0, 120.0, 130.0, 150.0], n)
    assert long.periods == (2018, 2019, 2020, 2021, 2022)
    assert long.chi2 == pytest.approx(_props([100.0, 110.0, 120.0, 130.0, 150.0], n[:5]).chi2)
    assert _props([1.0] * 4, [10.0] * 4).reason.startswith("only 4 period(s)")


def test_recent_trend_errors() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        recent_trend(range(5), value=[1] * 5, kind="ratio")
    with pytest.raises(ValueError, match="needs numerator and denominator"):
        recent_trend(range(5), value=[1] * 5, kind="proportion")
    with pytest.raises(ValueError, match="needs lower95 and upper95"):
        recent_trend(range(5), value=[1] * 5, kind="value")
    with pytest.raises(ValueError, match="numerator has 4 values but there are 5"):
        recent_trend(range(5), numerator=[1] * 4, denominator=[2] * 5)


def test_recent_trend_table_matches_single_calls() -> None:
    rows = []
    for code, r in (("A", [100, 110, 120, 130, 150]), ("B", [104, 103, 102, 101, 160])):
        for t, x in enumerate(r):
            rows.append(
                {"council_code": code, "period": f"{2016 + t}-{17 + t}", "num": x, "den": 1000}
            )
    rows.append({"council_code": "C", "period": "2020-21", "num": 5, "den": 10})
    table = recent_trend_table(
        pd.DataFrame(rows), numerator="num", denominator="den", kind="proportion"
    )
    assert table["council_code"].tolist() == ["A", "B", "C"]
    assert table["marker"].tolist() == [
        "Increasing and getting worse",
        "No significant change",
        "Cannot be calculated",
    ]
    assert table.loc[0, "chi2"] == pytest.approx(13.4434, abs=1e-4)
    assert table.loc[0, "first_period"] == "2016-17"
    assert table.loc[0, "last_period"] == "2020-21"
    assert np.isnan(table.loc[2, "chi2"])
    assert list(table.columns)[:3] == ["council_code", "marker", "direction"]
    with pytest.raises(ValueError, match=r"Columns \['count'\]"):
        recent_trend_table(pd.DataFrame(rows), numerator="count", denominator="den")


def test_segments() -> None:
    assert segments(["2021-22", "2022-23", "2020-21", "2023-24"], ["2022-23"]) == [
        ["2020-21", "2021-22"],
        ["2022-23", "2023-24"],
    ]
    # a break that is not one of the periods still splits; no breaks: one segment
    assert segments([2019, 2020, 2022, 2023], [2021]) == [[2019, 2020], [2022, 2023]]
    assert segments([2020, 2019]) == [[2019, 2020]]
    # months
    assert segments(["2019-02", "2019-01", "2019-03"], ["2019-03"]) == [
        ["2019-01", "2019-02"],
        ["2019-03"],
    ]


def test_weighted_trend_is_not_calculated_on_a_year_of_few_events() -> None:
    """Counts 10, 13, 24, 6, 0 over the same 600 people (Isles of Scilly's admissions 65+ are of
    this size). Weighted by each year's exact Poisson interval, the year of 0 weighs
    ((18.390 - 4.795) / 3.689)^2 = 13.6 times the year of 10 (limits: chi2(0.975; 2)/2 = 3.689;
    chi2(0.025; 20)/2 = 4.795 and chi2(0.975; 22)/2 = 18.390), and the slope is "significant"
    (chi2 24.9); a Poisson score test for linear trend on the same counts (Breslow and Day 1987,
    vol. II, eq. 3.12: E = 53 / 5 = 10.6 each year) gives [Sum t (O - E)]^2 / (Sum t^2 E -
    (Sum t E)^2 / Sum E) = (132 - 159)^2 / (583 - 159^2 / 53) = 27^2 / 106 = 6.88, below 9.55.
    With its counts, the trend is not calculated."""
    num, den = np.array([10.0, 13.0, 24.0, 6.0, 0.0]), np.full(5, 600.0)
    years = ["2019-20", "2020-21", "2021-22", "2022-23", "2023-24"]
    lo, hi = rate_ci(num, den, multiplier=1e5, confidence=0.95, method="exact")
    assert hi[4] * 600 / 1e5 == pytest.approx(stats.chi2.ppf(0.975, 2) / 2)  # 3.689
    assert ((hi[0] - lo[0]) / hi[4]) ** 2 == pytest.approx(13.58, abs=0.01)
    t, expected = np.arange(1.0, 6.0), np.full(5, 53 / 5)
    score = (t * (num - expected)).sum() ** 2 / (
        (t * t * expected).sum() - (t * expected).sum() ** 2 / expected.sum()
    )
    assert score == pytest.approx(27**2 / 106)
    assert score < CHI2_998
    values = num / den * 1e5
    weighted = recent_trend(years, value=values, lower95=lo, upper95=hi, kind="rate")
    assert weighted.significant
    assert weighted.chi2 == pytest.approx(24.9, abs=0.05)
    for counts in ({"counts": num}, {"numerator": num, "denominator": den, "multiplier": 1e5}):
        res = recent_trend(years, value=values, lower95=lo, upper95=hi, kind="rate", **counts)
        assert res.marker == "Cannot be calculated"
        assert res.reason.startswith("fewer than 10 events in 2022-23, 2023-24")
    # 10 or more events every year: the same trend as without counts
    more = num + 10
    lo2, hi2 = rate_ci(more, den, multiplier=1e5, confidence=0.95, method="exact")
    kw = {"value": more / den * 1e5, "lower95": lo2, "upper95": hi2, "kind": "rate"}
    assert recent_trend(years, counts=more, **kw) == recent_trend(years, **kw)
    # proportions keep the chi-square test on counts, whatever the counts
    assert recent_trend(years, numerator=num, denominator=den).marker != "Cannot be calculated"
