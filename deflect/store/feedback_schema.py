"""Migrations of the feedback-learning tables; listed in the store's MIGRATIONS.

- ``widget_sessions``: the holdout arm of every widget session ("shown" or "holdout"), assigned once
  at its first inquiry and never changed (sticky), with the time: the log of the experiment.
- ``contacts``: a customer contacted support: the contact form (demo page), a ticket pushed through the
  API or a connector carrying the widget's session id, or a ``contacted_support`` event. ``customer``
  is a hash of the help desk's customer id, never the id itself.
- ``evidence``: what deflect learned from: a phrasing (redacted) and an article, a signed weight
  (helpful, an agent's choice, a ticket resolved with the article: positive; not helpful: negative),
  who gave it (session, a hash of the client address) and when.
- ``inquiries.shown``: the articles the customer was shown for a logged inquiry (ids, comma-separated, in
  the order shown; empty on "no answer"), so that a vote can be read against what the customer saw.
- ``inquiries.ticket_id``: the ticket an agent's inquiry (the agent API, a connector's note) was the text of,
  so that erasing the ticket erases it too.
- ``inquiries.client``: a hash of the address a widget inquiry came from (as ``evidence.client``), so that a
  script inventing a session per request counts as few customers in the report and the incident check.
"""
from __future__ import annotations

import json
import secrets

from deflect.store.database import Database


def m_feedback_001(db: Database) -> None:
    """Holdout arms, contacts, learned evidence."""
    db["widget_sessions"].create({"session": str, "arm": str, "assigned_at": str}, pk="session")
    db["contacts"].create({
        "id": str, "session": str, "customer": str, "source": str, "ticket_id": str, "created_at": str,
    }, pk="id")
    db["contacts"].create_index(["session"])
    db["contacts"].create_index(["customer"])
    db["contacts"].create_index(["ticket_id"])
    db["evidence"].create({
        "id": str, "kind": str, "text": str, "article_id": str, "weight": float, "session": str,
        "client": str, "inquiry_id": str, "created_at": str,
    }, pk="id")
    db["evidence"].create_index(["article_id"])
    db["evidence"].create_index(["session"])


def m_feedback_002(db: Database) -> None:
    """What each logged inquiry showed: a helpful vote for an article below the first one shown passes over
    the articles above it (``deflect.feedback.learning``)."""
    db["inquiries"].add_column("shown", str)


def m_feedback_003(db: Database) -> None:
    """A key of the store's own for the hashes of customer ids and client addresses (``one_way_hash``). A
    store that holds such hashes already keeps the shared prefix they were made with, so that its customers
    stay recognised."""
    used = db.execute("select 1 from contacts where customer is not null union all "
                      "select 1 from evidence where client like '%' and client not like '%:%' limit 1").fetchone()
    key = "" if used else secrets.token_hex(16)
    db["settings"].upsert({"key": "hash_key", "value": json.dumps(key)}, pk="key")


def m_feedback_004(db: Database) -> None:
    """The ticket whose text an agent-channel inquiry holds (``deflect privacy erase --ticket``)."""
    db["inquiries"].add_column("ticket_id", str)
    db["inquiries"].create_index(["ticket_id"])


def m_feedback_005(db: Database) -> None:
    """The hashed client address of a widget inquiry (``deflect.gaps.items.Customers``)."""
    db["inquiries"].add_column("client", str)


def m_feedback_006(db: Database) -> None:
    """The hashed customers a ticket names (its export's ``customer_id`` and ``customer_email``): an erasure
    by either finds tickets that came in a file, not only those the tickets API linked through a contact."""
    db["ticket_customers"].create({"ticket_id": str, "customer": str}, pk=("ticket_id", "customer"))
    db["ticket_customers"].create_index(["customer"])


FEEDBACK_MIGRATIONS = [("feedback_001_holdout_contacts_evidence", m_feedback_001),
                       ("feedback_002_inquiries_shown", m_feedback_002),
                       ("feedback_003_hash_key", m_feedback_003),
                       ("feedback_004_inquiries_ticket", m_feedback_004),
                       ("feedback_005_inquiries_client", m_feedback_005),
                       ("feedback_006_ticket_customers", m_feedback_006)]
