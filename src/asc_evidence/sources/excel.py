"""One reader for every spreadsheet the parsers open: pandas with the ``calamine`` engine.

`python-calamine <https://github.com/dimastbk/python-calamine>`_ (Rust ``calamine``) reads .xls,
.xlsx and .ods, 5-20x faster than openpyxl/xlrd on the official workbooks (the ASCOF 2020-21 file:
5.3 s with openpyxl, 0.9 s here), and pandas 3 deprecates xlrd. Every parser reads through
:func:`read_excel` / :func:`open_workbook` so the engine is chosen in one place.

Cell values, as pandas' calamine reader returns them (checked identical to openpyxl/xlrd on every
sheet the parsers read: the processed tables built with either engine are equal): whole-number floats become ``int`` (as the
other engines), dates ``datetime``/``date``, empty cells NaN; formulas give their cached value
(none of the official workbooks needs recalculation). Merged cells: only the top-left cell holds the
value, the others are empty, as with openpyxl and xlrd; the parsers carry labels over merged header
cells themselves (e.g. :func:`finance_activity.ascfr._header_paths`).

Weakness: calamine does not expose cell styles, comments or print areas; no parser needs them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

ENGINE = "calamine"


def open_workbook(path: Path) -> pd.ExcelFile:
    """Open a workbook once to read several sheets (``book.sheet_names``, ``read_excel(book, ...)``)."""
    return pd.ExcelFile(path, engine=ENGINE)


def read_excel(path: Path | pd.ExcelFile, **kwargs: Any) -> Any:
    """:func:`pandas.read_excel` with the calamine engine (same arguments and return value)."""
    if isinstance(path, pd.ExcelFile):
        return pd.read_excel(path, **kwargs)
    return pd.read_excel(path, engine=ENGINE, **kwargs)
