"""Benchmark verdicts: how one council compares with England and its neighbours, in plain English.

For counts (rates and proportions) the verdict rests on a funnel plot around England's value with the
overdispersion adjustment of Spiegelhalter (2005) (additive random effects, 10% winsorisation), so a
difference is called significant only when it lies beyond the 99.8% limit *after* allowing for the
normal variation between councils. Between the 95% and 99.8% limits it is "worth watching"; inside
the 95% limit it is "within what chance and normal variation between councils would produce".
Prices (fee rates) have no sampling error to test: the verdict places the council against its
neighbours' median and interquartile range and England, without any claim of significance.

Sentences never overstate: approximate numerators are named, and "better"/"worse" is said only for
indicators with a declared polarity and only when the difference is beyond the 99.8% limit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from asc_evidence import indicators
from asc_evidence.indicators import ENGLAND, INDICATORS, Indicator
from asc_evidence.stats.funnel import FunnelResult, funnel_table
from asc_evidence.stats.intervals import proportion_ci, rate_ci


@dataclass
class Verdict:
    """A council's standing on one indicator in one period."""

    indicator: str
    title: str
    unit: str
    council_code: str
    council_name: str
    period: str
    value: float
    lower95: float
    upper95: float
    england: float
    neighbours_value: float
    neighbours_n: int
    rank_all: int
    n_all: int
    rank_neighbours: int
    n_ranked_neighbours: int
    funnel95: str
    funnel998: str
    phi: float
    overdispersed: bool
    approximate: bool
    flag: str
    sentence: str
    funnel: FunnelResult | None = field(default=None, repr=False)

    def as_row(self) -> dict[str, object]:
        """Scalars for a summary table (drops the funnel object)."""
        d = asdict(self)
        d.pop("funnel")
        return d


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


@cache
def neighbour_table(n: int = 15) -> pd.DataFrame:
    """Nearest ``n`` neighbours of every council from the ``council_profile`` table."""
    from asc_evidence.build import load
    from asc_evidence.stats.neighbours import DEFAULT_WEIGHTS, nearest_neighbours

    profile = load("council_profile").set_index("council_code")
    cols = list(DEFAULT_WEIGHTS)
    profile = profile[cols].dropna()
    return nearest_neighbours(profile, n=n)


def latest_period(table: pd.DataFrame, council_code: str) -> str:
    """Latest period with a value for the council."""
    rows = table[(table["council_code"] == council_code) & table["value"].notna()]
    if rows.empty:
        msg = f"No values for {council_code} in {table['indicator'].iloc[0] if len(table) else 'this indicator'}."
        raise LookupError(msg)
    return str(rows["period"].max())


def _rank(values: pd.Series, code: str) -> tuple[int, int]:
    v = values.dropna()
    if code not in v.index:
        return 0, len(v)
    return int(v.rank(ascending=False, method="min")[code]), len(v)


def _direction(value: float, ref: float, tol: float = 1e-9) -> str:
    if np.isnan(value) or np.isnan(ref):
        return "not comparable with"
    if abs(value - ref) <= tol * max(1.0, abs(ref)):
        return "the same as"
    return "higher than" if value > ref else "lower than"


def _better_worse(direction: str, polarity: str) -> str:
    if polarity == "neutral" or direction not in ("higher than", "lower than"):
        return ""
    good = (direction == "higher than") == (polarity == "higher")
    return "better" if good else "worse"


def benchmark(
    key: str,
    council_code: str,
    period: str | None = None,
    neighbours: tuple[str, ...] | list[str] = (),
) -> Verdict:
    """Verdict for one council on indicator ``key`` in ``period`` (default: the latest it has)."""
    ind = INDICATORS[key]
    table = indicators.get(key)
    period = period or latest_period(table, council_code)
    year = table[table["period"] == period]
    councils_ = year[
        (year["level"] == "council") & year["council_code"].str.match(r"^E(06|08|09|10)")
    ]
    councils_ = councils_.drop_duplicates("council_code").set_index("council_code")
    if council_code not in councils_.index or pd.isna(councils_.loc[council_code, "value"]):
        return _no_data(ind, table, councils_, year, council_code, period)
    row = councils_.loc[council_code]
    eng_rows = year[year["council_code"] == ENGLAND]
    nb = [c for c in neighbours if c in councils_.index and c != council_code]
    nb_vals = councils_.loc[nb, "value"].dropna() if nb else pd.Series(dtype=float)
    rank_all, n_all = _rank(councils_["value"], council_code)
    rank_nb, n_nb = _rank(councils_.loc[[council_code, *nb], "value"], council_code)

    newest = str(table.loc[table["value"].notna(), "period"].max())
    gap_note = ""
    later = table[(table["council_code"] == council_code) & (table["period"] == newest)]
    if (
        newest > period and not later["value"].notna().any()
    ):  # not when an earlier year was asked for
        why = later["flag"].iloc[0].split(";")[0] if len(later) else "not published"
        gap_note = f" No {newest} figure for this council ({why}), so {period} is shown."
    usable = _usable(councils_)
    england = _england(ind, eng_rows, councils_, usable)
    if ind.kind == "price":
        v = _price_verdict(
            ind, row, council_code, period, england, nb_vals, rank_all, n_all, rank_nb, n_nb
        )
        v.sentence += gap_note
        return v

    kind = "proportion" if ind.kind == "proportion" else "rate"
    res = _funnel(ind, usable, england)
    ft = res.table.set_index("council_code") if res else pd.DataFrame()
    x, n = float(row["numerator"]), float(row["denominator"])
    if kind == "proportion":
        ci = proportion_ci(x, n, confidence=0.95, method="wilson")
        lo, hi = float(ci.lower) * 100, float(ci.upper) * 100
    else:
        ci = rate_ci(x, n, multiplier=ind.multiplier, confidence=0.95, method="exact")
        lo, hi = float(ci.lower), float(ci.upper)
    nbu = usable.loc[[c for c in nb if c in usable.index]]
    nb_value = (
        float(nbu["numerator"].sum() / nbu["denominator"].sum() * ind.multiplier)
        if len(nbu)
        else np.nan
    )
    f95 = str(ft.loc[council_code, "flag95_adj"]) if council_code in ft.index else "not in funnel"
    f998 = (
        str(ft.loc[council_code, "flag99_8_adj"]) if council_code in ft.index else "not in funnel"
    )
    flag = str(row["flag"])
    approx = "approximation" in flag
    value = float(row["value"])
    direction = _direction(value, england)
    if council_code not in ft.index:
        status = (
            f"{direction} England; with no published count for this council, whether the "
            "difference is more than chance cannot be tested"
        )
    elif f998 in ("above", "below"):
        bw = _better_worse(direction, ind.polarity)
        status = (
            f"significantly {direction} England (beyond the 99.8% control limit after allowing for "
            f"overdispersion between councils)" + (f": {bw}" if bw else "")
        )
    elif f95 in ("above", "below"):
        status = (
            f"{direction} England, beyond the 95% but within the 99.8% limit after allowing for "
            "overdispersion: a possible signal worth watching, not conclusive"
        )
    else:
        status = (
            f"{direction} England; the difference is within what chance and normal variation "
            "between councils would produce"
        )
    unit = ind.unit
    fmt = "{:,.1f}"
    sentence = (
        f"{row['council_name']}: {fmt.format(value)} {unit} in {period}"
        + (f" (95% CI {fmt.format(lo)} to {fmt.format(hi)})" if np.isfinite(lo) else "")
        + f", England {fmt.format(england)}. {status[0].upper() + status[1:]}."
    )
    if len(nbu):
        sentence += (
            f" Its {len(nbu)} neighbours with figures, taken together: {fmt.format(nb_value)}; it ranks {rank_nb} of "
            f"{n_nb} among them and {rank_all} of {n_all} councils (1 = highest)."
        )
    sentence += gap_note
    if approx:
        sentence += " The numerator or denominator is approximated (see flags), so treat the interval as indicative."
    return Verdict(
        key,
        ind.title,
        unit,
        council_code,
        str(row["council_name"]),
        period,
        value,
        lo,
        hi,
        england,
        nb_value,
        len(nbu),
        rank_all,
        n_all,
        rank_nb,
        n_nb,
        f95,
        f998,
        float(res.phi) if res else float("nan"),
        bool(res.overdispersed) if res else False,
        approx,
        flag,
        sentence,
        res,
    )


def _usable(councils_: pd.DataFrame) -> pd.DataFrame:
    """Councils with a published (or flagged approximate) numerator and a positive denominator."""
    usable = councils_.dropna(subset=["numerator", "denominator"])
    return usable[usable["denominator"] > 0]


def _england(
    ind: Indicator, eng_rows: pd.DataFrame, councils_: pd.DataFrame, usable: pd.DataFrame
) -> float:
    """England's published value; else the councils' median (prices) or pooled value (counts)."""
    published = eng_rows["value"].dropna()
    if len(published):
        return float(published.iloc[0])
    if ind.kind == "price" or usable.empty:
        return float(councils_["value"].median())
    return float(usable["numerator"].sum() / usable["denominator"].sum() * ind.multiplier)


def _funnel(ind: Indicator, usable: pd.DataFrame, england: float) -> FunnelResult | None:
    """Funnel of all councils with counts around England (None with fewer than 3 councils)."""
    if len(usable) < 3:
        return None
    kind = "proportion" if ind.kind == "proportion" else "rate"
    return funnel_table(
        usable.reset_index(),
        "numerator",
        "denominator",
        kind,
        target=england,
        multiplier=ind.multiplier,
    )


def _why_missing(table: pd.DataFrame, code: str, period: str) -> str:
    from asc_evidence.councils import BOUNDARY_CHANGES, lookup

    rows = table[(table["council_code"] == code) & (table["period"] == period)]
    if len(rows) and rows["flag"].iloc[0]:
        return rows["flag"].iloc[0].split(";")[0]
    council = lookup(code)
    if council.valid_from:
        preds = [p for ch in BOUNDARY_CHANGES if code in ch.successors for p in ch.predecessors]
        names = ", ".join(lookup(p).name for p in preds)
        return f"the council was created on {council.valid_from}; earlier figures are for {names}"
    return "not published for this council"


def _no_data(ind: Indicator, table, councils_, year, code: str, period: str) -> Verdict:
    """A verdict that says plainly there is no figure, with the funnel of the other councils."""
    from asc_evidence.councils import lookup

    name = lookup(code).name
    usable = _usable(councils_)
    england = _england(ind, year[year["council_code"] == ENGLAND], councils_, usable)
    res = None if ind.kind == "price" else _funnel(ind, usable, england)
    sentence = f"{name}: no {period} figure ({_why_missing(table, code, period)}). England {england:,.1f} ({ind.unit})."
    nan = float("nan")
    return Verdict(
        ind.key,
        ind.title,
        ind.unit,
        code,
        name,
        period,
        nan,
        nan,
        nan,
        england,
        nan,
        0,
        0,
        int(councils_["value"].notna().sum()),
        0,
        0,
        "no figure",
        "no figure",
        float(res.phi) if res else nan,
        bool(res.overdispersed) if res else False,
        False,
        "",
        sentence,
        res,
    )


def _price_verdict(
    ind, row, code, period, england, nb_vals, rank_all, n_all, rank_nb, n_nb
) -> Verdict:
    value = float(row["value"])
    med = float(nb_vals.median()) if len(nb_vals) else np.nan
    q1, q3 = (
        (float(nb_vals.quantile(0.25)), float(nb_vals.quantile(0.75)))
        if len(nb_vals) >= 4
        else (np.nan, np.nan)
    )
    money = "£{:,.2f}"
    parts = [f"{row['council_name']} paid {money.format(value)} ({ind.unit}) in {period}"]
    if len(nb_vals):
        diff = value - med
        parts.append(
            f"{money.format(abs(diff))} ({abs(diff) / med:.0%}) {'above' if diff > 0 else 'below'} "
            f"the median of its {len(nb_vals)} neighbours ({money.format(med)})"
        )
    parts.append(f"England {money.format(england)}")
    sentence = "; ".join(parts) + "."
    if not np.isnan(q1):
        where = "within" if q1 <= value <= q3 else "outside"
        sentence += (
            f" That is {where} the range paid by the middle half of its neighbours "
            f"({money.format(q1)} to {money.format(q3)})."
        )
    basis = (
        "unit cost of care bought from the independent sector (PSS-EX1)"
        if period <= "2014-15"
        else "average rate paid to external providers (ASC-FR)"
    )
    sentence += f" Basis: {basis}."
    sentence += f" It ranks {rank_all} of {n_all} councils (1 = highest). Fees are prices, not samples: no significance test applies."
    return Verdict(
        ind.key,
        ind.title,
        ind.unit,
        code,
        str(row["council_name"]),
        period,
        value,
        np.nan,
        np.nan,
        england,
        med,
        len(nb_vals),
        rank_all,
        n_all,
        rank_nb,
        n_nb,
        "n/a",
        "n/a",
        np.nan,
        False,
        "approximation" in str(row["flag"]),
        str(row["flag"]),
        sentence,
        None,
    )


HEADLINE = (
    "delayed_social_care",
    "admissions_65",
    "admissions_18_64",
    "direct_payments",
    "fee_home_care_hour",
    "fee_residential_65_week",
    "fee_nursing_65_week",
)


def headline(
    council_code: str, neighbours: tuple[str, ...], year: str | None = None
) -> list[Verdict]:
    """Verdicts on the headline indicators, each for ``year`` if published, else its latest period.

    An indicator with no value at all for the council is left out (its absence is reported by
    :func:`missing_headline`).
    """
    from asc_evidence.compare import period_for

    out = []
    for key in HEADLINE:
        try:
            out.append(
                benchmark(key, council_code, period_for(key, council_code, year), neighbours)
            )
        except LookupError:
            continue
    return out


def missing_headline(council_code: str, verdicts: list[Verdict]) -> list[str]:
    """Titles of headline indicators with no value for the council (e.g. councils created in 2023)."""
    have = {v.indicator for v in verdicts if np.isfinite(v.value)}
    return [INDICATORS[k].title for k in HEADLINE if k not in have]


@cache
def stability_summary(n: int = 15) -> pd.DataFrame:
    """How stable are the neighbour sets? Median Jaccard overlap with the default set, per variant
    (each variable dropped in turn; equal weights). See :func:`~asc_evidence.stats.neighbours.neighbour_stability`."""
    from asc_evidence.build import load
    from asc_evidence.stats.neighbours import DEFAULT_WEIGHTS, neighbour_stability

    profile = load("council_profile").set_index("council_code")[list(DEFAULT_WEIGHTS)].dropna()
    _, summary = neighbour_stability(profile, n=n)
    return summary.round(2)
