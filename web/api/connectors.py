"""API v1 for the help desks' webhooks: ``POST /connectors/<name>/webhook`` (no API key: each delivery
is signed with the connection's webhook secret). The inbox (deflect/connectors/inbox.py) checks and
queues a delivery; this process's worker thread adds resolved tickets and posts the internal notes."""
from __future__ import annotations

import threading

from flask import Blueprint, current_app, jsonify, request

from deflect.connectors.inbox import Inbox
from deflect.connectors.note import NoteOptions
from deflect.store import open_store

from ..state import get_deflector, get_home, get_redactor, get_store, write_lock

bp = Blueprint("connectors", __name__, url_prefix="/api/v1")
EXT = "deflect_inbox"
WEBHOOK_MAX_BYTES = 2 * 1024 * 1024
_create_lock = threading.Lock()


def inbox() -> Inbox:
    """This process's inbox, started with the first delivery."""
    found = current_app.extensions.get(EXT)
    if found is None:
        with _create_lock:
            found = current_app.extensions.get(EXT)
            if found is None:
                config, db_path, redactor = current_app.config, get_home().database, get_redactor()
                language = config.get("AGENT_LANGUAGE", "auto")
                options = NoteOptions(help_center_url=config.get("HELP_CENTER_URL"),
                                      signature=config.get("DRAFT_SIGNATURE"),
                                      ticket_min_score=config.get("DRAFT_TICKET_MIN_SCORE"),
                                      language=None if language == "auto" else language)
                found = Inbox(get_deflector(), lambda: open_store(db_path, redactor=redactor), options,
                              redactor, write_lock())
                current_app.extensions[EXT] = found
    return found


@bp.post("/connectors/<name>/webhook")
def webhook(name: str):
    request.max_content_length = WEBHOOK_MAX_BYTES
    raw = request.get_data(cache=True)   # the signature is over these bytes, not over re-encoded JSON
    status = inbox().receive(get_store(), name, request.headers, raw)
    return jsonify({"ok": True, "status": status}), 202 if status == "queued" else 200
