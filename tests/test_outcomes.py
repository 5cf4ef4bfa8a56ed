"""ASCOF 2024-25 (client-level data) and the survey indicators (kind ``survey``): specs,
verdicts and trends on hand-made tables, and values read from the official time series (ODS)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from asc_evidence import compare, indicators, verdict
from asc_evidence.indicators import INDICATORS
from asc_evidence.sources import ascof

SURVEY_KEYS = (
    "quality_of_life",
    "satisfaction",
    "control_daily_life",
    "feel_safe",
    "social_contact",
)

# --- specs -------------------------------------------------------------------------------------


def test_survey_specs_are_declared_in_the_outcomes_section() -> None:
    assert indicators.keys_for("outcomes") == ("reablement_at_home", *SURVEY_KEYS)
    assert indicators.SECTIONS["outcomes"] == "08_outcomes.ipynb"
    qol = indicators.spec("quality_of_life")
    assert (qol.kind, qol.polarity, qol.unit) == ("survey", "higher", "score out of 24")
    assert qol.measures == ("ascof_1A",)
    assert indicators.spec("satisfaction").measures == ("ascof_3A",)  # 2024-25 code 1D
    assert "ASCOF 1D, formerly 3A" in indicators.spec("satisfaction").title
    assert not qol.denominator_label  # no counts, no funnel
    reab = indicators.spec("reablement_at_home")
    assert (reab.kind, reab.breaks) == ("proportion", ("2024-25",))
    assert reab.definition("2024-25") == "ASCOF 2024-25 (client-level data basis)"


def test_a_malformed_survey_spec_is_refused() -> None:
    good = INDICATORS["quality_of_life"]
    with pytest.raises(ValueError, match="a survey indicator has no counts"):
        dataclasses.replace(good, denominator_label="Respondents")
    with pytest.raises(ValueError, match="a survey indicator has no counts"):
        dataclasses.replace(good, age_band="18+")
    with pytest.raises(ValueError, match="multiplier 1"):
        dataclasses.replace(good, multiplier=100.0)
    with pytest.raises(ValueError, match="kind 'poll'"):
        dataclasses.replace(good, kind="poll")
    # counted kinds still need the funnel's axis label; a survey does not
    with pytest.raises(ValueError, match="denominator_label"):
        dataclasses.replace(INDICATORS["reablement_at_home"], denominator_label="")
    assert dataclasses.replace(good, title="another survey measure").kind == "survey"


# --- verdicts and trends on hand-made tables ----------------------------------------------------


def _survey_table(
    rows: dict[str, list[tuple[str, float, float]]], england: dict[str, float]
) -> pd.DataFrame:
    """Indicator rows on current geography: ``{code: [(period, value, moe), ...]}``."""
    out = [
        {"council_code": c, "level": "council", "period": p, "value": v, "moe": m,
         "respondents": 300.0}
        for c, series in rows.items()
        for p, v, m in series
    ]  # fmt: skip
    out += [
        {"council_code": "E92000001", "level": "england", "period": p, "value": v, "moe": 0.0}
        for p, v in england.items()
    ]
    df = pd.DataFrame(out).assign(
        indicator="satisfaction", numerator=np.nan, denominator=np.nan, unit="%", flag=""
    )
    df["council_name"] = df["council_code"]
    return df.assign(
        area_code=df["council_code"], area_name=df["council_name"], geography="current"
    )


# Swindon (E06000030) and ten made-up councils; England 65.0. Swindon 58.0 +/- 4.9 gives the
# interval 53.1 to 62.9, wholly below England: Fingertips "Worse (95%)" (polarity higher).
OTHERS = [f"E06{i:06d}" for i in range(1, 11)]
VALUES = [60.0, 62.0, 64.0, 66.0, 68.0, 70.0, 72.0, 74.0, 76.0, 78.0]


@pytest.fixture
def survey(monkeypatch: pytest.MonkeyPatch) -> pd.DataFrame:
    rows = {"E06000030": [("2024-25", 58.0, 4.9)]}
    rows |= {c: [("2024-25", v, 4.0)] for c, v in zip(OTHERS, VALUES, strict=True)}
    table = _survey_table(rows, {"2024-25": 65.0})
    monkeypatch.setattr(indicators, "get", lambda key: table)
    return table


def test_survey_verdict_uses_the_published_interval(survey: pd.DataFrame) -> None:
    v = verdict.benchmark("satisfaction", "E06000030", "2024-25", tuple(OTHERS[:4]))
    assert (v.lower95, v.upper95) == (pytest.approx(53.1), pytest.approx(62.9))  # 58.0 -/+ 4.9
    assert np.isnan(v.lower99_8)  # only a 95% interval is published
    assert v.fingertips == "Worse (95%)"  # England's 65.0 lies above the upper limit 62.9
    assert v.funnel is None
    assert v.funnel998 == verdict.NO_FUNNEL
    assert v.respondents == 300
    # neighbours 60, 62, 64, 66: median 63.0; ranks: 58.0 is lowest of 5 and of all 11 councils
    assert v.neighbours_value == pytest.approx(63.0)
    assert (v.rank_neighbours, v.n_ranked_neighbours, v.rank_all, v.n_all) == (5, 5, 11, 11)
    s = v.sentence
    assert s.startswith("Swindon: 58.0 (%) in 2024-25 (95% interval 53.1 to 62.9, from the ")
    assert "published margin of error of 4.9; 300 respondents), England 65.0." in s
    assert "from its published survey interval (the Fingertips method, one 95% interval): " in s
    assert "Worse (95%)." in s
    assert "median of its 4 neighbours with figures: 63.0" in s
    for word in ("significantly", "funnel", "control limit", "overdispersion"):
        assert word not in s.lower()
    assert compare.funnel_words(v) == "no funnel (a survey: published interval only)"


def test_survey_verdict_similar_when_england_inside_and_none_without_england(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = {"E06000030": [("2020-21", 66.0, 3.0), ("2024-25", 63.0, 3.0)]}
    rows |= {c: [("2024-25", v, 4.0)] for c, v in zip(OTHERS, VALUES, strict=True)}
    table = _survey_table(rows, {"2024-25": 65.0})  # no England figure for 2020-21
    monkeypatch.setattr(indicators, "get", lambda key: table)
    v = verdict.benchmark("satisfaction", "E06000030", "2024-25", ())
    assert v.fingertips == "Similar"  # 65.0 inside 60.0 to 66.0
    assert "one 95% interval): similar." in v.sentence
    gap = verdict.benchmark("satisfaction", "E06000030", "2020-21", ())
    assert np.isnan(gap.england)  # never a median of councils standing in for England
    assert gap.fingertips == "Not compared"
    assert "England has no published figure for 2020-21, so no comparison is made." in gap.sentence


def test_survey_recent_trend_from_the_published_intervals(monkeypatch: pytest.MonkeyPatch) -> None:
    # 60, 62, 64, 66, 68 with margin 1.96: SE = (2 x 1.96) / 3.92 = 1 each year. Weighted least
    # squares with w = 1, t = 1..5: slope 2.0 a year, SE(b) = sqrt(5 / (5 x 55 - 15^2)) = 0.3162,
    # chi2 = (2 / 0.3162)^2 = 40.0 > 9.5495: increasing, and higher is better.
    periods = ["2020-21", "2021-22", "2022-23", "2023-24", "2024-25"]
    rows = {"E06000030": [(p, 60.0 + 2 * i, 1.96) for i, p in enumerate(periods)]}
    monkeypatch.setattr(indicators, "get", lambda key: _survey_table(rows, {}))
    r = compare.recent_trend("satisfaction", "E06000030")
    assert r.slope == pytest.approx(2.0)
    assert r.chi2 == pytest.approx(40.0)
    assert r.marker == "Increasing and getting better"


# --- real data (processed tables built, incl. ascof_timeseries) ---------------------------------


@pytest.fixture(scope="module")
def real(require_processed) -> None:
    from asc_evidence import build

    require_processed(
        "ascof", "ascof_timeseries", "population_mye", "population_2014", "council_profile"
    )
    build.clear_caches()
    yield
    build.clear_caches()


def test_real_2024_25_admissions_have_official_counts(real) -> None:
    """Time series, Table_2b / Table_2c, cells D (numerator), E (denominator), F (outcome): Swindon
    row 157, Somerset 162, Walsall 78, England 8 (PROVENANCE.md spot checks)."""
    want = {
        "admissions_18_64": {"E06000030": (18, 149863, 12.0), "E06000066": (43, 325724, 13.2),
                             "E08000030": (28, 173291, 16.2), "E92000001": (6035, 35455995, 17.0)},
        "admissions_65": {"E06000030": (183, 39768, 460.2), "E06000066": (918, 149580, 613.7),
                          "E08000030": (338, 50588, 668.1), "E92000001": (65060, 10981090, 592.5)},
        "direct_payments": {"E06000030": (340, 1562, 21.8), "E06000066": (1764, 4990, 35.4),
                            "E08000030": (639, 2527, 25.3), "E92000001": (117655, 480105, 24.5)},
        "reablement_at_home": {"E06000030": (153, 223, 68.61), "E06000066": (936, 1526, 61.34),
                               "E08000030": (996, 1767, 56.37)},
    }  # fmt: skip
    for key, rows in want.items():
        t = indicators.get(key).set_index(["council_code", "period"])
        for code, counts in rows.items():
            r = t.loc[(code, "2024-25")]
            assert (r["numerator"], r["denominator"], r["value"]) == counts, (key, code)
            assert r["flag"].startswith("new definition: not comparable with 2023-24"), (key, code)
        # the year before stays on the old definition, its numerator still approximated
        prev = t.loc[("E06000030", "2023-24")]
        assert "approximation" in prev["flag"], key
        assert indicators.spec(key).definition("2023-24") != indicators.spec(key).definition(
            "2024-25"
        )


def test_real_swindon_survey_values_and_verdict(real) -> None:
    """Time series Table_1a / Table_1d, row 162 (Swindon): 2015-16 in D/E/F, 2024-25 in AE/AF/AG
    (margin of error, respondents, outcome); England row 7."""
    qol = indicators.get("quality_of_life").set_index(["council_code", "period"])
    sat = indicators.get("satisfaction").set_index(["council_code", "period"])
    cols = ["value", "moe", "respondents"]
    assert qol.loc[("E06000030", "2015-16"), cols].tolist() == [19.3, 0.3, 422]
    assert qol.loc[("E06000030", "2024-25"), cols].tolist() == [19.0, 0.4, 330]
    assert sat.loc[("E06000030", "2015-16"), cols].tolist() == [65.9, 3.9, 455]
    assert sat.loc[("E06000030", "2024-25"), cols].tolist() == [61.0, 4.9, 350]
    assert ascof.FLAG_SURVEY_2020_21 in sat.loc[("E06000030", "2020-21"), "flag"]
    # 2020-21 is published for 18 councils only (York, E06000014, among them: 72.3 in Table_1d):
    # not used, so no neighbours' median or rank rests on a handful of councils
    assert np.isnan(sat.loc[("E06000014", "2020-21"), "value"])
    assert sat.loc[("E06000014", "2020-21"), "flag"] == indicators.SURVEY_YEARS_NOT_USED["2020-21"]
    v = verdict.benchmark("satisfaction", "E06000030", "2024-25", ())
    # 61.0 -/+ 4.9 = 56.1 to 65.9; England 65.1 (AG7) is inside: similar
    assert (v.lower95, v.upper95, v.england) == (
        pytest.approx(56.1),
        pytest.approx(65.9),
        pytest.approx(65.1),
    )
    assert v.fingertips == "Similar"
    assert (
        "(95% interval 56.1 to 65.9, from the published margin of error of 4.9; 350 " in v.sentence
    )
