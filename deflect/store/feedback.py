"""The feedback-learning tables (schema in ``deflect.store.feedback_schema``): holdout arms of widget
sessions, contacts that carry a session, and the evidence deflect learns from."""
from __future__ import annotations

import random
import uuid

from deflect.clock import iso, parse_time, utcnow, utcnow_iso
from deflect.errors import InputError
from deflect.store.core import Store
from deflect.store.hashing import customer_key, hash_key, one_way_hash

ARMS = ("shown", "holdout")
CONTACT_SOURCES = ("form", "api", "connector", "widget")
# Evidence kinds and their weight for the (phrasing, article) pair: an agent's choice and a ticket
# resolved with the article are worth more than a customer's vote; "not helpful" counts against, and so
# does "passed over": an article shown above the one a customer voted helpful (they read it and chose another).
KIND_WEIGHTS = {"helpful": 1.0, "not_helpful": -1.0, "passed_over": -1.0, "agent_choice": 2.0, "resolved": 2.0}


# -- holdout arms ---------------------------------------------------------------------------
def session_arm(store: Store, session: str) -> str | None:
    row = store.db.execute("select arm from widget_sessions where session = ?", [session]).fetchone()
    return row[0] if row else None


def assign_arm(store: Store, session: str, share: float, rng: random.Random | None = None) -> str:
    """The session's arm: the stored one, else drawn now ("holdout" with probability ``share``) and
    stored, so the session keeps it. Two requests racing for a new session get the same (first) arm."""
    known = session_arm(store, session)
    if known is not None:
        return known
    arm = "holdout" if share > 0 and (rng or random).random() < share else "shown"
    with store.db.transaction():
        store.db.execute("insert into widget_sessions (session, arm, assigned_at) values (?, ?, ?) "
                         "on conflict (session) do nothing",
                         [session, arm, utcnow_iso()])
    return session_arm(store, session) or arm


# -- contacts -------------------------------------------------------------------------------
def record_contact(store: Store, source: str, session: str | None = None, customer: str | None = None,
                   ticket_id: str | None = None, at: str | None = None, known: tuple[str, ...] = ()) -> str | None:
    """Note that a customer contacted support (``customer``: the help desk's id, stored hashed) ``at`` a
    time (the ticket's creation; unset, unreadable or in the future: now). Nothing is recorded without a
    session or a customer; a ticket is recorded once. ``known``: the customer's name, e-mail and phone as
    the ticket gives them, removed from what the session typed before (``forget_known``)."""
    if source not in CONTACT_SOURCES:
        raise InputError(f"unknown contact source {source!r}")
    if session and known:
        forget_known(store, session, known)
    if not session and not customer:
        return None
    if ticket_id and store.db.execute("select 1 from contacts where ticket_id = ? and source = ?",
                                      [ticket_id, source]).fetchone():
        return None
    cid = uuid.uuid4().hex
    with store.db.transaction():
        store.db["contacts"].insert({"id": cid, "session": session or None,
                                     "customer": one_way_hash(customer_key(customer), hash_key(store))
                                     if customer else None,
                                     "source": source, "ticket_id": ticket_id, "created_at": _contact_time(at)})
    return cid


def forget_known(store: Store, session: str, known: tuple[str, ...]) -> int:
    """Redact the session's searches and votes again, now that its ticket names the customer: a surname
    typed alone in the widget ("Urlaubsservice Müller-Lüdenscheidt") is no name to the rules, but it is
    this customer's. Returns the rows changed."""
    changed = 0
    with store.db.transaction():
        for table in ("inquiries", "evidence"):
            rows = store.db.execute(f"select id, text from {table} where session = ?", [session]).fetchall()
            for row_id, text in rows:
                cleaned = store.redactor.redact(text, known=known)
                if text and cleaned != text:
                    store.db.execute(f"update {table} set text = ? where id = ?", [cleaned, row_id])
                    changed += 1
    return changed


def _contact_time(at: str | None) -> str:
    """When the contact happened, as stored: a ticket pushed when resolved was written days before."""
    now, moment = utcnow(), parse_time(at)
    return iso(min(moment, now)) if moment is not None else iso(now)


def ticket_sessions(store: Store, ticket_id: str) -> list[str]:
    """The widget sessions a ticket was sent with (and those of the same customer)."""
    rows = store.db.execute("select session, customer from contacts where ticket_id = ?", [ticket_id]).fetchall()
    sessions = [s for s, _ in rows if s]
    customers = [c for _, c in rows if c]
    if customers:
        marks = ",".join("?" * len(customers))
        sessions += [r[0] for r in store.db.execute(
            f"select distinct session from contacts where customer in ({marks}) and session is not null", customers)]
    return list(dict.fromkeys(sessions))


# -- evidence -------------------------------------------------------------------------------
def add_evidence(store: Store, kind: str, text: str, article_id: str, session: str | None = None,
                 client: str | None = None, inquiry_id: str | None = None, created_at: str | None = None) -> str:
    """Store one piece of evidence for (phrasing, article); ``text`` must already be redacted."""
    if kind not in KIND_WEIGHTS:
        raise InputError(f"unknown evidence kind {kind!r}", hint="Use one of: " + ", ".join(KIND_WEIGHTS) + ".")
    eid = uuid.uuid4().hex[:16]
    with store.db.transaction():
        store.db["evidence"].insert({
            "id": eid, "kind": kind, "text": text, "article_id": article_id, "weight": KIND_WEIGHTS[kind],
            "session": session, "client": client, "inquiry_id": inquiry_id, "created_at": created_at or utcnow_iso(),
        })
    return eid


def evidence_rows(store: Store, article_id: str | None = None, session: str | None = None,
                  kind: str | None = None, limit: int | None = None) -> list[dict]:
    """Stored evidence, newest first, optionally of one article, session or kind."""
    where, params = [], []
    for column, value in (("article_id", article_id), ("session", session), ("kind", kind)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    rows = store.db["evidence"].rows_where(" and ".join(where) or None, params,
                                           order_by="created_at desc, seq desc", limit=limit)
    return [{k: v for k, v in r.items() if k != "seq"} for r in rows]   # seq: the store's own ordering


def forget_evidence(store: Store, ids: list[str] | None = None, article_id: str | None = None,
                    session: str | None = None, kind: str | None = None) -> int:
    """Delete evidence by id, or all of an article, session or kind; returns how many went."""
    if ids:
        marks = ",".join("?" * len(ids))
        where, params = f"id in ({marks})", list(ids)
    else:
        parts = [(c, v) for c, v in (("article_id", article_id), ("session", session), ("kind", kind)) if v]
        if not parts:
            raise InputError("say what to forget: ids, an article, a session or a kind")
        where, params = " and ".join(f"{c} = ?" for c, _ in parts), [v for _, v in parts]
    with store.db.transaction():
        # a helpful vote also counted against the articles shown above it ("passed_over", same inquiry):
        # forgetting the vote forgets that too, or the right article would stay demoted
        store.db.execute("delete from evidence where kind = 'passed_over' and exists (select 1 from evidence h "
                         "where h.kind = 'helpful' and h.inquiry_id = evidence.inquiry_id and "
                         f"coalesce(h.session, '') = coalesce(evidence.session, '') and ({where}))", params)
        cursor = store.db.execute(f"delete from evidence where {where}", params)
    return cursor.rowcount
