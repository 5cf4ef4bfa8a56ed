"""Nursing and residential care 65+ (issue 13, item 1): the indicators against the raw files, and
"is it accurately benchmarked?" (:mod:`asc_evidence.sensitivity`) on a hand-made case and on
Somerset 2012-13."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from asc_evidence import indicators, sensitivity
from asc_evidence.indicators import INDICATORS

# PSS-EX1 2012-13, finance_activity/bengoodair_adults_social_care_data/Raw_data/2013/
# Annex_Fin_CASSR_Level_Unit_Costs_2012_13.csv: column L "The total number of weeks older people
# (including full cost and preserved rights clients) were supported in nursing care", column O
# "... supported in residential care (including full cost paying and preserved rights residents)";
# line 149 "905 - Somerset", line 158 "TOTAL England".
SOMERSET_NURSING_WEEKS = 52_543  # L149
ENGLAND_NURSING_WEEKS = 2_847_644  # L158
SOMERSET_RESIDENTIAL_WEEKS = 61_430  # O149
ENGLAND_RESIDENTIAL_WEEKS = 6_685_118  # O158
WEEKS_2012_13 = 365 / 7  # 1 April 2012 to 31 March 2013: 365 days (no 29 February)
# ONS mid-2014 (population/.../UK persons-Table 1.csv, delayed_transfers folder): ages 65..90 summed,
# line 370 (E10000027 Somerset) and line 7 (E92000001 ENGLAND); mid-2012 is taken as mid-2014.
SOMERSET_65_MID2014 = 124_818
ENGLAND_65_MID2014 = 9_537_708
# ASC-FR and SALT Data Tables 2021-22.xlsx, sheet T38, "65 and over": column O Nursing, column P
# Residential; row 165 Somerset (E10000027), row 10 England.
SALT_SOMERSET = {"nursing": 780, "residential": 810}  # O165, P165
SALT_ENGLAND = {"nursing": 42_180, "residential": 94_520}  # O10, P10

SOMERSET = "E06000066"  # Somerset County (E10000027) until 2023: same area, recoded
ENGLAND = "E92000001"


@pytest.fixture(scope="module")
def real(require_processed) -> None:
    """The real processed tables; skipped when they have not been built."""
    from asc_evidence import build

    require_processed(
        "unit_costs", "ascfr_2021_22", "population_2014", "population_mye", "oflog_neighbours"
    )
    build.load.cache_clear()
    indicators.clear_caches()
    yield
    indicators.clear_caches()


# --- the specs and the weeks in a year ----------------------------------------------------------


def test_weeks_in_year_counts_the_days_of_the_financial_year() -> None:
    got = indicators.weeks_in_year(pd.Series(["2012-13", "2011-12", "2015-16"]))
    # 2012-13: 365 days; 2011-12 and 2015-16 hold 29 February 2012 / 2016: 366 days
    assert got.tolist() == pytest.approx([365 / 7, 366 / 7, 366 / 7])


def test_care_home_specs_never_join_pss_ex1_and_salt() -> None:
    for key in ("nursing_65", "residential_65", "nursing_share_65"):
        ind = INDICATORS[key]
        assert ind.section == "admissions"  # shown in notebook 03 by notebook.section
        assert ind.polarity == "neutral"  # more nursing care is neither better nor worse
        assert ind.definition("2013-14") != ind.definition("2014-15") != ind.definition("2021-22")
        assert ind.definition("2008-09") == ind.definition("2013-14")
    assert INDICATORS["nursing_share_65"].kind == "proportion"
    assert INDICATORS["nursing_65"].kind == "rate"


# --- the indicators against the raw files --------------------------------------------------------


def _row(t: pd.DataFrame, code: str, period: str) -> pd.Series:
    rows = t[(t["council_code"] == code) & (t["period"] == period)]
    assert len(rows) == 1, (code, period)
    return rows.iloc[0]


def test_nursing_2012_13_is_weeks_over_weeks_in_year_per_100k_aged_65(real) -> None:
    t = indicators.get("nursing_65")
    som, eng = _row(t, SOMERSET, "2012-13"), _row(t, ENGLAND, "2012-13")
    assert som["numerator"] * WEEKS_2012_13 == pytest.approx(SOMERSET_NURSING_WEEKS)
    assert eng["numerator"] * WEEKS_2012_13 == pytest.approx(ENGLAND_NURSING_WEEKS)
    # 52,543 / 52.142857 = 1,007.67 average residents
    assert som["numerator"] == pytest.approx(1007.674, abs=1e-3)
    assert som["denominator"] == SOMERSET_65_MID2014
    assert eng["denominator"] == ENGLAND_65_MID2014
    # 1,007.674 / 124,818 x 100,000 = 807.31; England 54,612.35 / 9,537,708 x 100,000 = 572.59
    assert som["value"] == pytest.approx(807.31, abs=0.01)
    assert eng["value"] == pytest.approx(572.59, abs=0.01)
    assert "population for mid-2012 taken as mid-2014" in som["flag"]
    assert som["geography"] == "recoded"  # filed under E10000027, the same area


def test_residential_and_nursing_share_2012_13(real) -> None:
    res = _row(indicators.get("residential_65"), SOMERSET, "2012-13")
    assert res["numerator"] * WEEKS_2012_13 == pytest.approx(SOMERSET_RESIDENTIAL_WEEKS)
    eng = _row(indicators.get("residential_65"), ENGLAND, "2012-13")
    assert eng["numerator"] * WEEKS_2012_13 == pytest.approx(ENGLAND_RESIDENTIAL_WEEKS)
    share = indicators.get("nursing_share_65")
    # 52,543 / (52,543 + 61,430) = 46.10%; England 2,847,644 / 9,532,762 = 29.87%
    assert _row(share, SOMERSET, "2012-13")["value"] == pytest.approx(46.101, abs=1e-3)
    assert _row(share, ENGLAND, "2012-13")["value"] == pytest.approx(29.872, abs=1e-3)


def test_salt_2021_22_is_the_year_end_count_per_100k(real) -> None:
    for key, setting in (("nursing_65", "nursing"), ("residential_65", "residential")):
        t = indicators.get(key)
        som, eng = _row(t, SOMERSET, "2021-22"), _row(t, ENGLAND, "2021-22")
        assert som["numerator"] == SALT_SOMERSET[setting]
        assert eng["numerator"] == SALT_ENGLAND[setting]
        assert "approximation" not in som["flag"]  # mid-2021 estimate, published counts
    share = _row(indicators.get("nursing_share_65"), SOMERSET, "2021-22")
    assert share["value"] == pytest.approx(780 / 1590 * 100)  # 49.06%


def test_missing_weeks_are_missing_with_a_reason_never_zero(real) -> None:
    t = indicators.raw("nursing_65")
    # Darlington 2008-09: the weeks are ".." in the file (tidy flag "not available")
    row = _row(t, "E06000005", "2008-09")
    assert np.isnan(row["numerator"])
    assert np.isnan(row["value"])
    assert indicators.FLAG_NO_WEEKS in row["flag"]


# --- the sensitivity table: hand-made ------------------------------------------------------------

# England's rates per person by band (hand-made): 0.002, 0.01, 0.05 on 5, 3 and 1 million people
# -> 10,000 + 30,000 + 50,000 = 90,000 events in 9,000,000: 1,000 per 100,000 crude.
# An older council: 40,000, 30,000, 20,000 people (90,000); expected with England's age-specific
# rates E = 80 + 300 + 1,000 = 1,380, with England's crude rate 900.
ENGLAND_CRUDE = 1000.0
COUNCIL_POP = 90_000.0
EXPECTED_AGE = 0.002 * 40_000 + 0.01 * 30_000 + 0.05 * 20_000


def _table(observed: float) -> pd.DataFrame:
    ind = INDICATORS["nursing_65"]
    rows = [
        sensitivity.ratio_row(
            ind, "England", "all councils", observed, COUNCIL_POP, ENGLAND_CRUDE, what="England"
        ),
        sensitivity.standardised_row(
            ind, "England, age-standardised", observed, EXPECTED_AGE, ENGLAND_CRUDE
        ),
    ]
    return sensitivity.sensitivity_table(rows)


def test_crude_higher_but_age_standardised_similar_changes_the_conclusion() -> None:
    t = _table(1400.0).set_index("benchmark")
    assert EXPECTED_AGE == pytest.approx(1380.0)
    crude = t.loc["England"]
    # 1,400 observed / 900 expected from the crude rate = 1.5556; exact 95% limits of 1,400 are
    # chi2(0.025; 2800) / 2 = 1327.62 and chi2(0.975; 2802) / 2 = 1475.30 (Garwood 1936; scipy
    # stats.chi2.ppf) -> 1.4751 to 1.6392: above 1
    assert crude["ratio"] == pytest.approx(1400 / 900)
    assert crude["ratio 95% lower"] == pytest.approx(1327.62 / 900, abs=1e-5)
    assert crude["ratio 95% upper"] == pytest.approx(1475.30 / 900, abs=1e-5)
    assert crude["council value"] == pytest.approx(1400 / 90_000 * 1e5)  # 1,555.6 per 100,000
    assert crude[sensitivity.CHANCE] == "higher"
    std = t.loc["England, age-standardised"]
    # 1,400 / 1,380 = 1.0145; limits 1327.62 / 1380 = 0.9620 and 1475.30 / 1380 = 1.0691: include 1
    assert std["ratio"] == pytest.approx(1400 / 1380)
    assert std["ratio 95% lower"] == pytest.approx(1327.62 / 1380, abs=1e-5)
    assert std["ratio 95% upper"] == pytest.approx(1475.30 / 1380, abs=1e-5)
    assert std["council value"] == pytest.approx(1400 / 1380 * 1000)  # indirectly standardised rate
    assert std[sensitivity.CHANCE] == "similar"
    assert std["what changes"] == "age mix"
    last = t.loc[sensitivity.CONCLUSION]
    assert last[sensitivity.CHANCE] == "yes"
    assert last["verdict"].startswith("Yes.")
    assert "higher against England" in last["verdict"]
    assert "similar against England, age-standardised" in last["verdict"]


def test_when_age_explains_nothing_the_conclusion_holds() -> None:
    # 1,700 observed: crude 1.889 and standardised 1,700 / 1,380 = 1.232 (lower limit 1.174): both higher
    t = _table(1700.0)
    assert t.attrs["conclusion_changes"] is False
    assert t["verdict"].iloc[-1].startswith("No.")
    assert t[sensitivity.CHANCE].iloc[:2].tolist() == ["higher", "higher"]


def test_ratio_interval_of_a_proportion_is_clopper_pearson_over_the_comparator() -> None:
    ind = INDICATORS["nursing_share_65"]
    # 30 of 100 against 20%: ratio 1.5; Clopper-Pearson 95% for 30/100 is 0.2124 to 0.3998
    # (beta quantiles) -> 1.062 to 1.999
    ratio, lo, hi = sensitivity.ratio_interval(ind, 30.0, 100.0, 20.0)
    assert ratio == pytest.approx(1.5)
    assert lo == pytest.approx(0.2124 / 0.2, abs=1e-3)
    assert hi == pytest.approx(0.3998 / 0.2, abs=1e-3)
    assert all(np.isnan(sensitivity.ratio_interval(ind, 30.0, 0.0, 20.0)))


def test_another_definition_is_reported_beside_not_inside_the_conclusion() -> None:
    ind = INDICATORS["nursing_65"]
    rows = [
        sensitivity.ratio_row(ind, "England", "", 1400.0, COUNCIL_POP, ENGLAND_CRUDE),
        sensitivity.ratio_row(
            ind, "All care homes", "", 800.0, COUNCIL_POP, ENGLAND_CRUDE, changes="definition"
        ),
    ]
    t = sensitivity.sensitivity_table(rows)
    assert t.attrs["conclusion_changes"] is False  # one benchmark: nothing to change
    assert "depends on what is counted" in t.attrs["why"]  # 800 / 900: lower, said after


# --- Somerset 2012-13 on the real data -----------------------------------------------------------


def test_somerset_2012_13_sensitivity_on_the_real_data(real) -> None:
    t = sensitivity.benchmark_sensitivity("nursing_65", SOMERSET, "2012-13").set_index("benchmark")
    assert list(t.columns) == [c for c in sensitivity.COLUMNS if c != "benchmark"]
    eng = t.loc["England"]
    # (52,543 / 124,818) / (2,847,644 / 9,537,708) = 0.420957 / 0.298567 = 1.40993 (weeks cancel)
    assert eng["ratio"] == pytest.approx(1.40993, abs=1e-4)
    assert eng["comparator value"] == pytest.approx(572.59, abs=0.01)
    assert eng[sensitivity.CHANCE] == "higher"
    for label in ("Statistical neighbours (15, asc-evidence model)", "Oflog's neighbours"):
        assert t.loc[label, "ratio"] > 1
        assert t.loc[label, sensitivity.CHANCE] == "higher"
        assert t.loc[label, "rank"].endswith("of 16")
    std = t.loc["England, age-standardised (indirect, 65-74/75-84/85+)"]
    assert np.isnan(std["ratio"])
    assert "not published" in std["verdict"]
    homes = t.loc["England, all care homes (nursing + residential)"]
    # (52,543 + 61,430) / 124,818 over (2,847,644 + 6,685,118) / 9,537,708 = 0.913113 / 0.999481
    assert homes["ratio"] == pytest.approx(0.913587, abs=1e-5)
    assert homes[sensitivity.CHANCE] == "lower"
    assert homes["what changes"] == "definition"
    why = t.loc[sensitivity.CONCLUSION, "verdict"]
    assert why.startswith("No.")
    assert "depends on what is counted" in why


def test_ratio_funnel_figure_is_titled_labelled_and_captioned(real) -> None:
    import matplotlib.pyplot as plt

    fig = sensitivity.ratio_funnel_figure("nursing_65", SOMERSET, "2012-13")
    ax = fig.axes[0]
    assert "2012-13" in ax.get_title()
    assert ax.get_xlabel().startswith("Expected")
    assert "1 = England" in ax.get_ylabel()
    caption = " ".join(t.get_text() for t in fig.texts)
    assert "Source: PSS-EX1" in caption
    assert "Period: 2012-13" in caption
    plt.close(fig)


def test_age_standardised_row_with_given_rates_on_the_real_data(real) -> None:
    from asc_evidence.errors import UserInputError

    # illustrative rates per person (not published figures): the arithmetic is what is tested
    rates = pd.Series({"65-74": 0.0006, "75-84": 0.003, "85+": 0.015})
    t = sensitivity.benchmark_sensitivity("nursing_65", SOMERSET, "2021-22", reference_rates=rates)
    std = t.set_index("benchmark").loc["England, age-standardised (indirect, 65-74/75-84/85+)"]
    # Somerset mid-2021 (population_mye, ONS MYE2 persons, E10000027): 65-74 74,633; 75-84 48,518;
    # 85+ 19,687 (= the 142,838 aged 65+ of the rate). E = 74,633 x 0.0006 + 48,518 x 0.003 +
    # 19,687 x 0.015 = 44.780 + 145.554 + 295.305 = 485.639; O = 780 (T38 O165) -> 1.6061
    assert std["ratio"] == pytest.approx(780 / 485.639, abs=1e-4)
    assert std["council value"] == pytest.approx(780 / 485.639 * std["comparator value"], rel=1e-4)
    assert "mid-2021" in std["comparators"]
    assert "Check the reference rates" in std["verdict"]  # they do not reproduce England's value
    with pytest.raises(UserInputError, match="75-84"):
        sensitivity.benchmark_sensitivity(
            "nursing_65", SOMERSET, "2021-22", reference_rates=pd.Series({"65-74": 0.001})
        )


def test_a_ratio_just_above_one_is_not_shown_as_one() -> None:
    # an interval from 1.0004 would read "1.00 to ..." beside "higher": more decimals then
    assert sensitivity.fmt_ratio(1.0004) == "1.0004"
    assert sensitivity.fmt_ratio(1.004) == "1.004"
    assert sensitivity.fmt_ratio(0.996) == "0.996"
    assert sensitivity.fmt_ratio(1.41) == "1.41"
    assert sensitivity.fmt_ratio(1.0) == "1.00"
    assert sensitivity.fmt_ratio(float("nan")) == ""


def test_sensitivity_sections_name_indicators_of_that_section() -> None:
    for section, keys in sensitivity.SECTIONS.items():
        assert section in indicators.SECTIONS
        for key in keys:
            assert INDICATORS[key].section == section
            assert INDICATORS[key].kind != "price"  # a price has no counts to test
