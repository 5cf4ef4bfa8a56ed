"""Council register, tolerant lookup with suggestions, and boundary changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from asc_evidence import councils
from asc_evidence.errors import UnknownCouncilError


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("Swindon", "E06000030"),
        ("  swindon ", "E06000030"),
        ("E06000030", "E06000030"),
        ("819", "E06000030"),  # NHS/DH CASSR code used by delayed-transfer files
        ("Bristol, City of", "E06000023"),
        ("bristol", "E06000023"),
        ("St Helens", "E08000013"),
        ("Brighton & Hove", "E06000043"),
        ("bournemouth christchurch & poole", "E06000058"),
    ],
)
def test_lookup_tolerates_case_punctuation_and_codes(query: str, code: str) -> None:
    assert councils.lookup(query).code == code


def test_unknown_council_suggests_close_names() -> None:
    with pytest.raises(UnknownCouncilError) as err:
        councils.lookup("Swindn")
    assert err.value.suggestions[0] == "Swindon"
    assert "Did you mean: Swindon" in str(err.value)


def test_register_has_153_current_councils_and_known_types() -> None:
    cur = councils.current()
    assert len(cur) == 153  # CASSRs from April 2023 (Cumbria, N Yorks, Somerset reorganised)
    assert cur["code"].is_unique
    assert set(cur["type"]) == {
        "Unitary authority",
        "Metropolitan district",
        "London borough",
        "County",
    }
    assert cur["code"].str.match(r"^E(06|08|09|10)\d{6}$").all()


def test_lineage_of_split_and_recode() -> None:
    assert councils.lineage("E06000061") == [
        ("E06000061", "self"),
        ("E10000021", "predecessor area"),
    ]
    assert councils.lineage("E06000060") == [("E06000060", "self"), ("E10000002", "recode")]
    assert councils.lineage("E06000030") == [("E06000030", "self")]


def test_to_current_geography_maps_each_kind_of_change() -> None:
    # hand-made rows for 2018-19 (before every change except none): rates per 100 (multiplier 100)
    df = pd.DataFrame(
        {
            "council_code": [
                "E10000021",  # Northamptonshire -> both successors, predecessor area
                "E06000030",  # Swindon, unchanged
                "E10000002",  # Buckinghamshire County -> recoded
                "E06000028",  # Bournemouth 4 / 10
                "E06000029",  # Poole 6 / 30 -> BCP (4 + 6) / (10 + 30) = 25%
                "E06000061",  # "not submitted" template row of a council not yet created
                "E92000001",  # England passes through
            ],
            "period": "2018-19",
            "numerator": [10.0, 20.0, 30.0, 4.0, 6.0, np.nan, 1.0],
            "denominator": [100.0, 100.0, 100.0, 10.0, 30.0, np.nan, 2.0],
            "value": [10.0, 20.0, 30.0, 40.0, 20.0, np.nan, 50.0],
            "flag": ["", "", "", "suppressed", "", "not submitted", ""],
            "level": ["council"] * 6 + ["england"],
        }
    )
    out = councils.to_current_geography(df, multiplier=100).set_index("council_code")
    assert sorted(out.index) == [
        "E06000030",
        "E06000058",
        "E06000060",
        "E06000061",
        "E06000062",
        "E92000001",
    ]
    assert out.loc["E06000058", "value"] == pytest.approx(25.0)  # (4 + 6) / (10 + 30) x 100
    assert out.loc["E06000058", "geography"] == "merged"
    assert out.loc["E06000058", "flag"].startswith(
        "suppressed; boundary: Bournemouth + Poole summed"
    )
    assert out.loc["E06000060", "geography"] == "recoded"
    assert out.loc["E06000060", "flag"] == (
        "boundary: recoded, recorded under predecessor code E10000002"
    )
    for succ in ("E06000061", "E06000062"):
        assert out.loc[succ, "value"] == 10.0
        assert out.loc[succ, "area_code"] == "E10000021"
        assert out.loc[succ, "flag"] == "boundary: predecessor area (Northamptonshire)"
    assert out.loc["E06000030", "geography"] == "current"
    assert out.loc["E06000030", "flag"] == ""
    assert out.loc["E92000001", "value"] == 50.0


def test_to_current_geography_pools_part_years_and_needs_both_merged_councils() -> None:
    df = pd.DataFrame(
        {
            "council_code": ["E10000002", "E06000060", "E06000028", "E06000029"],
            "period": ["2019-20", "2019-20", "2017-18", "2017-18"],
            # Bucks 2019-20: 9 months under the old code, 2 under the new: 90 + 10 days over
            # 900 + 100 person-days -> 100 / 1000 = 10%; Poole without counts -> no BCP figure
            "numerator": [90.0, 10.0, 5.0, np.nan],
            "denominator": [900.0, 100.0, 50.0, np.nan],
            "value": [10.0, 10.0, 10.0, 12.0],
            "flag": "",
            "months": [9, 2, 12, 12],
            "dispersion": [1.5, 2.5, 1.0, 3.0],
        }
    )
    out = councils.to_current_geography(df, multiplier=100).set_index("council_code")
    assert out.loc["E06000060", "numerator"] == 100
    assert out.loc["E06000060", "value"] == 10.0
    assert out.loc["E06000060", "months"] == 11
    assert out.loc["E06000060", "dispersion"] == 2.5
    assert np.isnan(out.loc["E06000058", "value"])
    assert "cannot be summed" in out.loc["E06000058", "flag"]


def test_to_current_geography_rejects_an_unknown_period_kind() -> None:
    df = pd.DataFrame({"council_code": ["E06000030"], "period": ["2018-19"], "value": [1.0]})
    with pytest.raises(ValueError, match="period_kind"):
        councils.to_current_geography(df, period_kind="quarter")


def test_a_return_under_a_split_predecessors_code_after_the_split_is_flagged_not_dropped() -> None:
    """Dorset County (E10000009) became Dorset (E06000059) on 1 April 2019, less Christchurch. A
    2019-20 return under the old code describes the old area: it is not added to Dorset's own
    2019-20 figure, and Dorset's row says it was left out (Dorset's 2018-19, before the split, is
    still the predecessor's figure, flagged as its area). A row repeating Dorset's own figure under
    the old code (the ASCOF series, 2024-25) is not a return left out."""
    df = pd.DataFrame(
        {
            "council_code": ["E10000009", "E06000059", "E10000009", "E10000009", "E06000059"],
            "period": ["2019-20", "2019-20", "2018-19", "2024-25", "2024-25"],
            "numerator": [3.0, 30.0, 40.0, np.nan, np.nan],
            "denominator": [100.0, 1000.0, 1000.0, np.nan, np.nan],
            "value": [3.0, 3.0, 4.0, 18.3, 18.3],  # 2024-25: the same figure under both codes
            "flag": ["", "10 of 11 months reported", "", "", ""],
            "level": "council",
        }
    )
    out = councils.to_current_geography(df, multiplier=100).set_index(["council_code", "period"])
    assert sorted(out.index) == [
        ("E06000059", "2018-19"), ("E06000059", "2019-20"), ("E06000059", "2024-25"),
    ]  # fmt: skip
    assert out.loc[("E06000059", "2024-25"), "flag"] == ""  # a repeat of its own figure
    own = out.loc[("E06000059", "2019-20")]
    assert own["numerator"] == 30.0  # Dorset's own return only, not 30 + 3
    assert own["flag"] == (
        "10 of 11 months reported; boundary: a return under the old code of Dorset County for "
        "this period left out (it describes the predecessor area)"
    )
    assert out.loc[("E06000059", "2018-19"), "geography"] == "predecessor area"
    assert "a return under the old code" not in out.loc[("E06000059", "2018-19"), "flag"]
