"""Every council keeps its history: indicator series on current councils across the 2019-2023
reorganisations, checked against the processed tables (issue 11, item 1).

Expected values are worked out here from the processed tables (``dtoc_monthly``, ``unit_costs``,
``ascfr_2021_22``, ``ascof``, ``population_2014``, ``population_mye``; built by
``asc-evidence data build`` from the raw files named in each comment), not through
:mod:`asc_evidence.indicators`. Skipped when the processed tables are absent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from asc_evidence import build, councils, indicators

BCP, DORSET, BUCKS = "E06000058", "E06000059", "E06000060"
NORTH_N, WEST_N, CUMBERLAND, WESTMORLAND = "E06000061", "E06000062", "E06000063", "E06000064"
N_YORKS, SOMERSET = "E06000065", "E06000066"
FY_2018_19 = [f"2018-{m:02d}" for m in range(4, 13)] + [f"2019-{m:02d}" for m in range(1, 4)]


@pytest.fixture(scope="module")
def real(require_processed) -> None:
    """The real processed tables; skipped when they have not been built."""
    require_processed(
        "dtoc_monthly",
        "unit_costs",
        "ascfr_2021_22",
        "ascof",
        "population_mye",
        purpose=" to test geography continuity on real data",
    )
    build.load.cache_clear()
    indicators.population.cache_clear()
    indicators._monthly_delays.cache_clear()
    indicators.get.cache_clear()
    yield
    indicators.get.cache_clear()
    indicators.population.cache_clear()
    indicators._monthly_delays.cache_clear()


def _row(key: str, code: str, period: str) -> pd.Series:
    t = indicators.get(key)
    rows = t[(t["council_code"] == code) & (t["period"] == period)]
    assert len(rows) == 1, f"{key} {code} {period}: {len(rows)} rows"
    return rows.iloc[0]


def _days(code: str, months: list[str], measure: str = "dtoc_days_social_care") -> float:
    d = build.load("dtoc_monthly")
    d = d[(d["council_code"] == code) & (d["measure"] == measure) & d["period"].isin(months)]
    assert len(d) == len(months)
    assert d["value"].notna().all()
    return float(d["value"].sum())


def _pop(table: str, code: str, year: str, band: str = "18+") -> float:
    p = build.load(table)
    p = p[(p["council_code"] == code) & (p["period"] == year) & (p["age_band"] == band)]
    return float(p.loc[p["sex"] == "persons", "value"].iloc[0])


def _published(table: str, measure: str, code: str, period: str) -> float:
    t = build.load(table)
    t = t[(t["measure"] == measure) & (t["council_code"] == code) & (t["period"] == period)]
    t = t[t["sex"].isin(["persons", "all"]) | t["sex"].isna()] if "sex" in t else t
    return float(t["value"].iloc[0])


def test_somerset_keeps_somerset_county_history(real) -> None:
    # ASC-FR 2021-22 (NHS Digital, ascfr_2021_22, fee_home_care_hour_external) holds 22.00 under
    # Somerset County E10000027; the report had said "not published".
    fee = _row("fee_home_care_hour", SOMERSET, "2021-22")
    assert fee["value"] == pytest.approx(22.00)
    assert fee["geography"] == "recoded"
    assert fee["area_code"] == SOMERSET
    assert "recorded under predecessor code E10000027" in fee["flag"]
    assert "approximation" not in fee["flag"]
    # PSS-EX1 2013-14 (unit_costs, fee_home_care_hour_independent) carries Somerset County under the
    # new code E06000066: GBP 36,067,000 / 1,929,104 hours = 18.70
    old = _row("fee_home_care_hour", SOMERSET, "2013-14")
    assert old["value"] == pytest.approx(36_067_000 / 1_929_104, abs=0.005)
    assert old["geography"] == "recoded"
    # 2019-20 delays from Somerset County's 11 months (Apr 2019 - Feb 2020, dtoc_monthly) over
    # its mid-2019 18+ population (population_mye, E10000027)
    months = [f"2019-{m:02d}" for m in range(4, 13)] + ["2020-01", "2020-02"]
    covered = sum(pd.Period(m).days_in_month for m in months)
    expected = (
        _days("E10000027", months) / covered / _pop("population_mye", "E10000027", "2019") * 1e5
    )
    delay = _row("delayed_social_care", SOMERSET, "2019-20")
    assert delay["value"] == pytest.approx(expected, rel=1e-9)
    assert delay["source_codes"] == "E10000027"
    # ASCOF 2A(2) and 1C(2A) from 2017-18 (ascof: 665.0 and 32.9 for E10000027 in 2017-18)
    adm = indicators.get("admissions_65")
    series = adm[adm["council_code"] == SOMERSET].set_index("period")["value"]
    # 2017-18 to 2023-24 (SALT basis) and 2024-25 (client-level data: a new definition)
    assert list(series.index) == [f"{y}-{str(y + 1)[2:]}" for y in range(2017, 2025)]
    assert series.notna().all()
    assert series["2017-18"] == pytest.approx(665.0)
    dp = _row("direct_payments", SOMERSET, "2017-18")
    assert dp["value"] == pytest.approx(32.9)
    # the 2023-24 row under the new code now has counts (was "not in funnel"): 37.7% of the 4,281
    # users Somerset County reported in 2020-21 (ascof ascof_1C2A, E10000027, 2020-21 denominator)
    dp24 = _row("direct_payments", SOMERSET, "2023-24")
    assert dp24["denominator"] == 4281
    assert dp24["numerator"] == pytest.approx(0.377 * 4281)


def test_north_yorkshire_keeps_county_history_and_its_comparisons(real) -> None:
    # ascfr_2021_22 fee_home_care_hour_external, North Yorkshire County E10000023, 2021-22: 22.00
    assert _row("fee_home_care_hour", N_YORKS, "2021-22")["value"] == pytest.approx(22.00)
    # dtoc_monthly E10000023, Apr 2018 - Mar 2019 (6,385 days) / 365 / mid-2018 18+ (497,006)
    expected = _days("E10000023", FY_2018_19) / 365 / _pop("population_mye", "E10000023", "2018")
    assert _row("delayed_social_care", N_YORKS, "2018-19")["value"] == pytest.approx(
        expected * 1e5, rel=1e-9
    )
    # present in its own year's comparison (neighbour tables used to drop it)
    xs = indicators.cross_section("fee_home_care_hour", "2021-22").set_index("area_code")
    assert xs.loc[N_YORKS, "value"] == pytest.approx(22.00)
    assert "E10000023" not in xs.index


def test_buckinghamshire_recode_2020(real) -> None:
    # unit_costs 2013-14 Buckinghamshire County E10000002: 14,547,000 / 738,344 hours = 19.70
    fee = _row("fee_home_care_hour", BUCKS, "2013-14")
    assert fee["value"] == pytest.approx(14_547_000 / 738_344, abs=0.005)
    assert "E10000002" in fee["flag"]
    assert fee["geography"] == "recoded"
    # dtoc_monthly E10000002 2018-19: 3,152 days / 365 / 415,738 adults (population_mye 2018)
    delay = _row("delayed_social_care", BUCKS, "2018-19")
    assert delay["value"] == pytest.approx(3152 / 365 / 415_738 * 1e5, rel=1e-9)
    # ascof 2A(2) 2019-20 under E10000002 = 420.0; its numerator uses the mid-2019 65+ population
    # published only under the new code E06000060 (population_mye 2019)
    adm = _row("admissions_65", BUCKS, "2019-20")
    pop65 = _pop("population_mye", BUCKS, "2019", "65+")
    assert adm["value"] == pytest.approx(420.0)
    assert adm["numerator"] == pytest.approx(420.0 * pop65 / 1e5)


def test_buckinghamshire_2019_20_pools_both_codes(real) -> None:
    t = indicators.get("delayed_social_care")
    if "dispersion" not in t:  # the rewrite adds `dispersion` with delayed days / person-days
        pytest.skip(
            "needs the additive numerator (delayed days) and denominator (adult person-days) of "
            "the delayed_transfers rewrite; a per-day average does not add across part-years"
        )
    # dtoc_monthly: Apr-Dec 2019 under E10000002, Jan-Feb 2020 under E06000060 (same area); one
    # rate = all delayed days / adult person-days (mid-2019 18+ of E06000060, population_mye)
    old = [f"2019-{m:02d}" for m in range(4, 13)]
    days = _days("E10000002", old) + _days(BUCKS, ["2020-01", "2020-02"])
    covered = sum(pd.Period(m).days_in_month for m in [*old, "2020-01", "2020-02"])
    pop = _pop("population_mye", BUCKS, "2019")
    row = _row("delayed_social_care", BUCKS, "2019-20")
    assert row["value"] == pytest.approx(days / covered / pop * 1e5, rel=1e-9)
    # the builder files the third-party Jan-Feb 2020 rows under the county code (valid to March
    # 2020) before the geography rule runs, so one source code remains
    assert set(row["source_codes"].split(";")) == {"E10000002"}


def test_bcp_before_2019_is_bournemouth_plus_poole(real) -> None:
    # dtoc_monthly Apr 2018 - Mar 2019: Bournemouth E06000028 247 days, Poole E06000029 10 days;
    # 18+ populations: no estimate on their boundaries after mid-2014 (population_2014: 157,194
    # and 120,399), carried forward and flagged
    days = _days("E06000028", FY_2018_19) + _days("E06000029", FY_2018_19)
    assert days == 257
    pop = _pop("population_2014", "E06000028", "2014") + _pop(
        "population_2014", "E06000029", "2014"
    )
    assert pop == 157_194 + 120_399
    row = _row("delayed_social_care", BCP, "2018-19")
    assert row["value"] == pytest.approx(257 / 365 / 277_593 * 1e5, rel=1e-9)
    assert row["geography"] == "merged"
    assert row["area_code"] == BCP
    assert "boundary: Bournemouth + Poole summed" in row["flag"]
    assert "Christchurch was in Dorset County (boundary-approximate)" in row["flag"]
    assert "taken as mid-2014" in row["flag"]
    # PSS-EX1 2013-14 (unit_costs): spend and hours summed = the hours-weighted mean price
    fee = _row("fee_home_care_hour", BCP, "2013-14")
    assert fee["value"] == pytest.approx((9_032_000 + 13_279_000) / (602_380 + 744_272))
    # ASCOF 1C before 2019 has no counts for either: no figure, with the reason
    dp = _row("direct_payments", BCP, "2018-19")
    assert np.isnan(dp["value"])
    assert "cannot be summed" in dp["flag"]


def test_dorset_shows_dorset_county_before_2019(real) -> None:
    # dtoc_monthly E10000009 2018-19: 3,195 days / 365 / mid-2014 18+ 341,035 (population_2014)
    row = _row("delayed_social_care", DORSET, "2018-19")
    assert row["value"] == pytest.approx(3195 / 365 / 341_035 * 1e5, rel=1e-9)
    assert row["area_code"] == "E10000009"
    assert row["geography"] == "predecessor area"
    assert "boundary: predecessor area (Dorset County)" in row["flag"]
    # unit_costs 2013-14 lists Dorset County under the new code E06000059: 12,140,000 / 691,680
    fee = _row("fee_home_care_hour", DORSET, "2013-14")
    assert fee["value"] == pytest.approx(17.6, abs=0.05)
    assert fee["area_code"] == "E10000009"
    # ascfr_2021_22, Dorset E06000059, 2021-22: its own figure
    own = _row("fee_home_care_hour", DORSET, "2021-22")
    assert own["value"] == pytest.approx(22.75)
    assert own["geography"] == "current"


def test_north_and_west_northamptonshire_inherit_northamptonshire(real) -> None:
    # dtoc_monthly E10000021 2018-19: 15,504 days / 365 / 577,387 adults (population_mye 2018)
    expected = 15_504 / 365 / 577_387 * 1e5
    for code in (NORTH_N, WEST_N):
        row = _row("delayed_social_care", code, "2018-19")
        assert row["value"] == pytest.approx(expected, rel=1e-9)
        assert row["area_code"] == "E10000021"
        assert "boundary: predecessor area (Northamptonshire)" in row["flag"]
    # ascfr_2021_22 2020-21: Northamptonshire 17.31; the successors' "not submitted" template rows
    # (councils that did not exist yet) are not figures
    assert _row("fee_home_care_hour", NORTH_N, "2020-21")["value"] == pytest.approx(17.31)
    assert _row("fee_home_care_hour", NORTH_N, "2021-22")["value"] == pytest.approx(17.40)
    assert _row("fee_home_care_hour", WEST_N, "2021-22")["value"] == pytest.approx(17.84)
    xs = indicators.cross_section("fee_home_care_hour", "2020-21").set_index("area_code")
    assert xs.loc["E10000021", "council_codes"] == f"{NORTH_N};{WEST_N}"
    assert NORTH_N not in xs.index
    assert WEST_N not in xs.index


def test_cumberland_and_westmorland_show_cumbria_flagged(real) -> None:
    # dtoc_monthly E10000006 2018-19: 12,894 days / 365 / 406,388 adults (population_mye 2018)
    expected = 12_894 / 365 / 406_388 * 1e5
    for code in (CUMBERLAND, WESTMORLAND):
        row = _row("delayed_social_care", code, "2018-19")
        assert row["value"] == pytest.approx(expected, rel=1e-9)
        assert row["geography"] == "predecessor area"
        assert row["area_code"] == "E10000006"
        assert "boundary: predecessor area (Cumbria)" in row["flag"]
        # ascfr_2021_22 Cumbria E10000006 2021-22: 18.64
        assert _row("fee_home_care_hour", code, "2021-22")["value"] == pytest.approx(18.64)
    # ascof 2023-24: their own figures (Cumberland 489.2, Westmorland and Furness 460.0)
    assert _row("admissions_65", CUMBERLAND, "2023-24")["value"] == pytest.approx(489.2)
    assert _row("admissions_65", WESTMORLAND, "2023-24")["value"] == pytest.approx(460.0)


def test_no_cross_section_counts_an_area_twice(real) -> None:
    splits = [ch for ch in councils.BOUNDARY_CHANGES if ch.kind != "recode"]
    for key in indicators.INDICATORS:
        t = indicators.get(key)
        assert not t.duplicated(["council_code", "period"]).any(), key
        for period in t["period"].unique():
            xs = indicators.cross_section(key, period)
            assert xs["area_code"].is_unique, (key, period)
            assert indicators.ENGLAND not in set(xs["area_code"])
            areas = set(xs["area_code"])
            for ch in splits:  # never a predecessor and its successor in one year's comparison
                both = areas & set(ch.predecessors) and areas & set(ch.successors)
                assert not both, (key, period, ch.note)
            # every council row of that year is represented by its area's row
            own = t[(t["period"] == period) & (t["level"] == "council")]
            assert set(own["area_code"]) == areas, (key, period)


def test_trends_never_join_a_predecessor_area_to_the_council_own_figures(real) -> None:
    """Cumberland's admissions 65+ for 2017-18..2022-23 are Cumbria's (predecessor area); only
    2023-24 is its own, so its recent trend cannot be calculated (1 point on its own boundary)
    instead of reading Cumbria-to-Cumberland as a fall (statistical review of issue 10)."""
    from asc_evidence import compare

    seg = compare.latest_segment("admissions_65", "E06000063", upto="2023-24")
    assert list(seg["period"]) == ["2023-24"]
    r = compare.recent_trend("admissions_65", "E06000063", upto="2023-24")
    assert r.marker == "Cannot be calculated"
    # 2024-25 is a new definition (client-level data): its own segment again
    assert list(compare.latest_segment("admissions_65", "E06000063")["period"]) == ["2024-25"]
    older = compare.council_series("admissions_65", "E06000063")
    assert (
        older.loc[older["period"] == "2019-20", "segment"]
        .iloc[0]
        .endswith("figures for Cumbria (predecessor area)")
    )
