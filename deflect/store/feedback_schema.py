"""Migrations of the feedback-learning tables; listed in the store's MIGRATIONS.

- ``widget_sessions``: the holdout arm of every widget session ("shown" or "holdout"), assigned once
  at its first inquiry and never changed (sticky), with the time: the log of the experiment.
- ``contacts``: a customer contacted support: the contact form (demo page), a ticket pushed through the
  API or a connector carrying the widget's session id, or a ``contacted_support`` event. ``customer``
  is a hash of the help desk's customer id, never the id itself.
- ``evidence``: what deflect learned from: a phrasing (redacted) and an article, a signed weight
  (helpful, an agent's choice, a ticket resolved with the article: positive; not helpful: negative),
  who gave it (session, a hash of the client address) and when.
"""
from __future__ import annotations

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


FEEDBACK_MIGRATIONS = [("feedback_001_holdout_contacts_evidence", m_feedback_001)]
