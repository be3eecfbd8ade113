"""Dynamic micro-batching of concurrent calls within one process (model forwards, whole suggestions).

Request threads of one worker (gunicorn gthread) that each need a few items processed (texts embedded,
inquiries answered) hand them to a ``MicroBatcher``; while one batched forward runs, the calls that
arrive queue up, and the next forward takes all of them at once (up to ``max_batch`` items). One
forward of n short texts costs far less than n forwards of one on a CPU, so throughput grows with
concurrency, while a lone caller is dispatched at once (no wait when nothing else is queued). Under
load (the previous forward served several callers) the next one may wait up to ``max_wait`` seconds
for more callers to join, until it has as many as the most any forward served (a worker's request
threads are the most that can come: waiting longer would only delay the forward).

Callers can also be announced (``expect``) by the code that will make the call, before it does the
rest of its work (a web request announces itself as it enters the suggest view): a forward then waits,
up to ``max_gather`` seconds, until every announced caller has joined, so the requests a worker is
answering at the moment share one forward instead of trickling in one by one behind each other. A
lone request is not delayed: it joined itself and nobody else is announced.

There is no background thread: the first waiting caller runs the forward for everyone (leader and
followers), so the batcher survives ``fork`` and needs no shutdown. A failing forward of several callers
is run again per caller, so an exception reaches only the caller whose texts raised it.
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# items -> one result per item (an (n, dim) array of vectors, or a list)
Forward = Callable[[list[Any]], Sequence[Any]]


class _Call:
    __slots__ = ("texts", "result", "error", "done", "batch")

    def __init__(self, texts: list[Any]):
        self.texts = texts            # the call's items (texts, for a model forward)
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = False
        self.batch: tuple[int, int] = (0, 1)   # (number of the forward, callers it served)


def _part(results: Sequence[Any], start: int, stop: int) -> Any:
    """One caller's results: rows of an array (a copy, so the batch's array is not kept alive), or a list."""
    if isinstance(results, np.ndarray):
        return np.array(results[start:stop])
    return list(results[start:stop])


class MicroBatcher:
    """Processes the items of concurrent callers in one call of ``forward`` (items -> one result per item,
    in order: e.g. texts -> an (n, dim) array of their vectors)."""

    def __init__(self, forward: Forward, max_batch: int = 32, max_wait: float = 0.0, max_gather: float = 0.03):
        self.forward = forward
        self.max_batch = max_batch
        self.max_wait = max_wait          # seconds a forward under load waits for more callers
        self.max_gather = max_gather      # seconds a forward waits at most for announced callers
        lock = threading.Lock()
        self._cond = threading.Condition(lock)       # callers wait here for their batch
        self._arrivals = threading.Condition(lock)   # a gathering leader waits here (only it is woken)
        self._queue: deque[_Call] = deque()
        self._busy = False
        self._last_callers = 0
        self._most_callers = 1            # the most callers any forward served
        self._coming = 0                  # announced callers that have not called yet
        self._mine = threading.local()    # this thread's announcement and last batch
        self.forwards = 0                 # forwards run, and callers served by them (for tests and stats)
        self.callers = 0

    def expect(self) -> None:
        """Announce that this thread will call soon (see the module docstring); ``withdraw`` when it
        ends up not calling. A thread announces once: a second ``expect`` before its call counts once."""
        self._mine.batch = None
        if getattr(self._mine, "on", False):
            return
        self._mine.on = True
        with self._cond:
            self._coming += 1

    def withdraw(self) -> None:
        """This thread's announcement is void (nothing happens when it has called meanwhile)."""
        if getattr(self._mine, "on", False):
            self._mine.on = False
            with self._cond:
                self._coming -= 1
                self._arrivals.notify()

    def take_batch(self) -> tuple[int, int] | None:
        """(number of the forward, callers it served) of this thread's last call, once (then None): what
        comes after the call can wait for the other callers of the same forward (web.inquiry_log)."""
        batch, self._mine.batch = getattr(self._mine, "batch", None), None
        return batch

    def __call__(self, texts: list[Any]) -> Any:
        """The results of ``texts`` (row or element i for item i), computed together with concurrent calls."""
        call = _Call(list(texts))
        announced = getattr(self._mine, "on", False)
        self._mine.on = False
        with self._cond:
            if announced:
                self._coming -= 1
            self._queue.append(call)
            if self._busy:
                self._arrivals.notify()   # a leader waiting for more callers counts again
            while not call.done:
                if self._busy:
                    self._cond.wait()
                    continue
                self._busy = True
                try:
                    batch = self._take()
                    self._cond.release()
                    try:
                        self._run(batch)
                    finally:
                        self._cond.acquire()
                finally:
                    self._busy = False
                    self._cond.notify_all()
        self._mine.batch = call.batch
        if call.error is not None:
            raise call.error
        assert call.result is not None
        return call.result

    def _take(self) -> list[_Call]:
        """The calls of the next forward, from the front of the queue (called with the lock held)."""
        if self._coming > 0:   # requests of this process on their way here: they come within milliseconds
            self._arrivals.wait_for(lambda: self._coming <= 0 or self._queued() >= self.max_batch, self.max_gather)
        if self.max_wait > 0 and self._last_callers > 1:
            self._arrivals.wait_for(lambda: self._queued() >= self.max_batch
                                    or len(self._queue) >= self._most_callers, self.max_wait)
        batch = [self._queue.popleft()]
        size = len(batch[0].texts)
        while self._queue and size + len(self._queue[0].texts) <= self.max_batch:
            size += len(self._queue[0].texts)
            batch.append(self._queue.popleft())
        self._last_callers = len(batch)
        self._most_callers = max(self._most_callers, len(batch))
        return batch

    def _queued(self) -> int:
        return sum(len(c.texts) for c in self._queue)

    def _run(self, batch: list[_Call]) -> None:
        """One forward for the whole batch; each call gets its rows (or, when it fails, its own error)."""
        self.forwards += 1
        self.callers += len(batch)
        for call in batch:
            call.batch = (self.forwards, len(batch))
        if len(batch) == 1:
            self._run_one(batch[0])
            return
        try:
            vectors = self.forward([t for call in batch for t in call.texts])
        except Exception:   # find whose texts fail: each caller alone
            for call in batch:
                self._run_one(call)
            return
        start = 0
        for call in batch:
            call.result = _part(vectors, start, start + len(call.texts))
            start += len(call.texts)
            call.done = True

    def _run_one(self, call: _Call) -> None:
        try:
            result = self.forward(call.texts)
            call.result = np.asarray(result) if isinstance(result, np.ndarray) else result
        except BaseException as exc:  # handed to its caller, raised in its thread
            call.error = exc
        call.done = True
