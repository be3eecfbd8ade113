"""API v1 for any help desk without a connector (key scope ``agent``): push resolved tickets one at a
time (``PUT /tickets/<id>``) or in batches (``POST /tickets``, a JSON array or JSON lines). They are
checked like a ``deflect ingest`` export, stored (personal data redacted) and searchable at once.

A ticket may carry the widget's ``session`` (the hidden field the widget adds to the contact form) and
the help desk's ``customer_id`` (stored hashed): the contact counts for the holdout experiment and the
outcomes, the agent sees the customer's widget history, and a ticket resolved with an article teaches
deflect that the session's searches mean that article."""
from __future__ import annotations

import json

from flask import Blueprint, jsonify, request

from deflect.errors import InputError
from deflect.feedback.learning import learn_from_ticket
from deflect.formats import SPACE, TICKET_ID, TICKET_ID_MAX, Ticket, parse_ticket
from deflect.store.feedback import record_contact, ticket_sessions

from ..auth import require_key
from ..errors import ApiError
from ..learning import schedule_refit
from ..limits import json_body
from ..state import get_store, write_lock
from .common import deflector

bp = Blueprint("tickets", __name__, url_prefix="/api/v1")
BATCH_MAX_BYTES = 8 * 1024 * 1024
BATCH_MAX_TICKETS = 5000
JSON_LINES = {"application/x-ndjson", "application/jsonl", "application/json-lines", "application/x-jsonlines"}


def _check_links(tickets: list[Ticket]) -> None:
    """A ticket may only link an article deflect has: 409, since the request is fine but the article is
    missing here (push it first). An id renamed by ``ingest --prune`` links the article under its new id."""
    store = get_store()
    known, renamed = store.article_ids(), store.article_renames()
    for ticket in tickets:
        ticket.article_id = renamed.get(ticket.article_id, ticket.article_id)   # the help desk's old id
        if ticket.article_id is not None and ticket.article_id not in known:
            raise ApiError(f"ticket {ticket.id!r} links unknown article_id {ticket.article_id!r}", 409,
                           hint="Push the article first (PUT /api/v1/articles/<id>), or send article_id null.")


def _add(tickets: list[Ticket]) -> dict[str, int]:
    d = deflector()
    with write_lock():
        return d.add_tickets(tickets)


def _contact_fields(obj: dict, where: str) -> tuple[str | None, str | None]:
    """The ticket's ``session`` and ``customer_id`` (text or a number; blank = none)."""
    found = []
    for name, limit in (("session", 128), ("customer_id", 200)):
        value = obj.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int, float))):
            raise ApiError(f"{where}: {name!r} must be text")
        value = str(value).strip(SPACE) if value is not None else ""
        if len(value) > limit:
            raise ApiError(f"{where}: {name!r} is longer than {limit} characters")
        found.append(value or None)
    return found[0], found[1]




def _ticket_id(value: str, where: str) -> str:
    """A ticket id the agent endpoints can name again (``ticket_id`` up to 200 characters): no longer, no
    control characters."""
    if len(value) > TICKET_ID_MAX or not TICKET_ID.fullmatch(value):
        raise ApiError(f"{where}: a ticket id is 1 to {TICKET_ID_MAX} characters without control characters")
    return value


def _record_contacts(items: list[tuple[Ticket, str | None, str | None]]) -> None:
    """Tickets that came with a session or customer id: the contact, and (resolved with an article)
    evidence for the article from the sessions' searches."""
    store, learned = get_store(), 0
    gone = store.erased_tickets(ticket.id for ticket, _, _ in items)   # erased on request: nothing is recorded
    for ticket, session, customer in items:
        if (session or customer) and ticket.id not in gone:
            record_contact(store, "api", session, customer, ticket.id, at=ticket.created_at, known=ticket.customer)
            if ticket.resolved:
                learned += learn_from_ticket(store, ticket.article_id, ticket_sessions(store, ticket.id), ticket.id)
    if learned:
        schedule_refit()


@bp.put("/tickets/<ticket_id>")
@require_key("agent")
def put_ticket(ticket_id: str):
    data = json_body()
    given = data.get("id")
    if given is not None and str(given).strip(SPACE) != ticket_id:
        raise ApiError(f"the body's 'id' {given!r} is not the URL's {ticket_id!r}", 409)
    ticket = parse_ticket({**data, "id": _ticket_id(ticket_id, "the URL")}, "body")
    session, customer = _contact_fields(data, "body")
    _check_links([ticket])
    if not ticket.resolved:     # a contact so far: searchable and evidence once it is sent again resolved
        _record_contacts([(ticket, session, customer)])
        return jsonify({"ok": True, "id": ticket_id, "created": False, "changed": False, "resolved": False}), 202
    counts = _add([ticket])
    _record_contacts([(ticket, session, customer)])
    created = counts["new"] == 1
    return jsonify({"ok": True, "id": ticket_id, "created": created, "changed": counts["changed"] == 1,
                    "resolved": True, "erased": counts.get("erased", 0) == 1}), (201 if created else 200)


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
    seen: dict[str, int] = {}
    tickets, contacts = [], []
    for n, obj in items:
        if not isinstance(obj, dict):
            raise InputError("each ticket must be a JSON object", "item", n)
        ticket = parse_ticket(obj, "item", n)
        _ticket_id(obj["id"] if isinstance(obj.get("id"), str) else ticket.id, f"item {n}")
        if ticket.id in seen:
            raise ApiError(f"item {n}: ticket {ticket.id!r} is also item {seen[ticket.id]}", 409)
        seen[ticket.id] = n
        tickets.append(ticket)
        contacts.append((ticket, *_contact_fields(obj, f"item {n}")))
    _check_links(tickets)
    counts = _add([t for t in tickets if t.resolved])
    _record_contacts(contacts)
    return jsonify({"ok": True, "received": len(tickets), **counts,
                    "not_resolved": sum(not t.resolved for t in tickets)})
