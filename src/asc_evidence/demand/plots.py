"""Charts of a demand projection: calls to :mod:`asc_evidence.charts` plus the few touches it has no
parameter for. :mod:`asc_evidence.charts` (and matplotlib) is imported by each chart, so importing
the demand package for its tables (the evidence stage, the command line) does not load them.
"""

from __future__ import annotations

import pandas as pd

from asc_evidence.common import ENGLAND
from asc_evidence.demand.inputs import (
    INDEX_BANDS,
    NEED,
    PRINCIPAL,
    SOURCE_MSOA,
    SOURCE_RATES,
    SOURCE_SNPP,
)
from asc_evidence.demand.model import DemandProjection


def index_frame(proj: DemandProjection, bands: tuple[str, ...] = INDEX_BANDS) -> pd.DataFrame:
    """Principal population indexed to 100 at the base year: ``series, year, index``."""
    p = proj.population[
        (proj.population["variant"] == PRINCIPAL) & proj.population["age_band"].isin(bands)
    ].copy()
    base = p[p["year"] == proj.base_year].set_index(["area_code", "age_band"])["population"]
    p["index"] = (
        100
        * p["population"]
        / base.reindex(pd.MultiIndex.from_frame(p[["area_code", "age_band"]])).to_numpy()
    )
    name = p["area_code"].map({proj.council_code: proj.council_name, ENGLAND: "England"})
    p["series"] = name + " " + p["age_band"]
    return p[["series", "area_code", "age_band", "year", "index"]].reset_index(drop=True)


def plot_population_index(proj: DemandProjection):  # -> matplotlib.figure.Figure
    """Lines of the council's and England's population by age band, indexed to 100 (England dashed)."""
    from asc_evidence import charts  # matplotlib only when drawing

    frame = index_frame(proj)
    fig = charts.trend_lines(
        frame,
        title=f"{proj.council_name} and England: projected population by age (base year = 100)",
        ylabel=f"Index ({proj.base_year} = 100)",
        source="ONS 2018-based subnational population projections (principal)",
        period=f"mid-{proj.base_year} to mid-{proj.final_year}",
        x="year",
        y="index",
        hue="series",
    )
    ax = fig.axes[0]
    ax.set_xlabel("Year (mid-year)")
    colours = dict(zip(INDEX_BANDS, ("#1b9e77", "#7570b3", charts.COUNCIL), strict=False))
    for line in ax.get_lines():
        label = str(line.get_label())
        line.set_color(colours.get(label.rsplit(" ", 1)[-1], charts.OTHER))
        line.set_markersize(4)
        if label.startswith("England"):
            line.set_linestyle("--")
    ax.legend(ncol=2, fontsize=8, title="solid: council, dashed: England", title_fontsize=8)
    return fig


def plot_people(proj: DemandProjection):  # -> matplotlib.figure.Figure
    """People needing long-term support per year (council) with the variant and combined ranges."""
    from asc_evidence import charts  # matplotlib only when drawing

    d = proj.demand[
        (proj.demand["area_code"] == proj.council_code) & (proj.demand["age_band"] == "all")
    ].sort_values("year")
    frame = pd.DataFrame(
        {"series": f"{proj.council_name} (central)", "year": d["year"], "value": d["people"]}
    )
    fig = charts.trend_lines(
        frame,
        title=f"{proj.council_name}: adults needing long-term support, projected",
        ylabel="People (18+) receiving long-term support",
        source=f"{SOURCE_RATES}; {SOURCE_SNPP}",
        period=f"rates 2021-22; projection mid-{proj.base_year} to mid-{proj.final_year}",
        x="year",
        y="value",
    )
    ax = fig.axes[0]
    ax.get_lines()[0].set_color(charts.COUNCIL)
    ax.get_lines()[0].set_markerfacecolor(charts.COUNCIL)  # trend_lines filled it with its palette
    # trend_lines puts the years at positions 0, 1, ... (one per year, in order): the ranges too
    at = d["year"].astype(str).map({y: i for i, y in enumerate(sorted(frame["year"].astype(str)))})
    ax.fill_between(
        at,
        d["people_low"],
        d["people_high"],
        color=charts.NEIGHBOUR,
        alpha=0.15,
        label="combined range (variants and rate interval)",
    )
    ax.fill_between(
        at,
        d["people_pop_low"],
        d["people_pop_high"],
        color=charts.NEIGHBOUR,
        alpha=0.35,
        label="population variants only",
    )
    ax.set_xlabel("Year (mid-year)")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def plot_small_area_map(areas, proj: DemandProjection):  # -> matplotlib.figure.Figure | None
    """Choropleth of the projected change in people needing support per MSOA, council outlined."""
    from asc_evidence import charts  # matplotlib only when drawing

    if areas.empty:
        return None
    import geopandas as gpd

    target = proj.final_year
    outline = gpd.GeoDataFrame(geometry=[areas.union_all()], crs=areas.crs)
    return charts.choropleth(
        areas,
        "change",
        title=f"{proj.council_name}: change in {NEED} by MSOA, {proj.base_year} to {target}",
        legend_label=f"Additional people {proj.base_year}-{target}",
        source=f"{SOURCE_MSOA}; {SOURCE_RATES}; {SOURCE_SNPP}",
        period=f"Census 2021 base, projected mid-{proj.base_year} to mid-{target}",
        highlight=outline,
        cmap="Oranges",
    )


def plot_growth_map(
    growth, proj: DemandProjection, age_band: str = "85+"
):  # -> matplotlib.figure.Figure
    """Choropleth of every council's projected growth of ``age_band``, the council outlined."""
    from asc_evidence import charts  # matplotlib only when drawing

    return charts.choropleth(
        growth,
        "growth_pct",
        title=f"Projected growth of the {age_band} population by council, "
        f"{proj.base_year} to {proj.final_year}",
        legend_label=f"Growth of {age_band} population (%)",
        source="ONS 2018-based subnational population projections (principal); ONS boundaries May 2023",
        period=f"mid-{proj.base_year} to mid-{proj.final_year}",
        highlight=growth[growth["council_code"] == proj.council_code],
        cmap="viridis",
    )
