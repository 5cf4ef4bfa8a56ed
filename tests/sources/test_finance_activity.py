"""Tests for the PSS-EX1 unit costs, ASC-FR 2021-22, CQC and 2017-18 spend parsers."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from asc_evidence import tidy
from asc_evidence.errors import SchemaChangedError
from asc_evidence.sources import excel
from asc_evidence.sources import finance_activity as fa

# ----------------------------------------------------------------------------- PSS-EX1 tiny file

# (numerator description, denominator description, unit-cost description, code), as in the 2012-13 file
TRIPLES = [
    (
        "Gross total cost for residential care for older people provided by others during year ended 31 March (£000's)",
        "The total number of weeks older people (including full cost paying and preserved rights residents) were "
        "supported in residential care provided by others during year ended 31 March",
        "Average gross weekly expenditure per person on supporting older people in residential care provided by others",
        "2.6",
    ),
    (
        "Gross total cost for own provision residential care for older people during year ended 31 March (£000's)",
        "The total number of weeks older people were supported in own provision residential care (including full cost "
        "paying and preserved rights residents) during year ended 31 March",
        "Average gross weekly expenditure per person on supporting older people in own provision residential care "
        "(including full cost paying and preserved rights residents)",
        "2.5",
    ),
    (
        "Gross total cost for nursing care for older people during year ended 31 March (£000's)",
        "The total number of weeks older people (including full cost and preserved rights clients) were supported in "
        "nursing care during year ended 31 March",
        "Average gross weekly expenditure per person on supporting older people in nursing care",
        "2.3",
    ),
    (
        "Gross total cost for residential care for older people during year ended 31 March (£000's)",
        "The total number of weeks older people were supported in residential care (including full cost paying and "
        "preserved rights residents) during year ended 31 March",
        "Average gross weekly expenditure per person on supporting older people in residential care (including full "
        "cost paying and preserved rights residents)",
        "2.4",
    ),
    (
        "Gross total cost for home care/home help for all adult client groups and older people (£000's)",
        "The actual number of home help/care contact hours for all adult client groups and older people during the year",
        "Average gross hourly cost for home help/care",
        "2.22A",
    ),
    (
        "Gross total cost for own provision home care/home help (£000's)",
        "The actual number of home help/care contact hours provided by LA for all adult client groups and older people "
        "during the year",
        "Average gross hourly cost for home help/care provided by LA",
        "2.23A",
    ),
    (
        "Gross total cost for home care/home help provided by independent sector for all adult client groups and older "
        "people during year ended 31 March (£000's)",
        "The actual number of home help/care contact hours provided by independent sector for all adult client groups "
        "and older people during the year",
        "Average gross hourly cost for home help/care provided by others",
        "2.24A",
    ),
]
# per council: one (num, den, uc) triple per entry of TRIPLES
ROWS = {
    "102 - Cumbria ": [
        ("29,824", "59,478", "501.4"),
        ("25,393", "47,622", "533.2"),
        ("18,365", "39,020", "470.7"),
        ("55,217", "107,100", "515.6"),
        ("50,000", "3,000,000", "16.7"),
        ("9,000", "500,000", "18.0"),
        ("25,189", "1,799,928", "14.0"),
    ],
    "111 - Hartlepool": [
        ("10,348", "24,733", "418.4"),
        ("0", "0", ".."),
        ("1,495", "4,136", "361.5"),
        ("10,348", "24,733", "418.4"),
        ("1", "1", "0"),
        ("0", "0", "0"),
        ("*", "*", "*"),
    ],
    "TOTAL England": [("1", "2", "500.0")] * 4
    + [("1", "2", "17.0"), ("1", "2", "30.0"), ("1", "2", "15.0")],
}


def write_pss_csv(path: Path, triples=TRIPLES, encoding: str = "cp1252") -> Path:
    """Write a unit-cost CSV in the layout of the 2012-13/2013-14 annex files."""
    rows = [["Personal Social Services: Expenditure and Unit Costs, England 2012-13"], [""]]
    rows.append([""] + [d for t in triples for d in t[:3]])
    rows.append([""] + [t[3] for t in triples for _ in range(3)])
    rows.append([""] + ["Numerator", "Denominator", "Unit Cost"] * len(triples))
    for name, vals in ROWS.items():
        rows.append([name] + [v for trip in vals for v in trip])
    rows += [
        [".. means data not available"],
        ["Copyright © 2013, Health and Social Care Information Centre."],
    ]
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _get(df: pd.DataFrame, code: str, measure: str) -> pd.Series:
    row = df[(df["council_code"] == code) & (df["measure"] == measure)]
    assert len(row) == 1, (code, measure, len(row))
    return row.iloc[0]


def test_pss_unit_costs_values_numerator_in_pounds(tmp_path: Path) -> None:
    df = fa.parse_pss_unit_costs(write_pss_csv(tmp_path / "uc.csv"), "2012-13")
    tidy.validate(df, "unit_costs")
    cumbria = _get(df, "E10000006", "fee_home_care_hour_independent")
    assert cumbria["value"] == pytest.approx(14.0)
    assert cumbria["numerator"] == pytest.approx(25_189_000)  # £000 -> £
    assert cumbria["denominator"] == pytest.approx(1_799_928)
    assert cumbria["unit"] == "GBP per hour (price paid, independent sector)"
    res = _get(df, "E10000006", "fee_residential_65_week_independent")
    assert (res["value"], res["age_band"]) == (pytest.approx(501.4), "65+")
    assert _get(df, "E92000001", "fee_home_care_hour_independent")["level"] == "england"


def test_pss_unit_costs_markers_and_zero_rates_become_flagged_nan(tmp_path: Path) -> None:
    df = fa.parse_pss_unit_costs(write_pss_csv(tmp_path / "uc.csv"), "2012-13")
    hart = "E06000001"
    suppressed = _get(df, hart, "fee_home_care_hour_independent")
    assert pd.isna(suppressed["value"])
    assert suppressed["flag"] == tidy.FLAG_SUPPRESSED
    not_avail = _get(df, hart, "unit_cost_residential_65_week_own")
    assert pd.isna(not_avail["value"])
    assert not_avail["flag"] == tidy.FLAG_NOT_AVAILABLE
    zero = _get(
        df, hart, "unit_cost_home_care_hour_all"
    )  # published "0" is no provision, not a price
    assert pd.isna(zero["value"])
    assert zero["flag"] == fa.FLAG_ZERO_RATE


def test_pss_unit_costs_reads_utf8_bom_files(tmp_path: Path) -> None:
    df = fa.parse_pss_unit_costs(
        write_pss_csv(tmp_path / "uc.csv", encoding="utf-8-sig"), "2008-09"
    )
    assert _get(df, "E10000006", "fee_nursing_65_week_independent")["value"] == pytest.approx(470.7)


def test_pss_unit_costs_renamed_indicator_raises(tmp_path: Path) -> None:
    renamed = [
        *TRIPLES[:-1],
        (*TRIPLES[-1][:2], "Average hourly price of purchased home care", "2.24A"),
    ]
    with pytest.raises(SchemaChangedError, match="uc.csv"):
        fa.parse_pss_unit_costs(write_pss_csv(tmp_path / "uc.csv", renamed), "2012-13")


def test_resolve_councils_uses_code_then_name_then_legacy() -> None:
    codes = pd.Series(["821", "", "320", "999"])
    names = pd.Series(["Medway Towns UA", "Poole", "Cheshire", "Atlantis"])
    ons, _, unresolved = fa.resolve_councils(codes, names)
    assert ons.tolist()[:3] == ["E06000035", "E06000029", "E10000004"]
    assert pd.isna(ons.iloc[3])
    assert unresolved == ["999 Atlantis"]


# ----------------------------------------------------------------------------- ASC-FR tiny workbook


def write_t51(path: Path, external_label: str = "External") -> Path:
    """T51 in the official layout: title row 4, units row 6, header rows 7-9, England, regions, councils."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "T51"
    ws["A2"] = "Return to contents"
    ws["A4"] = (
        "Table 51: Unit costs, average weighted standard hourly rate for the provision of home care"
    )
    ws["F6"] = "£ per hour"
    ws.append([])  # keep row numbering explicit below
    for r, row in {
        7: [
            "Geography code",
            "LA code",
            "LA name",
            "Region code ",
            "Region name",
            "2020-21",
            None,
            "2021-22",
            None,
        ],
        8: ["", "", "", "", "", "In House", external_label, "In House", external_label],
        9: [" ", "", "", "", "", "", "", "", ""],
        10: [" ", "", "", "E92000001", "England", 32.26, 18.44, 32.74, 18.88],
        11: [" ", "", "", "", "", "", "", "", ""],
        12: [" ", "", "", "E12000008", "South East", 30.0, 20.0, 31.0, 21.0],
        13: ["E10000016", "886", "Kent", "E12000008", "South East", 0, 20.26, 0, 22.09],
        14: ["E09000012", "704", "Hackney", "E12000007", "London", "[x]", "[x]", "[x]", "[x]"],
        16: ["Source: ASC-FR Collection 2021-22, Activity, NHS Digital"],
    }.items():
        for c, v in enumerate(row, start=1):
            ws.cell(row=r, column=c, value=v)
    wb.save(path)
    return path


def _parse_t51(path: Path, monkeypatch: pytest.MonkeyPatch) -> pd.DataFrame:
    monkeypatch.setattr(fa.ascfr, "ASCFR_SELECTION", {"T51": fa.ASCFR_SELECTION["T51"]})
    grids = excel.read_excel(path, sheet_name=["T51"], header=None, dtype=object)
    return fa.parse_ascfr_tables(grids, path.name)


def test_ascfr_t51_values_levels_and_markers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    df = _parse_t51(write_t51(tmp_path / "t.xlsx"), monkeypatch)
    tidy.validate(df, "ascfr_2021_22")
    kent = df[
        (df["council_code"] == "E10000016") & (df["measure"] == "fee_home_care_hour_external")
    ]
    assert dict(zip(kent["period"], kent["value"], strict=True)) == {
        "2020-21": 20.26,
        "2021-22": 22.09,
    }
    kent_own = df[
        (df["council_code"] == "E10000016") & (df["measure"] == "unit_cost_home_care_hour_own")
    ]
    assert kent_own["value"].isna().all()
    assert (kent_own["flag"] == fa.FLAG_ZERO_RATE).all()
    hackney = df[df["council_code"] == "E09000012"]
    assert hackney["value"].isna().all()
    assert (hackney["flag"] == "not submitted").all()
    levels = df.groupby("council_code")["level"].first()
    assert levels["E92000001"] == "england"
    assert levels["E12000008"] == "region"


def test_ascfr_renamed_header_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SchemaChangedError, match="T51"):
        _parse_t51(write_t51(tmp_path / "t.xlsx", external_label="Independent"), monkeypatch)


def test_header_paths_do_not_spill_into_next_group() -> None:
    head = pd.DataFrame(
        [
            ["In Year", "", "Year End", "", "Carers"],
            ["18 to 64", "65 and over", "18 to 64", "65 and over", ""],
        ]
    )
    assert fa.ascfr._header_paths(head) == [
        "In Year | 18 to 64",
        "In Year | 65 and over",
        "Year End | 18 to 64",
        "Year End | 65 and over",
        "Carers",
    ]


# ----------------------------------------------------------------------------- CQC and 2017-18 spend


def test_cqc_mislabelled_nursing_column_and_non_councils(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text(
        "lad_name,care_home_beds\nKent,14592\nUnspecified,231\nFlintshire,0\n"
    )
    (tmp_path / "n.csv").write_text(
        "lad_name,care_home_beds_without_nursing\nKent,6130\nUnspecified,165\n"
    )
    (tmp_path / "d.csv").write_text(
        'lad_name,num_domiciliary_services\nKent,272\n"Bristol, City of",*\n'
    )
    df = fa.parse_cqc_beds(tmp_path / "b.csv", tmp_path / "n.csv", tmp_path / "d.csv")
    tidy.validate(df, "cqc_beds_2021")
    kent = df[df["council_code"] == "E10000016"].set_index("measure")["value"]
    assert (
        kent["care_home_beds_nursing"] == 6130
    )  # the "without nursing" column counts homes WITH nursing
    assert kent["care_home_beds_without_nursing_derived"] == 14592 - 6130
    assert set(df["council_name"]) == {
        "Kent",
        "Bristol, City of",
    }  # Unspecified / Flintshire dropped
    bristol = df[df["council_code"] == "E06000023"].iloc[0]
    assert pd.isna(bristol["value"])
    assert bristol["flag"] == tidy.FLAG_SUPPRESSED


def test_cqc_renamed_column_raises(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text("la_name,beds\nKent,1\n")
    with pytest.raises(SchemaChangedError, match="b.csv"):
        fa.parse_cqc_beds(tmp_path / "b.csv", tmp_path / "b.csv", tmp_path / "b.csv")


def test_spend_2017_18_sums_rows_and_flags_partial() -> None:
    df = pd.DataFrame(
        {
            "GEOGRAPHY_CODE": ["E10000016"] * 3,
            "DH_GEOGRAPHY_NAME": ["Kent"] * 3,
            "CareType_Key": ["Long Term Care"] * 3,
            "AgeBand_Key": ["65 and Over"] * 3,
            "SupportSetting_Key": ["Residential", "Residential", "Nursing"],
            "ITEMVALUE": [1000.0, 500.0, None],
        }
    )
    out = fa.parse_spend_2017_18(df).set_index("measure")
    assert out.loc["gce_long_term_care_residential", "value"] == 1500.0
    assert out.loc["gce_long_term_care_residential", "age_band"] == "65+"
    assert pd.isna(out.loc["gce_long_term_care_nursing", "value"])
    assert out.loc["gce_long_term_care_nursing", "flag"] == tidy.FLAG_NOT_AVAILABLE


# ----------------------------------------------------------------------------- real mirror


@pytest.mark.mirror
def test_mirror_unit_costs(mirror: Path) -> None:
    df = fa.make_unit_costs()
    tidy.validate(df, "unit_costs")
    # 2008-09 file, row "102 - Cumbria", indicator 2.24A triple: 25,189 | 1,799,928 | 14.0
    c = df[
        (df.council_code == "E10000006")
        & (df.period == "2008-09")
        & (df.measure == "fee_home_care_hour_independent")
    ]
    assert c["value"].item() == pytest.approx(14.0)
    assert c["denominator"].item() == 1_799_928
    # 2009-10 file, row "102-Cumbria", "Average gross hourly cost for home help/care provided by others" = 12.9
    c = df[
        (df.council_code == "E10000006")
        & (df.period == "2009-10")
        & (df.measure == "fee_home_care_hour_independent")
    ]
    assert c["value"].item() == pytest.approx(12.9)
    # 2008-09, Cumbria, 2.6 residential care for older people provided by others: 29,824 | 59,478 | 501.4
    c = df[
        (df.council_code == "E10000006")
        & (df.period == "2008-09")
        & (df.measure == "fee_residential_65_week_independent")
    ]
    assert c["value"].item() == pytest.approx(501.4)
    eng = df[(df.level == "england") & (df.measure == "fee_home_care_hour_independent")].set_index(
        "period"
    )["value"]
    assert eng["2008-09"] == pytest.approx(13.1, abs=0.05)  # sanity band £11-16/hour
    assert (
        df.groupby("period")["council_code"].nunique().loc["2013-14"] == 153
    )  # 152 CASSRs + England


@pytest.mark.mirror
def test_mirror_ascfr_2021_22_provenance_figures(mirror: Path) -> None:
    df = fa.make_ascfr_2021_22()
    tidy.validate(df, "ascfr_2021_22")

    def val(code: str, measure: str, period: str, age: str | None = None) -> float:
        sel = (df.council_code == code) & (df.measure == measure) & (df.period == period)
        if age:
            sel &= df.age_band == age
        return df.loc[sel, "value"].item()

    # PROVENANCE.md spot checks
    assert val("E92000001", "fee_home_care_hour_external", "2020-21") == pytest.approx(
        18.44, abs=0.005
    )
    assert val("E92000001", "fee_home_care_hour_external", "2021-22") == pytest.approx(
        18.88, abs=0.005
    )
    assert val("E10000016", "fee_home_care_hour_external", "2021-22") == pytest.approx(
        22.09, abs=0.005
    )
    assert val("E08000025", "fee_home_care_hour_external", "2020-21") == pytest.approx(
        15.38, abs=0.005
    )
    assert val("E10000016", "fee_residential_65_week_external", "2020-21") == pytest.approx(
        652.00, abs=0.005
    )
    assert val("E10000016", "fee_residential_65_week_external", "2021-22") == pytest.approx(
        695.68, abs=0.005
    )
    assert val("E92000001", "gross_current_expenditure", "2021-22") == pytest.approx(
        21_958_360, abs=1
    )
    assert val("E92000001", "gce_long_term_total", "2021-22", "65+") == pytest.approx(
        8_292_035, abs=1
    )
    hackney = df[(df.council_code == "E09000012") & (df.measure == "fee_home_care_hour_external")]
    assert hackney["value"].isna().all()
    assert (hackney["flag"] == "not submitted").all()


@pytest.mark.mirror
def test_mirror_cqc_and_spend(mirror: Path) -> None:
    cqc = fa.make_cqc_beds()
    tidy.validate(cqc, "cqc_beds_2021")
    beds = cqc[cqc.measure == "care_home_beds"]
    assert (
        beds["value"].sum() == 458_900 - 231
    )  # PROVENANCE total minus "Unspecified" (Flintshire has 0)
    assert beds.set_index("council_name").loc["Kent", "value"] == 14592  # raw line 65 "Kent,14592"
    spend = fa.make_spend_2017_18()
    tidy.validate(spend, "spend_2017_18")
    assert spend["value"].sum() / 1e9 == pytest.approx(17.928, abs=0.001)  # PROVENANCE: £17.928bn
    kent = spend[(spend.council_code == "E10000016") & (spend.age_band == "65+")].set_index(
        "measure"
    )["value"]
    assert kent["gce_long_term_care_residential"] / 1e6 == pytest.approx(65.28, abs=0.005)
    assert kent["gce_long_term_care_nursing"] / 1e6 == pytest.approx(28.76, abs=0.005)
