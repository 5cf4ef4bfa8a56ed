"""Delayed-transfer indicator: months reported, person-day denominators, England over the same months,
dispersion; on hand-made tables (values worked out below) and on the real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from asc_evidence import indicators, tidy
from asc_evidence.stats.intervals import rate_ci
from asc_evidence.stats.quasi_poisson import overdispersed_rate_ci, split_half_check

FY18 = [f"2018-{m:02d}" for m in range(4, 13)] + [f"2019-{m:02d}" for m in range(1, 4)]
FY19 = [f"2019-{m:02d}" for m in range(4, 13)] + ["2020-01", "2020-02"]
THIRD = "third-party aggregate (JonnyP1990/dtoc)"


def _days(period: str) -> int:
    return pd.Period(period, freq="M").days_in_month


def _row(code: str, period: str, value: float, flag: str = "") -> dict:
    return {
        "council_code": code,
        "level": "england" if code == indicators.ENGLAND else "council",
        "period": period,
        "measure": "dtoc_days_social_care",
        "value": value,
        "flag": flag,
    }


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch):
    """2018-19: A all 12 months (2 delayed beds a day), B Apr-Dec only (1 a day; Jan NaN, Feb-Mar
    no row), C all but November (1 a day), England 12 months (1,000 a day).
    2019-20 (Apr 2019 - Feb 2020; Jan-Feb third-party, no England row for them): A 3 a day,
    B 1 a day, Buckinghamshire 1 a day (county code to Dec, unitary code Jan-Feb)."""
    rows = []
    for p in FY18:
        d = _days(p)
        rows.append(_row("E06000030", p, 2.0 * d))
        if p < "2019-01":
            rows.append(_row("E06000031", p, 1.0 * d))
        elif p == "2019-01":
            rows.append(_row("E06000031", p, np.nan, tidy.FLAG_NOT_APPLICABLE))
        if p != "2018-11":
            rows.append(_row("E06000032", p, 1.0 * d))
        rows.append(_row(indicators.ENGLAND, p, 1000.0 * d))
    for p in FY19:
        d = _days(p)
        flag = THIRD if p >= "2020" else ""
        rows.append(_row("E06000030", p, 3.0 * d, flag))
        rows.append(_row("E06000031", p, 1.0 * d, flag))
        rows.append(_row("E10000002" if p < "2020" else "E06000060", p, 1.0 * d, flag))
        if p < "2020":
            rows.append(_row(indicators.ENGLAND, p, 1000.0 * d))
    pop14 = [
        {"council_code": c, "period": "2014", "age_band": "18+", "value": 1.0}
        for c in ("E06000030", "E06000031", "E06000032", indicators.ENGLAND)
    ]
    mye = [
        {"council_code": c, "period": y, "age_band": "18+", "value": v}
        for y in ("2018", "2019")
        for c, v in (
            ("E06000030", 200_000.0),
            ("E06000031", 100_000.0),
            ("E06000032", 100_000.0),
            ("E06000060", 400_000.0),  # ONS has the unitary's code only
            (indicators.ENGLAND, 50_000_000.0),
        )
    ]
    t = {
        "dtoc_monthly": tidy.make_tidy(pd.DataFrame(rows), source="delayed_transfers"),
        "population_2014": tidy.make_tidy(pd.DataFrame(pop14), source="ons_mye_2014"),
        "population_mye": tidy.make_tidy(pd.DataFrame(mye), source="ons_mye"),
    }
    monkeypatch.setattr(indicators, "load", lambda name: t[name])
    indicators.population.cache_clear()
    indicators._monthly_delays.cache_clear()
    indicators.get.cache_clear()
    yield t
    indicators.population.cache_clear()
    indicators._monthly_delays.cache_clear()
    indicators.get.cache_clear()


def _table() -> pd.DataFrame:
    return indicators.raw("delayed_social_care").set_index(["council_code", "period"])


def test_columns_and_full_year_by_hand(tables) -> None:
    cols = list(indicators.raw("delayed_social_care").columns)
    assert cols == [*indicators.COLS, "dispersion", "months"]
    t = _table()
    a = t.loc[("E06000030", "2018-19")]
    # 2 x 365 = 730 days over 200,000 x 365 person-days = 1.0 per 100,000 per day
    assert (a["numerator"], a["denominator"], a["months"]) == (730, 200_000 * 365, 12)
    assert a["value"] == pytest.approx(1.0)
    assert a["flag"] == ""


def test_missing_months_leave_both_numerator_and_person_days(tables) -> None:
    t = _table()
    b = t.loc[("E06000031", "2018-19")]
    # Apr-Dec 2018 = 275 days reported, 1 a day: 275 / (100,000 x 275) x 1e5 = 1.0
    # (dividing by all 365 days, as before, would give 0.75)
    assert (b["numerator"], b["denominator"], b["months"]) == (275, 100_000 * 275, 9)
    assert b["value"] == pytest.approx(1.0)
    assert b["flag"].startswith("fewer than 10 months reported (9 of 12)")
    c = t.loc[("E06000032", "2018-19")]
    # all but November (30 days): 335 days
    assert (c["numerator"], c["denominator"], c["months"]) == (335, 100_000 * 335, 11)
    assert c["value"] == pytest.approx(1.0)
    assert c["flag"] == "11 of 12 months reported"


def test_england_uses_its_row_when_complete_and_councils_when_not(tables) -> None:
    t = _table()
    e18 = t.loc[(indicators.ENGLAND, "2018-19")]
    # England row: 1,000 a day over 50,000,000 adults = 2.0
    assert e18["value"] == pytest.approx(2.0)
    assert e18["months"] == 12
    e19 = t.loc[(indicators.ENGLAND, "2019-20")]
    # Apr 2019 - Feb 2020 = 335 days (Feb 2020 has 29). Councils: 3 + 1 + 1 = 5 beds a day over
    # 200,000 + 100,000 + 400,000 adults = 5 / 700,000 x 1e5 = 0.7143 (the England row's 9 months
    # would give 2.0)
    assert e19["numerator"] == pytest.approx(5 * 335)
    assert e19["denominator"] == pytest.approx(700_000 * 335)
    assert e19["value"] == pytest.approx(5 / 7)
    assert e19["months"] == 11
    assert "England = sum of councils over the same months" in e19["flag"]


def test_2019_20_is_eleven_months_for_everyone(tables) -> None:
    t = _table().reset_index()
    last = t[t["period"] == "2019-20"]
    assert last["flag"].str.contains("11 months (Apr 2019 to Feb 2020)", regex=False).all()
    assert (last["months"] == 11).all()
    a = last.set_index("council_code").loc["E06000030"]
    assert a["value"] == pytest.approx(3 / 200_000 * 1e5)
    assert "third-party" in a["flag"]
    assert not last["flag"].str.contains("of 11 months reported").any()


def test_buckinghamshire_jan_feb_2020_joins_the_county_code(tables) -> None:
    t = _table()
    assert ("E06000060", "2019-20") not in t.index
    bucks = t.loc[("E10000002", "2019-20")]
    assert bucks["months"] == 11
    assert bucks["numerator"] == 335
    assert bucks["value"] == pytest.approx(1 / 400_000 * 1e5)
    # mid-2019 18+ for E10000002 is filled from E06000060 (same area) by population()


def test_dispersion_is_one_value_per_period_floored_at_poisson(tables) -> None:
    t = _table().reset_index()
    per = t.groupby("period")["dispersion"].nunique()
    assert (per == 1).all()
    # the fake months vary only through days in month: below Poisson, so floored at 1
    assert (t["dispersion"] == 1.0).all()


def test_monthly_delays_keeps_the_spc_columns(tables) -> None:
    m = indicators.monthly_delays("social_care")
    for col in ("period", "value", "fy", "days_in_month", "population", "rate", "month_index"):
        assert col in m.columns
    a = m[(m["council_code"] == "E06000030") & (m["period"] == "2019-02")].iloc[0]
    assert a["rate"] == pytest.approx(2 * 28 / 28 / 200_000 * 1e5)
    assert a["month_index"] == 2019 * 12 + 1


def test_monthly_delays_made_once_but_each_caller_gets_its_own_copy(tables) -> None:
    """The table is computed once per process (each council's SPC chart reads it), yet a caller
    that adds or changes columns (the delay dispersion does) changes nobody else's."""
    first = indicators.monthly_delays("social_care")
    rate = first["rate"].copy()
    first["rate"] = -1.0
    first["third_party"] = True
    again = indicators.monthly_delays("social_care")
    assert "third_party" not in again.columns
    pd.testing.assert_series_equal(again["rate"], rate)
    assert indicators._monthly_delays.cache_info().misses == 1


# ----------------------------------------------------------------------------- real data
@pytest.fixture
def real(mirror):
    from asc_evidence.build import build

    build(only=["dtoc_monthly", "population_2014", "population_mye"])
    indicators.get.cache_clear()
    indicators.population.cache_clear()
    indicators._monthly_delays.cache_clear()
    yield indicators.get("delayed_social_care")
    indicators.get.cache_clear()
    indicators.population.cache_clear()
    indicators._monthly_delays.cache_clear()


def test_real_swindon_2014_15_and_published_england(real: pd.DataFrame) -> None:
    """PROVENANCE: Swindon 2014-15 3,699 days / 365 / 167,195 adults x 1e5 = 6.06.
    ASCOF 2C(2) England (trend_data.csv): 2017-18 4.3, 2018-19 3.1."""
    t = real.set_index(["council_code", "period"])
    sw = t.loc[("E06000030", "2014-15")]
    assert (sw["numerator"], sw["denominator"], sw["months"]) == (3699, 167_195 * 365, 12)
    assert sw["value"] == pytest.approx(6.06, abs=0.005)
    assert t.loc[(indicators.ENGLAND, "2017-18"), "value"] == pytest.approx(4.3, abs=0.1)
    assert t.loc[(indicators.ENGLAND, "2018-19"), "value"] == pytest.approx(3.1, abs=0.1)


def test_real_england_2019_20_over_the_councils_months(real: pd.DataFrame) -> None:
    raw = indicators.raw("delayed_social_care")  # the builder's rows, before geography
    t = raw[raw["period"] == "2019-20"]
    eng = t[t["level"] == "england"].iloc[0]
    c = t[(t["level"] == "council") & t["denominator"].notna()]
    assert eng["months"] == 11
    assert eng["value"] == pytest.approx(c["numerator"].sum() / c["denominator"].sum() * 1e5)
    # the England row over Apr-Dec 2019 alone gives 3.13 (includes non-English residents)
    assert eng["value"] == pytest.approx(3.13, rel=0.05)


def test_real_years_with_fewer_than_10_months(real: pd.DataFrame) -> None:
    """City of London misses months in 2011-12 and 2012-13; the April 2019 workbook still lists
    Bournemouth, Poole and Dorset County (abolished 31 March 2019): one month each at most."""
    raw = indicators.raw("delayed_social_care")  # the builder's rows, before geography
    few = raw[raw["flag"].str.startswith("fewer than 10 months reported")]
    got = set(zip(few["council_code"], few["period"], strict=True))
    assert got == {
        ("E09000001", "2011-12"),
        ("E09000001", "2012-13"),
        ("E06000028", "2019-20"),
        ("E06000029", "2019-20"),
        ("E10000009", "2019-20"),
    }
    assert (few["months"] < 10).all()
    assert (raw.loc[~raw.index.isin(few.index), "months"] >= 10).all()


def test_real_dispersion_predicts_half_year_variation() -> None:
    """Split-half check on observed data: for councils reporting all 12 months, the variance of
    (first-half days - fitted share x year's days) predicted by the pooled dispersion and rho is
    close to the observed one (mean ratio 1.03-1.21 over 2011-12..2018-19 when written; SD about
    0.12), while Poisson on days understates it about 80-fold and independence about 2-fold."""
    from asc_evidence.build import load

    try:
        load("dtoc_monthly")
    except FileNotFoundError:
        pytest.skip("processed dtoc_monthly not built")
    indicators.population.cache_clear()
    indicators._monthly_delays.cache_clear()
    m = indicators.monthly_delays("social_care")
    m = m[m["level"] == "council"]
    pooled = indicators.delay_dispersion("social_care").rename(columns={"period": "fy"})
    check = split_half_check(m[m["fy"] < "2019-20"], pooled)
    assert len(check) == 8
    assert check["ratio"].between(0.8, 1.5).all()
    assert (check["ratio_rho0"] > 1.7).all()
    assert (check["ratio_poisson"] > 40).all()


def test_real_swindon_interval_is_wider_than_days_poisson(real: pd.DataFrame) -> None:
    t = real.set_index(["council_code", "period"])
    r = t.loc[("E06000030", "2019-20")]
    new = overdispersed_rate_ci(r["numerator"], r["denominator"], r["dispersion"])
    days = rate_ci(r["numerator"], r["denominator"])
    assert new.lower < days.lower < r["value"] < days.upper < new.upper
    # width scales with sqrt(dispersion) (normal approximation)
    ratio = (new.upper - new.lower) / (days.upper - days.lower)
    assert ratio == pytest.approx(np.sqrt(r["dispersion"]), rel=0.15)
