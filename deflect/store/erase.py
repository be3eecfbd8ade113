"""Erasing one customer's data on request (GDPR Art. 17): what deflect keeps of their widget sessions,
their contacts with support and their tickets; and what customers did on the help page before a date
(a retention period).

A customer is named by what the team has: a widget session id (the contact form's ``deflect_session``),
the help desk's customer id, or a ticket id. Contacts link them, so a ticket also finds the sessions that
led to it and a customer id all of their tickets and sessions. Beside the rows, the texts go from the
embedding cache and from rows waiting in the spool (which would bring them back); the gap report's copies
are dropped by ``deflect.gaps.forget``, and the index drops the erased tickets' vectors when it is rebuilt
(``deflect index --rebuild``).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from deflect.clock import utcnow_iso as utcnow
from deflect.store.core import Store
from deflect.store.database import SQLiteDatabase
from deflect.store.hashing import customer_key, hash_key, one_way_hash
from deflect.store.spool import Spool


@dataclass
class Erased:
    """What an erasure found: the ids of the rows that hold a customer's texts, and the texts themselves
    (to find their copies: cached vectors, the gap report's examples)."""

    sessions: list[str] = field(default_factory=list)
    tickets: list[str] = field(default_factory=list)
    inquiries: list[str] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)   # hashed
    texts: set[str] = field(default_factory=set)
    ticket_rows: list[dict] = field(default_factory=list)


def _marks(values: list[str]) -> str:
    return ",".join("?" * len(values))


def find_customer(store: Store, sessions: Iterable[str] = (), customers: Iterable[str] = (),
                  tickets: Iterable[str] = ()) -> Erased:
    """The rows and texts of the named sessions, customers and tickets (nothing is deleted)."""
    sessions, tickets = set(sessions), set(tickets)
    key = hash_key(store)
    # as given (stores before ``customer_key``) and as hashed since
    hashes = sorted({one_way_hash(form, key) for c in customers for form in (c, customer_key(c))})
    if hashes:   # tickets that came in an export or through the API name their customer themselves
        tickets |= {r[0] for r in store.db.execute(
            f"select ticket_id from ticket_customers where customer in ({_marks(hashes)})", hashes)}
    # the customer's contacts name their other sessions and tickets, and so do the contacts of those tickets
    # (an e-mail address finds the ticket, the ticket the widget session it was sent from); one step only, so
    # a session shared with another customer does not lead on to their tickets
    where, params = _any_of([("session", sorted(sessions)), ("ticket_id", sorted(tickets)), ("customer", hashes)])
    if where:
        rows = store.db.execute(f"select session, ticket_id from contacts where {where}", params).fetchall()
        sessions |= {r[0] for r in rows if r[0]}
        tickets |= {r[1] for r in rows if r[1]}
    s, t = sorted(sessions), sorted(tickets)
    where, params = _any_of([("session", s), ("ticket_id", t)])   # an agent's inquiry holds its ticket's text
    found = store.db.execute(f"select id, text from inquiries where {where}", params).fetchall() if where else []
    erased = Erased(s, t, sorted(r[0] for r in found), hashes, {r[1] for r in found if r[1]})
    where, params = _any_of([("session", s), ("inquiry_id", erased.inquiries)])
    if where:
        erased.texts |= {r[0] for r in store.db.execute(f"select text from evidence where {where}", params) if r[0]}
    if t:
        erased.ticket_rows = [dict(r) for r in store.get_tickets(t).values()]
    return erased


def erase_customer(store: Store, sessions: Iterable[str] = (), customers: Iterable[str] = (),
                   tickets: Iterable[str] = (), dry_run: bool = False, erased: Erased | None = None
                   ) -> dict[str, int]:
    """Delete every row of the named sessions, customers and tickets (``erased``: as ``find_customer``
    found them); rows per table (all tables in one transaction). ``dry_run`` counts without deleting."""
    erased = erased or find_customer(store, sessions, customers, tickets)
    s, t, hashes, inquiries = erased.sessions, erased.tickets, erased.customers, erased.inquiries
    plan = {
        "inquiries": [("id", inquiries)],
        "feedback": [("session", s), ("inquiry_id", inquiries)],
        "evidence": [("session", s), ("inquiry_id", inquiries)],
        "notice_views": [("session", s)],
        "topic_volume": [("inquiry_id", inquiries)],
        "gap_items": [("item_id", inquiries + t)],
        "contacts": [("session", s), ("ticket_id", t), ("customer", hashes)],
        "widget_sessions": [("session", s)],
        "inferred_links": [("ticket_id", t)],
        "ticket_customers": [("ticket_id", t)],
        "tickets": [("id", t)],
    }
    tables = set(store.db.table_names())
    counts: dict[str, int] = {}
    if not dry_run:
        _zeroing(store)
    with store.db.transaction():
        for table, columns in plan.items():
            where, params = _any_of(columns)
            if not where or table not in tables:
                continue
            counts[table] = _delete(store, table, where, params, dry_run)
        if t and not dry_run:   # an overlapping export, a sync or a push must not bring them back
            key, now = hash_key(store), utcnow()
            store.db["erased_tickets"].upsert_all([{"ticket": one_way_hash(i, key), "erased_at": now} for i in t],
                                                  pk="ticket")
    return counts


def purge_before(store: Store, cutoff: str, dry_run: bool = False) -> dict[str, int]:
    """Delete what customers did on the help page before ``cutoff`` (an ISO time): their searches and
    everything that hangs on them (votes, notice views, topic counts), contacts and sessions; rows per
    table. Tickets stay: they are the help desk's records, which the team keeps or deletes there."""
    # the old searches as a subquery, not a list of ids: a year of traffic is more than a statement takes
    old = "select id from inquiries where created_at < ?"
    plan = {
        "feedback": f"created_at < ? or inquiry_id in ({old})",
        "evidence": f"created_at < ? or inquiry_id in ({old})",
        "notice_views": f"at < ? or inquiry_id in ({old})",
        "topic_volume": f"at < ? or inquiry_id in ({old})",
        "gap_items": f"source = 'inquiry' and item_id in ({old})",
        "contacts": "created_at < ?", "widget_sessions": "assigned_at < ?",
        "inquiries": "created_at < ?",   # last: the others find theirs through it
    }
    tables = set(store.db.table_names())
    counts: dict[str, int] = {}
    if not dry_run:
        _zeroing(store)
    with store.db.transaction():
        for table, where in plan.items():
            if table in tables:
                counts[table] = _delete(store, table, where, [cutoff] * where.count("?"), dry_run)
    return counts


def forget_vectors(store: Store, texts: Iterable[str], models: Iterable[str]) -> int:
    """Delete the cached vectors of ``texts`` under each of ``models`` (the cache is keyed by model and
    text: a vector left there would tell anyone with the text that it was stored); returns how many."""
    keys = sorted({store.embedding_key(m, t) for m in models if m for t in texts})
    return store.db["embeddings"].delete_where_in("key", keys)


def old_inquiries(store: Store, cutoff: str) -> list[str]:
    """The ids of the inquiries ``purge_before`` deletes."""
    return [r[0] for r in store.db.execute("select id from inquiries where created_at < ?", [cutoff])]


def inquiry_texts_before(store: Store, cutoff: str) -> set[str]:
    """The texts of the inquiries ``purge_before`` deletes (their vectors go from the cache with them)."""
    return {r[0] for r in store.db.execute("select text from inquiries where created_at < ? union "
                                          "select text from evidence where created_at < ?", [cutoff, cutoff]) if r[0]}


def forget_spooled(path: Path, erased: Erased | None = None, cutoff: str | None = None) -> int:
    """Drop the rows waiting in the spool at ``path`` that belong to ``erased`` or were made before
    ``cutoff``: once the database takes them again they would bring back what was deleted."""
    sessions = set(erased.sessions) if erased else set()
    tickets = set(erased.tickets) if erased else set()
    inquiries = set(erased.inquiries) if erased else set()

    def goes(row: dict) -> bool:
        if cutoff is not None and str(row.get("created_at") or "") < cutoff:
            return True
        return (row.get("session") in sessions or row.get("ticket_id") in tickets
                or row.get("inquiry_id") in inquiries or row.get("id") in inquiries)

    return Spool(path).remove(goes)


def _zeroing(store: Store) -> None:
    """SQLite overwrites what it deletes with zeros (else deleted rows stay readable in free pages)."""
    if isinstance(store.db, SQLiteDatabase):
        store.db.execute("pragma secure_delete = on")


def checkpoint(store: Store) -> bool:
    """Write SQLite's journal into the database file and empty it: until then the deleted rows stay readable
    in ``deflect.db-wal``. False where a reader (a running service) kept it from finishing; its next
    checkpoint does."""
    if not isinstance(store.db, SQLiteDatabase):
        return True
    busy, _, _ = store.db.execute("pragma wal_checkpoint(truncate)").fetchone()
    return not busy


def _delete(store: Store, table: str, where: str, params: list[str], dry_run: bool) -> int:
    if dry_run:
        return store.db.execute(f'select count(*) from "{table}" where {where}', params).fetchone()[0]
    return store.db.execute(f'delete from "{table}" where {where}', params).rowcount


def _any_of(columns: list[tuple[str, list[str]]]) -> tuple[str, list[str]]:
    """``a in (?, ?) or b in (?)`` over the columns that have values, and its parameters."""
    parts = [(f'"{column}" in ({_marks(values)})', values) for column, values in columns if values]
    return " or ".join(p for p, _ in parts), [v for _, values in parts for v in values]
