"""The one-page profile (Fingertips idiom) and the publication-ready tables of the report.

Colours are checked against the verdicts' own intervals for real councils, spine positions and
quartiles against hand-worked numbers, and every display table against a list of the internal
column names the issue found in the report (``median_jaccard``, ``role``, ``what``, index 0-9...).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from asc_evidence import compare, notebook, profile, verdict
from asc_evidence.councils import lookup

SWINDON, MANCHESTER = "E06000030", "E08000003"
#: Okabe-Ito colours, typed from Okabe and Ito (2008), not read from the package.
VERMILLION, BLUE, YELLOW, SKY_BLUE, PURPLE = "#D55E00", "#0072B2", "#F0E442", "#56B4E9", "#CC79A7"
#: Internal (lower-case, as in the code) names seen in the report before issue 14.
INTERNAL = (
    "median_jaccard", "min_jaccard", "share_at_least_half", "what", "role", "variant", "rank",
    "code", "name", "type", "region", "value", "flag", "measure", "estimate", "lower95",
    "upper95", "verdict", "method", "definition", "variation", "months", "indicator", "period",
    "unit", "approximate", "council_name", "council_code", "compared with England",
)  # fmt: skip


@pytest.fixture(scope="module")
def data(require_processed) -> None:
    require_processed("ascof", "unit_costs", "ascfr_2021_22", "dtoc_monthly", "council_profile")


@pytest.fixture(scope="module")
def swindon(data) -> notebook.Context:
    return notebook.Context(
        council=lookup(SWINDON),
        neighbours=verdict.neighbour_set(SWINDON, 15, ""),
        neighbour_source="asc-evidence statistical neighbours model (15 nearest)",
        year=None,
    )


# ---------------------------------------------------------------------------------------------
# colours against the verdicts


def test_council_above_englands_998_limit_on_delays_is_worse(data) -> None:
    """Manchester's delays in 2019-20: England's value lies below the council's own 99.8%
    interval, so Fingertips says "Worse (99.8%)" and the profile paints it vermillion."""
    v = verdict.benchmark("delayed_social_care", MANCHESTER, "2019-20", ())
    assert v.lower99_8 > v.england  # the definition of worse at 99.8% when low is good
    assert profile.category(v) == "worse"
    (row,) = profile.build_rows([v], ())
    assert row.colour == VERMILLION
    svg = profile.spine_svg(row)
    assert f'<circle cx="{_expected_cx(row):.1f}" cy="12" r="6" fill="{VERMILLION}"' in svg


def _expected_cx(row: profile.ProfileRow) -> float:
    """Circle position worked out from Fingertips' rule: England in the middle of a scale that
    reaches the council furthest from it; low-is-good indicators put high values on the left."""
    v = row.verdict
    lo, hi = row.councils.min(), row.councils.max()
    half = max(v.england - lo, hi - v.england)
    share = 0.5 - (v.value - v.england) / (2 * half)  # polarity "lower": flipped
    usable = profile.SPINE_WIDTH - 2 * profile.SPINE_MARGIN
    return profile.SPINE_MARGIN + usable * share


def test_better_and_similar_follow_the_intervals(data) -> None:
    better = verdict.benchmark("admissions_65", SWINDON, "2023-24", ())
    assert better.upper99_8 < better.england  # England above the whole 99.8% interval
    assert profile.category(better) == "better"
    similar = verdict.benchmark("admissions_18_64", SWINDON, "2023-24", ())
    assert similar.lower95 <= similar.england <= similar.upper95
    assert profile.category(similar) == "similar"
    rows = profile.build_rows([better, similar], ())
    assert [r.colour for r in rows] == [BLUE, YELLOW]


def test_prices_are_placed_by_quartile_with_no_judgement(data) -> None:
    values = profile.council_values("fee_nursing_65_week", "2020-21")
    v = verdict.benchmark("fee_nursing_65_week", SWINDON, "2020-21", ())
    assert (values < v.value).mean() < 0.25  # fewer than a quarter of councils pay less
    assert profile.category(v, values) == "lowest quarter"
    (row,) = profile.build_rows([v], ())
    assert row.colour == SKY_BLUE
    assert row.comparison == "Lowest quarter of councils"
    assert row.funnel == ""  # no test for a price


def test_quartile_category_hand_worked() -> None:
    """Values 1..8: linear-interpolation quartiles are 2.75 and 6.25 (positions 1.75 and 5.25)."""
    values = np.arange(1.0, 9.0)
    assert profile.quartile_category(2.0, values) == "lowest quarter"
    assert profile.quartile_category(2.75, values) == "middle half"  # limits are inside
    assert profile.quartile_category(6.25, values) == "middle half"
    assert profile.quartile_category(7.0, values) == "highest quarter"
    assert profile.quartile_category(np.nan, values) == "no figure"


def test_spine_puts_worse_on_the_left() -> None:
    # England 10, furthest council 5 away: scale 5..15
    low_good = profile.spine_position([15.0, 10.0, 5.0], 10.0, 5.0, "lower")
    np.testing.assert_allclose(low_good, [0.0, 0.5, 1.0])
    high_good = profile.spine_position([15.0, 10.0, 5.0], 10.0, 5.0, "higher")
    np.testing.assert_allclose(high_good, [1.0, 0.5, 0.0])
    np.testing.assert_allclose(profile.spine_position([3.0], 3.0, 0.0, "lower"), [0.5])


def test_trend_arrows_are_coloured_by_what_they_say() -> None:
    assert VERMILLION in profile.trend_arrow("Increasing and getting worse")
    assert BLUE in profile.trend_arrow("Decreasing and getting better")
    neutral = profile.trend_arrow("Increasing")
    assert VERMILLION not in neutral
    assert BLUE not in neutral
    assert profile.TREND_NONE in profile.trend_arrow("Cannot be calculated")


def test_summary_names_what_is_worse_and_the_profile_is_deterministic(swindon) -> None:
    vs = verdict.headline(SWINDON, swindon.neighbours)
    dp = next(v for v in vs if v.indicator == "direct_payments")
    assert dp.fingertips == "Worse (95%)"  # England above its 95% but inside its 99.8% interval
    rows = profile.build_rows(vs, swindon.neighbours)
    lines = profile.summary_lines(rows)
    assert len(lines) == 3
    assert "Worse than England on Service users receiving direct payments (95%)" in lines[0]
    assert lines[2].startswith("<b>Fees paid</b>")
    page = profile.profile_html(vs, swindon.neighbours, "Swindon")
    assert page == profile.profile_html(vs, swindon.neighbours, "Swindon")
    assert not re.search(r"\d{4}-\d{2}-\d{2}", page)  # no dates: nbval compares this output
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # no assets
    assert page.count("<tr>") == len(vs) + 1  # header + one row per headline indicator
    for colour in (VERMILLION, BLUE, YELLOW, SKY_BLUE, PURPLE):
        assert colour in profile.key_html()  # every colour has a key entry


# ---------------------------------------------------------------------------------------------
# tables that read like a publication


def _internal_names(df: pd.DataFrame) -> list[str]:
    labels = [str(c) for c in df.columns] + [str(n) for n in df.index.names if n is not None]
    bad = [c for c in labels if c in INTERNAL or re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", c)]
    if isinstance(df.index, pd.RangeIndex):
        bad.append("index numbers 0..n-1")
    return bad


def _cells(df: pd.DataFrame) -> list[str]:
    return [str(x) for x in df.to_numpy().ravel()] + [str(x) for x in df.index]


def test_display_tables_use_plain_names_and_no_cut_or_negative_zero(swindon) -> None:
    code, nb = SWINDON, swindon.neighbours
    tables = {}
    for key in ("delayed_social_care", "admissions_65", "direct_payments", "fee_home_care_hour"):
        period = verdict.period_for(key, code, None)
        tables[f"comparison {key}"] = compare.comparison_table(key, code, nb, period)
        tables[f"trend {key}"] = compare.trend_summary(key, code, nb)
    tables["verdicts"] = compare.verdict_table(verdict.headline(code, nb))
    res, fig = compare.spc_figure(code)
    plt.close(fig)
    tables["spc"] = compare.spc_summary(res)
    tables["neighbours"] = swindon.neighbours_table()
    tables["stability"] = notebook.stability_table(swindon)
    for name, df in tables.items():
        assert _internal_names(df) == [], name
        cells = _cells(df)
        assert not any(c.endswith("...") for c in cells), name  # nothing truncated
        assert not any(re.fullmatch(r"-0(\.0+)?%?", c) for c in cells), name
        html = df.to_html()
        for word in ("median_jaccard", "share_at_least_half", ">role<", ">what<", "NaN"):
            assert word not in html, (name, word)
    # a note that applies to every council is said once, under the table
    notes = tables["comparison delayed_social_care"].attrs["notes"]
    assert any(n.startswith("Every council in the table: 11 months") for n in notes)
    assert "Notes" not in tables["comparison delayed_social_care"].columns or all(
        "11 months" not in c for c in tables["comparison delayed_social_care"]["Notes"]
    )


def test_number_never_prints_negative_zero() -> None:
    assert compare.number(-0.04) == "0.0"
    assert compare.number(-0.06) == "-0.1"
    assert compare.number(1234.567, 2) == "1,234.57"
    assert compare.number(np.nan) == ""
    shown = compare.for_display(pd.DataFrame({"x": [-0.0, 1.25]}), decimals=1)
    assert list(shown["x"]) == ["0.0", "1.2"]  # 1.25 -> 1.2: Python rounds half to even


def test_footnotes_number_notes_in_order_and_lift_common_ones() -> None:
    df = pd.DataFrame({"area": ["A", "B", "C", "England"], "flag": ["x; p", "x", "x; q; p", ""]})
    out = compare.footnotes(df, "flag", among=df["area"] != "England", common_label="All")
    assert list(out["Notes"]) == ["1", "", "2, 1", ""]
    assert out.attrs["notes"] == ["All: X.", "1. P.", "2. Q."]


def test_neighbour_text_follows_the_settings(data, tmp_path: Path) -> None:
    five = notebook.start("Swindon", neighbours=5)
    assert len(five.neighbours) == 5
    assert notebook.neighbours_note(five).startswith("Neighbours are the 5 councils nearest")
    assert list(five.neighbours_table().columns)[0] == "Rank (1 = nearest)"
    listed = tmp_path / "nn.csv"
    listed.write_text(
        "council_code,neighbour_code,rank\nE06000030,E06000035,1\nE06000030,E06000007,2\n"
    )
    mine = notebook.start("Swindon", neighbours=15, neighbour_file=str(listed))
    text = notebook.neighbours_note(mine)
    assert text.startswith("The 2 neighbours are the user's list")
    assert "15 were asked for, 2 are in the file" in text
    assert list(mine.neighbours_table().columns)[0] == "Position in the file"


# ---------------------------------------------------------------------------------------------
# funnel plots


def test_funnel_names_the_council_and_labels_few_points_without_overlap(swindon) -> None:
    v = verdict.benchmark("direct_payments", SWINDON, "2023-24", swindon.neighbours)
    fig = compare.funnel_figure(v, swindon.neighbours)
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Swindon" in legend
    assert "Highlighted" not in legend
    assert len(legend) == 4  # England, other councils, neighbours, the council: no line styles
    key = [t.get_text() for t in ax.texts]
    assert compare.funnel_key(True) in key
    labels = [a for a in ax.texts if a.get_text() != compare.funnel_key(True)]
    assert 1 <= len(labels) <= compare.MAX_FUNNEL_LABELS
    assert labels[0].get_text() == "Swindon"
    renderer = fig.canvas.get_renderer()
    boxes = [a.get_window_extent(renderer) for a in labels]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b)
    flagged = v.funnel.table["flag99_8_adj"].astype(str).isin(["above", "below"])
    names = set(v.funnel.table.loc[flagged, "council_name"]) | {"Swindon"}
    assert {a.get_text() for a in labels} <= names  # only the council and outliers
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# the rendered report (once the stored notebooks have been re-run with this code)

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


#: Tables of the demand and market work (notebook 05, ``compare.fees_vs_costs``) are checked by
#: their own tests; this one covers the indicator sections and the council report.
OTHER_OWNERS = ("05_demand.ipynb",)


def test_rendered_report_shows_no_internal_column_name() -> None:
    import nbformat

    from asc_evidence import report

    nb06 = nbformat.read(NOTEBOOKS / "06_council_report.ipynb", as_version=4)
    if "asc-profile" not in str(nb06):
        pytest.skip("stored outputs predate issue 14: re-run the notebooks to check the HTML")
    merged = nb06
    merged.cells = [
        c
        for n in report.NOTEBOOKS
        if n not in OTHER_OWNERS
        for c in nbformat.read(NOTEBOOKS / n, as_version=4).cells
        if "parameters" not in c.metadata.get("tags", []) and "fees_vs_costs" not in c.source
    ]
    page = report.to_html(merged, "test")
    headers = re.findall(r"<th[^>]*>(.*?)</th>", page, flags=re.S)
    found = {
        h.strip() for h in headers if h.strip() in INTERNAL or re.fullmatch(r"\w+_\w+", h.strip())
    }
    assert found == set()
    assert not re.search(r"<th>\s*\d\s*</th>", page)  # no index numbers 0-9
    assert "-0.0<" not in page


def _row(key: str, category: str, fingertips: str, trend: str, funnel998: str = "within"):
    v = verdict.Verdict(
        indicator=key, title=key, unit="", council_code="X", council_name="X", period="2020-21",
        value=1.0, england=1.0, fingertips=fingertips, funnel998=funnel998,
    )  # fmt: skip
    return profile.ProfileRow(
        verdict=v, category=category, comparison=fingertips, funnel="", trend_marker=trend,
        trend_direction=None, councils=np.array([1.0]), neighbour_values=np.array([]),
    )  # fmt: skip


def test_summary_lines_from_synthetic_rows() -> None:
    """Worse and getting worse is named; 'not compared' is not counted as compared; a funnel
    outlier on an exact count is named as significant."""
    rows = [
        _row("delayed_social_care", "worse", "Worse (99.8%)", "Increasing and getting worse",
             funnel998="above"),
        _row("admissions_65", "similar", "Similar", "No significant change"),
        _row("direct_payments", "not compared", "Not compared", "Cannot be calculated"),
    ]  # fmt: skip
    first, second = profile.summary_lines(rows)
    assert (
        "Worse than England on Delayed transfers of care attributable to social care (99.8%)"
        in first
    )
    assert "similar on Permanent admissions to residential and nursing care, 65+" in first
    assert "not compared on Service users receiving direct payments (no valid interval)" in first
    assert "significantly different from England: Delayed transfers" in first
    assert "(higher)" in first
    assert "Getting worse on Delayed transfers" in second
    assert "<b>Worse than England and getting worse:</b> Delayed transfers" in second
    assert (
        "no significant change on Permanent admissions to residential and nursing care, 65+"
        in second
    )
    assert "cannot be calculated for Service users receiving direct payments" in second
    assert "fees have no trend test" not in second  # no fee among the rows
    # a fee's "Cannot be calculated" is not counted among the trends that could not be made,
    # and a funnel signal at 95% only is named as worth watching
    rows.append(_row("fee_home_care_hour", "middle half", "", "Cannot be calculated"))
    rows[1].verdict.funnel95 = "above"
    first, second, _fees = profile.summary_lines(rows)
    assert "fees have no trend test (prices have no interval)" in second
    assert "Home care" not in second.split("fees have")[0]
    assert (
        "Worth watching (beyond the funnel's 95% limit, within its 99.8% limit): "
        in html.unescape(first)
    )
    assert "Permanent admissions to residential and nursing care, 65+ (higher)." in first


def test_each_test_of_the_sensitivity_table_answers_for_itself() -> None:
    """Nursing 65+ as in Cumberland's report, 2021-22: by chance alone England says "lower" and the
    neighbours "similar" (the conclusion changes); allowing for variation between councils both
    say "similar" (it does not). The last row says yes, then no; and a definition row saying
    "similar", which a benchmark also said, does not "depend on what is counted"."""
    import pandas as pd

    from asc_evidence import sensitivity as s

    def row(bench: str, what: str, chance: str, between: str) -> dict:
        r = s.not_computed_row(bench, "", "")
        r.update({"what changes": what, s.CHANCE: chance, s.BETWEEN: between})
        return r

    rows = [
        row("England", "comparators", "lower", "similar"),
        row("Statistical neighbours", "comparators", "similar", "similar"),
        row("Oflog's neighbours", "comparators", "not compared", "not tested"),
        row("England, all care homes", "definition", "similar", "similar"),
    ]
    table = s.sensitivity_table(rows)
    last = table.iloc[-1]
    assert (last[s.CHANCE], last[s.BETWEEN]) == ("yes", "no")
    assert table.attrs["conclusion_changes"] is True
    assert "depends on what is counted" not in table.attrs["why"]
    # a definition row giving a direction no benchmark gave does depend on what is counted
    rows[-1] = row("England, all care homes", "definition", "higher", "similar")
    assert "depends on what is counted" in s.sensitivity_table(rows).attrs["why"]
    # nothing compared with a test: "not tested", never "no"
    only = [row("England", "comparators", "lower", "not tested")]
    assert s.sensitivity_table(only).iloc[-1][s.BETWEEN] == "not tested"
    assert isinstance(table, pd.DataFrame)
