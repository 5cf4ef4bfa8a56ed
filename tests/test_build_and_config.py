"""Config resolution, processed-table build with skip-when-unchanged, safe names, CLI errors."""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from asc_evidence import build as build_mod
from asc_evidence import config, fetch, tidy
from asc_evidence.cli import app
from asc_evidence.errors import (
    ConfigError,
    DataNotBuiltError,
    SchemaChangedError,
    UnsafeNameError,
)

KEY = "ascof/test/values.csv"


def test_env_var_beats_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "m1").mkdir()
    (tmp_path / "m2").mkdir()
    (tmp_path / "asc-evidence.toml").write_text('[data]\nmirror = "m1"\nprocessed = "out"\n')
    monkeypatch.setenv("ASC_EVIDENCE_CONFIG", str(tmp_path / "asc-evidence.toml"))
    monkeypatch.delenv("ASC_EVIDENCE_MIRROR", raising=False)
    monkeypatch.delenv("ASC_EVIDENCE_PROCESSED", raising=False)
    s = config.settings()
    assert s.mirror == (tmp_path / "m1").resolve()
    assert s.processed == (tmp_path / "out").resolve()
    monkeypatch.setenv("ASC_EVIDENCE_MIRROR", str(tmp_path / "m2"))
    assert config.settings().mirror == (tmp_path / "m2").resolve()


def test_config_errors_are_explicit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASC_EVIDENCE_MIRROR", str(tmp_path / "absent"))
    with pytest.raises(ConfigError, match="not a folder"):
        config.settings()
    monkeypatch.delenv("ASC_EVIDENCE_MIRROR")
    (tmp_path / "c.toml").write_text('[data]\nmirorr = "x"\n')
    monkeypatch.setenv("ASC_EVIDENCE_CONFIG", str(tmp_path / "c.toml"))
    with pytest.raises(ConfigError, match="mirorr"):
        config.settings()


@pytest.fixture
def one_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    content = b"code,value\nE06000030,387.8\n"
    (tmp_path / "mirror" / KEY).parent.mkdir(parents=True)
    (tmp_path / "mirror" / KEY).write_bytes(content)
    monkeypatch.setenv("ASC_EVIDENCE_MIRROR", str(tmp_path / "mirror"))
    monkeypatch.setenv("ASC_EVIDENCE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ASC_EVIDENCE_PROCESSED", str(tmp_path / "processed"))
    rel = fetch.Release(
        KEY, "ascof", hashlib.sha256(content).hexdigest(), len(content), "", "", "", ""
    )
    monkeypatch.setattr(fetch, "registry", lambda: {KEY: rel})
    calls = {"n": 0}

    def make() -> pd.DataFrame:
        calls["n"] += 1
        raw = pd.read_csv(fetch.fetch(KEY))
        return tidy.make_tidy(
            raw.rename(columns={"code": "council_code"}), source="t", period="2020-21", measure="m"
        )

    spec = build_mod.TableSpec("demo", (KEY,), make)
    monkeypatch.setattr(build_mod, "all_specs", lambda: [spec])
    build_mod.load.cache_clear()
    return calls


def test_build_skips_when_inputs_unchanged(one_table: dict[str, int]) -> None:
    assert build_mod.build() == {"demo": "built"}
    assert build_mod.build() == {"demo": "up to date"}
    assert one_table["n"] == 1
    df = build_mod.load("demo")
    assert df.loc[0, "value"] == pytest.approx(387.8)
    assert build_mod.read_manifest()["demo"]["rows"] == 1
    assert build_mod.build(force=True) == {"demo": "built"}
    assert one_table["n"] == 2


def test_code_hash_covers_imported_modules_and_package_data() -> None:
    # population/profile.py imports the other population modules, geography.py, excel.py,
    # councils.py (reads councils.csv) and fetch.py (reads registry.csv), as its import lines
    # show; charts/indicators/verdict it does not import.
    from asc_evidence.sources import population

    spec = next(s for s in population.TABLES if s.name == "council_profile")
    _, names = build_mod._code_hash(spec)
    for needed in (
        "sources/population/profile.py",
        "sources/population/census.py",
        "sources/population/mye.py",
        "sources/population/bands.py",
        "sources/population/__init__.py",
        "sources/geography.py",
        "sources/excel.py",
        "councils.py",
        "councils.csv",
        "fetch.py",
        "registry.csv",
        "tidy.py",
        "build.py",
        "__init__.py",
        "sources/__init__.py",
    ):
        assert needed in names
    assert not {"charts.py", "indicators.py", "verdict.py", "notebook.py"} & set(names)
    assert names == sorted(names)


DEMO_SOURCE = """
import pandas as pd
from asc_evidence import councils, tidy
from asc_evidence.fetch import fetch

def make():
    raw = pd.read_csv(fetch("ascof/test/values.csv"))
    names = councils.register().set_index("code")["name"]
    raw["council_name"] = raw["code"].map(names)
    return tidy.make_tidy(
        raw.rename(columns={"code": "council_code"}), source="t", period="2020-21", measure="m"
    )
"""


def test_changing_councils_csv_marks_dependent_tables_stale(
    one_table: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module_file = tmp_path / "demo_source.py"
    module_file.write_text(DEMO_SOURCE)
    spec_ = importlib.util.spec_from_file_location("demo_source", module_file)
    demo = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(demo)
    spec = build_mod.TableSpec("demo", (KEY,), demo.make)
    monkeypatch.setattr(build_mod, "all_specs", lambda: [spec])
    real = build_mod.package_data_files()
    councils_copy = tmp_path / "councils.csv"
    shutil.copy(real["councils.csv"], councils_copy)
    unrelated = tmp_path / "unrelated.csv"  # in the package, mentioned by no module
    unrelated.write_text("a\n1\n")
    data = {**real, "councils.csv": councils_copy, "unrelated.csv": unrelated}
    monkeypatch.setattr(build_mod, "package_data_files", lambda: data)

    assert build_mod.build() == {"demo": "built"}
    assert build_mod.load("demo").loc[0, "council_name"] == "Swindon"
    assert "councils.csv" in build_mod.read_manifest()["demo"]["code_files"]
    unrelated.write_text("a\n2\n")
    assert build_mod.build() == {"demo": "up to date"}
    councils_copy.write_text(councils_copy.read_text() + "\n")  # any change to the bytes
    assert build_mod.build() == {"demo": "built"}
    assert build_mod.build() == {"demo": "up to date"}


def test_build_clears_registered_caches(
    one_table: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build_mod, "_CACHES", list(build_mod._CACHES))
    calls = {"n": 0}

    @build_mod.register_cache
    @cache
    def derived() -> float:
        calls["n"] += 1
        return float(build_mod.load("demo").loc[0, "value"])

    assert build_mod.build() == {"demo": "built"}
    assert derived() == pytest.approx(387.8)
    assert derived() == pytest.approx(387.8)
    assert calls["n"] == 1  # cached between builds
    assert build_mod.build() == {"demo": "up to date"}
    derived()
    assert calls["n"] == 2  # cleared by the build
    with pytest.raises(TypeError, match="cache_clear"):
        build_mod.register_cache(lambda: 1)


def test_rebuilt_table_is_reloaded_and_caches_clear_on_error(
    one_table: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = build_mod.all_specs()[0]
    build_mod.build()
    assert build_mod.load("demo").loc[0, "value"] == pytest.approx(387.8)

    def doubled() -> pd.DataFrame:
        df = spec.make()
        return df.assign(value=df["value"] * 2)

    monkeypatch.setattr(
        build_mod, "all_specs", lambda: [build_mod.TableSpec("demo", spec.inputs, doubled)]
    )
    build_mod.build(force=True)
    assert build_mod.load("demo").loc[0, "value"] == pytest.approx(775.6)  # not the cached 387.8

    def broken() -> pd.DataFrame:
        raise RuntimeError("parser failed")

    monkeypatch.setattr(
        build_mod, "all_specs", lambda: [build_mod.TableSpec("demo", spec.inputs, broken)]
    )
    build_mod.load("demo")
    assert build_mod.load.cache_info().currsize == 1
    with pytest.raises(RuntimeError, match="parser failed"):
        build_mod.build(force=True)
    assert build_mod.load.cache_info().currsize == 0


NO_SIDE_EFFECTS = """
import importlib, json, os, pkgutil, warnings
os.environ.pop("MPLBACKEND", None)
import matplotlib
matplotlib.use("svg")  # a backend the package must leave alone
import pandas as pd
from pandas._config import config as cf
# libraries that add warning filters when first imported (numpy, scipy, statsmodels): not ours
import numpy, scipy.stats, seaborn, statsmodels.api  # noqa

def state():
    return {
        "backend": matplotlib.get_backend(),
        "rcParams": {k: repr(v) for k, v in matplotlib.rcParams.items()},
        "pandas options": {k: repr(pd.get_option(k)) for k in cf._registered_options},
        "warning filters": [repr(f) for f in warnings.filters],
    }

before = state()
import asc_evidence
for mod in pkgutil.walk_packages(asc_evidence.__path__, "asc_evidence."):
    importlib.import_module(mod.name)
after = state()
print(json.dumps(sorted(k for k in before if before[k] != after[k])))
"""


def test_importing_the_package_changes_no_global_state() -> None:
    # every module (charts, notebook, report, cli...) imported: the matplotlib backend, rcParams,
    # pandas options and warning filters are as they were
    src = str(Path(build_mod.__file__).resolve().parents[1])  # this checkout's package
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-c", NO_SIDE_EFFECTS], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_load_before_build_says_how_to_fix(isolated_data: Path) -> None:
    with pytest.raises(DataNotBuiltError, match="asc-evidence data build"):
        build_mod.load("ascof")


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b", "x.parquet", "", "..", "rm -rf"])
def test_unsafe_output_names_are_refused(name: str) -> None:
    with pytest.raises(UnsafeNameError):
        build_mod.safe_name(name)


def test_cli_unknown_council_fails_with_suggestion() -> None:
    result = CliRunner().invoke(app, ["report", "--council", "Swindn"])
    assert result.exit_code == 1
    assert "Did you mean: Swindon" in result.output


def test_cli_councils_search() -> None:
    result = CliRunner().invoke(app, ["councils", "northampton"])
    assert result.exit_code == 0
    assert "E06000061" in result.output
    assert "E06000062" in result.output
    assert "3 councils" in result.output  # North, West and the abolished county


def _tiny_specs(tmp_path: Path, fail: str = "") -> list[build_mod.TableSpec]:
    """Four tables from the one-row demo input (``one_table``), each noting its process id in
    ``tmp_path/pids``; the table named ``fail`` raises a :class:`SchemaChangedError`."""

    def maker(name: str, factor: float) -> Callable[[], pd.DataFrame]:
        def make() -> pd.DataFrame:
            with (tmp_path / "pids").open("a") as fh:
                fh.write(f"{os.getpid()}\n")
            time.sleep(0.3)  # long enough for both workers to take a table
            if name == fail:
                raise SchemaChangedError(f"{name}.csv", ["code", "value"], ["code"])
            raw = pd.read_csv(fetch.fetch(KEY))
            raw["value"] *= factor
            return tidy.make_tidy(
                raw.rename(columns={"code": "council_code"}),
                source="t",
                period="2020-21",
                measure=name,
            )

        return make

    return [
        build_mod.TableSpec(f"demo{i}", (KEY,), maker(f"demo{i}", i), description=f"demo {i}")
        for i in range(1, 5)
    ]


def test_parallel_build_gives_the_serial_tables_and_manifest(
    one_table: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = _tiny_specs(tmp_path)
    monkeypatch.setattr(build_mod, "all_specs", lambda: specs)
    built: dict[int, tuple[dict[str, bytes], dict[str, dict], list[str]]] = {}
    for workers in (1, 2):
        folder = tmp_path / f"processed{workers}"
        monkeypatch.setenv("ASC_EVIDENCE_PROCESSED", str(folder))
        (tmp_path / "pids").unlink(missing_ok=True)
        lines: list[str] = []
        result = build_mod.build(workers=workers, progress=lines.append)
        assert list(result) == [s.name for s in specs]  # declared order, whatever finished first
        assert set(result.values()) == {"built"}
        pids = set((tmp_path / "pids").read_text().split())
        if workers == 1:
            assert pids == {str(os.getpid())}
        else:  # two worker processes, not this one
            assert len(pids) == 2
            assert str(os.getpid()) not in pids
        tables = {p.name: p.read_bytes() for p in sorted(folder.glob("*.parquet"))}
        manifest = build_mod.read_manifest()
        for entry in manifest.values():
            entry.pop("seconds")
        built[workers] = tables, manifest, sorted(line.split(" rows")[0] for line in lines)
        assert build_mod.build(workers=workers) == dict.fromkeys(result, "up to date")
    assert len(built[1][0]) == 4
    assert built[2] == built[1]
    assert not list((tmp_path / "processed2").glob(".*tmp"))  # manifest written through a temp file


def test_parallel_build_failure_raises_the_tables_own_error(
    one_table: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = _tiny_specs(tmp_path, fail="demo2")
    monkeypatch.setattr(build_mod, "all_specs", lambda: specs)
    with pytest.raises(SchemaChangedError, match=r"demo2\.csv: the columns have changed") as err:
        build_mod.build(workers=2)
    assert err.value.found == ["code"]
    manifest = build_mod.read_manifest()
    assert "demo2" not in manifest
    assert "demo1" in manifest  # the table running beside the failure was finished and recorded
    result = CliRunner().invoke(
        app, ["data", "build", "--force", "--no-evidence", "--workers", "2"]
    )
    assert result.exit_code == 1
    assert "error: demo2.csv: the columns have changed" in result.output
    assert "Traceback" not in result.output


def test_no_source_module_reads_processed_tables() -> None:
    # the parallel build makes the tables in any order: no parser may read another processed
    # table (build.load / table_path / read_manifest), only official files through fetch
    sources = Path(build_mod.__file__).parent / "sources"
    allowed = {"TableSpec", "register_cache"}
    for path in sorted(sources.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "asc_evidence.build":
                assert {a.name for a in node.names} <= allowed, path
            elif isinstance(node, ast.ImportFrom) and node.module == "asc_evidence":
                assert "build" not in {a.name for a in node.names}, path
            elif isinstance(node, ast.Import):
                assert "asc_evidence.build" not in {a.name for a in node.names}, path
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not node.value.endswith(".parquet"), path
