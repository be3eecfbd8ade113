"""The record of erased tickets (migrations registered in ``deflect.store.MIGRATIONS``).

- ``erased_tickets``: the one-way hash (``deflect.store.hashing``) of each ticket id erased on a customer's
  request. A ticket export or a help desk still holds the ticket: without this record the next import of an
  overlapping export, a sync or an API push would store it again, personal data and all. The hash
  recognises the id without keeping it.
"""
from __future__ import annotations

from deflect.store.database import Database


def m_erased_001_tickets(db: Database) -> None:
    db["erased_tickets"].create({"ticket": str, "erased_at": str}, pk="ticket")


ERASED_MIGRATIONS = [("erased_001_tickets", m_erased_001_tickets)]
