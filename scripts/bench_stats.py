"""Time the vectorised intervals and funnel against a per-row loop over statsmodels/scipy.

Usage: ``.venv/bin/python scripts/bench_stats.py [--rows 1000000] [--loop-rows 10000]``

The loop is timed on ``--loop-rows`` rows and extrapolated linearly to ``--rows`` (said in the
output). Synthetic data: denominators 1-5,000, binomial counts with p = 0.3.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from scipy import special, stats
from statsmodels.stats.proportion import proportion_confint

from asc_evidence.stats.funnel import funnel
from asc_evidence.stats.intervals import poisson_ci, proportion_ci


def _time(func: Callable[[], object], repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def _loop_funnel(x: np.ndarray, n: np.ndarray, p0: float) -> None:
    z95, z998 = stats.norm.isf(0.025), stats.norm.isf(0.001)
    for xi, ni in zip(x, n, strict=True):
        sd = (p0 * (1 - p0) / ni) ** 0.5
        for q in (0.025, 0.975, 0.001, 0.999):
            special.bdtrik(q, ni, p0)
        _ = (xi / ni - p0) / sd, z95, z998


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--loop-rows", type=int, default=10_000)
    args = parser.parse_args()
    rng = np.random.default_rng(2024)
    n = rng.integers(1, 5001, args.rows).astype(float)
    x = rng.binomial(n.astype(int), 0.3).astype(float)
    xs, ns = x[: args.loop_rows], n[: args.loop_rows]
    scale = args.rows / args.loop_rows

    cases = {
        "Wilson (proportion_ci)": (
            lambda: proportion_ci(x, n, 0.95, "wilson"),
            lambda: [proportion_confint(a, b, 0.05, "wilson") for a, b in zip(xs, ns, strict=True)],
        ),
        "Clopper-Pearson exact": (
            lambda: proportion_ci(x, n, 0.95, "exact"),
            lambda: [proportion_confint(a, b, 0.05, "beta") for a, b in zip(xs, ns, strict=True)],
        ),
        "exact Poisson (Garwood)": (
            lambda: poisson_ci(x, 0.95, "exact"),
            lambda: [
                (
                    stats.chi2.ppf(0.025, 2 * a) / 2 if a > 0 else 0.0,
                    stats.chi2.ppf(0.975, 2 * a + 2) / 2,
                )
                for a in xs
            ],
        ),
        "Byar": (
            lambda: poisson_ci(x, 0.95, "byar"),
            lambda: [
                (
                    a * (1 - 1 / (9 * a) - 1.959964 / (3 * a**0.5)) ** 3 if a > 0 else 0.0,
                    (a + 1) * (1 - 1 / (9 * (a + 1)) + 1.959964 / (3 * (a + 1) ** 0.5)) ** 3,
                )
                for a in xs
            ],
        ),
        "funnel limits + flags (exact, 95 & 99.8, adjusted)": (
            lambda: funnel(x, n, "proportion", target=0.3),
            lambda: _loop_funnel(xs, ns, 0.3),
        ),
    }
    print(
        f"rows: {args.rows:,}; per-row loop timed on {args.loop_rows:,} rows and extrapolated x{scale:g}"
    )
    print(f"{'method':52s} {'vectorised s':>13s} {'loop s (extrap.)':>17s} {'ratio':>8s}")
    for name, (vec, loop) in cases.items():
        t_vec = _time(vec)
        t_loop = _time(loop, repeat=1) * scale
        print(f"{name:52s} {t_vec:13.3f} {t_loop:17.1f} {t_loop / t_vec:7.0f}x")


if __name__ == "__main__":
    main()
