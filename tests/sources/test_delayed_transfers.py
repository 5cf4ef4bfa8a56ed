"""Delayed transfers of care (LA Type B delayed days) and mid-2014 population parsers.

Tiny inputs reproduce the official layouts: a cover block (Title:, Period:, ...), a header row found
by content, an England row, a blank row, council rows and pseudo-areas. Expected values are worked
out by hand from those inputs, or quoted from the mirror's PROVENANCE.md.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook

from asc_evidence import tidy
from asc_evidence.errors import SchemaChangedError
from asc_evidence.sources import delayed_transfers as dt

TYPE_B = "delayed_transfers/la_type_b_days_2011_2019"
REASON_HEADER_OLD = [
    "A) COMPLETION OF ASSESSMENT", "B) PUBLIC FUNDING", "C) WAITING FURTHER NHS NON-ACUTE CARE",
    "DI) AWAITING RESIDENTIAL HOME PLACEMENT OR AVAILABILITY",
    "DII) AWAITING NURSING HOME PLACEMENT OR AVAILABILITY", "E) AWAITING CARE PACKAGE IN OWN HOME",
    "F) AWAITING COMMUNITY EQUIPMENT AND ADAPTIONS", "G) PATIENT OR FAMILY CHOICE", "H) DISPUTES",
    "I) HOUSING - PATIENTS NOT COVERED BY NHS AND COMMUNITY CARE ACT", "TOTAL",
]  # fmt: skip
REASON_HEADER_NEW = [
    "A) Awaiting completion of assessment", "B) Awaiting public funding",
    "C) Awaiting further non-acute NHS care", "Di) Awaiting residential home placement or availability",
    "Dii) Awaiting nursing home placement or availability", "E) Awaiting care package in own home",
    "F) Awaiting community equipment and adaptations", "G) Patient or family choice", "H) Disputes",
    "I) Housing - patients not covered by Care Act", "O) Other", "Total",
]  # fmt: skip


def cover(period: str, blank_rows: int = 2) -> list[list[object]]:
    """The cover block of an LA Type B sheet (column 0 empty, labels in column 1)."""
    rows: list[list[object]] = [
        [None],
        [None, "Title:", "Delayed Transfer of Care, NHS Organisations, England"],
        [None, "Summary:", "Number of Delayed Days during the reporting period"],
        [None],
        [None, "Period:", period],
        [None, "Source:", "Unify2 Data Collection - MSitDT"],
        [None, "Basis:", "Local Authority"],
        [None, "Published:", "27th May 2011"],
        [None, "Revised:", None],
        [None, "Status:", "Published"],
        [None, "Contact:", "someone"],
    ]
    return rows + [[None]] * blank_rows


def grid(rows: list[list[object]]) -> pd.DataFrame:
    width = max(len(r) for r in rows)
    return pd.DataFrame([r + [None] * (width - len(r)) for r in rows], dtype=object)


def org_rows_2015(blank_rows: int = 2) -> list[list[object]]:
    """Feb 2015 style: SHA/Region, Code, Name, NHS, Social Care, Both, Total (no ONS column)."""
    return [
        *cover("February 2015", blank_rows),
        [None, "Region", "Code", "Name", "NHS", "Social Care", "Both", "Total"],
        [None, "-", "-", "England", 80000, 40000, 10000, 130000],
        [None],
        [None, "South West", 819, "Swindon UA", 367, 355, 26, 748],
        [None, "East of England", "00KB", "Bedford", 10, "-", 2, 12],
        [None, "South West", 809, "Dorset", 100, 50, 5, 155],
        [None, "-", 9900, "Resident In Wales", 500, 80, 7, 587],
    ]


def reason_rows_2015() -> list[list[object]]:
    return [
        *cover("February 2015"),
        [None, "Region", "Code", "Name", *REASON_HEADER_OLD],
        [None, "-", "-", "England", *([1] * 10), 10],
        [None],
        [None, "South West", 819, "Swindon UA", 104, 0, 142, 69, 165, 106, 21, 109, 0, 32, 748],
        [None, "East of England", "00KB", "Bedford", 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 12],
        [None, "South West", 809, "Dorset", *([15] * 9), 20, 155],
        [None, "-", 9900, "Resident In Wales", *([0] * 10), 587],
    ]


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


def test_workbook_feb_2015_by_hand(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "Feb_15.xlsx",
        {dt.ORG_SHEET: org_rows_2015(), dt.REASON_SHEET: reason_rows_2015()},
    )
    out = dt.parse_type_b([path])
    tidy.validate(out, "dtoc_monthly")
    assert set(out["period"]) == {"2015-02"}
    v = out.set_index(["council_code", "measure"])
    # Swindon by NHS code 819 -> E06000030, values as in the official Feb 2015 file
    assert v.loc[("E06000030", "dtoc_days_nhs"), "value"] == 367
    assert v.loc[("E06000030", "dtoc_days_social_care"), "value"] == 355
    assert v.loc[("E06000030", "dtoc_days_both"), "value"] == 26
    assert v.loc[("E06000030", "dtoc_days_total"), "value"] == 748
    assert v.loc[("E06000030", "dtoc_days_reason_Dii"), "value"] == 165
    assert v.loc[("E06000030", "dtoc_days_reason_I"), "value"] == 32
    # DH code 00KB (not the register's NHS Digital code) resolved by name; '-' -> NaN + flag
    assert np.isnan(v.loc[("E06000055", "dtoc_days_social_care"), "value"])
    assert v.loc[("E06000055", "dtoc_days_social_care"), "flag"] == tidy.FLAG_NOT_APPLICABLE
    # "Dorset" in 2015 is Dorset County (E10000009), not the 2019 unitary that reuses code 809
    assert v.loc[("E10000009", "dtoc_days_total"), "value"] == 155
    assert "E06000059" not in set(out["council_code"])
    # England row, pseudo-area dropped, no "Other" reason before April 2017
    assert v.loc[("E92000001", "dtoc_days_total"), "level"] == "england"
    assert v.loc[("E92000001", "dtoc_days_total"), "value"] == 130000
    assert len(out[out["council_code"] == "E92000001"]) == 4 + 10
    assert out["council_code"].nunique() == 4  # England, Swindon, Bedford, Dorset County
    assert "dtoc_days_reason_O" not in set(out["measure"])
    assert (out["unit"] == "days").all()


@pytest.mark.parametrize("blank_rows", [0, 1, 2])
def test_header_row_found_by_content(blank_rows: int) -> None:
    long = dt.parse_sheet_grid(grid(org_rows_2015(blank_rows)), "org", "x.xls")
    swindon = long[(long["raw_code"] == "819") & (long["measure"] == "dtoc_days_social_care")]
    assert swindon["raw_value"].tolist() == [355]


def test_2019_layout_takes_days_block_not_people_per_day() -> None:
    """From April 2017 the org sheet repeats NHS..Total as average people per day to the right."""
    rows = [
        *cover("December 2019"),
        [None, None, None, None, None, "Delayed Days", None, None, None, None, "Average Number of People"],
        [None, "Region", "ONS Geography", "Code", "Name", "NHS", "Social Care", "Both", "Total", None,
         "NHS", "Social Care", "Both", "Total"],
        [None, "-", "-", "-", "England", 89694, 44863, 13544, 148101, None, 2893.35, 1447.19, 436.9, 4777.45],
        [None],
        [None, "South West", "E06000059", 809, "Dorset", 31, 62, 0, 93, None, 1, 2, 0, 3],
        [None, "South West", "E06000058", 738, "Bournemouth, Christchurch and Poole", 31, 0, 0, 31, None, 1, 0, 0, 1],
        [None],
        [None, "Notes:"],
        [None, "1. 'Average Number of People Delayed per Day' was previously titled 'DTOC Beds'"],
    ]  # fmt: skip
    long = dt.assign_codes(dt.parse_sheet_grid(grid(rows), "org", "Dec_19.xls"))
    sc = long[long["measure"] == "dtoc_days_social_care"].set_index("council_code")["raw_value"]
    assert sc.to_dict() == {"E92000001": 44863, "E06000059": 62, "E06000058": 0}
    assert set(long["period"]) == {"2019-12"}


def test_new_reason_headers_include_other() -> None:
    rows = [
        *cover("April 2017"),
        [None, "Region", "ONS Geography", "Code", "Name", *REASON_HEADER_NEW],
        [None, "-", "-", "-", "England", *range(1, 12), 66],
    ]
    long = dt.parse_sheet_grid(grid(rows), "reason", "April_17.xls")
    got = dict(zip(long["measure"], long["raw_value"], strict=True))
    assert got["dtoc_days_reason_Di"] == 4
    assert got["dtoc_days_reason_Dii"] == 5
    assert got["dtoc_days_reason_O"] == 11
    assert "dtoc_days_reason_Total" not in got  # the reason sheet's total repeats the org sheet's


def test_renamed_column_raises_schema_changed() -> None:
    rows = org_rows_2015()
    header = next(i for i, r in enumerate(rows) if "Name" in r)
    rows[header] = [None, "Region", "Code", "Name", "NHS", "Social Services", "Both", "Total"]
    with pytest.raises(SchemaChangedError, match=r"x\.xls.*") as err:
        dt.parse_sheet_grid(grid(rows), "org", "x.xls")
    assert "Social Care" in err.value.expected
    assert "Social Services" in err.value.found


def test_missing_header_row_raises_schema_changed() -> None:
    rows = [*cover("May 2012"), [None, "Region", "Area", "NHS"], [None, "-", "England", 1]]
    with pytest.raises(SchemaChangedError):
        dt.parse_sheet_grid(grid(rows), "org", "May_12.xls")


def test_unknown_area_is_reported() -> None:
    rows = [*cover("May 2012"), [None, "SHA", "Code", "Name", "NHS", "Social Care", "Both", "Total"],
            [None, "-", "ZZZ", "Atlantis", 1, 1, 1, 3]]  # fmt: skip
    with pytest.raises(ValueError, match="Atlantis"):
        dt.assign_codes(dt.parse_sheet_grid(grid(rows), "org", "May_12.xls"))


def test_jonnyp_jan_feb_2020_flagged(tmp_path: Path) -> None:
    path = tmp_path / "dtoc_totals.csv"
    path.write_text(
        "Year,Y/M,areaCode,areaName,NHS_B,SC_B,Both_B,dtoc_total\n"
        "2019,2019_DECEMBER,E06000030,Swindon,1.0,2.0,3.0,6.0\n"
        "2020,2020_JANUARY,E06000030,Swindon,10.0,20.0,0.0,30.0\n"
        '2020,2020_FEBRUARY,E06000058,"BOURNEMOUTH, CHRISTCHURCH AND POOLE",5.0,6.0,7.0,18.0\n',
        encoding="utf-8",
    )
    out = dt.parse_jonnyp(path)
    tidy.validate(out, "dtoc_monthly")
    assert sorted(set(out["period"])) == ["2020-01", "2020-02"]
    v = out.set_index(["council_code", "period", "measure"])["value"]
    assert v[("E06000030", "2020-01", "dtoc_days_social_care")] == 20
    assert v[("E06000058", "2020-02", "dtoc_days_total")] == 18
    assert (out["flag"] == dt.FLAG_THIRD_PARTY).all()


POP_HEADER = "CODE,NAME,ALL AGES," + ",".join(str(a) for a in range(91))


def pop_line(code: str, name: str, per_age: int) -> str:
    cells = [f'"{per_age * 91:,}"'] + [f'"{per_age:,}"'] * 91
    return f"{code},{name}," + ",".join(cells)


def test_population_2014_bands_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "UK persons-Table 1.csv"
    path.write_text(
        '"MYE2: Population Estimates by single year of age and sex for local authorities in the UK, mid-2014",,\n'
        "ALL PERSONS,,\n"
        f"{POP_HEADER}\n"
        f"{pop_line('E92000001', 'ENGLAND', 1000)}\n"
        f"{pop_line('E06000030', 'Swindon', 10)}\n"
        f"{pop_line('E07000004', 'Aylesbury Vale', 5)}\n"
        f"{pop_line('W06000001', 'Isle of Anglesey', 5)}\n",
        encoding="utf-8",
    )
    out = dt.parse_population_2014(path)
    tidy.validate(out, "population_2014")
    v = out.set_index(["council_code", "age_band"])["value"]
    assert v[("E06000030", "all")] == 910  # 91 single years x 10
    assert v[("E06000030", "18+")] == 730  # ages 18..90 = 73 years x 10
    assert v[("E06000030", "65+")] == 260  # ages 65..90 = 26 years x 10
    assert v[("E92000001", "18+")] == 73_000  # quoted "1,000" parsed
    assert set(out["council_code"]) == {"E92000001", "E06000030"}  # districts and Wales dropped
    assert out.set_index("council_code").loc["E92000001", "level"].eq("england").all()


def test_population_renamed_column_raises(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("title,,\n" + POP_HEADER.replace("ALL AGES", "ALL") + "\n", encoding="utf-8")
    with pytest.raises(SchemaChangedError):
        dt.parse_population_2014(path)


# ----------------------------------------------------------------------------- real mirror
@cache
def _months(mirror: Path, names: tuple[str, ...]) -> pd.DataFrame:
    return dt.parse_type_b([mirror / TYPE_B / n for n in names])


FY_2014_15 = ("April_14.xls", "May_14.xls", "June_14.xls", "July_14.xls", "Aug_14.xls", "Sept_14.xls",
              "Oct_14.xls", "Nov_14.xls", "Dec_14.xls", "Jan_15.xls", "Feb_15.xls", "March_15.xls")  # fmt: skip


def test_mirror_swindon_feb_2015(mirror: Path) -> None:
    """PROVENANCE: Swindon Feb 2015 NHS / social care / both = 367 / 355 / 26 (total 748)."""
    df = _months(mirror, ("Feb_15.xls",))
    sw = df[df["council_code"] == "E06000030"].set_index("measure")["value"]
    assert (sw["dtoc_days_nhs"], sw["dtoc_days_social_care"], sw["dtoc_days_both"]) == (
        367,
        355,
        26,
    )
    assert sw["dtoc_days_total"] == 748


def test_mirror_2014_15_social_care_days(mirror: Path) -> None:
    """PROVENANCE: Apr 2014 - Mar 2015 social-care days: Swindon 3,699; England 421,434."""
    names = tuple(n for n in FY_2014_15 if (mirror / TYPE_B / n).is_file())
    assert len(names) == 12
    df = _months(mirror, names)
    sc = df[df["measure"] == "dtoc_days_social_care"]
    assert sorted(set(sc["period"])) == [f"2014-{m:02d}" for m in range(4, 13)] + [
        "2015-01",
        "2015-02",
        "2015-03",
    ]
    assert sc.loc[sc["council_code"] == "E06000030", "value"].sum() == 3699
    assert sc.loc[sc["level"] == "england", "value"].sum() == 421_434


def test_mirror_reasons_add_up_to_total(mirror: Path) -> None:
    df = _months(mirror, ("Dec_19.xls",))
    reasons = (
        df[df["measure"].str.startswith("dtoc_days_reason_")].groupby("council_code")["value"].sum()
    )
    total = df[df["measure"] == "dtoc_days_total"].set_index("council_code")["value"]
    pd.testing.assert_series_equal(reasons.sort_index(), total.sort_index(), check_names=False)
    assert (
        df.loc[(df["level"] == "england") & (df["measure"] == "dtoc_days_total"), "value"].item()
        == 148_101
    )


def test_mirror_population_2014(mirror: Path) -> None:
    """PROVENANCE: England 18+ 42,724,917; Swindon 18+ 167,195 (all ages 215,799)."""
    df = dt.parse_population_2014(mirror / dt.POPULATION_KEY)
    v = df.set_index(["council_code", "age_band"])["value"]
    assert v[("E92000001", "18+")] == 42_724_917
    assert v[("E06000030", "18+")] == 167_195
    assert v[("E06000030", "all")] == 215_799
    assert (df["level"] == "council").sum() == 3 * 152
