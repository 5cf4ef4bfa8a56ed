"""The one-page profile at the top of a council's report, in the idiom of OHID Fingertips.

For each headline indicator (:data:`asc_evidence.indicators.HEADLINE`) one row: value, period,
England, the council's neighbours taken together, a coloured comparison with England, the recent
trend marker, and a small *spine chart* (Fingertips' layout): England as the centre line; bars
from the worst (or lowest) council to the 25th percentile, the middle half (25th to 75th) and the
75th percentile to the best (or highest), over all councils in England in that period, flipped so
that "worse" is always on the left when low is good; the scale symmetric about England; the
council a circle in its comparison colour, each neighbour a thin tick and the neighbours taken
together a diamond. Above the table three lines in words; below it a key. Everything is inline
HTML and SVG (no external assets), colour-vision safe
(:data:`asc_evidence.stats.comparison.COLOURS_CVD_SAFE`, Okabe-Ito), and deterministic (no dates,
rounded numbers, fixed order), so stored notebook outputs compare equal.

Comparison colours
------------------
* Indicators with counts and a polarity: the Fingertips comparison of England's value with the
  council's own 95% and 99.8% intervals (:attr:`asc_evidence.verdict.Verdict.fingertips`):
  better / similar / worse; "not compared" when no interval can be made.
* Indicators with no judgement of good or bad and an interval: Fingertips' "lower" / "similar" /
  "higher".
* Prices (fee rates: no sampling error, no test): placed by **quartile of all councils in
  England** in the same period, with no judgement: lowest quarter, middle half, highest quarter
  (the same quartiles as the spine's bars). Quartiles are pandas' linear-interpolation quantiles.

Assumptions and weaknesses: the spine's quartiles and range are over council areas with a figure
in the period (each area once: :func:`asc_evidence.indicators.cross_section`), not weighted by
population; the Fingertips comparison ignores the variation between councils, so the comparison
cell also names the funnel's verdict (:func:`asc_evidence.compare.funnel_words`), which allows
for it.

References: OHID Fingertips (ukhsa-collaboration/fingertips-open; the PHOF "Further information"
page, "Spine chart" and "Recent trend markers"); Okabe and Ito (2008).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from asc_evidence import compare, indicators, verdict
from asc_evidence.indicators import INDICATORS
from asc_evidence.stats.comparison import COLOURS_CVD_SAFE

#: Quartile categories of prices (no judgement), lowest first.
QUARTILE_WORDS = ("lowest quarter", "middle half", "highest quarter")
#: Colour of every category the profile can show (Okabe-Ito for the comparisons).
PALETTE: dict[str, str] = {
    **COLOURS_CVD_SAFE,
    "lowest quarter": COLOURS_CVD_SAFE["lower"],
    "middle half": "#FFFFFF",
    "highest quarter": COLOURS_CVD_SAFE["higher"],
    "no figure": "#FFFFFF",
}
#: Spine bars: the tails (worst to 25th, 75th to best) and the middle half.
SPINE_TAIL = "#D9D9D9"
SPINE_MIDDLE = "#8C8C8C"
NEIGHBOUR_TICK = "#1F4E79"
#: Trend arrows: colour by what the marker says.
TREND_NEUTRAL = "#4D4D4D"
TREND_NONE = "#9E9E9E"
SPINE_WIDTH, SPINE_HEIGHT, SPINE_MARGIN = 170, 24, 8


@dataclass(frozen=True)
class ProfileRow:
    """One indicator of the profile: the verdict, the spread of councils and the trend."""

    verdict: verdict.Verdict
    category: (
        str  # key of PALETTE: better/similar/worse/lower/higher/not compared/quartile/no figure
    )
    comparison: str  # the words in the comparison cell, e.g. "Worse (99.8%)"
    funnel: str  # compare.funnel_words(v), or "" for prices
    trend_marker: str
    trend_direction: str | None
    councils: np.ndarray  # values of every council area in the period (for the spine)
    neighbour_values: np.ndarray
    trend_indicative: bool = False  # a significant trend on approximated counts or populations

    @property
    def indicator(self):
        """The indicator's spec."""
        return INDICATORS[self.verdict.indicator]

    @property
    def colour(self) -> str:
        """Fill colour of the council's circle and comparison cell."""
        return PALETTE[self.category]

    @property
    def quartiles(self) -> tuple[float, float, float, float]:
        """Lowest, 25th percentile, 75th percentile, highest of the councils' values."""
        c = self.councils
        if c.size == 0:
            return (np.nan,) * 4
        q1, q3 = np.quantile(c, [0.25, 0.75])
        return float(c.min()), float(q1), float(q3), float(c.max())


# ---------------------------------------------------------------------------------------------
# numbers


def short_title(key: str) -> str:
    """The indicator's title without a trailing code in brackets, e.g. "(ASCOF 2A(2))"."""
    title = INDICATORS[key].title
    return re.sub(r"\s*\((ASCOF|PSS)[^()]*(\([^()]*\))?[^()]*\)$", "", title)


def council_values(key: str, period: str) -> pd.Series:
    """Every council area's value of ``key`` in ``period`` (each area once), indexed by area."""
    rows = indicators.cross_section(key, period)
    rows = rows[rows["area_code"].str.match(r"^E(06|08|09|10)") & rows["value"].notna()]
    return rows.set_index("area_code")["value"].astype(float)


def quartile_category(value: float, values: np.ndarray | pd.Series) -> str:
    """'lowest quarter' (below the 25th percentile), 'highest quarter' (above the 75th) or
    'middle half' (between, inclusive) of ``values``; 'no figure' for a missing value."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not np.isfinite(value) or v.size == 0:
        return "no figure"
    q1, q3 = np.quantile(v, [0.25, 0.75])
    return "lowest quarter" if value < q1 else "highest quarter" if value > q3 else "middle half"


def category(v: verdict.Verdict, values: np.ndarray | pd.Series | None = None) -> str:
    """The profile's colour category for a verdict (see the module notes).

    Prices: :func:`quartile_category` among ``values`` (every council's value that period;
    default :func:`council_values`). Others: the Fingertips comparison's word, lower-cased
    ("Worse (99.8%)" -> "worse").
    """
    if not np.isfinite(v.value):
        return "no figure"
    if INDICATORS[v.indicator].kind == "price":
        if values is None:
            values = council_values(v.indicator, v.period)
        return quartile_category(v.value, values)
    return re.sub(r"\s*\(.*\)$", "", v.fingertips).lower()


def build_rows(
    verdicts: list[verdict.Verdict], neighbours: tuple[str, ...], council: str | None = None
) -> list[ProfileRow]:
    """A :class:`ProfileRow` per verdict: category, spine data and the recent trend up to the
    verdict's period (:func:`asc_evidence.compare.recent_trend`)."""
    out = []
    for v in verdicts:
        values = council_values(v.indicator, v.period)
        nb_areas = [
            a for a in verdict.areas_of(v.indicator, neighbours, v.period) if a != v.area_code
        ]
        cat = category(v, values)
        price = INDICATORS[v.indicator].kind == "price"
        if price:
            words = f"{cat[:1].upper()}{cat[1:]} of councils" if cat != "no figure" else "No figure"
        else:
            words = v.fingertips if np.isfinite(v.value) else "No figure"
        trend = compare.recent_trend(v.indicator, council or v.council_code, upto=v.period)
        out.append(
            ProfileRow(
                verdict=v,
                category=cat,
                comparison=words,
                funnel="" if price else compare.funnel_words(v),
                trend_marker=trend.marker,
                trend_direction=trend.direction,
                councils=values.to_numpy(),
                neighbour_values=values.reindex(nb_areas).dropna().to_numpy(),
                trend_indicative=compare.trend_indicative(trend),
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# words


def _names(rows: list[ProfileRow], trends: bool = False) -> str:
    """Short titles joined with "and"; ``trends``: each trend on approximated figures marked
    "(indicative)"."""
    names = [
        short_title(r.verdict.indicator)
        + (" (indicative)" if trends and r.trend_indicative else "")
        for r in rows
    ]
    if len(names) <= 1:
        return "".join(names)
    return "; ".join(names[:-1]) + " and " + names[-1]


def _level(r: ProfileRow) -> str:
    m = re.search(r"\((.*)\)$", r.comparison)
    return f" ({m.group(1)})" if m else ""


def summary_lines(rows: list[ProfileRow], missing: list[str] | None = None) -> list[str]:
    """Three lines in words, from the rows' numbers: (1) compared with England, and what stays
    significant after allowing for variation between councils; (2) recent trends, naming
    "worse than England and getting worse"; (3) fees placed among councils (or the indicators
    with no figure)."""
    counted = [r for r in rows if r.indicator.kind != "price" and r.category != "no figure"]
    tested = [r for r in counted if r.category != "not compared"]
    untested = [r for r in counted if r.category == "not compared"]
    lines = []
    worse = [r for r in tested if r.category == "worse"]
    better = [r for r in tested if r.category == "better"]
    similar = [r for r in tested if r.category == "similar"]
    parts = []
    if worse:
        parts.append(
            "worse than England on "
            + "; ".join(short_title(r.verdict.indicator) + _level(r) for r in worse)
        )
    else:
        parts.append(f"worse than England on none of the {len(tested)} indicators compared")
    if better:
        parts.append(
            "better on " + "; ".join(short_title(r.verdict.indicator) + _level(r) for r in better)
        )
    if similar:
        parts.append("similar on " + _names(similar))
    if untested:
        parts.append("not compared on " + _names(untested) + " (no valid interval)")
    signif = [
        r for r in tested if r.verdict.funnel998 in ("above", "below") and not r.verdict.approximate
    ]
    funnel = (
        "After allowing for the normal variation between councils, significantly different from "
        "England: "
        + "; ".join(
            f"{short_title(r.verdict.indicator)} ({'higher' if r.verdict.funnel998 == 'above' else 'lower'})"
            for r in signif
        )
        + "."
        if signif
        else "After allowing for the normal variation between councils, none of these differs "
        "significantly from England."
    )
    watch = [
        r for r in tested
        if r.verdict.funnel998 == "within" and r.verdict.funnel95 in ("above", "below")
    ]  # fmt: skip
    if watch:
        funnel += (
            " Worth watching (beyond the funnel's 95% limit, within its 99.8% limit): "
            + "; ".join(
                f"{short_title(r.verdict.indicator)} "
                f"({'higher' if r.verdict.funnel95 == 'above' else 'lower'})"
                for r in watch
            )
            + "."
        )
    first = "; ".join(parts)
    lines.append(
        f"<b>Compared with England</b> (the council's own 95% and 99.8% intervals): "
        f"{html.escape(first[:1].upper() + first[1:])}. {html.escape(funnel)}"
    )
    getting_worse = [r for r in rows if r.trend_marker.endswith("getting worse")]
    getting_better = [r for r in rows if r.trend_marker.endswith("getting better")]
    moving = [r for r in rows if r.trend_marker in ("Increasing", "Decreasing")]
    none = [r for r in rows if r.trend_marker == "No significant change"]
    cannot = [
        r for r in rows if r.trend_marker.startswith("Cannot") and r.indicator.kind != "price"
    ]  # fees have no interval, so never a trend marker: said once below, not counted here
    t = []
    if getting_worse:
        t.append("getting worse on " + _names(getting_worse, trends=True))
    if getting_better:
        t.append("getting better on " + _names(getting_better, trends=True))
    if moving:
        t.append(
            "; ".join(f"{r.trend_marker.lower()} on {_names([r], trends=True)}" for r in moving)
        )
    if none:
        t.append(f"no significant change on {_names(none)}")
    if cannot:
        t.append(
            f"cannot be calculated for {_names(cannot)} (fewer than 5 years of one definition, "
            "no interval, or a year with fewer than 10 events)"
        )
    if any(r.indicator.kind == "price" for r in rows):
        t.append("fees have no trend test (prices have no interval)")
    both = [r for r in worse if r in getting_worse]
    text = "; ".join(t) or "no trends"
    lines.append(
        "<b>Recent trend</b> (last 5 years): "
        + html.escape(text[:1].upper() + text[1:])
        + "."
        + (
            f" <b>Worse than England and getting worse:</b> {html.escape(_names(both, trends=True))}."
            if both
            else ""
        )
    )
    prices = [r for r in rows if r.indicator.kind == "price" and r.category != "no figure"]
    if prices:
        groups = []
        for word in reversed(QUARTILE_WORDS):
            these = [r for r in prices if r.category == word]
            if these:
                groups.append(f"the {word} of councils for {_names(these)}")
        lines.append(
            "<b>Fees paid</b> (prices, no judgement of good or bad): "
            + html.escape("; ".join(groups))
            + "."
        )
    if missing:
        lines.append("<b>No figure</b> for: " + html.escape("; ".join(missing)) + ".")
    return lines


# ---------------------------------------------------------------------------------------------
# pictures


def _fmt(value: float, key: str) -> str:
    ind = INDICATORS[key]
    if ind.kind == "price":
        return "" if not np.isfinite(value) else "£" + compare.number(value, 2)
    return compare.number(value, 1)


def spine_position(values, england: float, half_width: float, polarity: str) -> np.ndarray:
    """Position in [0, 1] of ``values`` on a spine centred on England (0.5), worst on the left.

    ``half_width`` is the largest distance of any council from England (Fingertips' symmetric
    scale); low-is-good indicators are flipped so that higher (worse) values sit on the left.
    """
    x = np.asarray(values, dtype=float)
    if not np.isfinite(half_width) or half_width <= 0:
        return np.full(x.shape, 0.5)
    sign = -1.0 if polarity == "lower" else 1.0
    return 0.5 + sign * (x - england) / (2 * half_width)


def spine_svg(row: ProfileRow) -> str:
    """The row's spine chart as inline SVG (see the module docstring)."""
    v = row.verdict
    ind = row.indicator
    lo, q1, q3, hi = row.quartiles
    if not np.isfinite(lo) or not np.isfinite(v.england):
        return ""
    half = max(abs(lo - v.england), abs(hi - v.england))
    usable = SPINE_WIDTH - 2 * SPINE_MARGIN

    def x(val) -> np.ndarray:
        return SPINE_MARGIN + usable * spine_position(val, v.england, half, ind.polarity)

    xl, xq1, xq3, xh = (float(a) for a in x([lo, q1, q3, hi]))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SPINE_WIDTH}" height="{SPINE_HEIGHT}" '
        f'viewBox="0 0 {SPINE_WIDTH} {SPINE_HEIGHT}" role="img" aria-label="{html.escape(_spine_words(row))}">',
        f"<title>{html.escape(_spine_words(row))}</title>",
    ]
    for a, b, colour in ((xl, xq1, SPINE_TAIL), (xq1, xq3, SPINE_MIDDLE), (xq3, xh, SPINE_TAIL)):
        left, width = min(a, b), abs(b - a)
        parts.append(
            f'<rect x="{left:.1f}" y="7" width="{width:.1f}" height="10" fill="{colour}"/>'
        )
    centre = SPINE_MARGIN + usable / 2
    parts.append(
        f'<line x1="{centre:.1f}" y1="2" x2="{centre:.1f}" y2="22" stroke="#000" stroke-width="1.5"/>'
    )
    for xn in x(row.neighbour_values):
        parts.append(
            f'<line x1="{xn:.1f}" y1="5" x2="{xn:.1f}" y2="19" stroke="{NEIGHBOUR_TICK}" '
            'stroke-width="1"/>'
        )
    if np.isfinite(v.neighbours_value):
        xd = float(x([v.neighbours_value])[0])
        parts.append(
            f'<path d="M{xd:.1f} 6 L{xd + 5:.1f} 12 L{xd:.1f} 18 L{xd - 5:.1f} 12 Z" '
            f'fill="{NEIGHBOUR_TICK}" stroke="#fff" stroke-width="0.8"/>'
        )
    if np.isfinite(v.value):
        xc = float(x([v.value])[0])
        parts.append(
            f'<circle cx="{xc:.1f}" cy="12" r="6" fill="{row.colour}" stroke="#000" '
            'stroke-width="1"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _spine_words(row: ProfileRow) -> str:
    v = row.verdict
    lo, q1, q3, hi = row.quartiles
    k = v.indicator
    return (
        f"{v.council_name} {_fmt(v.value, k)}; England {_fmt(v.england, k)}; neighbours together "
        f"{_fmt(v.neighbours_value, k)}; middle half of councils {_fmt(q1, k)} to {_fmt(q3, k)}; "
        f"range {_fmt(lo, k)} to {_fmt(hi, k)}"
    )


_ARROWS = {
    "up": "M8 1 L14 8 H10 V15 H6 V8 H2 Z",
    "down": "M8 15 L14 8 H10 V1 H6 V8 H2 Z",
    "right": "M15 8 L8 2 V6 H1 V10 H8 V14 Z",
    "none": "M3 7 H13 V9 H3 Z",
}


def trend_arrow(marker: str) -> str:
    """Inline SVG arrow for a Fingertips recent-trend marker, coloured by what it says: better /
    worse colours when the indicator has a polarity, dark grey for a change with no judgement or
    no significant change, light grey dash when it cannot be calculated."""
    if marker.startswith("Increasing"):
        shape = "up"
    elif marker.startswith("Decreasing"):
        shape = "down"
    elif marker == "No significant change":
        shape = "right"
    else:
        shape = "none"
    if marker.endswith("getting worse"):
        colour = PALETTE["worse"]
    elif marker.endswith("getting better"):
        colour = PALETTE["better"]
    elif shape == "none":
        colour = TREND_NONE
    else:
        colour = TREND_NEUTRAL
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16" '
        f'role="img" aria-label="{html.escape(marker)}"><path d="{_ARROWS[shape]}" fill="{colour}"/></svg>'
    )


def _swatch(colour: str, shape: str = "circle") -> str:
    if shape == "circle":
        body = f'<circle cx="8" cy="8" r="6" fill="{colour}" stroke="#000" stroke-width="1"/>'
    else:
        body = f'<rect x="1" y="3" width="14" height="10" fill="{colour}"/>'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16" '
        f'aria-hidden="true">{body}</svg>'
    )


CSS = """
<style>
table.asc-profile { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1em !important;
  table-layout: auto !important; width: 100%; }
table.asc-profile caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
table.asc-profile th, table.asc-profile td { border-bottom: 1px solid #ddd !important;
  padding: 3px 4px !important; vertical-align: middle; text-align: right !important; }
table.asc-profile th { background: #f2f2f2; font-weight: bold; text-align: center !important; }
table.asc-profile td.asc-name { text-align: left !important; min-width: 10em; }
table.asc-profile td small { color: #555; display: block; }
table.asc-profile td.asc-period { white-space: nowrap; }
table.asc-profile td.asc-spine { text-align: center !important; width: 174px; min-width: 174px;
  padding: 2px !important; }
table.asc-profile svg { max-width: none !important; height: auto; }
table.asc-profile td.asc-cmp { text-align: left !important; min-width: 8em; }
table.asc-profile td.asc-trend { text-align: left !important; min-width: 6.5em; }
table.asc-profile .asc-chip { display: inline-block; width: 0.9em; height: 0.9em;
  border: 1px solid #000; border-radius: 50%; vertical-align: -0.1em; margin-right: 0.3em; }
ul.asc-summary { margin: 0.3em 0 0.8em; padding-left: 1.2em; }
ul.asc-summary li { margin: 0.2em 0; }
div.asc-key { font-size: 0.85em; color: #333; margin: 0.3em 0 1em; line-height: 1.8; }
div.asc-key span.asc-item { white-space: nowrap; margin-right: 1.2em; }
div.asc-key svg { vertical-align: -0.25em; margin-right: 0.25em; max-width: none !important; }
p.asc-notes { font-size: 0.85em; color: #333; }
@media print { table.asc-profile { font-size: 8pt; } table.asc-profile tr { page-break-inside: avoid; } }
</style>
"""


def key_html(spine_chart: bool = True) -> str:
    """The key: comparison colours, price quartiles, spine chart (unless ``spine_chart`` is
    False) and trend arrows."""

    def item(colour: str, words: str, shape: str = "circle") -> str:
        return f'<span class="asc-item">{_swatch(colour, shape)}{html.escape(words)}</span>'

    spine = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="16" viewBox="0 0 120 16" '
        'aria-hidden="true">'
        f'<rect x="4" y="3" width="28" height="10" fill="{SPINE_TAIL}"/>'
        f'<rect x="32" y="3" width="52" height="10" fill="{SPINE_MIDDLE}"/>'
        f'<rect x="84" y="3" width="32" height="10" fill="{SPINE_TAIL}"/>'
        '<line x1="60" y1="0" x2="60" y2="16" stroke="#000" stroke-width="1.5"/></svg>'
    )
    spine_words = (
        "<br><i>Spine chart</i>: "
        + f'<span class="asc-item">{spine}</span>'
        + "every council in England that year: light bars from the worst (or lowest) to the 25th "
        "percentile and from the 75th percentile to the best (or highest), dark bar the middle "
        "half; black line England, in the centre of a scale symmetric about it; worse is on the "
        "left when the indicator has a polarity. "
        + item(PALETTE["similar"], "the council (in its comparison colour)")
        + f'<span class="asc-item"><svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" '
        f'aria-hidden="true"><line x1="8" y1="1" x2="8" y2="15" stroke="{NEIGHBOUR_TICK}"/></svg>'
        "each neighbour</span>"
        + f'<span class="asc-item"><svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" '
        f'aria-hidden="true"><path d="M8 2 L14 8 L8 14 L2 8 Z" fill="{NEIGHBOUR_TICK}"/></svg>'
        "the neighbours taken together</span>"
    )
    return (
        '<div class="asc-key"><b>Key.</b> '
        "<i>Compared with England</i> (England's value against the council's own 95% and 99.8% "
        "confidence intervals, the Fingertips method; the figure in brackets is the level at "
        "which it differs): "
        + item(PALETTE["better"], "Better")
        + item(PALETTE["similar"], "Similar")
        + item(PALETTE["worse"], "Worse")
        + item(PALETTE["not compared"], "Not compared")
        + "No judgement of good or bad: "
        + item(PALETTE["lower"], "Lower")
        + item(PALETTE["higher"], "Higher")
        + " Under it, <i>funnel</i>: the same comparison after allowing for the normal variation "
        'between councils (Spiegelhalter\'s funnel plot: "within normal variation", "worth '
        'watching" beyond its 95% limit, "significantly" beyond its 99.8% limit).'
        + "<br><i>Fees</i> (prices: no interval, no judgement) are placed by quartile of all "
        "councils in England that year: "
        + item(PALETTE["lowest quarter"], "Lowest quarter")
        + item(PALETTE["middle half"], "Middle half")
        + item(PALETTE["highest quarter"], "Highest quarter")
        + (spine_words if spine_chart else "")
        + "<br><i>Recent trend</i> (Fingertips' test on the last 5 years of one series): "
        + f'<span class="asc-item">{trend_arrow("Increasing and getting worse")}'
        f"{trend_arrow('Decreasing and getting worse')}getting worse</span>"
        + f'<span class="asc-item">{trend_arrow("Increasing and getting better")}'
        f"{trend_arrow('Decreasing and getting better')}getting better</span>"
        + f'<span class="asc-item">{trend_arrow("Increasing")}{trend_arrow("Decreasing")}'
        "increasing or decreasing (no judgement)</span>"
        + f'<span class="asc-item">{trend_arrow("No significant change")}no significant change</span>'
        + f'<span class="asc-item">{trend_arrow("Cannot be calculated")}cannot be calculated</span>'
        + "<i>(indicative)</i>: a trend on approximated counts or populations (see the section)."
        + "</div>"
    )


def table_html(rows: list[ProfileRow], council_name: str) -> str:
    """The profile table (HTML with inline SVG), with footnote marks and their notes."""
    marks: dict[str, str] = {}

    def mark(text: str, sign: str) -> str:
        marks[sign] = text
        return f"<sup>{sign}</sup>"

    body = []
    for r in rows:
        v = r.verdict
        k = v.indicator
        ind = r.indicator
        value = html.escape(_fmt(v.value, k)) or "no figure"
        if v.approximate:
            why = verdict.approximated(v.flag)
            value += mark(
                f"{why[:1].upper()}{why[1:]} (see the flags in its section), so the comparison "
                "is indicative.",
                "*",
            )
        if v.figure_for:
            value += mark("The figure describes a predecessor area (named in its section).", "†")
        period = html.escape(v.period)
        if v.requested_period and v.requested_period != v.period:
            period += mark(
                f"{v.requested_period} was asked for; the latest figure with a value is shown.", "‡"
            )
        lo, _q1, _q3, hi = r.quartiles
        left, right = (hi, lo) if ind.polarity == "lower" else (lo, hi)
        cmp_text = html.escape(r.comparison)
        if r.funnel:
            cmp_text += f"<small>funnel: {html.escape(r.funnel)}</small>"
        chip = f'<span class="asc-chip" style="background:{r.colour}"></span>'
        body.append(
            "<tr>"
            f'<td class="asc-name">{html.escape(short_title(k))}<small>{html.escape(ind.unit)}</small></td>'
            f'<td class="asc-period">{period}</td>'
            f"<td>{value}</td>"
            f'<td class="asc-cmp">{chip}{cmp_text}</td>'
            f'<td class="asc-trend">{trend_arrow(r.trend_marker)}<small>{html.escape(r.trend_marker)}'
            f"{' (indicative)' if r.trend_indicative else ''}</small></td>"
            f"<td>{html.escape(_fmt(v.england, k))}</td>"
            f"<td>{html.escape(_fmt(v.neighbours_value, k))}</td>"
            f"<td>{html.escape(_fmt(left, k))}</td>"
            f'<td class="asc-spine">{spine_svg(r)}</td>'
            f"<td>{html.escape(_fmt(right, k))}</td>"
            "</tr>"
        )
    head = (
        "<tr><th>Indicator</th><th>Period</th><th>Value</th><th>Compared with England</th>"
        "<th>Recent trend</th><th>England</th><th>Neighbours together</th>"
        "<th>Worst / lowest</th><th>Range of councils in England</th><th>Best / highest</th></tr>"
    )
    notes = "".join(f"<br><sup>{s}</sup> {html.escape(t)}" for s, t in marks.items())
    return (
        f'<table class="asc-profile"><caption>{html.escape(council_name)}: headline indicators'
        f"</caption><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
        + (f'<p class="asc-notes">{notes[4:]}</p>' if notes else "")
    )


def profile_html(
    verdicts: list[verdict.Verdict],
    neighbours: tuple[str, ...],
    council_name: str,
    missing: list[str] | None = None,
    neighbour_words: str = "",
) -> str:
    """The whole profile: three summary lines, the table with spines, notes and the key."""
    rows = build_rows(verdicts, neighbours)
    lines = summary_lines(rows, missing)
    nb = (
        f"<p class='asc-notes'>Neighbours: {html.escape(neighbour_words)}.</p>"
        if neighbour_words
        else ""
    )
    return (
        CSS
        + '<ul class="asc-summary">'
        + "".join(f"<li>{line}</li>" for line in lines)
        + "</ul>"
        + table_html(rows, council_name)
        + nb
        + key_html()
    )


def show(ctx) -> list[verdict.Verdict]:
    """Compute the headline verdicts for the notebook's context and show the profile; returns
    the verdicts (for the sentences below it)."""
    from IPython.display import HTML, display

    code = ctx.council.code
    verdicts = verdict.headline(code, ctx.neighbours, ctx.year)
    missing = verdict.missing_headline(code, verdicts)
    display(
        HTML(
            profile_html(
                verdicts,
                ctx.neighbours,
                ctx.council.name,
                missing=missing,
                neighbour_words=ctx.neighbour_source,
            )
        )
    )
    return verdicts
