"""Erasing one customer's data on request (GDPR Art. 17): what deflect keeps of their widget sessions,
their contacts with support and their tickets; and what customers did on the help page before a date
(a retention period).

A customer is named by what the team has: a widget session id (the contact form's ``deflect_session``),
the help desk's customer id, or a ticket id. Contacts link them, so a ticket also finds the sessions that
led to it and a customer id all of their tickets and sessions. The gap report's topics keep short
examples of texts: they are rebuilt from what is left (``deflect gaps --rebuild``), and the index drops
the erased tickets' vectors at its next build (``deflect index``).
"""
from __future__ import annotations

from collections.abc import Iterable

from deflect.store.core import Store
from deflect.store.feedback import hash_key, one_way_hash


def _marks(values: list[str]) -> str:
    return ",".join("?" * len(values))


def _ids(store: Store, sql: str, values: list[str]) -> set[str]:
    if not values:
        return set()
    return {row[0] for row in store.db.execute(sql.format(marks=_marks(values)), values).fetchall() if row[0]}


def erase_customer(store: Store, sessions: Iterable[str] = (), customers: Iterable[str] = (),
                   tickets: Iterable[str] = (), dry_run: bool = False) -> dict[str, int]:
    """Delete every row of the named sessions, customers and tickets; rows per table (all tables in one
    transaction). ``dry_run`` counts without deleting."""
    sessions, tickets = set(sessions), set(tickets)
    key = hash_key(store)
    hashes = [one_way_hash(c, key) for c in customers]
    # the customer's contacts name their other sessions and tickets
    where, params = _any_of([("session", sorted(sessions)), ("ticket_id", sorted(tickets)), ("customer", hashes)])
    if where:
        rows = store.db.execute(f"select session, ticket_id from contacts where {where}", params).fetchall()
        sessions |= {r[0] for r in rows if r[0]}
        tickets |= {r[1] for r in rows if r[1]}
    s, t = sorted(sessions), sorted(tickets)
    inquiries = sorted(_ids(store, "select id from inquiries where session in ({marks})", s))
    plan = {
        "inquiries": [("session", s)],
        "feedback": [("session", s), ("inquiry_id", inquiries)],
        "evidence": [("session", s), ("inquiry_id", inquiries)],
        "notice_views": [("session", s)],
        "topic_volume": [("inquiry_id", inquiries)],
        "gap_items": [("item_id", inquiries + t)],
        "contacts": [("session", s), ("ticket_id", t), ("customer", hashes)],
        "widget_sessions": [("session", s)],
        "inferred_links": [("ticket_id", t)],
        "tickets": [("id", t)],
    }
    tables = set(store.db.table_names())
    counts: dict[str, int] = {}
    with store.db.transaction():
        for table, columns in plan.items():
            where, params = _any_of(columns)
            if not where or table not in tables:
                continue
            counts[table] = _delete(store, table, where, params, dry_run)
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
    with store.db.transaction():
        for table, where in plan.items():
            if table in tables:
                counts[table] = _delete(store, table, where, [cutoff] * where.count("?"), dry_run)
    return counts


def _delete(store: Store, table: str, where: str, params: list[str], dry_run: bool) -> int:
    if dry_run:
        return store.db.execute(f'select count(*) from "{table}" where {where}', params).fetchone()[0]
    return store.db.execute(f'delete from "{table}" where {where}', params).rowcount


def _any_of(columns: list[tuple[str, list[str]]]) -> tuple[str, list[str]]:
    """``a in (?, ?) or b in (?)`` over the columns that have values, and its parameters."""
    parts = [(f'"{column}" in ({_marks(values)})', values) for column, values in columns if values]
    return " or ".join(p for p, _ in parts), [v for _, values in parts for v in values]
