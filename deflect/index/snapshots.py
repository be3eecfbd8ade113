"""Versioned index snapshots for several serving replicas (``deflect index --publish DIR``).

One builder publishes; every replica serves the snapshot the pointer names::

    DIR/
      CURRENT                 the version being served (one line), replaced atomically
      20250101T120000123456Z-ab12cd34/
        manifest.json, vectors-*.faiss, docs-*.npz, embeddings-*.npy   the index files
        calibration.json      the decision (calibration and suggest floor) it was published with
        snapshot.json         version, model, dim, counts, and size + crc32 of every file above

A snapshot folder is written under a temporary name and renamed into place whole, then ``CURRENT``
is written to a temporary file and ``os.replace``d: a reader sees the old version or the new one,
never a half-written one. Published snapshots are never changed; the oldest are pruned (``keep``
newest, never the current one).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from deflect.clock import utcnow_iso
from deflect.errors import DeflectError, IndexMismatchError, IndexMissingError
from deflect.home import Home
from deflect.index.files import MANIFEST, checksum, crc_of, manifest_files, read_manifest, verify_index
from deflect.index.lock import LOCK_SUFFIX, index_lock

POINTER = "CURRENT"
SNAPSHOT = "snapshot.json"
CALIBRATION = "calibration.json"
KEEP = 3
VERSION = re.compile(r"^\d{8}T\d{12}Z-[0-9a-z]{1,16}$")
PUBLISH_HINT = "Publish a snapshot with `deflect index --publish DIR` on the builder."


@dataclass(frozen=True)
class SnapshotHome(Home):
    """A home whose index is a published snapshot: the store, spool and lock files stay in ``path``,
    the index files are read from ``snapshot``."""

    snapshot: Path | None = None

    @property
    def index_dir(self) -> Path:
        return self.snapshot if self.snapshot is not None else self.path / "index"


def publish(index_dir: Path, root: Path, documents: dict[str, dict | None] | None = None,
            keep: int = KEEP) -> str:
    """Copy the index in ``index_dir`` (checked in full first) and the JSON ``documents`` (file name ->
    content, e.g. ``calibration.json``) into a new snapshot under ``root``, point ``CURRENT`` at it
    and prune old snapshots; the new version."""
    index_dir, root = Path(index_dir), Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with index_lock(index_dir):   # no save replaces files while they are copied
        manifest = verify_index(index_dir)
        version = _new_version(root, manifest)
        staging = root / f".{version}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for name in [MANIFEST, *manifest_files(manifest)]:
            shutil.copyfile(index_dir / name, staging / name)
    for name, content in (documents or {}).items():
        (staging / name).write_text(json.dumps(content, indent=2, ensure_ascii=False), encoding="utf-8")
    files = {p.name: checksum(p) for p in sorted(staging.iterdir())}
    record = {"version": version, "published_at": utcnow_iso(), "model": manifest["model"], "dim": manifest["dim"],
              "counts": manifest.get("counts", {}), "build_id": manifest.get("build_id"), "files": files}
    (staging / SNAPSHOT).write_text(json.dumps(record, indent=2), encoding="utf-8")
    for path in staging.iterdir():
        _fsync(path)
    os.rename(staging, root / version)
    _fsync(root)
    point(root, version)
    prune(root, keep)
    return version


def _new_version(root: Path, manifest: dict) -> str:
    """A name that sorts by publication time (microseconds, later than every published one)."""
    while True:
        version = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}Z-{_short_id(manifest)}"
        if all(version > v for v in versions(root)):
            return version
        time.sleep(0.001)


def _short_id(manifest: dict) -> str:
    build = re.sub(r"[^0-9a-z]", "", str(manifest.get("build_id") or "").lower())
    return (build or "x")[:8]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def point(root: Path, version: str) -> None:
    """Make ``version`` the current snapshot (a temporary pointer file replaces ``CURRENT``)."""
    root = Path(root)
    if not (root / version).is_dir():
        raise IndexMissingError(f"no snapshot {version!r} in {root}", hint=PUBLISH_HINT)
    tmp = root / f"{POINTER}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(version + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, root / POINTER)
    _fsync(root)


def current_version(root: Path) -> str | None:
    """The version ``CURRENT`` names (None when nothing was published yet)."""
    try:
        version = (Path(root) / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexMismatchError(f"the snapshot pointer {Path(root) / POINTER} cannot be read: {exc}",
                                 hint=PUBLISH_HINT) from exc
    if not VERSION.match(version):
        raise IndexMismatchError(f"the snapshot pointer in {root} names no snapshot ({version[:60]!r})",
                                 hint=PUBLISH_HINT)
    return version


def versions(root: Path) -> list[str]:
    """The published snapshots under ``root``, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and VERSION.match(p.name))


def verify_snapshot(path: Path) -> dict:
    """Check every file of a snapshot against its ``snapshot.json`` (size and crc32) and its index
    manifest; the snapshot record, or an IndexMismatchError naming what is wrong."""
    path = Path(path)
    try:
        record = json.loads((path / SNAPSHOT).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexMismatchError(f"snapshot {path.name} has no {SNAPSHOT}", hint=PUBLISH_HINT) from None
    except (OSError, ValueError) as exc:
        raise IndexMismatchError(f"snapshot {path.name}: {SNAPSHOT} is damaged ({exc})", hint=PUBLISH_HINT) from exc
    files = record.get("files") if isinstance(record, dict) else None
    if not isinstance(files, dict) or MANIFEST not in files:
        raise IndexMismatchError(f"snapshot {path.name}: {SNAPSHOT} lists no files", hint=PUBLISH_HINT)
    for name, expected in files.items():
        file = path / name
        if not file.is_file():
            raise IndexMismatchError(f"snapshot {path.name}: {name} is missing", hint=PUBLISH_HINT)
        if file.stat().st_size != expected.get("bytes") or crc_of(file) != expected.get("crc32"):
            raise IndexMismatchError(f"snapshot {path.name}: {name} is damaged (size or checksum differs)",
                                     hint=PUBLISH_HINT)
    read_manifest(path)
    return record


def read_document(path: Path, name: str) -> dict | None:
    """A JSON document published with the snapshot (None when it has none, or it is null)."""
    try:
        return json.loads((Path(path) / name).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise IndexMismatchError(f"snapshot {Path(path).name}: {name} is damaged ({exc})",
                                 hint=PUBLISH_HINT) from exc


def prune(root: Path, keep: int = KEEP) -> list[str]:
    """Delete all but the ``keep`` newest snapshots (never the current one, never fewer than one);
    the deleted versions."""
    root = Path(root)
    current = current_version_or_none(root)
    kept = set(versions(root)[-max(1, keep):]) | {current}
    removed = []
    for version in versions(root):
        if version not in kept:
            shutil.rmtree(root / version, ignore_errors=True)
            (root / (version + LOCK_SUFFIX)).unlink(missing_ok=True)
            removed.append(version)
    return removed


def current_version_or_none(root: Path) -> str | None:
    try:
        return current_version(root)
    except DeflectError:
        return None
