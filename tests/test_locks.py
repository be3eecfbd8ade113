"""The engine's fair lock: waiting threads are served in arrival order, re-entrant, strict release."""
from __future__ import annotations

import threading
import time

from deflect.locks import FairRLock


def test_a_waiting_thread_gets_the_lock_before_the_releaser_takes_it_again():
    lock, order = FairRLock(), []
    lock.acquire()
    waiting = threading.Thread(target=lambda: (lock.acquire(), order.append("waiter"), lock.release()))
    waiting.start()
    while not lock._queue:      # the waiter is queued
        time.sleep(0.001)
    lock.release()
    with lock:                  # asks again at once, as a busy query loop does
        order.append("releaser")
    waiting.join()
    assert order == ["waiter", "releaser"]


def test_reentrant_nonblocking_timeout_and_foreign_release():
    lock = FairRLock()
    with lock, lock:            # re-entrant
        result = {}
        t = threading.Thread(target=lambda: result.update(
            nb=lock.acquire(blocking=False), to=lock.acquire(timeout=0.05)))
        t.start()
        t.join()
        assert result == {"nb": False, "to": False} and not lock._queue

        def foreign_release():
            try:
                lock.release()
            except RuntimeError as exc:
                result["error"] = str(exc)

        t = threading.Thread(target=foreign_release)
        t.start()
        t.join()
        assert "another thread" in result["error"]
    assert lock.acquire(blocking=False)
    lock.release()
