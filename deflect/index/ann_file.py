"""The file a ``VectorIndex`` is saved in (faiss, like ``deflect.index.ann``, is imported only here and there).

Layout: an 8-byte head, the faiss index serialised by faiss, the extra arrays (raw bytes), a JSON
trailer, its length and an 8-byte tail. The trailer records sizes and a crc32 of everything between
head and trailer, so a truncated or damaged file is refused before faiss parses any of it. Files are
written to ``path.tmp`` and then replace ``path`` (``os.replace``): a failed write keeps the old file.
"""
from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from deflect.errors import DeflectError, IndexMismatchError, IndexMissingError

_HEAD = b"DFLANN01"
_TAIL = b"DFLAEND1"
_FORMAT = 1
CORRUPT_HINT = "The index file is damaged or incomplete: run `deflect index`, it rebuilds a damaged index."


def write_index_file(path: Path, index: Any, arrays: list[tuple[str, np.ndarray]], meta: dict) -> None:
    """Write a faiss ``index`` (or None: nothing trained yet), named ``arrays`` and ``meta`` (JSON-able:
    the VectorIndex's description and parameters) to ``path`` atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(_HEAD)
            sink = _CrcWriter(f)
            faiss_nbytes = 0
            if index is not None:
                writer = faiss.PyCallbackIOWriter(sink)
                faiss.write_index(index, writer)
                del writer  # flushes the last buffered block
                faiss_nbytes = sink.nbytes
            meta_arrays = []
            for name, arr in arrays:
                data = np.ascontiguousarray(arr)
                sink(data.tobytes())
                meta_arrays.append({"name": name, "dtype": data.dtype.str, "shape": list(data.shape)})
            trailer = json.dumps({
                "format": _FORMAT, **meta, "faiss_nbytes": faiss_nbytes, "body_nbytes": sink.nbytes,
                "arrays": meta_arrays, "crc32": sink.crc, "faiss_version": faiss.__version__,
            }).encode()
            f.write(trailer)
            f.write(struct.pack("<Q", len(trailer)))
            f.write(_TAIL)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise DeflectError(
                f"could not write vector index {path}: {exc}",
                hint="check free disk space and permissions of the index directory",
            ) from exc
        raise
    _fsync_dir(path.parent)


def read_index_file(path: Path, description: dict | None = None) -> tuple[dict, Any, dict[str, np.ndarray]]:
    """(trailer, faiss index or None, arrays by name) of a file written by ``write_index_file``.

    ``description`` is the manifest's entry for this file: its kind, dim and count must match the
    trailer's ``describe`` (else IndexMismatchError, checked before faiss reads anything)."""
    path = Path(path)
    if not path.is_file():
        raise IndexMissingError(f"vector index file {path} does not exist",
                                hint="build the index first (deflect index)")
    try:
        with open(path, "rb") as f:
            meta = _read_trailer(path, f)
            _check_description(path, meta["describe"], description)
            f.seek(len(_HEAD))
            index = None
            if meta["faiss_nbytes"]:
                reader = faiss.PyCallbackIOReader(_LimitedReader(f, meta["faiss_nbytes"]))
                index = faiss.read_index(reader)
                del reader
            f.seek(len(_HEAD) + meta["faiss_nbytes"])
            arrays = {}
            for a in meta["arrays"]:
                count = int(np.prod(a["shape"]))
                arrays[a["name"]] = np.fromfile(f, dtype=np.dtype(a["dtype"]), count=count).reshape(a["shape"])
            return meta, index, arrays
    except DeflectError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, struct.error) as exc:
        raise IndexMismatchError(f"could not read vector index {path}: {exc}", hint=CORRUPT_HINT) from exc


def verify_index_file(path: Path) -> None:
    """Check a file's head, tail, sizes and checksum without letting faiss read it (IndexMismatchError)."""
    try:
        with open(path, "rb") as f:
            _read_trailer(Path(path), f)
    except OSError as exc:
        raise IndexMismatchError(f"could not read vector index {path}: {exc}", hint=CORRUPT_HINT) from exc


def _read_trailer(path: Path, f: Any) -> dict:
    """The trailer of an open index file, after checking head, tail, sizes and the checksum."""
    size = os.fstat(f.fileno()).st_size
    if size < len(_HEAD) + 16 or f.read(len(_HEAD)) != _HEAD:
        raise IndexMismatchError(f"{path} is not a deflect vector index", hint=CORRUPT_HINT)
    f.seek(size - 16)
    (tlen,) = struct.unpack("<Q", f.read(8))
    if f.read(8) != _TAIL or tlen > size - len(_HEAD) - 16:
        raise IndexMismatchError(f"{path} is truncated or corrupt", hint=CORRUPT_HINT)
    f.seek(size - 16 - tlen)
    try:
        meta = json.loads(f.read(tlen))
    except ValueError as exc:
        raise IndexMismatchError(f"{path} has a corrupt header", hint=CORRUPT_HINT) from exc
    if meta.get("format") != _FORMAT:
        raise IndexMismatchError(f"{path} has unsupported format {meta.get('format')!r}",
                                 hint="rebuild the index with this version of deflect")
    body = size - len(_HEAD) - 16 - tlen
    if body != meta["body_nbytes"]:
        raise IndexMismatchError(f"{path} is truncated or corrupt", hint=CORRUPT_HINT)
    # verify the checksum before letting faiss parse anything
    f.seek(len(_HEAD))
    crc, left = 0, body
    while left:
        block = f.read(min(left, 1 << 22))
        if not block:
            break
        crc = zlib.crc32(block, crc)
        left -= len(block)
    if left or crc != meta["crc32"]:
        raise IndexMismatchError(f"{path} failed its checksum", hint=CORRUPT_HINT)
    return meta


def _check_description(path: Path, stored: dict, description: dict | None) -> None:
    if not description:
        return
    for key in ("kind", "dim", "count"):
        if key in description and description[key] != stored[key]:
            raise IndexMismatchError(
                f"{path}: manifest says {key}={description[key]!r} but the file has {stored[key]!r}",
                hint="the manifest and the index file are from different builds; rebuild the index",
            )


class _CrcWriter:
    """Callback for faiss.PyCallbackIOWriter: writes to a file, tracking size and crc32."""

    def __init__(self, f: Any) -> None:
        self.f, self.crc, self.nbytes = f, 0, 0

    def __call__(self, data: bytes) -> int:
        self.f.write(data)
        self.crc = zlib.crc32(data, self.crc)
        self.nbytes += len(data)
        return len(data)


class _LimitedReader:
    """Callback for faiss.PyCallbackIOReader that never reads past the faiss section."""

    def __init__(self, f: Any, nbytes: int) -> None:
        self.f, self.left = f, nbytes

    def __call__(self, n: int) -> bytes:
        data = self.f.read(min(n, self.left))
        self.left -= len(data)
        return data


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
