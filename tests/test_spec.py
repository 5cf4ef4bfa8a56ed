"""One indicator, declared once (issue 12, items 3 and 4): the specs, their builders, the shared
helpers (pooling, flags, England's code, caches) and the module layering."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from asc_evidence import build, common, indicators, verdict
from asc_evidence.indicators import INDICATORS, SECTIONS

SRC = Path(__file__).resolve().parents[1] / "src" / "asc_evidence"


@pytest.fixture(scope="module")
def real(require_processed) -> None:
    """The real processed tables; skipped when they have not been built."""
    from asc_evidence import build

    require_processed(
        "dtoc_monthly", "unit_costs", "ascfr_2021_22", "ascof", "ascof_timeseries", "population_mye"
    )
    build.load.cache_clear()
    indicators.clear_caches()
    yield
    indicators.clear_caches()


# --- the specs ---------------------------------------------------------------------------------


def test_sections_cover_every_indicator_exactly_once() -> None:
    shown = [k for s in SECTIONS for k in indicators.keys_for(s)]
    assert sorted(shown) == sorted(INDICATORS)  # every indicator is shown ...
    assert len(shown) == len(set(shown))  # ... in exactly one section
    assert all(indicators.keys_for(s) for s in SECTIONS)  # no empty section


def test_headline_is_the_reports_headline_page() -> None:
    # The report's headline page (notebook 06): delays attributable to social care, both
    # admissions rates, direct payments and the three fees, in that order.
    assert indicators.HEADLINE == (
        "delayed_social_care",
        "admissions_65",
        "admissions_18_64",
        "direct_payments",
        "fee_home_care_hour",
        "fee_residential_65_week",
        "fee_nursing_65_week",
    )


def test_definition_segments_follow_the_breaks() -> None:
    ind = indicators.spec("fee_residential_65_week")  # breaks 2014-15 and 2020-21
    assert ind.definition("2013-14") == "PSS-EX1 unit cost of independent-sector care"
    assert ind.definition("2014-15") == "PSS-EX1 2014-15 (summed over support reasons)"
    assert ind.definition("2021-22") == "ASC-FR average rate paid to external providers"


def test_a_malformed_spec_is_refused_when_declared() -> None:
    good = INDICATORS["admissions_65"]
    with pytest.raises(ValueError, match="polarity 'up'"):
        dataclasses.replace(good, polarity="up")
    with pytest.raises(ValueError, match="section 'nowhere'"):
        dataclasses.replace(good, section="nowhere")
    with pytest.raises(ValueError, match="one definition label per segment"):
        dataclasses.replace(good, definitions=("only one",))
    with pytest.raises(ValueError, match="denominator_label"):
        dataclasses.replace(good, denominator_label="")
    with pytest.raises(KeyError, match="choose from"):
        indicators.spec("no_such_indicator")


def test_every_builder_gives_the_common_table(real) -> None:
    """Each spec's builder returns COLS; where both counts are published (not approximated),
    value = numerator / denominator x the spec's multiplier, to the published rounding (ASCOF and
    delayed-transfer values to 0.05, i.e. 1 dp; fees to GBP 1, as PSS-EX1 rounds to whole pounds)."""
    for key, ind in INDICATORS.items():
        t = indicators.raw(key)
        assert list(t.columns[: len(indicators.COLS)]) == indicators.COLS, key
        assert set(t["indicator"]) == {key}
        assert set(t["unit"]) == {ind.unit}
        assert len(t) > 100, key  # about 150 councils, several years
        if ind.kind == "survey":  # no counts: the published margin of error instead
            assert t["numerator"].isna().all(), key
            assert t["moe"].notna().sum() > 100, key
            continue
        exact = t.dropna(subset=["numerator", "denominator", "value"])
        exact = exact[~exact["flag"].str.contains("approximation")]
        assert len(exact), key
        tol = 1.0 if ind.kind == "price" else 0.05 + 1e-9
        diff = exact["numerator"] / exact["denominator"] * ind.multiplier - exact["value"]
        assert diff.abs().max() <= tol, key
        g = indicators.get(key)
        assert set(indicators.GEO_COLS) <= set(g.columns)


# --- shared helpers ----------------------------------------------------------------------------


def test_pooled_value_is_sum_over_sum_and_vectorised_by_period() -> None:
    ind = INDICATORS["admissions_65"]  # per 100,000
    rows = pd.DataFrame(
        {
            "period": ["a", "a", "b", "b", "b"],
            "numerator": [10.0, 30.0, 5.0, np.nan, 0.0],
            "denominator": [1_000.0, 3_000.0, 500.0, 100.0, 0.0],
            "value": [1000.0, 1000.0, 1000.0, np.nan, np.nan],
        }
    )
    # a: 40 / 4,000 x 100,000 = 1,000; b: 5 / 500 x 100,000 = 1,000 (the NaN row left out)
    by = verdict.pooled_value(rows, ind, by="period")
    assert by.to_dict() == {"a": pytest.approx(1000.0), "b": pytest.approx(1000.0)}
    assert verdict.pooled_value(rows[rows["period"] == "a"], ind) == pytest.approx(1000.0)
    # all five rows: 45 / 4,500 x 100,000 = 1,000; none left with a denominator -> NaN
    assert verdict.pooled_value(rows, ind) == pytest.approx(1000.0)
    assert np.isnan(verdict.pooled_value(rows.iloc[3:4], ind))
    assert np.isnan(verdict.pooled_value(rows.iloc[4:5], ind))  # zero denominator


def test_prices_combine_by_median_counts_by_pooling() -> None:
    fee = INDICATORS["fee_home_care_hour"]
    rows = pd.DataFrame({"value": [15.0, 16.0, 30.0], "numerator": np.nan, "denominator": np.nan})
    assert verdict.combined_value(rows, fee) == 16.0
    assert verdict.combined_label(fee) == "median"
    assert verdict.combined_label(INDICATORS["direct_payments"]) == "combined"


def test_add_flag_joins_notes_once_where_asked() -> None:
    flag = pd.Series(["", "old", "", "old"])
    out = common.add_flag(flag, "new", pd.Series([True, True, False, False]))
    assert out.tolist() == ["new", "old; new", "", "old"]
    per_row = common.add_flag(flag, pd.Series(["x", "y", "z", "w"]))
    assert per_row.tolist() == ["x", "old; y", "z", "old; w"]


def test_clear_caches_forgets_tables_and_neighbours(monkeypatch: pytest.MonkeyPatch) -> None:
    registered = {f.__name__ for f in build._CACHES}
    assert {"get", "population", "neighbour_set", "neighbour_table", "stability_summary"} <= (
        registered
    )
    pop = pd.DataFrame(
        {"council_code": ["E06000030"], "period": ["2014"], "value": [100.0]}
    ).assign(age_band="18+", sex="persons")
    monkeypatch.setattr(indicators, "load", lambda name: pop)
    indicators.clear_caches()
    indicators.population("18+")
    assert indicators.population.cache_info().currsize == 1
    indicators.clear_caches()
    assert all(f.cache_info().currsize == 0 for f in build._CACHES)


def test_one_england_code() -> None:
    """England's code is written once as a value, in common.py, in the whole package (other
    modules import it; docstrings may name it)."""
    written = [
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if p.name != "common.py"
        and any(q in p.read_text(encoding="utf-8") for q in ('"E92000001"', "'E92000001'"))
    ]
    assert written == []
    assert common.ENGLAND == "E92000001"
    assert indicators.ENGLAND is common.ENGLAND


# --- layering ----------------------------------------------------------------------------------


def _module_imports(path: Path, top_level_only: bool = True) -> set[str]:
    """asc_evidence modules a file imports (``from asc_evidence import x`` counts as module x)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("asc_evidence.")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("asc_evidence"):
            if node.module == "asc_evidence":
                out |= {f"asc_evidence.{a.name}" for a in node.names}
            else:
                out.add(node.module)
    return out


def _modules() -> dict[str, Path]:
    mods = {}
    for p in SRC.rglob("*.py"):
        parts = p.relative_to(SRC.parent).with_suffix("").parts
        mods[".".join(parts).removesuffix(".__init__")] = p
    return mods


def test_no_import_cycle_between_modules() -> None:
    """The module-level import graph of the package has no cycle (depth-first search)."""
    mods = _modules()
    graph = {m: {d for d in _module_imports(p) if d in mods and d != m} for m, p in mods.items()}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path, m, d]))
            if d not in state:
                visit(d, [*path, m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert "asc_evidence.verdict" in graph["asc_evidence.compare"]  # compare builds on verdict


def test_lower_layers_never_import_display_modules() -> None:
    """indicators and verdict compute; compare, charts and notebook display. Not even a lazy
    import may point back up."""
    display = {"asc_evidence.compare", "asc_evidence.notebook", "asc_evidence.charts"}
    for name in ("indicators.py", "verdict.py", "common.py"):
        assert not _module_imports(SRC / name, top_level_only=False) & display, name
    assert not _module_imports(SRC / "common.py", top_level_only=False)  # imports nothing of ours
