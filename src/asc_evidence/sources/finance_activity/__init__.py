"""Council unit costs, fee rates, spend and activity from PSS-EX1 and ASC-FR releases.

One module per publication: :mod:`.pss` (PSS-EX1, to 2014-15), :mod:`.ascfr` (ASC-FR and SALT),
:mod:`.cqc` (CQC care directory), with :mod:`.shared` (file locations, units, flags, council
names). Everything is importable from this package as before.

Tables
------
``unit_costs`` (source ``pss_ex1_unit_costs``)
    PSS Expenditure and Unit Costs council files 2008-09 .. 2013-14 (multi-row report CSVs, columns found
    by their description text) and 2014-15 (wide file, councils as columns; 65+ figures summed over
    primary support reasons). The independent-sector hourly home care cost is the price councils paid,
    i.e. the fee-rate series up to 2014-15.
``ascfr_2021_22`` (source ``ascfr_salt_2021_22``)
    ASC-FR and SALT Data Tables 2021-22: home care £/hour (T51), care home £/week (T52, T55), gross
    current expenditure and long-term support clients (T1, T38, T43, T44), for 2020-21 and 2021-22.
``cqc_beds_2021`` (source ``cqc_care_directory_2021``)
    CQC care directory aggregates by council, 1 February 2021: care home beds, nursing beds,
    domiciliary care services.
``spend_2017_18`` (source ``ascfr_2017_18``)
    ASC-FR 2017-18 gross current expenditure by council, care type, support setting and age band.
"""

from __future__ import annotations

from asc_evidence.build import TableSpec
from asc_evidence.sources.finance_activity.ascfr import (
    ASCFR_ID_COLUMNS,
    ASCFR_RATE_MEASURES,
    ASCFR_SELECTION,
    SPEND_2017_18_COLUMNS,
    ascfr_sheet_long,
    make_ascfr_2021_22,
    make_spend_2017_18,
    parse_ascfr_tables,
    parse_spend_2017_18,
)
from asc_evidence.sources.finance_activity.cqc import (
    CQC_NON_COUNCILS,
    make_cqc_beds,
    parse_cqc_beds,
)
from asc_evidence.sources.finance_activity.pss import (
    FLAG_2014_15,
    PSS_2014_15_ID_COLUMNS,
    PSS_2014_15_MEASURES,
    PSS_MEASURES,
    make_unit_costs,
    parse_pss_unit_costs,
    parse_pss_unit_costs_2014_15,
)
from asc_evidence.sources.finance_activity.shared import (
    ASCFR_2021_22_FILE,
    CQC_DIR,
    CQC_FILES,
    FLAG_LEGACY,
    FLAG_ZERO_RATE,
    LEGACY_COUNCILS,
    MARKERS,
    PSS_2014_15_FILE,
    PSS_DIR,
    PSS_UNIT_COST_FILES,
    SPEND_2017_18_FILE,
    UNIT_HOUR_INDEPENDENT,
    UNIT_HOUR_OWN,
    UNIT_WEEK,
    resolve_councils,
)

__all__ = [
    "ASCFR_2021_22_FILE",
    "ASCFR_ID_COLUMNS",
    "ASCFR_RATE_MEASURES",
    "ASCFR_SELECTION",
    "CQC_DIR",
    "CQC_FILES",
    "CQC_NON_COUNCILS",
    "FLAG_2014_15",
    "FLAG_LEGACY",
    "FLAG_ZERO_RATE",
    "LEGACY_COUNCILS",
    "MARKERS",
    "PSS_2014_15_FILE",
    "PSS_2014_15_ID_COLUMNS",
    "PSS_2014_15_MEASURES",
    "PSS_DIR",
    "PSS_MEASURES",
    "PSS_UNIT_COST_FILES",
    "SPEND_2017_18_COLUMNS",
    "SPEND_2017_18_FILE",
    "TABLES",
    "UNIT_HOUR_INDEPENDENT",
    "UNIT_HOUR_OWN",
    "UNIT_WEEK",
    "ascfr_sheet_long",
    "make_ascfr_2021_22",
    "make_cqc_beds",
    "make_spend_2017_18",
    "make_unit_costs",
    "parse_ascfr_tables",
    "parse_cqc_beds",
    "parse_pss_unit_costs",
    "parse_pss_unit_costs_2014_15",
    "parse_spend_2017_18",
    "resolve_councils",
]

TABLES: list[TableSpec] = [
    TableSpec(
        "unit_costs",
        (*PSS_UNIT_COST_FILES.values(), PSS_2014_15_FILE),
        make_unit_costs,
        description="PSS-EX1 council unit costs 2008-09..2014-15: home care £/hour, care homes 65+ £/week",
    ),
    TableSpec(
        "ascfr_2021_22",
        (ASCFR_2021_22_FILE,),
        make_ascfr_2021_22,
        description="ASC-FR 2021-22 tables: home care £/hour, care home £/week, spend, clients",
    ),
    TableSpec(
        "cqc_beds_2021",
        tuple(CQC_FILES.values()),
        make_cqc_beds,
        description="CQC care directory Feb 2021: care home beds, nursing beds, domiciliary services",
    ),
    TableSpec(
        "spend_2017_18",
        (SPEND_2017_18_FILE,),
        make_spend_2017_18,
        description="ASC-FR 2017-18 gross current expenditure by council x setting x age band",
    ),
]
