"""What makes a report fast must not change what it shows: figures drawn once (charts.svg) are
cropped to the tight box matplotlib finds, captions stay whole, parameters are injected as
papermill does, and the HTML exporter without its BeautifulSoup pass gives the same page."""

from __future__ import annotations

import contextlib
import copy
import io
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import matplotlib.ticker
import nbformat
import numpy as np
import pytest

from asc_evidence import charts, report


def _figure(title: str = "A title"):
    fig, ax = plt.subplots(figsize=(6, 4), dpi=90)
    charts.margins(fig, left=0.9, right=0.3, top=0.5, bottom=0.7)
    ax.plot([1, 2, 3], [3, 1, 2], marker="o", label="a series")
    ax.legend(loc="upper right")
    ax.set(title=title, xlabel="Year", ylabel="Value")
    charts.caption(fig, "A source with a long name, " * 6, "2020-21 to 2022-23")
    return fig


def _view_box(svg: str) -> tuple[float, float, float, float]:
    m = re.search(r'viewBox="([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+)"', svg)
    assert m, "no viewBox"
    return tuple(float(v) for v in m.groups())


def _tight_size(fig) -> tuple[float, float]:
    """Width and height in points of matplotlib's own ``bbox_inches="tight"`` SVG (drawn twice:
    once to find the box, with the same SVG font metrics, once to paint it)."""
    out = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none"}):
        fig.savefig(out, format="svg", bbox_inches="tight")
    m = re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"', out.getvalue())
    return float(m[1]), float(m[2])


def test_svg_is_cropped_to_matplotlibs_tight_box() -> None:
    """One drawing, cropped as matplotlib's two-pass ``bbox_inches="tight"`` crops (same pad):
    the same width; the height at most 3 pt less, as the box here is the lines' glyphs and
    matplotlib's counts the whole line height of a caption's last line. Shown at the size the
    figure has at its dpi (as the PNG was)."""
    fig = _figure()
    svg = charts.svg(fig)
    _, _, w, h = _view_box(svg)
    tight_w, tight_h = _tight_size(fig)
    assert w == pytest.approx(tight_w, abs=0.1)
    assert tight_h - 3 <= h <= tight_h
    size = re.search(r'<svg[^>]* width="([\d.]+)" height="([\d.]+)"', svg)
    assert float(size[1]) == pytest.approx(w * 90 / 72, abs=0.1)
    assert float(size[2]) == pytest.approx(h * 90 / 72, abs=0.1)
    plt.close(fig)


def test_svg_keeps_content_that_reaches_past_the_figure() -> None:
    fig = _figure(title="A title far longer than this small figure is wide " * 2)
    x0, _, w, _ = _view_box(charts.svg(fig))
    assert x0 < 0  # grown both sides to hold the title
    assert x0 + w > fig.get_figwidth() * 72
    assert w == pytest.approx(_tight_size(fig)[0], abs=0.1)
    plt.close(fig)


def test_svg_holds_its_words_as_text_and_is_the_same_every_time() -> None:
    fig = _figure()
    svg = charts.svg(fig)
    for words in ("A title", "Year", "a series", "Source: A source", "2022-23."):
        assert re.search(r"<text[^>]*>" + re.escape(words), svg), words
    assert svg == charts.svg(fig)  # deterministic: nbval and diffs of stored notebooks
    assert "<dc:date>" not in svg
    assert svg.startswith("<svg")
    assert svg.rstrip().endswith("</svg>")
    plt.close(fig)


def test_text_sizes_shared_between_figures_change_no_figure(monkeypatch) -> None:
    """Text sizes are measured once per process (charts._SVG_TEXT_SIZES), keyed by text, font and
    math: a figure drawn after others measured the same words in other sizes and weights is the
    same SVG as drawn with nothing remembered."""
    title = "A title far longer than this small figure is wide " * 2  # its width sets the crop
    monkeypatch.setattr(charts, "_SVG_TEXT_SIZES", {})
    fig = _figure(title)
    alone = charts.svg(fig)
    monkeypatch.setattr(charts, "_SVG_TEXT_SIZES", {})
    other, ax = plt.subplots(figsize=(6, 4), dpi=90)
    for size, weight in ((6, "normal"), (14, "normal")):  # the same words, other fonts, first
        ax.text(0.1, size / 20, title, fontsize=size, fontweight=weight)
        ax.set_xlabel("Year", fontsize=size)
    charts.svg(other)
    measured = len(charts._SVG_TEXT_SIZES)
    assert measured > 0
    assert charts.svg(fig) == alone
    monkeypatch.setattr(charts, "_SVG_TEXT_SIZES_MAX", 0)  # nothing remembered
    assert charts.svg(fig) == alone
    plt.close(fig)
    plt.close(other)


@pytest.mark.parametrize(
    ("size", "weight", "lines"), [(8, "normal", 1), (12, "bold", 1), (10, "normal", 3)]
)
def test_remembered_font_heights_lay_texts_out_as_matplotlib_does(size, weight, lines) -> None:
    """charts._RecordingSVG gives matplotlib the font heights of a text's layout from a memo
    (charts._SVG_FONT_HEIGHTS): every text is laid out exactly as by matplotlib's own SVG
    renderer, which reads them from the font's tables each time."""
    from matplotlib.backends.backend_svg import RendererSVG

    fig = plt.figure(figsize=(4, 3), dpi=72)  # svg() lays figures out at 72 dpi
    text = fig.text(0.1, 0.5, "\n".join(["Delayed days, lp"] * lines), fontsize=size,
                    fontweight=weight)  # fmt: skip
    plain = RendererSVG(288, 216, io.StringIO())
    assert not hasattr(plain, "_get_font_height_metrics")  # matplotlib reads the tables itself
    recording = charts._RecordingSVG(288, 216, io.StringIO())

    def layout(renderer) -> tuple:
        box, *rest = text._get_layout(renderer)
        return (tuple(box.extents), *rest)

    for _ in range(2):  # measured, then remembered
        assert layout(recording) == layout(plain)
    assert len(charts._SVG_FONT_HEIGHTS) >= 1
    plt.close(fig)


def _log_figure(xmin: float, xmax: float, *, every_minor: bool) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6, 3), dpi=90)
    x = np.geomspace(xmin, xmax, 30)
    ax.scatter(x, np.log(x))
    charts.log_x(ax)
    if every_minor:  # matplotlib's own minor ticks of a log axis
        ax.xaxis.set_minor_locator(matplotlib.ticker.LogLocator(subs="auto"))
    ax.set_title("A funnel's axis")
    return fig


def _png(fig: plt.Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


@pytest.mark.parametrize(
    ("xmin", "xmax", "wide"),
    # a funnel's spans (more than a decade: matplotlib's LogFormatter labels only powers of ten,
    # and minor ticks of LogLocator(subs="auto") are at 2..9 times a power, so none is labelled),
    # and narrow spans where the formatter labels some minor ticks (2, 3, 4, 6 times a power)
    [(300, 2e5, True), (1_000, 5e6, True), (50, 800, False), (20, 60, False)],
)
def test_minor_ticks_that_draw_nothing_are_left_out(xmin, xmax, wide) -> None:
    """charts.ShownLogMinorLocator leaves out a log axis's minor ticks that have no mark, no grid
    line and an empty label, and only those: the picture is the same pixels as with every minor
    tick; with tick marks turned on, every minor tick is kept."""
    charts.setup()
    shown, every = (_log_figure(xmin, xmax, every_minor=flag) for flag in (False, True))
    assert _png(shown) == _png(every)  # the same picture (rendered, so ticks are updated)
    located = every.axes[0].xaxis.get_minorticklocs()
    labels = [t.get_text() for t in every.axes[0].xaxis.get_minorticklabels()]
    assert len(located) == len(labels) > 0
    kept = shown.axes[0].xaxis.get_minorticklocs()
    assert list(kept) == [x for x, label in zip(located, labels, strict=True) if label]
    assert [t.get_text() for t in shown.axes[0].xaxis.get_minorticklabels()] == [
        label for label in labels if label
    ]
    assert (len(kept) == 0) is wide
    marked = _log_figure(xmin, xmax, every_minor=False)
    marked.axes[0].tick_params(axis="x", which="minor", bottom=True)
    assert len(marked.axes[0].xaxis.get_minorticklocs()) == len(
        every.axes[0].xaxis.get_minorticklocs()
    )
    for fig in (shown, every, marked):
        plt.close(fig)


def test_caption_is_inside_the_figure_under_the_axes_and_whole() -> None:
    fig = _figure()
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    text = fig.texts[-1]
    box = text.get_window_extent(r)
    axes = fig.axes[0].get_tightbbox(r)
    assert box.y0 >= 0
    assert box.x0 >= 0
    assert box.x1 <= fig.get_figwidth() * fig.dpi
    assert box.y1 <= axes.y0  # below the tick labels and axis label
    # wrapped, never cut: every word of the source is in the caption
    assert text.get_text().count("A source with a long name") == 6
    assert text._get_wrapped_text().count("\n") >= 1  # drawn on several lines
    assert text._get_wrapped_text().replace("\n", " ") == text.get_text()
    # the figure grew by the caption's lines; the axes kept their size in inches
    assert fig.get_figheight() > 4
    pos = fig.axes[0].get_position()
    assert pos.height * fig.get_figheight() == pytest.approx(4 - 0.5 - 0.7)
    plt.close(fig)


def test_empty_figure_gives_nothing_as_ipython_does() -> None:
    fig = plt.figure()
    assert charts.svg(fig) is None
    plt.close(fig)


def _notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell('council = "Swindon"')
    p.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), p, nbformat.v4.new_code_cell("x = 1")]
    return nb


def test_parameters_are_injected_after_the_parameters_cell_as_python_literals() -> None:
    nb = _notebook()
    params = {"council": 'E0"6\\0', "neighbours": 15, "year": ""}
    out = report.inject_parameters(nb, params)
    assert [c.metadata.get("tags", []) for c in out.cells][1:3] == [
        ["parameters"],
        [report.INJECTED],
    ]
    ns: dict[str, object] = {}
    exec(out.cells[2].source, ns)  # the cell is ours
    assert {k: ns[k] for k in params} == params  # quotes and backslashes survive
    again = report.inject_parameters(out, {"council": "E08000030"})
    injected = [c for c in again.cells if report.INJECTED in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert "E08000030" in injected[0].source
    assert len(nb.cells) == 3  # the input is not changed


def test_fast_html_exporter_gives_the_same_page_as_nbconvert() -> None:
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter

    nb = _notebook()
    fig = _figure()
    svg = charts.svg(fig)
    plt.close(fig)
    nb.cells[2].outputs = [
        nbformat.v4.new_output(
            "display_data", data={"image/svg+xml": svg, "text/plain": "<Figure>"}
        ),
        nbformat.v4.new_output("stream", name="stdout", text="hello\n"),
    ]
    ours = report.to_html(nb, "T", footer="<p>f</p>")
    theirs = HTMLExporter(
        template_name="asc_report",
        extra_template_basedirs=[str(report.resources_registry().parent / "templates")],
    )
    theirs.exclude_input = theirs.exclude_input_prompt = theirs.exclude_output_prompt = True
    nb2 = copy.deepcopy(nb)
    nb2.metadata["title"] = "T"
    nb2.metadata["asc_footer"] = "<p>f</p>"
    html, _ = theirs.from_notebook_node(nb2)
    a, b = BeautifulSoup(ours, "html.parser"), BeautifulSoup(html, "html.parser")
    assert a.get_text() == b.get_text()
    tags_a, tags_b = a.find_all(), b.find_all()
    assert len(tags_a) == len(tags_b)
    assert all(x.name == y.name and x.attrs == y.attrs for x, y in zip(tags_a, tags_b, strict=True))
    assert ours.count(report.NO_ALT) == 1
    assert ours.count('tabindex="0"') >= 2


def test_exporter_validates_the_notebook_once(monkeypatch) -> None:
    """nbconvert validates after each of its twelve preprocessors unless told to validate once
    (``optimistic_validation``); the page is the same either way (checked above against
    nbconvert's own exporter)."""
    exporter = report._exporter()
    calls = []
    monkeypatch.setattr(
        exporter, "_validate_preprocessor", lambda nb, pre: calls.append(type(pre).__name__)
    )
    report.to_html(_notebook(), "T")
    assert len(exporter._preprocessors) == 12
    assert calls == [type(exporter._preprocessors[-1]).__name__]


def test_pausing_collection_leaves_a_cycle_for_the_next_call() -> None:
    """Between two councils of ``report --all`` the kernel freezes what it keeps and pauses
    automatic collection (common.freeze_live_objects(pause=True)): a reference cycle made in the
    next council survives any number of allocations, and the next call frees it. Run in a fresh
    interpreter, as it changes the garbage collector of its process."""
    import subprocess
    import sys

    code = (
        "import gc, weakref\n"
        "from asc_evidence.common import freeze_live_objects\n"
        "class Node: pass\n"
        "freeze_live_objects(pause=True)\n"
        "a = Node(); a.me = a; ref = weakref.ref(a); del a\n"
        "junk = [[i] for i in range(200_000)]  # thousands of automatic-collection thresholds\n"
        "alive = ref() is not None\n"
        "freeze_live_objects(pause=True)\n"
        "print(gc.isenabled(), alive, ref() is None)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True"]


def test_notebooks_are_shared_between_kernels_by_cost() -> None:
    names = list(report.NOTEBOOKS)
    groups = report.kernel_groups(names, 2)
    assert sorted(n for g in groups for n in g) == sorted(names)  # each notebook once
    loads = [sum(report.NOTEBOOK_COST[n] for n in g) for g in groups]
    total = sum(report.NOTEBOOK_COST[n] for n in names)
    # the best split of these seven costs (worked out by hand: total 13.7, so the larger half is
    # at least 6.9; 03 + 08 + 04 = 6.8 against 06 + 01 + 02 + 05 = 6.9 reaches it)
    assert max(loads) == pytest.approx(6.9)
    assert min(loads) == pytest.approx(total - 6.9)
    assert all(g == sorted(g, key=names.index) for g in groups)  # merged order kept
    assert report.kernel_groups(names, 1) == [names]


def test_workers_take_councils_from_one_queue_and_renew_their_kernel() -> None:
    """``--all`` workers take the next council when free (report._run_queue), so a worker never
    waits while the other still has a fixed share left; every council runs exactly once, in the
    queue's order, with a fresh kernel every ``per_kernel`` councils."""
    import queue

    todo: queue.Queue = queue.Queue()
    for i in range(7):
        todo.put(f"E{i:08d}")
    kernels: list[list[str]] = []

    def fake_chunk(codes, *args):  # one kernel: consumes the codes as it reports them
        kernels.append([])
        for code in codes:
            kernels[-1].append(code)
        return [(code, f"{code}/report.html", "") for code in kernels[-1]]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(report, "_run_chunk", fake_chunk)
        results = report._run_queue(todo, "out", None, 15, None, None, per_kernel=3)
    assert [len(k) for k in kernels] == [3, 3, 1]
    assert [code for code, _, _ in results] == [f"E{i:08d}" for i in range(7)]
    assert todo.empty()
    # a second worker sharing the queue takes councils one at a time, as the first leaves them
    for i in range(4):
        todo.put(f"E{i:08d}")
    first, second = report._queued(todo, 10), report._queued(todo, 10)
    assert [next(first), next(second), next(second), next(first)] == [
        "E00000000", "E00000001", "E00000002", "E00000003",
    ]  # fmt: skip
    assert list(first) == []  # both stop when the queue is empty
    assert list(second) == []


def _source_notebooks(tmp_path) -> list:
    paths = []
    bodies = {
        "a": "x = 2 * neighbours\nprint('a', x)",
        "b": "print('b', council)",
        "c": "print('c', council + '!')",
    }
    for name, body in bodies.items():
        nb = nbformat.v4.new_notebook()
        p = nbformat.v4.new_code_cell('council = "Swindon"\nneighbours = 15')
        p.metadata["tags"] = ["parameters"]
        pid = nbformat.v4.new_code_cell("import os\npid = os.getpid()")
        nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}"), p, pid,
                    nbformat.v4.new_code_cell(body)]  # fmt: skip
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(nb, path)
        paths.append(path)
    return paths


def _texts(nb) -> list[str]:
    return [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def test_two_kernels_give_the_cells_and_outputs_of_one(tmp_path, monkeypatch) -> None:
    """The merged notebook run in two kernels at once: same cells in the same order, same
    outputs (the parameters reach every notebook), and really two processes."""
    monkeypatch.setattr(report, "NOTEBOOK_COST", {"a.ipynb": 2, "b.ipynb": 1, "c.ipynb": 1})
    names = ["a.ipynb", "b.ipynb", "c.ipynb"]
    assert report.kernel_groups(names, 2) == [["a.ipynb"], ["b.ipynb", "c.ipynb"]]
    merged = report.merge_notebooks(_source_notebooks(tmp_path))
    merged.cells.append(nbformat.v4.new_code_cell("print(pid)"))
    merged.cells[-1].metadata["asc_source"] = "c.ipynb"
    merged.cells.insert(3, nbformat.v4.new_code_cell("print(pid)"))
    merged.cells[3].metadata["asc_source"] = "a.ipynb"
    params = {"council": "E06000030", "neighbours": 4}
    one = report._execute(merged, tmp_path / "o.ipynb", params, tmp_path, kernels=1)
    two = report._execute(merged, tmp_path / "t.ipynb", params, tmp_path, kernels=2)
    assert [c.source for c in two.cells] == [c.source for c in one.cells]
    assert [c.metadata.get("asc_source") for c in two.cells][1:] == [
        c.metadata.get("asc_source") for c in one.cells
    ][1:]
    words = ["a 8\n", "b E06000030\n", "c E06000030!\n"]
    t1, t2 = _texts(one), _texts(two)
    assert [t for t in t2 if not t[0].isdigit()] == [t for t in t1 if not t[0].isdigit()] == words
    pids_one = [t for t in t1 if t[0].isdigit()]
    pids_two = [t for t in t2 if t[0].isdigit()]
    assert pids_one[0] == pids_one[1]  # one kernel
    assert pids_two[0] != pids_two[1]  # a's kernel is not c's


def test_log_axis_labels_are_plain_numbers() -> None:
    """Funnel x axes (log scale) read "100", "1,000", "10,000" (worked out by hand), never a
    power of ten in mathtext."""
    fig, ax = plt.subplots()
    ax.scatter([150, 2_000, 40_000], [1, 2, 3])
    charts.log_x(ax)
    ax.set_xlim(80, 60_000)
    fig.canvas.draw()
    lo, hi = ax.get_xlim()
    labels = {t.get_text() for t in ax.get_xticklabels() if lo <= t.get_position()[0] <= hi}
    labels.discard("")
    assert labels == {"100", "1,000", "10,000"}
    assert "<text" in charts.svg(fig)
    assert "mathdefault" not in "".join(labels)
    plt.close(fig)


def test_maps_are_drawn_once_and_the_same(monkeypatch) -> None:
    """geopandas ends each ``plot`` with ``canvas.draw_idle()``, which on Agg draws the whole
    figure at once; :func:`charts.no_idle_draw` stops those throwaway drawings (none while the map
    is built), and the SVG of the map is the same as when geopandas draws it."""
    import geopandas as gpd
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from shapely.geometry import box

    gdf = gpd.GeoDataFrame(
        {"value": [1.0, 2.0, None]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 1, 1, 2)],
    )

    def make() -> plt.Figure:
        return charts.choropleth(
            gdf, "value", title="T", legend_label="L", source="S", period="P",
            highlight=gdf.iloc[[0]],
        )  # fmt: skip

    drawn = []
    agg_draw = FigureCanvasAgg.draw
    monkeypatch.setattr(FigureCanvasAgg, "draw", lambda self, *a, **k: drawn.append(1))
    fig = make()
    assert drawn == []  # geopandas' two draw_idle calls drew nothing
    assert fig.canvas.draw_idle.__func__ is FigureCanvasAgg.draw_idle  # the class's method again
    monkeypatch.setattr(FigureCanvasAgg, "draw", agg_draw)
    ours = charts.svg(fig)
    plt.close(fig)
    monkeypatch.setattr(charts, "no_idle_draw", lambda fig: contextlib.nullcontext())
    theirs_fig = make()  # geopandas draws it twice, as before
    theirs = charts.svg(theirs_fig)
    plt.close(theirs_fig)
    assert ours == theirs
