"""Directly standardised rates: hand-worked Dobson example, ESP 2013 and properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from asc_evidence.stats.dsr import ESP_2013, dobson_ci, dsr_table, isr_ci, isr_table


def test_esp_2013_weights():
    # Eurostat (2013): 19 five-year bands summing to 100,000; 65-69 5,500; 85-89 1,500; 90+ 1,000
    assert len(ESP_2013) == 19
    assert ESP_2013.sum() == 100_000
    assert ESP_2013["0-4"] == 5000
    assert ESP_2013["65-69"] == 5500
    assert ESP_2013["85-89"] == 1500
    assert ESP_2013["90+"] == 1000


def _two_band(x=(30, 20), n=(1000, 500), code="E06000001"):
    return pd.DataFrame(
        {"council_code": code, "period": "2022-23", "age_band": ["85-89", "90+"], "x": x, "n": n}
    )


def test_hand_worked_dobson_example():
    # Bands 85-89 (w 1500) and 90+ (w 1000); x = 30, 20; n = 1000, 500. By hand:
    # DSR = (1500*30/1000 + 1000*20/500) / 2500 = 85 / 2500 = 0.034 -> 3400 per 100,000
    # var = (1500^2*30/1000^2 + 1000^2*20/500^2) / 2500^2 = 147.5 / 6.25e6 = 2.36e-5 -> 236,000
    # O = 50; Byar 95%: O_L = 37.1081, O_U = 65.9202; sqrt(var/O) = sqrt(4720) = 68.7023
    # lower = 3400 + 68.7023 * (37.1081 - 50) = 2514.30; upper = 3400 + 68.7023 * 15.9202 = 4493.75
    out = dsr_table(_two_band(), "x", "n", by=["council_code", "period"])
    row = out.iloc[0]
    assert row["total_count"] == 50
    assert row["total_pop"] == 1500
    assert row["value"] == pytest.approx(3400.0, rel=1e-12)
    assert row["lowercl"] == pytest.approx(2514.30, abs=0.01)
    assert row["uppercl"] == pytest.approx(4493.75, abs=0.01)
    assert row["method"] == "Dobson"
    assert row["flag"] == ""


def test_dobson_exact_count_option_uses_exact_poisson():
    # exact 95% limits for O = 10 are 4.795, 18.390 (tables); value 100, var 1000:
    # lower = 100 + sqrt(1000/10) * (4.795 - 10) = 47.95; upper = 100 + 10 * 8.390 = 183.90
    ci = dobson_ci(100.0, 1000.0, 10, count_method="exact")
    assert ci.lower == pytest.approx(47.95, abs=0.01)
    assert ci.upper == pytest.approx(183.90, abs=0.01)


def test_dsr_equals_crude_rate_when_population_matches_standard():
    bands = ["65-69", "70-74", "75-79"]
    pop = ESP_2013[bands].to_numpy() * 3  # same age structure as the standard
    df = pd.DataFrame({"g": "a", "age_band": bands, "x": [40, 70, 120], "n": pop})
    out = dsr_table(df, "x", "n", by="g")
    crude = 230 / pop.sum() * 1e5
    assert out["value"].iloc[0] == pytest.approx(crude, rel=1e-12)


def test_groups_vectorised_equal_separate():
    df = pd.concat(
        [_two_band((30, 20), code="A"), _two_band((12, 9), (800, 300), code="B")],
        ignore_index=True,
    )
    together = dsr_table(df, "x", "n", by="council_code", confidence=(0.95, 0.998))
    alone = dsr_table(
        df[df.council_code == "B"], "x", "n", by="council_code", confidence=(0.95, 0.998)
    )
    assert list(together["council_code"]) == ["A", "B"]
    for col in ["value", "lower95_0cl", "upper95_0cl", "lower99_8cl", "upper99_8cl"]:
        assert together[col].iloc[1] == pytest.approx(alone[col].iloc[0], rel=1e-12)
    assert (together["lower99_8cl"] < together["lower95_0cl"]).all()
    assert (together["confidence"] == "95%, 99.8%").all()


def test_low_and_missing_counts_are_nan_with_flag():
    df = pd.concat(
        [_two_band((4, 5), code="A"), _two_band((np.nan, 20), code="B")], ignore_index=True
    )
    out = dsr_table(df, "x", "n", by="council_code").set_index("council_code")
    assert np.isnan(out.loc["A", "value"])
    assert np.isnan(out.loc["A", "lowercl"])
    assert "total count < 10" in out.loc["A", "flag"]
    assert np.isnan(out.loc["B", "value"])
    assert "missing" in out.loc["B", "flag"]


def test_errors():
    bad = _two_band()
    bad.loc[1, "age_band"] = "90-94"
    with pytest.raises(ValueError, match="No standard population weight"):
        dsr_table(bad, "x", "n", by="council_code")
    uneven = pd.concat([_two_band(code="A"), _two_band(code="B").iloc[:1]], ignore_index=True)
    with pytest.raises(ValueError, match="each of the 2 age bands"):
        dsr_table(uneven, "x", "n", by="council_code")
    with pytest.raises(ValueError, match="valid methods are"):
        dsr_table(_two_band(), "x", "n", by="council_code", count_method="normal")


def test_stdpop_column():
    df = _two_band()
    df["w"] = [1.0, 1.0]
    out = dsr_table(df, "x", "n", by="council_code", stdpop="w")
    # equal weights: mean of the age-specific rates (0.03 + 0.04) / 2 = 3500 per 100,000
    assert out["value"].iloc[0] == pytest.approx(3500.0, rel=1e-12)


# --- indirect standardisation ------------------------------------------------------------------


def _isr_bands(observed=50.0):
    # council populations by band and England's rates per person (hand-made):
    # E = 10,000 x 0.001 + 5,000 x 0.002 + 1,000 x 0.02 = 10 + 10 + 20 = 40 expected events
    df = pd.DataFrame(
        {
            "council_code": "E06000001",
            "age_band": ["65-74", "75-84", "85+"],
            "n": [10_000.0, 5_000.0, 1_000.0],
        }
    )
    rates = pd.Series({"65-74": 0.001, "75-84": 0.002, "85+": 0.02})
    obs = pd.Series({"E06000001": observed})
    return df, rates, obs


def test_isr_hand_worked_example_with_byar_limits():
    # O = 50, E = 40 -> ratio 1.25. Byar 95% limits of O = 50 (Breslow & Day 1987, p69; the same
    # values as the Dobson example above): 50 (1 - 1/450 - 1.959964/(3 sqrt 50))^3 = 37.1081 and
    # 51 (1 - 1/459 + 1.959964/(3 sqrt 51))^3 = 65.9202; over E: 0.927703 and 1.648005.
    df, rates, obs = _isr_bands()
    out = isr_table(df, "n", rates, by="council_code", observed=obs, method="byar")
    row = out.iloc[0]
    assert row["observed"] == 50
    assert row["expected"] == pytest.approx(40.0, rel=1e-12)
    assert row["value"] == pytest.approx(1.25, rel=1e-12)
    assert row["lowercl"] == pytest.approx(37.1081 / 40, abs=1e-5)
    assert row["uppercl"] == pytest.approx(65.9202 / 40, abs=1e-5)
    assert row["method"] == "Byar"
    assert row["flag"] == ""


def test_isr_exact_limits_and_phe_switch_below_ten():
    # Exact (Garwood) 95% limits for 8 events are 3.4538 and 15.7632 (standard Poisson tables);
    # with E = 40: 0.086345 and 0.394080. PHE's rule uses exact limits below 10 events, so "phe"
    # gives the same; Byar's lower limit for 8 would be 8 (1 - 1/72 - 1.959964/(3 sqrt 8))^3 = 3.4447.
    ci = isr_ci(8.0, 40.0, method="exact")
    assert ci.lower == pytest.approx(3.4538 / 40, abs=2e-6)
    assert ci.upper == pytest.approx(15.7632 / 40, abs=2e-6)
    phe = isr_ci(8.0, 40.0, method="phe")
    assert (phe.lower, phe.upper) == (ci.lower, ci.upper)
    assert isr_ci(8.0, 40.0, method="byar").lower == pytest.approx(3.4447 / 40, abs=2e-6)
    # 10 events or more: PHE = Byar
    assert isr_ci(50.0, 40.0, method="phe").lower == pytest.approx(37.1081 / 40, abs=1e-5)


def test_isr_with_the_references_own_rates_is_one_and_single_band_is_crude_ratio():
    df, rates, _ = _isr_bands()
    # a council with exactly England's rates in each band: O = E = 40 -> ratio 1
    out = isr_table(df, "n", rates, by="council_code", observed=pd.Series({"E06000001": 40.0}))
    assert out["value"].iloc[0] == pytest.approx(1.0)
    assert out["lowercl"].iloc[0] < 1 < out["uppercl"].iloc[0]
    # one band: E = England's crude rate x population, so the ratio is the ratio of crude rates
    one = pd.DataFrame({"g": ["a"], "age_band": ["65+"], "n": [16_000.0]})
    res = isr_table(one, "n", pd.Series({"65+": 0.0025}), by="g", observed=pd.Series({"a": 50.0}))
    assert res["value"].iloc[0] == pytest.approx((50 / 16_000) / 0.0025)


def test_isr_missing_rate_is_refused_and_missing_population_is_flagged():
    df, rates, obs = _isr_bands()
    with pytest.raises(ValueError, match="No reference rate for age band"):
        isr_table(df, "n", rates.drop("85+"), by="council_code", observed=obs)
    df.loc[2, "n"] = np.nan
    out = isr_table(df, "n", rates, by="council_code", observed=obs)
    assert np.isnan(out["expected"].iloc[0])
    assert np.isnan(out["value"].iloc[0])
    assert out["flag"].iloc[0].startswith("no expected events")


def test_isr_observed_by_band_column_is_summed():
    df, rates, _ = _isr_bands()
    df["x"] = [10.0, 15.0, 25.0]  # 50 in all
    out = isr_table(df, "n", rates, by="council_code", observed="x", confidence=(0.95, 0.998))
    assert out["observed"].iloc[0] == 50
    assert out["value"].iloc[0] == pytest.approx(1.25)
    assert {"lower95_0cl", "upper99_8cl"} <= set(out.columns)
    assert out["lower99_8cl"].iloc[0] < out["lower95_0cl"].iloc[0]
