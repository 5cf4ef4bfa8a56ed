"""Small things every layer shares, defined once: England's code and the rule for joining flags.

This module imports nothing from :mod:`asc_evidence`, so any module (sources, councils, indicators,
verdicts, demand) can use it without an import cycle.
"""

from __future__ import annotations

import gc

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


def freeze_live_objects(pause: bool = False) -> None:
    """Collect garbage, then leave every object alive now out of later collections (:func:`gc.freeze`).

    For long-running processes that keep what they load: a report kernel (imported modules, loaded
    tables, memoised rows) and the ``data build`` command (each stage's tables). Without it, every
    full collection walks all of them again: measured on the 2-core machine, about 1.2 s of one
    council's 13 s in a report kernel (0.5 to 0.8 s with it), and 1.5 s of the evidence stage
    (0.6 s with it, called after each stage). Collecting first means no garbage is frozen. Frozen
    objects freed later by reference counting are still freed, but a reference cycle among them
    (a matplotlib figure) is kept until the process ends: so call it where nothing short-lived is
    alive, in processes that end (a kernel, a command), never in a library function. Report
    kernels call it at their first section's start and, in ``report --all``, after emptying the
    namespace between two councils (one kernel's memory then stays flat over a chunk of councils;
    freezing at every section's start grew it by about 10 MB a council).

    ``pause``: also turn automatic collection off until the process ends, so garbage waits for the
    next call. For a ``report --all`` kernel, which calls it between two councils: after a freeze
    almost nothing is old, so CPython's rule for full collections fired about three of them in
    each council's report, each walking the council's figures (with the smaller ones, about 6% of
    a council's time on the 2-core machine); paused, a council's reference cycles (about 40 MB)
    wait for the next call, which frees them.
    """
    gc.collect()
    gc.freeze()
    if pause:
        gc.disable()
