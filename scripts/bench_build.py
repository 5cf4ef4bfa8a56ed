"""Benchmark ``asc-evidence data build``: cold and warm builds, and the read time of each source file.

Usage: ``python scripts/bench_build.py [--runs 3] [--top 10]``

* cold: ``python -m asc_evidence.cli data build`` in a fresh process, into a fresh temporary
  processed folder and a fresh cache folder (so every input file is hashed too, as on a new
  machine with the mirror); ``--runs`` times, min/median/max wall-clock seconds.
* warm: the same command again on the last cold folder, nothing changed (every table "up to date").
* reads: one more cold build in this process (one worker) with the readers wrapped (``sources.excel``,
  ``pandas.read_csv``, ``geopandas.read_file``, ``rdata.parser.parse_file`` and text/bytes reads
  of mirror files), summing the seconds spent reading each source file; the ``--top`` slowest.

The mirror is ``ASC_EVIDENCE_MIRROR`` as usual. The machine's other load shows in the spread: report
the minimum and median. Set ``MPLBACKEND=Agg`` if no display (nothing here draws).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

BUILD = [sys.executable, "-m", "asc_evidence.cli", "data", "build"]


def run_build(processed: Path, cache: Path) -> float:
    """Wall-clock seconds of one ``data build`` in a fresh process."""
    env = {
        **os.environ,
        "ASC_EVIDENCE_PROCESSED": str(processed),
        "ASC_EVIDENCE_CACHE": str(cache),
    }
    t0 = time.perf_counter()
    done = subprocess.run(BUILD, capture_output=True, text=True, env=env)
    if done.returncode != 0:  # e.g. no mirror set: say why, without a traceback of this script
        said = (done.stderr or done.stdout).strip().splitlines()[-5:]
        msg = (
            f"`{' '.join(BUILD[1:])}` into a fresh folder failed (exit {done.returncode}); it "
            "needs every official file, from the mirror (set ASC_EVIDENCE_MIRROR, as `make bench` "
            "does) or the internet. Its last lines:\n  " + "\n  ".join(said)
        )
        raise SystemExit(msg)
    return time.perf_counter() - t0


def summary(label: str, times: list[float]) -> None:
    print(
        f"{label:6s} min {min(times):6.1f} s   median {statistics.median(times):6.1f} s   "
        f"max {max(times):6.1f} s   ({', '.join(f'{t:.1f}' for t in times)})"
    )


def read_times(processed: Path, cache: Path) -> tuple[dict[str, float], dict[str, int], float]:
    """Seconds spent reading each source file during one in-process cold build."""
    os.environ["ASC_EVIDENCE_PROCESSED"] = str(processed)
    os.environ["ASC_EVIDENCE_CACHE"] = str(cache)
    import geopandas
    import pandas as pd
    import rdata

    from asc_evidence import build
    from asc_evidence.config import settings
    from asc_evidence.sources import excel

    mirror = settings().mirror
    seconds: dict[str, float] = defaultdict(float)
    reads: dict[str, int] = defaultdict(int)
    depth = [0]  # a reader calling another wrapped reader counts once, at the outer call

    def record(key: str | None, t0: float) -> None:
        if key is not None and depth[0] == 0:
            seconds[key] += time.perf_counter() - t0
            reads[key] += 1

    def key_of(arg: object) -> str | None:
        if isinstance(arg, pd.ExcelFile):
            arg = getattr(arg, "_bench_path", None)
        if not isinstance(arg, (str, os.PathLike)):
            return None
        path = Path(arg).resolve()
        if mirror is not None and path.is_relative_to(mirror):
            return path.relative_to(mirror).as_posix()
        return None  # package data, processed tables...: not a source file

    def timed(func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            depth[0] += 1
            try:
                out = func(*args, **kwargs)
            finally:
                depth[0] -= 1
            record(key_of(args[0]) if args else None, t0)
            if isinstance(out, pd.ExcelFile):
                out._bench_path = args[0]  # so reads of its sheets count for the file
            return out

        return wrapper

    def timed_method(name: str) -> None:
        original = getattr(Path, name)

        def method(self: Path, *args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            out = original(self, *args, **kwargs)
            record(key_of(self), t0)
            return out

        setattr(Path, name, method)

    excel.read_excel = timed(excel.read_excel)
    excel.open_workbook = timed(excel.open_workbook)
    pd.read_csv = timed(pd.read_csv)
    geopandas.read_file = timed(geopandas.read_file)
    rdata.parser.parse_file = timed(rdata.parser.parse_file)
    for name in ("read_bytes", "read_text"):
        timed_method(name)
    t0 = time.perf_counter()
    build.build(workers=1)  # in this process, where the readers are wrapped
    return seconds, reads, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--top", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="asc-bench-") as tmp:
        root = Path(tmp)
        cold: list[float] = []
        for i in range(args.runs):
            cold.append(run_build(root / f"processed{i}", root / f"cache{i}"))
        last = args.runs - 1
        warm = [
            run_build(root / f"processed{last}", root / f"cache{last}") for _ in range(args.runs)
        ]
        summary("cold", cold)
        summary("warm", warm)
        seconds, reads, total = read_times(root / "processed-reads", root / "cache-reads")
    print(
        f"\nreads: {sum(seconds.values()):.1f} s of a {total:.1f} s in-process cold build, "
        f"{len(seconds)} files; slowest {args.top}:"
    )
    for key, s in sorted(seconds.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {s:6.2f} s  {reads[key]:3d} read(s)  {key}")


if __name__ == "__main__":
    main()
