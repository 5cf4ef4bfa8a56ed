"""ASCOF parsers: official 2020-21 open-data file, the 2017-18..2023-24 trend extract, Oflog neighbours.

Tiny inputs follow the official layouts (sheet ``in`` with the 10 open-data columns; the trend CSV's
9 columns). Expected values are worked out by hand or quoted from the mirror's PROVENANCE.md.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from asc_evidence import tidy
from asc_evidence.errors import SchemaChangedError
from asc_evidence.sources import ascof

OFFICIAL_HEADER = [
    "Geographical Code", "Geographical Description", "Geographical Level", "ONS Code",
    "ASCOF Measure Code", "Disaggregation Level", "Measure Type", "Measure Value", "Measure Group",
    "Measure Group Description",
]  # fmt: skip
SWINDON = ("819", "Swindon", "Council", "E06000030")
ENGLAND = ("E", "England", "England", "E92000001")
IOS = ("906", "Isles of Scilly", "Council", "E06000053")
UA_TYPE = ("U", "Unitary Authority", "Council Type", None)
D2A2 = "Long-term support needs of older adults (aged 65 and over) met by admission ..., per 100,000 population"


def official_rows() -> list[list[object]]:
    rows = []
    for area in (SWINDON, ENGLAND):
        nums = {SWINDON: ("143", "36873", "387.8"), ENGLAND: ("52133", "10464019", "498.2")}[area]
        for mtype, val in zip(("Numerator", "Denominator", "Outcome"), nums, strict=True):
            rows.append([*area, "2A2", "Total", mtype, val, "2A2", D2A2])
    rows += [
        [*SWINDON, "1A", "Total", "Outcome", "[x]", "1A", "Social care-related quality of life"],
        [*SWINDON, "1C1A1864", "18-64", "Numerator", "800", "1C1A", "self-directed support"],
        [*SWINDON, "1C1A1864", "18-64", "Denominator", "1000", "1C1A", "self-directed support"],
        [*SWINDON, "1C1A1864", "18-64", "Outcome", "80.0", "1C1A", "self-directed support"],
        [*SWINDON, "2B1F", "Female", "Outcome", "75.0", "2B1", "still at home 91 days"],
        [*SWINDON, "2B185OV", "85 and over", "Outcome", "70.0", "2B1", "still at home 91 days"],
        [*IOS, "1C2A", "Total", "Numerator", "[c]", "1C2A", "direct payments"],
        [*IOS, "1C2A", "Total", "Denominator", "[c]", "1C2A", "direct payments"],
        [*IOS, "1C2A", "Total", "Outcome", "25.0", "1C2A", "direct payments"],
        [*IOS, "2A1", "Total", "Outcome", "[c]", "2A1", "younger adults admissions"],
        [*UA_TYPE, "2A2", "Total", "Outcome", "600.0", "2A2", D2A2],
        [*SWINDON, "3A", "Total", "Base", "250", "3A", "satisfaction"],
    ]
    return rows


def write_official(path: Path, header: list[str] = OFFICIAL_HEADER) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "in"
    ws.append(header)
    for r in official_rows():
        ws.append(r)
    wb.save(path)
    return path


def test_official_rows_by_hand(tmp_path: Path) -> None:
    out = ascof.parse_official(write_official(tmp_path / "open-data.xlsx"))
    tidy.validate(out, "ascof")
    v = out.set_index(["council_code", "measure", "age_band", "sex"])
    sw = v.loc[("E06000030", "ascof_2A2", "all", "persons")]
    assert (sw["numerator"], sw["denominator"], sw["value"]) == (143, 36873, 387.8)
    assert sw["unit"] == "per 100,000"
    assert sw["flag"] == ""
    assert sw["level"] == "council"
    assert v.loc[("E92000001", "ascof_2A2", "all", "persons"), "level"] == "england"
    # [x] -> NaN + "not available"; [c] -> NaN + "suppressed"
    assert math.isnan(v.loc[("E06000030", "ascof_1A", "all", "persons"), "value"])
    assert v.loc[("E06000030", "ascof_1A", "all", "persons"), "flag"] == tidy.FLAG_NOT_AVAILABLE
    assert v.loc[("E06000030", "ascof_1A", "all", "persons"), "unit"] == "score"
    assert v.loc[("E06000053", "ascof_2A1", "all", "persons"), "flag"] == tidy.FLAG_SUPPRESSED
    # outcome published but numerator suppressed: value kept, flag explains the missing numerator
    ios = v.loc[("E06000053", "ascof_1C2A", "all", "persons")]
    assert ios["value"] == 25.0
    assert math.isnan(ios["numerator"])
    assert ios["flag"] == "numerator suppressed"
    # disaggregations -> age_band / sex
    assert v.loc[("E06000030", "ascof_1C1A", "18-64", "persons"), "numerator"] == 800
    assert v.loc[("E06000030", "ascof_1C1A", "18-64", "persons"), "unit"] == "%"
    assert v.loc[("E06000030", "ascof_2B1", "all", "female"), "value"] == 75.0
    assert v.loc[("E06000030", "ascof_2B1", "85+", "persons"), "value"] == 70.0
    # council-type aggregate and Base rows dropped
    assert out["council_code"].notna().all()
    assert "ascof_3A" not in set(out["measure"])
    assert len(out) == 8


def test_official_renamed_column_raises(tmp_path: Path) -> None:
    header = [("Value" if h == "Measure Value" else h) for h in OFFICIAL_HEADER]
    with pytest.raises(SchemaChangedError, match="open-data.xlsx") as err:
        ascof.parse_official(write_official(tmp_path / "open-data.xlsx", header))
    assert "Measure Value" in err.value.expected


TREND_HEADER = (
    "Year,Geographical Description,ONS Code,Measure Group,Measure Group Description,Measure_Value,"
    "Geographical Level,Disaggregation Level,Measure Type\n"
)


def write_trend(path: Path, lines: list[str]) -> Path:
    path.write_text(TREND_HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def trend_lines() -> list[str]:
    return [
        "2017-18,Swindon,E06000030,2C2,Delayed transfers of care attributable to adult social care,4.4,Council,Total,Outcome",
        "2018-19,Swindon,E06000030,2C2,Delayed transfers of care attributable to adult social care,0.9,Council,Total,Outcome",
        "2019-20,Swindon,E06000030,2C2,Delayed transfers of care attributable to adult social care,1.4,Council,Total,Outcome",
        "2019-20,Unitary Authority,,2C2,Delayed transfers of care attributable to adult social care,2.0,Council type,Total,Outcome",
        "2020-21,Swindon,E06000030,2A2,admissions 65+,999.9,Council,Total,Outcome",
        "2020-21,Swindon,E06000030,2A1,admissions 18-64,11.1,Council,Total,Outcome",
        '2023-24,Swindon,E06000030,2C,"Long-term support needs of older adults (aged 65 and over) met by admission",422.5,Council,,',
        "2023-24,Swindon,E06000030,3D1A,Proportion of people using social care who receive self-directed support,93.0,Council,,",
        "2023-24,South West,E12000009,3D2A,Proportion of people using social care who receive direct payments,24.0,Region,,",
    ]


def test_trend_maps_new_codes_and_flags_numerators(tmp_path: Path) -> None:
    out = ascof.parse_trend(write_trend(tmp_path / "trend_data.csv", trend_lines()))
    tidy.validate(out, "ascof")
    v = out.set_index(["council_code", "period", "measure"])
    # PROVENANCE: Swindon 2C2 2017-18 = 4.4, 2018-19 = 0.9, 2019-20 = 1.4
    assert v.loc[("E06000030", "2017-18", "ascof_2C2"), "value"] == 4.4
    assert v.loc[("E06000030", "2018-19", "ascof_2C2"), "value"] == 0.9
    assert v.loc[("E06000030", "2019-20", "ascof_2C2"), "value"] == 1.4
    assert v.loc[("E06000030", "2019-20", "ascof_2C2"), "unit"] == "per 100,000"
    # 2023-24 new codes -> old ones: 2C -> 2A2, 3D1A -> 1C1A, 3D2A -> 1C2A
    assert v.loc[("E06000030", "2023-24", "ascof_2A2"), "value"] == 422.5
    assert v.loc[("E06000030", "2023-24", "ascof_1C1A"), "value"] == 93.0
    assert v.loc[("E12000009", "2023-24", "ascof_1C2A"), "level"] == "region"
    assert not out["measure"].isin(["ascof_2C", "ascof_3D1A"]).any()
    assert out["numerator"].isna().all()
    assert (out["flag"] == ascof.FLAG_NUMERATOR_NOT_PUBLISHED).all()
    assert len(out) == 8  # council-type row dropped


def test_trend_unknown_new_code_raises(tmp_path: Path) -> None:
    path = write_trend(
        tmp_path / "t.csv", ["2023-24,Swindon,E06000030,9Z,Something new,1.0,Council,,"]
    )
    with pytest.raises(ValueError, match="9Z"):
        ascof.parse_trend(path)


def test_trend_renamed_column_raises(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(TREND_HEADER.replace("Measure_Value", "Value"), encoding="utf-8")
    with pytest.raises(SchemaChangedError):
        ascof.parse_trend(path)


def test_combine_prefers_official_2020_21(tmp_path: Path) -> None:
    official = ascof.parse_official(write_official(tmp_path / "o.xlsx"))
    trend = ascof.parse_trend(write_trend(tmp_path / "t.csv", trend_lines()))
    out = ascof.combine(official, trend)
    tidy.validate(out, "ascof")
    sw = out[(out["council_code"] == "E06000030") & (out["period"] == "2020-21")].set_index(
        "measure"
    )
    assert sw.loc["ascof_2A2", "value"] == 387.8  # official, not the trend's 999.9
    assert sw.loc["ascof_2A2", "numerator"] == 143
    assert sw.loc["ascof_2A1", "value"] == 11.1  # only in the trend extract: kept
    assert sw.loc["ascof_2A1", "flag"] == ascof.FLAG_NUMERATOR_NOT_PUBLISHED
    assert len(out) == len(official) + len(trend) - 1


def test_neighbours(tmp_path: Path) -> None:
    path = tmp_path / "NN.json"
    path.write_text(
        json.dumps(
            {
                "E06000030": ["E06000030", "E06000025", "E06000025", "E10000011", "E07000004"],
                "E07000004": ["E07000005", "E07000006"],  # district: no adult social care duty
                "E06000053": ["E06000053"],
            }
        ),
        encoding="utf-8",
    )
    out = ascof.parse_neighbours(path)
    assert list(out.columns) == ["council_code", "neighbour_code", "rank"]
    assert out.values.tolist() == [["E06000030", "E06000025", 1], ["E06000030", "E10000011", 2]]


# ----------------------------------------------------------------------------- real mirror
@cache
def _official(mirror: Path) -> pd.DataFrame:
    return ascof.parse_official(mirror / ascof.OFFICIAL_KEY)


def test_mirror_official_2020_21(mirror: Path) -> None:
    """PROVENANCE: Swindon 2A2 387.8 (143 / 36,873); England 2A2 498.2, 2A1 13.3, 2B1 79.1."""
    df = _official(mirror)
    v = df[(df["age_band"] == "all") & (df["sex"] == "persons")].set_index(
        ["council_code", "measure"]
    )
    sw = v.loc[("E06000030", "ascof_2A2")]
    assert (sw["numerator"], sw["denominator"], sw["value"]) == (143, 36873, 387.8)
    assert v.loc[("E92000001", "ascof_2A2"), "value"] == pytest.approx(498.2)
    assert v.loc[("E92000001", "ascof_2A1"), "value"] == pytest.approx(13.3)
    assert v.loc[("E92000001", "ascof_2B1"), "value"] == pytest.approx(79.1)
    assert df.loc[df["level"] == "council", "council_code"].nunique() == 151
    # the 2020-21 survey was voluntary: most councils' 3A is [x]; a missing value always has its flag
    sat = df[(df["measure"] == "ascof_3A") & (df["level"] == "council") & (df["age_band"] == "all")]
    assert (sat["value"].isna() == (sat["flag"] == "not available")).all()
    assert (sat["flag"] == "not available").mean() > 0.5
    assert sat["value"].dropna().between(0, 100).all()


def test_mirror_trend_2c2_and_2023_24(mirror: Path) -> None:
    """PROVENANCE: Swindon 2C2 2017-18 4.4, 2018-19 0.9, 2019-20 1.4 (England 4.3, 3.1, 3.2)."""
    df = ascof.parse_trend(mirror / ascof.TREND_KEY)
    c2 = df[df["measure"] == "ascof_2C2"].set_index(["council_code", "period"])["value"]
    assert [c2[("E06000030", y)] for y in ("2017-18", "2018-19", "2019-20")] == [4.4, 0.9, 1.4]
    assert [c2[("E92000001", y)] for y in ("2017-18", "2018-19", "2019-20")] == [4.3, 3.1, 3.2]
    assert sorted(set(df.loc[df["measure"] == "ascof_2C1", "period"])) == [
        "2017-18",
        "2018-19",
        "2019-20",
    ]
    assert {"ascof_2A1", "ascof_2A2", "ascof_1C1A", "ascof_1C2A"} <= set(
        df.loc[df["period"] == "2023-24", "measure"]
    )
    assert sorted(set(df["period"])) == [f"20{y}-{y + 1}" for y in range(17, 24)]
