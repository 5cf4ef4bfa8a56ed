"""Small things every layer shares, defined once: England's code and the rule for joining flags.

This module imports nothing from :mod:`asc_evidence`, so any module (sources, councils, indicators,
verdicts, demand) can use it without an import cycle.
"""

from __future__ import annotations

import pandas as pd

#: ONS GSS code of England (the comparator row of every indicator table).
ENGLAND = "E92000001"
#: Separator between notes in a ``flag`` cell.
FLAG_SEP = "; "


def add_flag(flag: pd.Series, note: str | pd.Series, where: pd.Series | bool = True) -> pd.Series:
    """Append ``note`` to ``flag`` where ``where`` holds, joining notes with ``"; "``.

    Vectorised over rows: ``note`` is one string or a Series aligned with ``flag``; an empty flag
    takes the note alone (no leading separator). Rows where ``where`` is False are unchanged.

    Examples
    --------
    >>> add_flag(pd.Series(["", "a"]), "b").tolist()
    ['b', 'a; b']
    """
    mask = pd.Series(where, index=flag.index).astype(bool)
    if not mask.any():  # nothing to add (e.g. a boundary change that touches no row)
        return flag
    add = pd.Series(note, index=flag.index) if isinstance(note, str) else note
    joined = flag.where(flag == "", flag + FLAG_SEP) + add
    return flag.where(~mask, joined)
