"""Charts for the report: every chart has a title, axis labels and a caption naming source and period.

Thin wrappers over seaborn/matplotlib/geopandas so notebooks hold no plotting logic of their own.
Colours: the council in dark orange, its neighbours in blue, England in black.

Importing this module changes no global state: the matplotlib backend is left to the caller
(notebooks draw inline through :func:`asc_evidence.notebook.start`; scripts and tests without a
display set ``MPLBACKEND=Agg``, and matplotlib falls back to Agg itself when there is no display).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

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
        }
    )


def caption(fig: plt.Figure, source: str, period: str) -> None:
    """Write 'Source: ...  Period: ...' under the axes."""
    fig.text(
        0.01,
        -0.02,
        f"Source: {source}. Period: {period}.",
        ha="left",
        va="top",
        fontsize=8,
        wrap=True,
    )


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
    """Horizontal bars of the council and its neighbours (sorted), England as a vertical line."""
    sub = (
        df[df["council_code"].isin([council, *neighbours])]
        .dropna(subset=[value])
        .sort_values(value)
    )
    colours = [COUNCIL if c == council else NEIGHBOUR for c in sub["council_code"]]
    fig, ax = plt.subplots(figsize=(9, max(3.0, 0.32 * len(sub) + 1.2)))
    ax.barh(sub["council_name"], sub[value], color=colours)
    if england is not None and pd.notna(england):
        ax.axvline(england, color=ENGLAND_COLOUR, ls="--", lw=1.2, label=f"England {england:,.1f}")
        ax.legend(loc="lower right")
    ax.set(title=title, xlabel=xlabel, ylabel="")
    caption(fig, source, period)
    fig.tight_layout()
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
                part[x].astype(str).map(pos),
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
    fig.tight_layout()
    return fig


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
    fig.tight_layout()
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
    ``tight_layout``: the layout must not change afterwards). Returns the placed annotations.
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
