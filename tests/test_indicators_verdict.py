"""Headline indicators and verdicts, on hand-made tables and against published ASCOF values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from asc_evidence import indicators, tidy, verdict


def _tidy(rows: list[dict], source: str) -> pd.DataFrame:
    return tidy.make_tidy(pd.DataFrame(rows), source=source)


@pytest.fixture
def fake_tables(monkeypatch: pytest.MonkeyPatch):
    """Two councils, one financial year of delayed days, and their 18+ populations."""
    months = [f"2018-{m:02d}" for m in range(4, 13)] + [f"2019-{m:02d}" for m in range(1, 4)]
    dt = []
    for p in months:
        dt.append(
            {
                "council_code": "E06000030",
                "period": p,
                "measure": "dtoc_days_social_care",
                "value": 365.0 / 12 * 2,
            }
        )
        dt.append(
            {
                "council_code": "E06000031",
                "period": p,
                "measure": "dtoc_days_social_care",
                "value": 365.0 / 12,
            }
        )
    pop14 = [
        {"council_code": c, "period": "2014", "age_band": "18+", "value": v}
        for c, v in (("E06000030", 100_000.0), ("E06000031", 50_000.0))
    ]
    mye = [
        {"council_code": c, "period": "2018", "age_band": "18+", "value": v}
        for c, v in (("E06000030", 200_000.0), ("E06000031", 100_000.0))
    ]
    tables = {
        "dtoc_monthly": _tidy(dt, "delayed_transfers"),
        "population_2014": _tidy(pop14, "ons_mye_2014"),
        "population_mye": _tidy(mye, "ons_mye"),
    }
    monkeypatch.setattr(indicators, "load", lambda name: tables[name])
    indicators.population.cache_clear()
    indicators._monthly_delays.cache_clear()
    indicators.get.cache_clear()
    yield tables
    indicators.population.cache_clear()
    indicators._monthly_delays.cache_clear()
    indicators.get.cache_clear()


def test_delayed_transfer_rate_is_days_per_day_per_100k(fake_tables) -> None:
    out = indicators.raw("delayed_social_care").set_index("council_code")
    # 730 delayed days over 200,000 adults x 365 days = 2 delayed beds a day per 200,000 = 1.0 per 100,000
    assert out.loc["E06000030", "numerator"] == pytest.approx(730.0)
    assert out.loc["E06000030", "denominator"] == 200_000 * 365
    assert out.loc["E06000030", "months"] == 12
    assert out.loc["E06000030", "value"] == pytest.approx(1.0)
    assert out.loc["E06000031", "value"] == pytest.approx(1.0)  # 1 bed a day per 100,000 adults
    assert out.loc["E06000030", "period"] == "2018-19"
    assert out.loc["E06000030", "flag"] == ""  # 12 months, mid-2018 population: nothing approximate


def test_population_interpolation_is_flagged(fake_tables) -> None:
    pop = indicators.population("18+").set_index(["council_code", "year"])
    # mid-2016 halfway between mid-2014 (100,000) and mid-2018 (200,000)
    assert pop.loc[("E06000030", 2016), "population"] == pytest.approx(150_000)
    assert "interpolated" in pop.loc[("E06000030", 2016), "pop_flag"]
    assert pop.loc[("E06000030", 2012), "population"] == 100_000
    assert "mid-2014" in pop.loc[("E06000030", 2012), "pop_flag"]


def _indicator_table(
    values: dict[str, tuple[float, float]], england: float, key: str
) -> pd.DataFrame:
    rows = [
        {
            "indicator": key,
            "council_code": c,
            "council_name": c,
            "level": "council",
            "period": "2020-21",
            "numerator": x,
            "denominator": n,
            "value": x / n * 1e5,
            "unit": "per 100,000",
            "flag": "",
        }
        for c, (x, n) in values.items()
    ]
    rows.append(
        {
            "indicator": key,
            "council_code": "E92000001",
            "council_name": "England",
            "level": "england",
            "period": "2020-21",
            "numerator": np.nan,
            "denominator": np.nan,
            "value": england,
            "unit": "per 100,000",
            "flag": "",
        }
    )
    return _with_areas(pd.DataFrame(rows))


def _with_areas(df: pd.DataFrame) -> pd.DataFrame:
    """Hand-made indicator tables are on current geography: each council is its own area."""
    return df.assign(
        area_code=df["council_code"], area_name=df["council_name"], geography="current"
    )


def _councils(n: int) -> list[str]:
    return [f"E06{i:06d}" for i in range(1, n + 1)]


def test_verdict_significantly_worse_when_far_above_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codes = _councils(40)
    rng = np.random.default_rng(1)
    values = {c: (float(rng.poisson(500)), 100_000.0) for c in codes}  # all near 500 per 100,000
    values[codes[0]] = (1500.0, 100_000.0)  # three times England
    table = _indicator_table(values, 500.0, "admissions_65")
    monkeypatch.setattr(indicators, "get", lambda key: table)
    v = verdict.benchmark("admissions_65", codes[0], "2020-21", tuple(codes[1:16]))
    assert v.funnel998 == "above"
    assert v.value == pytest.approx(1500.0)
    assert v.rank_all == 1
    assert v.n_all == 40
    assert "Significantly higher than England (beyond the 99.8% control limit" in v.sentence
    assert v.sentence.count("worse") == 1  # lower is better for admissions
    # exact Poisson 95% interval for 1500 events (Garwood 1936: chi2(0.025; 2x)/2, chi2(0.975; 2x+2)/2)
    # = 1425.04 to 1577.88 per 100,000 (normal approximation would give 1424.1 to 1575.9)
    assert v.lower95 == pytest.approx(1425.04, abs=0.01)
    assert v.upper95 == pytest.approx(1577.88, abs=0.01)


def test_verdict_never_overstates_a_small_difference(monkeypatch: pytest.MonkeyPatch) -> None:
    codes = _councils(40)
    values = {c: (500.0 + (i % 7 - 3) * 40, 100_000.0) for i, c in enumerate(codes)}
    values[codes[0]] = (540.0, 100_000.0)
    table = _indicator_table(values, 500.0, "admissions_65")
    monkeypatch.setattr(indicators, "get", lambda key: table)
    v = verdict.benchmark("admissions_65", codes[0], "2020-21", tuple(codes[1:16]))
    assert v.funnel998 == "within"
    assert "within what chance and normal variation between councils would produce" in v.sentence
    assert "significantly" not in v.sentence
    assert "worse" not in v.sentence


def test_price_verdict_uses_neighbour_median_and_no_significance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codes = _councils(6)
    fees = [20.0, 15.0, 16.0, 17.0, 18.0, 30.0]
    rows = [
        {
            "indicator": "fee_home_care_hour",
            "council_code": c,
            "council_name": c,
            "level": "council",
            "period": "2021-22",
            "numerator": np.nan,
            "denominator": np.nan,
            "value": f,
            "unit": "GBP per hour",
            "flag": "",
        }
        for c, f in zip(codes, fees, strict=True)
    ]
    monkeypatch.setattr(indicators, "get", lambda key: _with_areas(pd.DataFrame(rows)))
    v = verdict.benchmark("fee_home_care_hour", codes[0], "2021-22", tuple(codes[1:5]))
    # neighbours 15, 16, 17, 18: median 16.50; council pays 3.50 (21%) more
    assert v.neighbours_value == pytest.approx(16.5)
    assert "£3.50 (21%) above the median of its 4 neighbours with figures (£16.50)" in v.sentence
    assert "outside the range paid by the middle half" in v.sentence  # IQR 15.75 to 17.25
    assert "no significance test" in v.sentence
    assert v.rank_all == 2  # only 30.00 is higher


def test_dtoc_rate_reproduces_published_ascof_2c2(mirror) -> None:
    """ASCOF 2C(2) = social-care delayed days / days / 18+ population x 100,000 (from 2015-16).

    Published values (ascof trend_data.csv, PROVENANCE spot checks): Swindon 2017-18 4.4,
    2018-19 0.9; England 2017-18 4.3, 2018-19 3.1.
    """
    from asc_evidence.build import build

    build(only=["dtoc_monthly", "population_2014", "population_mye"])
    indicators.get.cache_clear()
    indicators.population.cache_clear()
    indicators._monthly_delays.cache_clear()
    t = indicators.get("delayed_social_care").set_index(["council_code", "period"])["value"]
    assert t[("E06000030", "2017-18")] == pytest.approx(4.4, abs=0.15)
    assert t[("E06000030", "2018-19")] == pytest.approx(0.9, abs=0.1)


def test_value_without_counts_is_not_called_within_normal_variation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codes = _councils(30)
    values = {c: (500.0, 100_000.0) for c in codes}
    table = _indicator_table(values, 500.0, "admissions_65")
    table.loc[0, ["numerator", "denominator"]] = np.nan  # value published, counts not
    table.loc[0, "value"] = 900.0
    monkeypatch.setattr(indicators, "get", lambda key: table)
    v = verdict.benchmark("admissions_65", codes[0], "2020-21", tuple(codes[1:16]))
    assert v.value == 900.0
    assert "cannot be tested" in v.sentence
    assert "within what chance" not in v.sentence
    assert "95% CI" not in v.sentence


def test_council_without_a_figure_gets_a_plain_no_figure_verdict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codes = _councils(30)
    table = _indicator_table({c: (500.0, 100_000.0) for c in codes}, 500.0, "admissions_65")
    monkeypatch.setattr(indicators, "get", lambda key: table)
    v = verdict.benchmark(
        "admissions_65", "E06000063", "2020-21", tuple(codes[:15])
    )  # Cumberland, created 2023
    assert np.isnan(v.value)
    assert (
        "no 2020-21 figure (the council was created on 2023-04-01; earlier figures are for Cumbria)"
        in v.sentence
    )
    assert verdict.missing_headline("E06000063", [v]) == [
        indicators.INDICATORS[k].title for k in verdict.HEADLINE
    ]


def test_latest_missing_year_is_explained_but_a_chosen_year_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codes = _councils(6)
    rows = []
    for period, fees in (
        ("2020-21", [20.0, 15, 16, 17, 18, 30]),
        ("2021-22", [np.nan, 15, 16, 17, 18, 30]),
    ):
        for c, f in zip(codes, fees, strict=True):
            rows.append(
                {
                    "indicator": "fee_home_care_hour",
                    "council_code": c,
                    "council_name": c,
                    "level": "council",
                    "period": period,
                    "numerator": np.nan,
                    "denominator": np.nan,
                    "value": f,
                    "unit": "GBP per hour",
                    "flag": "not submitted" if np.isnan(f) else "",
                }
            )
    monkeypatch.setattr(indicators, "get", lambda key: _with_areas(pd.DataFrame(rows)))
    v = verdict.benchmark("fee_home_care_hour", codes[0], "2020-21", tuple(codes[1:5]))
    assert "No 2021-22 figure for this council (not submitted), so 2020-21 is shown." in v.sentence
    w = verdict.benchmark("fee_home_care_hour", codes[1], "2020-21", tuple(codes[2:5]))
    assert "No 2021-22 figure" not in w.sentence  # it has one; 2020-21 was asked for


# --- issue 10: two honest comparisons, the right reasons -------------------------------------


def test_fingertips_comparison_and_funnel_disagreement_is_explained(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A large council modestly above England: its own interval excludes England (Fingertips:
    worse at 99.8%) but councils vary so much that the adjusted funnel calls it normal variation.

    Hand check of the interval: x = 5,600 admissions in 1,000,000 people, exact Poisson 99.8%
    limits about 5,600 -/+ 3.09 sqrt(5,600) = 5,369 to 5,831, i.e. 536.9 to 583.1 per 100,000,
    which excludes England's 500; lower is better for admissions, so "Worse (99.8%)".
    """
    codes = _councils(40)
    spread = np.linspace(300, 700, 40)  # councils differ far beyond Poisson noise
    values = {c: (float(r) * 10, 1_000_000.0) for c, r in zip(codes, spread, strict=True)}
    values[codes[0]] = (5_600.0, 1_000_000.0)
    table = _indicator_table(values, 500.0, "admissions_65")
    monkeypatch.setattr(indicators, "get", lambda key: table)
    v = verdict.benchmark("admissions_65", codes[0], "2020-21", tuple(codes[1:16]))
    assert v.lower99_8 == pytest.approx(536.9, abs=0.5)
    assert v.fingertips == "Worse (99.8%)"
    assert v.funnel998 == "within"
    assert "Worse (99.8%)" in v.sentence
    assert (
        "The two differ because the interval reflects only chance within the council" in v.sentence
    )
    assert "significantly" not in v.sentence


def test_too_few_councils_is_the_reason_given(monkeypatch: pytest.MonkeyPatch) -> None:
    codes = _councils(2)
    table = _indicator_table(
        {codes[0]: (600.0, 100_000.0), codes[1]: (400.0, 100_000.0)}, 500.0, "admissions_65"
    )
    monkeypatch.setattr(indicators, "get", lambda key: table)
    v = verdict.benchmark("admissions_65", codes[0], "2020-21", (codes[1],))
    assert "too few councils with counts in 2020-21 (2)" in v.sentence
    assert "no published count" not in v.sentence
    assert v.funnel is None


def test_lower_value_with_a_zero_lower_limit_is_not_called_normal_variation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A council of 100 people with no admissions against England's 500 per 100,000: the expected
    count is 0.5, so even the exact 99.8% lower limit is 0 and no lower value can be told apart."""
    codes = _councils(30)
    rng = np.random.default_rng(3)
    values = {c: (float(rng.poisson(500)), 100_000.0) for c in codes}
    values[codes[0]] = (0.0, 100.0)
    table = _indicator_table(values, 500.0, "admissions_65")
    monkeypatch.setattr(indicators, "get", lambda key: table)
    v = verdict.benchmark("admissions_65", codes[0], "2020-21", tuple(codes[1:16]))
    assert v.lower_limit_zero
    assert v.lower_limit_small
    assert "the council is too small (too few expected events)" in v.sentence
    assert "within what chance" not in v.sentence


def test_year_asked_for_and_year_shown_are_both_named(monkeypatch: pytest.MonkeyPatch) -> None:
    codes = _councils(6)
    rows = []
    for period, fees in (
        ("2020-21", [20.0, 15, 16, 17, 18, 30]),
        ("2021-22", [np.nan, 15, 16, 17, 18, 30]),
    ):
        for c, f in zip(codes, fees, strict=True):
            rows.append({
                "indicator": "fee_home_care_hour", "council_code": c, "council_name": c,
                "level": "council", "period": period, "numerator": np.nan, "denominator": np.nan,
                "value": f, "unit": "GBP per hour", "flag": "not submitted" if np.isnan(f) else "",
            })  # fmt: skip
    monkeypatch.setattr(indicators, "get", lambda key: _with_areas(pd.DataFrame(rows)))
    v = verdict.benchmark(
        "fee_home_care_hour", codes[0], "2020-21", tuple(codes[1:5]), requested="2021-22"
    )
    assert (
        "2021-22 was asked for, but there is no 2021-22 figure (not submitted), so 2020-21 is shown."
        in v.sentence
    )


def test_a_year_with_few_months_gets_no_annual_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    codes = _councils(30)
    table = _indicator_table({c: (500.0, 100_000.0) for c in codes}, 500.0, "delayed_social_care")
    table["months"] = 12
    table["dispersion"] = 1.0
    table.loc[0, "months"] = 2
    monkeypatch.setattr(indicators, "get", lambda key: table)
    v = verdict.benchmark("delayed_social_care", codes[0], "2020-21", tuple(codes[1:16]))
    assert "only 2 months reported in 2020-21" in v.sentence
    assert v.fingertips == "Not compared"
    assert "95% CI" not in v.sentence


def test_near_100_percent_a_higher_value_is_not_called_normal_variation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Proportions piled up near 100% (like ASCOF 1C(1A)): councils vary so much on the arcsine
    scale that the adjusted 99.8% upper limit is 100%, so a council at 100% cannot be "higher"."""
    codes = _councils(40)
    shares = np.r_[np.linspace(0.55, 0.99, 20), np.full(20, 1.0)]
    values = {c: (round(p * 1_000), 1_000.0) for c, p in zip(codes, shares, strict=True)}
    rows = _indicator_table(values, 92.0, "self_directed_support")
    rows["value"] = rows["numerator"] / rows["denominator"] * 100
    rows.loc[rows["council_code"] == "E92000001", "value"] = 92.0
    monkeypatch.setattr(indicators, "get", lambda key: rows)
    v = verdict.benchmark("self_directed_support", codes[-1], "2020-21", tuple(codes[:15]))
    assert v.value == pytest.approx(100.0)
    assert v.upper_limit_full
    assert "a higher value cannot be distinguished" in v.sentence
    assert "within what chance" not in v.sentence


def test_significant_on_an_approximated_count_is_only_indicative(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codes = _councils(40)
    rng = np.random.default_rng(1)
    values = {c: (float(rng.poisson(500)), 100_000.0) for c in codes}
    values[codes[0]] = (1500.0, 100_000.0)
    table = _indicator_table(values, 500.0, "admissions_65")
    table.loc[table["council_code"] == codes[0], "flag"] = (
        "approximation: numerator = rate x population"
    )
    monkeypatch.setattr(indicators, "get", lambda key: table)
    v = verdict.benchmark("admissions_65", codes[0], "2020-21", tuple(codes[1:16]))
    assert v.funnel998 == "above"
    assert "only indicatively: the count behind it is approximated" in v.sentence
    assert "Significantly" not in v.sentence
    assert "significantly" not in v.sentence


def test_equal_at_display_precision_is_about_the_same() -> None:
    assert verdict._direction(3.14, 3.06) == "about the same as"  # both show as 3.1
    assert verdict._direction(3.16, 3.04) == "higher than"


def test_a_split_councils_own_area_is_not_its_neighbour(require_processed) -> None:
    """Before the 2023 split, Cumberland and Westmorland and Furness both show Cumbria's figure:
    W&F is then the same area as Cumberland, not a neighbour. The comparison table and the trend
    chart leave it out, as the verdict does, so all three give the same neighbours' value."""
    from asc_evidence import compare

    require_processed("ascof", "ascof_timeseries", "population_mye", "council_profile")
    cumberland, wf = "E06000063", "E06000064"
    neighbours = verdict.neighbour_set(cumberland, 15, "")
    assert wf in neighbours  # the model pairs them: the case under test
    v = verdict.benchmark("admissions_65", cumberland, "2022-23", neighbours)
    table = compare.comparison_table("admissions_65", cumberland, neighbours, "2022-23")
    assert "Westmorland and Furness" not in table.index
    assert v.neighbours_n == len(neighbours) - 1 == (table["Compared as"] == "neighbour").sum()
    combined = float(table.loc["Neighbours (combined)"].iloc[1].replace(",", ""))
    assert combined == pytest.approx(v.neighbours_value, abs=0.05)
    assert any(n.startswith("Westmorland and Furness is left out") and "Cumbria's" in n
               for n in table.attrs["notes"])  # fmt: skip
    frame = compare.trend_frame("admissions_65", cumberland, neighbours)
    nb = frame[frame["series"].str.startswith("Neighbours") & (frame["period"] == "2022-23")]
    assert nb["value"].iloc[0] == pytest.approx(v.neighbours_value)
    # after the split (2024-25) W&F has its own figure and is a neighbour again
    later = compare.comparison_table("admissions_65", cumberland, neighbours, "2024-25")
    assert "Westmorland and Furness" in later.index


def test_rate_over_an_approximated_population_is_not_an_exact_trend(require_processed) -> None:
    """Nursing placements 2008-09 to 2013-14 divide published counts by mid-2014's population
    carried back (flagged): the change a year is the slope of the values, not a Poisson GLM on
    counts over a frozen denominator, and the sentence says the population is approximated."""
    from asc_evidence import compare

    require_processed("unit_costs", "population_mye", "population_2014")
    bury = "E08000002"
    mine = compare.latest_segment("nursing_65", bury, "2013-14")
    assert mine["flag"].str.contains("population for mid-2011 taken as mid-2014").any()
    assert mine["numerator"].notna().all()  # published counts: the old rule called this exact
    summary = compare.trend_summary("nursing_65", bury, (), upto="2013-14")
    row = summary.loc[summary.index.str.contains("change a year")].iloc[0]
    notes = " ".join(summary.attrs["notes"])
    method = next(n for n in summary.attrs["notes"] if n.startswith(f"{row['Method']}."))
    assert "over an approximated population" in method, notes
    assert row["Verdict"].endswith("(indicative)")
    v = verdict.benchmark("nursing_65", bury, "2011-12", ())
    assert "The population behind the rate is approximated" in v.sentence
    assert "count behind it" not in v.sentence


@pytest.mark.parametrize(
    ("flag", "words"),
    [
        ("approximation: numerator = published rate x ONS population / 100,000",
         "the count behind it is approximated from the published rate and ONS population"),
        ("approximation: denominator from 2020-21, numerator = % x denominator",
         "its count and denominator are approximated from 2020-21's denominator"),
        ("approximation: mid-2016 population interpolated (mid-2014, mid-2018)",
         "the population behind the rate is approximated from other years' estimates"),
        ("boundary: predecessor area (Cumbria)", ""),
    ],
)  # fmt: skip
def test_approximations_are_named_for_what_they_approximate(flag: str, words: str) -> None:
    assert verdict.approximated(flag) == words


def test_no_count_at_all_is_not_called_too_few_councils(monkeypatch: pytest.MonkeyPatch) -> None:
    """As for admissions 18-64 in 2017-18 (no numerator published, no population for mid-2017 to
    derive one): when no council has a count, the reason says so, not "too few councils"."""
    codes = _councils(5)
    table = _indicator_table({c: (np.nan, np.nan) for c in codes}, 14.0, "admissions_18_64")
    table["value"] = [13.0, 15.0, 12.0, 16.0, 14.5, 14.0][: len(table)]
    monkeypatch.setattr(indicators, "get", lambda key: table)
    v = verdict.benchmark("admissions_18_64", codes[0], "2020-21", ())
    assert "no council has a count for 2020-21" in v.sentence
    assert "too few councils" not in v.sentence


def test_delayed_transfer_intervals_are_named_quasi_poisson(require_processed) -> None:
    """Delayed days are compared from quasi-Poisson intervals (the within-council dispersion),
    not Fingertips' plain Poisson: the sentence says so; admissions keep "the Fingertips method"."""
    require_processed("dtoc_monthly", "ascof", "population_mye", "population_2014")
    v = verdict.benchmark("delayed_social_care", "E08000002", "2018-19", ())
    assert callable(verdict.within_dispersion(indicators.spec("delayed_social_care"), "2018-19"))
    assert "(the Fingertips method, with quasi-Poisson intervals" in v.sentence
    a = verdict.benchmark("admissions_65", "E08000002", "2022-23", ())
    assert "(the Fingertips method):" in a.sentence
    assert "quasi-Poisson" not in a.sentence


def test_the_small_count_rule_of_recent_trends_leaves_delayed_days_alone(
    require_processed,
) -> None:
    """Delayed days are days, not events, and their intervals are quasi-Poisson: a year of 0
    days has a wide interval (it does not outweigh the others), so the 10-event rule of the
    recent trend is not applied to them (Darlington, both responsible, 0 days in 2016-17)."""
    from asc_evidence import compare

    require_processed("dtoc_monthly", "population_mye", "population_2014")
    ind = indicators.spec("delayed_both")
    mine = compare.latest_segment("delayed_both", "E06000005")
    assert compare.events(ind, mine) is None
    assert compare.events(indicators.spec("admissions_65"), mine).equals(mine["numerator"])
    r = compare.recent_trend("delayed_both", "E06000005")
    assert "fewer than 10 events" not in r.reason


def test_ranked_bars_leave_out_a_neighbour_showing_the_councils_own_area(require_processed):
    """Home-care prices 2021-22: Westmorland and Furness shows Cumbria's price, Cumberland's own;
    the ranked bars, like the table, show it once (as Cumberland), not as a neighbour too."""
    import matplotlib.pyplot as plt

    from asc_evidence import compare

    require_processed("ascfr_2021_22", "council_profile")
    cumberland = "E06000063"
    neighbours = verdict.neighbour_set(cumberland, 15, "")
    key = next(k for k in indicators.keys_for("fee_rates") if "home" in k)
    v = verdict.benchmark(key, cumberland, "2021-22", neighbours)
    fig = compare.ranked_figure(v, neighbours)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    plt.close(fig)
    assert "Cumberland" in labels
    assert "Westmorland and Furness" not in labels
    assert len(labels) == v.neighbours_n + 1
