"""Benchmark verdicts: how one council compares with England and its neighbours, in plain English.

Two comparisons with England are made for every indicator with counts, and each sentence says which
rule produced which verdict (they answer different questions and may disagree):

1. **Funnel plot with overdispersion** (Spiegelhalter 2005; Spiegelhalter et al. 2012): every
   council's value against England's, with control limits widened for the normal variation between
   councils (additive random effects estimated from 10%-winsorised z-scores on a variance-stabilising
   scale: square root for rates, arcsine for proportions; see :mod:`asc_evidence.stats.funnel`). A
   difference is *significant* only beyond the 99.8% adjusted limit; between the 95% and 99.8% limits
   it is "worth watching"; inside the 95% limit it is within normal variation. Where the adjusted
   99.8% lower limit is 0 at the council's size, a lower value cannot be distinguished from England
   by this test, and the sentence says so instead of "within normal variation".
2. **The Fingertips comparison** (OHID): England's value against the council's own 95% and 99.8%
   confidence intervals (Wilson for proportions, exact Poisson for rates; for delayed transfers on
   quasi-Poisson effective counts, see :mod:`asc_evidence.stats.quasi_poisson`): "Better (99.8%)",
   "Similar", ... by the indicator's polarity. The interval reflects chance within the council only,
   not the variation between councils, so it flags more councils than the funnel does; when the two
   disagree the sentence says why.

Prices (fee rates) have no sampling error to test: the verdict places the council against its
neighbours' median and interquartile range and England, without any claim of significance.

Survey measures (``kind="survey"``: ASCOF quality of life, satisfaction...) are weighted estimates
published with a 95% margin of error and no counts: the council's interval is value +/- margin of
error (:func:`survey_interval`), England's value is compared with it by the Fingertips
single-interval rule (95% only: no 99.8% interval is published), and there is no funnel (nothing
to estimate the variation between councils from). Neighbours are summarised by their median.

Sentences never overstate: approximate numerators are named, "better"/"worse" is said only for
indicators with a declared polarity, and a year that was asked for but has no figure is named.
The numbers are computed first (:class:`Verdict`); :func:`sentence` then writes the words.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from asc_evidence import indicators
from asc_evidence.common import ENGLAND
from asc_evidence.indicators import (
    COUNTED_KINDS,
    HEADLINE,
    INDICATORS,
    MIN_MONTHS,
    Indicator,
    register_cache,
)
from asc_evidence.stats.comparison import compare_with_benchmark
from asc_evidence.stats.funnel import ADJUSTMENTS, SCALES, FunnelResult, funnel_table
from asc_evidence.stats.intervals import proportion_ci, rate_ci
from asc_evidence.stats.quasi_poisson import dispersion_function, overdispersed_rate_ci

MIN_FUNNEL_UNITS = 3
#: Kinds whose group value is the median of the councils' values (no counts to pool).
MEDIAN_KINDS = ("price", "survey")
#: ``funnel95``/``funnel998`` of a survey verdict: compared from the published interval only.
NO_FUNNEL = "no funnel"
NEAR_ZERO = 0.1  # an adjusted lower limit below 10% of England's value cannot show "lower"


@dataclass
class Verdict:
    """A council's standing on one indicator in one period (numbers first; ``sentence`` last)."""

    indicator: str
    title: str
    unit: str
    council_code: str
    council_name: str
    period: str
    area_code: str = ""  # the area the figure describes (a predecessor for inherited figures)
    requested_period: str = ""
    value: float = np.nan
    lower95: float = np.nan
    upper95: float = np.nan
    lower99_8: float = np.nan
    upper99_8: float = np.nan
    respondents: float = np.nan  # survey measures: published number of respondents
    england: float = np.nan
    neighbours_value: float = np.nan
    neighbours_n: int = 0
    neighbours_q1: float = np.nan
    neighbours_q3: float = np.nan
    rank_all: int = 0
    n_all: int = 0
    rank_neighbours: int = 0
    n_ranked_neighbours: int = 0
    funnel95: str = "not tested"
    funnel998: str = "not tested"
    lower_limit_zero: bool = False  # the adjusted 99.8% lower limit is 0 or below 10% of England
    lower_limit_small: bool = False  # ... because the council is small (unadjusted limit also 0)
    upper_limit_full: bool = False  # proportions: the adjusted 99.8% upper limit reaches 100%
    figure_for: str = ""  # the area the figure describes when not the council's own (predecessor)
    funnel_lower99_8: float = np.nan  # adjusted 99.8% limits at the council's denominator
    funnel_upper99_8: float = np.nan
    fingertips: str = "Not compared"
    phi: float = np.nan
    tau2: float = np.nan
    overdispersed: bool = False
    model: str = ""
    not_tested_reason: str = ""
    approximate: bool = False
    flag: str = ""
    sentence: str = ""
    funnel: FunnelResult | None = field(default=None, repr=False)

    def as_row(self) -> dict[str, object]:
        """Scalars for a summary table (drops the funnel object)."""
        d = asdict(self)
        d.pop("funnel")
        return d


# ---------------------------------------------------------------------------------------------
# neighbours


@register_cache
@cache
def neighbour_set(council_code: str, n: int = 15, neighbour_file: str = "") -> tuple[str, ...]:
    """The council's ``n`` statistical neighbours (our model), or from a user-supplied list."""
    from asc_evidence.councils import register
    from asc_evidence.stats.neighbours import load_neighbour_file

    if neighbour_file:
        nn = load_neighbour_file(
            Path(neighbour_file), valid_codes=register()["code"], unknown="drop"
        )
    else:
        nn = neighbour_table(n)
    rows = nn[nn["council_code"] == council_code]
    if "rank" in rows:
        rows = rows.sort_values("rank")
    if rows.empty:
        msg = f"No neighbours for {council_code} in {'the file ' + neighbour_file if neighbour_file else 'the model'}."
        raise KeyError(msg)
    return tuple(rows["neighbour_code"].head(n))


@register_cache
@cache
def neighbour_table(n: int = 15) -> pd.DataFrame:
    """Nearest ``n`` neighbours of every council from the ``council_profile`` table."""
    from asc_evidence import evidence
    from asc_evidence.build import load
    from asc_evidence.stats.neighbours import DEFAULT_WEIGHTS, nearest_neighbours

    stored = evidence.neighbour_table(n)
    if stored is not None:
        return stored
    profile = load("council_profile").set_index("council_code")
    cols = list(DEFAULT_WEIGHTS)
    profile = profile[cols].dropna()
    return nearest_neighbours(profile, n=n)


# ---------------------------------------------------------------------------------------------
# periods


def latest_period(table: pd.DataFrame, council_code: str) -> str:
    """Latest period with a value for the council."""
    rows = table[(table["council_code"] == council_code) & table["value"].notna()]
    if rows.empty:
        msg = f"No values for {council_code} in {table['indicator'].iloc[0] if len(table) else 'this indicator'}."
        raise LookupError(msg)
    return str(rows["period"].max())


def period_for(key: str, council: str, year: str | None) -> str:
    """``year`` if the indicator has a value for the council then, else its latest period."""
    mine = indicators.council_rows(key, council)
    have = mine.loc[mine["value"].notna(), "period"]
    if year and year in set(have):
        return year
    if have.empty:  # no figure at all for this council: show the latest period for the others
        t = indicators.get(key)
        return str(t.loc[t["value"].notna(), "period"].max())
    return str(have.max())


# ---------------------------------------------------------------------------------------------
# the numbers


def _cross_section(key: str, period: str) -> pd.DataFrame:
    """One row per council area in ``period`` (England excluded), indexed by ``area_code``; each
    area once, however many current councils inherit it (see :func:`indicators.cross_section`)."""
    rows = indicators.cross_section(key, period)
    rows = rows[rows["area_code"].str.match(r"^E(06|08|09|10)")]
    return rows.rename(columns={"area_name": "council_name"}).set_index("area_code")


def areas_of(key: str, codes: tuple[str, ...] | list[str], period: str) -> list[str]:
    """The areas (``area_code``) of current councils in ``period``, in order, each once."""
    out: list[str] = []
    for c in codes:
        a = indicators.area_of(key, c, period) or c
        if a not in out:
            out.append(a)
    return out


def _usable(councils_: pd.DataFrame) -> pd.DataFrame:
    """Councils with a published (or flagged approximate) numerator and a positive denominator,
    and (delayed transfers) enough months reported."""
    usable = councils_.dropna(subset=["numerator", "denominator"])
    usable = usable[usable["denominator"] > 0]
    if "months" in usable:
        usable = usable[usable["months"].fillna(12) >= MIN_MONTHS]
    return usable


def within_dispersion(ind: Indicator, period: str):
    """Within-council dispersion: for delayed transfers the year's ``D(mu)`` rising with council
    size, a function of a council's expected annual days (``indicators.delay_variance``); else 1."""
    if ind.section != "delayed_discharges":
        return 1.0
    params = indicators.delay_variance(indicators.delay_responsibility(ind)).set_index("period")
    if period not in params.index or not np.isfinite(params.loc[period, "phi"]):
        return 1.0
    return dispersion_function(params.loc[period])


def _england(
    ind: Indicator, eng_rows: pd.DataFrame, councils_: pd.DataFrame, usable: pd.DataFrame
) -> float:
    """England's published value; else the councils' median (prices) or pooled value (counts)."""
    published = eng_rows["value"].dropna()
    if len(published):
        return float(published.iloc[0])
    if ind.kind == "survey":  # no stand-in for a survey estimate (e.g. 2020-21, voluntary year)
        return np.nan
    if usable.empty:
        return float(councils_["value"].median())
    return float(combined_value(councils_ if ind.kind == "price" else usable, ind))


def _year(key: str, period: str) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """The period's areas (:func:`_cross_section`), those usable in a funnel (:func:`_usable`)
    and England's value (:func:`_england`): made once per indicator and period for the
    evidence's own table (copies are returned, so a caller may change them)."""
    t = indicators.get(key)

    def make() -> tuple[pd.DataFrame, pd.DataFrame, float]:
        councils_ = _cross_section(key, period)
        usable = _usable(councils_)
        eng = indicators.council_rows(key, ENGLAND)
        eng_rows = eng[eng["period"] == period]
        return councils_, usable, _england(INDICATORS[key], eng_rows, councils_, usable)

    from asc_evidence import evidence

    councils_, usable, england = evidence.memo(key, t, "year", (period,), make)
    return councils_.copy(), usable.copy(), england


def england_value(key: str, period: str) -> float:
    """England's value of indicator ``key`` in ``period``, as the verdict uses it (published, else
    computed from the councils: see :func:`_england`)."""
    return _year(key, period)[2]


def pooled_value(rows: pd.DataFrame, ind: Indicator, by: str | None = None) -> float | pd.Series:
    """The value of several councils taken together: sum of numerators / sum of denominators x
    the indicator's multiplier (the one pooling rule of the package).

    Rows lacking either count are left out; NaN where no positive denominator remains. With ``by``
    (e.g. ``"period"``), one value per group, vectorised: a Series indexed by ``by``, named
    ``value``. Pooling weights councils by their denominators, as England's own figure does.
    """
    rows = rows.dropna(subset=["numerator", "denominator"])
    if by is None:
        den = rows["denominator"].sum()
        if rows.empty or den <= 0:
            return np.nan
        return float(rows["numerator"].sum() / den * ind.multiplier)
    g = rows.groupby(by)[["numerator", "denominator"]].sum()
    return (g["numerator"] / g["denominator"].where(g["denominator"] > 0) * ind.multiplier).rename(
        "value"
    )


def combined_value(rows: pd.DataFrame, ind: Indicator, by: str | None = None) -> float | pd.Series:
    """A group of councils' value: :func:`pooled_value` for counts; the median of the values for
    prices and survey estimates (no counts to pool). With ``by``, one value per group (a Series)."""
    if ind.kind not in MEDIAN_KINDS:
        return pooled_value(rows, ind, by)
    if by is None:
        return float(rows["value"].median())
    return rows.groupby(by)["value"].median().rename("value")


def combined_label(ind: Indicator) -> str:
    """How :func:`combined_value` combines: ``"median"`` (prices, surveys) or ``"combined"``."""
    return "median" if ind.kind in MEDIAN_KINDS else "combined"


def intervals(
    ind: Indicator, numerator, denominator, dispersion=1.0
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """95% and 99.8% intervals of the value, vectorised: ``{level: (lower, upper)}`` in value units.

    Proportions: Wilson score (Wilson 1927). Rates: exact Poisson (Garwood 1936) on the effective
    counts ``numerator / dispersion`` over ``denominator / dispersion`` (quasi-Poisson; dispersion 1
    is plain Poisson). NaN where a count is missing.
    """
    x = np.atleast_1d(np.asarray(numerator, dtype=float))
    n = np.atleast_1d(np.asarray(denominator, dtype=float))
    d = None
    if not callable(dispersion):
        d = np.broadcast_to(np.asarray(dispersion, dtype=float), x.shape)
        d = np.where(np.isfinite(d) & (d > 0), d, 1.0)
    ok = np.isfinite(x) & np.isfinite(n) & (n > 0) & (x >= 0)
    out: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    for level in (0.95, 0.998):
        lo = np.full(x.shape, np.nan)
        hi = np.full(x.shape, np.nan)
        if ok.any():
            if ind.kind == "proportion":
                ci = proportion_ci(
                    np.round(x[ok]), np.round(n[ok]), confidence=level, method="wilson"
                )
                lo[ok], hi[ok] = np.asarray(ci.lower) * 100, np.asarray(ci.upper) * 100
            elif ind.kind == "rate":
                if d is None:  # D(mu) at each limit (quasi_poisson.overdispersed_rate_ci)
                    ci = overdispersed_rate_ci(
                        x[ok], n[ok], dispersion, multiplier=ind.multiplier, confidence=level
                    )
                else:
                    ci = rate_ci(
                        x[ok] / d[ok], n[ok] / d[ok], multiplier=ind.multiplier, confidence=level
                    )
                lo[ok], hi[ok] = np.asarray(ci.lower), np.asarray(ci.upper)
        out[level] = (lo, hi)
    return out


def survey_interval(value, moe) -> tuple[np.ndarray, np.ndarray]:
    """95% interval of survey estimates, vectorised: ``(value - moe, value + moe)``.

    ``moe`` is the margin of error the publisher gives with each estimate (ASCOF: at the 95%
    level, from the weighted survey design; see
    :data:`asc_evidence.sources.ascof.MOE_CONFIDENCE`). Assumes a symmetric interval, as published;
    margins are rounded to 1 decimal place (a published 0 means below 0.05). NaN where either is
    missing.
    """
    v = np.atleast_1d(np.asarray(value, dtype=float))
    m = np.atleast_1d(np.asarray(moe, dtype=float))
    return v - m, v + m


def _funnel(
    ind: Indicator, usable: pd.DataFrame, england: float, dispersion=1.0
) -> FunnelResult | None:
    """Funnel of all councils with counts around England (None with too few councils)."""
    if len(usable) < MIN_FUNNEL_UNITS or not np.isfinite(england) or england <= 0:
        return None
    if ind.kind == "proportion" and england >= ind.multiplier:
        return None  # a 100% benchmark leaves nothing to vary about
    kind = "proportion" if ind.kind == "proportion" else "rate"
    return funnel_table(
        usable.reset_index(),
        "numerator",
        "denominator",
        kind,
        target=england,
        multiplier=ind.multiplier,
        dispersion=dispersion,
    )


def _stored_or_funnel(
    ind: Indicator, table: pd.DataFrame, period: str, usable: pd.DataFrame, england: float, disp
) -> FunnelResult | None:
    """The period's funnel from the evidence tables when ``table`` is theirs, else computed."""
    from asc_evidence import evidence

    res = evidence.funnel(ind.key, period, table, disp)
    return _funnel(ind, usable, england, disp) if res is evidence.NOT_STORED else res


def _stored_or_intervals(
    ind: Indicator, table: pd.DataFrame, period: str, code: str, row: pd.Series, disp
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """The council's intervals from the evidence tables when ``table`` is theirs, else computed."""
    from asc_evidence import evidence

    ci = evidence.council_intervals(ind.key, table, period, code)
    return intervals(ind, row["numerator"], row["denominator"], disp) if ci is None else ci


def _figure_for(row: pd.Series, geography: str) -> str:
    """Words for a figure that describes another area than the council's own (else "")."""
    from asc_evidence.councils import lookup

    if geography == "predecessor area":
        return f"{row['council_name']}, the predecessor area"
    if geography == "merged":
        codes = [c for c in str(row.get("source_codes", "")).split(";") if c]
        names = " + ".join(lookup(c).name for c in codes) or str(row["council_name"])
        return f"{names} summed (boundary-approximate)"
    return ""


def _rank(values: pd.Series, code: str) -> tuple[int, int]:
    v = values.dropna()
    if code not in v.index:
        return 0, len(v)
    return int(v.rank(ascending=False, method="min")[code]), len(v)


def _why_missing(table: pd.DataFrame, code: str, period: str) -> str:
    from asc_evidence.councils import BOUNDARY_CHANGES, lookup

    rows = table[(table["council_code"] == code) & (table["period"] == period)]
    if len(rows) and rows["flag"].iloc[0]:
        return rows["flag"].iloc[0].split(";")[0]
    council = lookup(code)
    if "area_code" in table and council.valid_from and period < council.valid_from[:4]:
        pass  # created later and no predecessor figure: say so below
    if council.valid_from:
        preds = [p for ch in BOUNDARY_CHANGES if code in ch.successors for p in ch.predecessors]
        names = ", ".join(lookup(p).name for p in preds)
        return f"the council was created on {council.valid_from}; earlier figures are for {names}"
    return "not published for this council"


def benchmark(
    key: str,
    council_code: str,
    period: str | None = None,
    neighbours: tuple[str, ...] | list[str] = (),
    requested: str | None = None,
) -> Verdict:
    """Verdict for one council on indicator ``key`` in ``period`` (default: the latest it has).

    ``requested`` is the year the user asked for, when ``period`` differs from it (the sentence
    names both). Made once per process for the evidence's own tables (a report's headline page
    and its sections ask for the same verdicts); each call returns its own copy.
    """
    from asc_evidence import evidence

    args = (council_code, period, tuple(neighbours), requested)
    made = evidence.memo(key, indicators.get(key), "verdict", args, lambda: _benchmark(key, *args))
    return copy.copy(made)


def _benchmark(
    key: str,
    council_code: str,
    period: str | None,
    neighbours: tuple[str, ...],
    requested: str | None,
) -> Verdict:
    """:func:`benchmark`, computed."""
    ind = indicators.spec(key)
    table = indicators.get(key)
    mine = indicators.council_rows(key, council_code)
    period = period or latest_period(mine, council_code)
    v = _numbers(ind, table, council_code, period, tuple(neighbours))
    v.requested_period = requested or ""
    v.sentence = sentence(v, ind, _gap_note(table, mine, period, requested))
    return v


def _numbers(
    ind: Indicator, table: pd.DataFrame, code: str, period: str, neighbours: tuple[str, ...]
) -> Verdict:
    """Every number of the verdict (no words yet)."""
    from asc_evidence.councils import lookup

    councils_, usable, england = _year(ind.key, period)
    disp = within_dispersion(ind, period)
    res = (
        _stored_or_funnel(ind, table, period, usable, england, disp)
        if ind.kind in COUNTED_KINDS
        else None
    )
    name = lookup(code).name
    area = indicators.area_of(ind.key, code, period) or code
    base = {
        "area_code": area,
        "indicator": ind.key,
        "title": ind.title,
        "unit": ind.unit,
        "council_code": code,
        "period": period,
        "england": england,
        "funnel": res,
        "phi": float(res.phi) if res else np.nan,
        "tau2": float(res.tau2) if res else np.nan,
        "overdispersed": bool(res.overdispersed) if res else False,
        "model": res.model_description(centre_label="England") if res else "",
    }
    if area not in councils_.index or pd.isna(councils_.loc[area, "value"]):
        return Verdict(
            council_name=name,
            n_all=int(councils_["value"].notna().sum()),
            funnel95="no figure",
            funnel998="no figure",
            not_tested_reason=_why_missing(table, code, period),
            **base,
        )
    row = councils_.loc[area]
    nb = [a for a in areas_of(ind.key, neighbours, period) if a in councils_.index and a != area]
    rank_all, n_all = _rank(councils_["value"], area)
    rank_nb, n_nb = _rank(councils_.loc[[area, *nb], "value"], area)
    flag = str(row["flag"])
    geography = str(row.get("geography", "current"))
    v = Verdict(
        council_name=name,
        figure_for=_figure_for(row, geography),
        value=float(row["value"]),
        rank_all=rank_all,
        n_all=n_all,
        rank_neighbours=rank_nb,
        n_ranked_neighbours=n_nb,
        approximate="approximation" in flag,
        flag=flag,
        **base,
    )
    if ind.kind == "survey":
        return _survey_numbers(v, ind, row, councils_.loc[nb, "value"] if nb else None)
    if ind.kind == "price":
        nb_vals = councils_.loc[nb, "value"].dropna() if nb else pd.Series(dtype=float)
        v.neighbours_value = combined_value(nb_vals.to_frame(), ind) if len(nb_vals) else np.nan
        v.neighbours_n = len(nb_vals)
        if len(nb_vals) >= 4:
            v.neighbours_q1 = float(nb_vals.quantile(0.25))
            v.neighbours_q3 = float(nb_vals.quantile(0.75))
        v.funnel95 = v.funnel998 = "n/a"
        v.not_tested_reason = "prices are not samples"
        return v
    nbu = usable.loc[[c for c in nb if c in usable.index]]
    v.neighbours_value = pooled_value(nbu, ind)
    v.neighbours_n = len(nbu)
    ci = _stored_or_intervals(ind, table, period, code, row, disp)
    v.lower95, v.upper95 = float(ci[0.95][0][0]), float(ci[0.95][1][0])
    v.lower99_8, v.upper99_8 = float(ci[0.998][0][0]), float(ci[0.998][1][0])
    months = row.get("months", np.nan)
    if pd.notna(months) and months < MIN_MONTHS:
        v.not_tested_reason = (
            f"only {int(months)} months reported in {period}; at least {MIN_MONTHS} are needed "
            "for an annual verdict"
        )
        v.lower95 = v.upper95 = v.lower99_8 = v.upper99_8 = np.nan
        return v
    v.fingertips = str(
        np.atleast_1d(
            compare_with_benchmark(
                england, v.lower95, v.upper95, v.lower99_8, v.upper99_8, polarity=ind.polarity
            )
        )[0]
    )
    if res is None:
        v.not_tested_reason = (
            f"England's value ({england:,.1f}) gives no funnel: a proportion of 0 or 100%"
            if ind.kind == "proportion" and np.isfinite(england) and england in (0.0, 100.0)
            else "England has no value to compare with"
            if not np.isfinite(england) or england <= 0
            else f"no council has a count for {period}: none is published or could be derived"
            if usable.empty
            else f"too few councils with counts in {period} ({len(usable)}) to estimate the "
            "normal variation between councils"
        )
        return v
    ft = res.table.set_index("area_code")
    if area not in ft.index:
        v.not_tested_reason = "no published count for this council"
        return v
    v.funnel95 = str(ft.loc[area, "flag95_adj"])
    v.funnel998 = str(ft.loc[area, "flag99_8_adj"])
    v.funnel_lower99_8 = float(ft.loc[area, "lower99_8_adj"])
    v.funnel_upper99_8 = float(ft.loc[area, "upper99_8_adj"])
    v.lower_limit_zero = bool(v.funnel_lower99_8 <= NEAR_ZERO * england)
    v.lower_limit_small = bool(ft.loc[area, "lower99_8"] <= NEAR_ZERO * england)
    if ind.kind == "proportion":
        v.upper_limit_full = bool(v.funnel_upper99_8 >= 100.0 * (1 - 1e-9))
    return v


def _survey_numbers(
    v: Verdict, ind: Indicator, row: pd.Series, nb_values: pd.Series | None
) -> Verdict:
    """A survey verdict's numbers: the published 95% interval, the Fingertips single-interval
    comparison with England, the neighbours' median and middle half; no funnel."""
    lo, hi = survey_interval(row["value"], row.get("moe", np.nan))
    v.lower95, v.upper95 = float(lo[0]), float(hi[0])
    v.respondents = float(row.get("respondents", np.nan))
    nb_vals = nb_values.dropna() if nb_values is not None else pd.Series(dtype=float)
    v.neighbours_value = float(nb_vals.median()) if len(nb_vals) else np.nan
    v.neighbours_n = len(nb_vals)
    if len(nb_vals) >= 4:
        v.neighbours_q1 = float(nb_vals.quantile(0.25))
        v.neighbours_q3 = float(nb_vals.quantile(0.75))
    v.funnel95 = v.funnel998 = NO_FUNNEL
    outcome = compare_with_benchmark(v.england, v.lower95, v.upper95, polarity=ind.polarity)
    v.fingertips = str(np.atleast_1d(outcome)[0])  # single-interval rule: only 95% is published
    return v


# ---------------------------------------------------------------------------------------------
# the words


def _direction(value: float, ref: float, decimals: int = 1) -> str:
    """Higher / lower than the reference, or "about the same as" when equal as displayed."""
    if np.isnan(value) or np.isnan(ref):
        return "not comparable with"
    if round(value, decimals) == round(ref, decimals):
        return "about the same as"
    return "higher than" if value > ref else "lower than"


def _better_worse(direction: str, polarity: str) -> str:
    if polarity == "neutral" or direction not in ("higher than", "lower than"):
        return ""
    good = (direction == "higher than") == (polarity == "higher")
    return "better" if good else "worse"


def _gap_note(table: pd.DataFrame, mine: pd.DataFrame, period: str, requested: str | None) -> str:
    """Why the period shown is not the one asked for, or not the newest one published (``mine``:
    the council's rows of ``table``)."""
    if requested and requested != period:
        rows = mine[mine["period"] == requested]
        if len(table[table["period"] == requested]) == 0:
            why = "the indicator has no figures for that year"
        elif len(rows) and rows["flag"].iloc[0]:
            why = rows["flag"].iloc[0].split(";")[0]
        else:
            why = "not published for this council"
        return f" {requested} was asked for, but there is no {requested} figure ({why}), so {period} is shown."
    newest = str(table.loc[table["value"].notna(), "period"].max())
    have = mine.loc[mine["value"].notna(), "period"]
    shown_is_latest = len(have) and str(have.max()) == period  # the council has nothing newer
    later = mine[mine["period"] == newest]
    if not requested and shown_is_latest and newest > period:
        why = later["flag"].iloc[0].split(";")[0] if len(later) and later["flag"].iloc[0] else ""
        why = why or "not published"
        return f" No {newest} figure for this council ({why}), so {period} is shown."
    return ""


def approximated(flag: str) -> str:
    """What a figure's approximation flag approximates, in words ("" when nothing is): the count
    (published rate x population), the count and its denominator (2020-21's denominator), or
    only the population under an exact count (an estimate carried from another year)."""
    if "approximation: numerator" in flag:
        return "the count behind it is approximated from the published rate and ONS population"
    if "approximation: denominator" in flag:
        return "its count and denominator are approximated from 2020-21's denominator"
    if "approximation" in flag and "population" in flag:
        return "the population behind the rate is approximated from other years' estimates"
    return "part of it is approximated" if "approximation" in flag else ""


def _funnel_status(v: Verdict, ind: Indicator, direction: str) -> str:
    """The funnel verdict in words."""
    if v.not_tested_reason:
        return (
            f"{direction} England; whether the difference is more than chance cannot be tested "
            f"({v.not_tested_reason})"
        )
    if v.funnel998 in ("above", "below"):
        bw = _better_worse(direction, ind.polarity)
        if v.approximate:
            return (
                f"{direction} England, beyond the 99.8% control limit after allowing for "
                f"overdispersion, but only indicatively: {approximated(v.flag)}"
                + (f" (it would be {bw})" if bw else "")
            )
        return (
            f"significantly {direction} England (beyond the 99.8% control limit after allowing for "
            f"overdispersion between councils)" + (f": {bw}" if bw else "")
        )
    if v.funnel95 in ("above", "below"):
        return (
            f"{direction} England, beyond the 95% but within the 99.8% limit after allowing for "
            "overdispersion: a possible signal worth watching, not conclusive"
        )
    if direction == "lower than" and v.lower_limit_zero:
        if v.lower_limit_small:
            return (
                "lower than England, but the council is too small (too few expected events) for "
                "a lower value to be distinguished from England's by this test"
            )
        return (
            "lower than England, but councils vary so much that the adjusted 99.8% lower limit "
            f"is close to 0 ({v.funnel_lower99_8:.2g}), so a lower value cannot be distinguished "
            "from England's by this test"
        )
    if direction == "higher than" and v.upper_limit_full:
        return (
            "higher than England, but the adjusted 99.8% upper limit reaches 100%, so a higher "
            "value cannot be distinguished from England's by this test"
        )
    return (
        f"{direction} England; the difference is within what chance and normal variation "
        "between councils would produce"
    )


def _short_model(res: FunnelResult) -> str:
    """One clause naming the funnel model (the chart caption has the full description)."""
    text = (
        f"Funnel on the {SCALES[res.scale]} scale with {ADJUSTMENTS[res.adjustment]} for "
        f"overdispersion between councils, phi = {res.phi:.1f}"
    )
    phrase = res.dispersion_description("council")
    if phrase:
        text += f", {phrase}"
    return text


def _fingertips_status(v: Verdict, quasi_poisson: bool = False) -> str:
    """The Fingertips comparison in words, and why it may disagree with the funnel;
    ``quasi_poisson``: the intervals allow for the spread of delayed days within a council
    (Fingertips' own are plain Poisson)."""
    if v.fingertips == "Not compared" or not np.isfinite(v.lower95):
        return ""
    method = (
        "the Fingertips method, with quasi-Poisson intervals for the spread of delayed days "
        "within a council where Fingertips uses plain Poisson"
        if quasi_poisson
        else "the Fingertips method"
    )
    text = (
        f" Compared with England from its own 95% and 99.8% confidence intervals ({method}): "
        f"{v.fingertips.lower() if v.fingertips == 'Similar' else v.fingertips}."
    )
    funnel_level = (
        "99.8"
        if v.funnel998 in ("above", "below")
        else "95"
        if v.funnel95 in ("above", "below")
        else ""
    )
    ci_level = "99.8" if "99.8%" in v.fingertips else "95" if "(95%)" in v.fingertips else ""
    if v.funnel998 in ("above", "below", "within") and funnel_level != ci_level:
        if ci_level > funnel_level or (ci_level and not funnel_level):
            text += (
                " The two differ because the interval reflects only chance within the council, "
                "not the normal variation between councils that the funnel allows for."
            )
        else:
            text += (
                " The two differ because the interval and the funnel's limits are built "
                "differently (the funnel's limits are centred on England at this council's size)."
            )
    return text


def sentence(v: Verdict, ind: Indicator, note: str = "") -> str:
    """The plain-English verdict from the numbers of ``v``."""
    if not np.isfinite(v.value):
        return (
            f"{v.council_name}: no {v.period} figure ({v.not_tested_reason}). "
            f"England {v.england:,.1f} ({v.unit}).{note}"
        )
    if ind.kind == "price":
        return _price_sentence(v, ind) + note
    if ind.kind == "survey":
        return _survey_sentence(v, ind) + note
    fmt = "{:,.1f}"
    direction = _direction(v.value, v.england)
    status = _funnel_status(v, ind, direction)
    text = (
        f"{v.council_name}: {fmt.format(v.value)} {v.unit} in {v.period}"
        + (f" (figure for {v.figure_for})" if v.figure_for else "")
        + (
            f" (95% CI {fmt.format(v.lower95)} to {fmt.format(v.upper95)})"
            if np.isfinite(v.lower95)
            else ""
        )
        + f", England {fmt.format(v.england)}. {status[0].upper() + status[1:]}."
    )
    if v.funnel is not None and v.funnel998 in ("above", "below", "within"):
        text += f" ({_short_model(v.funnel)}.)"
    text += _fingertips_status(v, quasi_poisson=callable(within_dispersion(ind, v.period)))
    if v.neighbours_n:
        with_figures = v.n_ranked_neighbours - 1  # one count of neighbours per sentence
        pooled = (
            f" (pooling the {v.neighbours_n} with counts)" if v.neighbours_n != with_figures else ""
        )
        text += (
            f" Its {with_figures} neighbours with figures, taken together{pooled}: "
            f"{fmt.format(v.neighbours_value)}. It ranks {v.rank_neighbours} of "
            f"{v.n_ranked_neighbours} (itself and these {with_figures}) and {v.rank_all} of "
            f"{v.n_all} councils (1 = highest)."
        )
    text += note
    if v.approximate:
        why = approximated(v.flag)
        text += f" {why[:1].upper()}{why[1:]} (see flags), so treat the interval as indicative."
    return text


def _survey_sentence(v: Verdict, ind: Indicator) -> str:
    """Survey estimates: value, published interval, the Fingertips comparison with England,
    neighbours' median and rank; no claim beyond the survey's own interval."""
    fmt = "{:,.1f}".format
    who = f"{v.council_name} ({v.figure_for})" if v.figure_for else v.council_name
    text = f"{who}: {fmt(v.value)} ({ind.unit}) in {v.period}"
    if np.isfinite(v.lower95):
        text += (
            f" (95% interval {fmt(v.lower95)} to {fmt(v.upper95)}, from the published margin of "
            f"error of {fmt((v.upper95 - v.lower95) / 2)}"
            + (f"; {v.respondents:,.0f} respondents" if np.isfinite(v.respondents) else "")
            + ")"
        )
    if np.isfinite(v.england):
        outcome = v.fingertips.lower() if v.fingertips == "Similar" else v.fingertips
        text += (
            f", England {fmt(v.england)}. Compared with England from its published survey "
            f"interval (the Fingertips method, one 95% interval): {outcome}."
        )
    else:
        text += f". England has no published figure for {v.period}, so no comparison is made."
    if v.neighbours_n:
        text += f" The median of its {v.neighbours_n} neighbours with figures: {fmt(v.neighbours_value)}."
    if v.rank_all:
        text += (
            f" It ranks {v.rank_neighbours} of {v.n_ranked_neighbours} (itself and its "
            f"{v.n_ranked_neighbours - 1} neighbours with figures) and {v.rank_all} of {v.n_all} "
            "councils (1 = highest)."
        )
    text += (
        " A survey estimate has no counts: its interval reflects sampling error within the "
        "council only, not the normal variation between councils."
    )
    return text


def _price_sentence(v: Verdict, ind: Indicator) -> str:
    """Fees: against the neighbours' median and middle half, and England; no significance."""
    money = "£{:,.2f}"
    who = f"{v.council_name} ({v.figure_for})" if v.figure_for else v.council_name
    parts = [f"{who} paid {money.format(v.value)} ({ind.unit}) in {v.period}"]
    med = v.neighbours_value
    if v.neighbours_n:
        diff = v.value - med
        parts.append(
            f"{money.format(abs(diff))} ({abs(diff) / med:.0%}) {'above' if diff > 0 else 'below'} "
            f"the median of its {v.neighbours_n} neighbours with figures ({money.format(med)})"
        )
    parts.append(f"England {money.format(v.england)}")
    text = "; ".join(parts) + "."
    if np.isfinite(v.neighbours_q1):
        where = "within" if v.neighbours_q1 <= v.value <= v.neighbours_q3 else "outside"
        text += (
            f" That is {where} the range paid by the middle half of its neighbours "
            f"({money.format(v.neighbours_q1)} to {money.format(v.neighbours_q3)})."
        )
    text += f" Basis: {ind.definition(v.period)}."
    text += (
        f" It ranks {v.rank_all} of {v.n_all} councils (1 = highest). Fees are prices, not "
        "samples: no significance test applies."
    )
    return text


# ---------------------------------------------------------------------------------------------
# the headline page (indicators declared with ``headline=True``: :data:`indicators.HEADLINE`)


def headline(
    council_code: str, neighbours: tuple[str, ...], year: str | None = None
) -> list[Verdict]:
    """Verdicts on the headline indicators, each for ``year`` if published, else its latest period
    (the sentence then names the year asked for and the year shown).

    An indicator with no value at all for the council is left out (its absence is reported by
    :func:`missing_headline`).
    """
    out = []
    for key in HEADLINE:
        try:
            period = period_for(key, council_code, year)
            out.append(benchmark(key, council_code, period, neighbours, requested=year))
        except LookupError:
            continue
    return out


def missing_headline(council_code: str, verdicts: list[Verdict]) -> list[str]:
    """Titles of headline indicators with no value for the council (e.g. councils created in 2023)."""
    have = {v.indicator for v in verdicts if np.isfinite(v.value)}
    return [INDICATORS[k].title for k in HEADLINE if k not in have]


@register_cache
@cache
def stability_summary(n: int = 15) -> pd.DataFrame:
    """How stable are the neighbour sets? Median Jaccard overlap with the default set, per variant
    (each variable dropped in turn; equal weights). See :func:`~asc_evidence.stats.neighbours.neighbour_stability`."""
    from asc_evidence import evidence
    from asc_evidence.build import load
    from asc_evidence.stats.neighbours import DEFAULT_WEIGHTS, neighbour_stability

    stored = evidence.stability_summary(n)
    if stored is not None:
        return stored
    profile = load("council_profile").set_index("council_code")[list(DEFAULT_WEIGHTS)].dropna()
    _, summary = neighbour_stability(profile, n=n)
    return summary.round(2)
