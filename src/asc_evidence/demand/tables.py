"""Display-ready tables and sentences from a :class:`~asc_evidence.demand.model.DemandProjection`:
growth against England with ranges, people and cost per year, rates, small areas, growth rank.
"""

from __future__ import annotations

import pandas as pd

from asc_evidence.common import ENGLAND
from asc_evidence.demand.inputs import BASE_YEAR, GROWTH_BANDS, HORIZON, NEED, PRINCIPAL, RATE_BANDS
from asc_evidence.demand.model import DemandProjection, council_projection
from asc_evidence.stats.projection import growth_comparison


def _variant_growth(values: pd.DataFrame, value: str, from_year: int, to_year: int) -> pd.DataFrame:
    """Growth ``to/from - 1`` per area, band and variant -> min and max over variants."""
    wide = values[values["year"].isin([from_year, to_year])].pivot_table(
        index=["area_code", "age_band", "variant"], columns="year", values=value, aggfunc="sum"
    )
    growth = (wide[to_year] / wide[from_year] - 1).groupby(level=["area_code", "age_band"])
    return pd.DataFrame({"low": growth.min(), "high": growth.max()})


def growth_from_projection(
    proj: DemandProjection, from_year: int | None = None, to_year: int | None = None
) -> pd.DataFrame:
    """Core of :func:`growth_table`: growth of 65+/75+/85+ population and of people needing support."""
    from_year = proj.base_year if from_year is None else from_year
    to_year = proj.final_year if to_year is None else to_year
    code = proj.council_code
    pop_c = proj.population[proj.population["variant"] == PRINCIPAL]
    rows = []
    for band in GROWTH_BANDS:
        g = growth_comparison(pop_c, code, ENGLAND, band, from_year, to_year, "population")
        rows.append((f"Population {band}", "population", band, g))
    labels = {"18-64": "aged 18-64", "65+": "aged 65+", "all": "all adults"}
    for band in (*RATE_BANDS, "all"):
        g = growth_comparison(proj.demand, code, ENGLAND, band, from_year, to_year, "people")
        rows.append((f"Needing long-term support, {labels[band]}", "people", band, g))
    ranges = pd.concat(
        [
            _variant_growth(proj.population, "population", from_year, to_year).assign(
                measure="population"
            ),
            _variant_growth(proj.by_variant, "people", from_year, to_year).assign(measure="people"),
        ]
    ).set_index("measure", append=True)
    out = []
    for label, measure, band, g in rows:
        rc = ranges.loc[(code, band, measure)]
        re = ranges.loc[(ENGLAND, band, measure)]
        out.append(
            {
                "measure": label,
                f"{proj.council_name} {from_year}": round(g.area_from),
                f"{proj.council_name} {to_year}": round(g.area_to),
                f"{proj.council_name} growth %": round(100 * g.area_growth, 1),
                "range low %": round(100 * rc["low"], 1),
                "range high %": round(100 * rc["high"], 1),
                "England growth %": round(100 * g.comparator_growth, 1),
                "England range %": f"{100 * re['low']:.1f} to {100 * re['high']:.1f}",
            }
        )
    return pd.DataFrame(out).set_index("measure")


def growth_table(
    council: str | DemandProjection, from_year: int | None = None, to_year: int | None = None
) -> pd.DataFrame:
    """Growth of the 65+, 75+ and 85+ populations and of people needing support, council vs England.

    Parameters
    ----------
    council
        Council name or code (a projection from ``from_year`` to ``to_year`` is made), or a
        :class:`DemandProjection` already made.
    from_year, to_year
        Default: the projection's base and final years.

    Returns
    -------
    pandas.DataFrame
        One row per measure (the index): council values (whole people), council growth % and its
        range over the population variants, England growth % and range (1 dp). Ranges reflect the
        population variants only: with rates held fixed they cancel out of growth.
    """
    if not isinstance(council, DemandProjection):
        base = BASE_YEAR if from_year is None else from_year
        end = base + HORIZON if to_year is None else to_year
        council = council_projection(council, base, end - base)
    return growth_from_projection(council, from_year, to_year)


def headline(
    proj: DemandProjection, from_year: int | None = None, to_year: int | None = None
) -> str:
    """Two sentences: 85+ growth and growth of people needing support, each with its range."""
    from_year = proj.base_year if from_year is None else from_year
    to_year = proj.final_year if to_year is None else to_year
    pop_c = proj.population[proj.population["variant"] == PRINCIPAL]
    g85 = growth_comparison(
        pop_c, proj.council_code, ENGLAND, "85+", from_year, to_year, "population"
    )
    gpp = growth_comparison(
        proj.demand, proj.council_code, ENGLAND, "all", from_year, to_year, "people"
    )
    r85 = _variant_growth(proj.population, "population", from_year, to_year).loc[
        (proj.council_code, "85+")
    ]
    rpp = _variant_growth(proj.by_variant, "people", from_year, to_year).loc[
        (proj.council_code, "all")
    ]
    d = proj.demand.set_index(["area_code", "year", "age_band"]).loc[
        (proj.council_code, to_year, "all")
    ]
    s85 = g85.sentence().replace("85+ population", f"In {proj.council_name} the 85+ population")
    spp = gpp.sentence().replace("all people", f"The number of {NEED}")
    more = gpp.area_to - gpp.area_from
    change = f"{abs(more):,.0f} {'more' if more >= 0 else 'fewer'} people"
    return (
        f"{s85[:-1]} (the council's range across ONS variant projections {r85['low']:.0%} to "
        f"{r85['high']:.0%}). "
        f"{spp[:-1]} (the council's range {rpp['low']:.0%} to {rpp['high']:.0%}): about {change}, "
        f"{d['people']:,.0f} in {to_year} "
        f"(combined range {d['people_low']:,.0f} to {d['people_high']:,.0f})."
    )


def people_table(proj: DemandProjection, step: int = 2) -> pd.DataFrame:
    """People needing support and gross cost for the council every ``step`` years (display-ready).

    People are rounded to whole numbers, money to GBP million at 1 dp (2021-22 prices).
    """
    d = proj.demand[
        (proj.demand["area_code"] == proj.council_code) & (proj.demand["age_band"] == "all")
    ]
    years = [*range(proj.base_year, proj.final_year, step), proj.final_year]
    d = d[d["year"].isin(years)].set_index("year")
    return pd.DataFrame(
        {
            "people (central)": d["people"].round().astype("int64"),
            "people low": d["people_low"].round().astype("int64"),
            "people high": d["people_high"].round().astype("int64"),
            "gross cost £m, 2021-22 prices": (d["cost"] / 1e6).round(1),
            "cost low £m": (d["cost_low"] / 1e6).round(1),
            "cost high £m": (d["cost_high"] / 1e6).round(1),
        }
    )


def rates_table(proj: DemandProjection) -> pd.DataFrame:
    """Council and England rates per 1,000 population with Wilson intervals (display-ready)."""
    pieces = []
    for name, r in ((proj.council_name, proj.rates), ("England", proj.england_rates)):
        pieces.append(
            pd.DataFrame(
                {
                    "area": name,
                    "age band": r["age_band"],
                    "people supported": r["users"].round().astype("int64"),
                    "population mid-2021": r["population"].round().astype("int64"),
                    "per 1,000": (1000 * r["rate"]).round(1),
                    "95% CI low": (1000 * r["rate_lower"]).round(1),
                    "95% CI high": (1000 * r["rate_upper"]).round(1),
                    "rate from": r["rate_source"],
                }
            )
        )
    return pd.concat(pieces, ignore_index=True).set_index(["area", "age band"])


def small_area_table(areas, n: int = 10) -> pd.DataFrame:
    """The ``n`` MSOAs with the largest projected increase (display-ready, whole people, 1 dp %)."""
    if areas.empty:
        return pd.DataFrame(columns=["MSOA", "code", "now", "projected", "change", "change %"])
    top = areas.sort_values(["change", "msoa_code"], ascending=[False, True]).head(n)
    return pd.DataFrame(
        {
            "MSOA": top["msoa_name"].to_numpy(),
            "code": top["msoa_code"].to_numpy(),
            "now": top["people_base"].round().astype("int64").to_numpy(),
            "projected": top["people_target"].round().astype("int64").to_numpy(),
            "change": top["change"].round().astype("int64").to_numpy(),
            "change %": top["change_pct"].round(1).to_numpy(),
        },
        index=pd.RangeIndex(1, len(top) + 1, name="rank"),
    )


def growth_rank(growth, council_code: str, age_band: str = "85+") -> str:
    """Where the council's growth (from :func:`council_growth_map`) ranks among all councils."""
    g = growth.dropna(subset=["growth_pct"]).sort_values(
        ["growth_pct", "council_code"], ascending=[False, True]
    )
    ranks = pd.Series(range(1, len(g) + 1), index=g["council_code"].to_numpy())
    if council_code not in ranks.index:
        return f"No {age_band} growth figure for {council_code}."
    row = g.set_index("council_code").loc[council_code]
    median = g["growth_pct"].median()
    return (
        f"{row['council_name']}'s {age_band} population grows {row['growth_pct']:.1f}%, "
        f"the {_ordinal(int(ranks[council_code]))} fastest of {len(g)} councils "
        f"(median council {median:.1f}%)."
    )


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
