"""Compare an area with a benchmark from the area's own confidence interval, as OHID Fingertips does.

The benchmark (usually England's value) is tested against the area's interval:

* **one interval** (Fingertips' "single overlapping CI" method): "Similar" when the benchmark lies
  inside the area's 95% interval, limits included; otherwise the area is higher or lower than the
  benchmark, which polarity turns into better or worse. Outcomes carry "(95%)".
* **two intervals** (Fingertips' "two CI levels" method, 95% and 99.8%): inside the 95% interval
  "Similar"; outside the 95% but inside (or on) the 99.8% interval "... (95%)"; outside the 99.8%
  interval "... (99.8%)".
* "Not compared" when the benchmark or any limit is missing, or an interval is invalid (lower
  above upper, or the 99.8% interval narrower than the 95% one).

Words are Fingertips' own: "Better", "Similar", "Worse", "Not compared" and, for indicators with
no judgement of good or bad, "Lower", "Similar", "Higher". Colours are in :data:`COLOURS`
(Fingertips' classic shading) and :data:`COLOURS_CVD_SAFE` (an alternative for readers with
red-green colour-vision deficiency); :func:`outcome_colours` maps outcomes to either.

Assumptions and weaknesses
--------------------------
The benchmark is treated as fixed (its own sampling error is ignored: reasonable for England,
less so for a small comparator group). Testing "benchmark inside the area's CI" is not a formal
two-sample test; it is the rule Fingertips users know. No allowance is made for overdispersion,
so for large councils small real differences are flagged (see ``stats.funnel`` for the
overdispersed alternative); say which rule made each verdict.

References
----------
.. [1] Office for Health Improvement and Disparities. Fingertips source code,
   ukhsa-collaboration/fingertips-open on GitHub: ``PholioVisualisationWS/Analysis/
   SingleOverlappingCIsComparer.cs`` and ``SingleOverlappingCIsForTwoCILevelsComparer.cs``
   (benchmark on a limit counts as inside; 95%-99.8% band inclusive at both ends).
.. [2] Office for Health Improvement and Disparities. Public Health Outcomes Framework,
   "Further information" page (fingertips.phe.org.uk/profile/public-health-outcomes-framework),
   sections "Colour shading" and "Compared with benchmark".
.. [3] Okabe, M. and Ito, K. (2008). *Color Universal Design (CUD): how to make figures and
   presentations that are friendly to colorblind people*. jfly.uni-koeln.de/color/ (the
   colour-vision-safe palette).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

POLARITIES = ("lower", "higher", "neutral")
"""``"lower"``: low is good; ``"higher"``: high is good; ``"neutral"``: no judgement."""

SIMILAR = "Similar"
NOT_COMPARED = "Not compared"

OUTCOMES = {
    "lower": (
        "Better (99.8%)",
        "Better (95%)",
        SIMILAR,
        "Worse (95%)",
        "Worse (99.8%)",
        NOT_COMPARED,
    ),
    "higher": (
        "Better (99.8%)",
        "Better (95%)",
        SIMILAR,
        "Worse (95%)",
        "Worse (99.8%)",
        NOT_COMPARED,
    ),
    "neutral": (
        "Lower (99.8%)",
        "Lower (95%)",
        SIMILAR,
        "Higher (95%)",
        "Higher (99.8%)",
        NOT_COMPARED,
    ),
}
"""Every outcome :func:`compare_with_benchmark` can return, per polarity, in display order."""

COLOURS = {
    "better": "#92d050",
    "similar": "#ffc000",
    "worse": "#c00000",
    "lower": "#5555E6",
    "higher": "#C2CCFF",
    "not compared": "#c9c9c9",
}
"""Fingertips' classic comparison colours [2]_ (green/amber/red; two blues when no judgement)."""

COLOURS_CVD_SAFE = {
    "better": "#0072B2",
    "similar": "#F0E442",
    "worse": "#D55E00",
    "lower": "#56B4E9",
    "higher": "#CC79A7",
    "not compared": "#c9c9c9",
}
"""Colour-vision-safe alternative from the Okabe-Ito palette [3]_.

Fingertips' green #92d050 and red #c00000 are hard to tell apart with deuteranopia or protanopia
(about 1 in 12 men), so better/worse use Okabe-Ito blue #0072B2 and vermillion #D55E00, similar
yellow #F0E442; the no-judgement pair uses sky blue #56B4E9 and reddish purple #CC79A7 so that
"lower" cannot be read as the blue "better". Not compared stays grey.
"""


def _as_float(a: object) -> np.ndarray:
    return np.asarray(a.to_numpy() if isinstance(a, pd.Series) else a, dtype="float64")


def _check_polarity(polarity: str | None) -> str:
    if polarity is None:
        return "neutral"
    if polarity not in POLARITIES:
        msg = (
            f"polarity must be one of {POLARITIES} ('lower': low is good, 'higher': high is "
            f"good, 'neutral': no judgement); got {polarity!r}."
        )
        raise ValueError(msg)
    return polarity


def compare_with_benchmark(
    benchmark: float | Sequence[float] | np.ndarray | pd.Series,
    lower95: float | Sequence[float] | np.ndarray | pd.Series,
    upper95: float | Sequence[float] | np.ndarray | pd.Series,
    lower99_8: float | Sequence[float] | np.ndarray | pd.Series | None = None,
    upper99_8: float | Sequence[float] | np.ndarray | pd.Series | None = None,
    polarity: str | None = "lower",
) -> np.ndarray:
    """Fingertips outcome of each area against its benchmark, from the area's interval(s).

    Parameters
    ----------
    benchmark
        The comparator's value (e.g. England), one per area or one for all (broadcast).
    lower95, upper95
        The area's 95% confidence limits.
    lower99_8, upper99_8
        The area's 99.8% limits. Give both for the two-level rule; omit both for the single-CI
        rule.
    polarity
        ``"lower"`` (low is good), ``"higher"`` (high is good) or ``"neutral"``/None (no
        judgement: outcomes read Lower/Higher).

    Returns
    -------
    numpy.ndarray of str
        Same (broadcast) shape as the inputs; values from ``OUTCOMES[polarity]``: e.g.
        "Better (95%)", "Worse (99.8%)", "Similar", "Not compared"; "Lower (95%)" etc. for
        neutral indicators.

    Notes
    -----
    A benchmark exactly on a limit is inside that interval (Fingertips [1]_ tests
    ``lower <= benchmark <= upper``). The area is "lower" than the benchmark when the benchmark
    lies above its upper limit, and "higher" when below its lower limit.
    """
    polarity = _check_polarity(polarity)
    if (lower99_8 is None) != (upper99_8 is None):
        msg = "Give both lower99_8 and upper99_8 (two-level rule) or neither (single-CI rule)."
        raise ValueError(msg)
    two = lower99_8 is not None
    arrays = [_as_float(a) for a in (benchmark, lower95, upper95)]
    if two:
        arrays += [_as_float(lower99_8), _as_float(upper99_8)]
    try:
        arrays = list(np.broadcast_arrays(*arrays))
    except ValueError as exc:
        shapes = [a.shape for a in arrays]
        msg = f"benchmark and limits must have the same length (or be single values); got {shapes}."
        raise ValueError(msg) from exc
    b, lo, hi = arrays[:3]
    bad = np.isnan(arrays).any(axis=0) | (lo > hi)
    if two:
        lo2, hi2 = arrays[3], arrays[4]
        bad |= (lo2 > lo) | (hi2 < hi)
    with np.errstate(invalid="ignore"):
        area_lower = b > hi  # the benchmark is above the area's interval
        area_higher = b < lo
        if two:
            strong_lower = area_lower & (b > hi2)
            strong_higher = area_higher & (b < lo2)
        else:
            strong_lower = strong_higher = np.zeros(b.shape, dtype=bool)
    if polarity == "neutral":
        low_word, high_word = "Lower", "Higher"
    elif polarity == "lower":
        low_word, high_word = "Better", "Worse"
    else:
        low_word, high_word = "Worse", "Better"
    out = np.full(b.shape, SIMILAR, dtype=object)
    out[area_lower] = f"{low_word} (95%)"
    out[strong_lower] = f"{low_word} (99.8%)"
    out[area_higher] = f"{high_word} (95%)"
    out[strong_higher] = f"{high_word} (99.8%)"
    out[bad] = NOT_COMPARED
    return out.astype(str)


def outcome_colours(
    outcomes: Sequence[str] | np.ndarray | pd.Series, palette: dict[str, str] | None = None
) -> np.ndarray:
    """Colour of each outcome (e.g. "Worse (95%)" -> worse), from :data:`COLOURS` by default.

    Pass ``palette=COLOURS_CVD_SAFE`` for the colour-vision-safe alternative. Unknown outcomes
    raise ``ValueError``.
    """
    palette = COLOURS if palette is None else palette
    words = pd.Series(np.asarray(outcomes, dtype=str)).str.replace(r"\s*\(.*\)$", "", regex=True)
    keys = words.str.lower()
    unknown = sorted(set(keys) - set(palette))
    if unknown:
        msg = f"No colour for outcome(s) {unknown}; palette keys are {sorted(palette)}."
        raise ValueError(msg)
    return keys.map(palette).to_numpy(dtype=str)
