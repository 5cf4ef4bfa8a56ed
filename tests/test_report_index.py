"""The national index page of ``report --all``: built in one process, self-contained, sortable.

The page is built for a few councils and two indicators (one with counts, one price) to keep the
test short; it must load offline in headless Chromium with no failed request or console error,
and clicking a column heading must sort the rows by value (missing values last).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from asc_evidence import national, profile, report, verdict

CODES = ["E06000030", "E08000003", "E06000066", "E09000012", "E06000035"]
KEYS = ("delayed_social_care", "fee_home_care_hour")


@pytest.fixture(scope="module")
def data(require_processed) -> None:
    require_processed("ascof", "unit_costs", "ascfr_2021_22", "dtoc_monthly", "boundaries_council")


@pytest.fixture(scope="module")
def frame(data):
    return national.national_frame(codes=CODES, keys=KEYS)


def test_frame_agrees_with_each_councils_verdict(frame) -> None:
    assert len(frame) == len(CODES) * len(KEYS)
    delays = frame[frame["indicator"] == "delayed_social_care"].set_index("council_code")
    assert set(delays["period"]) == {"2019-20"}  # the latest year with council figures
    v = verdict.benchmark("delayed_social_care", "E08000003", "2019-20", ())
    assert delays.loc["E08000003", "category"] == "worse"  # England below its 99.8% interval
    assert v.lower99_8 > v.england
    for code in CODES:  # each row is that council's own verdict for that period
        mine = verdict.benchmark("delayed_social_care", code, "2019-20", ())
        np.testing.assert_equal(delays.loc[code, "value"], mine.value)
        assert delays.loc[code, "category"] == profile.category(mine)
    fees = frame[frame["indicator"] == "fee_home_care_hour"]
    assert set(fees["category"]) <= {*profile.QUARTILE_WORDS, "no figure"}


def test_index_links_existing_reports_and_escapes_names(frame) -> None:
    failed = {"E09000001": "ValueError: <bad>"}
    page = national.index_html(frame, links={"E06000030"}, failed=failed)
    assert '<a href="E06000030/report.html">Swindon</a>' in page
    assert '<a href="E08000003/report.html">' not in page  # no report written: no link
    assert "&lt;bad&gt;" in page
    assert "<bad>" not in page
    assert "<script src" not in page


def test_index_loads_offline_and_sorts(data, tmp_path: Path, offline_page) -> None:
    (tmp_path / "E06000030").mkdir()
    (tmp_path / "E06000030" / "report.html").write_text("<p>stub</p>")
    path = national.write_index(tmp_path, codes=CODES, keys=KEYS, maps=True)
    assert path == tmp_path / "index.html"
    with offline_page(path) as (page, problems):
        maps = page.eval_on_selector_all(
            ".asc-maps img", "els => els.filter(e => e.naturalWidth > 0).length"
        )
        column = 2  # Council, Region, then the first indicator (delays)
        read = f"""() => Array.from(document.querySelectorAll('table.asc-index tbody tr'))
            .map(r => r.cells[{column}].getAttribute('data-v'))"""
        before = page.evaluate(read)
        page.click(f"table.asc-index th:nth-child({column + 1})")
        ascending = page.evaluate(read)
        page.click(f"table.asc-index th:nth-child({column + 1})")
        descending = page.evaluate(read)
        names = page.evaluate(
            "() => Array.from(document.querySelectorAll('table.asc-index tbody tr'))"
            ".map(r => r.cells[0].textContent)"
        )
    assert problems["external"] == []
    assert problems["failed"] == []
    assert problems["errors"] == []
    assert maps == len(KEYS)
    numbers = [float(x) for x in ascending if x]
    assert numbers == sorted(numbers)
    assert ascending[len(numbers) :] == [""] * (len(ascending) - len(numbers))  # missing last
    down = [float(x) for x in descending if x]
    assert down == sorted(down, reverse=True)
    assert sorted(before, key=str) == sorted(ascending, key=str)  # same rows, new order
    assert len(names) == len(CODES)


def test_run_all_writes_the_national_index(monkeypatch, tmp_path: Path) -> None:
    """run_all ends with the national index, from the verdicts computed while the workers ran (the
    notebooks themselves are not run here)."""
    calls = {}

    def fake_index(out, **kwargs):
        calls["out"], calls["kwargs"] = out, kwargs
        return out / "index.html"

    def fake_frame(year):
        calls["frame_year"] = year
        return "frame"

    class Pool:
        def __init__(self, *a, **k) -> None:
            pass

        def __enter__(self):
            return self

        def __exit__(self, *a) -> None:
            return None

        def submit(self, fn, *a):
            from concurrent.futures import Future

            f = Future()
            f.set_result([(c, "", "skipped in test") for c in report._queued(a[0], 99)])
            return f

    monkeypatch.setattr(report, "ProcessPoolExecutor", Pool)
    monkeypatch.setattr(report, "as_completed", lambda fs: fs)
    monkeypatch.setattr(national, "write_index", fake_index)
    monkeypatch.setattr(national, "national_frame", fake_frame)
    out = report.run_all(out=tmp_path, codes=["E06000030"], workers=1, year="2019-20")
    assert out == tmp_path / "index.html"
    assert calls["kwargs"]["failed"] == {"E06000030": "skipped in test"}
    assert calls["kwargs"]["frame"] == "frame"  # the verdicts computed while the workers ran
    assert calls["frame_year"] == "2019-20"
