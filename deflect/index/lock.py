"""The lock of an index folder, shared by all processes on the host (``flock`` on ``index.lock`` beside
the folder, so the folder holds the index's files alone).

A save (new files, then the manifest) holds it exclusively; loading holds it shared, so a reader never
sees a manifest whose files a concurrent save is replacing. A process that dies releases its locks
with it, so files that the manifest does not name while the exclusive lock is held are leftovers of a
crashed save (``deflect.index.bundle.remove_orphans``). Re-entrant per thread: a thread that holds the
lock may load or save again (a shared request inside an exclusive hold is granted at once).
"""
from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deflect.errors import DeflectError

LOCK_SUFFIX = ".lock"
WAIT_SECONDS = 300.0     # a save or load waits this long for another process's save at most
_POLL = 0.05
_held = threading.local()   # per thread: {index folder: exclusive?}


def _holding() -> dict[str, bool]:
    if not hasattr(_held, "dirs"):
        _held.dirs = {}
    return _held.dirs


@contextmanager
def index_lock(index_dir: Path, exclusive: bool = False, blocking: bool = True,
               wait: float = WAIT_SECONDS) -> Iterator[bool]:
    """Hold the folder's lock; yields False (holding nothing) when ``blocking`` is off and another
    process holds it. A folder where no lock file can be created (read-only) is not locked."""
    key = str(Path(index_dir).resolve())
    holding = _holding()
    if key in holding:
        if exclusive and not holding[key]:
            raise RuntimeError(f"{index_dir}: a shared index lock cannot be upgraded to an exclusive one")
        yield True
        return
    try:
        index_dir = Path(index_dir)
        index_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(index_dir.with_name(index_dir.name + LOCK_SUFFIX), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        if exclusive:
            raise
        yield True
        return
    try:
        if not _acquire(fd, exclusive, blocking, wait, index_dir):
            yield False
            return
        holding[key] = exclusive
        try:
            yield True
        finally:
            del holding[key]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, exclusive: bool, blocking: bool, wait: float, index_dir: Path) -> bool:
    mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, mode)
            return True
        except BlockingIOError:
            if not blocking:
                return False
            if time.monotonic() > deadline:
                raise DeflectError(f"the index in {index_dir} stayed locked by another process for {wait:.0f} s",
                                   hint="Another `deflect index` or a server saving the index holds it; "
                                        "try again when it has finished.") from None
            time.sleep(_POLL)
