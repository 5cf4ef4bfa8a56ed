"""Fingertips comparison with a benchmark: outcomes worked from the rules in the Fingertips source
(ukhsa-collaboration/fingertips-open, SingleOverlappingCIsComparer.cs and
SingleOverlappingCIsForTwoCILevelsComparer.cs: limits are inclusive)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from asc_evidence.stats.comparison import (
    COLOURS,
    COLOURS_CVD_SAFE,
    OUTCOMES,
    compare_with_benchmark,
    outcome_colours,
)


def test_single_ci_rule_and_polarity() -> None:
    # benchmark 50 above the interval 40-45: the area is lower than England
    assert compare_with_benchmark(50, 40, 45, polarity="lower") == "Better (95%)"
    assert compare_with_benchmark(50, 40, 45, polarity="higher") == "Worse (95%)"
    assert compare_with_benchmark(50, 40, 45, polarity="neutral") == "Lower (95%)"
    assert compare_with_benchmark(50, 40, 45, polarity=None) == "Lower (95%)"
    # benchmark below the interval 55-60: higher than England
    assert compare_with_benchmark(50, 55, 60, polarity="lower") == "Worse (95%)"
    assert compare_with_benchmark(50, 55, 60, polarity="higher") == "Better (95%)"
    assert compare_with_benchmark(50, 55, 60, polarity="neutral") == "Higher (95%)"


def test_benchmark_exactly_on_a_limit_is_similar() -> None:
    # Fingertips tests lower <= benchmark <= upper
    out = compare_with_benchmark(50.0, [45.0, 50.0, 49.999], [50.0, 55.0, 49.9999])
    assert out.tolist() == ["Similar", "Similar", "Better (95%)"]


def test_invalid_intervals_are_not_compared() -> None:
    b = pd.Series([50.0, 50.0, np.nan, 50.0])
    lo = pd.Series([np.nan, 46.0, 40.0, 40.0])
    hi = pd.Series([45.0, 44.0, 45.0, 45.0])  # second: lower above upper
    out = compare_with_benchmark(b, lo, hi, polarity="higher")
    assert isinstance(out, np.ndarray)
    assert out.tolist() == ["Not compared", "Not compared", "Not compared", "Worse (95%)"]


def test_two_level_rule() -> None:
    # 95% interval 40-45 inside 99.8% intervals; benchmark 50 above both, on, or between
    lo95, hi95 = 40.0, 45.0
    lo998 = np.array([38.0, 38.0, 38.0, 38.0])
    hi998 = np.array([48.0, 50.0, 52.0, 46.0])
    bench = np.array([50.0, 50.0, 50.0, 45.0])
    out = compare_with_benchmark(bench, lo95, hi95, lo998, hi998, polarity="lower")
    # beyond 99.8% | on the 99.8% limit (inside) | between 95% and 99.8% | on the 95% limit
    assert out.tolist() == ["Better (99.8%)", "Better (95%)", "Better (95%)", "Similar"]
    # the other side, neutral and high-is-good words
    assert compare_with_benchmark(30.0, 40, 45, 31, 47, polarity="neutral") == "Higher (99.8%)"
    assert compare_with_benchmark(32.0, 40, 45, 31, 47, polarity="higher") == "Better (95%)"
    # a 99.8% interval narrower than the 95% one is invalid
    assert compare_with_benchmark(50.0, 40, 45, 41, 47) == "Not compared"
    assert compare_with_benchmark(50.0, 40, 45, np.nan, 47) == "Not compared"


def test_outcomes_listed_and_errors() -> None:
    rng = np.random.default_rng(1)
    lo = rng.uniform(0, 10, 200)
    hi = lo + rng.uniform(0, 5, 200)
    for polarity in ("lower", "higher", "neutral"):
        out = compare_with_benchmark(6.0, lo, hi, lo - 1, hi + 1, polarity=polarity)
        assert set(out) <= set(OUTCOMES[polarity])
    with pytest.raises(ValueError, match="polarity must be one of"):
        compare_with_benchmark(1, 0, 2, polarity="low")
    with pytest.raises(ValueError, match="both lower99_8 and upper99_8"):
        compare_with_benchmark(1, 0, 2, lower99_8=0)
    with pytest.raises(ValueError, match="same length"):
        compare_with_benchmark([1, 2], [0, 0, 0], [2, 2, 2])


def test_colours() -> None:
    out = ["Better (95%)", "Similar", "Worse (99.8%)", "Not compared", "Lower (95%)", "Higher"]
    assert outcome_colours(out).tolist() == [
        "#92d050",
        "#ffc000",
        "#c00000",
        "#c9c9c9",
        "#5555E6",
        "#C2CCFF",
    ]
    safe = outcome_colours(out, COLOURS_CVD_SAFE)
    assert safe[0] == "#0072B2"
    assert safe[2] == "#D55E00"
    assert set(COLOURS) == set(COLOURS_CVD_SAFE)
    assert len(set(COLOURS_CVD_SAFE.values())) == len(COLOURS_CVD_SAFE)
    with pytest.raises(ValueError, match="No colour"):
        outcome_colours(["Fine"])
