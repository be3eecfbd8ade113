"""A re-entrant lock that serves waiting threads in arrival order.

``threading.RLock`` is not fair: a thread that releases it and asks again at once (a worker answering
one inquiry after another) usually gets it back before a waiting thread wakes up, so a live index
change could wait for seconds behind a stream of queries. ``FairRLock`` hands the lock to the
longest-waiting thread instead: a change waits for the query in progress, not for all that follow.
"""
from __future__ import annotations

import threading
from collections import deque


class FairRLock:
    """Re-entrant, first come first served; usable with ``with``."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._count = 0
        self._queue: deque[object] = deque()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._count += 1
                return True
            if self._owner is None and not self._queue:
                self._owner, self._count = me, 1
                return True
            if not blocking:
                return False
            ticket = object()
            self._queue.append(ticket)
            ok = False
            try:
                ok = self._cond.wait_for(lambda: self._owner is None and self._queue[0] is ticket,
                                         None if timeout < 0 else timeout)
            finally:
                if ok:
                    self._queue.popleft()
                    self._owner, self._count = me, 1
                else:  # timed out (or interrupted): leave the queue and let the next one in
                    self._queue.remove(ticket)
                    self._cond.notify_all()
            return ok

    def release(self) -> None:
        with self._cond:
            if self._owner != threading.get_ident():
                raise RuntimeError("cannot release a lock held by another thread")
            self._count -= 1
            if self._count == 0:
                self._owner = None
                self._cond.notify_all()

    def held(self) -> bool:
        """Whether the calling thread holds the lock."""
        return self._owner == threading.get_ident()

    def __enter__(self) -> FairRLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
