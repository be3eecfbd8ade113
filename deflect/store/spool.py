"""A bounded, durable spool for rows the database could not take (read-only, locked, disk full).

Answering a customer must not depend on writing the log: the row waits here as one JSON line and is
written to the database by the next request that can write. Appends and drains hold an exclusive
``flock`` on the spool, so several worker processes can share it; a drain that dies half-way leaves
the rows in place, and writing them again is harmless because rows are upserted by id.
"""
from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

MAX_BYTES = 50 * 1024 * 1024


class Spool:
    """JSON lines in ``path``; ``append`` refuses rows once the file holds ``max_bytes``."""

    def __init__(self, path: str | os.PathLike, max_bytes: int = MAX_BYTES):
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.spooled = 0      # rows this process put into the spool
        self.dropped = 0      # rows this process lost because the spool was full or unwritable
        self.drained = 0      # rows this process moved from the spool into the database
        self._lock = threading.Lock()

    @contextmanager
    def _locked(self) -> Iterator[int]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            with self._lock:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    yield fd
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def append(self, row: dict) -> bool:
        """Keep ``row`` until the database can take it; False when it could not be kept."""
        line = (json.dumps(row, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        try:
            with self._locked() as fd:
                if os.fstat(fd).st_size + len(line) > self.max_bytes:
                    self.dropped += 1
                    return False
                os.write(fd, line)
                os.fsync(fd)
        except OSError:
            self.dropped += 1
            return False
        self.spooled += 1
        return True

    def pending(self) -> bool:
        """Whether rows are waiting (cheap: one stat)."""
        try:
            return self.path.stat().st_size > 0
        except OSError:
            return False

    def _read(self) -> list[dict]:
        rows = []
        with open(self.path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    rows.append(json.loads(line))
                except ValueError:  # a line cut short by a crash mid-append
                    if line.strip():
                        self.dropped += 1
        return rows

    def holds(self, key: str, value: str) -> bool:
        """Whether a waiting row has ``key`` = ``value`` (e.g. an inquiry a vote is about)."""
        if not self.pending():
            return False
        with self._locked():
            return any(row.get(key) == value for row in self._read())

    def drain(self, write: Callable[[list[dict]], None], batch: int = 500) -> int:
        """Hand the waiting rows to ``write`` (which raises when the database still cannot take them)
        and empty the spool; returns how many rows were written."""
        if not self.pending():
            return 0
        with self._locked() as fd:
            rows = self._read()
            for start in range(0, len(rows), batch):
                write(rows[start:start + batch])
            os.ftruncate(fd, 0)
            os.fsync(fd)
        self.drained += len(rows)
        return len(rows)

    def remove(self, goes: Callable[[dict], bool]) -> int:
        """Drop the waiting rows for which ``goes`` is true (an erasure); returns how many."""
        if not self.pending():
            return 0
        with self._locked() as fd:
            rows = self._read()
            kept = [row for row in rows if not goes(row)]
            if len(kept) < len(rows):
                os.ftruncate(fd, 0)
                os.write(fd, "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in kept).encode())
                os.fsync(fd)
        return len(rows) - len(kept)

    def stats(self) -> dict[str, int | bool]:
        return {"pending": self.pending(), "spooled": self.spooled, "dropped": self.dropped,
                "drained": self.drained}
