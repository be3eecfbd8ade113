"""Group commit of the logged inquiries: one writer thread per process writes the rows of concurrent
requests in one transaction on one long-lived connection.

Before, every suggest opened the database, took SQLite's write lock (one per database file, for all
threads and workers) and committed its own row: a few ms of CPU per request, and under load the
request threads queued for the lock in turns. Now a request hands its row (and the inquiry's
embedding, cached for the gap report) to the process's ``InquiryLog``; the writer takes whatever has
queued meanwhile and writes it at once.

**Acknowledged** means: a response carrying the inquiry's id. A request waits until its row is
committed to the database or, when the database cannot take it (locked longer than the lock timeout,
read-only, full), kept in the durable spool (``deflect.store.spool``, fsync'd; written later) before
it answers; so a worker killed at any moment (even SIGKILL) loses no row it answered for, a vote
about that id finds its inquiry whichever worker it reaches, and a graceful shutdown, which lets the
requests in flight finish, leaves nothing in the queue. Rows whose request has not answered yet may be
lost with the process, as before. A request that waits longer than ``wait_timeout`` (a writer stuck in
the file system) spools its row itself; should the writer store it too, nothing is doubled: rows are
upserted by id.
"""
from __future__ import annotations

import functools
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from deflect.errors import StoreUnavailable
from deflect.store import Store
from deflect.store.database import DatabaseErrors

IDLE_SECONDS = 5.0    # a writer with nothing to write this long closes its connection and ends
MAX_BATCH = 256       # rows per transaction
GROUP_WAIT = 0.02     # seconds a transaction waits at most for the rest of its rows' groups
STUCK_GRACE = 1.0     # seconds past the lock timeout after which a write that has not returned is stuck


class Entry:
    """One row handed to the writer; ``stored`` tells the request what became of it."""

    __slots__ = ("row", "embedding", "group", "done", "stored")

    def __init__(self, row: dict, embedding: tuple[str, np.ndarray] | None, group: object = None):
        self.row = row
        self.embedding = embedding   # (cache key, vector) or None
        self.group = group           # key of the rows written together with this one, or None
        self.done = False
        self.stored = False          # committed to the database (else spooled, or lost: see ``keep``)


class InquiryLog:
    """The process's writer of inquiry rows (see the module docstring).

    ``open_store`` opens the writer's own connection; ``keep(row, reason)`` spools a row the database did
    not take; ``after_write(store)`` runs in the same lock window after each committed batch (the
    spool is drained there); ``run(fn)`` runs a batch's work in the context it needs (the Flask app's).
    A row may name its ``group`` (key, size): the requests answered by one forward of the micro-batcher
    (deflect.index.batching). A transaction waits, up to ``group_wait`` seconds, for the rows of its groups
    still to come, so those requests are answered together and come back together for the next forward.
    """

    def __init__(self, open_store: Callable[[], Store], keep: Callable[[dict, object], bool],
                 after_write: Callable[[Store], None], lock_timeout: float,
                 run: Callable[[Callable[[], bool]], bool] = lambda fn: fn(), wait_timeout: float | None = None,
                 group_wait: float = GROUP_WAIT):
        self._open_store, self._keep, self._after_write, self._in_context = open_store, keep, after_write, run
        self.lock_timeout = lock_timeout
        self.wait_timeout = wait_timeout if wait_timeout is not None else 2 * lock_timeout + 5.0
        self.group_wait = group_wait
        lock = threading.RLock()
        self._cond = threading.Condition(lock)   # requests wait here for their rows
        self._work = threading.Condition(lock)   # the writer waits here (only it is woken by a new row)
        self._queue: deque[Entry] = deque()
        self._missing: dict[object, tuple[int, float]] = {}   # group -> (rows still to come, first seen)
        self._running = False
        self._writing_since: float | None = None   # when the batch being written began (None: none)
        self._store: Store | None = None
        self.batches = 0     # transactions written and rows in them (for tests and stats)
        self.rows = 0

    def log(self, row: dict, embedding: tuple[str, np.ndarray] | None = None,
            group: tuple[object, int] | None = None) -> bool:
        """Write ``row`` (with its embedding for the cache) and wait until it is stored; True when it is in
        the database, False when it was spooled instead (or lost, as ``keep`` logs). ``group``: (key, number
        of rows in the group), see the class docstring."""
        entry = Entry(row, embedding, group[0] if group is not None and group[1] > 1 else None)
        deadline = time.monotonic() + self.wait_timeout
        with self._cond:
            since = self._writing_since
        # a database that does not answer at all (a hung server, a lost network) keeps a write from ever
        # timing out: rows behind it go to the spool at once instead of each waiting it out
        stuck = time.monotonic() - since if since is not None else 0.0
        if stuck > self.lock_timeout + STUCK_GRACE:
            self._keep(row, f"the database has not answered a write for {stuck:.0f} s")
            return False
        with self._cond:
            if group is not None and entry.group is not None:
                left, seen = self._missing.get(entry.group, (group[1], time.monotonic()))
                if left > 1:
                    self._missing[entry.group] = (left - 1, seen)
                else:
                    self._missing.pop(entry.group, None)
            self._queue.append(entry)
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="deflect-inquiry-log", daemon=True).start()
            else:
                self._work.notify()
            while not entry.done:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            if entry.done:
                return entry.stored
        self._keep(row, f"the inquiry writer did not finish within {self.wait_timeout:g} s")
        return False

    def _run(self) -> None:
        while True:
            with self._cond:
                idle_until = time.monotonic() + IDLE_SECONDS
                while not self._queue:
                    left = idle_until - time.monotonic()
                    if left <= 0:
                        self._close_store()
                        self._running = False
                        return
                    self._work.wait(left)
                self._wait_for_groups()
                batch = [self._queue.popleft() for _ in range(min(MAX_BATCH, len(self._queue)))]
                self._writing_since = time.monotonic()
            stored = False
            try:
                stored = self._in_context(functools.partial(self._write, batch))
            except BaseException:   # the process is going down: a later call starts a new writer
                with self._cond:
                    self._close_store()
                    self._running = False
                raise
            finally:   # also when the process is going down: nobody waits forever
                with self._cond:
                    self._writing_since = None
                    for entry in batch:
                        entry.stored, entry.done = bool(stored), True
                    self._cond.notify_all()

    def _wait_for_groups(self) -> None:
        """Wait (lock held, at most ``group_wait``) until no queued row's group has rows still to come."""
        self._work.wait_for(lambda: len(self._queue) >= MAX_BATCH
                            or not any(e.group in self._missing for e in self._queue), self.group_wait)
        stale = time.monotonic() - 10 * self.group_wait - 1.0   # rows that never came (their request failed)
        for key in [k for k, (_, seen) in self._missing.items() if seen < stale]:
            del self._missing[key]

    def _write(self, batch: list[Entry]) -> bool:
        """One transaction for the batch (and one for the embeddings); on failure the rows are spooled and
        the connection is opened again for the next batch (one opened read-only stays read-only)."""
        rows = [entry.row for entry in batch]
        # A connection kept from before a database server restart fails once; a fresh one is tried before
        # the rows go to the spool.
        for retry in (self._store is not None, False):
            try:
                if self._store is None:
                    self._store = self._open_store()
                self._write_rows(self._store, batch, rows)
                break
            except Exception as exc:   # a database error, or any other: the rows go to the spool either way
                self._close_store()
                if retry and isinstance(exc, StoreUnavailable):
                    continue
                for row in rows:
                    self._keep(row, exc)
                return False
        self.batches += 1
        self.rows += len(rows)
        return True

    def _write_rows(self, store: Store, batch: list[Entry], rows: list[dict]) -> None:
        with store.busy_timeout(self.lock_timeout):
            store.write_inquiries(rows)
            self._after_write(store)
            vectors = {e.embedding[0]: e.embedding[1] for e in batch if e.embedding is not None}
            try:   # only a cache: the gap report embeds the text again
                store.cache_embeddings(vectors)
            except DatabaseErrors:
                pass

    def _close_store(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            try:
                store.close()
            except DatabaseErrors:
                pass
