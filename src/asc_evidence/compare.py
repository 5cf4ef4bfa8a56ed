"""Display-ready comparisons for the notebooks: the council against neighbours, region and England.

Each function takes an indicator key (see :data:`asc_evidence.indicators.INDICATORS`) and returns a
tidy, rounded, deterministically sorted table or a captioned figure, so notebooks only call and show.
Titles, units, axis labels and caption sources come from the indicator's spec; the numbers
(England's value, pooled neighbours, intervals) from :mod:`asc_evidence.verdict`, so a table and
the verdict sentence beside it always agree.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from asc_evidence import indicators
from asc_evidence.common import ENGLAND
from asc_evidence.councils import register_by_code
from asc_evidence.indicators import INDICATORS, MIN_MONTHS, Indicator
from asc_evidence.stats import spc, trends
from asc_evidence.stats.comparison import compare_with_benchmark
from asc_evidence.verdict import (
    NO_FUNNEL,
    Verdict,
    approximated,
    areas_of,
    combined_label,
    combined_value,
    england_value,
    intervals,
    survey_interval,
    within_dispersion,
)
from asc_evidence.verdict import period_for as period_for  # notebooks call compare.period_for

if TYPE_CHECKING:
    import matplotlib.pyplot as plt

# The figures import matplotlib (through asc_evidence.charts) when drawn, so the data functions
# here (used by the evidence stage and the command line) do not pay for it.

#: Display names of the 95% interval columns (every table uses the same words).
CI_LOWER = "95% CI lower"
CI_UPPER = "95% CI upper"
#: Display name of the Fingertips comparison column.
COMPARED = "Compared with England (Fingertips)"


def number(x: float, decimals: int = 1) -> str:
    """``x`` rounded to ``decimals`` with thousands separators; "" for missing; never "-0.0".

    >>> number(-0.04), number(1234.567, 2), number(float("nan"))
    ('0.0', '1,234.57', '')
    """
    if x is None or not np.isfinite(x):
        return ""
    return f"{round(float(x), decimals) + 0.0:,.{decimals}f}"  # + 0.0 turns -0.0 into 0.0


def for_display(
    df: pd.DataFrame, index: str | None = None, decimals: int | dict[str, int] | None = None
) -> pd.DataFrame:
    """Presentation copy: ``index`` column as the index, missing cells blank (never 'NaN' or 0).

    With ``decimals`` (one number, or one per column), float columns are written as text with
    that many decimals and thousands separators (:func:`number`), so the table shows exactly
    what was meant whatever pandas' display precision; without it, floats stay numbers and
    negative zeros are made positive (no "-0.0").
    """
    out = df.set_index(index) if index else df.copy()
    for col in out.columns:
        if not pd.api.types.is_float_dtype(out[col]):
            continue
        if decimals is None:
            out[col] = out[col] + 0.0
        else:
            d = decimals.get(col, 1) if isinstance(decimals, dict) else decimals
            out[col] = out[col].map(lambda x, d=d: number(x, d)).where(out[col].notna(), None)
    return out.astype(object).where(out.notna(), "")


def footnotes(
    df: pd.DataFrame,
    column: str,
    new: str = "Notes",
    common_label: str = "Every row",
    among: pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """Replace the long ``; ``-joined texts of ``column`` by footnote numbers.

    A note found in every row of ``among`` (a boolean mask; default all rows), e.g. "11 months
    reported" for every council, is not repeated: it becomes one table-wide note labelled
    ``common_label``. Notes are numbered in the order they first appear, so the output is
    deterministic. The notes (``"1. ..."``) are in ``out.attrs["notes"]`` (show them under the
    table with :func:`notes_markdown`).
    """
    texts = df[column].fillna("").astype(str)
    parts = texts.map(lambda t: [p.strip() for p in t.split(";") if p.strip()])
    mask = np.ones(len(df), dtype=bool) if among is None else np.asarray(among, dtype=bool)
    sets = [set(p) for p, m in zip(parts, mask, strict=True) if m]
    common = set.intersection(*sets) if len(sets) > 1 else set()
    numbers: dict[str, int] = {}
    cells = []
    for row in parts:
        marks = []
        for p in row:
            if p in common:
                continue
            numbers.setdefault(p, len(numbers) + 1)
            marks.append(str(numbers[p]))
        cells.append(", ".join(marks))
    out = df.drop(columns=[column])
    if numbers:
        out[new] = cells
    notes = [f"{common_label}: {_sentence_case(p)}." for p in sorted(common)]
    notes += [f"{n}. {_sentence_case(p)}." for p, n in numbers.items()]
    out.attrs["notes"] = notes
    return out


def _sentence_case(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:]


def notes_markdown(table: pd.DataFrame) -> str:
    """The table's footnotes (``attrs["notes"]``) as one Markdown paragraph; "" when none."""
    notes = table.attrs.get("notes", [])
    return "<small>Notes: " + " ".join(notes) + "</small>" if notes else ""


def _council_rows(key: str, period: str) -> pd.DataFrame:
    """Each council's row in ``period``, indexed by ``council_code`` (made once per period for the
    evidence's own table: do not change it in place)."""
    from asc_evidence import evidence

    t = indicators.get(key)

    def make() -> pd.DataFrame:
        rows = t[(t["period"] == period) & (t["level"] == "council")]
        return rows.drop_duplicates("council_code").set_index("council_code")

    return evidence.memo(key, t, "council_rows_of_period", (period,), make)


def _with_ci(df: pd.DataFrame, key: str, england: float) -> pd.DataFrame:
    """Rows with their 95% interval and the Fingertips comparison with England (95% and 99.8%)."""
    ind = INDICATORS[key]
    out = df.copy()
    out["lower95"] = np.nan
    out["upper95"] = np.nan
    out["compared with England"] = "Not compared"
    if ind.kind == "price" or out.empty:
        return out
    if ind.kind == "survey":  # the published interval; Fingertips' single-interval rule
        lo, hi = survey_interval(out["value"], out.get("moe", np.nan))
        out["lower95"], out["upper95"] = lo, hi
        out["compared with England"] = compare_with_benchmark(
            england, lo, hi, polarity=ind.polarity
        )
        return out
    from asc_evidence import evidence

    period = str(out["period"].iloc[0])
    stored = evidence.comparisons(key, indicators.get(key), period, out.index, england)
    if stored is not None:  # the evidence tables' intervals and comparisons of these councils
        out["lower95"], out["upper95"] = stored["lower95"], stored["upper95"]
        out["compared with England"] = stored["compared"]
        return out
    disp = within_dispersion(ind, str(out["period"].iloc[0]))  # the year's D(mu) (delays), else 1
    ci = intervals(ind, out["numerator"], out["denominator"], disp)
    out["lower95"], out["upper95"] = ci[0.95]
    if "months" in out:  # too few months for an annual figure: no interval, no comparison
        few = out["months"].fillna(12).to_numpy() < MIN_MONTHS
        out.loc[few, ["lower95", "upper95"]] = np.nan
        ci = {
            k: (np.where(few, np.nan, lo), np.where(few, np.nan, hi)) for k, (lo, hi) in ci.items()
        }
    out["compared with England"] = compare_with_benchmark(
        england, *ci[0.95], *ci[0.998], polarity=ind.polarity
    )
    return out


def comparison_table(
    key: str, council: str, neighbours: tuple[str, ...], period: str
) -> pd.DataFrame:
    """The council, each neighbour, the neighbours' combined value, the region median and England.

    For counts, each council's 95% interval and the Fingertips comparison of England's value with
    its 95% and 99.8% intervals (:data:`COMPARED`; see :mod:`asc_evidence.stats.comparison`).
    Columns (plain words): ``Compared as``, the unit, :data:`CI_LOWER`, :data:`CI_UPPER`,
    :data:`COMPARED`, ``Notes`` (footnote numbers; the notes are in ``attrs["notes"]``), indexed
    by ``Area``. Values to 1 decimal (prices to 2).
    """
    ind = INDICATORS[key]
    rows = _council_rows(key, period)
    reg = register_by_code()
    region = reg.loc[council, "region"]
    regions = reg["region"].to_dict()
    same_region = [c for c in rows.index if c in regions and regions[c] == region]
    neighbours, shared = _apart(rows, council, neighbours)  # as the verdict counts them
    members = [c for c in (council, *neighbours) if c in rows.index]
    england = england_value(key, period)
    table = _with_ci(rows.loc[members], key, england)
    table["role"] = ["this council" if c == council else "neighbour" for c in members]
    nb = rows.loc[[c for c in neighbours if c in rows.index]]
    nb = nb.drop_duplicates("area_code") if "area_code" in nb else nb  # an inherited area once
    label = combined_label(ind)
    extra = [(f"Neighbours ({label})", "neighbours together", combined_value(nb, ind))]
    in_region = rows.loc[same_region]
    in_region = in_region.drop_duplicates("area_code") if "area_code" in in_region else in_region
    extra.append((f"{region} (median of councils)", "region", in_region["value"].median()))
    extra.append(("England", "England", england))
    summary = pd.DataFrame([{"council_name": n, "role": r, "value": v} for n, r, v in extra])
    cols = ["council_name", "role", "value", "lower95", "upper95", "compared with England", "flag"]
    out = pd.concat([table.reset_index()[cols], summary], ignore_index=True)
    out["flag"] = out["flag"].fillna("")
    out["compared with England"] = out["compared with England"].fillna("")
    if ind.kind == "price":
        out = out.drop(columns=["lower95", "upper95", "compared with England"])
    out = out.rename(
        columns={
            "council_name": "Area",
            "role": "Compared as",
            "value": ind.unit,
            "lower95": CI_LOWER,
            "upper95": CI_UPPER,
            "compared with England": COMPARED,
        }
    )
    out = footnotes(
        out,
        "flag",
        common_label="Every council in the table",
        among=out["Compared as"].isin(["this council", "neighbour"]),
    )
    shown = for_display(out, "Area", decimals=2 if ind.kind == "price" else 1)
    shown.attrs["notes"] = out.attrs["notes"] + [
        f"{rows.loc[c, 'council_name']} is left out of the neighbours: its {period} figure is "
        f"{rows.loc[c].get('area_name', _own_area(rows, c))}'s, the same as this council's."
        for c in shared
    ]
    return shown


def _apart(
    rows: pd.DataFrame, council: str, neighbours: tuple[str, ...]
) -> tuple[tuple[str, ...], list[str]]:
    """The neighbours kept, and those left out because their row in ``rows`` (one period, by
    council code) is the council's own area's figure (a split's sibling showing the predecessor)."""
    own = _own_area(rows, council)
    shared = [c for c in neighbours if own and _own_area(rows, c) == own]
    return tuple(c for c in neighbours if c not in shared), shared


def _own_area(rows: pd.DataFrame, code: str) -> str:
    """The area whose figure a council's row gives (a predecessor's before a split; "" when the
    table has no ``area_code``): two councils sharing one are the same figure, never neighbours."""
    if "area_code" not in rows or code not in rows.index or pd.isna(rows.loc[code, "area_code"]):
        return ""
    return str(rows.loc[code, "area_code"])


def council_series(key: str, council: str, upto: str | None = None) -> pd.DataFrame:
    """The council's rows with a value, oldest first, each labelled with its ``segment``: the
    definition, plus the area when the figure is not the council's own (a predecessor area, or
    predecessors summed). Trends never join two segments. ``upto`` drops later periods.

    For the evidence's own table every council's rows are labelled once (:func:`_segments`);
    otherwise the council's rows are selected and labelled afresh (the same rows and labels).
    """
    return _series(key, council, upto, latest=False)


def latest_segment(key: str, council: str, upto: str | None = None) -> pd.DataFrame:
    """The council's rows in the segment of its newest figure (same definition, same area)."""
    return _series(key, council, upto, latest=True)


def _series(key: str, council: str, upto: str | None, latest: bool) -> pd.DataFrame:
    """:func:`council_series` (``latest``: only its newest segment), selected in one step."""
    from asc_evidence import evidence

    ind = INDICATORS[key]
    t = indicators.get(key)
    if evidence.owns(key, t):
        labelled, where, periods, segments = evidence.memo(
            key, t, "segments", (), lambda: _segments(t, ind)
        )
        pos = where.get(council, np.empty(0, dtype=np.intp))
        if upto:
            pos = pos[periods[pos] <= upto]
        if latest and len(pos):
            pos = pos[segments[pos] == segments[pos[-1]]]
        return labelled.iloc[pos]
    mine = t[(t["council_code"] == council) & t["value"].notna()].sort_values("period")
    mine = _label_segments(mine.copy(), ind)
    if upto:
        mine = mine[mine["period"] <= upto]
    if latest and len(mine):
        segment = mine["segment"].to_numpy()
        mine = mine[segment == segment[-1]]
    return mine


def _label_segments(rows: pd.DataFrame, ind: Indicator) -> pd.DataFrame:
    """``rows`` with ``definition`` and ``segment`` columns added (each row's own labels)."""
    area = rows["area_name"] if "area_name" in rows else pd.Series("", index=rows.index)
    geo = rows["geography"] if "geography" in rows else pd.Series("current", index=rows.index)
    note = np.where(
        geo.eq("predecessor area"),
        "; figures for " + area.astype(str) + " (predecessor area)",
        np.where(geo.eq("merged"), "; predecessors summed (boundary-approximate)", ""),
    )
    rows["definition"] = rows["period"].map(ind.definition)
    rows["segment"] = rows["definition"] + note
    return rows


def _segments(
    t: pd.DataFrame, ind: Indicator
) -> tuple[pd.DataFrame, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Every council's rows with a value, labelled (:func:`_label_segments`) and ordered by
    period; the positions of each council's rows (oldest first); their periods and segments."""
    rows = _label_segments(t[t["value"].notna()].sort_values("period", kind="stable").copy(), ind)
    where = rows.groupby("council_code", sort=False, observed=True).indices
    return rows, where, rows["period"].to_numpy(dtype=object), rows["segment"].to_numpy()


def trend_frame(key: str, council: str, neighbours: tuple[str, ...]) -> pd.DataFrame:
    """Per period: the council, its neighbours (combined or median) and England, long format, with
    the ``definition`` each period belongs to and the ``segment`` (definition, and for the council
    the area its figure describes): charts and trends never join across either."""
    from asc_evidence import evidence

    t = indicators.get(key)  # made once per council and indicator (the chart and the trends)
    args = (council, tuple(neighbours))
    frame = evidence.memo(key, t, "trend_frame", args, lambda: _trend_frame(key, *args))
    return frame.copy()


def _trend_frame(key: str, council: str, neighbours: tuple[str, ...]) -> pd.DataFrame:
    ind = INDICATORS[key]
    t = indicators.get(key)
    name = register_by_code().loc[council, "name"]
    parts = []
    mine = council_series(key, council)[["period", "value", "segment"]].assign(series=name)
    parts.append(mine)
    nb = t[t["council_code"].isin(neighbours)]
    if "area_code" in nb:  # two neighbours inheriting one predecessor's figure count once,
        # and a neighbour whose figure is the council's own area (before a split) not at all
        own = t.loc[t["council_code"] == council, ["period", "area_code"]]
        mine = set(_pairs(own))
        nb = nb[np.array([pair not in mine for pair in _pairs(nb)], dtype=bool)]
        nb = nb.drop_duplicates(["period", "area_code"])
    g = combined_value(nb, ind, by="period").reset_index()
    parts.append(g.assign(series=f"Neighbours ({combined_label(ind)})"))
    parts.append(t[t["council_code"] == ENGLAND][["period", "value"]].assign(series="England"))
    out = pd.concat(parts, ignore_index=True).dropna(subset=["value"])
    out["definition"] = out["period"].map(ind.definition)
    out["segment"] = out["segment"].fillna(out["definition"])
    return out.sort_values(["series", "period"]).reset_index(drop=True)


def _pairs(rows: pd.DataFrame) -> list[tuple[str, str | None]]:
    """Each row's (period, area), a missing area as None (as a merge on the two columns would
    match them: pandas joins missing keys with missing keys)."""
    areas = rows["area_code"].astype(object)
    return list(zip(rows["period"], areas.where(areas.notna(), None), strict=True))


def recent_trend(key: str, council: str, upto: str | None = None) -> trends.RecentTrend:
    """Fingertips recent trend of the council: the last 5 points of its newest segment (one
    definition, one area), up to ``upto``.

    Proportions with counts: chi-square test for linear trend on the counts; rates: weighted slope
    from the 95% intervals (exact Poisson, quasi-Poisson for delayed transfers), not calculated
    when a year rests on fewer than ``trends.MIN_TREND_COUNT`` events (exact Poisson only:
    :func:`events`); survey estimates:
    weighted slope from their published 95% intervals (value +/- margin of error); prices have no
    interval, so no marker ("Cannot be calculated"). Approximated counts are named in ``method``.
    """
    from asc_evidence import evidence

    ind = INDICATORS[key]
    stored = evidence.recent_trend(key, council, upto, indicators.get(key))
    if stored is not None:
        return stored
    mine = latest_segment(key, council, upto)
    approx = mine["flag"].str.contains("approximation", regex=False).any() if len(mine) else False
    if ind.kind == "price":
        r = trends.recent_trend(
            mine["period"], value=mine["value"], lower95=np.full(len(mine), np.nan),
            upper95=np.full(len(mine), np.nan), kind="value", polarity=ind.polarity,
        )  # fmt: skip
    elif ind.kind == "survey":  # value and its published 95% interval
        lo, hi = survey_interval(mine["value"], mine.get("moe", np.nan))
        r = trends.recent_trend(
            mine["period"], value=mine["value"], lower95=lo, upper95=hi, kind="value",
            polarity=ind.polarity,
        )  # fmt: skip
    elif ind.kind == "proportion" and mine["numerator"].notna().all():
        r = trends.recent_trend(
            mine["period"], numerator=mine["numerator"].round(),
            denominator=mine["denominator"].round(), kind="proportion", polarity=ind.polarity,
        )  # fmt: skip
    elif (ci := evidence.row_intervals(key, indicators.get(key), mine)) is not None:
        r = trends.recent_trend(
            mine["period"], value=mine["value"], lower95=ci[0], upper95=ci[1], kind="value",
            polarity=ind.polarity, counts=events(ind, mine),
        )  # fmt: skip
    else:
        lo, hi = np.full(len(mine), np.nan), np.full(len(mine), np.nan)
        for i, (period, x, n) in enumerate(
            zip(mine["period"], mine["numerator"], mine["denominator"], strict=True)
        ):  # each year with its own D(mu) (delays) or 1
            ci = intervals(ind, x, n, within_dispersion(ind, period))[0.95]
            lo[i], hi[i] = ci[0][0], ci[1][0]
        r = trends.recent_trend(
            mine["period"], value=mine["value"], lower95=lo, upper95=hi, kind="value",
            polarity=ind.polarity, counts=events(ind, mine),
        )  # fmt: skip
    if approx:
        r = dataclasses.replace(r, method=r.method + APPROXIMATED_TREND)
    return r


#: Added to the ``method`` of a recent trend on approximated counts or populations.
APPROXIMATED_TREND = "; some counts or populations approximated (see flags), so indicative"


def trend_indicative(r: trends.RecentTrend) -> bool:
    """Whether a recent trend of :func:`recent_trend` is significant on approximated counts or
    populations (shown "indicative" beside its marker)."""
    return r.significant and r.method.endswith(APPROXIMATED_TREND)


def events(ind: Indicator, rows: pd.DataFrame) -> pd.Series | None:
    """The events behind each row's exact Poisson interval (its numerator), for the small-count
    rule of the recent trend (``trends.MIN_TREND_COUNT``); None for delayed days (quasi-Poisson
    intervals on days, not events: see :func:`asc_evidence.verdict.within_dispersion`)."""
    return None if ind.section == "delayed_discharges" else rows["numerator"]


def _signed(text: str) -> str:
    """'+' before a positive number written as text (not before 0 or a negative)."""
    return text if text.startswith("-") or not text.strip("0.,") else "+" + text


def _per_year(x: float, relative: bool) -> str:
    """A yearly change: '+3.2%' (relative, from a GLM) or '-0.21' (value units a year)."""
    if x is None or not np.isfinite(x):
        return ""
    return _signed(number(100 * x, 1)) + "%" if relative else _signed(number(x, 2))


def trend_summary(
    key: str, council: str, neighbours: tuple[str, ...], upto: str | None = None
) -> pd.DataFrame:
    """Is it getting better? Within the council's newest segment only (one definition and one
    area: never across a series break or a boundary change), up to ``upto``:

    * the Fingertips recent trend (:func:`recent_trend`);
    * the annual change over the whole segment: Poisson/binomial GLM
      (:func:`~asc_evidence.stats.trends.trend_test`) where every year has published counts and
      an exact denominator (no approximation flag: numerator, denominator or population), else
      the least-squares slope of the values (:func:`~asc_evidence.stats.trends.value_trend`);
    * whether the *size* of the gap to England and to the neighbours is narrowing
      (:func:`~asc_evidence.stats.trends.gap_trend`), naming any crossing.

    Columns (plain words, as text): ``Change a year``, :data:`CI_LOWER`, :data:`CI_UPPER`,
    ``Verdict``, ``Method`` (footnote number), indexed by ``Measure``; ``attrs["notes"]`` holds
    the definition of the segment and each method. Relative changes (GLMs) read "+3.2%", slopes
    are in the indicator's unit per year.
    """
    ind = INDICATORS[key]
    frame = trend_frame(key, council, neighbours)
    name = register_by_code().loc[council, "name"]
    mine = latest_segment(key, council, upto)
    segment = list(mine["period"])
    frame = frame[frame["period"].isin(segment)]
    span = f"{segment[0]} to {segment[-1]}" if segment else ""
    defn = mine["segment"].iloc[-1] if len(mine) else ""
    rows = []
    rt = recent_trend(key, council, upto)
    chi2 = f" (chi-square {number(rt.chi2, 1)})" if rt.significant else ""
    rows.append(
        {
            "measure": f"{name}: recent trend ({', '.join(map(str, rt.periods)) or 'no run of 5 years'})",
            "estimate": "", "lower95": "", "upper95": "",
            "verdict": rt.marker
            + (f" ({rt.reason})" if rt.reason and not rt.significant else "")
            + (" (indicative: counts or populations approximated)" if trend_indicative(rt) else "")
            + chi2,
            "method": rt.method,
        }
    )  # fmt: skip
    series = frame[frame["series"] == name].set_index("period")["value"]
    if len(series) >= 3:
        exact = (  # published counts over exact denominators (no approximation flag)
            ind.kind != "price"
            and mine["numerator"].notna().all()
            and not mine["flag"].str.contains("approximation", regex=False).any()
            and "dispersion" not in mine
        )
        if exact:
            r = trends.trend_test(
                mine["period"], mine["numerator"], mine["denominator"], kind=ind.kind
            )
        else:
            r = trends.value_trend(series.index, series.to_numpy())
            if mine["numerator"].notna().all() and ind.kind != "price":  # why not the GLM
                # values over an approximated population are the package's own rates
                population = mine["flag"].map(approximated).str.startswith("the population")
                why = ", and ".join(
                    ["counts overdispersed within a council"] * ("dispersion" in mine)
                    + ["some values over an approximated population (another year's estimate, "
                       "or interpolated) make the slope partly the change in the count, not in "
                       "the rate: indicative"] * bool(population.any())
                ) or "counts approximated from the published values"  # fmt: skip
                r = dataclasses.replace(
                    r,
                    method=r.method.replace("no counts", why),
                    direction=r.direction  # a change found, on approximated values
                    + (
                        " (indicative)"
                        if population.any() and r.direction != "no clear trend"
                        else ""
                    ),
                )
        rel = r.relative
        rows.append(
            {
                "measure": f"{name}: change a year, {span}",
                "estimate": _per_year(r.annual_change, rel),
                "lower95": _per_year(r.lower, rel), "upper95": _per_year(r.upper, rel),
                "verdict": r.direction, "method": r.method,
            }
        )  # fmt: skip
        for comp in ("England", f"Neighbours ({combined_label(ind)})"):
            other = frame[frame["series"] == comp].set_index("period")["value"]
            if len(series.index.intersection(other.index)) >= 3:
                g = trends.gap_trend(series, other)
                rows.append(
                    {
                        "measure": f"size of the gap to {comp}: change a year, {span}",
                        "estimate": _per_year(g.slope, False),
                        "lower95": _per_year(g.lower, False),
                        "upper95": _per_year(g.upper, False),
                        "verdict": g.verdict + (f"; {g.note}" if g.note else ""),
                        "method": g.method,
                    }
                )  # fmt: skip
    out = pd.DataFrame(
        rows, columns=["measure", "estimate", "lower95", "upper95", "verdict", "method"]
    )
    out = out.rename(
        columns={
            "measure": "Measure",
            "estimate": "Change a year",
            "lower95": CI_LOWER,
            "upper95": CI_UPPER,
            "verdict": "Verdict",
        }
    )
    out = footnotes(out, "method", new="Method", common_label="Method of every row")
    relative = any(str(e).endswith("%") for e in out["Change a year"])
    notes = [f"Definition: {defn}." if defn else ""]
    notes.append(
        "Changes a year in %: relative change from a Poisson or binomial model of the counts."
        if relative
        else f"Changes a year in {ind.unit}."
    )
    notes = [n for n in notes if n] + out.attrs["notes"]
    shown = for_display(out, "Measure")
    shown.attrs["notes"] = notes
    return shown


#: Most points labelled on a funnel plot (the council, then outlying neighbours, then outliers).
MAX_FUNNEL_LABELS = 8


def funnel_key(adjusted: bool) -> str:
    """The one-line key of a funnel plot, in plain English."""
    widened = (
        "widened for the normal variation between councils"
        if adjusted
        else "not widened (councils vary no more than chance)"
    )
    return (
        f"Solid lines: 99.8% limits; dashed lines: 95% limits; both around England's value and "
        f"{widened}."
    )


def funnel_labels(v: Verdict, neighbours: tuple[str, ...]) -> pd.DataFrame:
    """Rows of the verdict's funnel table to label, in priority order: the council, its
    neighbours outside the adjusted 99.8% limits, then the other councils outside them (largest
    |z| first), at most :data:`MAX_FUNNEL_LABELS`. Columns ``area_code, council_name,
    denominator, value, who`` (``council``, ``neighbour``, ``outlier``)."""
    table = v.funnel.table if v.funnel is not None else pd.DataFrame()
    if table.empty:
        return pd.DataFrame(columns=["area_code", "council_name", "denominator", "value", "who"])
    nb_areas = set(areas_of(v.indicator, neighbours, v.period)) - {v.area_code}
    out = table["flag99_8_adj"].astype(str).isin(["above", "below"])
    who = np.where(
        table["area_code"].eq(v.area_code),
        "council",
        np.where(
            table["area_code"].isin(nb_areas) & out, "neighbour", np.where(out, "outlier", "")
        ),
    )
    t = table.assign(who=who, _abs_z=table["z"].abs())
    t = t[t["who"] != ""]
    t["_order"] = t["who"].map({"council": 0, "neighbour": 1, "outlier": 2})
    t = t.sort_values(["_order", "_abs_z", "area_code"], ascending=[True, False, True])
    cols = ["area_code", "council_name", "denominator", "value", "who"]
    return t[cols].head(MAX_FUNNEL_LABELS).reset_index(drop=True)


def funnel_figure(v: Verdict, neighbours: tuple[str, ...]) -> plt.Figure | None:
    """Funnel plot of every council for the verdict's period (drawn from
    :meth:`FunnelResult.curve` and ``.table``), with a one-line key in plain English.

    The council is named in the legend; neighbours are blue, other councils grey. Only the
    council, neighbours outside the adjusted 99.8% limits and other such outliers are labelled
    (:func:`funnel_labels`), placed without overlap (:func:`asc_evidence.charts.place_labels`).
    None when the verdict has no funnel (prices; too few councils with counts). The x-axis is the
    indicator's ``denominator_label`` (log scale); the caption is its ``source`` and the model.
    """
    import matplotlib.pyplot as plt

    from asc_evidence import charts

    ind = INDICATORS[v.indicator]
    res = v.funnel
    if res is None:
        return None
    table = res.table
    adjusted = res.adjustment != "none" and res.tau2 > 0
    curve = res.curve()
    fig, ax = plt.subplots(figsize=(11, 6))
    charts.margins(fig, left=1.0, right=2.7, top=0.8, bottom=0.8)
    ax.axhline(res.target, color=charts.ENGLAND_COLOUR, lw=1, label=f"England ({res.target:,.1f})")
    for tag, style in (("95", "--"), ("99_8", "-")):
        for side in ("lower", "upper"):
            col = f"{side}{tag}_adj" if adjusted else f"{side}{tag}"
            ax.plot(curve["denominator"], curve[col], color=charts.LIMITS, ls=style, lw=1.2)
    codes = table["area_code"]
    nb_areas = set(areas_of(v.indicator, neighbours, v.period)) - {v.area_code}
    mine = codes.eq(v.area_code).to_numpy()
    nb = codes.isin(nb_areas).to_numpy()
    rest = ~(mine | nb)
    ax.scatter(table["denominator"][rest], table["value"][rest], s=14, color=charts.OTHER,
               alpha=0.8, label="Other councils", zorder=2)  # fmt: skip
    ax.scatter(table["denominator"][nb], table["value"][nb], s=28, color=charts.NEIGHBOUR,
               label="Neighbours", zorder=3)  # fmt: skip
    ax.scatter(table["denominator"][mine], table["value"][mine], s=70, color=charts.COUNCIL,
               edgecolor="black", label=v.council_name, zorder=4)  # fmt: skip
    charts.log_x(ax)
    ax.set(xlabel=ind.denominator_label, ylabel=ind.unit)
    ax.set_title(f"{ind.title}, {v.period}", pad=22)
    ax.text(0, 1.015, funnel_key(adjusted), transform=ax.transAxes, fontsize=8, va="bottom")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    charts.caption(
        fig,
        f"{ind.source}. Model: {res.model_description(centre_label='England')} "
        "(Spiegelhalter 2005, 2012)",
        v.period,
    )
    lab = funnel_labels(v, neighbours)
    colour = {"council": "black", "neighbour": charts.NEIGHBOUR, "outlier": "dimgrey"}
    charts.place_labels(
        ax,
        lab["denominator"].to_numpy(dtype=float),
        lab["value"].to_numpy(dtype=float),
        lab["council_name"].astype(str).tolist(),
        colours=[colour[w] for w in lab["who"]],
        avoid=(table["denominator"].to_numpy(dtype=float), table["value"].to_numpy(dtype=float)),
    )
    return fig


def ranked_figure(v: Verdict, neighbours: tuple[str, ...]) -> plt.Figure | None:
    """The council and its neighbours ranked by value in the verdict's period, England as a line.

    The cross-sectional chart for prices (which have no funnel); None when no one has a figure.
    """
    from asc_evidence import charts

    ind = INDICATORS[v.indicator]
    by_code = _council_rows(v.indicator, v.period)
    neighbours, _ = _apart(by_code, v.council_code, neighbours)  # as in the table
    rows = by_code.reset_index()
    shown = rows[rows["council_code"].isin([v.council_code, *neighbours])]
    if shown["value"].notna().sum() == 0:
        return None
    return charts.ranked_bars(
        rows,
        council=v.council_code,
        neighbours=list(neighbours),
        title=f"{ind.title}, {v.period}: council and neighbours",
        xlabel=ind.unit,
        source=ind.source,
        period=v.period,
        england=v.england,
    )


def trend_figure(key: str, council: str, neighbours: tuple[str, ...]) -> plt.Figure:
    """Trend chart of :func:`trend_frame`: one segment per definition, captioned from the spec."""
    from asc_evidence import charts

    ind = INDICATORS[key]
    frame = trend_frame(key, council, neighbours)
    name = register_by_code().loc[council, "name"]
    return charts.trend_lines(
        frame,
        colours={
            name: charts.COUNCIL,
            f"Neighbours ({combined_label(ind)})": charts.NEIGHBOUR,
            "England": charts.ENGLAND_COLOUR,
        },
        title=f"{ind.title}: trend",
        ylabel=ind.unit,
        source=ind.source,
        period=f"{frame['period'].min()} to {frame['period'].max()}",
    )


def monthly_delays(council: str, responsible: str = "social_care") -> pd.Series:
    """Monthly delayed beds per day per 100,000 adults for the council (index 'YYYY-MM').

    A recoded council's months include those under its old code; a council created by a split
    shows its predecessor's months (the area then: ``attrs['predecessor']`` names it). Merged
    predecessors' rates cannot be added month by month and are left out.
    """
    from asc_evidence.councils import lineage, lookup

    codes = [c for c, rel in lineage(council) if rel in ("self", "recode", "predecessor area")]
    dt = indicators.monthly_delays(responsible)
    dt = dt[dt["council_code"].isin(codes)].dropna(subset=["rate"])
    order = {c: i for i, c in enumerate(codes)}  # the council's own month wins over a predecessor's
    dt = dt.assign(_o=dt["council_code"].map(order)).sort_values(["period", "_o"])
    dt = dt.drop_duplicates("period")
    out = pd.Series(
        dt["rate"].to_numpy(),
        index=dt["period"].to_numpy(),
        name="delayed beds per day per 100,000 adults",
    )
    preds = [
        lookup(c).name for c, rel in lineage(council)
        if rel == "predecessor area" and c in set(dt["council_code"])
    ]  # fmt: skip
    out.attrs["predecessor"] = ", ".join(preds)
    return out


def spc_figure(
    council: str, key: str = "delayed_social_care", baseline: int | None = 24
) -> tuple[pd.DataFrame, plt.Figure | None]:
    """XmR chart of a delayed-transfer indicator's monthly rate (limits from the first ``baseline``
    months), captioned with the indicator's source."""
    import matplotlib.pyplot as plt

    from asc_evidence import charts

    ind = INDICATORS[key]
    responsible = indicators.delay_responsibility(ind)
    s = monthly_delays(council, responsible)
    if len(s) < 12:  # e.g. councils created after the collection ended in 2020
        return pd.DataFrame(columns=["variation"]), None
    res = spc.xmr(s, polarity="lower", baseline=baseline)
    fig, ax = plt.subplots(figsize=(11, 5))
    charts.margins(fig, left=1.0, top=0.45, bottom=1.05)
    name = register_by_code().loc[council, "name"]
    spc.plot_spc(
        ax,
        res,
        title=f"{name}: delayed transfers attributable to {responsible.replace('_', ' ')}, monthly (XmR chart)",
        ylabel="Delayed beds per day per 100,000 adults",
    )
    ax.set_xlabel("Month")
    step = max(1, len(s) // 12)
    ax.set_xticks(range(0, len(s), step))
    ax.set_xticklabels(list(s.index[::step]), rotation=45)
    charts.caption(
        fig,
        f"{ind.source}. XmR chart, {res.attrs['limits']}; rules: {res.attrs['rules']}"
        + (
            f". Before the council existed: {s.attrs['predecessor']} (predecessor area)"
            if s.attrs.get("predecessor")
            else ""
        ),
        f"{s.index[0]} to {s.index[-1]}",
    )
    return res, fig


def spc_summary(res: pd.DataFrame) -> pd.DataFrame:
    """Months of each kind of variation under the SPC chart (``Variation``, ``Months``)."""
    if res.empty:
        return pd.DataFrame({"Months": []}, index=pd.Index([], name="Variation"))
    kinds = res["variation"].value_counts().rename_axis("Variation").reset_index(name="Months")
    kinds["Variation"] = kinds["Variation"].map(_sentence_case)
    return kinds.sort_values("Variation").set_index("Variation")


def funnel_words(v: Verdict) -> str:
    """The funnel verdict in a few plain words (the sentence gives the detail)."""
    if v.funnel998 in ("n/a",):
        return "no test (a price)"
    if v.funnel998 == NO_FUNNEL:
        return "no funnel (a survey: published interval only)"
    if v.funnel998 in ("no figure", "not tested") or v.not_tested_reason:
        return "not tested" if np.isfinite(v.value) else "no figure"
    if v.funnel998 in ("above", "below"):
        word = "higher" if v.funnel998 == "above" else "lower"
        return f"{'indicatively ' if v.approximate else 'significantly '}{word}"
    if v.funnel95 in ("above", "below"):
        return f"{'higher' if v.funnel95 == 'above' else 'lower'}: worth watching"
    if v.lower_limit_zero and v.value < v.england:
        return "lower, cannot be distinguished"
    if v.upper_limit_full and v.value > v.england:
        return "higher, cannot be distinguished"
    return "within normal variation"


def verdict_table(verdicts: list[Verdict]) -> pd.DataFrame:
    """Headline table of verdicts, one row per indicator: both comparisons with England.

    Plain column names; values to 1 decimal (prices to 2); "*" after a value marks an
    approximated count (footnote in ``attrs["notes"]``).
    """
    rows = []
    for v in verdicts:
        d = 2 if INDICATORS[v.indicator].kind == "price" else 1
        rows.append(
            {
                "Indicator": v.title,
                "Period": v.period,
                "Value": number(v.value, d) + (" *" if v.approximate else ""),
                "England": number(v.england, d),
                "Neighbours": number(v.neighbours_value, d),
                "Rank among councils (1 = highest)": f"{v.rank_all} of {v.n_all}"
                if v.rank_all
                else "",
                "Allowing for variation between councils (funnel)": funnel_words(v),
                COMPARED: v.fingertips if v.funnel998 != "n/a" else "",
                "Unit": v.unit,
            }
        )
    out = for_display(pd.DataFrame(rows), "Indicator")
    if any(v.approximate for v in verdicts):
        out.attrs["notes"] = [
            "* The count, its denominator or the population behind the value is approximated "
            "(see the section)."
        ]
    return out


def fees_vs_costs(council: str) -> pd.DataFrame:
    """Price paid to providers against the council's own in-house unit cost and, for 2022-23, its
    Fair Cost of Care median (where extracted), by period, with the ``basis`` of each period.

    Built from :func:`asc_evidence.market.price_table`, so it follows the package's geography rule
    (a recoded council's rows under its old code are its own, e.g. Somerset's ASC-FR rows under
    E10000027; a split successor shows its predecessor's figures, flagged). ``in-house cost
    flagged`` says why an in-house cost is not a fair comparison with the price
    (:func:`asc_evidence.market.flag_in_house`); ``flag`` carries the source and boundary notes.
    Wide table indexed by period, rounded to pence; missing cells blank.
    """
    from asc_evidence import market
    from asc_evidence.councils import require_current

    council = require_current(council).code
    t = market.price_table()
    mine = t[t["council_code"] == council]
    short = {
        market.HOME_CARE: "home care £/hour",
        market.RESIDENTIAL: "residential 65+ £/week",
        market.NURSING: "nursing 65+ £/week",
    }
    basis = {
        market.PSS_PAID: "PSS-EX1 (price: unit cost of care bought from the independent sector)",
        market.PSS_OWN: "PSS-EX1 (price: unit cost of care bought from the independent sector)",
        market.PSS_1415: "PSS-EX1 2014-15 (summed over support reasons; not comparable with "
        "earlier years)",
        market.ASCFR_PAID: "ASC-FR (price: average rate paid to external providers)",
        market.ASCFR_OWN: "ASC-FR (price: average rate paid to external providers)",
        market.FCOC_BASIS: "Fair Cost of Care 2022 (median cost of care; extracted, not official)",
    }
    columns = [
        f"{short[s]}: {r}"
        for s in market.SERVICES
        for r in (market.PAID, market.IN_HOUSE, market.FCOC)
        if not (s == market.NURSING and r == market.IN_HOUSE)
    ]
    label = mine["service"].map(short) + ": " + mine["series"]
    wide = mine.assign(column=label).pivot_table(
        index="period", columns="column", values="value", aggfunc="first"
    )
    wide = wide.reindex(columns=[c for c in columns if c in set(label)])
    wide.columns.name = None
    per = mine.groupby("period")
    wide.insert(0, "basis", per["basis"].agg(lambda b: "; ".join(sorted({basis[x] for x in b}))))
    bad = mine[mine["implausible"]]
    why = (bad["service"].map(short) + " in-house: " + bad["implausible_reason"]).groupby(
        bad["period"]
    )
    wide["in-house cost flagged"] = why.agg("; ".join).reindex(wide.index)
    said = r"2014-15: summed over primary support reasons; new Care Act categories[^;]*"
    parts = mine["flag"].str.replace(said, "", regex=True).str.split("; ").explode()
    parts = parts[parts.str.strip().ne("")]  # the 2014-15 note is said by the basis
    wide["flag"] = parts.groupby(mine.loc[parts.index, "period"]).agg(
        lambda f: "; ".join(dict.fromkeys(f))
    )
    return for_display(wide.sort_index().round(2))
