"""What every finance and activity parser shares: file locations, units and flags, and
council names resolved to codes.
"""

from __future__ import annotations

import warnings
from functools import cache

import pandas as pd

from asc_evidence import tidy
from asc_evidence.build import register_cache
from asc_evidence.councils import lookup
from asc_evidence.errors import UnknownCouncilError

PSS_DIR = "finance_activity/bengoodair_adults_social_care_data/Raw_data"
PSS_UNIT_COST_FILES: dict[str, str] = {
    "2008-09": f"{PSS_DIR}/2009/pers-soc-serv-exp-unit-cost-eng-2008-09-units (1).csv",
    "2009-10": f"{PSS_DIR}/2010/Final_Council Level_DetailedUnitcosts_200910.csv",
    "2010-11": f"{PSS_DIR}/2011/Final_Council_Level_Unit_Costs_Data_2010-11.csv",
    "2011-12": f"{PSS_DIR}/2012/Final_Council_Level_Detailed_UnitCosts_2011_12v2.csv",
    "2012-13": f"{PSS_DIR}/2013/Annex_Fin_CASSR_Level_Unit_Costs_2012_13.csv",
    "2013-14": f"{PSS_DIR}/2014/Annex_Final_CASSR_Level_Unit_Costs_2013_14.csv",
}
PSS_2014_15_FILE = f"{PSS_DIR}/2015/pss-exp-eng-14-15-fin-coun-lev-unit-cost.csv"
ASCFR_2021_22_FILE = (
    "finance_activity/ascfr_salt_data_tables_2021_22/ASCFR and SALT Data Tables 2021-22.xlsx"
)
CQC_DIR = "finance_activity/cqc_care_directory_la_aggregates_feb2021"
CQC_FILES = {
    "beds": f"{CQC_DIR}/nhs_eng_care_home_beds_la.csv",
    "nursing": f"{CQC_DIR}/nhs_eng_care_home_beds_without_nursing_la.csv",
    "dom": f"{CQC_DIR}/nhs_eng_dom_care_la.csv",
}
SPEND_2017_18_FILE = "finance_activity/ascfr_2017_18_gce_by_la_samrickman/Support Type With Populations all PSRs incl Sicilly.rds"

# Markers in the PSS-EX1 / ASC-FR files (their footnotes) and in the harmonised files.
MARKERS: dict[str, str] = {
    "..": tidy.FLAG_NOT_AVAILABLE,
    ":": tidy.FLAG_NOT_AVAILABLE,
    ".": "not applicable (zero or missing component)",
    "-": tidy.FLAG_SUPPRESSED,
    "*": tidy.FLAG_SUPPRESSED,
    "c": tidy.FLAG_SUPPRESSED,
    "z": tidy.FLAG_NOT_APPLICABLE,
    "[x]": "not submitted",
    "[c]": tidy.FLAG_SUPPRESSED,
}
FLAG_ZERO_RATE = "zero published (no such provision); not a price"

UNIT_HOUR_INDEPENDENT = "GBP per hour (price paid, independent sector)"
UNIT_HOUR_OWN = "GBP per hour (in-house provision)"
UNIT_WEEK = "GBP per week"


# Councils abolished on 1 April 2009 (not in the register), by DH CASSR code: ONS code and name.
LEGACY_COUNCILS: dict[str, tuple[str, str]] = {
    "320": ("E10000004", "Cheshire (county council, abolished 2009)"),
    "610": ("E10000001", "Bedfordshire (county council, abolished 2009)"),
}
FLAG_LEGACY = "boundary: council abolished April 2009 (not in register)"


@register_cache
@cache
def _council_of(query: str) -> tuple[str, str] | None:
    """``(ONS code, register name)`` of :func:`councils.lookup`, None when unknown.

    Cached: the same codes and names recur in every year's file; :func:`build.build` clears it.
    """
    try:
        council = lookup(query)
    except UnknownCouncilError:
        return None
    return council.code, council.name


def resolve_councils(codes: pd.Series, names: pd.Series) -> tuple[pd.Series, pd.Series, list[str]]:
    """Map council codes (NHS/DH CASSR or ONS) with names to ONS codes and register names.

    The code is tried first, then the name, then :data:`LEGACY_COUNCILS`. Returns
    ``(ons_codes, register_names, unresolved)`` where unresolved entries are ``"code name"``
    strings whose rows get ``<NA>``.
    """
    pairs = pd.DataFrame(
        {"code": codes.astype("string").fillna(""), "name": names.astype("string").fillna("")}
    )
    uniq = pairs.drop_duplicates()
    found: dict[tuple[str, str], tuple[str, str]] = {}
    unresolved = []
    for code, name in uniq.itertuples(index=False):
        council = None
        for query in (code.strip(), name.strip()):
            if query:
                council = _council_of(query)
                if council is not None:
                    break
        if council is None and code.strip() in LEGACY_COUNCILS:
            found[(code, name)] = LEGACY_COUNCILS[code.strip()]
        elif council is None:
            unresolved.append(f"{code} {name}".strip())
        else:
            found[(code, name)] = council
    keys = list(zip(pairs["code"], pairs["name"], strict=True))
    ons = pd.Series(
        [found.get(k, (pd.NA, pd.NA))[0] for k in keys], index=codes.index, dtype="string"
    )
    reg = pd.Series(
        [found.get(k, (pd.NA, pd.NA))[1] for k in keys], index=codes.index, dtype="string"
    )
    return ons, reg, unresolved


def _warn_unresolved(unresolved: list[str], file: str) -> None:
    if unresolved:
        warnings.warn(
            f"{file}: council(s) not in the register, rows dropped: {unresolved}", stacklevel=3
        )


def _zero_rate_to_nan(values: pd.Series, flags: pd.Series) -> tuple[pd.Series, pd.Series]:
    zero = values == 0
    return values.mask(zero), flags.mask(zero, FLAG_ZERO_RATE)
