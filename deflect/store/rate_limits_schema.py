"""The table of shared rate-limit counters (``deflect.store.rate_limits``; migration registered in
``deflect.store.MIGRATIONS``): one row per bucket, client and fixed window."""
from __future__ import annotations

import sqlite_utils


def m_rate_limits_001(db: sqlite_utils.Database) -> None:
    db.execute("create table rate_limits (bucket text not null, client text not null, "
               "window_start bigint not null, hits integer not null, "
               "primary key (bucket, client, window_start))")
    db.execute("create index rate_limits_window on rate_limits (window_start)")


RATE_LIMIT_MIGRATIONS = [("rate_limits_001", m_rate_limits_001)]
