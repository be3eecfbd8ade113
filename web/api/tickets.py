"""API v1 for any help desk without a connector (key scope ``agent``): push resolved tickets one at a
time (``PUT /tickets/<id>``) or in batches (``POST /tickets``, a JSON array or JSON lines). They are
checked like a ``deflect ingest`` export, stored (personal data redacted) and searchable at once."""
from __future__ import annotations

import json

from flask import Blueprint, jsonify, request

from deflect.errors import InputError
from deflect.formats import Ticket, parse_ticket

from ..auth import require_key
from ..errors import ApiError
from ..limits import json_body
from ..state import get_store, write_lock
from .common import deflector

bp = Blueprint("tickets", __name__, url_prefix="/api/v1")
BATCH_MAX_BYTES = 8 * 1024 * 1024
BATCH_MAX_TICKETS = 5000
JSON_LINES = {"application/x-ndjson", "application/jsonl", "application/json-lines", "application/x-jsonlines"}


def _add(tickets: list[Ticket]) -> dict[str, int]:
    d = deflector()
    with write_lock():
        return d.add_tickets(tickets)


@bp.put("/tickets/<ticket_id>")
@require_key("agent")
def put_ticket(ticket_id: str):
    data = json_body()
    given = data.get("id")
    if given is not None and str(given).strip() != ticket_id:
        raise ApiError(f"the body's 'id' {given!r} is not the URL's {ticket_id!r}")
    ticket = parse_ticket({**data, "id": ticket_id}, "body", known_articles=get_store().article_ids())
    counts = _add([ticket])
    created = counts["new"] == 1
    return jsonify({"ok": True, "id": ticket_id, "created": created, "changed": counts["changed"] == 1}), (
        201 if created else 200)


def _batch_objects() -> list[tuple[int, object]]:
    """(item number, decoded item) of a JSON array or of JSON lines."""
    raw = request.get_data(cache=True)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError("request body is not UTF-8") from None
    if request.mimetype == "application/json":
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise ApiError("request body is not valid JSON") from None
        if not isinstance(data, list):
            raise ApiError("send a JSON array of tickets (or JSON lines as application/x-ndjson)")
        return list(enumerate(data, 1))
    if request.mimetype in JSON_LINES:
        items = []
        for n, line in enumerate(text.split("\n"), 1):
            if line.strip():
                try:
                    items.append((n, json.loads(line)))
                except (ValueError, RecursionError):
                    raise ApiError(f"line {n}: not valid JSON") from None
        return items
    raise ApiError(f"expected Content-Type application/json (an array) or application/x-ndjson, got "
                   f"{request.mimetype or 'none'!r}", 415)


@bp.post("/tickets")
@require_key("agent")
def post_tickets():
    request.max_content_length = BATCH_MAX_BYTES
    items = _batch_objects()
    if not items:
        raise ApiError("no tickets in the request body")
    if len(items) > BATCH_MAX_TICKETS:
        raise ApiError(f"at most {BATCH_MAX_TICKETS} tickets per request; send more requests")
    known, seen, tickets = get_store().article_ids(), {}, []
    for n, obj in items:
        if not isinstance(obj, dict):
            raise InputError("each ticket must be a JSON object", "item", n)
        ticket = parse_ticket(obj, "item", n, known)
        if ticket.id in seen:
            raise InputError(f"duplicate ticket id {ticket.id!r} (first as item {seen[ticket.id]})", "item", n)
        seen[ticket.id] = n
        tickets.append(ticket)
    counts = _add(tickets)
    return jsonify({"ok": True, "received": len(tickets), **counts})
