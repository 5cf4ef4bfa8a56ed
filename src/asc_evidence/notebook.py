"""What every notebook does first: resolve the council, its neighbours and the display settings.

Notebooks call :func:`start` right after their ``parameters`` cell, so the parameters (council name
or code, number of neighbours, optional neighbour file) are validated once, in the package.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from asc_evidence import charts
from asc_evidence.councils import Council, register, require_current


@dataclass(frozen=True)
class Context:
    """The council under study and its comparators."""

    council: Council
    neighbours: tuple[str, ...]
    neighbour_source: str
    year: str | None

    @property
    def neighbour_names(self) -> list[str]:
        """Neighbour names in neighbour order (nearest first for our model)."""
        names = register().set_index("code")["name"]
        return [names.get(c, c) for c in self.neighbours]

    def neighbours_table(self) -> pd.DataFrame:
        """Neighbours with region and type, for display."""
        reg = register().set_index("code")
        rows = reg.loc[list(self.neighbours), ["name", "type", "region"]].reset_index(names="code")
        rows.insert(0, "rank", range(1, len(rows) + 1))
        return rows.set_index("rank")


def _inline_figures() -> None:
    """Inside a Jupyter kernel, draw figures inline (papermill kernels do not always default to it)."""
    try:
        from IPython import get_ipython
    except ImportError:  # not in IPython: nothing to do
        return
    shell = get_ipython()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        shell.run_line_magic("matplotlib", "inline")


def start(council: str, neighbours: int = 15, neighbour_file: str = "", year: str = "") -> Context:
    """Validate the parameters and set deterministic display options; returns the :class:`Context`."""
    from asc_evidence.verdict import neighbour_set

    _inline_figures()
    charts.setup()
    pd.set_option("display.precision", 1)
    pd.set_option("display.max_rows", 60)
    pd.set_option("display.width", 120)
    pd.set_option("display.max_colwidth", 90)
    c = require_current(council)  # an abolished council names its successors
    nb = neighbour_set(c.code, int(neighbours), str(neighbour_file or ""))
    source = (
        f"user-supplied list ({neighbour_file})"
        if neighbour_file
        else f"asc-evidence statistical neighbours model ({int(neighbours)} nearest)"
    )
    return Context(council=c, neighbours=nb, neighbour_source=source, year=year or None)
