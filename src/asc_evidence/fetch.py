"""Find an official file: configured mirror first, then the local cache, then its official URL.

Every file is checked against the sha256 in ``registry.csv`` before it is used. The registry keeps
the official source (publication page and file URL) apart from where the mirror's copy came from
(a public repository snapshot, see :class:`Release`). A mismatching
file is never returned. Downloads go through :func:`pooch.retrieve`, which writes to a temporary
file and moves it into place only after the hash matched, so nothing half-written is ever read.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from asc_evidence.config import ENV_MIRROR, Settings, settings
from asc_evidence.errors import ChecksumError, MissingFileError, UnknownDatasetError


@dataclass(frozen=True)
class Release:
    """One file: where it sits under the mirror/cache, its hash, its official home and its copy's origin.

    ``url`` is where :func:`fetch` downloads it (the official file when the mirror's copy is the
    official file and its address is known, else the public-repository snapshot the mirror copied,
    so the sha256 matches); ``page``/``official_url`` are the official publication page and file;
    ``mirror_copy`` says what the mirror's copy is (``official file``, ``official file, re-saved``,
    ``third-party extract`` or ``not in mirror``) and ``mirror_source`` where it was taken from
    (``owner/repo@commit:path``).
    """

    key: str
    dataset: str
    sha256: str
    bytes: int | None
    url: str
    page: str
    publisher: str
    licence: str
    official_url: str = ""
    mirror_copy: str = ""
    mirror_source: str = ""

    @property
    def official_source(self) -> str:
        """The official file's address, else its publication page (never a third-party copy)."""
        if self.official_url and self.page:
            return f"{self.official_url} (publication page {self.page})"
        return self.official_url or self.page or "not recorded (see the folder's PROVENANCE.md)"

    @property
    def copy_note(self) -> str:
        """Where the mirror's copy came from, e.g. ``the mirror's copy (third-party extract) came
        from github.com/owner/repo@commit:path``; empty when the mirror has no copy."""
        if not self.mirror_source:
            return ""
        return (
            f"the mirror's copy ({self.mirror_copy or 'copy'}) came from "
            f"github.com/{self.mirror_source}"
        )


@cache
def registry() -> dict[str, Release]:
    """All releases the package knows, keyed by their path inside the mirror or cache."""
    text = resources.files("asc_evidence").joinpath("registry.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return {
        r["key"]: Release(
            key=r["key"],
            dataset=r["dataset"],
            sha256=r["sha256"],
            bytes=int(r["bytes"]) if r["bytes"] else None,
            url=r["download_url"],
            page=r["official_page"],
            publisher=r["publisher"],
            licence=r["licence"],
            official_url=r["official_url"],
            mirror_copy=r["mirror_copy"],
            mirror_source=r["mirror_source"],
        )
        for r in rows
    }


def release(key: str) -> Release:
    """Look up a registry entry, with a clear error for an unknown key."""
    reg = registry()
    if key not in reg:
        near = [k for k in reg if Path(k).name == Path(key).name][:3]
        msg = f"{key!r} is not in the registry (src/asc_evidence/registry.csv)." + (
            f" Similar: {near}" if near else ""
        )
        raise UnknownDatasetError(msg)
    return reg[key]


def sha256sum(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _hash_memo_path(cfg: Settings) -> Path:
    return cfg.cache / ".hashes.json"


# (path, size:mtime) -> sha256, as hashed or read from the memo file in this process
_SEEN: dict[tuple[str, str], str] = {}


def verified_sha256(path: Path, cfg: Settings | None = None) -> str:
    """sha256 of ``path``, memoised on (size, mtime) in the cache folder so warm runs skip hashing.

    Also memoised in the process (a build asks for each input several times), on the same stamp.
    """
    cfg = cfg or settings()
    memo_file = _hash_memo_path(cfg)
    stat = path.stat()
    stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
    seen = _SEEN.get((str(path), stamp))
    if seen is not None:
        return seen
    memo: dict[str, list[str]] = {}
    if memo_file.is_file():
        try:
            memo = json.loads(memo_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            memo = {}
    hit = memo.get(str(path))
    if hit and hit[0] == stamp:
        _SEEN[str(path), stamp] = hit[1]
        return hit[1]
    digest = sha256sum(path)
    _SEEN[str(path), stamp] = digest
    memo[str(path)] = [stamp, digest]
    try:
        memo_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(memo), encoding="utf-8")
        tmp.replace(memo_file)
    except OSError:
        pass  # a read-only cache only costs re-hashing next time
    return digest


def _check(path: Path, rel: Release, where: str, cfg: Settings) -> Path:
    if not rel.sha256:
        return (
            path  # release listed without a known hash (not yet in any mirror): trust on first use
        )
    actual = verified_sha256(path, cfg)
    if actual != rel.sha256:
        msg = (
            f"Checksum mismatch for {rel.key} in the {where} ({path}).\n"
            f"  expected sha256 {rel.sha256}\n  found    sha256 {actual}\n"
            "The file was NOT used. It may be corrupt, edited or a different release: "
            f"replace it with the registered copy (official source: {rel.official_source}"
            + (f"; {rel.copy_note}" if rel.copy_note else "")
            + ")."
        )
        raise ChecksumError(msg)
    return path


def locate(key: str) -> tuple[Path | None, str]:
    """Where ``key`` would be found without downloading: (path or None, 'mirror' | 'cache' | 'missing')."""
    cfg = settings()
    if cfg.mirror is not None and (cfg.mirror / key).is_file():
        return cfg.mirror / key, "mirror"
    if (cfg.cache / key).is_file():
        return cfg.cache / key, "cache"
    return None, "missing"


def fetch(key: str, *, download: bool = True) -> Path:
    """Return a verified local path to the official file ``key``.

    Order: mirror (``ASC_EVIDENCE_MIRROR`` / config) -> cache -> download from the official URL.
    Raises :class:`MissingFileError` naming the file, dataset, URL and target folder when the file
    cannot be had, and :class:`ChecksumError` when a copy does not match the registry.
    """
    rel = release(key)
    cfg = settings()
    path, where = locate(key)
    if path is not None:
        return _check(path, rel, where, cfg)
    target = cfg.cache / key
    if download and rel.url:
        try:
            return _download(rel, target)
        except ChecksumError:
            raise
        except Exception as exc:  # network down, 404, ...
            reason = f"download failed ({type(exc).__name__}: {exc})"
    else:
        reason = "downloads are off" if not download else "no download address is known"
    mirror = (
        f" or {cfg.mirror / key}"
        if cfg.mirror
        else f" (or set {ENV_MIRROR} to a mirror holding it)"
    )
    copy = (
        f"  {rel.copy_note[0].upper()}{rel.copy_note[1:]}; download address: {rel.url}.\n"
        if rel.copy_note
        else (f"  Download address: {rel.url}.\n" if rel.url else "")
    )
    msg = (
        f"Missing file for dataset {rel.dataset!r}: {key} (publisher: {rel.publisher or 'unknown'})\n"
        f"  official source: {rel.official_source}\n"
        f"{copy}"
        f"  {reason[0].upper()}{reason[1:]}.\n"
        f"  Put the file at {target}{mirror}."
    )
    raise MissingFileError(msg)


def _download(rel: Release, target: Path) -> Path:
    import pooch  # imported lazily: only needed when a download happens

    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        got = pooch.retrieve(
            rel.url,
            known_hash=f"sha256:{rel.sha256}" if rel.sha256 else None,
            fname=target.name,
            path=target.parent,
            progressbar=False,
        )
    except ValueError as exc:  # pooch raises ValueError on hash mismatch and deletes the download
        msg = f"Downloaded {rel.key} from {rel.url} but its checksum did not match; the download was deleted. {exc}"
        raise ChecksumError(msg) from exc
    return Path(got)
