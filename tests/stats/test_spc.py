"""XmR chart: limits by hand, each plotthedots rule at its threshold, gaps, fixed baselines."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest

from asc_evidence.stats.spc import COLOURS, RULES, plot_spc, xmr

mpl.use("Agg")

TEN = [5.0, 7.0, 6.0, 8.0, 5.0, 6.0, 7.0, 9.0, 6.0, 8.0]
BASE = [12.0, 10.0, 12.0, 10.0, 12.0, 10.0]  # mean 11, every moving range 2 -> limits 11 +- 5.32


def test_limits_by_hand_ten_points() -> None:
    # mean = 67 / 10 = 6.7; moving ranges 2,1,2,3,1,1,2,3,2 -> mean 17 / 9
    r = xmr(TEN)
    mr_bar = 17 / 9
    assert r["centre"].iloc[0] == pytest.approx(6.7)
    assert r["upper"].iloc[0] == pytest.approx(6.7 + 2.66 * mr_bar)  # 11.7244
    assert r["lower"].iloc[0] == pytest.approx(6.7 - 2.66 * mr_bar)  # 1.6756
    assert r["upper_2sigma"].iloc[0] == pytest.approx(6.7 + 2 * 2.66 / 3 * mr_bar)
    assert np.isnan(r["moving_range"].iloc[0])
    assert r["moving_range"].iloc[3] == pytest.approx(2.0)
    assert not r["special_cause"].any()
    assert (r["variation"] == "common cause").all()


def test_baseline_and_outlier_by_hand() -> None:
    # baseline = first 9: mean 59/9, moving ranges sum 15 over 8 -> UCL = 59/9 + 2.66 * 1.875
    values = pd.Series([*TEN[:9], 20.0], index=pd.period_range("2019-04", periods=10, freq="M"))
    r = xmr(values, baseline=9, polarity="lower")
    assert r["upper"].iloc[-1] == pytest.approx(59 / 9 + 2.66 * 1.875)  # 11.543
    assert r["baseline"].sum() == 9
    assert r["outside_limits"].tolist() == [False] * 9 + [True]
    assert r["variation"].iloc[-1] == "special cause: deteriorating"  # high, and lower is better
    assert r.index[-1] == pd.Period("2020-01", freq="M")
    # without a baseline: mean 7.9, mean MR 29/9 -> UCL 16.471, 20 still outside
    full = xmr(values, polarity="higher")
    assert full["upper"].iloc[0] == pytest.approx(7.9 + 2.66 * 29 / 9)
    assert full["variation"].iloc[-1] == "special cause: improving"


def test_shift_fires_at_seventh_point() -> None:
    above = [11.5, 11.6, 11.4, 11.7, 11.5, 11.6, 11.4]  # not monotonic: no trend
    six = xmr(BASE + above[:6], baseline=6)
    assert not six["shift"].any()
    seven = xmr(BASE + above, baseline=6, polarity="higher")
    assert seven["shift"].tolist() == [False] * 6 + [True] * 7
    assert (seven["variation"].iloc[6:] == "special cause: improving").all()
    # a point exactly on the centre line breaks the run
    broken = xmr([*BASE, *above[:3], 11.0, *above[3:]], baseline=6)
    assert not broken["shift"].any()
    # the rule length is configurable
    assert xmr(BASE + above[:6], baseline=6, shift_run=6)["shift"].sum() == 6


def test_trend_needs_seven_points() -> None:
    # plotthedots: 7 points each higher than the one before (6 steps); BASE ends at 10.0, so
    # the tie with the first rising point keeps BASE out of the run
    rising = [10.0, 10.2, 10.4, 10.6, 10.8, 11.2, 11.4]
    six = xmr(BASE + rising[:6], baseline=6)
    assert not six["trend"].any()
    seven = xmr(BASE + rising, baseline=6, polarity="lower")
    assert seven["trend"].tolist() == [False] * 6 + [True] * 7
    # plotthedots colours a special-cause point by its side of the mean (centre 11): the five
    # below are 'low' (improving when lower is better), the two above 'high'
    assert seven["signal"].iloc[6:].tolist() == ["low"] * 5 + ["high"] * 2
    assert seven["variation"].iloc[6] == "special cause: improving"
    assert seven["variation"].iloc[-1] == "special cause: deteriorating"
    flat = xmr([*BASE, 10.0, 10.2, 10.2, 10.4, 10.6, 10.8, 11.2], baseline=6)  # a tie breaks it
    assert not flat["trend"].any()
    # the Making Data Count Excel tool's 6-point trend is available, and named
    six_rule = xmr(BASE + rising[:6], baseline=6, trend_run=6)
    assert six_rule["trend"].sum() == 6
    assert six_rule.attrs["rules"].startswith("7-point shift, 6-point trend")


def test_plotthedots_unit_test_examples() -> None:
    # NHSRplotthedots tests/testthat/test-ptd_calculate_point_type.R:
    # ptd_seven_point_trend(c(2, 1:7, 3)) fires at the 8th value, so points 2..8 are part of it
    r = xmr([2.0, 1, 2, 3, 4, 5, 6, 7, 3])
    assert r["trend"].tolist() == [False] + [True] * 7 + [False]
    # ptd_seven_point_one_side_mean(c(rep(1, 8), -1)): 8 points above the mean, then one below.
    # Values 5 x 8 and -40: mean 0; moving ranges 0 x 7 and 45 -> limits 0 +- 2.66 * 45 / 8
    r = xmr([5.0] * 8 + [-40.0])
    assert r["upper"].iloc[0] == pytest.approx(2.66 * 45 / 8)
    assert r["shift"].tolist() == [True] * 8 + [False]
    assert r["outside_limits"].tolist() == [False] * 8 + [True]


def test_two_of_three_beyond_two_sigma() -> None:
    # 2 sigma = 11 + 2/3 * 5.32 = 14.547, 3 sigma = 16.32. 15, 12, 15: all three above the
    # centre, two between 2 and 3 sigma -> the two 15s are flagged (plotthedots)
    on = xmr([*BASE, 15.0, 12.0, 15.0, 10.0], baseline=6)
    assert on["two_of_three"].tolist() == [False] * 6 + [True, False, True, False]
    assert on["signal"].iloc[6] == "high"
    off = xmr([*BASE, 15.0, 12.0, 15.0, 10.0], baseline=6, two_of_three=False)
    assert not off["special_cause"].any()
    # the middle point below the centre: not all three on one side -> no signal
    assert not xmr([*BASE, 15.0, 10.0, 15.0], baseline=6)["two_of_three"].any()
    # a point beyond 3 sigma counts as outside the limits, not towards two-of-three
    r = xmr([*BASE, 17.0, 15.0, 12.0], baseline=6)
    assert r["outside_limits"].tolist() == [False] * 6 + [True, False, False]
    assert not r["two_of_three"].any()


def test_gap_breaks_moving_range_and_limits() -> None:
    # 2019-03 is missing: moving ranges 2, (none across the gap), 2 -> mean 2, not 12/3 = 4.
    # Centre 16, limits 16 -+ 2.66 * 2 = 10.68, 21.32: 10 and 22 are outside (with the range
    # across the gap the limits would be 5.36, 26.64 and nothing would be)
    s = pd.Series([10.0, 12.0, 20.0, 22.0], index=["2019-01", "2019-02", "2019-04", "2019-05"])
    r = xmr(s)
    assert np.isnan(r.loc["2019-04", "moving_range"])
    assert r["gap_before"].tolist() == [False, False, True, False]
    assert r["upper"].iloc[0] == pytest.approx(16 + 2.66 * 2)
    assert r["outside_limits"].tolist() == [True, False, False, True]
    assert r.attrs["missing"] == ["2019-03"]
    # a missing value (NaN) is a gap too, here on an integer index
    r = xmr(pd.Series([10.0, 12.0, np.nan, 20.0, 22.0]))
    assert r.index.tolist() == [0, 1, 3, 4]
    assert r["upper"].iloc[0] == pytest.approx(16 + 2.66 * 2)
    assert r.attrs["missing"] == [2]


def test_gap_breaks_shift_and_trend() -> None:
    months = pd.period_range("2019-01", periods=14, freq="M")
    above = [11.5, 11.6, 11.4, 11.7, 11.5, 11.6, 11.4]
    whole = pd.Series(BASE + above + [11.0], index=months)
    assert xmr(whole, baseline=6)["shift"].sum() == 7
    # the same values with 2019-10 missing (3 months above, a gap, then 4): no shift
    gapped = whole.drop(pd.Period("2019-10", freq="M"))
    r = xmr(gapped, baseline=6)
    assert not r["shift"].any()
    assert r.attrs["missing"] == ["2019-10"]
    rising = [10.0, 10.2, 10.4, 10.6, 10.8, 11.2, 11.4]
    t = pd.Series(BASE + rising + [11.0], index=months)
    assert xmr(t, baseline=6)["trend"].sum() == 7
    assert not xmr(t.drop(pd.Period("2019-10", freq="M")), baseline=6)["trend"].any()


def test_phases_recalculate_limits() -> None:
    values = pd.Series(BASE + [22.0, 20.0] * 3, index=[f"m{i:02d}" for i in range(12)])
    r = xmr(values, phase_starts=["m06"])
    assert r["centre"].iloc[0] == pytest.approx(11.0)
    assert r["centre"].iloc[-1] == pytest.approx(21.0)
    assert r["upper"].iloc[-1] == pytest.approx(21.0 + 2.66 * 2)
    assert r["phase"].tolist() == [1] * 6 + [2] * 6
    assert np.isnan(r["moving_range"].iloc[6])  # no range across the phase boundary
    assert r.attrs["limits"] == (
        "limits from all 6 points (m00 to m05); recalculated from m06: all 6 points (m06 to m11)"
    )
    assert r.attrs["rules"] == RULES
    assert RULES.startswith("plotthedots: 7-point shift and trend, 2 of 3 beyond 2 sigma")


def test_fixed_baseline_is_named_for_the_caption() -> None:
    months = pd.period_range("2019-04", periods=10, freq="M")
    r = xmr(pd.Series([*TEN[:9], 20.0], index=months), baseline=9)
    assert r.attrs["baseline"] == 9
    assert r.attrs["limits"] == "limits from the first 9 points (2019-04 to 2019-12), held fixed"


def test_screening_drops_a_huge_range() -> None:
    # ranges 1 x8 and 30, 30: mean 68/10 = 6.8; 30 > 3.267 * 6.8 = 22.2 -> screened mean 1
    values = [10.0, 11.0] * 4 + [10.0, 40.0, 10.0]
    assert xmr(values)["upper"].iloc[0] == pytest.approx(np.mean(values) + 2.66 * 6.8)
    screened = xmr(values, screen_moving_ranges=True)
    assert screened["upper"].iloc[0] == pytest.approx(np.mean(values) + 2.66 * 8 / 8)


def test_errors() -> None:
    with pytest.raises(ValueError, match="repeated periods"):
        xmr(pd.Series([1.0, 2.0, 3.0], index=["2019-01", "2019-01", "2019-02"]))
    with pytest.raises(ValueError, match="time order"):
        xmr(pd.Series([1.0, 2.0, 3.0], index=["2019-03", "2019-02", "2019-04"]))
    with pytest.raises(ValueError, match="baseline must be at least 2"):
        xmr(TEN, baseline=1)
    with pytest.raises(ValueError, match="polarity must be one of"):
        xmr(TEN, polarity="up")
    with pytest.raises(ValueError, match=r"phase_starts \['x'\]"):
        xmr(TEN, phase_starts=["x"])


def test_plot_marks_special_causes() -> None:
    import matplotlib.pyplot as plt

    r = xmr([*TEN[:9], 20.0], baseline=9, polarity="lower")
    fig, ax = plt.subplots()
    plot_spc(ax, r, title="Delayed days", ylabel="days")
    (points,) = ax.collections
    assert points.get_offsets().tolist() == [[9.0, 20.0]]
    assert mpl.colors.to_hex(points.get_facecolor()[0]) == COLOURS["deteriorating"]
    assert ax.get_title() == "Delayed days"
    plt.close(fig)
