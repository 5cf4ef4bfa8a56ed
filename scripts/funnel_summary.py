"""Funnel model summary per indicator and year: scale, phi, tau2, dispersion and flag counts.

Usage: python scripts/funnel_summary.py [key:period ...]  (default: the cases named in issue 10)
"""

from __future__ import annotations

import sys

from asc_evidence import indicators, verdict

CASES = (
    "delayed_social_care:2014-15",
    "delayed_social_care:2018-19",
    "delayed_social_care:2019-20",
    "admissions_65:2020-21",
)


def main(cases: list[str]) -> None:
    print(
        "indicator | period | scale | phi | tau2 | dispersion | councils | above | below | "
        "lower limit 0 | lower limit below 10% of England"
    )
    for case in cases:
        key, period = case.split(":")
        ind = indicators.INDICATORS[key]
        councils = verdict._cross_section(key, period)
        usable = verdict._usable(councils)
        eng = indicators.get(key)
        eng = eng[(eng["council_code"] == indicators.ENGLAND) & (eng["period"] == period)]
        england = verdict._england(ind, eng, councils, usable)
        res = verdict._funnel(ind, usable, england, verdict.within_dispersion(ind, period))
        t = res.table
        print(
            f"{key} | {period} | {res.scale} | {res.phi:.2f} | {res.tau2:.3g} | {res.typical_dispersion:.1f} | "
            f"{res.n_units} | {(t['flag99_8_adj'] == 'above').sum()} | "
            f"{(t['flag99_8_adj'] == 'below').sum()} | {(t['lower99_8_adj'] <= 0).sum()} | "
            f"{(t['lower99_8_adj'] <= verdict.NEAR_ZERO * res.target).sum()}"
        )


if __name__ == "__main__":
    main(sys.argv[1:] or list(CASES))
