"""Fair Cost of Care 2022 median costs, read from The Health Foundation's tabulizer extraction.

The only machine-readable Fair Cost of Care material is a raw PDF-table extraction (an RDS list of
character matrices) of 39 councils' "Annex B" reports. Tables differ by council (merged or split
cells, several tables per report), so cells are read from hand-checked locations
(:data:`LOCATORS`): each names the table, the row label and the column of the MEDIAN, and the value
must parse as money and fall in a plausible range. A locator that no longer matches is skipped with a
warning, so the table stays partial rather than wrong. Every value is flagged as not an official
compilation.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from asc_evidence import tidy
from asc_evidence.build import TableSpec
from asc_evidence.councils import lookup
from asc_evidence.errors import SchemaChangedError
from asc_evidence.fetch import fetch

FCOC_DIR = "fee_rates/fcoc_hf_council_web_scraping"
FCOC_LIST = f"{FCOC_DIR}/tabulizer-output-list.Rdata"
FCOC_COVER = f"{FCOC_DIR}/tabulizer-cover-sheet.csv"
FLAG_FCOC = (
    "extracted from council PDF by The Health Foundation (tabulizer); not official compilation"
)

HOME = "fcoc_home_care_hour_median"
RES = "fcoc_care_home_65_week_median_without_nursing"
NUR = "fcoc_care_home_65_week_median_with_nursing"
MEASURE_INFO: dict[str, tuple[str, str, tuple[float, float]]] = {
    HOME: ("18+", "GBP per contact hour (median cost of care, 18+ home care)", (15.0, 40.0)),
    RES: (
        "65+",
        "GBP per resident per week (median cost of care, care home without nursing)",
        (450.0, 2000.0),
    ),
    NUR: (
        "65+",
        "GBP per resident per week (median cost of care, care home with nursing)",
        (600.0, 2500.0),
    ),
}


class Locator(NamedTuple):
    """Where a median sits: list element name prefix, row label regex, column, token in the cell."""

    council: str
    table: str
    row: str
    col: int
    measure: str
    token: int = 0


# Checked by eye against the extracted tables (and, where the report has them, against the
# per-type detail tables: e.g. Kirklees TOTAL 822.83 = median of its "without nursing" table).
LOCATORS: tuple[Locator, ...] = (
    Locator("Barnet", "barnet table 3 ", r"^TOTAL$", 1, RES),
    Locator("Barnet", "barnet table 3 ", r"^TOTAL$", 3, NUR),
    Locator(
        "Barnsley", "barnsley table 4 Fair Cost of Care Report – Domiciliary", r"^TOTAL$", 2, HOME
    ),
    Locator(
        "Barnsley", "barnsley table 4 Fair cost of care report - age 65+", r"^TOTAL$", 1, RES, 1
    ),
    Locator(
        "Barnsley", "barnsley table 4 Fair cost of care report - age 65+", r"^TOTAL$", 3, NUR, 1
    ),
    Locator(
        "Bolton",
        "bolton table 2 Annex B Cost of Care Report Age 18+",
        r"^Total Cost Per Hour$",
        2,
        HOME,
    ),
    Locator("Bolton", "bolton table 2 Annex B Cost of Care Report Age 65+", r"^TOTAL$", 1, RES),
    Locator("Bolton", "bolton table 2 Annex B Cost of Care Report Age 65+", r"^TOTAL$", 3, NUR),
    Locator("Bradford", "bradford table 2 Homecare", r"^Total Cost Per Hour$", 3, HOME),
    Locator("Bromley", "bromley table 10 ", r"^TOTAL$", 1, RES),
    Locator("Bromley", "bromley table 10 ", r"^TOTAL$", 3, NUR),
    Locator(
        "Bury",
        "bury table 2 Annex B: Bury Council Cost of Care Report – Domiciliary",
        r"^TOTAL$",
        1,
        HOME,
    ),
    Locator(
        "Bury",
        "bury table 3 Annex B_Bury Council_Cost of Care Report_Care Homes",
        r"^TOTAL$",
        1,
        RES,
    ),
    Locator(
        "Bury",
        "bury table 3 Annex B_Bury Council_Cost of Care Report_Care Homes",
        r"^TOTAL$",
        3,
        NUR,
    ),
    Locator("Gloucestershire", "gloucestershire table 1 Cost of Care Annex B", r"^TOTAL$", 3, HOME),
    Locator(
        "Herefordshire",
        "herefordshire table 1 Cost of Care Report - Home Care",
        r"^TOTAL$",
        1,
        HOME,
    ),
    Locator(
        "Herefordshire",
        "herefordshire table 1 Cost of Care Report - Residential",
        r"^TOTAL$",
        1,
        RES,
    ),
    Locator(
        "Herefordshire",
        "herefordshire table 1 Cost of Care Report - Residential",
        r"^TOTAL$",
        3,
        NUR,
    ),
    Locator("Kingston upon Hull", "hull table 4 ", r"^TOTAL$", 2, HOME),
    Locator("Kent", "kent table 1 Kent County Council Domiciliary", r"^18\+$", 3, HOME),
    Locator("Kent", "kent table 5 Kent County Council Care Home", r"^TOTAL$", 1, RES),
    Locator("Kent", "kent table 5 Kent County Council Care Home", r"^TOTAL$", 5, NUR),
    Locator("Kingston upon Thames", "kingston table 2 ", r"^TOTAL$", 1, RES),
    Locator("Kingston upon Thames", "kingston table 2 ", r"^TOTAL$", 3, NUR),
    Locator("Kirklees", "kirklees table 12 ", r"^TOTAL$", 2, HOME),
    Locator("Kirklees", "kirklees table 2 ", r"^TOTAL$", 1, RES),
    Locator("Kirklees", "kirklees table 2 ", r"^TOTAL$", 3, NUR),
    Locator("Knowsley", "knowsley table 7 ", r"^TOTAL$", 3, RES),
    Locator("Knowsley", "knowsley table 11 ", r"^TOTAL$", 3, NUR),
    Locator("Lambeth", "lambeth table 2 ", r"^TOTAL$", 1, HOME),
    Locator("Hammersmith and Fulham", "lbhf table 4 Cost of Care Report 18+", r"^TOTAL$", 1, HOME),
    Locator("North Lincolnshire", "northlincs table 1 ", r"^TOTAL$", 1, RES),
    Locator("North Lincolnshire", "northlincs table 1 ", r"^TOTAL$", 3, NUR),
    Locator(
        "Northumberland", "northumberland table 5 ", r"^TOTAL - non-nursing residents$", 2, RES
    ),
    Locator("Northumberland", "northumberland table 5 ", r"^TOTAL - nursing residents$", 2, NUR),
    Locator("Portsmouth", "portsmouth table 5 ", r"^TOTAL$", 1, HOME),
    Locator("Rotherham", "rotherham table 2 ", r"^TOTAL PER CONTACT HOUR$", 1, HOME),
    Locator("Rutland", "rutland table 4 ", r"^Total Cost Per Hour$", 3, HOME),
    Locator("Sefton", "sefton table 9 ", r"^Total Cost Per Hour$", 2, HOME),
    Locator("Solihull", "solihull table 4 Adult Social Care 18+", r"^TOTAL$", 1, HOME),
    Locator("Solihull", "solihull table 4 Adult Social Care 65+", r"^TOTAL$", 1, RES),
    Locator("Solihull", "solihull table 4 Adult Social Care 65+", r"^TOTAL$", 3, NUR),
    Locator("Stoke-on-Trent", "stoke table 2 ", r"^TOTAL$", 3, HOME),
)
_MONEY = re.compile(r"£?\s*-?\d[\d,]*(?:\.\d+)?")


# --------------------------------------------------------------------------- reading the RDS list


def _attr(obj: object, name: str) -> object | None:
    """Value of R attribute ``name`` of a parsed rdata object (following pairlist references)."""
    a = obj.attributes
    while a is not None and a.info.type.name == "LIST":
        tag = a.tag
        if tag is not None and tag.info.type.name == "REF":
            tag = tag.referenced_object
        if tag is not None and getattr(tag.value, "value", None) == name.encode():
            return a.value[0]
        a = a.value[1]
    return None


def _strings(obj: object) -> list[str]:
    return ["" if c.value is None else c.value.decode("utf-8", errors="replace") for c in obj.value]


def read_tabulizer_list(path: Path) -> list[tuple[str, np.ndarray]]:
    """Read the RDS list of character matrices as ``[(element name, 2-D array of str), ...]``.

    The matrices' ``dim`` attributes are read from the parsed object directly (the high-level
    conversion flattens character matrices). Names can repeat, so a list (not a dict) is returned.
    """
    import rdata

    with warnings.catch_warnings():  # the file is an RDS despite its .Rdata extension
        warnings.filterwarnings("ignore", message=".*(RDS|Rdata).*", category=UserWarning)
        parsed = rdata.parser.parse_file(path)
    names_obj = _attr(parsed.object, "names")
    if names_obj is None:
        raise SchemaChangedError(path.name, ["a named list"], ["an unnamed object"])
    out = []
    for name, element in zip(_strings(names_obj), parsed.object.value, strict=True):
        dim = _attr(element, "dim")
        cells = _strings(element)
        shape = tuple(int(x) for x in dim.value) if dim is not None else (len(cells), 1)
        matrix = np.asarray(cells, dtype=object).reshape(shape, order="F")
        out.append(
            (name, np.vectorize(lambda s: re.sub(r"\s+", " ", s).strip(), otypes=[object])(matrix))
        )
    return out


# --------------------------------------------------------------------------- extraction


def _read_cell(tables: list[tuple[str, np.ndarray]], loc: Locator) -> tuple[float | None, str]:
    """Value at a locator, or ``(None, reason)``."""
    matches = [m for name, m in tables if name.startswith(loc.table)]
    if len(matches) != 1:
        return None, f"{len(matches)} tables named {loc.table!r}"
    m = matches[0]
    rows = [i for i in range(m.shape[0]) if re.search(loc.row, m[i, 0], re.I)]
    if len(rows) != 1 or loc.col >= m.shape[1]:
        return None, f"row {loc.row!r} found {len(rows)} times (or column {loc.col} absent)"
    tokens = _MONEY.findall(m[rows[0], loc.col])
    if len(tokens) <= loc.token:
        return None, f"cell {m[rows[0], loc.col]!r} has no number #{loc.token}"
    value = float(re.sub(r"[£,\s]", "", tokens[loc.token]))
    low, high = MEASURE_INFO[loc.measure][2]
    if not low <= value <= high:
        return None, f"value {value} outside plausible range {low}-{high}"
    return value, ""


def parse_fair_cost_of_care(tables: list[tuple[str, np.ndarray]]) -> pd.DataFrame:
    """Read every :data:`LOCATORS` cell into the tidy table (period ``2022-23``).

    Locators that do not match (table absent, row not unique, value out of range) are skipped with a
    warning naming them.
    """
    records, skipped = [], []
    for loc in LOCATORS:
        value, reason = _read_cell(tables, loc)
        if value is None:
            skipped.append(f"{loc.council} {loc.measure}: {reason}")
            continue
        age, unit, _ = MEASURE_INFO[loc.measure]
        council = lookup(loc.council)
        records.append(
            {
                "council_code": council.code,
                "council_name": council.name,
                "measure": loc.measure,
                "age_band": age,
                "unit": unit,
                "value": value,
            }
        )
    if skipped:
        warnings.warn(f"Fair Cost of Care cells not extracted: {skipped}", stacklevel=2)
    out = pd.DataFrame(
        records, columns=["council_code", "council_name", "measure", "age_band", "unit", "value"]
    )
    return tidy.make_tidy(out, source="fair_cost_of_care_2022", period="2022-23", flag=FLAG_FCOC)


def make_fair_cost_of_care() -> pd.DataFrame:
    """The ``fair_cost_of_care_2022`` table."""
    return parse_fair_cost_of_care(read_tabulizer_list(fetch(FCOC_LIST)))


TABLES: list[TableSpec] = [
    TableSpec(
        "fair_cost_of_care_2022",
        (FCOC_LIST,),
        make_fair_cost_of_care,
        description="Fair Cost of Care 2022 medians (£/hour home care, £/week 65+ care homes), partial",
    ),
]
