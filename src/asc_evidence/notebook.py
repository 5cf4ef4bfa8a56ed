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
from functools import cache

import pandas as pd

from asc_evidence import charts, compare, indicators, verdict
from asc_evidence.build import register_cache
from asc_evidence.common import freeze_live_objects
from asc_evidence.councils import Council, register, require_current

#: Shown under every funnel plot: how to read it, and why the table's comparison may differ.
FUNNEL_NOTE = (
    "The funnel shows every council's value against the size of its population (for delays: "
    "adults x days reported). Limits are drawn on a variance-stabilising scale around England's "
    "value and widened for the normal variation between councils (overdispersion, "
    "Spiegelhalter 2005): a point outside the solid lines differs from England by more than "
    "chance and that variation would produce. The caption names the model. The table's "
    "*Compared with England (Fingertips)* column comes from each council's own 95% and 99.8% "
    "intervals, which leave out the variation between councils and so flag more councils."
)

#: Registry datasets behind each indicator builder (for the sources listed under a section).
BUILDER_DATASETS: dict[str, tuple[str, ...]] = {
    "ascof": ("ascof",),
    "delayed_transfers": ("delayed_transfers",),
    "fee_rates": ("finance_activity",),
    "ascof_survey": ("ascof",),
    "care_home_residents": ("finance_activity",),
    "care_home_share": ("finance_activity",),
}
#: Official page of the ONS population estimates (denominators of rates).
_ONS_ESTIMATES = "populationestimatesforukenglandandwalesscotlandandnorthernireland"


@dataclass(frozen=True)
class Context:
    """The council under study and its comparators.

    ``neighbour_file`` is the user's neighbour list ("" for the model) and ``neighbours_asked``
    the number of neighbours asked for (the file may hold fewer or more).
    """

    council: Council
    neighbours: tuple[str, ...]
    neighbour_source: str
    year: str | None
    neighbour_file: str = ""
    neighbours_asked: int = 15

    @property
    def neighbour_names(self) -> list[str]:
        """Neighbour names in neighbour order (nearest first for our model)."""
        names = register().set_index("code")["name"]
        return [names.get(c, c) for c in self.neighbours]

    def neighbours_table(self) -> pd.DataFrame:
        """Neighbours with ONS code, type and region, for display (indexed by council name).

        The first column is the neighbour's rank by distance (model) or its position in the
        user's file.
        """
        reg = register().set_index("code")
        rows = reg.loc[list(self.neighbours), ["name", "type", "region"]].reset_index(names="code")
        first = "Position in the file" if self.neighbour_file else "Rank (1 = nearest)"
        rows.insert(0, first, range(1, len(rows) + 1))
        rows = rows.rename(
            columns={"name": "Council", "code": "ONS code", "type": "Type", "region": "Region"}
        )
        return rows.set_index("Council")


def inline_figures() -> None:
    """Inside a Jupyter kernel, draw figures inline (papermill kernels do not always default to it)."""
    try:
        from IPython import get_ipython
    except ImportError:  # not in IPython: nothing to do
        return
    shell = get_ipython()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        shell.run_line_magic("matplotlib", "inline")
        # figures as SVG, drawn once and cropped to their content (charts.svg), not as PNG
        shell.display_formatter.formatters["image/png"].pop(charts.plt.Figure, None)
        formatter = shell.display_formatter.formatters["image/svg+xml"]
        formatter.for_type(charts.plt.Figure, charts.svg)


_inline_figures = inline_figures  # the former private name


#: Whether :func:`start` froze this kernel's objects (once: a later section's start would also
#: freeze the previous sections' figures, whose reference cycles would then never be collected;
#: between the councils of ``report --all`` the runner freezes again after emptying the namespace).
_FROZEN: list[bool] = []


def start(council: str, neighbours: int = 15, neighbour_file: str = "", year: str = "") -> Context:
    """Validate the parameters and set deterministic display options; returns the :class:`Context`."""
    inline_figures()
    charts.setup()
    pd.set_option("display.precision", 1)
    pd.set_option("display.max_rows", 60)
    pd.set_option("display.width", 120)
    pd.set_option("display.max_colwidth", None)  # never cut a note off
    c = require_current(council)  # an abolished council names its successors
    nb = verdict.neighbour_set(c.code, int(neighbours), str(neighbour_file or ""))
    source = (
        f"user-supplied list ({neighbour_file})"
        if neighbour_file
        else f"asc-evidence statistical neighbours model ({len(nb)} nearest)"
    )
    if not _FROZEN:  # the kernel keeps its modules and tables: later collections skip them
        freeze_live_objects()
        _FROZEN.append(True)
    return Context(
        council=c,
        neighbours=nb,
        neighbour_source=source,
        year=year or None,
        neighbour_file=str(neighbour_file or ""),
        neighbours_asked=int(neighbours),
    )


def _display(obj) -> None:
    """Show ``obj`` in the notebook (a figure is shown once, then closed)."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    if obj is None:
        return
    display(obj)
    if isinstance(obj, plt.Figure):
        plt.close(obj)


def show(fig) -> None:
    """Show a figure once in the notebook and close it (nothing shown for None)."""
    _display(fig)


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


def table(df: pd.DataFrame) -> None:
    """Show a display table, then its footnotes (``attrs["notes"]``) when it has any."""
    _display(df)
    note = compare.notes_markdown(df)
    if note:
        _markdown(note)


def sources_markdown(keys: tuple[str, ...] | list[str]) -> str:
    """'Sources' line for indicators: each spec's source, then the official pages (registry)
    of the datasets behind them, with links; ONS population estimates for rates."""
    return _sources_html(tuple(keys))


@register_cache
@cache
def _sources_html(keys: tuple[str, ...]) -> str:
    """:func:`sources_markdown`, made once per process for each tuple of indicators (it depends
    on nothing else; a report shows 18 such lines, and ``--all`` the same ones for every council)."""
    import html

    reg = pd.read_csv(_registry()).dropna(subset=["official_page"])
    pages: dict[str, str] = {}
    for key in keys:
        ind = indicators.spec(key)
        for ds in BUILDER_DATASETS.get(ind.builder.__name__, ()):
            rows = reg[reg["dataset"] == ds]
            rows = rows[~rows["publisher"].str.contains("third-party|Oflog|LG Inform|Office for")]
            for r in rows.drop_duplicates("official_page").head(2).itertuples():
                pages.setdefault(str(r.official_page), str(r.publisher))
        if ind.kind == "rate":
            ons = reg[reg["official_page"].str.contains(_ONS_ESTIMATES, regex=False)]
            for r in ons.head(1).itertuples():
                pages.setdefault(str(r.official_page), "Office for National Statistics")
    spec_sources = "; ".join(dict.fromkeys(indicators.spec(k).source for k in keys))
    links = "; ".join(
        f'{html.escape(pub)}: <a href="{html.escape(url)}" style="word-break: break-all">'
        f"{html.escape(url)}</a>"
        for url, pub in pages.items()
    )
    pages_clause = f" Official pages: {links}." if links else ""  # none registered: no empty list
    return f"<small><b>Sources.</b> {html.escape(spec_sources)}.{pages_clause}</small>"


def _registry():
    from importlib import resources

    return resources.files("asc_evidence") / "registry.csv"


def neighbours_note(ctx: Context) -> str:
    """How the neighbours were chosen, from the actual settings (number asked for, model or
    the user's file, how many were found)."""
    n = len(ctx.neighbours)
    if ctx.neighbour_file:
        return (
            f"The {n} neighbours are the user's list ({ctx.neighbour_file}), in the file's order"
            + (
                f"; {ctx.neighbours_asked} were asked for, {n} are in the file"
                if n != ctx.neighbours_asked
                else ""
            )
            + ". They are used as given: no statistical model chose them."
        )
    return (
        f"Neighbours are the {n} councils nearest on a weighted, standardised profile: "
        "population (log), shares aged 65+, 85+ and 18-64, deprivation (IMD 2019 average score), "
        "density (log) and sparsity, owner occupation and routine occupations (Census 2021). The "
        "weights are declared in `asc_evidence.stats.neighbours.DEFAULT_WEIGHTS`. A published "
        "list (CIPFA's, NHS England's or Oflog's) can be given instead with `neighbour_file`."
    )


#: Plain words for the neighbour model's profile variables.
VARIABLE_WORDS = {
    "share_65plus": "share aged 65+",
    "share_85plus": "share aged 85+",
    "imd_average_score": "deprivation (IMD 2019 average score)",
    "owner_occupied_share": "owner occupation",
    "population_2021": "population",
    "share_18_64": "share aged 18-64",
    "density_per_km2": "density",
    "sparsity": "sparsity",
    "nssec_routine_share": "routine occupations",
}


def stability_table(ctx: Context) -> pd.DataFrame:
    """How stable are the model's neighbour sets when the model changes? Plain words of
    :func:`asc_evidence.verdict.stability_summary` for the number of neighbours in use:
    ``Change to the model`` (index), ``Median overlap``, ``Lowest overlap`` (Jaccard, 1 = the
    same set) and ``Councils keeping at least half their neighbours (%)``."""
    n = len(ctx.neighbours) if not ctx.neighbour_file else ctx.neighbours_asked
    t = verdict.stability_summary(max(1, n)).copy()

    def words(variant: str) -> str:
        if variant.startswith("drop "):
            var = variant.removeprefix("drop ")
            return f"leave out {VARIABLE_WORDS.get(var, var.replace('_', ' '))}"
        return variant

    out = pd.DataFrame(
        {
            "Change to the model": t["variant"].map(words),
            "Median overlap": t["median_jaccard"],
            "Lowest overlap": t["min_jaccard"],
            "Councils keeping at least half their neighbours (%)": 100 * t["share_at_least_half"],
        }
    )
    shown = compare.for_display(
        out,
        "Change to the model",
        decimals={"Councils keeping at least half their neighbours (%)": 0, "Median overlap": 2,
                  "Lowest overlap": 2},
    )  # fmt: skip
    shown.attrs["notes"] = [
        f"Overlap: the Jaccard index between each council's {n} model neighbours and its "
        "neighbours under the changed model (shared councils / councils in either set; 1 = the "
        "same set)."
    ]
    return shown


def section(ctx: Context, key: str) -> verdict.Verdict:
    """Show one indicator for the council: everything from its spec, nothing typed in the notebook.

    In order: the heading (``## `` + the spec's heading), the verdict sentence (for ``ctx.year`` if
    published, else the latest year, named), the comparison table and its notes, the funnel plot
    with how to read it (indicators with counts) or the ranked bars of the council and its
    neighbours (prices), the trend chart (one segment per definition), the trend summary and its
    notes, and the sources with links. Returns the :class:`~asc_evidence.verdict.Verdict`.
    """
    ind = indicators.spec(key)
    code = ctx.council.code
    _markdown(f"## {ind.display_heading}")
    period = verdict.period_for(key, code, ctx.year)
    v = verdict.benchmark(key, code, period, ctx.neighbours, requested=ctx.year)
    _markdown("**Verdict.** " + v.sentence)
    table(compare.comparison_table(key, code, ctx.neighbours, period))
    if ind.kind in ("price", "survey"):  # no counts, no funnel: ranked bars
        _display(compare.ranked_figure(v, ctx.neighbours))
    else:
        funnel = compare.funnel_figure(v, ctx.neighbours)
        if funnel is not None:
            _display(funnel)
            _markdown(FUNNEL_NOTE)
    _display(compare.trend_figure(key, code, ctx.neighbours))
    table(compare.trend_summary(key, code, ctx.neighbours, upto=ctx.year))
    _markdown(sources_markdown([key]))
    return v
