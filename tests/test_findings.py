"""National findings (notebook 07): interval formulas against hand-worked values, tables against
the processed data by an independent path, and the notebook only calling package functions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from asc_evidence import findings, indicators, verdict

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "07_national_findings.ipynb"


def test_spearman_interval_hand_worked() -> None:
    """rho 0.5, n 28: z = atanh(0.5) = 0.54931; Bonett-Wright SE = sqrt((1 + 0.25/2) / 25) =
    0.21213; z -/+ 1.95996 SE = 0.13353, 0.96508; tanh back: 0.1327, 0.7465."""
    lo, hi = findings.spearman_ci(0.5, 28)
    assert lo == pytest.approx(0.1327, abs=1e-4)
    assert hi == pytest.approx(0.7465, abs=1e-4)
    assert np.isnan(findings.spearman_ci(0.5, 3)[0])


def test_i_squared_hand_worked() -> None:
    """Higgins and Thompson (2002), Q = 27 over k = 10: I2 = (27 - 9) / 27 = 0.6667; H = sqrt(3);
    SE(ln H) = 0.5 (ln 27 - ln 9) / (sqrt 54 - sqrt 17) = 0.17031 (their eq. 9, Q > k);
    H from exp(ln H -/+ 1.96 SE) = 1.2405, 2.4184, so I2 from 0.3502 to 0.8290."""
    i2, lo, hi = findings.i_squared(27.0, 10)
    assert i2 == pytest.approx(2 / 3)
    assert lo == pytest.approx(0.3502, abs=1e-4)
    assert hi == pytest.approx(0.8290, abs=1e-4)
    assert findings.i_squared(8.0, 10)[0] == 0.0  # Q below its degrees of freedom


def test_median_interval_order_statistics() -> None:
    """n = 10: P(B <= 1) = 11/1024 = 0.0107 < 0.025 <= P(B <= 2), so x(2) to x(9), coverage
    1 - 2 x 0.0107 = 97.9% (Conover 1999, table A3)."""
    assert findings.median_ci(np.arange(1.0, 11.0)) == (5.5, 2.0, 9.0)
    assert np.isnan(findings.median_ci([1.0, 2.0, 3.0])[1])


@pytest.fixture(scope="module")
def frame(require_processed) -> pd.DataFrame:
    require_processed("ascof", "unit_costs", "ascfr_2021_22", "dtoc_monthly", "council_profile")
    return findings.council_frame()


def test_each_council_counts_once_with_its_own_figure(frame) -> None:
    assert frame.index.is_unique
    assert frame.attrs["periods"]["delayed_social_care"] == "2019-20"
    t = indicators.get("delayed_social_care")
    own = t[(t["council_code"] == "E06000030") & (t["period"] == "2019-20")]["value"].iloc[0]
    assert frame.loc["E06000030", "delayed_social_care"] == pytest.approx(own)
    # Cumberland (2023) shows Cumbria's figure in its report, but counts nowhere here
    assert np.isnan(frame.loc["E06000063", "delayed_social_care"])
    from asc_evidence.build import load

    prof = load("council_profile").set_index("council_code").loc["E06000030"]
    assert frame.loc["E06000030", "share_65plus"] == pytest.approx(100 * prof["share_65plus"])
    assert frame.loc["E06000030", "density_per_km2"] == pytest.approx(
        np.log10(prof["density_per_km2"])
    )


def test_correlations_match_scipy_and_read_in_words(frame) -> None:
    from scipy import stats

    num = findings.correlation_numbers(frame)
    row = num[
        (num["indicator"] == "admissions_65") & (num["characteristic"] == "imd_average_score")
    ].iloc[0]
    pair = frame[["admissions_65", "imd_average_score"]].dropna()
    assert row["n"] == len(pair)
    assert row["rho"] == pytest.approx(stats.spearmanr(pair.iloc[:, 0], pair.iloc[:, 1])[0])
    shown = findings.correlations(frame)
    assert list(shown.index.names) == ["Indicator", "Council characteristic"]
    for reading, lo, hi in zip(shown["Reading"], num["lower"], num["upper"], strict=True):
        assert (reading == "no clear association") == (lo <= 0 <= hi)
    text = findings.claims(frame)
    assert "95% CI" in text
    assert (
        text.count("\n- ") + 1 == min(8, int(((num["lower"] > 0) | (num["upper"] < 0)).sum())) + 1
    )


def test_overdispersion_agrees_with_the_verdicts_funnel(frame) -> None:
    od = findings.overdispersion_numbers(("delayed_social_care",))
    r = od[od["period"] == "2019-20"].iloc[0]
    v = verdict.benchmark("delayed_social_care", "E06000030", "2019-20", ())
    assert r["phi"] == pytest.approx(v.phi)
    q, k = r["n"] * r["phi"], r["n"]
    assert r["i2"] == pytest.approx(max(0.0, (q - (k - 1)) / q))
    assert r["i2_lower"] <= r["i2"] <= r["i2_upper"]
    shown = findings.overdispersion(od)
    assert "Spread beyond chance (%)" in shown.columns


def test_fee_medians_by_an_independent_path(frame) -> None:
    from asc_evidence.build import load

    u = load("unit_costs")
    u = u[(u["level"] == "council") & (u["period"] == "2008-09")]
    fee = u[u["measure"] == "fee_home_care_hour_independent"].set_index("council_code")["value"]
    own = u[u["measure"] == "unit_cost_home_care_hour_own"].set_index("council_code")["value"]
    both = pd.concat([fee, own], axis=1, keys=["fee", "own"]).dropna()
    both = both[(both["fee"] > 0) & (both["own"] > 0)]
    num = findings.fee_cost_numbers()
    r = num[(num["service"] == "Home care") & (num["period"] == "2008-09")].iloc[0]
    assert r["n"] == len(both)
    assert r["fee"] == pytest.approx(both["fee"].median())
    assert r["ratio"] == pytest.approx((both["fee"] / both["own"]).median())
    assert r["below"] == pytest.approx((both["fee"] < both["own"]).mean())
    assert set(num["definition"]) == {"PSS-EX1", "ASC-FR"}


def test_figures_are_titled_labelled_sourced_and_dated(frame) -> None:
    figs = [
        findings.correlation_figure(frame),
        findings.scatter_figure(frame),
        findings.overdispersion_figure(findings.overdispersion_numbers(("admissions_65",))),
        findings.fees_figure(findings.fee_cost_numbers()),
    ]
    for fig in figs:
        caption = " ".join(t.get_text() for t in fig.texts)
        assert caption.count("Source: ") == 1
        assert "Period: " in caption
        axes = [ax for ax in fig.axes if ax.axison and ax.has_data()]
        assert all(ax.get_title() for ax in axes)  # every panel titled
        assert axes[0].get_ylabel() or [t.get_text() for t in axes[0].get_yticklabels()]
        supx = fig.get_supxlabel() if hasattr(fig, "get_supxlabel") else ""
        assert all(ax.get_xlabel() or supx for ax in axes)
        plt.close(fig)


def test_notebook_is_parameterised_by_year_and_only_calls_the_package() -> None:
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    params = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1
    assert re.match(r'year: str = ""', "".join(params[0]["source"]))
    code = "\n".join(
        "".join(c["source"]) for c in cells if c["cell_type"] == "code" and c not in params
    )
    for forbidden in ("def ", "for ", "lambda", "pd.", "np.", "load(", ".groupby", "import pandas"):
        assert forbidden not in code, forbidden
    calls = set(re.findall(r"\b(findings|notebook)\.(\w+)\(", code))
    for module, name in calls:
        mod = findings if module == "findings" else __import__("asc_evidence.notebook").notebook
        assert callable(getattr(mod, name)), name
