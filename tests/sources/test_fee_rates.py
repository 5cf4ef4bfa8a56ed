"""Tests for the Fair Cost of Care 2022 extraction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from asc_evidence import tidy
from asc_evidence.sources import fee_rates as fr


def _tables() -> list[tuple[str, np.ndarray]]:
    """Two tabulizer-style matrices: a clean one and one with glued cells, like the Barnsley report."""
    clean = np.array(
        [
            ["Cost of care exercise results", "18+ domiciliary care"],
            ["Total Careworker Costs", "£19.29"],
            ["TOTAL", "£26.24"],
        ],
        dtype=object,
    )
    glued = np.array(
        [
            ["", "65+ care home places without", "65+ care home places with"],
            ["", "Lower MEDIANS Upper", "Lower MEDIANS Upper"],
            ["TOTAL", "£766.17 £711.67 £1,033.63", "£857.60 £981.69 £1,219.78"],
        ],
        dtype=object,
    )
    return [
        ("herefordshire table 1 Cost of Care Report - Home Care", clean),
        ("barnsley table 4 Fair cost of care report - age 65+ care home", glued),
    ]


LOCS = (
    fr.Locator("Herefordshire", "herefordshire table 1 ", r"^TOTAL$", 1, fr.HOME),
    fr.Locator("Barnsley", "barnsley table 4 ", r"^TOTAL$", 1, fr.RES, 1),
    fr.Locator("Barnsley", "barnsley table 4 ", r"^TOTAL$", 2, fr.NUR, 1),
)


def test_parse_reads_located_medians_with_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fr, "LOCATORS", LOCS)
    df = fr.parse_fair_cost_of_care(_tables())
    tidy.validate(df, "fair_cost_of_care_2022")
    got = df.set_index(["council_name", "measure"])["value"]
    assert got[("Herefordshire, County of", fr.HOME)] == pytest.approx(26.24)
    assert got[("Barnsley", fr.RES)] == pytest.approx(
        711.67
    )  # middle token of "£766.17 £711.67 £1,033.63"
    assert got[("Barnsley", fr.NUR)] == pytest.approx(981.69)
    assert (df["flag"] == fr.FLAG_FCOC).all()
    assert (df["period"] == "2022-23").all()


def test_locator_that_no_longer_matches_is_skipped_with_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bad = (
        fr.Locator(
            "Herefordshire", "herefordshire table 1 ", r"^Total Cost Per Hour$", 1, fr.HOME
        ),  # row renamed
        fr.Locator(
            "Barnsley", "barnsley table 4 ", r"^TOTAL$", 1, fr.HOME, 1
        ),  # 711.67 is not an hourly rate
    )
    monkeypatch.setattr(fr, "LOCATORS", bad)
    with pytest.warns(UserWarning, match="not extracted") as record:
        df = fr.parse_fair_cost_of_care(_tables())
    assert df.empty
    assert "outside plausible range" in str(record[0].message)


@pytest.mark.mirror
def test_mirror_fair_cost_of_care_kent(mirror: Path) -> None:
    df = fr.make_fair_cost_of_care()
    tidy.validate(df, "fair_cost_of_care_2022")
    kent = df[df.council_code == "E10000016"].set_index("measure")["value"]
    # PROVENANCE.md: Kent 18+ domiciliary median 24.80 £/hour; 65+ care homes without nursing median 846 £/week
    assert kent[fr.HOME] == pytest.approx(24.80)
    assert round(kent[fr.RES]) == 846
    assert df["council_code"].nunique() >= 20
    assert df.groupby("council_code")["measure"].apply(lambda m: m.is_unique).all()
