"""Check that reports read from the evidence tables say exactly what they say when computed afresh.

For each council (default Swindon E06000030, Somerset E06000066, Walsall E08000030) it collects
every verdict (``Verdict.as_row()``: the funnel object left out, its table compared separately),
the headline verdicts (latest year and a year asked for), the comparison, trend and stability
tables with their notes, the profile rows, the care-market and demand tables and sentences,
computed twice in one process: with the evidence tables (:mod:`asc_evidence.evidence`) and
without them (``evidence.disabled()``). Prints each difference; exit status 1 if any.

Usage: ``python scripts/check_evidence.py [CODE ...] [--save FILE] [--against FILE]``.
``--save`` pickles the outputs computed without evidence (e.g. on an older checkout, to compare
code versions with ``--against``). ``--html OLD NEW`` compares the text of every report page in
two report folders (e.g. written by two versions): every sentence, table cell and note.
"""

from __future__ import annotations

import argparse
import math
import pickle
import sys
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd

COUNCILS = ("E06000030", "E06000066", "E08000030")


def collect(code: str) -> dict[str, object]:
    """Everything a report shows for ``code`` that comes from national numbers (no figures)."""
    from asc_evidence import compare, demand, indicators, market, notebook, profile, verdict

    out: dict[str, object] = {}
    ctx = notebook.Context(
        council=__import__("asc_evidence.councils", fromlist=["lookup"]).lookup(code),
        neighbours=verdict.neighbour_set(code, 15, ""),
        neighbour_source="model",
        year=None,
    )
    nb = ctx.neighbours
    out["neighbours"] = nb
    for key in indicators.INDICATORS:
        period = verdict.period_for(key, code, None)
        v = verdict.benchmark(key, code, period, nb)
        out[f"verdict {key}"] = v.as_row()
        if v.funnel is not None:
            out[f"funnel table {key}"] = v.funnel.table
            out[f"funnel labels {key}"] = compare.funnel_labels(v, nb)
        out[f"comparison {key}"] = compare.comparison_table(key, code, nb, period)
        out[f"trend {key}"] = compare.trend_summary(key, code, nb)
        out[f"recent trend {key}"] = compare.recent_trend(key, code)
        out[f"trend frame {key}"] = compare.trend_frame(key, code, nb)
    for year in (None, "2019-20"):
        verdicts = verdict.headline(code, nb, year)
        out[f"headline {year}"] = [v.as_row() for v in verdicts]
        out[f"verdict table {year}"] = compare.verdict_table(verdicts)
        rows = profile.build_rows(verdicts, nb, code)
        out[f"profile {year}"] = [
            (r.category, r.comparison, r.funnel, r.trend_marker, r.trend_direction) for r in rows
        ]
        out[f"profile summary {year}"] = profile.summary_lines(
            rows, verdict.missing_headline(code, verdicts)
        )
    out["stability"] = notebook.stability_table(ctx)
    out["capacity sentence"] = market.capacity_sentence(code, nb)
    out["capacity summary"] = market.capacity_summary(code, nb)
    out["capacity notes"] = market.capacity_notes(code)
    out["price series"] = market.price_series(code, nb)
    out["fees vs costs"] = compare.fees_vs_costs(code)
    proj = demand.council_projection(code)
    out["demand headline"] = demand.headline(proj)
    out["demand notes"] = proj.notes
    for name in ("rates", "england_rates", "unit_costs", "population", "demand", "by_variant"):
        out[f"demand {name}"] = getattr(proj, name)
    out["demand growth"] = demand.growth_table(proj)
    out["demand people"] = demand.people_table(proj)
    return out


def _same(a: object, b: object, rtol: float = 0.0) -> bool:
    """Equal, exactly (``rtol=0``: every number bit for bit, every string) or numbers within
    ``rtol`` relative (strings still exactly)."""
    if isinstance(a, pd.DataFrame) or isinstance(b, pd.DataFrame):
        if not (isinstance(a, pd.DataFrame) and isinstance(b, pd.DataFrame)):
            return False
        try:
            if rtol:
                pd.testing.assert_frame_equal(a, b, rtol=rtol, atol=0)
            else:
                pd.testing.assert_frame_equal(a, b, check_exact=True)
        except AssertionError:
            return False
        return a.attrs == b.attrs
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], rtol) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y, rtol) for x, y in zip(a, b, strict=True))
    if isinstance(a, float | np.floating) and isinstance(b, float | np.floating):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or abs(a - b) <= rtol * max(abs(a), abs(b))
    if hasattr(a, "__dataclass_fields__") and type(a) is type(b):
        return _same(vars(a), vars(b), rtol)
    return bool(a == b)


def differences(a: dict[str, object], b: dict[str, object], rtol: float = 0.0) -> list[str]:
    """Names of the outputs that differ (or exist in one only)."""
    out = [k for k in a if k not in b or not _same(a[k], b[k], rtol)]
    return out + [k for k in b if k not in a]


def page_text(path: Path) -> list[str]:
    """The visible text of a report page, line by line (images left out)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    for img in soup.find_all("img"):
        img.decompose()
    return [line.strip() for line in soup.get_text("\n").split("\n") if line.strip()]


def compare_pages(old: Path, new: Path) -> int:
    """Print, per council folder found in both, how many lines of page text differ."""
    import difflib

    bad = 0
    for folder in sorted(p for p in old.iterdir() if (p / "report.html").is_file()):
        if not (new / folder.name / "report.html").is_file():
            continue
        a, b = page_text(folder / "report.html"), page_text(new / folder.name / "report.html")
        diff = [
            line
            for line in difflib.unified_diff(a, b, lineterm="", n=0)
            if not line.startswith(("@@", "---", "+++"))
        ]
        print(f"{folder.name}: {len(a)} lines of text, {len(diff)} differing")
        for line in diff[:10]:
            print("   ", line)
        bad += bool(diff)
    return bad


def both_ways(code: str) -> tuple[dict[str, object], dict[str, object]]:
    """``collect(code)`` with the evidence tables, then without them (fresh caches each time)."""
    from asc_evidence import build, evidence

    build.clear_caches()
    if evidence.status() != "fresh":
        msg = f"the evidence tables are {evidence.status()}: run `asc-evidence data build` first"
        raise SystemExit(msg)
    with_ev = collect(code)
    build.clear_caches()
    with evidence.disabled():
        without = collect(code)
    build.clear_caches()
    return with_ev, without


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("codes", nargs="*", default=list(COUNCILS))
    ap.add_argument("--save", type=Path, help="pickle the outputs computed without evidence")
    ap.add_argument("--against", type=Path, help="also compare with outputs saved by --save")
    ap.add_argument(
        "--rtol",
        type=float,
        default=1e-12,
        help="relative tolerance of numbers against --against (code versions); default 1e-12",
    )
    ap.add_argument("--html", nargs=2, type=Path, metavar=("OLD", "NEW"))
    args = ap.parse_args()
    if args.html:
        sys.exit(1 if compare_pages(*args.html) else 0)
    saved = pickle.loads(args.against.read_bytes()) if args.against else {}
    fresh: dict[str, dict[str, object]] = {}
    bad = 0
    for code in args.codes:
        if args.save:
            try:
                from asc_evidence import evidence

                off = evidence.disabled()
            except ImportError:  # a checkout from before the evidence stage
                off = nullcontext()
            with off:
                fresh[code] = collect(code)
            print(f"{code}: {len(fresh[code])} outputs collected")
            continue
        with_ev, without = both_ways(code)
        diff = differences(with_ev, without)
        print(f"{code}: {len(with_ev)} outputs; with vs without evidence: {diff or 'identical'}")
        bad += len(diff)
        if code in saved:
            exact = differences(saved[code], without)
            old = differences(saved[code], without, args.rtol)
            print(
                f"{code}: against {args.against}: {old or 'identical'}"
                + (
                    f" (numbers within {args.rtol:g} relative: {exact})"
                    if exact and not old
                    else ""
                )
            )
            bad += len(old)
    if args.save:
        args.save.write_bytes(pickle.dumps(fresh))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
