"""Councils with adult social services responsibilities (CASSRs): register, lookup, boundary changes.

The register (``councils.csv``) holds the 153 councils of April 2023 and the 8 predecessors abolished
since 2019, each with ONS code, NHS/DH CASSR code where known, region, type and validity dates.

Consistent geography for time series (the choice, documented in the README):

* **code changes** (Buckinghamshire 2020, North Yorkshire and Somerset 2023: same area, new code) are
  treated as one council: the predecessor's figures belong to the successor's series;
* **merges** (Bournemouth + Poole -> Bournemouth, Christchurch and Poole, 2019) are summed where counts
  exist; Christchurch moved from Dorset County, so the merged series is flagged as boundary-approximate;
* **splits** (Dorset County -> Dorset 2019 minus Christchurch; Northamptonshire -> North and West
  Northamptonshire 2021; Cumbria -> Cumberland and Westmorland and Furness 2023) cannot be divided
  from published figures: each successor's series shows the predecessor's figures before the split,
  flagged ``predecessor area``, and cross-council comparisons use only councils that existed that year.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from io import StringIO

import pandas as pd

from asc_evidence.errors import UnknownCouncilError


@dataclass(frozen=True)
class BoundaryChange:
    """A reorganisation: predecessors -> successors on ``date`` (``kind``: recode, merge or split)."""

    date: str
    predecessors: tuple[str, ...]
    successors: tuple[str, ...]
    kind: str
    note: str


BOUNDARY_CHANGES: tuple[BoundaryChange, ...] = (
    BoundaryChange(
        "2019-04-01",
        ("E06000028", "E06000029"),
        ("E06000058",),
        "merge",
        "Bournemouth and Poole merged with Christchurch (from Dorset County) into BCP",
    ),
    BoundaryChange(
        "2019-04-01",
        ("E10000009",),
        ("E06000059",),
        "split",
        "Dorset County became the Dorset unitary, less Christchurch (to BCP)",
    ),
    BoundaryChange(
        "2020-04-01",
        ("E10000002",),
        ("E06000060",),
        "recode",
        "Buckinghamshire County became a unitary authority on the same area",
    ),
    BoundaryChange(
        "2021-04-01",
        ("E10000021",),
        ("E06000061", "E06000062"),
        "split",
        "Northamptonshire split into North and West Northamptonshire",
    ),
    BoundaryChange(
        "2023-04-01",
        ("E10000006",),
        ("E06000063", "E06000064"),
        "split",
        "Cumbria split into Cumberland and Westmorland and Furness",
    ),
    BoundaryChange(
        "2023-04-01",
        ("E10000023",),
        ("E06000065",),
        "recode",
        "North Yorkshire County became a unitary authority on the same area",
    ),
    BoundaryChange(
        "2023-04-01",
        ("E10000027",),
        ("E06000066",),
        "recode",
        "Somerset County became a unitary authority on the same area",
    ),
)


@dataclass(frozen=True)
class Council:
    """One council in the register."""

    code: str
    name: str
    nhs_code: str
    region: str
    type: str
    valid_from: str
    valid_to: str

    @property
    def current(self) -> bool:
        """True if the council exists today (not abolished)."""
        return not self.valid_to


def normalise(text: str) -> str:
    """Lower-case, '&' -> 'and', drop punctuation, 'city of'/'county'/'council' noise and spaces."""
    t = text.lower().replace("&", " and ").replace("st.", "st ")
    t = re.sub(
        r"\b(the|city of|county of|council|borough|metropolitan|london borough of|ua)\b", " ", t
    )
    return re.sub(r"[^a-z0-9]+", "", t)


@cache
def register() -> pd.DataFrame:
    """The council register as a DataFrame (one row per council, current and abolished)."""
    text = resources.files("asc_evidence").joinpath("councils.csv").read_text(encoding="utf-8")
    df = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)
    return df.sort_values("name").reset_index(drop=True)


@cache
def _index() -> dict[str, str]:
    idx: dict[str, str] = {}
    for row in register().itertuples():
        idx[row.code.lower()] = row.code
        if row.nhs_code:
            idx.setdefault(row.nhs_code.lower(), row.code)
        idx.setdefault(normalise(row.name), row.code)
    # common alternative spellings
    for alias, code in {
        "durham": "E06000047",
        "bcp": "E06000058",
        "hull": "E06000010",
        "bristol": "E06000023",
        "herefordshire": "E06000019",
        "sthelens": "E08000013",
        "southend": "E06000033",
    }.items():
        idx.setdefault(alias, code)
    return idx


def lookup(query: str) -> Council:
    """Find a council by ONS code, NHS code or name (case, spacing and punctuation ignored).

    An unknown query raises :class:`UnknownCouncilError` listing the closest names.
    """
    idx = _index()
    key = query.strip().lower()
    code = idx.get(key) or idx.get(normalise(query))
    if code is None:
        names = register()["name"].tolist()
        by_norm = {normalise(n): n for n in names}
        close = difflib.get_close_matches(normalise(query), list(by_norm), n=3, cutoff=0.6)
        suggestions = [by_norm[c] for c in close]
        if not suggestions:
            suggestions = [
                n for n in names if normalise(query)[:4] and normalise(query)[:4] in normalise(n)
            ][:3]
        raise UnknownCouncilError(query, suggestions)
    row = register().set_index("code").loc[code]
    return Council(
        code=code,
        **{k: row[k] for k in ("name", "nhs_code", "region", "type", "valid_from", "valid_to")},
    )


def current() -> pd.DataFrame:
    """Councils that exist today (153 since April 2023)."""
    reg = register()
    return reg[reg["valid_to"] == ""].reset_index(drop=True)


def search(text: str) -> pd.DataFrame:
    """Councils whose normalised name contains ``text`` (normalised), for the CLI."""
    key = normalise(text)
    reg = register()
    return reg[reg["name"].map(normalise).str.contains(key, regex=False)].reset_index(drop=True)


def lineage(code: str) -> list[tuple[str, str]]:
    """Codes whose figures make up ``code``'s time series, newest first, with the relation.

    Returns ``[(code, 'self'), (predecessor, 'recode' | 'merge' | 'predecessor area'), ...]``.
    """
    out = [(code, "self")]
    frontier = [code]
    while frontier:
        c = frontier.pop()
        for ch in BOUNDARY_CHANGES:
            if c in ch.successors:
                rel = {"split": "predecessor area"}.get(ch.kind, ch.kind)
                for p in ch.predecessors:
                    out.append((p, rel))
                    frontier.append(p)
    return out


def to_current_geography(df: pd.DataFrame, code_col: str = "council_code") -> pd.DataFrame:
    """Relabel predecessor rows onto current councils for time series, with a flag saying how.

    Recodes become the successor's rows (flag ``boundary: recode``); merges keep each predecessor
    row relabelled (sum numerators before computing rates; flag ``boundary: merged area``); splits
    copy the predecessor row to every successor (flag ``boundary: predecessor area``).
    The relation is appended to ``flag`` so it is never silent. Rows of current councils are unchanged.
    """
    pieces = [df[~df[code_col].isin({p for ch in BOUNDARY_CHANGES for p in ch.predecessors})]]
    for ch in BOUNDARY_CHANGES:
        rows = df[df[code_col].isin(ch.predecessors)]
        if rows.empty:
            continue
        label = {
            "recode": "boundary: recode",
            "merge": "boundary: merged area",
            "split": "boundary: predecessor area",
        }[ch.kind]
        for succ in ch.successors:
            moved = rows.copy()
            moved["original_code"] = moved[code_col]
            moved[code_col] = succ
            if "flag" in moved:
                moved["flag"] = (
                    moved["flag"].where(moved["flag"] == "", moved["flag"] + "; ") + label
                )
            pieces.append(moved)
    out = pd.concat(pieces, ignore_index=True)
    # successors of a chain (e.g. a recode after a merge) are handled by repeated application
    if out[code_col].isin({p for ch in BOUNDARY_CHANGES for p in ch.predecessors}).any():
        return to_current_geography(out, code_col)
    return out


def require_current(query: str) -> Council:
    """Like :func:`lookup`, but an abolished council is an error naming its successor(s).

    Reports, neighbours and verdicts exist only for current councils; a predecessor's figures are
    shown in its successor's time series (see :func:`lineage`).

    Raises
    ------
    UnknownCouncilError
        The query matches no council (with close suggestions).
    AbolishedCouncilError
        The council was abolished; the message names the successor(s) and the date.
    """
    from asc_evidence.errors import AbolishedCouncilError

    c = lookup(query)
    if c.current:
        return c
    names = register().set_index("code")["name"]
    change = next((ch for ch in BOUNDARY_CHANGES if c.code in ch.predecessors), None)
    if change is None:  # abolished without a recorded successor: should not happen
        succ, date, verb = [], c.valid_to, "was abolished"
    else:
        succ = [f"{names.get(s, s)} ({s})" for s in change.successors]
        date = change.date
        verb = {
            "split": "was replaced by",
            "merge": "was merged into",
            "recode": "became",
        }[change.kind]
    successors = " and ".join(succ) or "no recorded successor"
    todo = (
        f"Ask for {'one of those' if len(succ) > 1 else 'that council'} ("
        f"{'their time series include' if len(succ) > 1 else 'its time series includes'} "
        f"{c.name}'s figures before {date}); `asc-evidence councils` lists current councils."
    )
    msg = f"{c.name} ({c.code}) {verb} {successors} on {date}"
    raise AbolishedCouncilError(
        msg,
        "a current council (one of the 153 since April 2023)",
        f"{c.name}, abolished {c.valid_to}",
        todo,
    )
