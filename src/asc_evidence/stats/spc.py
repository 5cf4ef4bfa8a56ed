"""Statistical process control: the XmR (individuals and moving range) chart with run rules.

Separates common-cause variation (the noise a stable process makes) from special causes (a
signal worth investigating), as NHS "Making Data Count" recommends for monthly series such as
delayed transfers of care.

Assumptions and weaknesses: XmR limits assume consecutive points are independent. Monthly delayed
transfers are autocorrelated (lag-1 correlation about 0.5-0.7 within a year; see
:mod:`asc_evidence.stats.quasi_poisson`), so the moving range understates the process spread, the
limits are too narrow and special-cause signals are more frequent than the nominal rate; read
signals on such series as prompts to look, not as proof. Seasonality (winter peaks) also shows as
runs.

References
----------
.. [1] Wheeler, D. J. (2000). *Understanding Variation: the key to managing chaos*, 2nd ed.
   SPC Press, Knoxville.
.. [2] NHS Improvement (2019). *Making Data Count: getting started* and *Making Data Count:
   strengthening your decisions*. NHS Improvement, London.
.. [3] NHS-R Community. *NHSRplotthedots* R package (github.com/nhs-r-community/NHSRplotthedots):
   ``ptd_spc()`` with ``fix_after_n_points`` and ``rebase``; rules in
   ``R/ptd_calculate_point_type.R`` and ``R/ptd_spc_standard.R`` (7-point shift and trend,
   two of three close to the limits on one side of the mean, points outside the limits).
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


RULES = "plotthedots: 7-point shift and trend, 2 of 3 beyond 2 sigma, beyond 3 sigma limits"
"""The rule set :func:`xmr` applies by default, named in its result (``attrs["rules"]``)."""


def _index_ordinals(index: pd.Index) -> np.ndarray | None:
    """Consecutive-period numbers of an index (months for dates), or None if it has none.

    PeriodIndex -> ordinals; DatetimeIndex and 'YYYY-MM' strings -> monthly ordinals; integers
    -> themselves. Anything else (e.g. free labels) has no notion of a missing period.
    """
    if isinstance(index, pd.PeriodIndex):
        return index.asi8.astype("int64")
    if isinstance(index, pd.DatetimeIndex):
        return index.to_period("M").asi8.astype("int64")
    if pd.api.types.is_integer_dtype(index):
        return index.to_numpy(dtype="int64")
    text = index.astype(str)
    if len(text) and text.str.fullmatch(r"\d{4}-\d{2}").all():
        return pd.PeriodIndex(text, freq="M").asi8.astype("int64")
    return None


def _block_runs(labels: np.ndarray, block: np.ndarray, min_len: int) -> np.ndarray:
    """True where a label belongs to a run of >= ``min_len`` equal non-zero labels.

    A run never continues across a change of ``block`` (a gap or a new phase).
    """
    if labels.size == 0:
        return np.zeros(0, dtype=bool)
    change = np.r_[True, (labels[1:] != labels[:-1]) | (block[1:] != block[:-1])]
    run_id = np.cumsum(change) - 1
    lengths = np.bincount(run_id)
    return (labels != 0) & (lengths[run_id] >= min_len)


def _limits(x: np.ndarray, mr: np.ndarray, nb: int, screen: bool) -> tuple[float, float, int]:
    """Centre, mean moving range and number of ranges used, from the first ``nb`` points."""
    base_mr = mr[1:nb]
    base_mr = base_mr[~np.isnan(base_mr)]
    if base_mr.size == 0:
        msg = (
            f"The baseline of {nb} point(s) has no moving range (every pair of consecutive "
            "baseline points is split by a gap): use a longer baseline."
        )
        raise ValueError(msg)
    mr_bar = base_mr.mean()
    if screen:  # plotthedots keeps ranges strictly below 3.267 x their mean
        kept = base_mr[base_mr < RANGE_LIMIT * mr_bar]
        mr_bar = kept.mean() if kept.size else mr_bar
    return float(x[:nb].mean()), float(mr_bar), int(base_mr.size)


def _phase(
    x: np.ndarray,
    gap_before: np.ndarray,
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
    mr[gap_before] = np.nan  # no moving range across a missing period
    centre, mr_bar, _ = _limits(x, mr, nb, screen_moving_ranges)
    half = SCALE * mr_bar
    upper, lower = centre + half, centre - half
    upper2, lower2 = centre + half * 2 / 3, centre - half * 2 / 3
    block = np.cumsum(gap_before)  # contiguous stretches between gaps

    out_hi, out_lo = x > upper, x < lower
    side = np.sign(x - centre).astype(int)
    shift = _block_runs(side, block, shift_run)

    step = np.sign(np.diff(x)).astype(int)
    step[gap_before[1:]] = 0  # no step across a gap
    step_run = _block_runs(step, block[1:], trend_run - 1)  # k points make k - 1 steps
    trend_up = np.zeros(n, dtype=bool)
    trend_down = np.zeros(n, dtype=bool)
    for flags, sign in ((trend_up, 1), (trend_down, -1)):
        s = step_run & (step == sign)
        flags[1:] |= s  # the point a flagged step ends on
        flags[:-1] |= s  # and the point it starts from

    # plotthedots: in 3 consecutive points all on one side of the centre, at least 2 lie
    # between 2 and 3 sigma ("close to limits"); those points are flagged
    close = ~(out_hi | out_lo) & ((x > upper2) | (x < lower2))
    two3 = np.zeros(n, dtype=bool)
    if two_of_three and n >= 3:
        for start in range(n - 2):
            w = slice(start, start + 3)
            if block[start] != block[start + 2]:
                continue
            if abs(side[w].sum()) == 3 and close[w].sum() >= 2:
                two3[w] |= close[w]

    flagged = out_hi | out_lo | shift | trend_up | trend_down | two3
    # the side of the centre line decides high/low (plotthedots); a flagged point exactly on
    # the line (only possible in a trend) goes with the trend
    high = flagged & ((side > 0) | ((side == 0) & trend_up))
    low = flagged & ((side < 0) | ((side == 0) & trend_down))
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
        "two_of_three": two3,
        "_high": high,
        "_low": low,
    }


def xmr(
    values: pd.Series | Sequence[float] | np.ndarray,
    polarity: str | None = None,
    baseline: int | None = None,
    phase_starts: Sequence[object] = (),
    shift_run: int = 7,
    trend_run: int = 7,
    two_of_three: bool = True,
    screen_moving_ranges: bool = False,
) -> pd.DataFrame:
    """XmR chart with NHS-R plotthedots' special-cause rules; gaps in the index break runs.

    Parameters
    ----------
    values
        The series in time order. A Series keeps its index: with months ('2019-04' strings,
        a PeriodIndex or a DatetimeIndex) or integers, a missing period is a gap. Missing
        values (NaN) are dropped and treated as gaps too (listed in ``attrs["missing"]``).
    polarity
        ``"higher"`` if higher is better, ``"lower"`` if lower is better, None if neither;
        decides whether a signal is 'improving' or 'deteriorating'.
    baseline
        Fixed baseline: centre and limits from the first ``baseline`` points of each phase only,
        held for the rest, so later points are judged against the earlier process
        (plotthedots' ``fix_after_n_points``; Making Data Count suggests 12-20 or more).
        Default None: all points (plotthedots' default).
    phase_starts
        Index labels where a new phase begins (a documented change in process or definition;
        never found automatically): limits are recalculated and runs restart at each
        (plotthedots' ``rebase``).
    shift_run
        Points in a row on one side of the centre line that signal a shift (7 in plotthedots;
        a point on the line breaks the run).
    trend_run
        Points in a row each higher (or each lower) than the one before that signal a trend
        (7 in plotthedots, i.e. 6 steps; the Making Data Count Excel tool uses 6; an
        unchanged value breaks the run).
    two_of_three
        Flag two (or three) of three consecutive points between 2 and 3 sigma, all three on
        the same side of the centre line (plotthedots' rule).
    screen_moving_ranges
        Drop baseline moving ranges of 3.267 x their mean or more before computing the limits
        (plotthedots' ``screen_outliers``). Off by default.

    Returns
    -------
    pandas.DataFrame
        One row per non-missing point, index as ``values``: ``value, moving_range, centre,
        lower, upper, lower_2sigma, upper_2sigma, phase, baseline`` (point used for the
        limits), ``gap_before`` (a missing period precedes it), ``outside_limits, shift,
        trend, two_of_three, special_cause, signal`` ('high', 'low' or ''), ``variation``
        ('common cause', 'special cause: improving' / 'deteriorating' / 'neither').
        ``attrs``: ``rules`` (the rule set, e.g. :data:`RULES`), ``limits`` (how the limits
        were set, for a caption), ``baseline`` (points per phase or None), ``phase_starts``,
        ``missing`` (labels of missing periods and NaN values).

    Notes
    -----
    Centre = mean; limits = mean +- 2.66 x mean moving range, where the moving range is the
    absolute difference of consecutive points (Wheeler [1]_; NHS England [2]_, [3]_). A moving
    range is never taken across a missing period or a phase start, and shifts, trends and
    two-of-three windows never run across one: a gap ends a run. Every point of a qualifying
    run is flagged; a special-cause point is 'high' or 'low' by its side of the centre line,
    as in plotthedots. Assumes roughly independent, not strongly seasonal points; limits are
    not truncated at zero.
    """
    if polarity not in POLARITIES:
        msg = f"polarity must be one of {POLARITIES}; got {polarity!r}."
        raise ValueError(msg)
    if shift_run < 2 or trend_run < 3:
        msg = f"shift_run must be >= 2 and trend_run >= 3; got {shift_run}, {trend_run}."
        raise ValueError(msg)
    if baseline is not None and baseline < 2:
        msg = f"baseline must be at least 2 points (or None for all); got {baseline}."
        raise ValueError(msg)
    s = values.copy() if isinstance(values, pd.Series) else pd.Series(values)
    s = s.astype("float64")
    if not s.index.is_unique:
        msg = f"The index has repeated periods: {list(s.index[s.index.duplicated()])[:5]}."
        raise ValueError(msg)
    ordinals = _index_ordinals(s.index)
    if ordinals is not None and (np.diff(ordinals) <= 0).any():
        msg = "The series must be in time order (increasing index)."
        raise ValueError(msg)
    unknown = [p for p in phase_starts if p not in s.index]
    if unknown:
        msg = f"phase_starts {unknown} are not in the series index."
        raise ValueError(msg)
    nan_labels = list(s.index[s.isna()])
    bad_starts = [p for p in phase_starts if p in nan_labels]
    if bad_starts:
        msg = f"phase_starts {bad_starts} have no value; start the phase at a period with one."
        raise ValueError(msg)
    keep = s.notna().to_numpy()
    pos = np.flatnonzero(keep)
    if pos.size == 0:
        msg = "The series has no values."
        raise ValueError(msg)
    missing: list[object] = list(nan_labels)
    gap_before = np.r_[False, np.diff(pos) > 1]  # a dropped NaN lies between
    if ordinals is not None:
        monthly = not pd.api.types.is_integer_dtype(s.index)
        for i in np.flatnonzero(np.diff(ordinals) > 1) + 1:
            for o in range(int(ordinals[i - 1]) + 1, int(ordinals[i])):
                missing.append(str(pd.Period(ordinal=o, freq="M")) if monthly else o)
        gap_before |= np.r_[False, np.diff(ordinals[pos]) > 1]
    s = s[keep]
    cuts = sorted({0, *(int(s.index.get_loc(p)) for p in phase_starts)}) + [len(s)]
    x = s.to_numpy()
    parts = []
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        if b <= a:
            continue
        gb = gap_before[a:b].copy()
        gb[0] = False  # a phase start has no predecessor anyway (its moving range is NaN)
        ph = _phase(x[a:b], gb, baseline, shift_run, trend_run, two_of_three, screen_moving_ranges)
        ph["phase"] = np.full(b - a, i + 1)
        parts.append(ph)
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    high, low = cols.pop("_high"), cols.pop("_low")
    signal = np.where(high, "high", np.where(low, "low", ""))
    if polarity is None:
        word = np.where(signal != "", "neither", "")
    else:
        good = "high" if polarity == "higher" else "low"
        word = np.where(signal == good, "improving", np.where(signal != "", "deteriorating", ""))
    out = pd.DataFrame({"value": x, **cols, "gap_before": gap_before}, index=s.index)
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
        "gap_before",
        "outside_limits",
        "shift",
        "trend",
        "two_of_three",
        "special_cause",
        "signal",
        "variation",
    ]
    out = out[order]
    default = (shift_run, trend_run, two_of_three) == (7, 7, True)
    out.attrs["rules"] = (
        RULES
        if default
        else f"{shift_run}-point shift, {trend_run}-point trend"
        + (", 2 of 3 beyond 2 sigma" if two_of_three else "")
        + ", beyond 3 sigma limits (plotthedots rules with changed run lengths)"
    )
    out.attrs["baseline"] = baseline
    out.attrs["phase_starts"] = list(phase_starts)
    out.attrs["missing"] = missing
    out.attrs["limits"] = describe_limits(out)
    return out


def describe_limits(result: pd.DataFrame) -> str:
    """How an :func:`xmr` result's limits were set, for a chart caption.

    E.g. 'limits from the first 24 points (2015-04 to 2017-03), held fixed; recalculated
    from 2020-04 (first 24 points)'.
    """
    baseline = result.attrs.get("baseline")
    texts = []
    for phase, g in result.groupby("phase", sort=True):
        base = g[g["baseline"]]
        span = f"{base.index[0]} to {base.index[-1]}"
        if baseline is None or len(base) == len(g):
            what = f"all {len(base)} points ({span})"
        else:
            what = f"the first {len(base)} points ({span}), held fixed"
        texts.append(
            f"limits from {what}" if phase == 1 else f"recalculated from {g.index[0]}: {what}"
        )
    return "; ".join(texts)


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
    (neither); the line breaks at a missing period (``gap_before``). Non-numeric indexes
    (e.g. '2019-04') are plotted by position with their labels. Returns ``ax``.
    """
    idx = result.index
    numeric = pd.api.types.is_numeric_dtype(idx) or isinstance(idx, pd.DatetimeIndex)
    xs = idx if numeric else np.arange(len(result))
    gaps = result["gap_before"] if "gap_before" in result else pd.Series(False, index=idx)
    block = np.cumsum(gaps.to_numpy())
    for k in np.unique(block):  # the line breaks at a missing period
        m = block == k
        ax.plot(
            np.asarray(xs)[m],
            result["value"].to_numpy()[m],
            color=COLOURS["common"],
            marker="o",
            markersize=4,
            linewidth=1,
            zorder=2,
            label="value" if k == block[0] else None,
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
