"""A gunicorn threaded worker that leaves new connections to less busy workers of the same server.

The workers of a gunicorn server share one listening socket, and the worker whose loop runs first takes
every connection that is waiting: 16 clients connecting at once (keep-alive connections, as a reverse
proxy or a load test keeps them) ended up 14 on one worker and 2 on the other. The busy worker then
answered its requests 4 at a time (its threads) while the other one idled with single requests, and
concurrent requests of a worker share one model forward (``deflect.index.batching``) only when they
reach the same worker.

A worker that has a connection per request thread therefore stops accepting until one of them closes,
for at most ``ACCEPT_PAUSE`` after its last accept: a worker with a free thread takes the next
connection. Nothing is refused: when every worker is that busy they take turns, and a new connection
waits at most one pause. Clients with a connection per request are not slowed down: a closing
connection ends the pause.
"""
from __future__ import annotations

import time

from gunicorn.workers.gthread import ThreadWorker

ACCEPT_PAUSE = 0.05   # seconds at most a worker with a connection per thread leaves new connections to others


def balances_connections() -> bool:
    """Whether this gunicorn's threaded worker has the hooks ``BalancedThreadWorker`` relies on
    (gunicorn >= 24); older ones serve with their own ``gthread`` worker."""
    return all(hasattr(ThreadWorker, name) for name in ("set_accept_enabled", "wait_for_and_dispatch_events",
                                                        "accept"))


class BalancedThreadWorker(ThreadWorker):
    """gunicorn's ``gthread`` worker, pausing its accepts while it has a connection per thread."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._paused_until = 0.0

    def accept(self, listener):
        super().accept(listener)
        if self.nr_conns >= self.cfg.threads:
            self._paused_until = time.monotonic() + ACCEPT_PAUSE
            self.set_accept_enabled(False)

    def _paused(self) -> bool:
        """Whether accepting waits: a connection per thread and the pause not over."""
        if self._paused_until and (self.nr_conns < self.cfg.threads or time.monotonic() >= self._paused_until):
            self._paused_until = 0.0
        return self._paused_until > 0

    def set_accept_enabled(self, enabled):
        # the run loop enables accepting whenever the worker is below worker_connections
        super().set_accept_enabled(enabled and not self._paused())

    def wait_for_and_dispatch_events(self, timeout):
        if self._paused():
            timeout = min(timeout, max(0.0, self._paused_until - time.monotonic()))   # wake when the pause ends
        super().wait_for_and_dispatch_events(timeout)
