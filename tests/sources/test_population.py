"""Population parsers: tiny official-format inputs with hand-worked answers, and mirror spot checks."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from asc_evidence import tidy
from asc_evidence.errors import SchemaChangedError
from asc_evidence.sources import excel
from asc_evidence.sources import geography as geo
from asc_evidence.sources import population as pop

AGES = [str(a) for a in range(90)]


def _value(
    df: pd.DataFrame,
    code: str,
    band: str,
    period: str | None = None,
    sex: str = "persons",
    measure: str | None = None,
) -> pd.Series:
    rows = df[(df["council_code"] == code) & (df["age_band"] == band) & (df["sex"] == sex)]
    if period is not None:
        rows = rows[rows["period"] == period]
    if measure is not None:
        rows = rows[rows["measure"] == measure]
    assert len(rows) == 1, rows
    return rows.iloc[0]


# ---------------------------------------------------------------------------------------------
# age bands


def test_single_years_to_bands_by_hand():
    # one person at each age 0..89 and one aged 90+: by hand
    # 0-4 = 5; 90+ = 1; 18+ = 72 + 1 = 73; 18-64 = 47; 65+ = 25 + 1 = 26; 75+ = 16; 85+ = 6; all = 91
    long = pd.DataFrame({"code": "X", "age": [str(a) for a in range(91)], "value": 1.0})
    out = pop.to_age_bands(long, ["code"]).set_index("age_band")
    expected = {
        "0-4": 5,
        "85-89": 5,
        "90+": 1,
        "18+": 73,
        "18-64": 47,
        "65+": 26,
        "75+": 16,
        "85+": 6,
        "all": 91,
    }
    for band, value in expected.items():
        assert out.loc[band, "value"] == value, band
    assert set(out.index) == set(pop.AGE_BANDS)
    assert not out["approximate"].any()


def test_missing_age_makes_its_bands_missing():
    long = pd.DataFrame({"code": "X", "age": [str(a) for a in range(91)], "value": 1.0})
    long.loc[long["age"] == "70", "value"] = np.nan
    out = pop.to_age_bands(long, ["code"]).set_index("age_band")["value"]
    assert np.isnan(out["70-74"])
    assert np.isnan(out["65+"])
    assert np.isnan(out["all"])
    assert out["75+"] == 16
    assert out["0-4"] == 5


def test_five_year_band_straddling_18_is_split_and_marked_approximate():
    # 15-19 = 100 and 20-24 = 50 only: 18-64 = 2/5 * 100 + 50 = 90, approximate; 65+ = 0 exact
    long = pd.DataFrame({"code": "X", "age": pop.FIVE_YEAR_BANDS, "value": 0.0})
    long.loc[long["age"] == "15-19", "value"] = 100.0
    long.loc[long["age"] == "20-24", "value"] = 50.0
    out = pop.to_age_bands(long, ["code"], sources=pop.SNPP_SOURCES).set_index("age_band")
    assert out.loc["18-64", "value"] == pytest.approx(90.0)
    assert out.loc["18-64", "approximate"]
    assert out.loc["15-19", "value"] == 100
    assert not out.loc["15-19", "approximate"]
    assert out.loc["65+", "value"] == 0
    assert not out.loc["65+", "approximate"]


# ---------------------------------------------------------------------------------------------
# mid-year estimates: tiny workbook laid out like the mid-2020..2022 files (7 title rows)

MYE_AREAS = [
    # code, name, geography, value at every single age (so all ages = 91 * v)
    ("K04000001", "ENGLAND AND WALES", "Country", 20),
    ("E92000001", "ENGLAND", "Country", 10),
    ("E12000002", "NORTH WEST", "Region", 9),
    ("E10000006", "Cumbria", "County", 6),
    ("E07000026", "Allerdale", "Non-metropolitan District", 1),
    ("E07000028", "Carlisle", "Non-metropolitan District", 2),
    ("E07000029", "Copeland", "Non-metropolitan District", 3),
    ("E08000009", "Trafford", "Metropolitan District", 4),
    ("W06000001", "Isle of Anglesey", "Unitary Authority", 5),
]


def _write_mye(
    path: Path, *, name_header: str = "Name", blank: tuple[str, int] | None = None
) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for sheet, factor in (("MYE2 - Persons", 2), ("MYE2 - Males", 1), ("MYE2 - Females", 1)):
        ws = wb.create_sheet(sheet)
        ws.append(
            [
                f"{sheet}: Persons by single year of age and sex for local authorities in the UK, mid-2022"
            ]
        )
        for note in (
            "This worksheet contains one table.",
            "To turn off freeze panes...",
            "Please choose...",
            "This met my needs",
            "I need something slightly different",
            "This is not what I need",
        ):
            ws.append([note])
        ws.append(["Code", name_header, "Geography", "All ages", *range(90), "90+"])
        for code, name, geog, v in MYE_AREAS:
            cells = [v * factor] * 91
            if blank and blank[0] == code:
                cells[blank[1]] = None
            ws.append([code, name, geog, sum(c for c in cells if c), *cells])
    wb.save(path)
    return path


def test_mye_councils_successors_and_flags(tmp_path):
    out = pop.parse_mye(_write_mye(tmp_path / "mye.xlsx"), "2021")
    tidy.validate(out, "population_mye")
    # Cumberland (created 2023) = Allerdale + Carlisle + Copeland: persons (1+2+3)*2 per age * 91 ages
    cumberland = _value(out, "E06000063", "all", "2021")
    assert cumberland["value"] == 6 * 2 * 91
    assert "summed from predecessor areas E07000026+E07000028+E07000029" in cumberland["flag"]
    assert cumberland["council_name"] == "Cumberland"
    # Westmorland and Furness lacks its districts in this file: not invented
    assert "E06000064" not in set(out["council_code"])
    # Cumbria still on the file's codes, flagged as abolished (register: valid to 2023-03-31)
    assert (
        _value(out, "E10000006", "all", "2021")["flag"]
        == "boundary: code abolished after 2023-03-31"
    )
    # Trafford females 65+ = 25 single years + 90+ = 26 ages * 4
    trafford = _value(out, "E08000009", "65+", "2021", sex="female")
    assert trafford["value"] == 26 * 4
    assert trafford["flag"] == ""
    assert _value(out, "E12000002", "0-4", "2021")["level"] == "region"
    assert _value(out, "E12000002", "0-4", "2021")["council_name"] == "North West"
    assert _value(out, "E92000001", "18-64", "2021", sex="male")["value"] == 47 * 10
    # districts, Wales and E&W are not kept
    assert not out["council_code"].str.match(r"E07|W06|K04").any()


def test_mye_blank_cell_is_missing_and_flagged(tmp_path):
    out = pop.parse_mye(_write_mye(tmp_path / "mye.xlsx", blank=("E08000009", 72)), "2022")
    band = _value(out, "E08000009", "70-74", "2022")
    assert np.isnan(band["value"])
    assert band["flag"] == tidy.FLAG_NOT_AVAILABLE
    assert np.isnan(_value(out, "E08000009", "65+", "2022")["value"])
    assert _value(out, "E08000009", "75+", "2022")["value"] == 16 * 8


def test_mye_renamed_column_raises(tmp_path):
    with pytest.raises(SchemaChangedError, match="Name"):
        pop.parse_mye(_write_mye(tmp_path / "mye.xlsx", name_header="Area name"), "2022")


def test_mye2_grid_mid2018_layout():
    # mid-2018: header on row 5, ages as numbers, last column '90' meaning 90 and over, footnote row
    header = ["Code", "Name", "Geography1", "All ages", *[float(a) for a in range(91)]]
    grid = pd.DataFrame(
        [
            ["Contents", *[None] * 94],
            [None] * 95,
            ["MYE2: Population estimates...", *[None] * 94],
            [None] * 95,
            header,
            ["E06000047", "County Durham", "Unitary Authority", 91, *[1] * 91],
            ["Source: Office for National Statistics", *[None] * 94],
        ]
    )
    wide = pop.parse_mye2_grid(grid, "mid2018.xlsx")
    assert list(wide["code"]) == ["E06000047"]
    assert list(wide.columns) == ["code", "name", *[str(a) for a in range(91)]]


# ---------------------------------------------------------------------------------------------
# projections

SNPP_AREAS = {
    "E92000001": ("England", 10.0),
    "E06000028": ("Bournemouth", 1.0),
    "E06000029": ("Poole", 2.0),
    "E07000048": ("Christchurch", 0.5),
    "E10000009": ("Dorset", 3.0),
}


def _write_snpp(path: Path, rename: dict[str, str] | None = None) -> Path:
    years = pop.SNPP_YEARS
    header = ["", "CODE", "AREA", "AGE GROUP", *years]
    header = [(rename or {}).get(h, h) for h in header]
    rows, n = [], 0
    for code, (name, v) in SNPP_AREAS.items():
        for group in [*pop.FIVE_YEAR_BANDS, "All ages"]:
            n += 1
            value = v * 19 if group == "All ages" else v
            # numbers quoted with a leading space, later years with one decimal, as in the copy
            cells = [f" {value:.0f}" if y == "2018" else f" {value:.1f}" for y in years]
            rows.append([str(n), code, name, group, *cells])
    with path.open("w", newline="") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_snpp_successor_and_approximate_bands(tmp_path):
    out = pop.parse_snpp_2018(_write_snpp(tmp_path / "ons_pop.csv"))
    tidy.validate(out, "population_projection")
    # BCP = Bournemouth + Poole + Christchurch = 3.5 per band; all ages 3.5 * 19 = 66.5
    bcp = _value(out, "E06000058", "all", "2030")
    assert bcp["value"] == pytest.approx(66.5)
    assert "summed from predecessor areas" in bcp["flag"]
    # 65+ = 6 bands (65-69..90+) exact; 18-64 = 2/5 of 15-19 + 9 bands = 9.4 bands, approximate
    assert _value(out, "E06000058", "65+", "2030")["value"] == pytest.approx(6 * 3.5)
    eng = _value(out, "E92000001", "18-64", "2043")
    assert eng["value"] == pytest.approx(9.4 * 10)
    assert tidy.FLAG_APPROXIMATION in eng["flag"]
    assert _value(out, "E10000009", "all", "2018")["flag"].startswith("boundary: code abolished")
    assert set(out["period"]) == set(pop.SNPP_YEARS)


def test_snpp_renamed_column_raises(tmp_path):
    with pytest.raises(SchemaChangedError, match="AGE GROUP"):
        pop.parse_snpp_2018(_write_snpp(tmp_path / "ons_pop.csv", rename={"AGE GROUP": "AGE"}))


def _npp_sheet(rename: dict[str, str] | None = None) -> pd.DataFrame:
    # Population sheet layout: Sex 1/2, Age space-padded '0'..'104', '105 - 109', '110 and over'
    ages = [f"{a:>12}" for a in range(105)] + ["105 - 109", "110 and over"]
    frame = pd.DataFrame({"Sex": [1] * 107 + [2] * 107, "Age": ages * 2, "2018": 1, "2043": 2})
    return frame.rename(columns=rename or {})


def test_npp_bands_and_sexes():
    out = pop.parse_npp_population(_npp_sheet(), "hhh")
    tidy.validate(out, "population_projection_variants")
    # 90+ = ages 90..104 (15) + 105-109 + 110+ = 17 labels per sex; persons 2043 = 2 sexes * 17 * 2
    assert _value(out, "E92000001", "90+", "2043", measure="npp_hhh")["value"] == 68
    assert _value(out, "E92000001", "85+", "2018", sex="male")["value"] == 22
    assert _value(out, "E92000001", "all", "2018")["value"] == 214
    assert set(out["level"]) == {"england"}


def test_npp_renamed_column_raises():
    with pytest.raises(SchemaChangedError, match="Sex"):
        pop.parse_npp_population(_npp_sheet({"Sex": "Gender"}), "ppp")


# ---------------------------------------------------------------------------------------------
# small areas and Census


@pytest.fixture
def lookups() -> tuple[pd.DataFrame, pd.DataFrame]:
    msoa = pd.DataFrame(
        {
            "msoa11_code": ["E02000001", "E02005000"],
            "msoa11_name": ["City of London 001", "Allerdale 001"],
            "change": ["U", "U"],
            "msoa21_code": ["E02000001", "E02005000"],
            "msoa21_name": ["City of London 001", "Allerdale 001"],
            "lad_code": ["E09000001", "E07000026"],
        }
    )
    ltla = pd.DataFrame(
        {
            "ltla_code": ["E09000001", "E07000026"],
            "ltla_name": ["City of London", "Allerdale"],
            "utla22_code": ["E09000001", "E10000006"],
            "utla22_name": ["City of London", "Cumbria"],
            "council_code": ["E09000001", "E06000063"],
        }
    )
    return msoa, ltla


def test_msoa_2021_single_years_to_bands(tmp_path, lookups):
    labels = [
        "Aged under 1 year",
        "Aged 1 year",
        *[f"Aged {a} years" for a in range(2, 100)],
        "Aged 100 years and over",
    ]
    path = tmp_path / "msoa21.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["msoa21nm", "msoa21cd", "Total", *labels])
        w.writerow(["Allerdale 001", "E02005000", 101, *[1] * 101])
        w.writerow(["Isle of Anglesey 001", "W02000001", 101, *[1] * 101])
    out = pop.parse_msoa_2021(path, *lookups)
    assert set(out["msoa_code"]) == {"E02005000"}
    row = out.set_index("age_band")
    # 90+ = ages 90..99 and 100+ = 11; all = 101; district Allerdale, council Cumberland
    assert row.loc["90+", "population"] == 11
    assert row.loc["all", "population"] == 101
    assert row.loc["all", "council_code"] == "E06000063"
    assert row.loc["all", "lad_code"] == "E07000026"


def test_msoa_2019_thousands_separator(tmp_path, lookups):
    path = tmp_path / "msoa19.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["MSOA Code", "Population", *AGES, "90+"])
        w.writerow(["E02000001", "1,092", *[12] * 90, 12])
    out = pop.parse_msoa_2019(path, *lookups).set_index("age_band")
    assert out.loc["all", "population"] == 1092  # = 91 * 12, the published Population column
    assert out.loc["all", "msoa_name"] == "City of London 001"
    assert out.loc["all", "period"] == "2019"


def test_census_age_labels():
    assert pop.census_age_label("Age: Aged under 1 year; measures: Value") == "0"
    assert pop.census_age_label("Age: Aged 1 year; measures: Value") == "1"
    assert pop.census_age_label("Age: Aged 95 years; measures: Value") == "90"
    assert pop.census_age_label("Age: Aged 100 years and over; measures: Value") == "90"
    assert pop.census_age_label("Age: Aged 85 years and over; measures: Value") is None
    assert pop.census_age_label("Age: Aged 5 to 9 years; measures: Value") is None


def test_council_profile_by_hand(lookups):
    _, ltla = lookups
    # Allerdale (-> Cumberland): ages 0..90 one person each, except 10 people aged 70 -> total 100
    ages = pd.DataFrame({"code": "E07000026", "age": [str(a) for a in range(91)], "value": 1.0})
    ages.loc[ages["age"] == "70", "value"] = 10.0
    lsoa_pop = pd.DataFrame(
        {"code": ["E01000001", "E01000002", "E01000003"], "population": [1000.0, 300.0, 100.0]}
    )
    sam = pd.DataFrame(
        {
            "lsoa_code": ["E01000001", "E01000002", "E01000003"],
            "ltla_code": "E07000026",
            "extent_km2": [0.5, 1.0, 5.0],
            "land_km2": [0.5, 1.0, 4.0],
        }
    )
    tenure = pd.DataFrame(
        {"code": ["E07000026"], pop.TENURE_TOTAL: [200.0], pop.TENURE_OWNED: [150.0]}
    )
    nssec = pd.DataFrame(
        {
            "code": ["E07000026"],
            pop.NSSEC_TOTAL: [80.0],
            pop.NSSEC_ROUTINE[0]: [10.0],
            pop.NSSEC_ROUTINE[1]: [6.0],
        }
    )
    imd = pd.DataFrame(
        {"council_code": ["E06000063"], "imd_average_score": [23.0], "imd_method": ["x"]}
    )
    out = pop.build_council_profile(ages, lsoa_pop, sam, tenure, nssec, imd, ltla).set_index(
        "council_code"
    )
    assert len(out) == 153  # every April 2023 council, even without data here
    c = out.loc["E06000063"]
    assert c["population_2021"] == 100
    assert c["share_65plus"] == pytest.approx((25 + 9 + 1) / 100)  # 65..89 + 9 extra at 70 + 90+
    assert c["share_85plus"] == pytest.approx(6 / 100)
    assert c["share_18_64"] == pytest.approx(47 / 100)
    # density 1400 / 5.5 km² of land; sparsity: LSOA densities 2000, 300 (<= 400: x1), 25 (<= 50: x2)
    assert c["land_km2"] == pytest.approx(5.5)
    assert c["density_per_km2"] == pytest.approx(1400 / 5.5)
    assert c["sparsity"] == pytest.approx((300 + 2 * 100) / 1400)
    assert c["owner_occupied_share"] == pytest.approx(0.75)
    assert c["nssec_routine_share"] == pytest.approx(16 / 80)
    assert c["imd_average_score"] == 23.0
    assert c["region"] == "North West"
    assert np.isnan(out.loc["E08000009", "population_2021"])


def test_districts_not_in_lookup_raise(lookups):
    _, ltla = lookups
    with pytest.raises(ValueError, match="E07999999"):
        pop.districts_to_councils(
            pd.DataFrame({"code": ["E07999999"], "value": [1.0]}), ltla, ["value"]
        )


def test_census_counts_renamed_column_raises(tmp_path):
    path = tmp_path / "census2021-ts054-ltla.csv"
    path.write_text(
        "date,geography,geography code,Tenure of household: Total: All households,Owned\n"
        "2021,Hartlepool,E06000001,40000,25000\n"
    )
    with pytest.raises(SchemaChangedError, match="Tenure of household: Owned"):
        pop.read_census_counts(path, [pop.TENURE_TOTAL, pop.TENURE_OWNED])


# ---------------------------------------------------------------------------------------------
# real mirror


def test_mirror_mye_spot_values(mirror):
    out = pop.parse_mye(mirror / pop.MYE_FILES["2018"], "2018")
    # raw MYE2-All row E06000047 County Durham, All ages = 526,980
    assert _value(out, "E06000047", "all", "2018")["value"] == 526_980
    # England mid-2018 = 55,977,178 (quoted in ons_npp_2018/PROVENANCE.md as the mid-2018 estimate)
    assert _value(out, "E92000001", "all", "2018")["value"] == 55_977_178
    councils_2018 = set(out.loc[out["level"] == "council", "council_code"])
    # PROVENANCE: 151 English upper-tier rows in mid-2018, plus 7 councils created later
    # (Bucks, N/W Northants, Cumberland, W&F, N Yorks, Somerset) summed from their parts
    assert len(councils_2018) == 151 + 7
    assert len(set(out.loc[out["level"] == "region", "council_code"])) == 9


def test_mirror_mye_2022_against_raw_cells(mirror):
    path = mirror / pop.MYE_FILES["2022"]
    out = pop.parse_mye(path, "2022")
    assert (
        out.loc[out["level"] == "council", "council_code"].nunique() == 153
    )  # April 2023 geography
    # independent read of the raw sheet: Trafford females aged 65..89 and 90+
    ws = openpyxl.load_workbook(path, read_only=True)["MYE2 - Females"]
    rows = ws.iter_rows(values_only=True)
    header = next(r for r in rows if r[0] == "Code")
    raw = next(r for r in rows if r[0] == "E08000009")
    expected = sum(raw[header.index(str(a))] for a in [*range(65, 90), "90+"])
    assert _value(out, "E08000009", "65+", "2022", sex="female")["value"] == expected


def test_mirror_snpp_england_and_bcp(mirror):
    out = pop.parse_snpp_2018(mirror / pop.SNPP_2018_KEY)
    # ons_snpp_2018/PROVENANCE.md sanity figures (England, persons)
    assert _value(out, "E92000001", "all", "2043")["value"] == 61_744_098
    assert _value(out, "E92000001", "65+", "2025")["value"] == pytest.approx(11_449_350, abs=1)
    assert _value(out, "E92000001", "85+", "2035")["value"] == pytest.approx(2_246_222, abs=1)
    # BCP built from Bournemouth + Poole + Christchurch in 2018 equals the mid-2018 MYE (April 2019
    # codes), since the SNPP base year is the MYE: raw MYE2-All E06000058 All ages = 395,784
    assert _value(out, "E06000058", "all", "2018")["value"] == 395_784
    assert out.loc[out["level"] == "council", "council_code"].nunique() == 152 + 9


@pytest.mark.parametrize(
    ("variant", "all_ages", "over_85"),
    [
        ("ppp", 61_744_098, 2_557_450),
        ("php", 62_184_605, 2_772_691),
        ("plp", 61_172_589, 2_345_319),
        ("pph", 64_241_728, 2_566_362),
        ("ppl", 59_245_369, 2_548_521),
        ("hhh", 65_548_296, 2_782_162),
        ("lll", 57_196_759, 2_337_009),
    ],
)
def test_mirror_npp_variants_2043(mirror, variant, all_ages, over_85):
    # ons_npp_2018/PROVENANCE.md "Sanity figures by variant (England, persons, mid-2043)"
    path = mirror / pop.npp_key(variant)
    out = pop.parse_npp_population(
        excel.read_excel(path, sheet_name="Population"), variant, path.name
    )
    assert _value(out, "E92000001", "all", "2043", measure=f"npp_{variant}")["value"] == all_ages
    assert _value(out, "E92000001", "85+", "2043", measure=f"npp_{variant}")["value"] == over_85


def test_mirror_msoa_2019_sums_to_official_district_totals(mirror):
    msoa = geo.parse_msoa_lookup(mirror / geo.MSOA_LOOKUP_KEY)
    ltla = geo.parse_ltla_utla_lookup(mirror / geo.LTLA_UTLA_KEY)
    out = pop.parse_msoa_2019(mirror / pop.MSOA_2019_KEY, msoa, ltla)
    totals = out[out["age_band"] == "all"].groupby("lad_code")["population"].sum()
    # small_area_msoa/PROVENANCE.md: Swindon 222,193; Walsall 285,478; Mendip 115,587
    assert totals["E06000030"] == 222_193
    assert totals["E08000030"] == 285_478
    assert totals["E07000187"] == 115_587
    assert out["msoa_code"].nunique() == 6_791
    assert out["council_code"].notna().all()


def test_mirror_council_profile(mirror, isolated_data):
    out = pop.make_council_profile().set_index("council_code")
    assert len(out) == 153
    assert not out.isna().any().any()
    # Census 2021 TS007 Trafford total 235,063 (census2021_ts007a_ts054_ts062/PROVENANCE.md)
    assert out.loc["E08000009", "population_2021"] == 235_063
    # SAM: Trafford land 106.04 km² (ons_sam_lsoa_dec2021/PROVENANCE.md)
    assert out.loc["E08000009", "land_km2"] == pytest.approx(106.04, abs=0.01)
    # TS054 LTLA raw row for Trafford: owned / all households (PROVENANCE: 96,269 households)
    with (mirror / pop.TS054_LTLA_KEY).open() as fh:
        row = next(r for r in csv.DictReader(fh) if r["geography code"] == "E08000009")
    assert int(row[pop.TENURE_TOTAL]) == 96_269
    assert out.loc["E08000009", "owner_occupied_share"] == pytest.approx(
        int(row[pop.TENURE_OWNED]) / 96_269
    )
    # new 2023 unitaries are covered and shares are proportions
    assert (
        out.loc[["E06000063", "E06000064", "E06000065", "E06000066"], "population_2021"]
        .gt(200_000)
        .all()
    )
    assert out["share_65plus"].between(0, 1).all()
    assert out["sparsity"].between(0, 2).all()
