"""POPPI/PANSI projection: people = sum(rate x population) by hand, growth %, Wilson rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from asc_evidence.stats.projection import (
    apportion_to_small_areas,
    growth_comparison,
    project_demand,
    rates_from_counts,
)

RATES = pd.DataFrame(
    {
        "age_band": ["65-84", "65-84", "85+", "85+"],
        "sex": ["male", "female", "male", "female"],
        "rate": [0.01, 0.02, 0.10, 0.20],
        "rate_lower": [0.005, 0.01, 0.05, 0.10],
        "rate_upper": [0.02, 0.04, 0.20, 0.40],
    }
)


def _pop(area: str, year: int, cells: list[float], variant: str = "principal") -> pd.DataFrame:
    """cells = population for 65-84 m, 65-84 f, 85+ m, 85+ f (plus an unrated 18-64 band)."""
    return pd.DataFrame(
        {
            "area_code": area,
            "year": year,
            "variant": variant,
            "age_band": ["18-64", "65-84", "65-84", "85+", "85+"],
            "sex": ["persons", "male", "female", "male", "female"],
            "population": [50_000.0, *cells],
        }
    )


@pytest.fixture
def pop() -> pd.DataFrame:
    return pd.concat(
        [
            _pop("E06000001", 2025, [1000, 1200, 100, 200]),
            _pop("E06000001", 2030, [1100, 1300, 150, 264]),
            _pop("E06000001", 2025, [1000, 1200, 100, 200], "high"),
            _pop("E06000001", 2030, [1200, 1400, 200, 300], "high"),
            _pop("E06000001", 2025, [1000, 1200, 100, 200], "low"),
            _pop("E06000001", 2030, [1000, 1200, 120, 220], "low"),
            _pop("E92000001", 2025, [100_000, 120_000, 40_000, 60_000]),
            _pop("E92000001", 2030, [110_000, 130_000, 50_000, 79_000]),
        ],
        ignore_index=True,
    )


def test_people_by_hand(pop: pd.DataFrame) -> None:
    out = project_demand(pop, RATES, base_year=2025, horizon=5, unit_cost=1000.0)
    a = out[out["area_code"] == "E06000001"].set_index(["year", "age_band"])
    # 2025: 0.01*1000 + 0.02*1200 + 0.1*100 + 0.2*200 = 10 + 24 + 10 + 40 = 84
    assert a.loc[(2025, "all"), "people"] == pytest.approx(84.0)
    assert a.loc[(2025, "85+"), "people"] == pytest.approx(50.0)
    # 2030: 11 + 26 + 15 + 52.8 = 104.8
    assert a.loc[(2030, "all"), "people"] == pytest.approx(104.8)
    assert a.loc[(2030, "all"), "population"] == pytest.approx(1100 + 1300 + 150 + 264)
    # rate interval, central population: lower = half, upper = double the central rates
    assert a.loc[(2030, "all"), "people_rate_low"] == pytest.approx(52.4)
    assert a.loc[(2030, "all"), "people_rate_high"] == pytest.approx(209.6)
    # variants, central rates: high 12 + 28 + 20 + 60 = 120; low 10 + 24 + 12 + 44 = 90
    assert a.loc[(2030, "all"), "people_pop_high"] == pytest.approx(120.0)
    assert a.loc[(2030, "all"), "people_pop_low"] == pytest.approx(90.0)
    # combined envelope: low variant x lower rates = 45; high variant x upper rates = 240
    assert a.loc[(2030, "all"), "people_low"] == pytest.approx(45.0)
    assert a.loc[(2030, "all"), "people_high"] == pytest.approx(240.0)
    assert a.loc[(2030, "all"), "cost"] == pytest.approx(104_800.0)
    assert set(out["age_band"]) == {"65-84", "85+", "all"}  # unrated 18-64 left out
    assert sorted(set(out["year"])) == [2025, 2030]


def test_persons_rates_sum_the_sexes(pop: pd.DataFrame) -> None:
    persons = pd.DataFrame({"age_band": ["85+"], "sex": ["persons"], "rate": [0.1]})
    out = project_demand(pop, persons, base_year=2025, horizon=0)
    a = out.set_index(["area_code", "age_band"])
    assert a.loc[("E06000001", "85+"), "people"] == pytest.approx(0.1 * 300)
    assert a.loc[("E06000001", "85+"), "people_low"] == pytest.approx(30.0)  # no interval given


def test_growth_comparison_by_hand(pop: pd.DataFrame) -> None:
    out = project_demand(pop, RATES, base_year=2025, horizon=5)
    g = growth_comparison(out, "E06000001", measure="population")
    # 85+: 300 -> 414 = +38%; England 100,000 -> 129,000 = +29%
    assert g.area_growth == pytest.approx(0.38)
    assert g.comparator_growth == pytest.approx(0.29)
    assert g.sentence() == "85+ population grows 38% by 2030 (from 2025) vs 29% nationally."
    people = growth_comparison(out, "E06000001", age_band=["65-84", "85+"])
    # people 84 -> 104.8 = +24.8%; England 1000+2400+4000+12000 = 19400 -> 1100+2600+5000+15800 = 24500
    assert people.area_growth == pytest.approx(104.8 / 84 - 1)
    assert people.comparator_growth == pytest.approx(24500 / 19400 - 1)
    # works on a raw population table too: sexes summed, only the principal variant kept
    # (summing all three variants would give (414 + 500 + 340) / 900 - 1 = 39.3%)
    raw = growth_comparison(pop, "E06000001", measure="population")
    assert raw.area_growth == pytest.approx(0.38)


def test_growth_falling_sentence() -> None:
    t = pd.DataFrame(
        {
            "area_code": ["A", "A", "B", "B"],
            "year": [2020, 2030] * 2,
            "age_band": "all",
            "people": [100.0, 90.0, 100.0, 95.0],
        }
    )
    assert growth_comparison(t, "A", "B", age_band="all").sentence() == (
        "all people falls 10% by 2030 (from 2020) vs a fall of 5% in B."
    )


def test_projection_errors(pop: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"lacks years \[2032\]"):
        project_demand(pop, RATES, base_year=2025, horizon=7)
    with pytest.raises(ValueError, match="No population variant 'central'"):
        project_demand(pop, RATES, base_year=2025, horizon=0, central_variant="central")
    gap = pop[
        ~((pop["area_code"] == "E92000001") & (pop["age_band"] == "85+") & (pop["sex"] == "male"))
    ]
    with pytest.raises(ValueError, match="missing rated age band/sex cells"):
        project_demand(gap, RATES, base_year=2025, horizon=5)
    with pytest.raises(ValueError, match="lacks columns"):
        project_demand(pop.rename(columns={"population": "pop"}), RATES, base_year=2025)
    with pytest.raises(ValueError, match="rate_lower <= rate"):
        project_demand(pop, RATES.assign(rate_upper=0.0), base_year=2025, horizon=0)


def test_small_areas_share_the_council_projection() -> None:
    small = pd.DataFrame(
        {
            "area_code": ["E02000001", "E02000002"] * 2,
            "parent_code": "E06000001",
            "age_band": "85+",
            "sex": ["male", "male", "female", "female"],
            "population": [30.0, 70.0, 50.0, 150.0],
        }
    )
    council = _pop("E06000001", 2030, [1100, 1300, 150, 264])
    out = apportion_to_small_areas(small, council).set_index(["area_code", "sex"])
    # shares male 0.3 / 0.7 of 150; female 0.25 / 0.75 of 264
    assert out.loc[("E02000001", "male"), "population"] == pytest.approx(45.0)
    assert out.loc[("E02000002", "female"), "population"] == pytest.approx(198.0)
    assert out["population"].sum() == pytest.approx(150 + 264)
    rates = RATES[RATES["age_band"] == "85+"]
    proj = project_demand(out.reset_index(), rates, base_year=2030, horizon=0)
    # E02000001: 0.1 * 45 + 0.2 * 66 = 17.7
    assert proj.set_index(["area_code", "age_band"]).loc[
        ("E02000001", "all"), "people"
    ] == pytest.approx(17.7)
    with pytest.raises(ValueError, match=r"No council projection for parent codes \['E06000002'\]"):
        apportion_to_small_areas(small.assign(parent_code="E06000002"), council)


def test_rates_from_counts_wilson() -> None:
    idx = pd.MultiIndex.from_tuples(
        [("65-84", "persons"), ("85+", "persons")], names=["age_band", "sex"]
    )
    r = rates_from_counts(pd.Series([10.0, 0.0], index=idx), pd.Series([100.0, 50.0], index=idx))
    # Wilson for 10/100, z = 1.96: centre (p + z^2/2n)/(1 + z^2/n), half-width
    # z/(1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2) -> 0.0552 to 0.1744
    z = 1.959964
    p, n = 0.1, 100
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    assert r.loc[("65-84", "persons"), "rate_lower"] == pytest.approx(centre - half, rel=1e-5)
    assert r.loc[("65-84", "persons"), "rate_upper"] == pytest.approx(centre + half, rel=1e-5)
    assert round(r.loc[("65-84", "persons"), "rate_lower"], 4) == pytest.approx(0.0552)
    # 0 of 50: lower 0, upper z^2 / (n + z^2) = 0.0713
    assert r.loc[("85+", "persons"), "rate_lower"] == pytest.approx(0.0, abs=1e-12)
    assert r.loc[("85+", "persons"), "rate_upper"] == pytest.approx(z**2 / (50 + z**2), rel=1e-5)
    assert list(r.reset_index().columns[:3]) == ["age_band", "sex", "users"]
    with pytest.raises(ValueError, match="users <= population"):
        rates_from_counts([5.0], [4.0])
