"""Council register, tolerant lookup with suggestions, and boundary changes."""

from __future__ import annotations

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


def test_to_current_geography_flags_every_moved_row() -> None:
    df = pd.DataFrame(
        {
            "council_code": ["E10000021", "E06000030", "E10000002", "E06000028"],
            "value": [10.0, 20.0, 30.0, 40.0],
            "flag": ["", "", "", "suppressed"],
        }
    )
    out = (
        councils.to_current_geography(df)
        .sort_values(["council_code", "value"])
        .reset_index(drop=True)
    )
    # Northamptonshire copies to both successors; Bucks recoded; Bournemouth relabelled to BCP
    assert out["council_code"].tolist() == [
        "E06000030",
        "E06000058",
        "E06000060",
        "E06000061",
        "E06000062",
    ]
    assert out["flag"].tolist() == [
        "",
        "suppressed; boundary: merged area",
        "boundary: recode",
        "boundary: predecessor area",
        "boundary: predecessor area",
    ]
