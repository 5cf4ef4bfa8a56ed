"""What makes a report fast must not change what it shows: figures drawn once (charts.png) are
the tight-bounding-box PNG matplotlib makes, captions stay whole, parameters are injected as
papermill does, and the HTML exporter without its BeautifulSoup pass gives the same page."""

from __future__ import annotations

import copy
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pytest
from PIL import Image

from asc_evidence import charts, report


def _image(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


def _tight(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi, bbox_inches="tight")
    return buf.getvalue()


def _figure(title: str = "A title"):
    fig, ax = plt.subplots(figsize=(6, 4), dpi=90)
    charts.margins(fig, left=0.9, right=0.3, top=0.5, bottom=0.7)
    ax.plot([1, 2, 3], [3, 1, 2], marker="o")
    ax.set(title=title, xlabel="Year", ylabel="Value")
    charts.caption(fig, "A source with a long name, " * 6, "2020-21 to 2022-23")
    return fig


def _blur(a: np.ndarray) -> np.ndarray:
    """Mean of each 3 x 3 neighbourhood (edges cropped)."""
    return (
        sum(a[i : a.shape[0] - 2 + i, j : a.shape[1] - 2 + j] for i in range(3) for j in range(3))
        / 9
    )


def _similar(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Share of pixels within 10/255 and mean absolute difference, after a 3 x 3 blur and at the
    best shift of up to a pixel (matplotlib paints the tight box from a fractional origin, so
    edges are anti-aliased a little differently; the content must be the same)."""
    a, b = _blur(a), _blur(b)
    h, w = min(a.shape[0], b.shape[0]) - 2, min(a.shape[1], b.shape[1]) - 2
    best = (0.0, 255.0)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            d = np.abs(a[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] - b[1 : 1 + h, 1 : 1 + w])
            best = max(best, ((d.max(axis=-1) <= 10).mean(), d.mean()))
    return best


def test_png_drawn_once_is_the_tight_bounding_box_png() -> None:
    fig = _figure()
    once, tight = _image(charts.png(fig)), _image(_tight(fig))
    # the same picture: sizes within a pixel (rounding of the box), pixels alike but for edges
    assert abs(once.shape[0] - tight.shape[0]) <= 1
    assert abs(once.shape[1] - tight.shape[1]) <= 1
    share, mean = _similar(once, tight)
    assert share > 0.9
    assert mean < 2.5
    # and not alike by accident: a figure with other content differs far more
    other = _figure(title="Another title")
    other.axes[0].plot([1, 3], [1, 3], lw=6)
    assert _similar(_image(charts.png(other)), tight)[1] > 1.8 * mean
    plt.close(fig)
    plt.close(other)


def test_png_keeps_content_that_reaches_past_the_figure() -> None:
    fig = _figure(title="A title far longer than this small figure is wide " * 2)
    once, tight = _image(charts.png(fig)), _image(_tight(fig))
    width = fig.get_figwidth() * fig.dpi
    assert once.shape[1] > width  # grown to hold the title, not cut
    assert abs(once.shape[1] - tight.shape[1]) <= 1
    assert abs(once.shape[0] - tight.shape[0]) <= 1
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
    assert charts.png(fig) is None
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
    png = charts.png(fig, base64=True)
    plt.close(fig)
    nb.cells[2].outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
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


def test_notebooks_are_shared_between_kernels_by_cost() -> None:
    names = list(report.NOTEBOOKS)
    groups = report.kernel_groups(names, 2)
    assert sorted(n for g in groups for n in g) == sorted(names)  # each notebook once
    loads = [sum(report.NOTEBOOK_COST[n] for n in g) for g in groups]
    assert max(loads) - min(loads) <= 3  # within one small notebook of balanced
    assert all(g == sorted(g, key=names.index) for g in groups)  # merged order kept
    assert report.kernel_groups(names, 1) == [names]


def test_chunks_keep_every_worker_busy() -> None:
    codes = [f"E{i:08d}" for i in range(153)]
    sizes = [len(c) for c in report.chunks_for(codes, 2)]
    assert sizes == [40, 40, 40, 33]  # at most MAX_CHUNK per kernel
    assert [len(c) for c in report.chunks_for(codes[:6], 2)] == [3, 3]
    assert [len(c) for c in report.chunks_for(codes[:5], 2, chunk_size=2)] == [2, 2, 1]


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
