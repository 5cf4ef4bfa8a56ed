"""Geography parsers: lookups, successor councils, IMD carry-over, boundaries; mirror spot checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from asc_evidence.errors import SchemaChangedError
from asc_evidence.sources import geography as geo

LTLA_HEADER = "LTLA22CD,LTLA22NM,UTLA22CD,UTLA22NM,ObjectId"


def _write_ltla(path: Path, header: str = LTLA_HEADER) -> Path:
    rows = [
        "E06000001,Hartlepool,E06000001,Hartlepool,1",
        "E07000026,Allerdale,E10000006,Cumbria,134",
        "E07000027,Barrow-in-Furness,E10000006,Cumbria,135",
        "E07000163,Craven,E10000023,North Yorkshire,189",
        "E07000246,Somerset West and Taunton,E10000027,Somerset,211",
        "E07000095,Broxbourne,E10000015,Hertfordshire,150",
        "W06000001,Isle of Anglesey,W06000001,Isle of Anglesey,310",
    ]
    path.write_text(
        "\ufeff" + header + "\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )  # BOM as published
    return path


def test_ltla_lookup_moves_districts_to_2023_councils(tmp_path):
    out = geo.parse_ltla_utla_lookup(_write_ltla(tmp_path / "lookup.csv")).set_index("ltla_code")
    assert "W06000001" not in out.index  # England only
    expected = {
        "E06000001": "E06000001",  # unitary maps to itself
        "E07000026": "E06000063",  # Allerdale -> Cumberland
        "E07000027": "E06000064",  # Barrow-in-Furness -> Westmorland and Furness
        "E07000163": "E06000065",  # Craven -> North Yorkshire unitary
        "E07000246": "E06000066",  # Somerset West and Taunton -> Somerset unitary
        "E07000095": "E10000015",  # Hertfordshire unchanged
    }
    assert out["council_code"].to_dict() == expected
    assert out.loc["E07000026", "utla22_code"] == "E10000006"


def test_ltla_lookup_renamed_column_raises(tmp_path):
    path = _write_ltla(tmp_path / "lookup.csv", LTLA_HEADER.replace("UTLA22CD", "UTLA23CD"))
    with pytest.raises(SchemaChangedError, match="UTLA22CD"):
        geo.parse_ltla_utla_lookup(path)


def test_every_2023_cumbria_district_is_assigned_once():
    cumbria = {"E07000026", "E07000027", "E07000028", "E07000029", "E07000030", "E07000031"}
    parts = geo.SUCCESSOR_COMPONENTS["E06000063"] + geo.SUCCESSOR_COMPONENTS["E06000064"]
    assert sorted(parts) == sorted(cumbria)


def test_add_successors_sums_parts_by_key():
    df = pd.DataFrame(
        {
            "code": ["E07000026", "E07000028", "E07000029"] * 2 + ["E07000027"] * 2,
            "sex": ["male"] * 3 + ["female"] * 3 + ["male", "female"],
            "value": [1.0, 2.0, 3.0, 10.0, 20.0, 30.0, 7.0, 8.0],
        }
    )
    out = geo.add_successors(df, ["value"], by=["sex"])
    cumberland = out[out["code"] == "E06000063"].set_index("sex")
    assert cumberland.loc["male", "value"] == 6
    assert cumberland.loc["female", "value"] == 60
    assert cumberland.loc["male", "successor_of"] == "E07000026+E07000028+E07000029"
    # Westmorland and Furness needs E07000030 and E07000031 too: not added from one part
    assert "E06000064" not in set(out["code"])
    assert (out.loc[out["code"] == "E07000026", "successor_of"] == "").all()


def test_add_successors_missing_part_gives_missing_sum():
    df = pd.DataFrame(
        {
            "code": ["E10000023", "E07000150", "E07000152", "E07000153", "E07000156"],
            "value": [5.0, 1.0, np.nan, 1.0, 1.0],
        }
    )
    out = geo.add_successors(df, ["value"]).set_index("code")
    assert out.loc["E06000065", "value"] == 5  # recode: same area as North Yorkshire County
    assert np.isnan(out.loc["E06000061", "value"])


def _write_iod(
    path: Path,
    code_header: str,
    rows: list[tuple[str, str, float]],
    score_header: str = "IMD - Average score ",
) -> Path:
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    ws = wb.create_sheet("IMD")
    ws.append(
        [code_header, code_header.replace("code", "name"), "IMD - Average rank ", score_header]
    )
    for code, name, score in rows:
        ws.append([code, name, 1000.0, score])
    wb.save(path)
    return path


def test_iod_summary_and_carry_over_to_2023_councils(tmp_path):
    upper = geo.parse_iod_summary(
        _write_iod(
            tmp_path / "upper.xlsx",
            "Upper Tier Local Authority District code (2019)",
            [
                ("E06000001", "Hartlepool", 35.037),
                ("E10000002", "Buckinghamshire", 10.052),
                ("E10000021", "Northamptonshire", 18.6),
            ],
        )
    )
    lower = geo.parse_iod_summary(
        _write_iod(
            tmp_path / "lower.xlsx",
            "Local Authority District code (2019)",
            [
                ("E07000150", "Corby", 10.0),
                ("E07000152", "East Northamptonshire", 20.0),
                ("E07000153", "Kettering", 30.0),
                ("E07000156", "Wellingborough", 40.0),
            ],
        )
    )
    assert upper.loc[0, "imd_average_score"] == 35.037  # trailing space in MHCLG's header handled
    weights = pd.Series(
        {"E07000150": 100.0, "E07000152": 300.0, "E07000153": 100.0, "E07000156": 500.0}
    )
    out = geo.imd_for_councils(upper, lower, weights).set_index("council_code")
    # North Northamptonshire: (100*10 + 300*20 + 100*30 + 500*40) / 1000 = 30.0
    assert out.loc["E06000061", "imd_average_score"] == pytest.approx(30.0)
    assert "approximation" in out.loc["E06000061", "imd_method"]
    assert (
        out.loc["E06000060", "imd_average_score"] == 10.052
    )  # Buckinghamshire: same area as county
    assert out.loc["E06000001", "imd_method"] == "published upper tier"
    # West Northamptonshire's districts are absent: missing, not zero
    assert np.isnan(out.loc["E06000062", "imd_average_score"])


def test_iod_renamed_column_raises(tmp_path):
    path = _write_iod(
        tmp_path / "upper.xlsx",
        "Upper Tier Local Authority District code (2019)",
        [("E06000001", "Hartlepool", 35.0)],
        score_header="IMD - Mean score",
    )
    with pytest.raises(SchemaChangedError, match="IMD - Average score"):
        geo.parse_iod_summary(path)


def test_sam_lsoa_england_only(tmp_path):
    path = tmp_path / "sam.csv"
    path.write_text(
        "\ufeffLSOA21CD,LSOA21NM,Extent of the Realm (Area in KM2),Clipped to the Coastline (Area in KM2),"
        "Area of Inland Water (KM2),Land Count (Area in KM2),LTLA22CD,LTLA22NM,LTLA22NMW\n"
        "E01000001,City of London 001A,0.1298,0.1298,0,0.1298,E09000001,City of London,\n"
        "W01000001,Isle of Anglesey 001A,2.0,2.0,0,1.5,W06000001,Isle of Anglesey,Ynys Mon\n",
        encoding="utf-8",
    )
    out = geo.parse_sam_lsoa(path)
    assert out.to_dict("records") == [
        {
            "lsoa_code": "E01000001",
            "ltla_code": "E09000001",
            "extent_km2": 0.1298,
            "land_km2": 0.1298,
        }
    ]


def test_council_boundaries_england_only_valid_bng(tmp_path):
    gpd = pytest.importorskip("geopandas")
    from shapely.geometry import Polygon

    bowtie = Polygon([(0, 0), (1000, 1000), (1000, 0), (0, 1000)])  # self-intersecting
    square = Polygon([(0, 0), (0, 1000), (1000, 1000), (1000, 0)])
    gdf = gpd.GeoDataFrame(
        {
            "CTYUA23CD": ["E06000001", "W06000001", "E10000012"],
            "CTYUA23NM": ["Hartlepool", "Isle of Anglesey", "Essex"],
            "BNG_E": [1, 2, 3],
        },
        geometry=[bowtie, square, square],
        crs=27700,
    )
    path = tmp_path / "CTYUA_MAY_2023_UK_BUC.shp"
    gdf.to_file(path, engine="pyogrio")
    out = geo.parse_council_boundaries(path, "23")
    assert list(out["council_code"]) == ["E06000001", "E10000012"]
    assert list(out.columns) == ["council_code", "council_name", "geometry"]
    assert out.crs.to_epsg() == 27700
    assert out.geometry.is_valid.all()
    with pytest.raises(SchemaChangedError, match="CTYUA21CD"):
        geo.parse_council_boundaries(path, "21")


# ---------------------------------------------------------------------------------------------
# real mirror


def test_mirror_boundaries(mirror):
    may23 = geo.parse_council_boundaries(mirror / f"{geo.CTYUA_2023_STEM}.shp", "23")
    dec21 = geo.parse_council_boundaries(mirror / f"{geo.CTYUA_2021_STEM}.shp", "21")
    # ons_ctyua_boundaries_buc/PROVENANCE.md: 153 English (E06 63, E08 36, E09 33, E10 21); 152 in 2021
    assert may23["council_code"].str[:3].value_counts().to_dict() == {
        "E06": 63,
        "E08": 36,
        "E09": 33,
        "E10": 21,
    }
    assert len(dec21) == 152
    assert dec21.geometry.is_valid.all()
    assert {"E06000063", "E06000066"} <= set(may23["council_code"])
    assert "E10000006" in set(dec21["council_code"])


def test_mirror_msoa_boundaries_have_councils(mirror):
    msoa = geo.parse_msoa_lookup(mirror / geo.MSOA_LOOKUP_KEY)
    ltla = geo.parse_ltla_utla_lookup(mirror / geo.LTLA_UTLA_KEY)
    out = geo.parse_msoa_boundaries(mirror / f"{geo.MSOA_BOUNDARY_STEM}.shp", msoa, ltla)
    # PROVENANCE: 6,856 English MSOAs 2021; each falls in one of the 153 April 2023 councils
    assert len(out) == 6_856
    assert out["council_code"].notna().all()
    assert out["council_code"].nunique() == 153


def test_mirror_ltla_lookup_covers_153_councils(mirror):
    out = geo.parse_ltla_utla_lookup(mirror / geo.LTLA_UTLA_KEY)
    # PROVENANCE: 309 English LTLAs, 152 English UTLAs in Dec 2022 -> 153 councils in April 2023
    assert len(out) == 309
    assert out["utla22_code"].nunique() == 152
    assert out["council_code"].nunique() == 153


def test_mirror_sam_spot_values(mirror):
    sam = geo.parse_sam_lsoa(mirror / geo.SAM_LSOA_KEY)
    by_lad = sam.groupby("ltla_code")[["extent_km2", "land_km2"]].sum()
    # ons_sam_lsoa_dec2021/PROVENANCE.md: Trafford extent 106.04; Hartlepool extent 98.33, land 93.70
    assert by_lad.loc["E08000009", "extent_km2"] == pytest.approx(106.04, abs=0.005)
    assert by_lad.loc["E06000001", "extent_km2"] == pytest.approx(98.33, abs=0.005)
    assert by_lad.loc["E06000001", "land_km2"] == pytest.approx(93.70, abs=0.005)
    assert len(sam) == 33_755


def test_mirror_imd_district_weighting_reproduces_published_counties(mirror):
    """Check the method used for the 2021/2023 unitaries on counties MHCLG did publish."""
    from asc_evidence.sources.excel import read_excel
    from asc_evidence.sources.population import MYE_FILES, parse_mye2_grid

    upper = geo.parse_iod_summary(mirror / geo.IOD_UPPER_KEY).set_index("code")["imd_average_score"]
    lower = geo.parse_iod_summary(mirror / geo.IOD_LOWER_KEY).set_index("code")["imd_average_score"]
    assert upper["E06000001"] == 35.037  # raw File 11, IMD sheet, Hartlepool
    grid = read_excel(mirror / MYE_FILES["2018"], sheet_name="MYE2-All", header=None, dtype=object)
    wide = parse_mye2_grid(grid, "mid-2018").set_index("code")
    weights = wide[[str(a) for a in range(91)]].astype(float).sum(axis=1)
    cumbria = ["E07000026", "E07000027", "E07000028", "E07000029", "E07000030", "E07000031"]
    northants = [f"E07000{n}" for n in range(150, 157)]
    for county, districts in (("E10000006", cumbria), ("E10000021", northants)):
        est = np.average(lower[districts], weights=weights[districts])
        # published Cumbria 21.261, Northamptonshire 18.605: within 0.1 with mid-2018 weights
        assert est == pytest.approx(upper[county], abs=0.1)
