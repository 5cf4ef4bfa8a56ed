"""Demand projection (POPPI/PANSI method) on tiny synthetic tables, values worked out by hand.

Council C = Swindon (E06000030), with England (E92000001):

* mid-2021 population 18-64 / 65+: C 10,000 / 4,000; England 1,000,000 / 500,000;
* long-term support clients at 31 March 2022: C 50 / 200; England 6,000 / 20,000
  -> rates C 0.005 / 0.05, England 0.006 / 0.04;
* gross expenditure on long-term support (GBP thousand): C 500 / 3,000 -> GBP 10,000 / 15,000 per
  client; England 90,000 / 400,000 -> GBP 15,000 / 20,000;
* SNPP 2023 -> 2025: C 18-64 10,000 -> 10,200, 65+ 4,000 -> 4,400, 85+ 500 -> 600;
  England 18-64 1,000,000 -> 1,010,000, 65+ 500,000 -> 520,000, 85+ 60,000 -> 66,000;
* England variants: high = 1.1 x principal in 2025, low = 0.9 x (both 1.0 in 2023).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from asc_evidence import demand
from asc_evidence.errors import DataNotBuiltError

C = "E06000030"
HARTLEPOOL = "E06000001"
NORTH_YORKS = "E06000065"
NORTH_YORKS_COUNTY = "E10000023"
ENG = "E92000001"
Z = 1.959963984540054


def _tidy(rows: list[tuple], measure: str = "population") -> pd.DataFrame:
    """rows of (council_code, period, age_band, value[, flag]) as a tidy frame (persons)."""
    recs = []
    for r in rows:
        code, period, band, value, *flag = r
        recs.append(
            {
                "council_code": code,
                "period": period,
                "measure": measure,
                "age_band": band,
                "sex": "persons",
                "value": value,
                "flag": flag[0] if flag else "",
            }
        )
    return pd.DataFrame(recs)


def _wilson(x: float, n: float) -> tuple[float, float]:
    """Wilson score interval written out (Wilson 1927), independent of statsmodels."""
    p = x / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / (1 + Z**2 / n)
    return centre - half, centre + half


@pytest.fixture
def mye() -> pd.DataFrame:
    return _tidy(
        [
            (C, "2021", "18-64", 10_000.0),
            (C, "2021", "65+", 4_000.0),
            (ENG, "2021", "18-64", 1_000_000.0),
            (ENG, "2021", "65+", 500_000.0),
            (HARTLEPOOL, "2021", "18-64", 5_000.0),
            (HARTLEPOOL, "2021", "65+", 1_000.0),
            (NORTH_YORKS_COUNTY, "2021", "18-64", 20_000.0),
            (NORTH_YORKS_COUNTY, "2021", "65+", 8_000.0),
            (C, "2020", "65+", 1.0),  # another year: must be ignored
        ]
    )


@pytest.fixture
def activity() -> pd.DataFrame:
    clients = _tidy(
        [
            (C, "2021-22", "18-64", 50.0),
            (C, "2021-22", "65+", 200.0),
            (ENG, "2021-22", "18-64", 6_000.0),
            (ENG, "2021-22", "65+", 20_000.0),
            (HARTLEPOOL, "2021-22", "18-64", np.nan, "not submitted"),
            (HARTLEPOOL, "2021-22", "65+", 30.0),
            (NORTH_YORKS_COUNTY, "2021-22", "18-64", 100.0),
            (NORTH_YORKS_COUNTY, "2021-22", "65+", 400.0),
        ],
        demand.CLIENT_MEASURE,
    )
    spend = _tidy(
        [
            (C, "2021-22", "18-64", 500.0),
            (C, "2021-22", "65+", 3_000.0),
            (ENG, "2021-22", "18-64", 90_000.0),
            (ENG, "2021-22", "65+", 400_000.0),
            (HARTLEPOOL, "2021-22", "18-64", np.nan, "not submitted"),
            (HARTLEPOOL, "2021-22", "65+", np.nan, "not submitted"),
        ],
        demand.COST_MEASURE,
    )
    return pd.concat([clients, spend], ignore_index=True)


@pytest.fixture
def snpp() -> pd.DataFrame:
    values = {
        C: {
            "2023": {"18-64": 10_000, "65+": 4_000, "75+": 1_800, "85+": 500, "all": 20_000},
            "2025": {"18-64": 10_200, "65+": 4_400, "75+": 2_000, "85+": 600, "all": 21_000},
        },
        ENG: {
            "2023": {"18-64": 1e6, "65+": 5e5, "75+": 2.2e5, "85+": 6e4, "all": 2e6},
            "2025": {"18-64": 1.01e6, "65+": 5.2e5, "75+": 2.31e5, "85+": 6.6e4, "all": 2.05e6},
        },
    }
    rows = [
        (code, year, band, float(v))
        for code, years in values.items()
        for year, bands in years.items()
        for band, v in bands.items()
    ]
    rows += [(HARTLEPOOL, y, b, 1_000.0) for y in ("2023", "2025") for b in values[C]["2023"]]
    return _tidy(rows)


@pytest.fixture
def npp() -> pd.DataFrame:
    bands = ["18-64", "65+", "75+", "85+", "all"]
    pieces = []
    for measure, f2025 in (("npp_ppp", 1.0), ("npp_hhh", 1.1), ("npp_lll", 0.9)):
        rows = [(ENG, "2023", b, 100.0) for b in bands] + [
            (ENG, "2025", b, 100.0 * f2025) for b in bands
        ]
        pieces.append(_tidy(rows, measure))
    return pd.concat(pieces, ignore_index=True)


@pytest.fixture
def proj(snpp, npp, activity, mye) -> demand.DemandProjection:
    return demand.projection_from_tables(snpp, npp, activity, mye, C, "Swindon", 2023, 2)


# ---------------------------------------------------------------------------------------------
# rates and unit costs


def test_rates_by_hand(activity, mye) -> None:
    r = demand.rates_from_tables(activity, mye, C).set_index("age_band")
    assert r.loc["18-64", "rate"] == pytest.approx(50 / 10_000)
    assert r.loc["65+", "rate"] == pytest.approx(200 / 4_000)
    lo, hi = _wilson(200, 4_000)
    assert r.loc["65+", "rate_lower"] == pytest.approx(lo, rel=1e-9)
    assert r.loc["65+", "rate_upper"] == pytest.approx(hi, rel=1e-9)
    assert (r["rate_source"] == "council").all()
    assert (r["flag"] == "").all()


def test_missing_count_falls_back_to_england_with_flag(activity, mye) -> None:
    r = demand.rates_from_tables(activity, mye, HARTLEPOOL).set_index("age_band")
    # 18-64 not submitted -> England's 6,000 / 1,000,000, never zero
    assert r.loc["18-64", "rate"] == pytest.approx(0.006)
    assert r.loc["18-64", "rate_source"] == "England"
    assert "England rate used" in r.loc["18-64", "flag"]
    assert "not submitted" in r.loc["18-64", "flag"]
    # 65+ published: the council's own 30 / 1,000
    assert r.loc["65+", "rate"] == pytest.approx(0.03)
    assert r.loc["65+", "rate_source"] == "council"


def test_new_council_takes_predecessor_rate(activity, mye) -> None:
    r = demand.rates_from_tables(activity, mye, NORTH_YORKS).set_index("age_band")
    assert r.loc["18-64", "rate"] == pytest.approx(100 / 20_000)
    assert r.loc["65+", "rate"] == pytest.approx(400 / 8_000)
    assert (r["rate_source"] == "predecessor").all()
    assert (r["source_code"] == NORTH_YORKS_COUNTY).all()


def test_unit_costs_per_client(activity) -> None:
    own = demand.unit_costs_from_table(activity, C).set_index("age_band")
    assert own.loc["18-64", "unit_cost"] == pytest.approx(500 * 1000 / 50)  # GBP 10,000
    assert own.loc["65+", "unit_cost"] == pytest.approx(3_000 * 1000 / 200)  # GBP 15,000
    fallback = demand.unit_costs_from_table(activity, HARTLEPOOL).set_index("age_band")
    assert fallback.loc["65+", "unit_cost"] == pytest.approx(400_000 * 1000 / 20_000)
    assert (fallback["cost_source"] == "England").all()
    assert fallback["flag"].str.contains("England cost per client").all()


# ---------------------------------------------------------------------------------------------
# variants


def test_variant_ratios_applied_proportionally(snpp, npp) -> None:
    pop = demand.snpp_frame(snpp, [C], ("85+",))
    out = demand.apply_variants(pop, demand.variant_ratios(npp))
    got = out.set_index(["year", "variant"])["population"]
    assert got[(2025, "principal")] == pytest.approx(600.0)
    assert got[(2025, "high population")] == pytest.approx(660.0)  # 600 x 110/100
    assert got[(2025, "low population")] == pytest.approx(540.0)  # 600 x 90/100
    assert got[(2023, "high population")] == pytest.approx(500.0)  # ratio 1 in 2023


def test_missing_variant_ratio_raises(snpp, npp) -> None:
    pop = demand.snpp_frame(snpp, [C], ("85+",))
    ratios = demand.variant_ratios(npp[npp["period"] == "2023"])
    with pytest.raises(ValueError, match="No variant ratio"):
        demand.apply_variants(pop, ratios)


# ---------------------------------------------------------------------------------------------
# projection, growth, headline


def test_people_and_cost_by_hand(proj) -> None:
    d = proj.demand.set_index(["area_code", "year", "age_band"])
    # 2023: 0.005 x 10,000 + 0.05 x 4,000 = 50 + 200 = 250
    assert d.loc[(C, 2023, "all"), "people"] == pytest.approx(250.0)
    # 2025: 0.005 x 10,200 + 0.05 x 4,400 = 51 + 220 = 271; variants x1.1 / x0.9
    assert d.loc[(C, 2025, "all"), "people"] == pytest.approx(271.0)
    assert d.loc[(C, 2025, "all"), "people_pop_high"] == pytest.approx(298.1)
    assert d.loc[(C, 2025, "all"), "people_pop_low"] == pytest.approx(243.9)
    # combined low: low variant x lower Wilson rates
    lo1, _ = _wilson(50, 10_000)
    lo2, _ = _wilson(200, 4_000)
    assert d.loc[(C, 2025, "all"), "people_low"] == pytest.approx(
        0.9 * (10_200 * lo1 + 4_400 * lo2)
    )
    # cost: 50 x 10,000 + 200 x 15,000 = 3,500,000 (the council's spend); 2025: 510,000 + 3,300,000
    assert d.loc[(C, 2023, "all"), "cost"] == pytest.approx(3_500_000.0)
    assert d.loc[(C, 2025, "all"), "cost"] == pytest.approx(3_810_000.0)
    assert d.loc[(C, 2025, "65+"), "cost"] == pytest.approx(3_300_000.0)
    # England with England's rates: 6,000 + 20,000; 6,060 + 20,800
    assert d.loc[(ENG, 2023, "all"), "people"] == pytest.approx(26_000.0)
    assert d.loc[(ENG, 2025, "all"), "people"] == pytest.approx(26_860.0)


def test_people_chart_ranges_sit_under_the_line(proj) -> None:
    """The ranges are drawn at the line's own x positions (one per year from 0, as trend_lines
    places years), not at the years themselves: 2025's shaded band spans 243.9 to 298.1 (the
    population variants, worked above) exactly where the line's 2025 point (271) is."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = demand.plot_people(proj)
    ax = fig.axes[0]
    line = ax.get_lines()[0]
    xs = list(line.get_xdata())
    years = sorted(proj.demand.loc[proj.demand["area_code"] == C, "year"].unique())
    assert xs == list(range(len(years)))
    band = ax.collections[-1].get_paths()[0].vertices  # population variants only
    assert band[:, 0].min() == 0
    assert band[:, 0].max() == len(years) - 1
    at = years.index(2025)
    assert line.get_ydata()[at] == pytest.approx(271.0)
    ys = band[np.isclose(band[:, 0], at), 1]
    assert ys.min() == pytest.approx(243.9)
    assert ys.max() == pytest.approx(298.1)
    plt.close(fig)


def test_growth_table_by_hand(proj) -> None:
    g = demand.growth_table(proj)
    assert g.loc["Population 85+", "Swindon growth %"] == pytest.approx(20.0)  # 600 / 500
    assert g.loc["Population 85+", "England growth %"] == pytest.approx(10.0)  # 66,000 / 60,000
    assert g.loc["Population 85+", "range low %"] == pytest.approx(8.0)  # 540 / 500
    assert g.loc["Population 85+", "range high %"] == pytest.approx(32.0)  # 660 / 500
    assert g.loc["Population 65+", "Swindon 2025"] == 4_400
    row = g.loc["Needing long-term support, all adults"]
    assert row["Swindon growth %"] == pytest.approx(8.4)  # 271 / 250
    assert row["range low %"] == pytest.approx(-2.4)  # 243.9 / 250
    assert row["range high %"] == pytest.approx(19.2)  # 298.1 / 250
    assert row["England growth %"] == pytest.approx(3.3)  # 26,860 / 26,000


def test_headline_words(proj) -> None:
    text = demand.headline(proj)
    assert text.startswith(
        "In Swindon the 85+ population grows 20% by 2025 (from 2023) vs 10% nationally"
    )
    assert "8% to 32%" in text
    assert "grows 8% by 2025" in text  # people 271 / 250
    assert "about 21 more people" in text


# ---------------------------------------------------------------------------------------------
# small areas and maps


@pytest.fixture
def msoa() -> pd.DataFrame:
    rows = [
        ("M1", "Swindon 001", C, "2021", "18-64", 6_000.0),
        ("M1", "Swindon 001", C, "2021", "65+", 1_000.0),
        ("M1", "Swindon 001", C, "2021", "all", 9_000.0),
        ("M2", "Swindon 002", C, "2021", "18-64", 4_000.0),
        ("M2", "Swindon 002", C, "2021", "65+", 3_000.0),
        ("M1", "Swindon 001", C, "2019", "65+", 999.0),  # other vintage: ignored
        ("X1", "Elsewhere 001", "E06000002", "2021", "65+", 500.0),
    ]
    return pd.DataFrame(
        rows,
        columns=["msoa_code", "msoa_name", "council_code", "period", "age_band", "population"],
    ).assign(sex="persons")


@pytest.fixture
def msoa_boundaries() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"msoa_code": ["M1", "M2", "X1"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(5, 5, 6, 6)],
        crs="EPSG:27700",
    )


def test_small_areas_by_hand_and_add_up(msoa, msoa_boundaries, proj) -> None:
    out = demand.small_area_from_tables(msoa, msoa_boundaries, proj)
    assert isinstance(out, gpd.GeoDataFrame)
    assert list(out["msoa_code"]) == ["M1", "M2"]
    m = out.set_index("msoa_code")
    # M1 holds 60% of 18-64 and 25% of 65+: 2023 0.6x10,000x0.005 + 0.25x4,000x0.05 = 30 + 50
    assert m.loc["M1", "people_base"] == pytest.approx(80.0)
    # 2025: 0.6 x 10,200 x 0.005 + 0.25 x 4,400 x 0.05 = 30.6 + 55 = 85.6
    assert m.loc["M1", "people_target"] == pytest.approx(85.6)
    assert m.loc["M1", "change"] == pytest.approx(5.6)
    # M2: 20 + 150 = 170 -> 20.4 + 165 = 185.4
    assert m.loc["M2", "change"] == pytest.approx(15.4)
    # MSOAs add up to the council projection (271 in 2025, 250 in 2023)
    assert out["people_target"].sum() == pytest.approx(271.0)
    assert out["people_base"].sum() == pytest.approx(250.0)
    assert out.crs.to_epsg() == 27700


def test_small_areas_absent_gives_empty_frame_with_message(
    msoa, msoa_boundaries, snpp, npp, activity, mye
) -> None:
    other = demand.projection_from_tables(
        snpp, npp, activity, mye, HARTLEPOOL, "Hartlepool", 2023, 2
    )
    out = demand.small_area_from_tables(msoa, msoa_boundaries, other)
    assert out.empty
    assert "No Census 2021 MSOA populations for Hartlepool" in out.attrs["message"]


def test_council_growth_map(snpp) -> None:
    shapes = gpd.GeoDataFrame(
        {"council_code": [C, HARTLEPOOL]},
        geometry=[box(0, 0, 1, 1), box(2, 2, 3, 3)],
        crs="EPSG:27700",
    )
    out = demand.council_growth_from_tables(snpp, shapes, "85+", 2023, 2025).set_index(
        "council_code"
    )
    assert out.loc[C, "growth_pct"] == pytest.approx(20.0)
    assert out.loc[HARTLEPOOL, "growth_pct"] == pytest.approx(0.0)


# ---------------------------------------------------------------------------------------------
# real data


@pytest.mark.mirror
def test_swindon_85_plus_growth_matches_raw_snpp(mirror) -> None:
    try:
        proj = demand.council_projection("Swindon", 2023, 12)
    except DataNotBuiltError as exc:
        pytest.skip(f"processed tables not built: {exc}")
    g = demand.growth_table(proj)
    # population/ons_snpp_2018/ons_pop.csv, rows "E06000030","Swindon":
    #   "85-89": 2023 " 3185.6", 2035 " 5115.5";  "90+": 2023 " 1885.6", 2035 " 2678.7"
    swindon = (5115.5 + 2678.7) / (3185.6 + 1885.6) - 1  # 7,794.2 / 5,071.2 - 1 = 53.7%
    # England rows: "85-89" 958379.0 -> 1465305.0; "90+" 552709.0 -> 780917.0
    # (2035 85+ = 2,246,222 as in the PROVENANCE sanity table)
    england = (1465305.0 + 780917.0) / (958379.0 + 552709.0) - 1  # 48.6%
    assert g.loc["Population 85+", "Swindon 2023"] == 5071
    assert g.loc["Population 85+", "Swindon 2035"] == 7794
    assert g.loc["Population 85+", "Swindon growth %"] == pytest.approx(100 * swindon, abs=0.05)
    assert g.loc["Population 85+", "England growth %"] == pytest.approx(100 * england, abs=0.05)
    # the low-high range brackets the principal
    row = g.loc["Population 85+"]
    assert row["range low %"] < row["Swindon growth %"] < row["range high %"]
