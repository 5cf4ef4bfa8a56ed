"""The national index page of ``report --all``: every council on every headline indicator.

One sortable table (council, region, type, and per headline indicator its value with the
profile's comparison colour and recent-trend arrow: :mod:`asc_evidence.profile`), one choropleth
map per indicator in the same colours, and a link to each council's report. Everything is computed
in one process from the processed tables (:func:`national_frame`), without running any notebook,
so the page can be rebuilt in about two minutes; the page is self-contained (inline CSS, a few
lines of inline JavaScript for sorting, maps as inline PNG).

Each indicator is shown for one period for all councils (``year`` when it has figures then, else
its latest period), so the table and maps compare like with like; a council with no figure that
year is shown as "no figure" (its own report may show an earlier year).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np
import pandas as pd

from asc_evidence import compare, indicators, profile, verdict
from asc_evidence.councils import current
from asc_evidence.indicators import HEADLINE, INDICATORS

#: Source line of the maps' boundaries.
BOUNDARY_SOURCE = "ONS Open Geography Portal, counties and unitary authorities (May 2023)"

_COLUMNS = [
    "council_code",
    "council_name",
    "region",
    "type",
    "indicator",
    "period",
    "value",
    "england",
    "category",
    "comparison",
    "funnel",
    "trend",
    "trend_indicative",
    "approximate",
    "figure_for",
]


def national_period(key: str, year: str | None = None) -> str:
    """``year`` if indicator ``key`` has council figures then, else its latest such period."""
    t = indicators.get(key)
    have = set(t.loc[t["value"].notna() & (t["level"] == "council"), "period"])
    if year and year in have:
        return year
    return max(have)


def national_frame(
    year: str | None = None,
    codes: list[str] | None = None,
    keys: tuple[str, ...] | list[str] = HEADLINE,
) -> pd.DataFrame:
    """Every current council (or ``codes``) on every indicator of ``keys``, one period each.

    Long table, one row per council and indicator, columns :data:`_COLUMNS`: the value, England,
    the profile's ``category`` (:func:`asc_evidence.profile.category`: the Fingertips comparison,
    or the quartile of councils for prices), the words of the ``comparison``, the ``funnel``
    verdict in words and the Fingertips recent-trend marker (``trend``) up to that period.
    Verdicts come from :func:`asc_evidence.verdict.benchmark` (no neighbours), so they are the
    ones the councils' own reports show for the same period.
    """
    reg = current().set_index("code")
    codes = list(reg.index) if codes is None else list(codes)
    rows = []
    for key in keys:
        period = national_period(key, year)
        values = profile.council_values(key, period)
        price = INDICATORS[key].kind == "price"
        for code in codes:
            v = verdict.benchmark(key, code, period, ())
            cat = profile.category(v, values)
            if not np.isfinite(v.value):
                words = "No figure"
            elif price:
                words = f"{cat[:1].upper()}{cat[1:]} of councils"
            else:
                words = v.fingertips
            trend = compare.recent_trend(key, code, upto=period) if np.isfinite(v.value) else None
            rows.append(
                {
                    "council_code": code,
                    "council_name": reg.loc[code, "name"],
                    "region": reg.loc[code, "region"],
                    "type": reg.loc[code, "type"],
                    "indicator": key,
                    "period": period,
                    "value": v.value,
                    "england": v.england,
                    "category": cat,
                    "comparison": words,
                    "funnel": "" if price else compare.funnel_words(v),
                    "trend": trend.marker if trend else "",
                    "trend_indicative": bool(trend and compare.trend_indicative(trend)),
                    "approximate": bool(v.approximate),
                    "figure_for": v.figure_for,
                }
            )
    return pd.DataFrame(rows, columns=_COLUMNS)


# ---------------------------------------------------------------------------------------------
# maps


def category_map(frame: pd.DataFrame, key: str):  # -> matplotlib Figure
    """Choropleth of one indicator's categories (profile colours) on council boundaries."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from asc_evidence import charts
    from asc_evidence.build import load

    ind = INDICATORS[key]
    sub = frame[frame["indicator"] == key]
    period = sub["period"].iloc[0]
    gdf = load("boundaries_council")[["council_code", "geometry"]]
    gdf = gdf.merge(sub[["council_code", "category"]], on="council_code", how="left")
    gdf["category"] = gdf["category"].fillna("no figure")
    fig, ax = plt.subplots(figsize=(5.2, 6.2))
    order = [c for c in LEGEND_ORDER if c in set(gdf["category"])]
    with charts.no_idle_draw(fig):  # one drawing at the end, not one per category
        for cat in order:
            part = gdf[gdf["category"] == cat]
            part.plot(
                ax=ax,
                color=profile.PALETTE[cat],
                edgecolor="#9e9e9e" if cat in ("middle half", "no figure") else "white",
                linewidth=0.25,
                hatch="xxxx" if cat == "no figure" else None,
            )
    handles = [
        Patch(
            facecolor=profile.PALETTE[c],
            edgecolor="#555",
            hatch="xxxx" if c == "no figure" else None,
            label=_legend_word(c, ind.kind),
        )
        for c in order
    ]
    ax.legend(handles=handles, loc="upper left", fontsize=7, frameon=False)
    ax.set_axis_off()
    ax.set_title(f"{profile.short_title(key)}, {period}", fontsize=9, fontweight="bold", wrap=True)
    charts.caption(fig, f"{ind.source}; boundaries: {BOUNDARY_SOURCE}", period)
    fig.tight_layout()
    return fig


LEGEND_ORDER = (
    "better",
    "similar",
    "worse",
    "lower",
    "higher",
    "lowest quarter",
    "middle half",
    "highest quarter",
    "not compared",
    "no figure",
)


def _legend_word(cat: str, kind: str) -> str:
    if cat in profile.QUARTILE_WORDS:
        return f"{cat[:1].upper()}{cat[1:]} of councils"
    if cat in ("better", "similar", "worse", "lower", "higher"):
        return (
            f"{cat[:1].upper()}{cat[1:]} than England" if cat != "similar" else "Similar to England"
        )
    return cat[:1].upper() + cat[1:]


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


# ---------------------------------------------------------------------------------------------
# the page


SORT_JS = """
<script>
document.querySelectorAll("table.asc-index th").forEach(function (th, i) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0];
    var up = th.getAttribute("aria-sort") !== "ascending";
    th.closest("tr").querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", up ? "ascending" : "descending");
    function key(row) {
      var cell = row.cells[i], v = cell.getAttribute("data-v");
      if (v === null) { return cell.textContent.trim().toLowerCase(); }
      return v === "" ? null : parseFloat(v);
    }
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      if (x === null && y === null) { return 0; }
      if (x === null) { return 1; }
      if (y === null) { return -1; }
      return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
</script>
"""

CSS = """
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 90em;
  margin: 1.5em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.5em; }
table.asc-index { border-collapse: collapse; font-size: 0.8em; width: 100%; }
table.asc-index th { background: #f2f2f2; cursor: pointer; position: sticky; top: 0;
  padding: 4px; border-bottom: 2px solid #999; vertical-align: bottom; max-width: 9em;
  font-weight: 600; overflow-wrap: anywhere; }
table.asc-index th small { font-weight: normal; color: #444; }
table.asc-index th[aria-sort="ascending"]::after { content: " \\25B2"; }
table.asc-index th[aria-sort="descending"]::after { content: " \\25BC"; }
table.asc-index td { padding: 2px 4px; border-bottom: 1px solid #e5e5e5; white-space: nowrap; }
table.asc-index td.num { text-align: right; }
table.asc-index tbody tr:hover { background: #f7f7f7; }
.asc-chip { display: inline-block; width: 0.8em; height: 0.8em; border: 1px solid #000;
  border-radius: 50%; vertical-align: -0.05em; margin-right: 0.25em; }
.asc-maps { display: flex; flex-wrap: wrap; gap: 1em; }
.asc-maps figure { margin: 0; width: 30em; max-width: 100%; }
.asc-maps img { width: 100%; height: auto; }
.asc-maps figcaption { font-size: 0.8em; color: #444; }
div.asc-key { font-size: 0.85em; color: #333; margin: 0.5em 0 1em; line-height: 1.8; }
div.asc-key span.asc-item { white-space: nowrap; margin-right: 1.2em; }
div.asc-key svg { vertical-align: -0.25em; margin-right: 0.25em; }
footer.asc-footer { font-size: 0.85em; color: #444; border-top: 1px solid #ccc; margin-top: 2em; }
footer.asc-footer a { word-break: break-all; }
@media print { table.asc-index th { position: static; } .asc-maps figure { page-break-inside: avoid; } }
</style>
"""

#: Small trend arrows in table cells (same shapes and colours as the profile's).
_CELL_ARROW = {
    "up": "\u25b2",
    "down": "\u25bc",
    "right": "\u25b6",
}


def _cell_arrow(marker: str) -> str:
    if not marker or marker.startswith("Cannot"):
        return ""
    shape = (
        "up"
        if marker.startswith("Increasing")
        else "down"
        if marker.startswith("Decreasing")
        else "right"
    )
    colour = (
        profile.PALETTE["worse"]
        if marker.endswith("getting worse")
        else profile.PALETTE["better"]
        if marker.endswith("getting better")
        else profile.TREND_NEUTRAL
    )
    return (
        f' <span style="color:{colour};font-size:0.8em" title="{html.escape(marker)}" '
        f'aria-label="{html.escape(marker)}">{_CELL_ARROW[shape]}</span>'
    )


def _value(x: float, key: str) -> str:
    return profile._fmt(x, key)


def index_html(
    frame: pd.DataFrame,
    *,
    links: set[str] | frozenset[str] = frozenset(),
    failed: dict[str, str] | None = None,
    maps: dict[str, str] | None = None,
    footer: str = "",
) -> str:
    """The index page from :func:`national_frame`: sortable table, maps (``key -> base64 PNG``),
    links to ``<code>/report.html`` for councils in ``links``, and the councils that failed."""
    keys = list(dict.fromkeys(frame["indicator"]))
    wide = frame.set_index(["council_code", "indicator"])
    councils_ = frame.drop_duplicates("council_code").sort_values("council_name")
    head = "".join(
        f"<th>{html.escape(profile.short_title(k))}<br><small>{html.escape(INDICATORS[k].unit)}, "
        f"{html.escape(str(frame.loc[frame['indicator'] == k, 'period'].iloc[0]))}</small></th>"
        for k in keys
    )
    body = []
    for c in councils_.itertuples():
        name = html.escape(str(c.council_name))
        if c.council_code in links:
            name = f'<a href="{html.escape(c.council_code)}/report.html">{name}</a>'
        cells = []
        for k in keys:
            r = wide.loc[(c.council_code, k)]
            if not np.isfinite(r["value"]):
                cells.append('<td class="num" data-v="" title="No figure for this period">-</td>')
                continue
            tip = r["comparison"] + (f"; funnel: {r['funnel']}" if r["funnel"] else "")
            tip += f"; trend: {r['trend']}" if r["trend"] else ""
            tip += " (indicative)" if r["trend"] and r.get("trend_indicative") else ""
            tip += "; count or population approximated" if r["approximate"] else ""
            tip += f"; figure for {r['figure_for']}" if r["figure_for"] else ""
            chip = f'<span class="asc-chip" style="background:{profile.PALETTE[r["category"]]}"></span>'
            cells.append(
                f'<td class="num" data-v="{r["value"]:.6g}" title="{html.escape(tip)}">{chip}'
                f"{html.escape(_value(r['value'], k))}"
                f"{_cell_arrow(r['trend'])}</td>"
            )
        body.append(
            f'<tr><td title="{html.escape(str(c.type))}, {html.escape(c.council_code)}">{name}</td>'
            f"<td>{html.escape(str(c.region))}</td>{''.join(cells)}</tr>"
        )
    figures = "".join(
        f'<figure><img alt="Map of {html.escape(profile.short_title(k))} by council, coloured '
        f'by comparison" src="data:image/png;base64,{maps[k]}"></figure>'
        for k in keys
        if maps and k in maps
    )
    fails = "".join(
        f"<li>{html.escape(c)}: {html.escape(m)}</li>" for c, m in sorted((failed or {}).items())
    )
    n = len(councils_)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>asc-evidence: every council against England</title>"
        + CSS
        + "</head><body><main>"
        + "<h1>Adult social care: every council against England</h1>"
        + f"<p>{n} councils on the headline indicators, each for one period (named under the "
        "column heading), so that every council is compared with England on the same year. "
        "Click a column heading to sort (again to reverse); hover over a value for its "
        "comparison, the funnel verdict and the recent trend. "
        + (f"Council names link to their reports ({len(links)} written). " if links else "")
        + "The arrow is the recent trend (coloured when it says better or worse). Most ASCOF "
        "counts are approximated (published rate x population, or the 2020-21 denominator), as are "
        "some populations (years without an estimate), so "
        "those comparisons are indicative; the councils' reports give the detail.</p>"
        + profile.key_html(spine_chart=False)
        + '<table class="asc-index"><thead><tr><th>Council</th><th>Region</th>'
        + head
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
        + (f'<h2>Maps</h2><div class="asc-maps">{figures}</div>' if figures else "")
        + (f"<h2>Reports that failed</h2><ul>{fails}</ul>" if fails else "")
        + "</main>"
        + footer
        + SORT_JS
        + "</body></html>"
    )


def index_maps(frame: pd.DataFrame) -> dict[str, str]:
    """A map per indicator of :func:`national_frame`'s ``frame`` (PNG, base64), keyed by
    indicator. Drawn with pyplot: call it from the main thread (a GUI backend may refuse others)."""
    from asc_evidence import charts

    charts.setup()
    return {k: _png(category_map(frame, k)) for k in dict.fromkeys(frame["indicator"])}


def write_index(
    out: Path,
    *,
    year: str | None = None,
    codes: list[str] | None = None,
    failed: dict[str, str] | None = None,
    maps: bool = True,
    keys: tuple[str, ...] | list[str] = HEADLINE,
    progress=None,
    frame: pd.DataFrame | None = None,
) -> Path:
    """Write ``out/index.html`` atomically: :func:`national_frame` (``frame``, or computed here
    from ``year``, ``codes`` and ``keys``) and, with ``maps``, :func:`index_maps`; returns its path.

    Councils with a report in ``out/<code>/report.html`` are linked.
    """
    import os

    from asc_evidence.report import footer_html

    if frame is None:
        if progress:
            progress("national index: verdicts for every council")
        frame = national_frame(year, codes, keys)
    images = index_maps(frame) if maps else {}
    out.mkdir(parents=True, exist_ok=True)
    links = {c for c in frame["council_code"].unique() if (out / c / "report.html").is_file()}
    page = index_html(frame, links=links, failed=failed, maps=images, footer=footer_html())
    index = out / "index.html"
    tmp = index.with_name(f".index.html.{os.getpid()}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(index)
    return index
