"""The tidy schema: number parsing with markers, column checks, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from asc_evidence import tidy
from asc_evidence.errors import SchemaChangedError


def test_to_number_maps_markers_to_nan_with_reason() -> None:
    raw = pd.Series(["1,234", "[c]", "[x]", "", "£11.30", "0"])
    values, flags = tidy.to_number(raw, {"[c]": "suppressed", "[x]": "not available"})
    assert values.iloc[0] == 1234.0
    assert values.iloc[4] == pytest.approx(11.30)
    assert values.iloc[5] == 0.0  # a published zero stays zero
    assert np.isnan(values.iloc[1:4]).all()
    assert flags.tolist() == ["", "suppressed", "not available", "not available", "", ""]


def test_missing_cell_is_not_available_not_the_last_marker() -> None:
    # NA == "[c]" is NA, which mask() treated as True: a missing cell took the last marker's reason
    raw = pd.Series([None, "[c]", np.nan, "4"], dtype=object)
    values, flags = tidy.to_number(raw, {"[x]": "not submitted", "[c]": "suppressed"})
    assert flags.tolist() == ["not available", "suppressed", "not available", ""]
    assert values.iloc[3] == 4.0


def test_to_number_rejects_unknown_text_instead_of_guessing() -> None:
    with pytest.raises(ValueError, match=r"\['n/a'\]"):
        tidy.to_number(pd.Series(["3", "n/a"]), {})


def test_to_number_repeated_cells_parse_as_each_cell_alone() -> None:
    # Repeated cells take the distinct-value path; each cell must still get what it gets alone.
    cells = ["1,234", None, "[c]", 7, 7.5, " 12 ", "", "1,234", None, 7, "[c]", 7.5]
    raw = pd.Series(cells, dtype=object, index=range(10, 22), name="raw")
    values, flags = tidy.to_number(raw, {"[c]": "suppressed"})
    alone = [tidy.to_number(pd.Series([c], dtype=object), {"[c]": "suppressed"}) for c in cells]
    assert values.index.tolist() == list(range(10, 22))
    assert values.name == "raw"
    assert values.tolist() == pytest.approx([v.iloc[0] for v, _ in alone], nan_ok=True)
    assert flags.tolist() == [f.iloc[0] for _, f in alone]
    assert np.isnan(values.iloc[1])  # a missing cell among repeats stays missing and flagged
    assert flags.iloc[1] != ""
    with pytest.raises(ValueError, match=r"\['n/a'\]"):
        tidy.to_number(pd.Series(["3", "n/a", "3", "n/a"]), {})


def test_expect_columns_names_file_expected_and_found() -> None:
    with pytest.raises(SchemaChangedError) as err:
        tidy.expect_columns(
            ["ONS Code", "Measure Val"], ["ONS Code", "Measure Value"], "open-data.csv"
        )
    text = str(err.value)
    assert "open-data.csv" in text
    assert "'Measure Value'" in text
    assert "'Measure Val'" in text


def _frame(**over: object) -> pd.DataFrame:
    base = {
        "council_code": ["E06000030"],
        "period": ["2020-21"],
        "measure": ["ascof_2A2"],
        "value": [387.8],
    }
    base.update(over)
    return tidy.make_tidy(pd.DataFrame(base), source="test")


def test_validate_accepts_a_good_table_and_fills_defaults() -> None:
    df = tidy.validate(_frame(), "t")
    assert df.loc[0, "age_band"] == "all"
    assert df.loc[0, "sex"] == "persons"
    assert df.loc[0, "flag"] == ""


def test_validate_rejects_unflagged_missing_value() -> None:
    with pytest.raises(ValueError, match="missing values carry no flag"):
        tidy.validate(_frame(value=[np.nan]), "t")


def test_validate_rejects_duplicate_keys() -> None:
    df = pd.concat([_frame(), _frame()], ignore_index=True)
    with pytest.raises(ValueError, match="share a key"):
        tidy.validate(df, "t")
