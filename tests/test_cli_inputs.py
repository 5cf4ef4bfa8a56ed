"""Bad input through the CLI: a one-paragraph error before any kernel starts, no traceback, and an
existing report left byte-for-byte unchanged. Plus the atomic report write path and `data status`.

No notebook is executed: the executor (``report._execute``) is replaced by fakes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

from asc_evidence import build as build_mod
from asc_evidence import fetch as fetch_mod
from asc_evidence import report, validate
from asc_evidence.cli import app
from asc_evidence.config import settings
from asc_evidence.errors import UserInputError

SWINDON = "E06000030"
OLD = {
    "report.html": b"<html>old Swindon report</html>",
    "report.ipynb": b'{"old": "notebook"}',
    "01_fee_rates.ipynb": b'{"old": "section"}',
}


@pytest.fixture
def processed() -> Path:
    """The real processed tables; skipped when they have not been built."""
    folder = settings().processed
    if (
        not (folder / "council_profile.parquet").is_file()
        or not (folder / "ascof.parquet").is_file()
    ):
        pytest.skip(
            f"processed tables not built in {folder}: run `asc-evidence data build` "
            "(or set ASC_EVIDENCE_PROCESSED)"
        )
    return folder


@pytest.fixture
def old_report(tmp_path: Path) -> Path:
    """A previous report folder ``reports/E06000030`` with known bytes; returns ``reports``."""
    out = tmp_path / "reports"
    (out / SWINDON).mkdir(parents=True)
    for name, content in OLD.items():
        (out / SWINDON / name).write_bytes(content)
    return out


def _snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file below ``folder`` (hidden ones included), by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


EXPECTED_OLD = {f"{SWINDON}/{n}": hashlib.sha256(c).hexdigest() for n, c in OLD.items()}


def _invoke(args: list[str]):
    return CliRunner().invoke(app, args)


def _assert_clean_failure(result, *fragments: str) -> str:
    """Non-zero exit, no traceback, one paragraph (no blank line), the expected words present."""
    text = result.output
    assert result.exit_code != 0, text
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in text
    assert "error: " in text, text
    message = text[text.index("error: ") :].strip()
    assert "\n" not in message, message  # the message is one paragraph, on one line
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    return text


def _no_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to execute a notebook."""

    def boom(*_a, **_k):
        raise AssertionError("a notebook was executed although the input was bad")

    monkeypatch.setattr(report, "_execute", boom)


# --- bad input that needs no processed data ---------------------------------------------------


@pytest.mark.parametrize(
    ("council", "fragments"),
    [
        # councils.BOUNDARY_CHANGES: Somerset County E10000027 -> Somerset E06000066 (recode, 2023)
        (
            "somerset county",
            ["became Somerset (E06000066) on 2023-04-01", "expected a current council"],
        ),
        # Cumbria E10000006 split into Cumberland E06000063 and Westmorland and Furness E06000064
        (
            "Cumbria",
            [
                "Cumbria (E10000006) was replaced by Cumberland (E06000063) and Westmorland and "
                "Furness (E06000064) on 2023-04-01",
                "Ask for one of those",
            ],
        ),
        # Northamptonshire E10000021 split into North E06000061 and West E06000062 on 2021-04-01
        (
            "Northamptonshire",
            [
                "North Northamptonshire (E06000061) and West Northamptonshire (E06000062) on 2021-04-01"
            ],
        ),
    ],
)
def test_abolished_council_names_its_successors(
    council: str, fragments: list[str], old_report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_kernel(monkeypatch)
    result = _invoke(["report", "--council", council, "--out", str(old_report)])
    _assert_clean_failure(result, *fragments)
    assert _snapshot(old_report) == EXPECTED_OLD


def test_out_pointing_at_a_file(
    tmp_path: Path, old_report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_kernel(monkeypatch)
    target = tmp_path / "not-a-folder.txt"
    target.write_text("keep me")
    result = _invoke(["report", "--council", "Swindon", "--out", str(target)])
    _assert_clean_failure(result, "expected a folder for the reports", "found a file")
    assert target.read_text() == "keep me"
    assert _snapshot(old_report) == EXPECTED_OLD


def test_out_in_a_read_only_place(old_report: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # /proc accepts no new entries, even for root (chmod is not enforced for root).
    _no_kernel(monkeypatch)
    result = _invoke(["report", "--council", "Swindon", "--out", "/proc/asc-evidence-reports"])
    _assert_clean_failure(result, "expected a folder you can write to", "not writable")
    assert _snapshot(old_report) == EXPECTED_OLD


def test_out_read_only_folder_by_permission(
    old_report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_kernel(monkeypatch)
    old_report.chmod(0o555)
    try:
        probe = old_report / "probe"
        try:
            probe.mkdir()
        except PermissionError:
            pass
        else:
            probe.rmdir()
            pytest.skip("permissions are not enforced for this user (root): see the /proc test")
        result = _invoke(["report", "--council", "Swindon", "--out", str(old_report)])
        _assert_clean_failure(result, "expected a folder you can write to", "not writable")
    finally:
        old_report.chmod(0o755)
    assert _snapshot(old_report) == EXPECTED_OLD


def test_build_only_unknown_table_lists_valid_names(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fetch(*_a, **_k):
        raise AssertionError("nothing may be fetched before --only is checked")

    monkeypatch.setattr(build_mod, "fetch", no_fetch)
    result = _invoke(["data", "build", "--only", "bogus"])
    names = [s.name for s in build_mod.all_specs()]
    text = _assert_clean_failure(result, "expected table names from this list", "['bogus']")
    assert all(n in text for n in names)


def test_running_outside_the_project_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        UserInputError, match="Run the command from the asc-evidence project folder"
    ):
        report.notebooks_dir()


def test_unexpected_error_points_to_debug_and_debug_shows_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def broken(*_a, **_k):
        raise RuntimeError("boom in a helper")

    monkeypatch.setattr(validate, "check_report_inputs", broken)
    result = _invoke(["report", "--council", "Swindon", "--out", str(tmp_path)])
    _assert_clean_failure(result, "RuntimeError: boom in a helper", "asc-evidence --debug report")
    debug = _invoke(["--debug", "report", "--council", "Swindon", "--out", str(tmp_path)])
    assert isinstance(debug.exception, RuntimeError)  # --debug lets the traceback through


# --- bad input checked against the processed data ---------------------------------------------


@pytest.mark.parametrize(
    ("year", "fragments"),
    [
        ("banana", ["expected the form YYYY-YY", "found 'banana'"]),
        ("2030-31", ["the data hold no figures for that year", "found 2030-31"]),
        ("2019-21", ["expected the form YYYY-YY"]),
    ],
)
def test_bad_year_lists_valid_years(
    year: str,
    fragments: list[str],
    processed: Path,
    old_report: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _no_kernel(monkeypatch)
    result = _invoke(["report", "--council", "Swindon", "--year", year, "--out", str(old_report)])
    # the indicator tables hold 2008-09 (PSS-EX1 fees) .. 2023-24 (ASCOF): both ends listed
    _assert_clean_failure(result, *fragments, "2008-09", "2019-20", "2023-24")
    assert _snapshot(old_report) == EXPECTED_OLD


@pytest.mark.parametrize("n", ["0", "500", "-3"])
def test_neighbours_out_of_range(
    n: str, processed: Path, old_report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_kernel(monkeypatch)
    result = _invoke(
        ["report", "--council", "Swindon", "--neighbours", n, "--out", str(old_report)]
    )
    # 153 current councils (April 2023), each with a profile row -> 152 possible neighbours
    _assert_clean_failure(result, f"--neighbours {n}", "from 1 to 152", f"found {n}")
    assert _snapshot(old_report) == EXPECTED_OLD


NEIGHBOUR_FILES = {
    "missing": (None, ["expected a .csv or .json file", "found nothing there"]),
    "empty": ("", ["found an empty file"]),
    "unknown names": (
        "council_code,neighbour_code\nSwindon,Medway\nSwindon,Nowhereshire\nSwindon,Wigan Pier\n",
        ["found 2 entries that are neither", "'Nowhereshire'", "'Wigan Pier'"],
    ),
    "only itself": (
        f"council_code,neighbour_code\n{SWINDON},{SWINDON}\nE06000035,E06000034\n",
        ["lists only Swindon (E06000030) itself", "expected at least one other council"],
    ),
    "no row for the council": (
        "council_code,neighbour_code\nE06000035,E06000034\n",
        [
            "has no row for Swindon (E06000030)",
            "found rows for 1 other council(s): Medway (E06000035)",
        ],
    ),
    "only unknown codes": (
        f"council_code,neighbour_code\n{SWINDON},E07000026\n",
        ["found only codes that are not", "E07000026"],
    ),
}


@pytest.mark.parametrize("case", list(NEIGHBOUR_FILES))
def test_bad_neighbour_file(
    case: str, processed: Path, tmp_path: Path, old_report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_kernel(monkeypatch)
    content, fragments = NEIGHBOUR_FILES[case]
    path = tmp_path / "nn.csv"
    if content is not None:
        path.write_text(content)
    args = [
        "report",
        "--council",
        "Swindon",
        "--neighbour-file",
        str(path),
        "--out",
        str(old_report),
    ]
    _assert_clean_failure(_invoke(args), "nn.csv", *fragments)
    assert _snapshot(old_report) == EXPECTED_OLD


# --- the write path: a failed run keeps the old report; a good run replaces it whole ----------


class _NotebookFailed(Exception):
    """Stands in for papermill's PapermillExecutionError (which carries ename/evalue)."""

    ename, evalue = "KeyError", "'something inside the notebook'"


def _failing_midway(merged, output_path: Path, params: dict, cwd: Path):
    # papermill writes the output notebook as it goes: leave a partial one, then fail
    nbformat.write(merged, output_path)
    raise _NotebookFailed


def _succeeding(merged, output_path: Path, params: dict, cwd: Path):
    assert params["council"] == SWINDON
    # the kernel runs in notebooks/, so a user's relative path must arrive absolute
    assert params["neighbour_file"] == "" or Path(params["neighbour_file"]).is_file()
    assert params["neighbour_file"] == "" or Path(params["neighbour_file"]).is_absolute()
    nbformat.write(merged, output_path)
    return merged


def test_failed_run_leaves_previous_report_unchanged(
    processed: Path, old_report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "_execute", _failing_midway)
    result = _invoke(["report", "--council", "Swindon", "--out", str(old_report)])
    _assert_clean_failure(
        result,
        "failed while running the notebooks (KeyError:",
        f"The previous report in {old_report / SWINDON} is unchanged",
    )
    assert _snapshot(old_report) == EXPECTED_OLD  # no partial files, no hidden staging folder


def test_failure_while_writing_outputs_leaves_previous_report(
    processed: Path, old_report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # report.ipynb and the section notebooks are written, then the HTML export fails
    monkeypatch.setattr(report, "_execute", _succeeding)

    def broken_html(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(report, "to_html", broken_html)
    result = _invoke(["report", "--council", "Swindon", "--out", str(old_report)])
    _assert_clean_failure(result, "OSError: disk full", "is unchanged")
    assert _snapshot(old_report) == EXPECTED_OLD


def test_successful_run_replaces_the_whole_report(
    processed: Path, old_report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "_execute", _succeeding)
    notebooks = report.notebooks_dir()
    monkeypatch.setattr(report, "notebooks_dir", lambda: notebooks)
    monkeypatch.chdir(tmp_path)  # the relative --neighbour-file is taken from here
    nn = tmp_path / "nn.csv"  # one valid row, one unknown code -> warning naming it, run goes on
    nn.write_text(f"council_code,neighbour_code\nSwindon,Medway\n{SWINDON},E07000026\n")
    result = _invoke(
        ["report", "--council", "Swindon", "--neighbour-file", "nn.csv", "--out", str(old_report)]
    )
    assert result.exit_code == 0, result.output
    assert "warning: neighbour file nn.csv: ignoring 1 code(s)" in result.output
    assert "E07000026" in result.output
    folder = old_report / SWINDON
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted(
        ["report.html", "report.ipynb", *(Path(n).stem + ".ipynb" for n in report.NOTEBOOKS)]
    )
    assert "Swindon: adult social care benchmarking" in (folder / "report.html").read_text()
    assert (folder / "01_fee_rates.ipynb").read_bytes() != OLD["01_fee_rates.ipynb"]
    assert [p.name for p in old_report.iterdir()] == [SWINDON]  # no staging or old copies left


# --- data status ------------------------------------------------------------------------------


def test_data_status_fails_and_lists_problems_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "ascof").mkdir(parents=True)
    (mirror / "ascof" / "bad.csv").write_bytes(b"edited")
    monkeypatch.setenv("ASC_EVIDENCE_MIRROR", str(mirror))
    monkeypatch.setenv("ASC_EVIDENCE_CACHE", str(tmp_path / "cache"))
    good_hash = hashlib.sha256(b"original").hexdigest()

    def rel(key: str, sha: str) -> fetch_mod.Release:
        return fetch_mod.Release(key, "ascof", sha, 8, "", "https://example.org/page", "P", "OGL")

    reg = {
        "ascof/bad.csv": rel("ascof/bad.csv", good_hash),
        "ascof/gone.csv": rel("ascof/gone.csv", good_hash),
        "ascof/optional.csv": rel("ascof/optional.csv", ""),
    }
    monkeypatch.setattr(fetch_mod, "registry", lambda: reg)
    spec = build_mod.TableSpec("demo", ("ascof/bad.csv", "ascof/gone.csv"), lambda: None)
    monkeypatch.setattr(build_mod, "all_specs", lambda: [spec])
    result = _invoke(["data", "status"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("2 problem(s)")
    assert "checksum mismatch: " + str(mirror / "ascof" / "bad.csv") in lines[1]
    assert "missing: ascof/gone.csv  (official source: https://example.org/page)" in lines[2]
    assert "optional.csv" not in "\n".join(lines[:3])  # not needed by any table: not a problem
    assert "Traceback" not in result.output


def test_data_status_exit_zero_when_all_is_well(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "ascof").mkdir(parents=True)
    (mirror / "ascof" / "ok.csv").write_bytes(b"original")
    monkeypatch.setenv("ASC_EVIDENCE_MIRROR", str(mirror))
    monkeypatch.setenv("ASC_EVIDENCE_CACHE", str(tmp_path / "cache"))
    sha = hashlib.sha256(b"original").hexdigest()
    reg = {"ascof/ok.csv": fetch_mod.Release("ascof/ok.csv", "ascof", sha, 8, "", "", "", "")}
    monkeypatch.setattr(fetch_mod, "registry", lambda: reg)
    monkeypatch.setattr(build_mod, "all_specs", lambda: [])
    result = _invoke(["data", "status"])
    assert result.exit_code == 0, result.output
    assert "1 mirror ok" in result.output


def test_all_councils_checks_inputs_before_any_worker_starts(
    processed: Path, old_report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pool(*_a, **_k):
        raise AssertionError("worker pool started although the input was bad")

    monkeypatch.setattr(report, "ProcessPoolExecutor", no_pool)
    result = _invoke(["report", "--all", "--year", "2030-31", "--out", str(old_report)])
    _assert_clean_failure(result, "the data hold no figures for that year", "2023-24")
    assert _snapshot(old_report) == EXPECTED_OLD


def test_all_councils_skips_those_missing_from_the_neighbour_file(
    processed: Path, tmp_path: Path
) -> None:
    nn = tmp_path / "nn.json"
    nn.write_text(json.dumps({SWINDON: ["E06000035"], "E06000035": ["E06000035"]}))
    inputs = validate.check_report_inputs(
        all_councils=True,
        codes=[SWINDON, "E06000035", "E08000010"],
        neighbour_file=nn,
        out=tmp_path,
    )
    assert inputs.neighbour_file == nn
    assert sorted(inputs.skipped) == ["E06000035", "E08000010"]  # only itself; no row at all
    assert "lists only Medway (E06000035) itself" in inputs.skipped["E06000035"]
    assert "has no row for Wigan (E08000010)" in inputs.skipped["E08000010"]


def test_publish_restores_the_old_folder_when_the_move_fails(old_report: Path) -> None:
    with pytest.raises(FileNotFoundError):
        report._publish(old_report / ".absent-staging", old_report / SWINDON)
    assert _snapshot(old_report) == EXPECTED_OLD


def test_year_forms_are_normalised(processed: Path) -> None:
    assert validate.check_year("2019/20") == "2019-20"
    assert validate.check_year(" 2019-2020 ") == "2019-20"
    assert validate.check_year("") is None
