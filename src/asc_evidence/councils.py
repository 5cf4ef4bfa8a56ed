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

:func:`to_current_geography` applies this rule (once, in :func:`asc_evidence.indicators.get`); each
row keeps the code of the area it describes (``area_code``) so that one year's comparison counts every
area once (:func:`asc_evidence.indicators.cross_section`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from io import StringIO

import numpy as np
import pandas as pd

from asc_evidence.common import add_flag
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
def register_by_code() -> pd.DataFrame:
    """:func:`register` indexed by ONS code (made once; read it, do not change it)."""
    return register().set_index("code")


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
    return _by_code()[code]


@cache
def _by_code() -> dict[str, Council]:
    """Every council of the register by ONS code (made once: a report looks councils up dozens
    of times)."""
    fields = ("code", "name", "nhs_code", "region", "type", "valid_from", "valid_to")
    rows = register()[list(fields)].itertuples(index=False)
    return {row[0]: Council(**dict(zip(fields, row, strict=True))) for row in rows}


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


#: Geography labels of :func:`to_current_geography` rows.
GEOGRAPHIES = ("current", "recoded", "merged", "predecessor area")

#: Extra numeric columns and how rows of several codes are combined: ``(same area, merged areas)``.
#: Same-area rows are parts of one period (e.g. 9 + 2 months of Buckinghamshire 2019-20 under the old
#: and new code); merged areas cover the same period side by side. Other extra columns take the first.
EXTRA_AGG: dict[str, tuple[str, str]] = {"dispersion": ("max", "max"), "months": ("sum", "max")}

#: Areas whose boundary differs from their predecessors' (Christchurch moved from Dorset County to
#: BCP in 2019): figures carried across these changes are boundary-approximate.
APPROXIMATE_AREAS = {
    "E06000058": "Christchurch was in Dorset County (boundary-approximate)",
    "E10000009": "included Christchurch, now in BCP (boundary-approximate)",
}


def recode_map() -> dict[str, str]:
    """Predecessor code -> successor code for code changes (same area): E10000002 -> E06000060, ..."""
    return {
        p: ch.successors[0]
        for ch in BOUNDARY_CHANGES
        if ch.kind == "recode"
        for p in ch.predecessors
    }


def period_start(period: pd.Series, period_kind: str = "financial_year") -> pd.Series:
    """First day (``YYYY-MM-DD``) of each period: financial year ``2018-19`` -> ``2018-04-01``,
    month ``2018-05`` -> ``2018-05-01``, mid-year ``2018`` -> ``2018-06-30`` (ONS reference date)."""
    p = period.astype(str)
    if period_kind == "financial_year":
        return p.str[:4] + "-04-01"
    if period_kind == "month":
        return p.str[:7] + "-01"
    if period_kind == "year":
        return p.str[:4] + "-06-30"
    msg = f"period_kind must be 'financial_year', 'month' or 'year', not {period_kind!r}"
    raise ValueError(msg)


def _names() -> dict[str, str]:
    return dict(zip(register()["code"], register()["name"], strict=True))


def _join_flags(flags: pd.Series) -> str:
    parts: list[str] = []
    for f in flags.fillna("").astype(str):
        for p in f.split("; "):
            if p and p not in parts:
                parts.append(p)
    return "; ".join(parts)


def to_current_geography(
    df: pd.DataFrame,
    *,
    multiplier: float = 1.0,
    period_kind: str = "financial_year",
    code_col: str = "council_code",
) -> pd.DataFrame:
    """Map one indicator's rows (any codes, any year) onto today's councils, saying how.

    The rule of the module docstring, applied row by row for each period:

    1. **Which area a row describes.** A row whose code did not exist at the start of its period is
       dropped when it has no value (a template row such as ASC-FR's "not submitted" for North
       Northamptonshire in 2020-21, or Northamptonshire in 2021-22); with a value, a successor that is
       its predecessor's only successor (Dorset's code on PSS-EX1 rows before 2019) is relabelled to
       the predecessor, and a successor of a split into several (a back-cast for the new area) is
       dropped, because that year's comparison uses the councils of that year. Recoded councils are one
       area whichever code the source used.
    2. **Same area, several rows** (Buckinghamshire 2019-20: April-December under E10000002, January-
       February under E06000060; Bournemouth's April 2019 return after the merger): summed as below.
    3. **Code change**: the predecessor's rows become the successor's (``geography = 'recoded'``).
    4. **Merger** (Bournemouth + Poole -> BCP): numerators and denominators summed and the value
       recomputed as ``numerator / denominator x multiplier`` (``geography = 'merged'``). This needs
       every predecessor with both counts; otherwise the value is NaN with the reason. Prices are
       combined only where the source gives spend and activity (PSS-EX1: spend / hours, i.e. the
       activity-weighted mean, which is the merged area's unit cost); ASC-FR prices have no counts and
       no merger falls in their years.
    5. **Split**: each successor shows the predecessor's figure for periods before the split
       (``geography = 'predecessor area'``, ``area_code`` = the predecessor), unless it has its own.
       A return under the predecessor's code for a period starting on or after the split (Dorset
       County's April 2019) describes the old area, so it is not added to the successor's own
       figure; the successor's row is flagged that it was left out (not when the return repeats
       the successor's own figure, as the ASCOF series does for Dorset in 2024-25).

    Parameters
    ----------
    df
        Long table with ``council_code, period, numerator, denominator, value, flag`` (``level`` and
        further columns optional and passed through; see :data:`EXTRA_AGG`). Rows whose code is not a
        council of the register (England, regions) pass through unchanged.
    multiplier
        Scale of ``value`` relative to ``numerator / denominator`` (100,000 for rates, 100 for %).
    period_kind
        ``financial_year``, ``month`` or ``year`` (see :func:`period_start`).

    Returns
    -------
    pandas.DataFrame
        One row per current council (and non-council row) and period, with added columns
        ``area_code`` (the area the figure describes: the predecessor for split-inherited rows, the
        council itself otherwise), ``geography`` (one of :data:`GEOGRAPHIES`) and ``source_codes``
        (the codes of the source rows, ``;``-joined). Every boundary row says so in ``flag``.

    Notes
    -----
    Summing assumes the numerator and denominator are additive counts over the area and period
    (delayed days and person-days, admissions and population, service users); a ratio numerator
    (e.g. an average per day) summed over part-years would be wrong. Christchurch's part of Dorset
    County cannot be separated from published figures, so BCP's summed series and Dorset's inherited
    series are both approximate before April 2019 and are flagged as such.
    """
    reg = register().set_index("code")
    names = _names()
    df = df.copy()
    for col in ("numerator", "denominator", "value"):
        if col not in df:
            df[col] = np.nan
    df["flag"] = df["flag"].fillna("").astype(str) if "flag" in df else ""
    df["source_codes"] = df[code_col].astype(str)
    start = period_start(df["period"], period_kind)
    is_council = df[code_col].isin(reg.index)
    if "level" in df:
        is_council &= df["level"].fillna("council") == "council"
    other = df[~is_council].copy()
    df, start = df[is_council].copy(), start[is_council]

    # 1. the area each row describes, as a code valid at the start of its period
    valid_from = df[code_col].map(reg["valid_from"]).fillna("")
    valid_to = df[code_col].map(reg["valid_to"]).fillna("")
    not_yet = (valid_from != "") & (start < valid_from)
    gone = (valid_to != "") & (start > valid_to)
    empty = df["value"].isna()
    recode_succ = {s: ch for ch in BOUNDARY_CHANGES if ch.kind == "recode" for s in ch.successors}
    sole_succ = {
        ch.successors[0]: ch
        for ch in BOUNDARY_CHANGES
        if ch.kind == "split" and len(ch.successors) == 1 and len(ch.predecessors) == 1
    }
    keep = ~((not_yet | gone) & empty)
    keep &= ~(not_yet & ~df[code_col].isin(recode_succ) & ~df[code_col].isin(sole_succ))
    df, start = df[keep].copy(), start[keep]
    not_yet = not_yet[keep]
    relabel = not_yet & df[code_col].isin(sole_succ)
    if relabel.any():
        pred = df.loc[relabel, code_col].map(lambda c: sole_succ[c].predecessors[0])
        df.loc[relabel, "flag"] = add_flag(
            df.loc[relabel, "flag"],
            "boundary: figure for "
            + pred.map(names)
            + " recorded under successor code "
            + df.loc[relabel, code_col],
            pd.Series(True, index=pred.index),
        )
        df.loc[relabel, code_col] = pred
        # a predecessor's own row for the same period wins over the relabelled one
        df = df[~(relabel & df.duplicated([code_col, "period"], keep=False))]
        start = start[df.index]

    # recodes: one area whichever code; flag rows describing the predecessor council
    recode_pred = {p: ch for ch in BOUNDARY_CHANGES if ch.kind == "recode" for p in ch.predecessors}
    df["geography"] = "current"
    for p, ch in recode_pred.items():
        s = ch.successors[0]
        rows = df[code_col].isin([p, s]) & (start < ch.date)
        under_old = rows & (df[code_col] == p)
        under_new = rows & (df[code_col] == s)
        df["flag"] = add_flag(
            df["flag"], f"boundary: recoded, recorded under predecessor code {p}", under_old
        )
        df["flag"] = add_flag(
            df["flag"], f"boundary: recoded, figure for {names[p]} ({p}), same area", under_new
        )
        late = (df[code_col] == p) & (start >= ch.date)
        df["flag"] = add_flag(df["flag"], f"boundary: recorded under predecessor code {p}", late)
        df.loc[rows, "geography"] = "recoded"
        df.loc[df[code_col] == p, code_col] = s

    # 2. several rows for one area and period: sum counts
    df = _combine(df, [code_col, "period"], multiplier, stage=0)

    # 3-4. mergers: predecessors' rows summed into the successor's area
    merged_parts = []
    for ch in (c for c in BOUNDARY_CHANGES if c.kind == "merge"):
        (succ,) = ch.successors
        rows = df[df[code_col].isin([*ch.predecessors, succ])]
        if rows.empty:
            continue
        df = df.drop(rows.index)
        before = period_start(rows["period"], period_kind) < ch.date
        # after the merger, a predecessor's late return (Bournemouth's April 2019) covers only part
        # of the merged area: the successor's own row is kept and says what was left out
        own = set(rows.loc[~before & (rows[code_col] == succ), "period"])
        late = ~before & rows[code_col].isin(ch.predecessors) & rows["period"].isin(own)
        if late.any():
            for period, grp in rows[late].groupby("period"):
                at = ~before & (rows[code_col] == succ) & (rows["period"] == period)
                parts = ", ".join(names[c] for c in sorted(set(grp[code_col])))
                rows.loc[at, "flag"] = add_flag(
                    rows.loc[at, "flag"],
                    f"boundary: returns under the old code(s) of {parts} for part of this period "
                    "left out (they cover only part of the merged area)",
                    pd.Series(True, index=rows.index[at]),
                )
            rows, before = rows[~late], before[~late]
        label = " + ".join(names[p] for p in ch.predecessors)
        note = f"boundary: {label} summed"
        if succ in APPROXIMATE_AREAS:
            note += f"; {APPROXIMATE_AREAS[succ]}"
        out = _combine(rows.assign(**{code_col: succ}), [code_col, "period"], multiplier, stage=1)
        pre = out["period"].isin(rows.loc[before, "period"])
        # a merged figure for a period before the merger needs every predecessor with counts
        have = rows[before & rows["numerator"].notna() & rows["denominator"].notna()]
        complete = have.groupby("period")[code_col].nunique() == len(ch.predecessors)
        ok = out["period"].map(complete).fillna(False).astype(bool)
        missing = pre & ~ok
        out.loc[missing, ["numerator", "denominator", "value"]] = np.nan
        out.loc[missing, "flag"] = add_flag(
            out.loc[missing, "flag"],
            f"boundary: {label} cannot be summed (counts not published for both)",
            pd.Series(True, index=out.index[missing]),
        )
        late = ~pre & out["source_codes"].str.contains("|".join(ch.predecessors))
        out["flag"] = add_flag(out["flag"], note, pre & ~missing)
        out["flag"] = add_flag(
            out["flag"], "boundary: includes returns under predecessor codes " + label, late
        )
        out.loc[pre, "geography"] = "merged"
        merged_parts.append(out)
    df = pd.concat([df, *merged_parts], ignore_index=True)
    df["area_code"] = df[code_col]

    # 5. splits: successors inherit the predecessor's figures before the split
    inherited = []
    for ch in (c for c in BOUNDARY_CHANGES if c.kind == "split"):
        (pred,) = ch.predecessors
        rows = df[df[code_col] == pred]
        df = df.drop(rows.index)
        # after the split, a return under the predecessor's code (Dorset County's April 2019)
        # describes the old area: it is left out where the successor reports for itself, and
        # the successor's own row says so (as a merged council's row does), unless it repeats
        # the successor's own figure (the ASCOF series lists Dorset's 2024-25 under both codes)
        counts = ["numerator", "denominator", "value"]
        late = rows[period_start(rows["period"], period_kind) >= ch.date].set_index("period")
        for succ in ch.successors:
            mine = df[(df[code_col] == succ) & df["period"].isin(late.index)]
            ours = mine[counts].to_numpy(dtype=float)
            theirs = late.loc[mine["period"], counts].to_numpy(dtype=float)
            same = (ours == theirs) | (np.isnan(ours) & np.isnan(theirs))
            at = mine.index[~same.all(axis=1)]
            if len(at):
                df.loc[at, "flag"] = add_flag(
                    df.loc[at, "flag"],
                    f"boundary: a return under the old code of {names[pred]} for this period "
                    "left out (it describes the predecessor area)",
                    pd.Series(True, index=at),
                )
            own = set(df.loc[df[code_col] == succ, "period"])
            moved = rows[~rows["period"].isin(own)].copy()
            moved[code_col] = succ
            moved["geography"] = "predecessor area"
            note = f"boundary: predecessor area ({names[pred]})"
            if pred in APPROXIMATE_AREAS:
                note += f"; {names[pred]} {APPROXIMATE_AREAS[pred]}"
            moved["flag"] = add_flag(moved["flag"], note, pd.Series(True, index=moved.index))
            inherited.append(moved)
    df = pd.concat([df, *inherited], ignore_index=True)
    # a split successor inheriting a predecessor that was itself renamed (none today) is chained
    if df[code_col].isin({p for ch in BOUNDARY_CHANGES for p in ch.predecessors}).any():
        msg = "boundary chain not resolved: a predecessor code remains after mapping"
        raise RuntimeError(msg)
    if "council_name" in df:
        df["council_name"] = df[code_col].map(names)
    other["area_code"] = other[code_col]
    other["geography"] = "current"
    return pd.concat([df, other], ignore_index=True)


def _combine(df: pd.DataFrame, keys: list[str], multiplier: float, stage: int) -> pd.DataFrame:
    """Collapse rows sharing ``keys``: counts summed (NaN unless all rows have them), value
    recomputed; a single row is kept as it is. Extra columns follow :data:`EXTRA_AGG`."""
    dup = df.duplicated(keys, keep=False)
    if not dup.any():
        return df
    single, multi = df[~dup], df[dup]
    g = multi.groupby(keys, sort=False)
    out = g.first()
    counts = ["numerator", "denominator"]
    full = g[counts].apply(lambda x: bool(x.notna().all().all()))
    summed = g[counts].sum(min_count=1)
    out[counts] = summed.where(full, np.nan)
    out["value"] = out["numerator"] / out["denominator"] * multiplier
    out["flag"] = g["flag"].agg(_join_flags)
    if stage == 0:  # a merger says why in its own words
        out["flag"] = add_flag(
            out["flag"], "rows of one area could not be summed (counts not published)", ~full
        )
    out["source_codes"] = g["source_codes"].agg(
        lambda s: ";".join(dict.fromkeys(";".join(s).split(";")))
    )
    if "geography" in out:
        out["geography"] = g["geography"].agg(
            lambda s: "recoded" if "recoded" in set(s) else s.iloc[0]
        )
    for col, how in EXTRA_AGG.items():
        if col in multi:
            out[col] = g[col].agg(how[stage])
    return pd.concat([single, out.reset_index()], ignore_index=True)


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
