"""Benchmark the report pipeline: processed-data load, one council's report (cold, warm), and --all.

Usage: ``python scripts/bench_report.py [--council Swindon] [--all] [--out /tmp/bench-reports]``.
"Cold" runs in a fresh process after clearing nothing but this process's caches; "warm" repeats it.
``--all`` times every current council with 2 workers (long: minutes).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path


def timed(label: str, cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    dt = time.perf_counter() - t0
    print(f"{label:45s} {dt:8.1f} s")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--council", default="Swindon")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--out", default="/tmp/bench-reports")
    args = ap.parse_args()
    py = sys.executable
    exe = str(Path(py).with_name("asc-evidence"))
    load = (
        "import time; t=time.perf_counter(); from asc_evidence import indicators; "
        "[indicators.get(k) for k in indicators.INDICATORS]; "
        "print(time.perf_counter()-t)"
    )
    t0 = time.perf_counter()
    out = subprocess.run(
        [py, "-c", load], check=True, capture_output=True, text=True
    ).stdout.strip()
    print(
        f"{'load processed tables + build 9 indicators':45s} {float(out):8.1f} s (process total {time.perf_counter() - t0:.1f} s)"
    )
    timed("data build (warm: all inputs unchanged)", [exe, "data", "build"])
    timed(
        f"report {args.council} (first run)",
        [exe, "report", "--council", args.council, "--out", args.out],
    )
    timed(
        f"report {args.council} (second run)",
        [exe, "report", "--council", args.council, "--out", args.out],
    )
    if args.all:
        n = timed(
            "report --all (2 workers)",
            [exe, "report", "--all", "--workers", "2", "--out", args.out],
        )
        print(f"  = {n / 153:.1f} s per council")


if __name__ == "__main__":
    main()
