"""Erasing one customer's data on request (GDPR Art. 17): what deflect keeps of their widget sessions,
their contacts with support and their tickets.

A customer is named by what the team has: a widget session id (the contact form's ``deflect_session``),
the help desk's customer id, or a ticket id. Contacts link them, so a ticket also finds the sessions that
led to it and a customer id all of their tickets and sessions. The gap report's topics keep short
examples of texts: they are rebuilt from what is left (``deflect gaps --rebuild``), and the index drops
the erased tickets' vectors at its next build (``deflect index``).
"""
from __future__ import annotations

from collections.abc import Iterable

from deflect.store.core import Store
from deflect.store.feedback import one_way_hash


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
    hashes = [one_way_hash(c) for c in customers]
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
            if dry_run:
                counts[table] = store.db.execute(f'select count(*) from "{table}" where {where}', params).fetchone()[0]
            else:
                counts[table] = store.db.execute(f'delete from "{table}" where {where}', params).rowcount
    return counts


def _any_of(columns: list[tuple[str, list[str]]]) -> tuple[str, list[str]]:
    """``a in (?, ?) or b in (?)`` over the columns that have values, and its parameters."""
    parts = [(f'"{column}" in ({_marks(values)})', values) for column, values in columns if values]
    return " or ".join(p for p, _ in parts), [v for _, values in parts for v in values]
