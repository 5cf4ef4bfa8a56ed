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


# ----------------------------------------------------------------------------- time series (ODS)
# Tiny workbooks in the official layout of the 2015-16..2024-25 time series: a title and
# description rows, then the header ("Local authority code", "Local authority", "ONS area code",
# "<year> - <part>" x 3 per year), England, a council-type aggregate, a region and councils.
# The numbers are made up, so every expected value below is read off these rows by hand.

SURVEY_YEARS = ["2019 to 2020", "2020 to 2021", "2024 to 2025"]
COUNT_YEARS = ["2024 to 2025"]


def _sheet(title: str, layout: str, years: list[str], rows: list[list[object]]) -> list[list]:
    parts = ascof.LAYOUT_PARTS[layout]
    notes = 4 if layout == ascof.SURVEY else 5  # the header is on row 6 (survey) or 7 (counts)
    header = ascof.ID_COLUMNS + [f"{y} - {p}" for y in years for p in parts]
    return [[title], *[[f"description {i}"] for i in range(notes)], header, *rows]


def timeseries_sheets(rename: dict[str, str] | None = None) -> dict[str, list[list]]:
    """Every sheet the parser reads; Table_1a, 1c, 2b, 2d(1) and 3d(1a) carry hand-made rows."""
    eng = ["England", "England", "E92000001"]
    sw = ["819", "Swindon", "E06000030"]
    ios = ["906", "Isles of Scilly", "E06000053"]
    shire = ["S", "Shire Counties", "[z]"]
    sw_region = ["SW", "South West", "E12000009"]
    x3 = ["[x]"] * 3
    sheets = {}
    for sheet, (_code, layout) in ascof.TIMESERIES_SHEETS.items():
        years = SURVEY_YEARS if layout == ascof.SURVEY else COUNT_YEARS
        filler = (["1"] * 3 if layout == ascof.COUNTS else ["0.1", "100", "1"]) * len(years)
        sheets[sheet] = _sheet(f"Table {sheet}", layout, years, [[*eng, *filler]])
    sheets["Table_1a"] = _sheet(
        "Table 1a: social care-related quality of life score [note 1] [note 2] [note 5]",
        ascof.SURVEY,
        SURVEY_YEARS,
        [
            [*eng, 0, 54270, 19.1, *x3, 0.1, 53190, 19],
            [*shire, 0.1, 10615, 19.3, *x3, 0.1, 8445, 19.1],
            [*sw_region, 0.1, 5000, 19.2, *x3, 0.1, 5100, 19.3],
            [*sw, 1.5, 35, 19.2, *x3, 0.4, 330, 19],
            [*ios, "[z]", "[z]", "[z]", 0.9, 20, 19.9, "[x]", "[x]", "[x]"],
        ],
    )
    sheets["Table_1c"] = _sheet(
        "Table 1c: carer-reported quality of life [note 6]",
        ascof.SURVEY,
        SURVEY_YEARS,
        [
            [*eng, "[z]", "[z]", "[z]", "[z]", "[z]", "[z]", "[z]", "[z]", "[z]"],
            [*sw, "0.3 (0.4)", "300 (225)", "7.5 (:)", *["[z]"] * 6],
        ],
    )
    sheets["Table_2b"] = _sheet(
        "Table 2b: admissions 18 to 64 per 100,000 [note 9] [note 10]",
        ascof.COUNTS,
        COUNT_YEARS,
        [
            [*eng, 6035, 35455995, 17],
            [*shire, 2110, 12305795, 17.1],
            [*sw, 18, 149863, 12],
            [*ios, "[c]", "[c]", "[c]"],
        ],
    )
    sheets["Table_2d(1)"] = _sheet(
        "Table 2d(1): reablement", ascof.COUNTS, COUNT_YEARS, [[*eng, 40, 80, 50], [*sw, 3, 4, 75]]
    )
    sheets["Table_3d(1a)"] = _sheet(
        "Table 3d(1a): self-directed support [note 15]",
        ascof.COUNTS,
        COUNT_YEARS,
        [[*eng, 82, 100, 82], [*sw, 10, 10, 100]],
    )
    for sheet, header in (rename or {}).items():
        h = 5 if ascof.TIMESERIES_SHEETS[sheet][1] == ascof.SURVEY else 6
        old, new = header.split("->")
        sheets[sheet][h] = [new if c == old else c for c in sheets[sheet][h]]
    return sheets


def write_ods(path: Path, sheets: dict[str, list[list]]) -> Path:
    """A minimal OpenDocument spreadsheet (mimetype, content.xml, manifest), written by hand:
    numbers as float cells, text as string cells, None as an empty cell."""
    import zipfile
    from xml.sax.saxutils import escape

    def cell(v: object) -> str:
        if v is None:
            return "<table:table-cell/>"
        if isinstance(v, int | float):
            return f'<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p></table:table-cell>'
        return f'<table:table-cell office:value-type="string"><text:p>{escape(str(v))}</text:p></table:table-cell>'

    tables = "".join(
        f'<table:table table:name="{escape(name)}">'
        + "".join(
            f"<table:table-row>{''.join(cell(v) for v in row)}</table:table-row>" for row in rows
        )
        + "</table:table>"
        for name, rows in sheets.items()
    )
    ns = " ".join(
        f'xmlns:{p}="urn:oasis:names:tc:opendocument:xmlns:{u}:1.0"'
        for p, u in (("office", "office"), ("table", "table"), ("text", "text"))
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} office:version="1.2">'
        f"<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type='
        '"application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry '
        'manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def test_timeseries_tiny_ods_by_hand(tmp_path: Path) -> None:
    out = ascof.parse_timeseries(write_ods(tmp_path / "ts.ods", timeseries_sheets()))
    tidy.validate(out, "ascof_timeseries")
    assert {"moe", "respondents"} <= set(out.columns)
    v = out.set_index(["council_code", "period", "measure"])
    # survey (1A): value, margin of error and respondents as published; no counts
    sw = v.loc[("E06000030", "2024-25", "ascof_1A")]
    assert (sw["value"], sw["moe"], sw["respondents"]) == (19.0, 0.4, 330.0)
    assert math.isnan(sw["numerator"])
    assert math.isnan(sw["denominator"])
    assert sw["unit"] == "score"
    assert sw["flag"] == ""
    assert v.loc[("E06000030", "2019-20", "ascof_1A"), "moe"] == 1.5
    # 2020-21: [x] -> NaN, flagged with the reason (voluntary survey); Isles of Scilly took part
    gap = v.loc[("E06000030", "2020-21", "ascof_1A")]
    assert math.isnan(gap["value"])
    assert math.isnan(gap["moe"])
    assert gap["flag"] == "not available: " + ascof.FLAG_SURVEY_2020_21
    assert v.loc[("E06000053", "2020-21", "ascof_1A"), "value"] == 19.9
    assert v.loc[("E06000053", "2019-20", "ascof_1A"), "flag"] == tidy.FLAG_NOT_APPLICABLE
    # England (MoE published as 0) and the region keep their level; Derby note on aggregates only
    eng = v.loc[("E92000001", "2024-25", "ascof_1A")]
    assert (eng["level"], eng["value"], eng["moe"]) == ("england", 19.0, 0.1)
    assert "Derby" in eng["flag"]
    assert v.loc[("E92000001", "2019-20", "ascof_1A"), "moe"] == 0.0
    assert v.loc[("E12000009", "2024-25", "ascof_1A"), "level"] == "region"
    assert "Derby" not in v.loc[("E06000030", "2024-25", "ascof_1A"), "flag"]
    # carers' survey: the official figure outside the brackets; a year it did not run, flagged
    c = v.loc[("E06000030", "2019-20", "ascof_1D")]  # sheet 1c (2024-25 code) = old 1D
    assert (c["value"], c["moe"], c["respondents"]) == (7.5, 0.3, 300.0)
    assert c["flag"] == ascof.FLAG_BRACKETED
    assert v.loc[("E06000030", "2024-25", "ascof_1D"), "flag"] == (
        "not applicable: " + ascof.FLAG_CARERS_NOT_RUN
    )
    # client-level data (2B -> old 2A1): official counts, flagged as a new definition
    b = v.loc[("E06000030", "2024-25", "ascof_2A1")]
    assert (b["numerator"], b["denominator"], b["value"]) == (18.0, 149863.0, 12.0)
    assert b["unit"] == "per 100,000"
    assert b["flag"] == ascof.FLAG_NEW_DEFINITION
    assert math.isnan(b["moe"])
    ios = v.loc[("E06000053", "2024-25", "ascof_2A1")]
    assert math.isnan(ios["value"])
    assert math.isnan(ios["numerator"])
    assert ios["flag"] == f"{ascof.FLAG_CLD_SUPPRESSED}; {ascof.FLAG_NEW_DEFINITION}"
    assert v.loc[("E06000030", "2024-25", "ascof_2B1"), "value"] == 75.0  # 2D(1) -> old 2B1
    assert ascof.FLAG_3D1A_QUALITY in v.loc[("E06000030", "2024-25", "ascof_1C1A"), "flag"]
    # council-type aggregates dropped; sheet 1d (satisfaction) is old 3A
    assert out["council_code"].str.match(r"^E(06|08|09|10|12|92)\d{6}$").all()
    assert "ascof_3A" in set(out["measure"])
    assert "ascof_2B" not in set(out["measure"])
    assert not (out["value"].isna() & (out["flag"] == "")).any()


def test_timeseries_xlsx_reads_the_same(tmp_path: Path) -> None:
    sheets = timeseries_sheets()
    ods = ascof.parse_timeseries(write_ods(tmp_path / "ts.ods", sheets))
    xlsx = ascof.parse_timeseries(write_xlsx(tmp_path / "ts.xlsx", sheets))
    pd.testing.assert_frame_equal(ods, xlsx)


def test_timeseries_changed_layout_raises(tmp_path: Path) -> None:
    renamed = {"Table_1a": "2024 to 2025 - margin of error->2024 to 2025 - 95% CI half-width"}
    path = write_ods(tmp_path / "ts.ods", timeseries_sheets(renamed))
    with pytest.raises(SchemaChangedError, match="sheet Table_1a") as err:
        ascof.parse_timeseries(path)
    assert "2024 to 2025 - margin of error" in err.value.expected
    assert "2024 to 2025 - 95% CI half-width" in err.value.found
    sheets = timeseries_sheets()
    del sheets["Table_2c"]
    with pytest.raises(SchemaChangedError, match="sheets") as err:
        ascof.parse_timeseries(write_ods(tmp_path / "ts2.ods", sheets))
    assert "Table_2c" in err.value.expected
    assert "Table_2c" not in err.value.found


@cache
def _timeseries(mirror: Path) -> pd.DataFrame:
    return ascof.parse_timeseries(mirror / ascof.TIMESERIES_KEY)


def test_mirror_timeseries_2024_25_counts(mirror: Path) -> None:
    """PROVENANCE spot checks (2024-25). Cells: Table_2b / Table_2c / Table_2d(1) / Table_3d(2a),
    columns D (numerator), E (denominator), F (outcome); rows Swindon 157, Somerset 162,
    Walsall 78, England 8."""
    df = _timeseries(mirror)
    tidy.validate(df, "ascof_timeseries")
    v = df[df["period"] == "2024-25"].set_index(["council_code", "measure"])
    expected = {  # (2B -> 2A1, 2C -> 2A2, 2D(1) -> 2B1, 3D(2a) -> 1C2A): numerator, denominator, value
        "E06000030": [(18, 149863, 12.0), (183, 39768, 460.2), (153, 223, 68.61), (340, 1562, 21.8)],
        "E06000066": [(43, 325724, 13.2), (918, 149580, 613.7), (936, 1526, 61.34), (1764, 4990, 35.4)],
        "E08000030": [(28, 173291, 16.2), (338, 50588, 668.1), (996, 1767, 56.37), (639, 2527, 25.3)],
        "E92000001": [(6035, 35455995, 17.0), (65060, 10981090, 592.5), (72795, 120005, 60.7),
                      (117655, 480105, 24.5)],
    }  # fmt: skip
    for code, rows in expected.items():
        for measure, want in zip(("2A1", "2A2", "2B1", "1C2A"), rows, strict=True):
            r = v.loc[(code, f"ascof_{measure}")]
            assert (r["numerator"], r["denominator"], r["value"]) == want, (code, measure)
            assert ascof.FLAG_NEW_DEFINITION in r["flag"]
    # councils' outcome = numerator / denominator x 100,000 to its rounding (England's and the
    # regions' counts are rounded to the nearest 5: the workbook's note 10)
    cld = df[df["measure"].isin(["ascof_2A1", "ascof_2A2"]) & (df["level"] == "council")]
    cld = cld.dropna(subset=["numerator"])
    assert ((cld["numerator"] / cld["denominator"] * 1e5 - cld["value"]).abs() <= 0.05 + 1e-9).all()
    assert df.loc[df["level"] == "council", "council_code"].nunique() == 158  # incl. abolished


def test_mirror_timeseries_survey_swindon(mirror: Path) -> None:
    """Swindon (row 162) and England (row 7) of Table_1a (1A quality of life) and Table_1d (1D,
    old 3A, satisfaction): 2015-16 in D/E/F (margin of error, respondents, outcome), 2024-25 in
    AE/AF/AG."""
    v = _timeseries(mirror).set_index(["council_code", "period", "measure"])
    cols = ["value", "moe", "respondents"]
    assert v.loc[("E06000030", "2015-16", "ascof_1A"), cols].tolist() == [19.3, 0.3, 422]
    assert v.loc[("E06000030", "2024-25", "ascof_1A"), cols].tolist() == [19.0, 0.4, 330]
    assert v.loc[("E06000030", "2015-16", "ascof_3A"), cols].tolist() == [65.9, 3.9, 455]
    assert v.loc[("E06000030", "2024-25", "ascof_3A"), cols].tolist() == [61.0, 4.9, 350]
    assert v.loc[("E92000001", "2024-25", "ascof_3A"), cols].tolist() == [65.1, 0.5, 59160]
    assert math.isnan(v.loc[("E92000001", "2020-21", "ascof_3A"), "value"])  # voluntary year
    assert v.loc[("E06000030", "2024-25", "ascof_3A"), "unit"] == "%"
