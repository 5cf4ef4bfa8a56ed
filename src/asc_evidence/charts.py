"""Charts for the report: every chart has a title, axis labels and a caption naming source and period.

Thin wrappers over seaborn/matplotlib/geopandas so notebooks hold no plotting logic of their own.
Colours: the council in dark orange, its neighbours in blue, England in black.

Importing this module changes no global state: the matplotlib backend is left to the caller
(notebooks draw inline through :func:`asc_evidence.notebook.start`; scripts and tests without a
display set ``MPLBACKEND=Agg``, and matplotlib falls back to Agg itself when there is no display).
"""

from __future__ import annotations

import contextlib
import math
import textwrap
from collections.abc import Iterator

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.text
import matplotlib.ticker
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.backends.backend_svg import RendererSVG

COUNCIL = "#d95f02"
NEIGHBOUR = "#1f78b4"
OTHER = "#b3b3b3"
ENGLAND_COLOUR = "#000000"
LIMITS = "#4d4d4d"  # control limits of funnel plots


def setup() -> None:
    """Deterministic, readable defaults (fixed size and DPI, no timestamps in output)."""
    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams.update(
        {
            "figure.figsize": (9, 5),
            "figure.dpi": 90,
            "savefig.dpi": 90,
            "svg.hashsalt": "asc-evidence",
            "axes.titleweight": "bold",
            # titles at the top of their axes (no chart puts ticks or labels above the axes),
            # instead of measuring every tick label at each drawing to place them
            "axes.titley": 1.0,
        }
    )


#: Average width of a character of the caption font, in ems (DejaVu Sans, mixed text is about
#: 0.5 to 0.55 for mixed text; lines a little longer than the figure are kept whole by the tight bounding box).
CAPTION_EM = 0.54
CAPTION_SIZE = 8


def caption(fig: plt.Figure, source: str, period: str) -> None:
    """Write 'Source: ...  Period: ...' under the axes, wrapped to the figure's width.

    Wrapped with :func:`textwrap.fill` at the number of characters that fit the figure's width
    (:data:`CAPTION_EM`), not by matplotlib's ``wrap=True``, which measures the text again and
    again at every draw (it was a quarter of a report's drawing time). On a figure laid out by
    :func:`margins` the figure is made taller by the caption's lines and the caption sits inside
    it, under the axes (so the figure can be drawn once: :func:`svg`); otherwise just below it.
    """
    width = max(40, int(fig.get_figwidth() * 72 / (CAPTION_SIZE * CAPTION_EM)))
    full = f"Source: {source}. Period: {period}."
    wrapped = textwrap.fill(full, width, break_on_hyphens=False)
    laid_out = getattr(fig, "_asc_margins", None)
    if laid_out is None:
        _wrapped_text(
            fig.text(0.01, -0.02, full, ha="left", va="top", fontsize=CAPTION_SIZE), wrapped
        )
        return
    lines = wrapped.count("\n") + 1
    block = (lines * CAPTION_SIZE * 1.2 + 10) / 72  # inches: the lines and 5 pt above and below
    w, h = fig.get_size_inches()
    fig.set_size_inches(w, h + block)
    margins(fig, **{**laid_out, "bottom": laid_out["bottom"] + block})
    fig._asc_margins = laid_out  # the axes' own margins, without the caption
    y = (block - 5 / 72) / (h + block)
    _wrapped_text(fig.text(0.01, y, full, ha="left", va="top", fontsize=CAPTION_SIZE), wrapped)


class WrappedText(matplotlib.text.Text):
    """A text drawn on the lines it was wrapped to once (``_asc_wrapped``), while ``get_text()``
    stays the whole sentence (matplotlib's ``wrap=True`` re-measures it at every draw)."""

    _asc_wrapped = ""

    def _get_wrapped_text(self) -> str:
        return self._asc_wrapped or self.get_text()


def _wrapped_text(text: matplotlib.text.Text, wrapped: str) -> None:
    text.__class__ = WrappedText  # made by Figure.text, so the figure keeps track of it as usual
    text._asc_wrapped = wrapped


def margins(
    fig: plt.Figure,
    *,
    left: float = 0.9,
    right: float = 0.25,
    top: float = 0.5,
    bottom: float = 0.75,
    gap: float = 0.75,
) -> None:
    """Place the axes grid at fixed margins, in inches (``gap`` between rows of panels), instead
    of measuring every text of the figure as ``tight_layout`` does.

    Call it right after creating the figure (before colour bars are added), and before placing
    labels that must not move. Labels that reach past a margin are not cut: the notebook's
    inline figures are drawn by :func:`svg`, whose crop grows the picture to hold them.
    The captions (:func:`caption`) sit below the figure, so ``bottom`` must hold the tick
    labels and the axis label.
    """
    fig._asc_margins = {"left": left, "right": right, "top": top, "bottom": bottom, "gap": gap}
    w, h = fig.get_size_inches()
    rows = 1
    if fig.axes and hasattr(fig.axes[0], "get_subplotspec") and fig.axes[0].get_subplotspec():
        rows = fig.axes[0].get_subplotspec().get_gridspec().nrows
    kw = {"left": left / w, "right": 1 - right / w, "top": 1 - top / h, "bottom": bottom / h}
    if rows > 1:
        axes_h = (h - top - bottom - (rows - 1) * gap) / rows
        kw["hspace"] = gap / axes_h
    fig.subplots_adjust(**kw)


#: Padding around a figure's content in its picture (matplotlib's ``pad_inches`` default).
PAD_INCHES = 0.1


_text_metrics = getattr(
    matplotlib.text,
    "_get_text_metrics_with_cache",
    lambda renderer, s, prop, ismath, dpi: renderer.get_text_width_height_descent(s, prop, ismath),
)


#: Sizes of the texts measured for SVG figures in this process, by (text, font, math): matplotlib
#: caches text sizes per renderer, and each figure has its own, so the same tick labels, legends and
#: titles were measured again in every figure (a tenth of a report's drawing time). An SVG text is
#: measured from the font alone at 72 dpi, whatever the renderer, so a size holds for every figure.
_SVG_TEXT_SIZES: dict[tuple[str, object, object], tuple[float, float, float]] = {}
_SVG_TEXT_SIZES_MAX = 100_000  # emptied when full (a report measures a few thousand texts)

#: Line heights of the fonts of SVG texts in this process, by font: matplotlib looks the font up
#: and reads its tables again each time it lays a text out (about 3,800 times a report).
_SVG_FONT_HEIGHTS: dict[object, tuple[float, float, float]] = {}


def _font_height_metrics(prop, dpi: float) -> tuple[float, float, float]:
    """Ascent, descent and line gap of the font of ``prop`` at ``dpi``, as matplotlib's
    ``Text._get_layout`` reads them from the font's OS/2 or hhea table (matplotlib 3.11)."""
    from matplotlib.font_manager import fontManager, get_font

    font = get_font(fontManager._find_fonts_by_props(prop))
    for table_name, gap, ascent, descent in (
        ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
        ("hhea", "lineGap", "ascent", "descent"),
    ):
        table = font.get_sfnt_table(table_name)
        if table is None:
            continue
        scale = prop.get_size_in_points() * dpi / 72 / font.get_sfnt_table("head")["unitsPerEm"]
        return table[ascent] * scale, -table[descent] * scale, table[gap] * scale
    return None, None, None  # matplotlib then measures "lp"


class _RecordingSVG(RendererSVG):
    """matplotlib's SVG renderer, keeping the box of every text it draws (SVG units: points
    from the top left, as the renderer is given them), with text sizes and font heights shared
    by every figure (:data:`_SVG_TEXT_SIZES`, :data:`_SVG_FONT_HEIGHTS`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.text_boxes: list[tuple[float, float, float, float]] = []
        self.outer = self  # the renderer texts are laid out with (whose metrics are cached)

    def get_text_width_height_descent(self, s, prop, ismath) -> tuple[float, float, float]:
        prop = prop.copy()  # font properties are mutable: the key keeps the ones measured
        key = (s, prop, ismath)
        size = _SVG_TEXT_SIZES.get(key)
        if size is None:
            if len(_SVG_TEXT_SIZES) >= _SVG_TEXT_SIZES_MAX:
                _SVG_TEXT_SIZES.clear()
            size = _SVG_TEXT_SIZES[key] = super().get_text_width_height_descent(s, prop, ismath)
        return size

    def _get_font_height_metrics(self, prop) -> tuple[float, float, float]:
        # matplotlib's hook for a backend's own font heights (``Text._get_layout``); an SVG
        # figure is laid out at 72 dpi (:func:`svg`)
        key = prop.copy()  # font properties are mutable: the key keeps the ones measured
        heights = _SVG_FONT_HEIGHTS.get(key)
        if heights is None:
            heights = _SVG_FONT_HEIGHTS[key] = _font_height_metrics(key, 72)
        return heights

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None) -> None:
        # (x, y) is where the line's baseline starts, with y running down (the renderer flips
        # y); the text is turned by ``angle`` anticlockwise about that point. The line's size
        # was measured when the text was laid out: matplotlib's cache of it is used.
        w, h, d = _text_metrics(self.outer, s, prop, ismath, 72)
        a = math.radians(angle)
        cos, sin = math.cos(a), math.sin(a)
        corners = ((0.0, -d), (w, -d), (w, h - d), (0.0, h - d))  # before turning
        xs = [x + cx * cos - cy * sin for cx, cy in corners]
        ys = [y - (cx * sin + cy * cos) for cx, cy in corners]
        self.text_boxes.append((min(xs), min(ys), max(xs), max(ys)))
        super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)


class PlainLogFormatter(matplotlib.ticker.LogFormatter):
    """Log-axis labels as plain numbers with thousands separators ("100", "1,000", "50,000"),
    on the ticks matplotlib's default labels, instead of powers of ten ("10³"): plainer for a
    reader, and no mathtext to parse at each drawing."""

    def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
        return f"{x:,.0f}" if x >= 1 else f"{x:g}"


#: The sides a tick mark can be drawn on (keys of ``Axis.get_tick_params``).
MARK_SIDES = ("bottom", "top", "left", "right")


class ShownLogMinorLocator(matplotlib.ticker.LogLocator):
    """A log axis's minor ticks (as matplotlib's ``LogLocator(subs="auto")``), leaving out those
    that would draw nothing.

    With the package's style (:func:`setup`: seaborn's whitegrid, no tick marks, grid lines at
    major ticks only), a minor tick shows only its label, and the minor formatter labels none
    when the axis spans more than a decade (matplotlib's ``LogFormatter.minor_thresholds``). A
    funnel spans two to four decades, so its 20-80 minor ticks were each built, laid out and
    drawn as empty groups: a quarter of a report's ticks. A tick is left out only when its mark
    and grid line are off and its label is empty, so the drawing is unchanged (the SVG loses only
    empty ``<g>`` elements); with marks or a minor grid turned on, every tick is kept.
    """

    def __init__(self) -> None:
        super().__init__(subs="auto")

    def __call__(self):
        locs = super().__call__()
        axis = self.axis
        if axis is None or not len(locs):
            return locs
        params = axis.get_tick_params(which="minor")
        if params.get("gridOn") or any(params.get(side) for side in MARK_SIDES):
            return locs
        formatter = axis.get_minor_formatter()
        formatter.set_locs(locs)
        return np.asarray([x for x in locs if formatter(x)], dtype=float)


def log_x(ax: plt.Axes) -> None:
    """A logarithmic x axis labelled in plain numbers (:class:`PlainLogFormatter`); minor ticks
    only where they show (:class:`ShownLogMinorLocator`)."""
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(PlainLogFormatter())
    ax.xaxis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))
    ax.xaxis.set_minor_locator(ShownLogMinorLocator())


def svg(fig: plt.Figure) -> str | None:
    """The figure as SVG, drawn once and cropped to its content (the notebook's inline figures).

    Text is written as SVG text (``svg.fonttype: none``), not as glyph outlines or pixels: a
    third of the time of a PNG (glyphs are most of a chart's drawing time), a third of the size,
    sharp at any zoom and in print. Fonts are named as matplotlib names them (DejaVu Sans, then
    Verdana, Arial, Helvetica, any sans-serif); DejaVu Sans is among the widest of these, so a
    viewer without it shows narrower text in the space laid out for it, never cut.

    The picture is cropped, as the inline backend's ``bbox_inches="tight"`` does, to the box
    around the axes, every text drawn and the legends, with :data:`PAD_INCHES` around it: the
    boxes are those of the drawing just made (no second drawing), and content reaching past the
    figure's edge (a long title) widens the box, so nothing is cut off. It is shown at the size
    of the figure at its dpi (as the PNG was). Deterministic (``svg.hashsalt``, no date).
    Returns None for an empty figure, as IPython does.
    """
    import io
    import re

    from matplotlib.backends.backend_mixed import MixedModeRenderer

    if not fig.axes and not fig.lines:
        return None
    out = io.StringIO()
    dpi = fig.dpi
    width, height = fig.get_size_inches()
    try:
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "asc-evidence"}):
            fig.dpi = 72  # SVG units are points, as matplotlib's own print_svg
            base = _RecordingSVG(width * 72, height * 72, out, image_dpi=dpi,
                                 metadata={"Date": None})  # fmt: skip
            renderer = MixedModeRenderer(fig, width, height, dpi, base)
            base.outer = renderer
            fig.draw(renderer)
            top_of = height * 72  # display y (up from the bottom) to SVG y (down from the top)
            boxed = [ax for ax in fig.axes if ax.get_visible()]
            boxes = [ax.bbox for ax in boxed]
            legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes)]
            drawn = [g for g in legends if g and g.get_visible() and g.axes in (None, *boxed)]
            boxes += [g.legendPatch.get_bbox() for g in drawn]  # as drawn: not placed again
            edges = [(b.x0, top_of - b.y1, b.x1, top_of - b.y0) for b in boxes]
            edges += base.text_boxes
            renderer.finalize()
    finally:
        fig.dpi = dpi
    e = np.array([b for b in edges if np.isfinite(b).all()])
    pad = PAD_INCHES * 72
    x0, top = e[:, 0].min() - pad, e[:, 1].min() - pad
    w, h = e[:, 2].max() + pad - x0, e[:, 3].max() + pad - top
    text = out.getvalue()
    text = text[text.index("<svg") :]
    return re.sub(
        r'width="[\d.]+pt" height="[\d.]+pt" viewBox="[^"]*"',
        f'width="{w * dpi / 72:.1f}" height="{h * dpi / 72:.1f}" '
        f'viewBox="{x0:.2f} {top:.2f} {w:.2f} {h:.2f}" '
        f'style="background-color: {matplotlib.colors.to_hex(fig.get_facecolor())}"',
        text,
        count=1,
    )


#: Longest line of a ranked-bar title (12 pt bold centred over the bars of a 9-inch figure).
RANKED_TITLE_CHARS = 62


def ranked_bars(
    df: pd.DataFrame,
    *,
    council: str,
    neighbours: list[str],
    title: str,
    xlabel: str,
    source: str,
    period: str,
    england: float | None = None,
    value: str = "value",
) -> plt.Figure:
    """Horizontal bars of the council and its neighbours (sorted), England as a vertical line.

    A title longer than :data:`RANKED_TITLE_CHARS` is wrapped onto more lines (centred over the
    bars, a longer line would reach past the figure's edge).
    """
    sub = (
        df[df["council_code"].isin([council, *neighbours])]
        .dropna(subset=[value])
        .sort_values(value)
    )
    colours = [COUNCIL if c == council else NEIGHBOUR for c in sub["council_code"]]
    title = textwrap.fill(title, RANKED_TITLE_CHARS, break_on_hyphens=False)
    fig, ax = plt.subplots(figsize=(9, max(3.0, 0.32 * len(sub) + 1.2)))
    margins(fig, left=2.7, top=0.45 + 0.22 * title.count("\n"), bottom=0.7)
    ax.barh(sub["council_name"], sub[value], color=colours)
    if england is not None and pd.notna(england):
        ax.axvline(england, color=ENGLAND_COLOUR, ls="--", lw=1.2, label=f"England {england:,.1f}")
        ax.legend(loc="lower right")
    ax.set(title=title, xlabel=xlabel, ylabel="")
    caption(fig, source, period)
    return fig


def trend_lines(
    series: pd.DataFrame,
    *,
    title: str,
    ylabel: str,
    source: str,
    period: str,
    x: str = "period",
    y: str = "value",
    hue: str = "series",
    segment: str = "segment",
    definition: str = "definition",
    colours: dict[str, str] | None = None,
) -> plt.Figure:
    """One line per series (e.g. council, neighbours' median, England) over periods.

    A line is never drawn across a change of ``segment`` (a definition, or for the council the area
    its figure describes): each is its own line. A change of ``definition`` is marked with a dotted
    vertical line and labelled; figures for another area (a predecessor) are drawn with hollow
    markers and a dashed line, named in the legend. ``colours`` fixes the colour of named series
    (e.g. the council in :data:`COUNCIL`, as in the other charts); others take the palette.
    """
    fig, ax = plt.subplots()
    margins(fig, left=1.0, top=0.45, bottom=1.0)
    periods = sorted(series[x].astype(str).unique())
    pos = {p: i for i, p in enumerate(periods)}
    palette = {
        name: c
        for name, c in zip(
            sorted(series[hue].unique()), sns.color_palette("Dark2", 8), strict=False
        )
    }
    seg_col = segment if segment in series else definition if definition in series else None
    for name, grp in series.groupby(hue, sort=True):
        colour = (colours or {}).get(name) or (
            ENGLAND_COLOUR if name == "England" else palette[name]
        )
        groups = grp.groupby(seg_col, sort=False) if seg_col else [("", grp)]
        labelled: set[str] = set()
        for label, part in groups:
            part = part.sort_values(x)
            other_area = "; figures for " in str(label) or "; predecessors summed" in str(label)
            legend = f"{name}: {str(label).split('; ', 1)[1]}" if other_area else name
            ax.plot(
                [pos[p] for p in part[x].astype(str)],
                part[y],
                marker="o",
                markerfacecolor="white" if other_area else colour,
                linestyle="--" if other_area else "-",
                label=legend if legend not in labelled else None,
                color=colour,
            )
            labelled.add(legend)
    if definition in series and series[definition].nunique() > 1:
        first = series.groupby(definition)[x].min().astype(str).sort_values()
        for label, start in list(first.items())[1:]:
            if start == periods[0]:
                continue
            at = pos[start] - 0.5
            ax.axvline(at, color="grey", linestyle=":", linewidth=1.2)
            ax.text(at + 0.05, 0.98, f"new definition: {label}", transform=ax.get_xaxis_transform(),
                    rotation=90, fontsize=7, va="top", ha="left", color="dimgrey")  # fmt: skip
    ax.set_xticks(range(len(periods)))
    ax.set_xticklabels(periods, rotation=45)
    ax.set(title=title, xlabel="Financial year", ylabel=ylabel)
    ax.legend()
    caption(fig, source, period)
    return fig


@contextlib.contextmanager
def no_idle_draw(fig: plt.Figure) -> Iterator[None]:
    """Within the block, ``fig.canvas.draw_idle()`` does nothing.

    geopandas ends every ``plot`` call with ``draw_idle()``, and on a canvas that is not on a
    screen (Agg, and the notebook's inline backend) matplotlib's ``draw_idle`` draws the whole
    figure at once: two raster drawings of every polygon of a map, thrown away, as the figure is
    drawn later (as SVG in the notebooks, :func:`svg`; or saved). A quarter of a report's map
    time; the figure drawn afterwards is the same.
    """
    canvas = fig.canvas
    canvas.draw_idle = lambda *args, **kwargs: None  # this canvas only, until the block ends
    try:
        yield
    finally:
        del canvas.draw_idle  # the class's method again


def choropleth(
    gdf,
    column: str,
    *,
    title: str,
    legend_label: str,
    source: str,
    period: str,
    highlight=None,
    cmap: str = "viridis",
) -> plt.Figure:
    """Map of ``column`` with an optional highlighted outline (e.g. the council)."""
    fig, ax = plt.subplots(figsize=(8, 8))
    margins(fig, left=0.2, right=0.2, top=0.5, bottom=0.2)
    with no_idle_draw(fig):
        gdf.plot(
            column=column,
            ax=ax,
            cmap=cmap,
            legend=True,
            linewidth=0.2,
            edgecolor="white",
            legend_kwds={"label": legend_label, "shrink": 0.6},
            missing_kwds={"color": "lightgrey"},
        )
        if highlight is not None:
            highlight.boundary.plot(ax=ax, color=COUNCIL, linewidth=1.5)
    ax.set_axis_off()
    ax.set_title(title)
    caption(fig, source, period)
    return fig


#: Offsets (points) tried around a point, nearest first; far ones get a leader line.
_OFFSETS = [
    (dx * r, dy * r)
    for r in (5, 14, 28)
    for dx, dy in ((1, 1), (1, -1), (-1, 1), (-1, -1), (1.4, 0), (-1.4, 0), (0, 1.4), (0, -1.4))
]


def place_labels(
    ax,
    x,
    y,
    texts: list[str],
    *,
    colours: list[str] | None = None,
    avoid: tuple | None = None,
    fontsize: float = 7.5,
) -> list:
    """Label points without overlap: a greedy placement, in the order given (put the most
    important label first).

    Each label tries offsets around its point (:data:`_OFFSETS`, nearest first) and takes the
    first whose box lies inside the axes and overlaps no label already placed and no labelled
    point; among those at the same distance it takes the one covering fewest of the ``avoid``
    points (x and y arrays, e.g. every point of the plot). Labels placed away from their point
    get a thin leader line. A label that fits nowhere is left out, so call this last (after
    :func:`margins`: the layout must not change afterwards). Returns the placed annotations.
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    to_px = ax.transData.transform
    pts = to_px(np.column_stack([np.asarray(x, float), np.asarray(y, float)])) if len(texts) else []
    others = (
        to_px(np.column_stack([np.asarray(avoid[0], float), np.asarray(avoid[1], float)]))
        if avoid is not None and len(avoid[0])
        else np.empty((0, 2))
    )
    frame = ax.get_window_extent(renderer)
    marker = [(px - 4, py - 4, px + 4, py + 4) for px, py in pts]
    placed_boxes: list[tuple[float, float, float, float]] = []
    placed = []

    def overlaps(a, b) -> bool:
        return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])

    for i, text in enumerate(texts):
        if not np.all(np.isfinite(pts[i])):
            continue
        best = None
        for k, (dx, dy) in enumerate(_OFFSETS):
            if best is not None and (best[1] == 0 or k // 8 > best[0]):
                break  # a free spot was found, or the nearest ring with a spot is done
            ann = ax.annotate(
                text,
                (x[i], y[i]),
                xytext=(dx, dy),
                textcoords="offset points",
                fontsize=fontsize,
                color=(colours or ["black"] * len(texts))[i],
                ha="left" if dx > 0 else "right" if dx < 0 else "center",
                va="bottom" if dy > 0 else "top" if dy < 0 else "center",
                arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "grey"} if k >= 8 else None,
            )
            bb = ann.get_window_extent(renderer)
            box = (bb.x0 - 1, bb.y0 - 1, bb.x1 + 1, bb.y1 + 1)
            inside = (
                box[0] >= frame.x0
                and box[2] <= frame.x1
                and box[1] >= frame.y0
                and box[3] <= frame.y1
            )
            clash = any(overlaps(box, b) for b in placed_boxes) or any(
                overlaps(box, m) for j, m in enumerate(marker) if j != i
            )
            if not inside or clash:
                ann.remove()
                continue
            covered = int(
                np.count_nonzero(
                    (others[:, 0] >= box[0]) & (others[:, 0] <= box[2])
                    & (others[:, 1] >= box[1]) & (others[:, 1] <= box[3])
                )
            )  # fmt: skip
            ring = k // 8
            if best is None or (ring == best[0] and covered < best[1]):
                if best is not None:
                    best[3].remove()
                best = (ring, covered, box, ann)
            else:
                ann.remove()
        if best is not None:
            placed_boxes.append(best[2])
            placed.append(best[3])
    return placed
