"""The insertion order of the tables whose rows are read in the order they came (listed in the store's
MIGRATIONS): ``seq``, numbered by the database. Timestamps have whole seconds, so two rows of one second
(a search-as-you-type session, a vote right after a click, two keys made by a script) need it to keep
their order, on SQLite and PostgreSQL alike."""
from __future__ import annotations

from deflect.store.database import Database

ORDERED_TABLES = ("inquiries", "feedback", "evidence", "api_keys")


def m_order_001(db: Database) -> None:
    for table in ORDERED_TABLES:
        db[table].add_sequence("seq")


ORDER_MIGRATIONS = [("order_001_insertion_seq", m_order_001)]
