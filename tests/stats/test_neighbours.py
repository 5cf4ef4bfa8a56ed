"""Statistical neighbours: hand-worked distances, Jaccard overlaps and neighbour-file loading."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from asc_evidence import councils
from asc_evidence.fetch import fetch
from asc_evidence.stats.neighbours import (
    NeighbourFileError,
    jaccard,
    load_neighbour_file,
    nearest_neighbours,
    neighbour_stability,
    standardise,
)


@pytest.fixture
def three() -> pd.DataFrame:
    # x = 0, 1, 2 -> mean 1, sd 1 -> z = -1, 0, 1
    # y = 0, 0, 3 -> mean 1, sd sqrt(3) -> z = -1/sqrt3, -1/sqrt3, 2/sqrt3
    return pd.DataFrame(
        {"x": [2.0, 0.0, 1.0], "y": [3.0, 0.0, 0.0]}, index=["E06000003", "E06000001", "E06000002"]
    )


def test_standardise_by_hand(three: pd.DataFrame) -> None:
    z = standardise(three, ["x", "y"], log_vars=())
    assert z.loc["E06000001", "x"] == pytest.approx(-1.0)
    assert z.loc["E06000003", "x"] == pytest.approx(1.0)
    assert z.loc["E06000003", "y"] == pytest.approx(2 / math.sqrt(3))


def test_three_council_distances_by_hand(three: pd.DataFrame) -> None:
    # weights x=4, y=1: d(1,2) = sqrt(4*1) = 2; d(1,3) = sqrt(4*4 + 3) = sqrt(19);
    # d(2,3) = sqrt(4*1 + 3) = sqrt(7)
    nn = nearest_neighbours(three, n=2, weights={"x": 4.0, "y": 1.0}, log_vars=())
    got = nn.set_index(["council_code", "rank"])
    assert len(nn) == 6
    assert got.loc[("E06000001", 1), "neighbour_code"] == "E06000002"
    assert got.loc[("E06000001", 1), "distance"] == pytest.approx(2.0)
    assert got.loc[("E06000001", 2), "distance"] == pytest.approx(math.sqrt(19))
    assert got.loc[("E06000002", 1), "neighbour_code"] == "E06000001"
    assert got.loc[("E06000002", 2), "distance"] == pytest.approx(math.sqrt(7))
    assert got.loc[("E06000003", 1), "neighbour_code"] == "E06000002"
    assert got.loc[("E06000003", 1), "distance"] == pytest.approx(math.sqrt(7))
    assert got.loc[("E06000003", 2), "distance"] == pytest.approx(math.sqrt(19))
    assert not (nn["council_code"] == nn["neighbour_code"]).any()


def test_weights_change_the_answer() -> None:
    # B is close to A on x, C is close to A on y: the heavier variable decides A's nearest.
    p = pd.DataFrame(
        {"x": [0.0, 0.1, 5.0, 9.0], "y": [0.0, 5.0, 0.1, 9.0]},
        index=["E06000001", "E06000002", "E06000003", "E06000004"],
    )
    on_x = nearest_neighbours(p, n=1, weights={"x": 10.0, "y": 1.0}, log_vars=())
    on_y = nearest_neighbours(p, n=1, weights={"x": 1.0, "y": 10.0}, log_vars=())
    assert on_x.set_index("council_code").loc["E06000001", "neighbour_code"] == "E06000002"
    assert on_y.set_index("council_code").loc["E06000001", "neighbour_code"] == "E06000003"


def test_logged_variable_is_scale_free(three: pd.DataFrame) -> None:
    # log(c * x) = log c + log x: a constant factor vanishes after z-scoring a logged variable
    p = three.assign(x=three["x"] + 1.0)
    scaled = p.assign(x=p["x"] * 1000.0)
    a = nearest_neighbours(p, n=2, weights={"x": 1.0, "y": 1.0}, log_vars=("x",))
    b = nearest_neighbours(scaled, n=2, weights={"x": 1.0, "y": 1.0}, log_vars=("x",))
    pd.testing.assert_frame_equal(a, b)


def test_errors(three: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"lacks the variables \['z'\]"):
        nearest_neighbours(three, n=1, weights={"z": 1.0}, log_vars=())
    with pytest.raises(ValueError, match="n must be between 1 and"):
        nearest_neighbours(three, n=3, weights={"x": 1.0}, log_vars=())
    with pytest.raises(ValueError, match="missing values"):
        nearest_neighbours(three.assign(y=[1.0, None, 2.0]), n=1, weights={"y": 1.0}, log_vars=())
    with pytest.raises(ValueError, match="must be positive"):
        nearest_neighbours(three, n=1, weights={"x": 1.0}, log_vars=("x",))


def test_jaccard_by_hand() -> None:
    assert jaccard({"a", "b", "c"}, {"b", "c", "d"}) == pytest.approx(2 / 4)
    assert jaccard({"a"}, {"b"}) == 0.0
    assert jaccard([], []) == 1.0


def test_stability_by_hand() -> None:
    # x and y have the same values in a different order, so the same sd: with equal weights the
    # distance is proportional to raw Euclidean distance. n = 2 of 3 others: the set is all but
    # the farthest.
    #   x only: A {B,C}, B {A,C}, C {A,B}, D {B,C}
    #   y only: A {C,D}, B {C,D}, C {A,D}, D {A,C}
    #   equal:  A {B,C}, B {A,C}, C {A,D} (B at 9.06 is farthest), D {A,C} (B at 12.04)
    # default weights x=1, y=1e-6 give the x-only sets.
    p = pd.DataFrame(
        {"x": [0.0, 1.0, 2.0, 10.0], "y": [0.0, 10.0, 1.0, 2.0]},
        index=["E06000001", "E06000002", "E06000003", "E06000004"],
    )  # A B C D
    table, summary = neighbour_stability(p, n=2, weights={"x": 1.0, "y": 1e-6}, log_vars=())
    t = table.set_index(["variant", "council_code"])["jaccard"]
    assert t[("drop y", "E06000001")] == pytest.approx(1.0)
    assert t[("drop x", "E06000001")] == pytest.approx(1 / 3)  # {B,C} vs {C,D}
    assert t[("equal weights", "E06000003")] == pytest.approx(1 / 3)  # {A,B} vs {A,D}
    assert t[("equal weights", "E06000002")] == pytest.approx(1.0)
    s = summary.set_index("variant")
    assert s.loc["drop x", "median_jaccard"] == pytest.approx(1 / 3)
    assert s.loc["equal weights", "median_jaccard"] == pytest.approx(2 / 3)
    assert s.loc["equal weights", "share_at_least_half"] == pytest.approx(0.5)
    assert s.loc["drop y", "min_jaccard"] == pytest.approx(1.0)
    assert list(summary["variant"]) == ["drop x", "equal weights", "drop y"]


def test_load_csv(tmp_path: Path) -> None:
    f = tmp_path / "nn.csv"
    f.write_text("council_code,neighbour_code,rank\nE06000001,E06000002,1\nE06000001,E06000003,2\n")
    df = load_neighbour_file(f)
    assert df["neighbour_code"].tolist() == ["E06000002", "E06000003"]
    assert df["rank"].tolist() == [1, 2]


def test_load_json_drops_self_and_unknown(tmp_path: Path) -> None:
    f = tmp_path / "NN.json"
    f.write_text(json.dumps({"E06000001": ["E06000001", "E06000002", "E07000026"]}))
    with pytest.raises(
        NeighbourFileError, match=r"1 codes are not valid councils: \['E07000026'\]"
    ):
        load_neighbour_file(f, valid_codes=["E06000001", "E06000002"])
    df = load_neighbour_file(f, valid_codes=["E06000001", "E06000002"], unknown="drop")
    assert df[["council_code", "neighbour_code"]].to_numpy().tolist() == [
        ["E06000001", "E06000002"]
    ]
    assert df["rank"].isna().all()


def test_load_rejects_bad_files(tmp_path: Path) -> None:
    bad_code = tmp_path / "a.csv"
    bad_code.write_text("council_code,neighbour_code\nE06000001,Hartlepol\nE06000001,E0600002\n")
    with pytest.raises(NeighbourFileError, match=r"found 2 entries that are neither: 'Hartlepol'"):
        load_neighbour_file(bad_code)
    with pytest.raises(NeighbourFileError, match=r"not ONS GSS codes.*Hartlepol"):
        load_neighbour_file(bad_code, resolve_names=False)
    renamed = tmp_path / "b.csv"
    renamed.write_text("la_code,neighbour_code\nE06000001,E06000002\n")
    with pytest.raises(NeighbourFileError, match=r"found columns \['la_code', 'neighbour_code'\]"):
        load_neighbour_file(renamed)
    dup = tmp_path / "c.csv"
    dup.write_text("council_code,neighbour_code\nE06000001,E06000002\nE06000001,E06000002\n")
    with pytest.raises(NeighbourFileError, match="repeated"):
        load_neighbour_file(dup)
    (tmp_path / "nn.xlsx").write_bytes(b"PK")
    with pytest.raises(
        NeighbourFileError, match=r"found a \.xlsx file\. Save it as \.csv or \.json"
    ):
        load_neighbour_file(tmp_path / "nn.xlsx")
    with pytest.raises(NeighbourFileError, match="found nothing there"):
        load_neighbour_file(tmp_path / "absent.csv")
    (tmp_path / "empty.csv").write_text("\n")
    with pytest.raises(NeighbourFileError, match="found an empty file"):
        load_neighbour_file(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("council_code,neighbour_code\n")
    with pytest.raises(NeighbourFileError, match="found no rows"):
        load_neighbour_file(tmp_path / "header.csv")


def test_load_resolves_unambiguous_names(tmp_path: Path) -> None:
    # Register: Hartlepool E06000001, Middlesbrough E06000002; "Bristol" is a listed alias of
    # "Bristol, City of" (E06000023).
    f = tmp_path / "names.csv"
    f.write_text("council_code,neighbour_code\nHartlepool,Middlesbrough\nHartlepool,bristol\n")
    df = load_neighbour_file(f)
    assert df["council_code"].tolist() == ["E06000001", "E06000001"]
    assert df["neighbour_code"].tolist() == ["E06000002", "E06000023"]


def test_unknown_codes_warn_names_them(tmp_path: Path) -> None:
    f = tmp_path / "NN.json"
    f.write_text(json.dumps({"E06000001": ["E06000002", "E07000026"]}))
    with pytest.warns(UserWarning, match=r"ignored 1 rows .*\['E07000026'\]"):
        df = load_neighbour_file(f, valid_codes=["E06000001", "E06000002"], unknown="warn")
    assert df["neighbour_code"].tolist() == ["E06000002"]


@pytest.mark.mirror
def test_oflog_nn_json(mirror: Path) -> None:
    # PROVENANCE.md: keys include lower-tier districts; each list includes the council itself.
    # Hartlepool's list (16 codes incl. itself) is all unitary/metropolitan councils.
    df = load_neighbour_file(
        fetch("ascof/oflog_extract/NN.json"),
        valid_codes=councils.register()["code"],
        unknown="drop",
    )
    hartlepool = df[df["council_code"] == "E06000001"]["neighbour_code"].tolist()
    assert len(hartlepool) == 15
    assert {"E06000002", "E06000026", "E08000037"} <= set(hartlepool)
    assert "E06000001" not in hartlepool
    assert not df["council_code"].str.startswith("E07").any()
