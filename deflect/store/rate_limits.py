"""Rate-limit counters kept in the store, so every worker and every replica that shares the database
counts the same hits (a per-process count would let a client through N times as often with N workers).

Fixed windows: a hit of ``client`` on ``bucket`` adds one to the row of the window it falls in (the
window's start, in whole seconds since the epoch), by one ``INSERT ... ON CONFLICT DO UPDATE`` that
returns the new count, so two processes counting at once never lose a hit. Rows of windows that
have ended are deleted from time to time (``prune``). The table: ``deflect.store.rate_limits_schema``.
"""
from __future__ import annotations

from deflect.store.core import Store


def count_hit(store: Store, bucket: str, client: str, window_start: int) -> int:
    """Count one hit of ``client`` on ``bucket`` in the window starting at ``window_start``; the
    window's hits including this one."""
    with store.db.transaction():
        row = store.db.execute(
            "insert into rate_limits (bucket, client, window_start, hits) values (?, ?, ?, 1) "
            "on conflict (bucket, client, window_start) do update set hits = rate_limits.hits + 1 "
            "returning hits", [bucket, client, window_start]).fetchone()
    return int(row[0])


def hits(store: Store, bucket: str, client: str, window_start: int) -> int:
    """The hits counted so far in the window starting at ``window_start`` (0 if none)."""
    row = store.db.execute("select hits from rate_limits where bucket = ? and client = ? and window_start = ?",
                           [bucket, client, window_start]).fetchone()
    return int(row[0]) if row else 0


def prune(store: Store, before: int) -> int:
    """Delete the counters of windows that started before ``before``; how many."""
    with store.db.transaction():
        cursor = store.db.execute("delete from rate_limits where window_start < ?", [before])
    return max(cursor.rowcount, 0)
