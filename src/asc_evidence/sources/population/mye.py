"""ONS mid-year population estimates, mid-2018 to mid-2022 (table population_mye)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from asc_evidence import tidy
from asc_evidence.errors import SchemaChangedError
from asc_evidence.fetch import fetch
from asc_evidence.sources import excel
from asc_evidence.sources import geography as geo
from asc_evidence.sources.population.bands import (
    _boundary_flags,
    _join_flags,
    _keep_codes,
    _names,
    _number_label,
    to_age_bands,
)

# ---------------------------------------------------------------------------------------------
# mid-year estimates

MYE_DIR = "population/ons_mye_uk_single_year"
MYE_FILES: dict[str, str] = {
    "2018": f"{MYE_DIR}/ukmidyearestimates20182019ladcodes.xlsx",  # April 2019 codes
    "2019": f"{MYE_DIR}/ukmidyearestimates20192020ladcodes.xls",  # April 2020 codes
    "2020": f"{MYE_DIR}/ukpopestimatesmid2020on2021geography.xls",  # April 2021 codes
    "2021": f"{MYE_DIR}/ukpopestimatesmid2021on2021geographyfinal.xls",  # April 2021 codes
    "2022": f"{MYE_DIR}/mye22final.xlsx",  # April 2023 codes
}
MYE_SHEETS: dict[str, tuple[str, ...]] = {
    "persons": ("MYE2 - Persons", "MYE2-All"),
    "male": ("MYE2 - Males",),
    "female": ("MYE2 - Females",),
}
MYE_COLUMNS: list[str] = ["Code", "Name", "All ages", *[str(a) for a in range(90)], "90+"]


def parse_mye2_grid(grid: pd.DataFrame, file: str) -> pd.DataFrame:
    """Table of an ``MYE2`` sheet read with ``header=None``: header row found by its ``Code`` cell.

    Returns ``code, name, '0'`` ... ``'89', '90'`` (90 = 90 and over) as text cells, one row per
    area (footnotes dropped). Raises :class:`SchemaChangedError` if the expected columns are absent.
    """
    first = grid.iloc[:, 0].astype("string").str.strip()
    hits = first.index[first == "Code"]
    if len(hits) == 0:
        raise SchemaChangedError(file, MYE_COLUMNS, [str(c) for c in grid.iloc[:12, 0]])
    header = [_number_label(c) for c in grid.loc[hits[0]]]
    if "90+" not in header and "90" in header:  # mid-2018: last column '90' means 90 and over
        header = ["90+" if h == "90" else h for h in header]
    tidy.expect_columns(header, MYE_COLUMNS, file)
    body = grid.loc[hits[0] + 1 :].copy()
    body.columns = header
    body = body[
        body["Code"].astype("string").str.fullmatch(r"[A-Z]\d{8}").fillna(False).astype(bool)
    ]
    out = body[["Code", "Name", *[str(a) for a in range(90)], "90+"]]
    out.columns = ["code", "name", *[str(a) for a in range(91)]]
    return out.reset_index(drop=True)


def _mye_long(path: Path) -> pd.DataFrame:
    """All three MYE2 sheets of one workbook as ``code, name, sex, age, value`` (kept areas only)."""
    with excel.open_workbook(path) as book:
        names = book.sheet_names
        pieces = []
        for sex, candidates in MYE_SHEETS.items():
            sheet = next((s for s in candidates if s in names), None)
            if sheet is None:
                msg = f"{path.name} (sheets)"
                raise SchemaChangedError(msg, list(candidates), names)
            grid = excel.read_excel(book, sheet_name=sheet, header=None, dtype=object)
            wide = parse_mye2_grid(grid, f"{path.name} [{sheet}]")
            wide = wide[_keep_codes(wide["code"])]
            long = wide.melt(id_vars=["code", "name"], var_name="age", value_name="raw")
            long["sex"] = sex
            pieces.append(long)
    long = pd.concat(pieces, ignore_index=True)
    long["value"], _ = tidy.to_number(long["raw"], {})
    return long.drop(columns="raw")


def parse_mye(path: Path, period: str) -> pd.DataFrame:
    """Tidy mid-year estimates by area, age band and sex from one ONS MYE workbook.

    Councils created after the file's code vintage are added by summing their predecessor areas
    (:data:`geography.SUCCESSOR_COMPONENTS`); district rows are then dropped.
    """
    long = _mye_long(path)
    long = geo.add_successors(long, ["value"], code_col="code", by=["sex", "age"])
    names = long.drop_duplicates("code").set_index("code")["name"]
    succ = long.drop_duplicates("code").set_index("code")["successor_of"]
    long = long[geo.level_of(long["code"]).notna()]
    bands = to_age_bands(long, ["code", "sex"])
    return _finish(bands, names, succ, source="ons_mye", period=period)


def _finish(
    bands: pd.DataFrame,
    names: pd.Series | None = None,
    succ: pd.Series | None = None,
    **constants: object,
) -> pd.DataFrame:
    """Council names, levels and flags for banded population counts; -> tidy frame.

    ``names``: file names by code (fallback for codes the register does not know); ``succ``: the
    ``successor_of`` text by code from :func:`geography.add_successors`.
    """
    codes = bands["code"].astype("string")
    successor_of = pd.Series("", index=codes.index, dtype="string")
    if succ is not None:
        successor_of = codes.map(succ).astype("string").fillna("")
    flags = _join_flags(
        _boundary_flags(codes, successor_of),
        pd.Series(
            np.where(
                bands["approximate"],
                tidy.FLAG_APPROXIMATION + ": 18-19 as 2/5 of the 15-19 band",
                "",
            ),
            index=bands.index,
        ),
        pd.Series(np.where(bands["value"].isna(), tidy.FLAG_NOT_AVAILABLE, ""), index=bands.index),
    )
    out = pd.DataFrame(
        {
            "council_code": codes,
            "council_name": _names(codes, codes.map(names) if names is not None else None),
            "level": geo.level_of(codes),
            "measure": bands.get("measure", "population"),
            "age_band": bands["age_band"],
            "sex": bands.get("sex", "persons"),
            "value": bands["value"],
            "unit": "people",
            "flag": flags,
        }
    )
    if "period" in bands:
        out["period"] = bands["period"].astype(str)
    out = tidy.make_tidy(out, **constants)
    return out.sort_values(["council_code", "period", "measure", "sex", "age_band"]).reset_index(
        drop=True
    )


def make_population_mye() -> pd.DataFrame:
    """``population_mye``: all five MYE workbooks."""
    return pd.concat(
        [parse_mye(fetch(key), period) for period, key in MYE_FILES.items()], ignore_index=True
    )
