"""Small areas and maps: the council projection shared out to its MSOAs, and every council's growth."""

from __future__ import annotations

import pandas as pd

from asc_evidence import build
from asc_evidence.demand.inputs import BASE_YEAR, HORIZON, RATE_BANDS, _years
from asc_evidence.demand.model import DemandProjection, _project, council_projection
from asc_evidence.stats.projection import POP_COLUMNS, apportion_to_small_areas


def small_area_from_tables(
    msoa: pd.DataFrame,
    boundaries,  # geopandas.GeoDataFrame: msoa_code, geometry
    proj: DemandProjection,
    target_year: int | None = None,
):  # -> geopandas.GeoDataFrame
    """Core of :func:`small_area_projection` on the ``population_msoa`` and boundary tables."""
    import geopandas as gpd

    target_year = proj.final_year if target_year is None else target_year
    code = proj.council_code
    base = msoa[
        (msoa["period"] == "2021")
        & (msoa["council_code"] == code)
        & msoa["age_band"].isin(RATE_BANDS)
    ]
    columns = [
        "msoa_code",
        "msoa_name",
        "people_base",
        "people_target",
        "change",
        "change_pct",
        "people_target_low",
        "people_target_high",
        "people_65_target",
    ]
    if base.empty:
        empty = gpd.GeoDataFrame(
            {c: pd.Series(dtype="float64") for c in columns},
            geometry=gpd.GeoSeries([], crs=getattr(boundaries, "crs", None)),
        )
        empty.attrs["message"] = (
            f"No Census 2021 MSOA populations for {proj.council_name} ({code}): "
            "no small-area projection."
        )
        return empty
    small_base = pd.DataFrame(
        {
            "area_code": base["msoa_code"].astype(str).to_numpy(),
            "parent_code": code,
            "age_band": base["age_band"].astype(str).to_numpy(),
            "sex": "persons",
            "population": base["population"].to_numpy(dtype="float64"),
        }
    )
    council_pop = proj.population[
        (proj.population["area_code"] == code) & proj.population["age_band"].isin(RATE_BANDS)
    ]
    small = apportion_to_small_areas(small_base, council_pop)
    people = _project(
        small[[*POP_COLUMNS, "variant"]], proj.rates, proj.base_year, target_year - proj.base_year
    ).set_index(["area_code", "age_band", "year"])
    tot = people.xs("all", level="age_band")
    b = tot.xs(proj.base_year, level="year")
    t = tot.xs(target_year, level="year")
    out = pd.DataFrame(
        {
            "people_base": b["people"],
            "people_target": t["people"],
            "change": t["people"] - b["people"],
            "change_pct": 100 * (t["people"] / b["people"] - 1),
            "people_target_low": t["people_low"],
            "people_target_high": t["people_high"],
            "people_65_target": people.xs(("65+", target_year), level=["age_band", "year"])[
                "people"
            ],
        }
    ).rename_axis("msoa_code")
    names = base.drop_duplicates("msoa_code").set_index("msoa_code")["msoa_name"].astype(str)
    out.insert(0, "msoa_name", names.reindex(out.index).to_numpy())
    geo = boundaries[["msoa_code", "geometry"]].merge(out.reset_index(), on="msoa_code")
    geo = geo[["msoa_code", "msoa_name", *columns[2:], "geometry"]]
    geo = gpd.GeoDataFrame(geo, geometry="geometry", crs=boundaries.crs)
    geo = geo.sort_values("msoa_code").reset_index(drop=True)
    lost = len(out) - len(geo)
    geo.attrs["message"] = (
        f"{len(geo)} MSOA{'s' if len(geo) != 1 else ''} in {proj.council_name}; "
        f"projected change {proj.base_year}-{target_year}."
        + (f" {lost} MSOAs had no boundary and are not mapped." if lost else "")
    )
    return geo


def small_area_projection(
    council: str | DemandProjection, target_year: int | None = None
):  # -> geopandas.GeoDataFrame
    """People needing long-term support per MSOA in ``target_year`` and the change from the base year.

    Census 2021 MSOA populations aged 18-64 and 65+ inside the council are apportioned to the
    council projection (:func:`apportion_to_small_areas`: each MSOA keeps its 2021 share of each
    band), then multiplied by the council's rates. MSOAs add up to the council total exactly. The
    result is joined to the MSOA 2021 boundaries (British National Grid) for a map; a council with
    no MSOAs gives an empty frame whose ``attrs['message']`` says why.
    """
    proj = council if isinstance(council, DemandProjection) else council_projection(council)
    return small_area_from_tables(
        build.load("population_msoa"), build.load("boundaries_msoa"), proj, target_year
    )


def council_growth_from_tables(
    snpp: pd.DataFrame, boundaries, age_band: str, from_year: int, to_year: int
):  # -> geopandas.GeoDataFrame
    """Growth % of ``age_band`` (principal SNPP) for every council, joined to council boundaries."""
    sel = snpp[snpp["age_band"] == age_band]
    sel = sel[_years(sel["period"]).isin([from_year, to_year])]
    wide = sel.assign(year=_years(sel["period"])).pivot_table(
        index="council_code", columns="year", values="value"
    )
    growth = (100 * (wide[to_year] / wide[from_year] - 1)).rename("growth_pct")
    out = boundaries.merge(growth, left_on="council_code", right_index=True, how="left")
    return out.sort_values("council_code").reset_index(drop=True)


def council_growth_map(
    age_band: str = "85+", from_year: int = BASE_YEAR, to_year: int = BASE_YEAR + HORIZON
):  # -> geopandas.GeoDataFrame
    """Every council's projected growth (%) of ``age_band`` with its boundary, for a choropleth."""
    return council_growth_from_tables(
        build.load("population_projection"),
        build.load("boundaries_council"),
        age_band,
        from_year,
        to_year,
    )
