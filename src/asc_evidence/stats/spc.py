"""Statistical process control: the XmR (individuals and moving range) chart with run rules.

Separates common-cause variation (the noise a stable process makes) from special causes (a
signal worth investigating), as NHS "Making Data Count" recommends for monthly series such as
delayed transfers of care.

References
----------
.. [1] Wheeler, D. J. (2000). *Understanding Variation: the key to managing chaos*, 2nd ed.
   SPC Press, Knoxville.
.. [2] NHS Improvement (2019). *Making Data Count: getting started* and *Making Data Count:
   strengthening your decisions*. NHS Improvement, London.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

SCALE = 2.66
"""Limits are centre +- 2.66 x mean moving range (3 / d2 with d2 = 1.128 for ranges of 2)."""
RANGE_LIMIT = 3.267
"""Upper limit of the moving range chart, as a multiple of the mean moving range (D4 for n=2)."""
POLARITIES = ("higher", "lower", None)
COLOURS = {
    "improving": "#289de0",
    "deteriorating": "#fab428",
    "neither": "#361475",
    "common": "#a6a6a6",
}
"""Making Data Count colours: blue improvement, orange concern, purple neither, grey common."""


def _run_flags(labels: np.ndarray, min_len: int) -> np.ndarray:
    """True where a label belongs to a run of >= ``min_len`` equal non-zero labels."""
    if labels.size == 0:
        return np.zeros(0, dtype=bool)
    change = np.r_[True, labels[1:] != labels[:-1]]
    run_id = np.cumsum(change) - 1
    lengths = np.bincount(run_id)
    return (labels != 0) & (lengths[run_id] >= min_len)


def _phase(
    x: np.ndarray,
    baseline: int | None,
    shift_run: int,
    trend_run: int,
    two_of_three: bool,
    screen_moving_ranges: bool,
) -> dict[str, np.ndarray]:
    n = len(x)
    nb = n if baseline is None else min(baseline, n)
    if nb < 2:
        msg = f"A phase needs at least 2 baseline points to compute limits; got {nb}."
        raise ValueError(msg)
    mr = np.r_[np.nan, np.abs(np.diff(x))]
    base_mr = mr[1:nb]
    mr_bar = base_mr.mean()
    if screen_moving_ranges:
        kept = base_mr[base_mr <= RANGE_LIMIT * mr_bar]
        mr_bar = kept.mean() if kept.size else mr_bar
    centre = x[:nb].mean()
    half = SCALE * mr_bar
    upper, lower = centre + half, centre - half
    upper2, lower2 = centre + half * 2 / 3, centre - half * 2 / 3

    out_hi, out_lo = x > upper, x < lower

    side = np.sign(x - centre).astype(int)
    shift = _run_flags(side, shift_run)

    step = np.sign(np.diff(x)).astype(int)
    step_run = _run_flags(step, trend_run - 1)  # k points make k - 1 steps
    trend_up = np.zeros(n, dtype=bool)
    trend_down = np.zeros(n, dtype=bool)
    for flags, sign in ((trend_up, 1), (trend_down, -1)):
        s = step_run & (step == sign)
        flags[1:] |= s  # the point a flagged step ends on
        flags[:-1] |= s  # and the point it starts from

    hi2, lo2 = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    if two_of_three:
        for beyond, flags in ((x > upper2, hi2), (x < lower2, lo2)):
            b = beyond.astype(int)
            window = np.convolve(b, np.ones(3, dtype=int), mode="valid")  # sums of x[i:i+3]
            for start in np.flatnonzero(window >= 2):
                flags[start : start + 3] |= beyond[start : start + 3]

    return {
        "moving_range": mr,
        "centre": np.full(n, centre),
        "lower": np.full(n, lower),
        "upper": np.full(n, upper),
        "lower_2sigma": np.full(n, lower2),
        "upper_2sigma": np.full(n, upper2),
        "baseline": np.arange(n) < nb,
        "outside_limits": out_hi | out_lo,
        "shift": shift,
        "trend": trend_up | trend_down,
        "two_of_three": hi2 | lo2,
        "_high": out_hi | (shift & (side > 0)) | trend_up | hi2,
        "_low": out_lo | (shift & (side < 0)) | trend_down | lo2,
        "_side": side,
    }


def xmr(
    values: pd.Series | Sequence[float] | np.ndarray,
    polarity: str | None = None,
    baseline: int | None = None,
    phase_starts: Sequence[object] = (),
    shift_run: int = 7,
    trend_run: int = 6,
    two_of_three: bool = False,
    screen_moving_ranges: bool = False,
) -> pd.DataFrame:
    """XmR chart: centre line, natural process limits and special-cause flags per point.

    Parameters
    ----------
    values
        The series in time order (a Series keeps its index, e.g. months). No missing values:
        drop or explain gaps first, because a gap changes the moving ranges.
    polarity
        ``"higher"`` if higher is better, ``"lower"`` if lower is better, None if neither;
        decides whether a signal is 'improving' or 'deteriorating'.
    baseline
        Compute centre and limits from the first ``baseline`` points of each phase only, and
        hold them for the rest (so later points are judged against the earlier process).
        Default: all points. Making Data Count advises at least 15-20 points.
    phase_starts
        Index labels where a new phase begins (after a known change in process or
        definition): limits are recalculated and runs restart at each.
    shift_run
        Points in a row on one side of the centre line that signal a shift (7 in Making Data
        Count; a point on the line breaks the run).
    trend_run
        Points in a row each higher (or each lower) than the one before that signal a trend
        (6 here, as in the NHS-R ``plotthedots`` implementation of Making Data Count; an
        unchanged value breaks the run).
    two_of_three
        Also flag two out of three consecutive points beyond 2 sigma on the same side.
    screen_moving_ranges
        Drop moving ranges above 3.267 x their mean before computing the limits (Wheeler's
        screening of ranges inflated by one-off events). Off by default.

    Returns
    -------
    pandas.DataFrame
        One row per point, index as ``values``: ``value, moving_range, centre, lower, upper,
        lower_2sigma, upper_2sigma, phase, baseline`` (point used for the limits),
        ``outside_limits, shift, trend, two_of_three, special_cause, signal`` ('high', 'low'
        or ''), ``variation`` ('common cause', 'special cause: improving' / 'deteriorating' /
        'neither').

    Notes
    -----
    Centre = mean; limits = mean +- 2.66 x mean moving range, where the moving range is the
    absolute difference of consecutive points (Wheeler [1]_; NHS Improvement [2]_); sigma is
    estimated as mean moving range / 1.128. Assumes the points are in time order, roughly
    independent and not strongly seasonal; limits are not truncated at zero. Every point in
    a qualifying run is flagged, as Making Data Count charts colour the whole run. When a
    point carries both high and low signals (e.g. above the limit within a falling trend),
    the side of the centre line it is on decides.
    """
    if polarity not in POLARITIES:
        msg = f"polarity must be one of {POLARITIES}; got {polarity!r}."
        raise ValueError(msg)
    if shift_run < 2 or trend_run < 3:
        msg = f"shift_run must be >= 2 and trend_run >= 3; got {shift_run}, {trend_run}."
        raise ValueError(msg)
    s = values.copy() if isinstance(values, pd.Series) else pd.Series(values)
    s = s.astype("float64")
    if s.isna().any():
        msg = (
            f"The series has {int(s.isna().sum())} missing values (at {list(s.index[s.isna()])[:5]}); "
            "drop or fill them explicitly before charting."
        )
        raise ValueError(msg)
    unknown = [p for p in phase_starts if p not in s.index]
    if unknown:
        msg = f"phase_starts {unknown} are not in the series index."
        raise ValueError(msg)
    cuts = sorted({0, *(int(s.index.get_loc(p)) for p in phase_starts)}) + [len(s)]
    x = s.to_numpy()
    parts = []
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        if b <= a:
            continue
        ph = _phase(x[a:b], baseline, shift_run, trend_run, two_of_three, screen_moving_ranges)
        ph["phase"] = np.full(b - a, i + 1)
        parts.append(ph)
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    high, low, side = cols.pop("_high"), cols.pop("_low"), cols.pop("_side")
    # a point with both signals goes with the side of the centre line it lies on
    both = high & low
    high = high & ~(both & (side < 0))
    low = low & ~(both & (side > 0))
    signal = np.where(high, "high", np.where(low, "low", ""))
    if polarity is None:
        word = np.where(signal != "", "neither", "")
    else:
        good = "high" if polarity == "higher" else "low"
        word = np.where(signal == good, "improving", np.where(signal != "", "deteriorating", ""))
    out = pd.DataFrame({"value": x, **cols}, index=s.index)
    out["special_cause"] = out[["outside_limits", "shift", "trend", "two_of_three"]].any(axis=1)
    out["signal"] = signal
    out["variation"] = np.where(
        word == "", "common cause", np.char.add("special cause: ", word.astype(str))
    )
    order = [
        "value",
        "moving_range",
        "centre",
        "lower",
        "upper",
        "lower_2sigma",
        "upper_2sigma",
        "phase",
        "baseline",
        "outside_limits",
        "shift",
        "trend",
        "two_of_three",
        "special_cause",
        "signal",
        "variation",
    ]
    return out[order]


def plot_spc(
    ax: Axes,
    result: pd.DataFrame,
    title: str = "",
    ylabel: str = "",
    show_2sigma: bool = False,
) -> Axes:
    """Draw an :func:`xmr` result on a matplotlib ``ax`` in Making Data Count style.

    Grey line and points; centre line solid; process limits dashed (drawn per phase);
    special-cause points coloured blue (improving), orange (deteriorating) or purple
    (neither). Non-numeric indexes (e.g. '2019-04') are plotted by position with their labels.
    Returns ``ax``.
    """
    idx = result.index
    numeric = pd.api.types.is_numeric_dtype(idx) or isinstance(idx, pd.DatetimeIndex)
    xs = idx if numeric else np.arange(len(result))
    ax.plot(
        xs,
        result["value"],
        color=COLOURS["common"],
        marker="o",
        markersize=4,
        linewidth=1,
        zorder=2,
        label="value",
    )
    for _, g in result.assign(_x=xs).groupby("phase"):
        ax.plot(g["_x"], g["centre"], color="black", linewidth=1, zorder=1)
        ax.plot(g["_x"], g["upper"], color="grey", linestyle="--", linewidth=1, zorder=1)
        ax.plot(g["_x"], g["lower"], color="grey", linestyle="--", linewidth=1, zorder=1)
        if show_2sigma:
            for c in ("upper_2sigma", "lower_2sigma"):
                ax.plot(g["_x"], g[c], color="grey", linestyle=":", linewidth=0.8, zorder=1)
    for kind in ("improving", "deteriorating", "neither"):
        m = (result["variation"] == f"special cause: {kind}").to_numpy()
        if m.any():
            ax.scatter(
                np.asarray(xs)[m],
                result["value"].to_numpy()[m],
                color=COLOURS[kind],
                s=30,
                zorder=3,
                label=f"special cause: {kind}",
            )
    if not numeric:
        step = max(1, len(result) // 12)
        ax.set_xticks(xs[::step], [str(v) for v in idx[::step]], rotation=45, ha="right")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    return ax
