"""The files of a saved index in ``index/``: the manifest (read and checked), the checksums it keeps of
every file, atomic writes, and the removal of files that crashed saves left behind.

Every file a manifest names has its size (and, but for the vector file, which checks itself with a
crc32 in its own trailer: ``deflect.index.ann_file``) a crc32 recorded in the manifest's
``checksums``; a file that is missing, shorter or longer, or fails its checksum is an
``IndexMismatchError`` naming the file, before any parser reads it.
"""
from __future__ import annotations

import json
import os
import re
import zlib
from collections.abc import Callable
from pathlib import Path

from deflect.errors import IndexMismatchError, IndexMissingError
from deflect.index.lock import index_lock

FORMAT = 1
MANIFEST = "manifest.json"
REPAIR_HINT = "Run `deflect index`: it rebuilds a damaged index from the store."
INDEX_FILE = re.compile(r"^(vectors-[0-9a-f]+\.faiss|docs-[0-9a-f]+\.npz|embeddings-[0-9a-f]+\.npy)$")
_BLOCK = 1 << 22


def atomic_write(path: Path, write: Callable) -> None:
    """Write a file through ``write(f)`` into a temporary file that then replaces ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def crc_of(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            crc = zlib.crc32(block, crc)
    return crc


def checksum(path: Path, contents: bool = True) -> dict:
    """The manifest's record of a file: its size and (with ``contents``) the crc32 of its bytes."""
    record = {"bytes": path.stat().st_size}
    if contents:
        record["crc32"] = crc_of(path)
    return record


def check_file(index_dir: Path, name: str, manifest: dict, contents: bool = True) -> None:
    """Refuse a file the manifest names that is missing, has another size, or (with ``contents``)
    fails its checksum. Manifests written before checksums existed check existence only."""
    path = Path(index_dir) / name
    if not path.is_file():
        raise IndexMismatchError(f"index file {name} is missing", hint=REPAIR_HINT)
    record = manifest.get("checksums", {}).get(name)
    if not record:
        return
    size = path.stat().st_size
    if size != record["bytes"]:
        raise IndexMismatchError(f"index file {name} is truncated or damaged ({size} bytes, the manifest "
                                 f"says {record['bytes']})", hint=REPAIR_HINT)
    if contents and "crc32" in record and crc_of(path) != record["crc32"]:
        raise IndexMismatchError(f"index file {name} failed its checksum", hint=REPAIR_HINT)


def read_checked(index_dir: Path, name: str, manifest: dict) -> bytes:
    """The bytes of a file the manifest names, after its size and checksum were checked."""
    check_file(index_dir, name, manifest, contents=False)
    data = (Path(index_dir) / name).read_bytes()
    record = manifest.get("checksums", {}).get(name) or {}
    if "crc32" in record and zlib.crc32(data) != record["crc32"]:
        raise IndexMismatchError(f"index file {name} failed its checksum", hint=REPAIR_HINT)
    return data


def read_manifest(index_dir: Path) -> dict:
    """The index's manifest; a missing one is an IndexMissingError, one that is not readable UTF-8
    JSON of this format naming its files an IndexMismatchError."""
    path = Path(index_dir) / MANIFEST
    if not path.exists():
        raise IndexMissingError(f"no index in {index_dir}",
                                hint="Build it with `deflect ingest ...` and then `deflect index`.")
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise IndexMismatchError(f"the index manifest {path} cannot be read: {exc}", hint=REPAIR_HINT) from exc
    except ValueError as exc:   # also UnicodeDecodeError
        raise IndexMismatchError(f"the index manifest {path} is damaged (not UTF-8 JSON: {exc})",
                                 hint=REPAIR_HINT) from exc
    if not isinstance(manifest, dict):
        raise IndexMismatchError(f"the index manifest {path} is damaged (not a JSON object)", hint=REPAIR_HINT)
    if manifest.get("format") != FORMAT:
        raise IndexMismatchError(f"index format {manifest.get('format')!r} in {index_dir} is not supported",
                                 hint="Rebuild it with `deflect index --full`.")
    if not _well_formed(manifest):
        raise IndexMismatchError(f"the index manifest {path} is damaged (fields missing or of the wrong type)",
                                 hint=REPAIR_HINT)
    return manifest


def _well_formed(m: dict) -> bool:
    files, segments, sums = m.get("files"), m.get("embedding_segments", []), m.get("checksums", {})
    if not (isinstance(m.get("model"), str) and isinstance(m.get("dim"), int) and isinstance(files, dict)
            and isinstance(segments, list) and isinstance(sums, dict) and isinstance(m.get("counts"), dict)
            and isinstance(m.get("index"), dict) and isinstance(m.get("updated_at"), str)):
        return False
    names = [files.get("vectors"), files.get("docs"), *([files["embeddings"]] if files.get("embeddings") else []),
             *segments]
    return (all(isinstance(n, str) and INDEX_FILE.match(n) for n in names)
            and all(isinstance(r, dict) and isinstance(r.get("bytes"), int) for r in sums.values()))


def verify_index(index_dir: Path) -> dict:
    """Check every file of the saved index, contents included (slower than a load, which checks the
    embedding files' contents when first read); its manifest, or the error naming what is damaged. A
    folder of build files without a manifest is damaged, not missing."""
    from deflect.index.ann_file import verify_index_file  # faiss is imported by the vector modules only

    index_dir = Path(index_dir)
    try:
        manifest = read_manifest(index_dir)
    except IndexMissingError:
        leftovers = [p.name for p in index_dir.iterdir() if is_build_file(p.name)] if index_dir.is_dir() else []
        if leftovers:
            raise IndexMismatchError(f"the manifest is missing (beside {len(leftovers)} index files)",
                                     hint=REPAIR_HINT) from None
        raise
    with index_lock(index_dir):
        for name in manifest_files(manifest):
            check_file(index_dir, name, manifest)
        verify_index_file(index_dir / manifest["files"]["vectors"])
    return manifest


def manifest_files(manifest: dict) -> list[str]:
    """The names of the files a manifest refers to (vectors, documents, embedding segments)."""
    files = manifest["files"]
    return [files["vectors"], files["docs"], *embedding_files(manifest)]


def embedding_files(manifest: dict) -> list[str]:
    files = manifest["files"]
    return ([files["embeddings"]] if files.get("embeddings") else []) + list(manifest.get("embedding_segments", []))


def is_build_file(name: str) -> bool:
    """A file a save writes: an index file or the temporary file of one (or of the manifest)."""
    base = name[:-4] if name.endswith(".tmp") else name
    return bool(INDEX_FILE.match(base)) or name == MANIFEST + ".tmp"


def remove_stale(index_dir: Path, keep: set[str]) -> list[str]:
    """Delete build files not in ``keep`` (called with the exclusive lock held); their names."""
    removed = []
    for path in Path(index_dir).iterdir():
        if path.is_file() and is_build_file(path.name) and path.name not in keep:
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


def remove_orphans(index_dir: Path) -> list[str]:
    """Delete files of crashed saves (not named by the manifest) unless a save is under way now;
    with a damaged or missing manifest nothing is deleted (the repair decides). Their names."""
    index_dir = Path(index_dir)
    if not (index_dir / MANIFEST).exists():
        return []
    with index_lock(index_dir, exclusive=True, blocking=False) as locked:
        if not locked:
            return []
        try:
            keep = set(manifest_files(read_manifest(index_dir)))
        except (IndexMissingError, IndexMismatchError):
            return []
        return remove_stale(index_dir, keep)
