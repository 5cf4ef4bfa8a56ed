"""What every notebook does: resolve the council and its neighbours, then show each indicator.

Notebooks call :func:`start` right after their ``parameters`` cell, so the parameters (council name
or code, number of neighbours, optional neighbour file) are validated once, in the package; then
:func:`header`, and :func:`section` for each indicator of their question::

    for key in indicators.keys_for("fee_rates"):
        notebook.section(ctx, key)

Everything :func:`section` shows (headings, sentences, captions, sources) comes from the
indicator's spec (:data:`asc_evidence.indicators.INDICATORS`), so notebooks type no source text.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from asc_evidence import charts, compare, indicators, verdict
from asc_evidence.councils import Council, register, require_current

#: Shown under every funnel plot: how to read it, and why the table's comparison may differ.
FUNNEL_NOTE = (
    "The funnel shows every council's value against the size of its population (for delays: "
    "adults x days reported). Limits are drawn on a variance-stabilising scale around England's "
    "value; the orange lines are widened for the normal variation between councils "
    "(overdispersion, Spiegelhalter 2005): a point outside them differs from England by more than "
    "chance and that variation would produce. The caption names the model. The table's "
    "*compared with England* column is the Fingertips comparison from each council's own 95% and "
    "99.8% intervals, which leaves out the variation between councils and so flags more councils."
)


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
    _inline_figures()
    charts.setup()
    pd.set_option("display.precision", 1)
    pd.set_option("display.max_rows", 60)
    pd.set_option("display.width", 120)
    pd.set_option("display.max_colwidth", 90)
    c = require_current(council)  # an abolished council names its successors
    nb = verdict.neighbour_set(c.code, int(neighbours), str(neighbour_file or ""))
    source = (
        f"user-supplied list ({neighbour_file})"
        if neighbour_file
        else f"asc-evidence statistical neighbours model ({int(neighbours)} nearest)"
    )
    return Context(council=c, neighbours=nb, neighbour_source=source, year=year or None)


def _display(obj) -> None:
    """Show ``obj`` in the notebook (a figure is shown once, then closed)."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    if obj is None:
        return
    display(obj)
    if isinstance(obj, plt.Figure):
        plt.close(obj)


def _markdown(text: str) -> None:
    from IPython.display import Markdown

    _display(Markdown(text))


def header(ctx: Context) -> None:
    """The council's name as a heading, its code and region, and its neighbours."""
    c = ctx.council
    _markdown(f"## {c.name}")
    _markdown(
        f"**Council:** {c.name} ({c.code}), {c.region}. **Neighbours:** {ctx.neighbour_source}: "
        f"{', '.join(ctx.neighbour_names)}."
    )


def section(ctx: Context, key: str) -> verdict.Verdict:
    """Show one indicator for the council: everything from its spec, nothing typed in the notebook.

    In order: the heading (``## `` + the spec's heading), the verdict sentence (for ``ctx.year`` if
    published, else the latest year, named), the comparison table, the funnel plot with how to read
    it (indicators with counts) or the ranked bars of the council and its neighbours (prices), the
    trend chart (one segment per definition) and the trend summary. Returns the
    :class:`~asc_evidence.verdict.Verdict`.
    """
    ind = indicators.spec(key)
    code = ctx.council.code
    _markdown(f"## {ind.display_heading}")
    period = verdict.period_for(key, code, ctx.year)
    v = verdict.benchmark(key, code, period, ctx.neighbours, requested=ctx.year)
    _markdown("**Verdict.** " + v.sentence)
    _display(compare.comparison_table(key, code, ctx.neighbours, period))
    if ind.kind == "price":
        _display(compare.ranked_figure(v, ctx.neighbours))
    else:
        funnel = compare.funnel_figure(v, ctx.neighbours)
        if funnel is not None:
            _display(funnel)
            _markdown(FUNNEL_NOTE)
    _display(compare.trend_figure(key, code, ctx.neighbours))
    _display(compare.trend_summary(key, code, ctx.neighbours, upto=ctx.year))
    return v
