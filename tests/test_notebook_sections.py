"""Notebook sections come from the indicator specs: notebooks 01-04 type no source text, and
:func:`asc_evidence.notebook.section` shows each part of an indicator with the spec's words."""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from asc_evidence import indicators, notebook, verdict
from asc_evidence.councils import lookup

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: Words that only a source line or caption would contain: they belong in the specs.
SOURCE_WORDS = (
    "NHS England",
    "NHS Digital",
    "ONS mid-year",
    "PSS-EX1",
    "ASC-FR",
    "ASCOF",
    "Delayed Transfers of Care",
    "source=",
)


def _code(nb: str) -> str:
    """The notebook's code cells, except the parameters cell (whose comments name neighbour lists)."""
    cells = json.loads((NOTEBOOKS / nb).read_text())["cells"]
    return "\n".join(
        "".join(c["source"])
        for c in cells
        if c["cell_type"] == "code" and "parameters" not in c["metadata"].get("tags", [])
    )


@pytest.mark.parametrize(("section", "nb"), sorted(indicators.SECTIONS.items()))
def test_indicator_notebooks_type_no_source_text(section: str, nb: str) -> None:
    code = _code(nb)
    for word in SOURCE_WORDS:
        assert word not in code, f"{nb}: hand-typed {word!r} (put it in the indicator's spec)"
    for key in indicators.INDICATORS:
        assert f'"{key}"' not in code, f"{nb}: names {key} (loop over keys_for instead)"
    assert f'indicators.keys_for("{section}")' in code  # the notebook shows its own section


@pytest.fixture(scope="module")
def swindon(require_processed) -> notebook.Context:
    require_processed("ascof", "unit_costs", "ascfr_2021_22", "population_mye", "council_profile")
    return notebook.Context(
        council=lookup("E06000030"),
        neighbours=verdict.neighbour_set("E06000030", 15, ""),
        neighbour_source="model",
        year=None,
    )


def _shown(monkeypatch: pytest.MonkeyPatch, ctx: notebook.Context, key: str) -> list[object]:
    shown: list[object] = []

    def keep(obj) -> None:
        if obj is not None:
            shown.append(obj.data if hasattr(obj, "data") else obj)

    monkeypatch.setattr(notebook, "_display", keep)
    notebook.section(ctx, key)
    return shown


def _caption(fig: plt.Figure) -> str:
    return " ".join(t.get_text() for t in fig.texts)


def test_count_section_shows_verdict_table_funnel_and_trend(
    monkeypatch: pytest.MonkeyPatch, swindon: notebook.Context
) -> None:
    ind = indicators.spec("admissions_65")
    shown = _shown(monkeypatch, swindon, ind.key)
    kinds = [type(x).__name__ for x in shown]
    # heading, verdict, table and its notes, funnel, how to read it, trend chart, trend summary
    # and its notes, sources
    assert kinds == [
        "str", "str", "DataFrame", "str", "Figure", "str", "Figure", "DataFrame", "str", "str"
    ]  # fmt: skip
    heading, sentence, table, notes, funnel, note, trend, summary, _, sources = shown
    assert "New definition: not comparable with 2023-24 and earlier" in notes  # 2024-25: CLD
    assert "NHS England ASCOF" in sources
    assert 'href="https://' in sources
    assert heading == "## Aged 65 and over"
    assert sentence.startswith("**Verdict.** Swindon: ")
    assert "England" in table.index
    assert ind.unit in table.columns
    assert funnel.axes[0].get_xlabel() == ind.denominator_label == "Population aged 65+"
    assert _caption(funnel).startswith(f"Source: {ind.source}. Model: ")
    assert note == notebook.FUNNEL_NOTE
    assert trend.axes[0].get_title() == f"{ind.title}: trend"
    assert _caption(trend).startswith(f"Source: {ind.source}. Period: 2017-18 to ")
    assert {"Neighbours (combined)", "England"} <= {
        t.get_text() for t in trend.axes[0].legend_.texts
    }
    assert isinstance(summary, pd.DataFrame)
    assert len(summary) >= 1
    plt.close("all")


def test_price_section_shows_ranked_bars_instead_of_a_funnel(
    monkeypatch: pytest.MonkeyPatch, swindon: notebook.Context
) -> None:
    ind = indicators.spec("fee_home_care_hour")
    shown = _shown(monkeypatch, swindon, ind.key)
    kinds = [type(x).__name__ for x in shown]
    assert kinds == [
        "str",
        "str",
        "DataFrame",
        "str",
        "Figure",
        "Figure",
        "DataFrame",
        "str",
        "str",
    ]
    heading, sentence, table, _, bars, trend, *_ = shown
    assert heading == "## Home care, £ per hour"
    assert "no significance test applies" in sentence
    assert "Neighbours (median)" in table.index
    ax = bars.axes[0]
    assert ax.get_xlabel() == ind.unit
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "Swindon" in labels
    assert len(labels) <= 16  # the council and its 15 neighbours
    # Swindon has no 2021-22 home care figure, so its section shows 2020-21 (and says so)
    assert "No 2021-22 figure for this council" in sentence
    assert _caption(bars) == f"Source: {ind.source}. Period: 2020-21."
    assert _caption(trend).startswith(f"Source: {ind.source}. Period: 2008-09 to 2021-22")
    plt.close("all")


@pytest.mark.parametrize("key", list(indicators.INDICATORS))
def test_every_sources_line_links_an_official_page(key: str) -> None:
    """Each section's sources line names at least one official publication page (never an empty
    "Official pages: ." list): the registry's pages of the datasets behind the indicator."""
    line = notebook.sources_markdown([key])
    assert re.search(r"Official pages: [^<]+: <a href=\"https://", line), line
    assert "Official pages: ." not in line
