"""Demand projection by geography: how much more long-term care need is coming, and where?

The POPPI/PANSI method of the Institute of Public Care (Oxford Brookes University) [1]_: hold the
rate at which each age group uses a service fixed, multiply by the projected population of that
age group, and add up. Here the rates are the council's own:

* :func:`service_rates`: adults receiving long-term support at 31 March 2022 (SALT, in the ASC-FR
  and SALT data tables 2021-22) per resident of the same age at mid-2021 (ONS mid-year estimate),
  for ages 18-64 and 65+, with Wilson 95% intervals;
* :func:`council_projection`: the 2018-based SNPP for the council and England, a low/high range from
  the 2018-based national variant projections, and people needing support (and money) per year;
* :func:`growth_table` and :func:`headline`: growth of the 65+, 75+ and 85+ populations and of the
  people needing support, council against England, in a table and in words;
* :func:`small_area_projection`: the council projection shared out to its MSOAs (Census 2021) and
  joined to MSOA boundaries for a map; :func:`council_growth_map` maps every council's growth.

Each function that reads processed tables is a thin wrapper over a ``*_from_tables`` core that
takes the frames, so the method can be tested on small synthetic tables. The arithmetic is done
by :mod:`asc_evidence.stats.projection` (``rates_from_counts``, ``project_demand``,
``growth_comparison``, ``apportion_to_small_areas``).

Assumptions (also listed in :attr:`DemandProjection.notes`):

1. Rates stay at their 2021-22 level: no change in the health of each age group, eligibility,
   charging, supply or the balance between long-term support and prevention.
2. SALT publishes long-term support clients by council only for ages 18-64 and 65+, so the
   projection captures the growth of those two populations. Need rises steeply with age within
   65+, so as the 85+ share grows a single 65+ rate understates growth; 85+ growth is reported
   alongside as the key driver.
3. A council with no published count (not submitted or suppressed) takes England's rate for that
   band, flagged; a council created after 2021-22 takes its predecessor's rate, flagged. A missing
   count is never treated as zero.
4. The 2018-based SNPP is the latest subnational projection in the data; it predates Census 2021
   and the pandemic. Its 18-64 band includes 2/5 of the 15-19 band (ages 18-19, approximate).
5. Low/high range: England's national variant projections (2018-based NPP: high/low population,
   life expectancy and migration) as a ratio to the principal projection by year and age band,
   applied proportionally to the council's SNPP (the SNPP has no published variants in the data).
   This assumes each council's uncertainty is England's in proportion; local migration
   uncertainty is likely larger. The combined range of ``project_demand`` also takes the Wilson
   interval of the rates at its extremes at the same time: an outer envelope, not a confidence
   interval. Growth ranges use the population variants only (a fixed rate cancels out of growth).
6. Money: people x gross current expenditure on long-term support per client at 31 March 2022,
   by age band (ASC-FR 2021-22, the council's, else England's, flagged), in 2021-22 prices with
   no uplift for inflation or fee growth. In the base year it reproduces spend scaled by population.

References
----------
.. [1] Institute of Public Care, Oxford Brookes University. *Projecting Older People Population
   Information System (POPPI)* and *Projecting Adult Needs and Service Information (PANSI)*,
   methodology. https://www.poppi.org.uk/ and https://www.pansi.org.uk/
.. [2] Office for National Statistics (2020). *Subnational population projections for England:
   2018-based*; (2019) *National population projections: 2018-based* (variant projections).
.. [3] NHS Digital (2022). *Adult Social Care Activity and Finance Report, England, 2021-22*, data
   tables (ASC-FR and SALT).

Modules (all public names are re-exported here, so ``demand.council_projection(...)`` works):
:mod:`~asc_evidence.demand.inputs` (constants, rates, unit costs, population variants),
:mod:`~asc_evidence.demand.model` (the projection), :mod:`~asc_evidence.demand.tables` (tables and
sentences), :mod:`~asc_evidence.demand.areas` (small areas and maps) and
:mod:`~asc_evidence.demand.plots` (charts).
"""

from __future__ import annotations

from asc_evidence.common import ENGLAND
from asc_evidence.demand.areas import (
    council_growth_from_tables,
    council_growth_map,
    small_area_from_tables,
    small_area_projection,
)
from asc_evidence.demand.inputs import (
    ACTIVITY_PERIOD,
    BASE_YEAR,
    CLIENT_MEASURE,
    COST_MEASURE,
    GROWTH_BANDS,
    HORIZON,
    INDEX_BANDS,
    NEED,
    POPULATION_PERIOD,
    PRINCIPAL,
    RATE_BANDS,
    SOURCE_MSOA,
    SOURCE_RATES,
    SOURCE_SNPP,
    VARIANTS,
    apply_variants,
    rates_from_tables,
    service_rates,
    snpp_frame,
    unit_costs_from_table,
    variant_ratios,
)
from asc_evidence.demand.model import (
    DemandProjection,
    council_projection,
    people_and_cost,
    people_by_variant,
    projection_from_tables,
)
from asc_evidence.demand.plots import (
    index_frame,
    plot_growth_map,
    plot_people,
    plot_population_index,
    plot_small_area_map,
)
from asc_evidence.demand.tables import (
    growth_from_projection,
    growth_rank,
    growth_table,
    headline,
    people_table,
    rates_table,
    small_area_table,
)

__all__ = [
    "ACTIVITY_PERIOD",
    "BASE_YEAR",
    "CLIENT_MEASURE",
    "COST_MEASURE",
    "DemandProjection",
    "ENGLAND",
    "GROWTH_BANDS",
    "HORIZON",
    "INDEX_BANDS",
    "NEED",
    "POPULATION_PERIOD",
    "PRINCIPAL",
    "RATE_BANDS",
    "SOURCE_MSOA",
    "SOURCE_RATES",
    "SOURCE_SNPP",
    "VARIANTS",
    "apply_variants",
    "council_growth_from_tables",
    "council_growth_map",
    "council_projection",
    "growth_from_projection",
    "growth_rank",
    "growth_table",
    "headline",
    "index_frame",
    "people_and_cost",
    "people_by_variant",
    "people_table",
    "plot_growth_map",
    "plot_people",
    "plot_population_index",
    "plot_small_area_map",
    "projection_from_tables",
    "rates_from_tables",
    "rates_table",
    "service_rates",
    "small_area_from_tables",
    "small_area_projection",
    "small_area_table",
    "snpp_frame",
    "unit_costs_from_table",
    "variant_ratios",
]
