"""Migrations of the web service's tables (feedback events, API keys); listed in the store's MIGRATIONS."""
from __future__ import annotations

from deflect.store.database import Database


def m_service_001(db: Database) -> None:
    """Feedback events and API keys."""
    db["feedback"].create({
        "id": str, "inquiry_id": str, "article_id": str, "event": str, "session": str, "created_at": str,
    }, pk="id")
    db["feedback"].create_index(["inquiry_id"])
    db["feedback"].create_index(["event", "created_at"])
    db["api_keys"].create({
        "id": str, "name": str, "scope": str, "key_hash": str, "prefix": str,
        "created_at": str, "last_used_at": str, "revoked_at": str,
    }, pk="id")
    db["api_keys"].create_index(["key_hash"], unique=True)
    db["inquiries"].create_index(["session"], if_not_exists=True)


SERVICE_MIGRATIONS = [("service_001_feedback_keys", m_service_001)]
