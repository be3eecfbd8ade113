"""Migrations of the inferred article links (listed in the store's MIGRATIONS).

``inferred_links`` holds, per ticket without an agent-made link, the article deflect inferred for it:
from what the agent's resolution says (an article URL, id, title or pasted answer text) or from the
ticket's neighbourhood. Kept apart from ``tickets.article_id`` so an inferred link is never taken for
one an agent made. ``article_renames`` maps an article's old id to its new one.
"""
from __future__ import annotations

from deflect.store.database import Database


def m_links_001(db: Database) -> None:
    """The inferred links, one row per ticket."""
    db["inferred_links"].create({
        "ticket_id": str,
        "article_id": str,
        "confidence": float,    # 0..1: how sure the inference is
        "source": str,          # url | id | title | text | neighbours
        "evidence": str,        # what matched (the URL, id, title, shared words) or the neighbours' agreement
        "ticket_hash": str,     # the ticket's content hash the inference was made for
        "inferred_at": str,
    }, pk="ticket_id")
    db["inferred_links"].create_index(["article_id"])
    db["inferred_links"].create_index(["source"])


def m_links_002_renamed(db: Database) -> None:
    """Article ids renamed by ``ingest --prune``: a help desk's later export still links the old id."""
    db["article_renames"].create({"old_id": str, "new_id": str, "renamed_at": str}, pk="old_id")


LINKS_MIGRATIONS = [("links_001_inferred", m_links_001), ("links_002_renamed", m_links_002_renamed)]
