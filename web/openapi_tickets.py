"""The OpenAPI part of the generic tickets API (web/api/tickets.py): one ticket (PUT) or a batch (POST),
as `deflect ingest` reads them; ``add`` puts it into the document's paths and schemas."""
from __future__ import annotations

from deflect.formats import TICKET_ID_MAX, TICKET_ID_PATTERN


def add(paths: dict, schemas: dict, h: dict) -> None:
    """``h``: the document's helpers and shared schema pieces (web/openapi.py's names)."""
    INT, OK, STR = (h[n] for n in ("INT", "OK", "STR"))
    TICKET_TEXT, TICKET_FILLED, _BLANK = (h[n] for n in ("TICKET_TEXT", "TICKET_FILLED", "_BLANK"))
    _obj, _op, _path, _ref, _json = (h[n] for n in ("_obj", "_op", "_path", "_ref", "_json"))

    schemas.update({
        "TicketInput": {**_obj({
            "id": {"anyOf": [{"type": "string", "maxLength": TICKET_ID_MAX, "pattern": TICKET_ID_PATTERN},
                             {"type": ["number", "null"]}],
                   "description": "The help desk's ticket id (in PUT: the URL's, if given)."},
            "subject": TICKET_TEXT, "body": TICKET_TEXT, "resolution": TICKET_TEXT,
            "article_id": {**TICKET_TEXT, "description": "An article deflect has (else 409), or null."},
            "language": {"type": ["string", "null"], "pattern": f"^({_BLANK}*[A-Za-z]{{2}}{_BLANK}*)?$",
                         "description": "ISO 639-1; detected when missing."},
            "created_at": {"anyOf": [{"type": "null"}, {"type": "string", "pattern": f"^{_BLANK}*$"},
                                     {"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}],
                           "description": "RFC 3339 date-time, or a date (read as midnight UTC); empty: unknown."},
            "channel": TICKET_TEXT,
            "status": {**TICKET_TEXT, "description": "The help desk's state; one that says not resolved (open, new, "
                       "pending, on hold, snoozed, spam, merged; offen, neu, ...) records the contact only: send the "
                       "ticket again when it is resolved."},
            "customer_name": {**TICKET_TEXT, "description": "Removed from the ticket's text; never stored."},
            "customer_email": {**TICKET_TEXT, "description": "Removed from the ticket's text; never stored."},
            "customer_phone": {**TICKET_TEXT, "description": "Removed from the ticket's text; never stored."},
        }, extra=True), "anyOf": [_obj({"subject": TICKET_FILLED}, ["subject"], extra=True),
                                  _obj({"body": TICKET_FILLED}, ["body"], extra=True)],
            "description": "A resolved ticket as in a `deflect ingest` export; a subject or a body is needed."},
        "PutTicketResponse": _obj({"ok": OK, "id": STR, "created": {"type": "boolean"}, "changed": {"type": "boolean"},
                                   "resolved": {"type": "boolean", "description": "false: not stored (202), its "
                                                "status says it is not resolved; the contact is recorded"},
                                   "erased": {"type": "boolean", "description": "true: not stored, the ticket was "
                                              "erased on the customer's request (deflect privacy erase)"}},
                                  ["ok", "id", "created", "changed", "resolved"]),
        "TicketBatchResponse": _obj({"ok": OK, "received": INT, "new": INT, "changed": INT, "unchanged": INT,
                                     "not_resolved": {**INT, "description":
                                                      "Not stored: their status says not resolved."},
                                     "erased": {**INT, "description": "Not stored: erased on the customer's "
                                                "request earlier (deflect privacy erase)."}},
                                    ["ok", "received", "new", "changed", "unchanged", "not_resolved"]),
    })
    schemas["TicketInput"]["properties"].update(
        session={**TICKET_TEXT, "maxLength": 128,
                 "description": "The widget session id from the contact form's hidden field "
                 "deflect_session: the agent sees the customer's history, the contact counts in the metrics."},
        customer_id={**TICKET_TEXT, "maxLength": 200,
                     "description": "The help desk's customer id (stored hashed): links the "
                     "customer's sessions."})
    paths.update({
        "/api/v1/tickets/{ticket_id}": {"put": _op(
            "Create or replace one resolved ticket from any help desk (checked like `deflect ingest`); "
            "personal data is redacted and the ticket is searchable at once.",
            "200", "PutTicketResponse", ["400", "401", "403", "409", "413", "415"], request="TicketInput",
            secured="agent", tag="tickets",
            params=[_path("ticket_id", "The help desk's ticket id (at most 200 characters, no control characters).",
                          {"type": "string", "minLength": 1, "maxLength": TICKET_ID_MAX,
                           "pattern": TICKET_ID_PATTERN})],
            extra_ok={"201": _json(_ref("PutTicketResponse"), "Created"),
                      "202": _json(_ref("PutTicketResponse"),
                                   "Not resolved yet: the contact recorded, nothing stored")})},
        "/api/v1/tickets": {"post": _op(
            "Add resolved tickets in a batch: a JSON array (application/json) or JSON lines "
            "(application/x-ndjson), at most 5000; all are checked before any is stored.",
            "200", "TicketBatchResponse", ["400", "401", "403", "409", "413", "415"], request="TicketInput",
            secured="agent", tag="tickets",
            request_content={"application/json": {"schema": {"type": "array", "minItems": 1, "maxItems": 5000,
                                                             "items": {"allOf": [
                _ref("TicketInput"), {"properties": {"id": TICKET_FILLED}, "required": ["id"]}]}}},
                             "application/x-ndjson": {"schema": {"type": "string",
                                                                 "description": "One ticket object per line."}}})},
    })
