"""Migrations of the help-desk connectors' tables; listed in the store's MIGRATIONS.

No token or webhook secret is ever stored: a connection names the file or environment variable that
holds it. Deliveries and notes are keyed so that a retried webhook or a second note cannot be recorded
twice (the primary key is the guard)."""
from __future__ import annotations

from deflect.store.database import Database


def m_connectors_001(db: Database) -> None:
    """Connections, their resumable cursors, webhook deliveries seen, internal notes posted."""
    db["connections"].create({
        "name": str, "kind": str, "url": str, "token_file": str, "token_env": str, "secret_file": str,
        "secret_env": str, "options": str, "created_at": str, "last_sync_at": str, "last_error": str,
        "counts": str,
    }, pk="name")
    db["connector_cursors"].create({"connection": str, "job": str, "cursor": str, "updated_at": str},
                                   pk=("connection", "job"))
    db["connector_deliveries"].create({
        "connection": str, "delivery_id": str, "received_at": str, "status": str, "error": str,
    }, pk=("connection", "delivery_id"))
    db["connector_notes"].create({
        "connection": str, "remote_ticket": str, "note_id": str, "status": str, "posted_at": str,
    }, pk=("connection", "remote_ticket"))


CONNECTORS_MIGRATIONS = [("connectors_001_connections", m_connectors_001)]
