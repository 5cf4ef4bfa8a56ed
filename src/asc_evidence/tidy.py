"""The tidy long table every source parser produces, and the checks that guard it.

One row per (source, council, period, measure, age band, sex). Columns:

=============== ========= =====================================================================
column          dtype     meaning
=============== ========= =====================================================================
source          string    parser name, e.g. ``ascof``
council_code    string    ONS GSS code (E06/E08/E09/E10, E12 region, E92000001 England)
council_name    string    name as in the register (or the file for non-council rows)
level           string    ``council`` | ``region`` | ``england``
period          string    ``2020-21`` (financial year), ``2019-12`` (month) or ``2021`` (mid-year)
measure         string    stable measure id, e.g. ``ascof_2A2``, ``dtoc_days_social_care``
age_band        string    ``18+``, ``65+``, ``85-89``...; ``all`` when not broken down
sex             string    ``persons`` | ``male`` | ``female``
numerator       float64   count, when published (NaN otherwise)
denominator     float64   population or base, when published (NaN otherwise)
value           float64   the published (or derived) value
unit            string    ``per 100,000``, ``%``, ``GBP per hour``, ``people``, ``days``...
flag            string    why a value is missing or special (suppressed, not available,
                          approximation...); empty string when the value is plain
=============== ========= =====================================================================

Missing values are NaN with a non-empty ``flag``; never zero.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from asc_evidence.errors import SchemaChangedError

COLUMNS: dict[str, str] = {
    "source": "string",
    "council_code": "string",
    "council_name": "string",
    "level": "string",
    "period": "string",
    "measure": "string",
    "age_band": "string",
    "sex": "string",
    "numerator": "float64",
    "denominator": "float64",
    "value": "float64",
    "unit": "string",
    "flag": "string",
}
LEVELS = {"council", "region", "england"}

# Flags used across parsers, so a reader can filter on them.
FLAG_SUPPRESSED = "suppressed"
FLAG_NOT_AVAILABLE = "not available"
FLAG_NOT_APPLICABLE = "not applicable"
FLAG_APPROXIMATION = "approximation"


def expect_columns(found: Iterable[object], expected: Iterable[str], file: str) -> None:
    """Raise :class:`SchemaChangedError` unless every expected column is present in ``found``."""
    found_l = [str(c) for c in found]
    expected_l = list(expected)
    if any(c not in found_l for c in expected_l):
        raise SchemaChangedError(file, expected_l, found_l)


def make_tidy(df: pd.DataFrame, **constants: object) -> pd.DataFrame:
    """Fill defaults (``age_band='all'``, ``sex='persons'``, ``flag=''``, NaN numbers), order and type the columns.

    ``constants`` set whole columns (e.g. ``source='ascof'``).
    """
    out = df.copy()
    for col, val in constants.items():
        out[col] = val
    defaults = {"age_band": "all", "sex": "persons", "flag": "", "level": "council"}
    for col, dtype in COLUMNS.items():
        if col not in out:
            out[col] = defaults.get(col, np.nan if dtype == "float64" else pd.NA)
    out = out[list(COLUMNS)].astype(COLUMNS)
    out["flag"] = out["flag"].fillna("")
    return out.reset_index(drop=True)


def validate(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Check a tidy table: columns, dtypes, levels, keys unique, missing values flagged."""
    expect_columns(df.columns, COLUMNS, f"processed table {name!r}")
    problems = []
    for col, dtype in COLUMNS.items():
        if str(df[col].dtype) != dtype:
            problems.append(f"column {col} has dtype {df[col].dtype}, expected {dtype}")
    bad_levels = set(df["level"].dropna().unique()) - LEVELS
    if bad_levels:
        problems.append(f"unknown level values {sorted(bad_levels)}")
    for col in ("source", "council_code", "period", "measure"):
        if df[col].isna().any():
            problems.append(f"{df[col].isna().sum()} rows have no {col}")
    key = ["source", "council_code", "period", "measure", "age_band", "sex"]
    dup = df.duplicated(key, keep=False)
    if dup.any():
        sample = df.loc[dup, key].head(3).to_dict("records")
        problems.append(f"{int(dup.sum())} rows share a key, e.g. {sample}")
    unflagged = df["value"].isna() & (df["flag"] == "")
    if unflagged.any():
        sample = df.loc[unflagged, key].head(3).to_dict("records")
        problems.append(f"{int(unflagged.sum())} missing values carry no flag, e.g. {sample}")
    if problems:
        msg = f"Processed table {name!r} failed validation:\n  - " + "\n  - ".join(problems)
        raise ValueError(msg)
    return df


def to_number(raw: pd.Series, markers: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    """Parse published numbers: strip ``,``/``£``/``%``/spaces; map markers (e.g. ``'[c]'``) to NaN + flag.

    Returns ``(values, flags)``. Blank cells become NaN flagged ``not available``; any other text
    that is not a number raises ``ValueError`` naming it, so a new marker is never read as zero.
    Each distinct cell text is parsed once (population tables repeat the same counts many times).
    """
    text = raw.astype("string")
    codes, uniques = pd.factorize(text)  # missing cells -> -1, parsed as the extra last entry
    if len(uniques) + 1 < len(text):
        distinct = pd.concat(
            [pd.Series(uniques, dtype="string"), pd.Series([pd.NA], dtype="string")],
            ignore_index=True,
        )
        values, flags = to_number(distinct, markers)
        take = np.where(codes < 0, len(uniques), codes)
        return (
            pd.Series(values.to_numpy()[take], index=raw.index, dtype="float64", name=raw.name),
            pd.Series(flags.array.take(take), index=raw.index, dtype="string"),
        )
    text = text.str.strip()
    flags = pd.Series("", index=raw.index, dtype="string")
    for marker, reason in markers.items():
        flags = flags.mask((text == marker).fillna(False), reason)  # NA cell: not a marker
    blank = text.isna() | (text == "")
    flags = flags.mask(blank & (flags == ""), FLAG_NOT_AVAILABLE)
    cleaned = text.str.replace(r"[,£%\s]", "", regex=True)
    values = pd.to_numeric(cleaned.where(flags == ""), errors="coerce")
    bad = values.isna() & (flags == "")
    if bad.any():
        examples = sorted(set(text[bad].astype(str)))[:5]
        msg = f"Unrecognised non-numeric cells {examples}; add them to the parser's markers with a reason."
        raise ValueError(msg)
    return values.astype("float64"), flags
