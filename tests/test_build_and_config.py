"""Config resolution, processed-table build with skip-when-unchanged, safe names, CLI errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from asc_evidence import build as build_mod
from asc_evidence import config, fetch, tidy
from asc_evidence.cli import app
from asc_evidence.errors import ConfigError, DataNotBuiltError, UnsafeNameError

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
