"""The evidence stage: tables stored and restored exactly, freshness, the guards, and reports that
say the same with and without the evidence (scripts/check_evidence.py does all outputs of three
councils; here a quick subset)."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from asc_evidence import build as build_mod
from asc_evidence import evidence


def _frames() -> dict[tuple[str, ...], pd.DataFrame]:
    """Two parts with every dtype the package's frames use, and columns only one part has."""
    a = pd.DataFrame(
        {
            "code": pd.array(["E1", None], dtype=pd.StringDtype("python", na_value=np.nan)),
            "name": pd.array(["A", pd.NA], dtype=pd.StringDtype("python", na_value=pd.NA)),
            "n": np.array([3, 4], dtype="int64"),
            "x": [0.1, np.nan],
            "ok": np.array([True, False]),
            "zero": pd.array([True, pd.NA], dtype="boolean"),
            "band": np.array(["65+", "85+"], dtype=object),
        }
    )
    b = pd.DataFrame({"x": [2.5], "months": np.array([11], dtype="int64"), "code": ["E2"]})
    return {("one", "2020-21"): a, ("two", "2021-22"): b}


def test_pack_then_unpack_restores_each_frame_exactly() -> None:
    parts = _frames()
    long, schemas = evidence.pack(parts, ("indicator", "period"))
    # one long table: key columns first, then the union of the parts' columns
    assert list(long.columns[:2]) == ["indicator", "period"]
    assert len(long) == 3
    for schema in schemas:
        key = tuple(schema["key"])
        rows = np.flatnonzero(
            (long["indicator"] == key[0]).to_numpy() & (long["period"] == key[1]).to_numpy()
        )
        back = evidence.unpack(long, rows, schema)
        pd.testing.assert_frame_equal(back, parts[key], check_exact=True)
        assert list(back.dtypes) == list(parts[key].dtypes)  # string storage and NA kind too


def test_pack_survives_parquet(tmp_path) -> None:
    parts = _frames()
    long, schemas = evidence.pack(parts, ("indicator", "period"))
    long.to_parquet(tmp_path / "t.parquet", index=False)
    read = pd.read_parquet(tmp_path / "t.parquet")
    back = evidence.unpack(read, np.array([0, 1]), schemas[0])
    pd.testing.assert_frame_equal(back, parts["one", "2020-21"], check_exact=True)


def _fake_evidence(folder) -> None:
    """A complete evidence folder whose manifest matches the (empty) processed folder and code."""
    ev = folder / "evidence"
    ev.mkdir(parents=True)
    for name in evidence.TABLE_NAMES:
        pd.DataFrame({"a": [1]}).to_parquet(ev / f"{name}.parquet")
    files = ["evidence.py"]
    manifest = {
        "version": evidence.VERSION,
        "inputs": evidence._inputs_digest(),
        "code": evidence._files_hash(files),
        "code_files": files,
    }
    (ev / "manifest.json").write_text(json.dumps(manifest))


def test_status_follows_inputs_code_and_files(isolated_data) -> None:
    processed = isolated_data / "processed"
    assert evidence.status() == "missing"
    _fake_evidence(processed)
    assert evidence.status() == "fresh"
    # a processed table rebuilt from other inputs: the evidence no longer describes it
    (processed / "manifest.json").write_text(json.dumps({"ascof": {"inputs": {"k": "abc"}}}))
    assert evidence.status() == "stale (the processed tables changed)"
    (processed / "manifest.json").unlink()
    assert evidence.status() == "fresh"
    # the code that made it changed (a file of the hashed list differs)
    m = json.loads((processed / "evidence" / "manifest.json").read_text())
    m["code"] = "0" * 16
    (processed / "evidence" / "manifest.json").write_text(json.dumps(m))
    assert evidence.status() == "stale (the code changed)"
    m["version"] = evidence.VERSION + 1
    (processed / "evidence" / "manifest.json").write_text(json.dumps(m))
    assert evidence.status().startswith("stale (made by another version")
    (processed / "evidence" / "funnels.parquet").unlink()
    m["version"] = evidence.VERSION
    (processed / "evidence" / "manifest.json").write_text(json.dumps(m))
    assert evidence.status() == "missing (some tables)"


def test_no_evidence_means_compute(isolated_data) -> None:
    assert not evidence.active()
    assert evidence.indicator("admissions_65") is None
    t = pd.DataFrame({"x": [1]})
    assert evidence.funnel("admissions_65", "2020-21", t) is evidence.NOT_STORED
    assert evidence.recent_trend("admissions_65", "E06000030", None, t) is None


@pytest.fixture(scope="module")
def fresh() -> None:
    build_mod.clear_caches()
    if evidence.status() != "fresh":
        pytest.skip(f"evidence tables {evidence.status()}: run `asc-evidence data build`")
    yield
    build_mod.clear_caches()


def test_a_hand_made_table_is_never_answered_from_the_evidence(fresh) -> None:
    from asc_evidence import indicators

    own = indicators.get("admissions_65")
    assert evidence.owns("admissions_65", own) is not None
    copy = own.copy()  # same numbers, but not the evidence's own object
    assert evidence.owns("admissions_65", copy) is None
    assert evidence.funnel("admissions_65", "2021-22", copy) is evidence.NOT_STORED
    assert evidence.council_intervals("admissions_65", copy, "2021-22", "E06000030") is None


def test_monkeypatched_processed_tables_switch_the_evidence_off(fresh, monkeypatch) -> None:
    from asc_evidence import indicators

    assert evidence.indicator("admissions_65") is not None
    monkeypatch.setattr(indicators, "load", lambda name: pd.DataFrame())
    assert evidence.indicator("admissions_65") is None
    assert evidence.delay_variance("social_care") is None


@pytest.mark.parametrize("key", ["delayed_social_care", "admissions_65", "fee_home_care_hour"])
def test_verdict_and_tables_are_the_same_with_and_without_evidence(fresh, key) -> None:
    """Walsall: every number of the verdict (bit for bit), its sentence, the comparison table
    and the recent trend, read from the evidence and computed afresh."""
    from asc_evidence import compare, verdict

    code = "E08000030"

    def outputs():
        nb = verdict.neighbour_set(code, 15, "")
        period = verdict.period_for(key, code, None)
        v = verdict.benchmark(key, code, period, nb)
        table = v.funnel.table if v.funnel is not None else None
        return (
            v.as_row(),
            table,
            compare.comparison_table(key, code, nb, period),
            (compare.recent_trend(key, code)),
        )

    build_mod.clear_caches()
    assert evidence.active()
    stored = outputs()
    with evidence.disabled():
        assert not evidence.active()
        computed = outputs()
    row_s, row_c = stored[0], computed[0]
    assert row_s.keys() == row_c.keys()
    for k in row_s:
        a, b = row_s[k], row_c[k]
        assert a == b or (isinstance(a, float) and np.isnan(a) and np.isnan(b)), k
    if stored[1] is not None:
        pd.testing.assert_frame_equal(stored[1], computed[1], check_exact=True)
    pd.testing.assert_frame_equal(stored[2], computed[2], check_exact=True)
    assert stored[2].attrs == computed[2].attrs
    assert stored[3] == computed[3] or np.isnan(stored[3].chi2)


def test_a_verdict_is_made_once_and_each_caller_gets_its_own(fresh) -> None:
    """The headline page and a section ask for the same verdict: made once from the evidence
    (verdict.benchmark's memo), yet a caller changing its copy changes nobody else's."""
    from asc_evidence import verdict

    build_mod.clear_caches()
    code, key = "E08000030", "admissions_65"
    nb = verdict.neighbour_set(code, 15, "")
    period = verdict.period_for(key, code, None)
    calls = []
    real = verdict._benchmark

    def counted(*args):
        calls.append(args)
        return real(*args)

    first = verdict.benchmark(key, code, period, nb)
    sentence = first.sentence
    first.sentence = "changed by this caller"
    verdict._benchmark = counted
    try:
        again = verdict.benchmark(key, code, period, list(nb))  # a list of the same neighbours
    finally:
        verdict._benchmark = real
    assert calls == []  # remembered, not made again
    assert again is not first
    assert again.sentence == sentence
    with evidence.disabled():  # a hand-made table is never memoised: made each time
        assert verdict.benchmark(key, code, period, nb).sentence == sentence


def test_shared_inputs_and_all_councils_at_once_change_nothing(fresh) -> None:
    """projection_from_tables with what every council shares made once gives the same projection
    as computed for each council alone, and as the evidence stage's all-council frames."""
    from asc_evidence.demand.model import (
        input_tables,
        projection_from_tables,
        projections_from_tables,
    )

    tables = input_tables()
    codes = ["E06000030", "E08000030"]
    together = projections_from_tables(*tables, codes)
    shared: dict[object, object] = {}
    for code in codes:
        a = projection_from_tables(*tables, code, code, shared=shared)
        b = projection_from_tables(*tables, code, code)
        for name in ("rates", "england_rates", "unit_costs", "population", "demand", "by_variant"):
            pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
        assert a.notes == b.notes
        for name, frame in together.items():
            mine = frame[frame["projection"] == code].drop(columns="projection")
            if name == "rates":
                for whose, attr in (("council", "rates"), ("England", "england_rates")):
                    part = mine[mine["rates_of"] == whose].drop(columns="rates_of")
                    pd.testing.assert_frame_equal(
                        part.reset_index(drop=True), getattr(a, attr), check_exact=True
                    )
            elif name == "notes":
                assert list(mine["note"]) == a.notes
            else:
                pd.testing.assert_frame_equal(
                    mine.reset_index(drop=True), getattr(a, name), check_exact=True
                )
    assert len(shared) == 2  # the variant ratios and the rate, cost and 65+ inputs, made once


def test_the_forked_part_gives_the_same_tables_and_keeps_its_errors(monkeypatch) -> None:
    """With two workers the indicators other than delays are made in a forked process (the
    delays, neighbours, care market and demand in this one): the same tables come back, in the
    indicators' order, and a failure raises its own error here. Each part notes the process that
    made it (``pid``)."""
    from asc_evidence import indicators, market, verdict
    from asc_evidence.errors import SchemaChangedError

    def parts(keys: list[str], st) -> dict[str, evidence._Parts]:
        made = {}
        for k in keys:
            frame = pd.DataFrame({"indicator": [k], "value": [1.0], "pid": [os.getpid()]})
            made[k] = evidence._Parts(
                frame, funnel_rows=[{"indicator": k}], comparisons=[frame], trends=[{"k": k}]
            )
        return made

    small = pd.DataFrame({"council_code": ["E06000030"], "x": [0.5]})
    monkeypatch.setattr(evidence, "_delay_variance", lambda: (small, None))
    monkeypatch.setattr(evidence, "_indicator_parts", parts)
    monkeypatch.setattr(verdict, "neighbour_table", lambda n: small)
    monkeypatch.setattr(verdict, "stability_summary", lambda n: small)
    monkeypatch.setattr(market, "capacity_tables", lambda: (small, small))
    monkeypatch.setattr(market, "price_table", lambda: small)
    monkeypatch.setattr(evidence, "demand_tables", lambda: {"demand_notes": (small, None)})
    one, two = evidence.compute(workers=1), evidence.compute(workers=2)
    assert list(one) == list(two)
    demand_made_elsewhere = {"demand_people", "demand_population", "demand_by_variant",
                             "demand_rates", "demand_unit_costs"}  # fmt: skip
    assert set(one) == {t.name for t in evidence.TABLES} - demand_made_elsewhere
    comp1, comp2 = one["comparisons"][0], two["comparisons"][0]
    assert list(comp1["indicator"]) == list(comp2["indicator"]) == list(indicators.INDICATORS)
    assert set(comp1["pid"]) == {os.getpid()}
    delays = comp2["indicator"].str.startswith("delayed_")
    assert set(comp2.loc[delays, "pid"]) == {os.getpid()}  # their builders need this process's
    assert os.getpid() not in set(comp2.loc[~delays, "pid"])  # made in the forked process
    pd.testing.assert_frame_equal(comp1.drop(columns="pid"), comp2.drop(columns="pid"))
    assert list(two["recent_trends"][0]["k"]) == list(indicators.INDICATORS)

    def broken() -> pd.DataFrame:
        raise SchemaChangedError("beds.csv", ["code", "beds"], ["code"])

    monkeypatch.setattr(market, "price_table", broken)
    with pytest.raises(SchemaChangedError, match=r"beds\.csv: the columns have changed"):
        evidence.compute(workers=2)
