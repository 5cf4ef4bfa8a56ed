"""Benchmark the report pipeline in one run, as ratios to a trivial notebook on the same machine.

Usage::

    python scripts/bench_report.py [--council Swindon] [--all | --all-sample N] [--workers 2]
                                   [--no-build] [--out DIR]

Prints, each in a fresh process (wall-clock seconds; CPU seconds of the process and its children;
peak resident memory of the largest of them, from ``resource.getrusage``, and of all of them
together, sampled every 0.2 s with psutil):

* a trivial parameterised notebook run with papermill (the yardstick: Python, papermill and a
  kernel starting);
* ``asc-evidence report --council C`` twice: cold (first in this run) and warm (second), and the
  ratio warm / trivial (target: at most 6, and under 15 s);
* ``--all``: every current council with ``--workers`` (target: under 10 minutes), wall time and
  mean per council; ``--all-sample N``: the first N councils in alphabetical order by code
  (through :func:`asc_evidence.report.run_all` with ``codes``), extrapolated to all councils
  (kernel start-up is paid once per chunk, so the extrapolation is slightly pessimistic);
* unless ``--no-build``: cold and warm ``asc-evidence data build`` (processed tables, then the
  national evidence tables) into fresh temporary folders (:mod:`bench_build`), and the evidence
  stage alone (``data evidence --force``).

The machine's other load shows in wall-clock times: a CPU-bound calibration loop is timed at the
start and end so that runs on a busy machine can be told apart.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRIVIAL = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "parameters",
            "metadata": {"tags": ["parameters"]},
            "outputs": [],
            "source": ['council = "Swindon"'],
        },
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "body",
            "metadata": {},
            "outputs": [],
            "source": ["print(council)"],
        },
    ],
    "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


def calibration() -> float:
    """Seconds of a fixed CPU-bound loop (about 0.45 s on an idle core of the 2-core machine)."""
    t0 = time.perf_counter()
    s = 0
    for i in range(5_000_000):
        s += i * i
    return time.perf_counter() - t0


#: Peak memory of all the processes of each timed command, MB.
PEAK_ALL: list[float] = []


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, MB (0 when it has ended)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def timed(label: str, cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Run ``cmd``; wall and CPU seconds (process tree), peak memory of its largest process and
    peak of all its processes together (sampled every 0.2 s: kernels and workers included),
    printed and returned."""
    import threading

    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak_tree = [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            peak_tree[0] = max(peak_tree[0], _tree_rss_mb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    stop.set()
    sampler.join()
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        print(stdout[-2000:], stderr[-2000:], sep="\n", file=sys.stderr)
        msg = f"{label}: exit status {proc.returncode}"
        raise SystemExit(msg)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    peak = r1.ru_maxrss / 1024  # largest resident set of any child so far, MB (Linux: KB)
    print(
        f"{label:52s} {wall:8.1f} s   cpu {cpu:7.1f} s   peak {peak:6.0f} MB"
        f"   all processes {peak_tree[0]:6.0f} MB",
        flush=True,
    )
    PEAK_ALL.append(peak_tree[0])
    return {"wall": wall, "cpu": cpu, "peak_mb": peak, "peak_all_mb": peak_tree[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--council", default="Swindon")
    ap.add_argument("--all", action="store_true", help="run report --all for every council")
    ap.add_argument("--all-sample", type=int, default=0, help="run N councils and extrapolate")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="report folder (default: temporary)")
    ap.add_argument("--no-build", action="store_true", help="skip the data build timings")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args()

    py = sys.executable
    exe = str(Path(py).with_name("asc-evidence"))
    cli = [exe] if Path(exe).is_file() else [py, "-m", "asc_evidence.cli"]
    if not args.no_build:  # checked first: the cold build comes last, after the --all run
        from asc_evidence.config import settings

        if settings().mirror is None:
            msg = (
                "The cold build needs the official files and no mirror is set: set "
                "ASC_EVIDENCE_MIRROR to the mirror folder (`make bench` sets it to "
                "../shared/data/raw when that exists), or add --no-build to leave the build out."
            )
            raise SystemExit(msg)
    tmp = Path(tempfile.mkdtemp(prefix="asc-bench-"))
    out = args.out or tmp / "reports"
    results: dict[str, object] = {"calibration_start": calibration()}
    print(
        f"calibration loop (idle machine: about 0.45 s)       {results['calibration_start']:8.2f} s"
    )

    try:
        from asc_evidence import evidence
    except ImportError:  # a checkout from before the evidence stage (for "before" figures)
        evidence = None
    state = evidence.status() if evidence else "(no evidence stage in this version)"
    print(f"evidence tables: {state}")
    if evidence and state != "fresh":
        timed("data evidence (make the tables first)", [*cli, "data", "evidence"])

    nb = tmp / "trivial.ipynb"
    nb.write_text(json.dumps(TRIVIAL), encoding="utf-8")
    trivial = [py, "-m", "papermill", str(nb), str(tmp / "trivial-out.ipynb")]
    trivial += ["-p", "council", "Walsall", "--no-progress-bar", "--log-level", "ERROR"]
    timed("trivial parameterised notebook (first)", trivial)
    t = timed("trivial parameterised notebook", trivial)
    results["trivial"] = t
    report = [*cli, "report", "--council", args.council, "--out", str(out)]
    results["report_cold"] = timed(f"report {args.council} (first run)", report)
    w = timed(f"report {args.council} (warm: second run)", report)
    results["report_warm"] = w
    print(
        f"{'ratio warm report / trivial notebook':52s} {w['wall'] / t['wall']:8.1f}     "
        f"(cpu {w['cpu'] / t['cpu']:.1f}; target: at most 6 and under 15 s)"
    )

    if args.all or args.all_sample:
        from asc_evidence.councils import current

        codes = sorted(current()["code"])
        if args.all:
            r = timed(
                f"report --all ({len(codes)} councils, {args.workers} workers)",
                [*cli, "report", "--all", "--workers", str(args.workers), "--out", str(out)],
            )
            n = len(codes)
        else:
            n = min(args.all_sample, len(codes))
            code = (
                "from pathlib import Path; from asc_evidence import report; "
                f"report.run_all(out=Path({str(out)!r}), codes={codes[:n]!r}, "
                f"workers={args.workers})"
            )
            r = timed(
                f"report run_all, sample of {n} councils ({args.workers} workers)", [py, "-c", code]
            )
        per = r["wall"] / n
        print(f"{'  per council (wall / councils)':52s} {per:8.1f} s")
        if not args.all:
            print(
                f"{'  extrapolated to ' + str(len(codes)) + ' councils':52s} {per * len(codes) / 60:8.1f} min"
            )
        results["all"] = {
            **r,
            "councils": n,
            "per_council": per,
            "extrapolated_min": per * len(codes) / 60,
        }

    if not args.no_build:
        sys.path.insert(0, str(HERE))
        import bench_build

        root = tmp / "build"
        env = {**os.environ}
        cold = bench_build.run_build(root / "processed", root / "cache")
        print(f"{'data build, cold (processed tables + evidence)':52s} {cold:8.1f} s")
        warm = bench_build.run_build(root / "processed", root / "cache")
        print(f"{'data build, warm (nothing changed)':52s} {warm:8.1f} s")
        env["ASC_EVIDENCE_PROCESSED"] = str(root / "processed")
        ev = timed("data evidence --force (the evidence stage alone)",
                   [*cli, "data", "evidence", "--force"], env=env)  # fmt: skip
        results["build"] = {"cold": cold, "warm": warm, "evidence": ev["wall"]}

    results["calibration_end"] = calibration()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"peak memory: largest process {peak:.0f} MB, all processes of one command together "
        f"{max(PEAK_ALL, default=0):.0f} MB, this script {self_peak:.0f} MB"
    )
    print(
        f"calibration loop at the end                          {results['calibration_end']:8.2f} s"
    )
    results["peak_mb"] = peak
    results["peak_all_mb"] = max(PEAK_ALL, default=0)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
