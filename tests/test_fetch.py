"""fetch: mirror -> cache -> download, checksum-verified, atomic; clear errors."""

from __future__ import annotations

import hashlib
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from asc_evidence import fetch as fetch_mod
from asc_evidence.errors import ChecksumError, MissingFileError, UnknownDatasetError

CONTENT = b"Geographical Code,Measure Value\n819,387.8\n" * 200
SHA = hashlib.sha256(CONTENT).hexdigest()
KEY = "ascof/test_release/open-data.csv"


class _Handler(http.server.BaseHTTPRequestHandler):
    truncate = False

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(CONTENT)))
        self.end_headers()
        if self.truncate:
            self.wfile.write(CONTENT[: len(CONTENT) // 3])  # connection drops mid-file
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.wfile.write(CONTENT)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("H", (_Handler,), {"truncate": False})
    httpd = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/open-data.csv", handler
    httpd.shutdown()


def _registry(monkeypatch: pytest.MonkeyPatch, url: str = "", sha: str = SHA) -> None:
    rel = fetch_mod.Release(
        KEY, "ascof", sha, len(CONTENT), url, "https://example.org/page", "NHS Digital", "OGL"
    )
    monkeypatch.setattr(fetch_mod, "registry", lambda: {KEY: rel})


def test_mirror_file_is_found_and_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = tmp_path / "mirror"
    (mirror / KEY).parent.mkdir(parents=True)
    (mirror / KEY).write_bytes(CONTENT)
    monkeypatch.setenv("ASC_EVIDENCE_MIRROR", str(mirror))
    monkeypatch.setenv("ASC_EVIDENCE_CACHE", str(tmp_path / "cache"))
    _registry(monkeypatch)
    assert fetch_mod.fetch(KEY) == mirror / KEY
    assert fetch_mod.locate(KEY)[1] == "mirror"


def test_wrong_checksum_is_refused_and_names_both_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror"
    (mirror / KEY).parent.mkdir(parents=True)
    (mirror / KEY).write_bytes(CONTENT + b"edited")
    monkeypatch.setenv("ASC_EVIDENCE_MIRROR", str(mirror))
    monkeypatch.setenv("ASC_EVIDENCE_CACHE", str(tmp_path / "cache"))
    _registry(monkeypatch)
    with pytest.raises(ChecksumError) as err:
        fetch_mod.fetch(KEY)
    text = str(err.value)
    assert SHA in text
    assert hashlib.sha256(CONTENT + b"edited").hexdigest() in text
    assert "NOT used" in text


def test_missing_file_error_names_file_dataset_url_and_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASC_EVIDENCE_MIRROR", raising=False)
    monkeypatch.setenv("ASC_EVIDENCE_CACHE", str(tmp_path / "cache"))
    _registry(monkeypatch, url="https://files.example.org/open-data.csv")
    with pytest.raises(MissingFileError) as err:
        fetch_mod.fetch(KEY, download=False)
    text = str(err.value)
    assert KEY in text
    assert "'ascof'" in text
    assert "https://files.example.org/open-data.csv" in text
    assert str(tmp_path / "cache" / KEY) in text


def test_download_lands_verified_in_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server
) -> None:
    url, _ = server
    monkeypatch.delenv("ASC_EVIDENCE_MIRROR", raising=False)
    monkeypatch.setenv("ASC_EVIDENCE_CACHE", str(tmp_path / "cache"))
    _registry(monkeypatch, url=url)
    path = fetch_mod.fetch(KEY)
    assert path == tmp_path / "cache" / KEY
    assert path.read_bytes() == CONTENT


def test_interrupted_download_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server
) -> None:
    url, handler = server
    handler.truncate = True
    monkeypatch.delenv("ASC_EVIDENCE_MIRROR", raising=False)
    monkeypatch.setenv("ASC_EVIDENCE_CACHE", str(tmp_path / "cache"))
    _registry(monkeypatch, url=url)
    with pytest.raises((MissingFileError, ChecksumError)):
        fetch_mod.fetch(KEY)
    folder = tmp_path / "cache" / Path(KEY).parent
    leftovers = [p.name for p in folder.iterdir()] if folder.exists() else []
    assert leftovers == []


def test_download_with_wrong_hash_is_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server
) -> None:
    url, _ = server
    monkeypatch.delenv("ASC_EVIDENCE_MIRROR", raising=False)
    monkeypatch.setenv("ASC_EVIDENCE_CACHE", str(tmp_path / "cache"))
    _registry(monkeypatch, url=url, sha="0" * 64)
    with pytest.raises(ChecksumError):
        fetch_mod.fetch(KEY)
    assert not (tmp_path / "cache" / KEY).exists()


def test_unknown_key_is_a_clear_error() -> None:
    with pytest.raises(UnknownDatasetError, match="not in the registry"):
        fetch_mod.release("ascof/nope.csv")


def test_real_registry_matches_mirror_manifest(mirror: Path) -> None:
    """Every registry row with a hash agrees with the mirror's MANIFEST.csv (sha256 and size)."""
    import csv

    with (mirror / "MANIFEST.csv").open(encoding="utf-8") as fh:
        manifest = {r["path"]: r for r in csv.DictReader(fh)}
    reg = fetch_mod.registry()
    hashed = {k: r for k, r in reg.items() if r.sha256}
    assert len(hashed) > 200
    for key, rel in hashed.items():
        assert manifest[key]["sha256"] == rel.sha256, key
        assert int(manifest[key]["bytes"]) == rel.bytes, key


def test_missing_file_error_separates_official_source_from_mirror_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The official page/URL is called the official source; the repository copy is named as such."""
    monkeypatch.delenv("ASC_EVIDENCE_MIRROR", raising=False)
    monkeypatch.setenv("ASC_EVIDENCE_CACHE", str(tmp_path / "cache"))
    repo_url = "https://raw.githubusercontent.com/someone/repo/abc123/open-data.csv"
    rel = fetch_mod.Release(
        KEY, "ascof", SHA, len(CONTENT), repo_url, "https://example.org/page", "NHS Digital",
        "OGL", official_url="", mirror_copy="third-party extract",
        mirror_source="someone/repo@abc123:open-data.csv",
    )  # fmt: skip
    monkeypatch.setattr(fetch_mod, "registry", lambda: {KEY: rel})
    with pytest.raises(MissingFileError) as err:
        fetch_mod.fetch(KEY, download=False)
    text = str(err.value)
    assert "official source: https://example.org/page\n" in text
    assert "copy (third-party extract) came from github.com/someone/repo@abc123" in text
    assert f"official source: {repo_url}" not in text


def test_real_registry_names_official_pages_and_mirror_origins(mirror: Path) -> None:
    """Every mirror row says where its copy came from; official pages are never GitHub copies."""
    reg = fetch_mod.registry()
    in_mirror = [r for r in reg.values() if r.sha256]
    source = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}:.+")
    assert all(source.match(r.mirror_source) for r in in_mirror)
    assert all(r.page and "github" not in r.page for r in reg.values())
    assert all("github" not in r.official_url for r in reg.values())
    kinds = {r.mirror_copy for r in reg.values()}
    assert kinds == {
        "official file",
        "official file, re-saved",
        "third-party extract",
        "not in mirror",
    }
    # PROVENANCE.md of ascof_repos_trend_2017_2024: "a third-party extract, not the official file"
    trend = reg["ascof/ascof_repos_trend_2017_2024/trend_data.csv"]
    assert trend.mirror_copy == "third-party extract"
    assert trend.mirror_source.startswith("acbockmuehl/ascof-repos@d90e7b21")
