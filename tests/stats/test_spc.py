"""XmR chart: limits by hand on a 10-point series and each run rule at its threshold."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest

from asc_evidence.stats.spc import COLOURS, plot_spc, xmr

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


def test_trend_needs_six_points() -> None:
    rising = [10.0, 10.2, 10.4, 10.6, 10.8, 11.2]  # 6 rising points, the last above the centre
    five = xmr(BASE + rising[:5], baseline=6)
    assert not five["trend"].any()
    six = xmr(BASE + rising, baseline=6, polarity="lower")
    assert six["trend"].tolist() == [False] * 6 + [True] * 6
    assert six["signal"].iloc[6:].eq("high").all()
    assert six["variation"].iloc[-1] == "special cause: deteriorating"
    flat = xmr([*BASE, 10.0, 10.2, 10.2, 10.4, 10.6, 10.8], baseline=6)  # a tie breaks it
    assert not flat["trend"].any()


def test_two_of_three_beyond_two_sigma() -> None:
    # 2 sigma = 11 + 2/3 * 5.32 = 14.547; 15, 11, 15 -> two of three beyond it, inside 16.32
    values = [*BASE, 15.0, 11.0, 15.0, 11.0]
    off = xmr(values, baseline=6)
    assert not off["special_cause"].any()
    on = xmr(values, baseline=6, two_of_three=True)
    assert on["two_of_three"].tolist() == [False] * 6 + [True, False, True, False]
    assert on["signal"].iloc[6] == "high"


def test_phases_recalculate_limits() -> None:
    values = pd.Series(BASE + [22.0, 20.0] * 3, index=[f"m{i:02d}" for i in range(12)])
    r = xmr(values, phase_starts=["m06"])
    assert r["centre"].iloc[0] == pytest.approx(11.0)
    assert r["centre"].iloc[-1] == pytest.approx(21.0)
    assert r["upper"].iloc[-1] == pytest.approx(21.0 + 2.66 * 2)
    assert r["phase"].tolist() == [1] * 6 + [2] * 6
    assert np.isnan(r["moving_range"].iloc[6])  # no range across the phase boundary


def test_screening_drops_a_huge_range() -> None:
    # ranges 1 x8 and 30, 30: mean 68/10 = 6.8; 30 > 3.267 * 6.8 = 22.2 -> screened mean 1
    values = [10.0, 11.0] * 4 + [10.0, 40.0, 10.0]
    assert xmr(values)["upper"].iloc[0] == pytest.approx(np.mean(values) + 2.66 * 6.8)
    screened = xmr(values, screen_moving_ranges=True)
    assert screened["upper"].iloc[0] == pytest.approx(np.mean(values) + 2.66 * 8 / 8)


def test_errors() -> None:
    with pytest.raises(ValueError, match="missing values"):
        xmr([1.0, np.nan, 2.0])
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
