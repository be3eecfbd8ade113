"""The OpenAPI 3.1 document of API v1, served at ``/api/v1/openapi.json``.

Tests check it against the app: every route is documented with its methods, and responses of the
test suite validate against the documented schemas (tests/test_api_openapi.py).
"""
from __future__ import annotations

from copy import deepcopy

from deflect.formats import ARTICLE_ID_PATTERN
from deflect.gaps.model import Report, json_schema, nested_types
from deflect.text import CONTROL_CLASS, INVISIBLE_CLASS, SPACE_CLASS
from deflect.xlsx import MIME_TYPE as XLSX_TYPE

from .openapi_incidents import add as add_incidents
from .openapi_tickets import add as add_tickets

VERSION = "1.0.0"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict, required: list[str] | None = None, extra: bool = False) -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": extra}
    if required:
        schema["required"] = required
    return schema


STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
NUM = {"type": "number"}
NNUM = {"type": ["number", "null"]}
INT = {"type": "integer"}
DECISION = {"type": "string", "enum": ["answer", "suggest", "no_answer"],
            "description": "answer: confident, show the first article (two when nearly tied); suggest: not sure, "
                           "show up to three that might help beside the way to a human; no_answer: nothing "
                           "relevant, say so and show the way to a human."}
SHOWN = {"type": "integer", "minimum": 0, "maximum": 3,
         "description": "How many of 'articles' (from the first) to show the customer: 1-2 for answer, "
                        "1-3 for suggest, 0 for no_answer."}
OK = {"type": "boolean", "const": True}
LANG = {"type": "string", "enum": ["de", "en"]}
ARTICLE_ID = {"type": "string", "pattern": ARTICLE_ID_PATTERN}
# A ticket's text fields as deflect.formats reads them: text or a number, blank (JSON whitespace) = missing.
TICKET_TEXT = {"type": ["string", "number", "null"]}
# one JSON whitespace / a character that counts (no control character, nothing invisible) / any allowed one
_BLANK, _FILLED = f"[{SPACE_CLASS}]", f"[^{SPACE_CLASS}{CONTROL_CLASS}{INVISIBLE_CLASS}]"
_ALLOWED = f"[^{CONTROL_CLASS}]"
TICKET_FILLED = {"anyOf": [{"type": "string", "pattern": _FILLED}, {"type": "number"}]}
NLANG = {"type": ["string", "null"], "pattern": "^([A-Za-z]{2})?$",
         "description": "ISO 639-1 code of the text; detected when missing or empty."}


def _strings(max_items: int, max_len: int) -> dict:
    """A list of texts as web.limits.list_field takes it (one text alone counts as a list of one)."""
    item = {"type": "string", "maxLength": max_len, "pattern": f"^{_ALLOWED}*$"}
    return {"anyOf": [{"type": "array", "items": item, "maxItems": max_items}, item, {"type": "null"}]}


def text_schema(max_len: int, min_len: int = 1, nullable: bool = True, **extra) -> dict:
    """A text field as web.limits.text_field checks it: at most ``max_len`` characters as sent and at
    least ``min_len`` that are not JSON whitespace (optional ones may also be null or blank)."""
    schema = {"type": ["string", "null"] if nullable else "string", "maxLength": max_len, **extra}
    if not nullable:
        schema["pattern"] = f"^({_BLANK}*{_FILLED}){{{min_len}}}{_ALLOWED}*$"
    elif min_len > 1:
        schema["pattern"] = f"^({_BLANK}*$|({_BLANK}*{_FILLED}){{{min_len}}}{_ALLOWED}*$)"
    else:
        schema["pattern"] = f"^{_ALLOWED}*$"
    return schema

SCHEMAS = {
    "Error": _obj({"ok": {"type": "boolean", "const": False}, "error": STR, "hint": STR}, ["ok", "error"]),
    "ArticleHit": _obj({
        "id": STR, "title": STR, "url": NSTR, "score": NUM, "language": NSTR,
        "snippet": {"type": "string", "description": "HTML-escaped excerpt of the article (from the passage of "
                    "its body that best matches the query) with the query's words in <mark>...</mark>; safe to "
                    "insert as HTML; at most ~200 characters."},
    }, ["id", "title", "url", "score", "snippet"]),
    "SuggestRequest": _obj({
        "text": text_schema(1000, 3, nullable=False),
        "language": NLANG,
        "session": text_schema(128, description="Widget session (for metrics)."),
        "page": text_schema(2000, description="Page the widget is on (stored without query string and fragment)."),
    }, ["text"], extra=True),
    "SuggestResponse": _obj({
        "ok": OK, "id": {"type": "string", "description": "Inquiry id (send it back with feedback)."},
        "decision": DECISION,
        "shown": SHOWN,
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "language": STR,
        "articles": {"type": "array", "items": _ref("ArticleHit"),
                     "description": "Best first; for no_answer the nearest candidates."},
    }, ["ok", "id", "decision", "shown", "confidence", "language", "articles"]),
    "AgentSuggestRequest": {**_obj({
        "subject": text_schema(500), "body": text_schema(20000), "language": NLANG,
    }, extra=True), "anyOf": [_obj({"body": text_schema(20000, 3, nullable=False)}, ["body"], extra=True),
                              _obj({"subject": text_schema(500, 3, nullable=False)}, ["subject"], extra=True)],
        "description": "The ticket's subject and body; one of them with at least 3 characters besides spaces."},
    "TicketHit": _obj({
        "id": STR, "score": NUM, "subject": STR, "body": STR, "resolution": STR,
        "article_id": {"type": ["string", "null"], "description": "The article an agent linked (null: none)."},
        "inferred_article": {"anyOf": [_obj({
            "id": STR, "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "source": {"type": "string", "enum": ["url", "id", "title", "text", "neighbours"]},
        }, ["id", "confidence", "source"]), {"type": "null"}],
            "description": "For a ticket no agent linked: the article deflect inferred from its resolution "
                           "(a link, id, title or pasted answer text) or its neighbourhood; never an agent's link."},
    }, ["id", "score", "subject", "body", "resolution", "article_id", "inferred_article"]),
    "Source": _obj({
        "type": {"type": "string", "enum": ["article", "ticket", "template"]},
        "id": STR, "title": STR, "url": STR,
    }, ["type", "id"]),
    "Draft": _obj({
        "text": STR,
        "parts": {"type": "array",
                  "items": _obj({"text": STR, "source": _ref("Source")}, ["text", "source"])},
        "check": {**STR, "description": "What the agent must check before sending (an article in another "
                  "language than the customer's, or a customer writing in a language other than German and "
                  "English: the draft is in English); absent when nothing."},
    }, ["text", "parts"]),
    "AgentSuggestResponse": _obj({
        "ok": OK, "id": STR, "decision": DECISION, "shown": SHOWN,
        "confidence": NUM, "language": STR,
        "articles": {"type": "array", "items": _ref("ArticleHit")},
        "tickets": {"type": "array", "items": _ref("TicketHit"),
                    "description": "Similar resolved tickets; personal data redacted."},
        "draft": _ref("Draft"),
    }, ["ok", "id", "decision", "shown", "confidence", "language", "articles", "tickets", "draft"]),
    "FeedbackRequest": _obj({
        "inquiry_id": text_schema(64, nullable=False),
        "article_id": text_schema(128),
        "helpful": {"type": ["boolean", "null"]},
        "event": {"type": ["string", "null"], "enum": ["helpful", "not_helpful", "contacted_support", "clicked", None]},
        "session": text_schema(128),
    }, ["inquiry_id"], extra=True) | {
        "anyOf": [{"properties": {"event": {"type": "string"}}, "required": ["event"]},
                  {"properties": {"helpful": {"type": "boolean"}}, "required": ["helpful"]}],
        "not": {"anyOf": [{"properties": {"event": {"const": "helpful"}, "helpful": {"const": False}},
                           "required": ["event", "helpful"]},
                          {"properties": {"event": {"const": "not_helpful"}, "helpful": {"const": True}},
                           "required": ["event", "helpful"]}]},
        "description": "An 'event', or 'helpful' as a shorthand for the helpful/not_helpful events."},
    "FeedbackResponse": _obj({"ok": OK, "id": STR, "event": STR, "already_voted": {
        "type": "boolean", "description": "The suggestion had a vote already (200): that first vote counts, "
                                          "and id and event are its."}}, ["ok"]),
    "MetricsRow": _obj({
        "date": STR, "inquiries": INT, "sessions": INT, "answered": INT, "suggested": INT, "no_answer": INT,
        "held_out": INT, "helpful": INT, "not_helpful": INT, "contacted_support": INT, "sessions_with_suggestion": INT,
        "deflected_sessions": INT, "deflection_rate": NNUM, "helpful_rate": NNUM, "no_answer_rate": NNUM,
        "suggest_rate": NNUM,
    }, ["inquiries", "sessions", "answered", "suggested", "no_answer", "helpful", "not_helpful",
        "contacted_support", "deflection_rate", "helpful_rate", "no_answer_rate", "suggest_rate"]),
    "MetricsResponse": _obj({
        "ok": OK, "from": STR, "to": STR, "channel": STR,
        "days": {"type": "array", "items": _ref("MetricsRow")},
        "totals": _ref("MetricsRow"),
        "top_unanswered": {"type": "array", "items": _obj({"text": STR, "count": INT}, ["text", "count"])},
    }, ["ok", "days", "totals", "top_unanswered"]),
    "GapUpdate": {"oneOf": [
        _obj({"status": {"const": "planned"}, "owner": text_schema(100, nullable=False),
              "due": {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
              "force": {"type": "boolean", "default": False,
                        "description": "Accept a due date in the past (without it: 422)."}},
             ["status", "owner", "due"], extra=True),
        _obj({"status": {"const": "dismissed"}, "reason": text_schema(500, nullable=False)},
             ["status", "reason"], extra=True),
        _obj({"status": {"const": "new"}}, ["status"], extra=True),
    ]},
    "GapUpdateResponse": _obj({"ok": OK, "id": STR, "status": STR, "topic": _ref("GapTopic")},
                              ["ok", "id", "status", "topic"]),
    "GapRunRequest": _obj({"min_size": {"type": ["integer", "null"], "minimum": 2, "maximum": 10000,
                                        "description": "Members a topic needs (default: the last report's, else 5)."},
                           "period_days": {"type": ["integer", "null"], "minimum": 1, "maximum": 3660,
                                           "description": "Length of the trend period (default: the last "
                                                          "report's, else 30)."}}, extra=True),
    "GapRunResponse": _obj({"ok": OK, "run": _ref("GapRun")}, ["ok", "run"]),
    "GapTopicResponse": _obj({"ok": OK, "merged_into": {"type": ["string", "null"], "description":
                                                         "The topic asked for was merged into this one (301)."},
                              "topic": _ref("GapTopic")}, ["ok", "merged_into", "topic"]),
    "ArticleInput": _obj({
        "title": text_schema(300, nullable=False), "body": text_schema(500_000, nullable=False),
        "language": {"type": ["string", "null"], "pattern": "^([a-z]{2})?$",
                     "description": "ISO 639-1; detected when missing."},
        "questions": _strings(100, 500), "tags": _strings(50, 100),
        "url": {"type": ["string", "null"], "maxLength": 2000,
                "pattern": "^((https?://|/(?![/\\\\]))[^\\x00-\\x20\\x7f]*)?$",
                "description": "A path starting with / (not // or /\\) or an http(s) URL."},
    }, ["title", "body"], extra=True) | {
        "description": "An 'id' in the body, if any, must be the URL's article id."},
    "Article": _obj({
        "id": STR, "title": STR, "language": STR, "questions": {"type": "array", "items": STR},
        "tags": {"type": "array", "items": STR}, "url": NSTR,
    }, ["id", "title", "language", "questions", "tags", "url"]),
    "PutArticleResponse": _obj({"ok": OK, "created": {"type": "boolean"}, "changed": {"type": "boolean"},
                                "article": _ref("Article"),
                                "covered_topics": {"type": "array", "items": STR,
                                                   "description": "Gap topics this article now covers."}},
                               ["ok", "created", "changed", "article", "covered_topics"]),
    "DeleteArticleResponse": _obj({"ok": OK, "deleted": STR}, ["ok", "deleted"]),
    "WebhookResponse": _obj({"ok": OK, "status": {"type": "string", "enum": ["queued", "duplicate", "ignored"],
                                                  "description": "queued: worked off in the background; "
                                                  "duplicate: a retry of a delivery already taken."}},
                            ["ok", "status"]),
    "Health": _obj({"ok": OK, "articles": INT, "tickets": INT,
                    "database": {"type": "string", "enum": ["ok", "unavailable"]},
                    "spool": _obj({"pending": {"type": "boolean"}, "spooled": INT, "dropped": INT, "drained": INT},
                                  ["pending", "spooled", "dropped", "drained"]),
                    "index": _obj({"ok": {"type": "boolean"}, "problem": {"type": ["string", "null"]}},
                                  ["ok", "problem"]),
                    "calibration": _obj({"source": NSTR, "fitted_at": NSTR, "fitted_on": STR, "caveat": NSTR},
                                        ["source", "fitted_at", "fitted_on", "caveat"]),
                    "snapshot": _obj({"version": NSTR, "published": NSTR, "failed_loads": INT, "last_error": NSTR},
                                     ["version", "published", "failed_loads", "last_error"])},
                   ["ok", "database", "spool", "index"]),
}


def _gap_ref(kind: type) -> dict:
    return _ref("Gap" + kind.__name__)


# The gap report's objects, derived from the dataclasses of deflect.gaps.model (Report -> GapReport, ...).
SCHEMAS.update({"Gap" + kind.__name__: json_schema(kind, _gap_ref) for kind in nested_types(Report)[1:]})
_report = json_schema(Report, _gap_ref)
SCHEMAS["GapsReport"] = {**_report, "properties": {"ok": OK, **_report["properties"]},
                         "required": ["ok", *_report["required"]]}

_ERRORS = {
    "503": "The database cannot take it now and the spool is full: try again (see Retry-After).",
    "400": "Bad input (missing or invalid field, bad JSON).",
    "401": "Missing, invalid or revoked API key (webhooks: a bad or missing signature).",
    "403": "The key's scope does not allow this endpoint.",
    "404": "Unknown inquiry, article, topic, run or connection.",
    "409": "No index built yet, or it does not match the model.",
    "413": "Request body too large.",
    "415": "Wrong Content-Type.",
    "422": "Understood but refused: confirm it (a due date in the past needs \"force\": true).",
    "429": "Rate limit exceeded; see Retry-After.",
}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _op(summary: str, ok_status: str, ok_schema: str, errors: list[str], request: str | None = None,
        secured: str | None = None, params: list[dict] | None = None, tag: str = "widget",
        extra_ok: dict | None = None, request_content: dict | None = None) -> dict:
    op: dict = {"summary": summary, "tags": [tag], "responses": {ok_status: _json(_ref(ok_schema), "OK")}}
    if extra_ok:
        op["responses"].update(extra_ok)
    for code in errors:
        op["responses"][code] = _json(_ref("Error"), _ERRORS[code])
    if request or request_content:
        op["requestBody"] = {"required": True, "content": request_content or
                             {"application/json": {"schema": _ref(request)}}}
    if secured:
        op["responses"].setdefault("429", _json(_ref("Error"), "Too many wrong API keys from this client "
                                                              "(see Retry-After)."))
        op["security"] = [{"bearerAuth": []}, {"apiKeyHeader": []}]
        op["x-scope"] = secured
    if params:
        op["parameters"] = params
    return op


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _path(name: str, description: str, schema: dict = STR) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


PATHS = {
    "/api/v1/suggest": {"post": _op(
        "Suggest articles for a customer's question (widget); logged as an inquiry. Rate-limited per "
        "client; CORS for the configured widget origins.",
        "200", "SuggestResponse", ["400", "409", "413", "415", "429"], request="SuggestRequest")},
    "/api/v1/feedback": {"post": _op(
        "Record 'did this help?' (helpful / not_helpful), a click, or 'contacted support after all'. A "
        "suggestion (inquiry and article) takes one vote: a later one answers 200 with already_voted.",
        "201", "FeedbackResponse", ["400", "404", "413", "415", "429", "503"], request="FeedbackRequest",
        extra_ok={"200": _json(_ref("FeedbackResponse"), "The suggestion had a vote already")})},
    "/api/v1/agent/suggest": {"post": _op(
        "For agents: articles, similar resolved tickets (redacted) and a draft reply citing its sources.",
        "200", "AgentSuggestResponse", ["400", "401", "403", "409", "413", "415"],
        request="AgentSuggestRequest", secured="agent", tag="agent")},
    "/api/v1/metrics": {"get": _op(
        "Deflection metrics per day and in total (definitions in the README).",
        "200", "MetricsResponse", ["400", "401", "403"], secured="admin", tag="admin", params=[
            _query("days", {"type": "integer", "minimum": 1, "maximum": 366, "default": 30}, "Days back."),
            _query("channel", {"type": "string", "enum": ["widget", "agent", "cli", "all"],
                               "default": "widget"}, "Which logged inquiries count."),
            _query("top", {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
                   "Length of top_unanswered."),
        ])},
    "/api/v1/gaps": {"get": _op(
        "The stored gap report: topics customers ask about that the FAQ does not cover, in their workflow "
        "state now, and the latest run. A run builds it (POST /api/v1/gaps/runs, article pushes); before "
        "the first report this starts that run (generated_at is null until it is done). 409: no index yet.",
        "200", "GapsReport", ["400", "401", "403", "409"], secured="admin", tag="admin",
        params=[_query("format", {"type": "string", "enum": ["json", "csv", "xlsx"], "default": "json"},
                       "csv: one row per topic (text/csv); xlsx: the same rows as an Excel workbook."),
                _query("status", {"type": "string", "enum": ["open", "all", "new", "planned", "covered",
                                                             "dismissed"], "default": "open"},
                       "Which topics to list (open = new and planned)."),
                _query("lang", {"type": "string", "enum": ["en", "de"], "default": "en"},
                       "xlsx: the header row, the sheet's name and the status, trend and fix words in English "
                       "or German (csv and json keep the field names).")],
        extra_ok={"200": {"description": "The report (JSON), or one row per topic with format=csv or xlsx.",
                          "content": {"application/json": {"schema": _ref("GapsReport")},
                                      "text/csv": {"schema": {"type": "string"}},
                                      XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}}}})},
    "/api/v1/gaps/runs": {"post": _op(
        "Build the gap report again, in the background (one run at a time per home): 202 with the new "
        "run, or 200 with the run going on now.",
        "202", "GapRunResponse", ["400", "401", "403", "409", "413", "415"], request="GapRunRequest",
        secured="admin", tag="admin", extra_ok={"200": _json(_ref("GapRunResponse"), "A run is going on")})},
    "/api/v1/gaps/runs/{run_id}": {"get": _op(
        "The state of a run of the gap report.", "200", "GapRunResponse", ["401", "403", "404"],
        secured="admin", tag="admin", params=[_path("run_id", "The run's id (a number).")])},
    "/api/v1/gaps/{topic_id}": {
        "get": _op(
            "One topic of the stored report in its workflow state. A topic merged into another (one question "
            "found twice) answers 301 with the topic it is part of now (Location: that topic).",
            "200", "GapTopicResponse", ["400", "401", "403", "404"], secured="admin", tag="admin",
            params=[_path("topic_id", "Topic id from the report.", {"type": "string", "maxLength": 128})],
            extra_ok={"301": _json(_ref("GapTopicResponse"), "Merged into another topic")}),
        "patch": _op(
            "Move a topic through the workflow: planned (owner, due; a due date in the past needs force), "
            "dismissed (reason), new (reopen). A merged topic's id acts on the topic it was merged into.",
            "200", "GapUpdateResponse", ["400", "401", "403", "404", "413", "415", "422"], request="GapUpdate",
            secured="admin", tag="admin",
            params=[_path("topic_id", "Topic id from the report.", {"type": "string", "maxLength": 128})])},
    "/api/v1/articles/{article_id}": {
        "put": _op(
            "Create or replace an article (from a CMS or helpdesk); searchable at once.",
            "200", "PutArticleResponse", ["400", "401", "403", "409", "413", "415"], request="ArticleInput",
            secured="admin", tag="admin",
            params=[_path("article_id", "Letters (Latin, also with accents), digits, '.', '_', '-'.", ARTICLE_ID)],
            extra_ok={"201": _json(_ref("PutArticleResponse"), "Created")},
            request_content={"application/json": {"schema": _ref("ArticleInput")},
                             "text/markdown": {"schema": {"type": "string", "description":
                                                          "Markdown with YAML front matter (title, ...)."}}}),
        "delete": _op(
            "Delete an article; it is no longer suggested.",
            "200", "DeleteArticleResponse", ["400", "401", "403", "404", "409"], secured="admin", tag="admin",
            params=[_path("article_id", "The article's id.", ARTICLE_ID)]),
    },
    "/api/v1/connectors/{name}/webhook": {"post": _op(
        "A help desk's webhook (Zammad trigger, Chatwoot account webhook), signed with the connection's "
        "secret: Zammad X-Hub-Signature (HMAC-SHA1 of the raw body), Chatwoot X-Chatwoot-Signature "
        "(HMAC-SHA256 of '<X-Chatwoot-Timestamp>.<raw body>'). Answers at once; resolved tickets are added "
        "and new ones get one internal note in the background. Retries of a delivery are taken once.",
        "202", "WebhookResponse", ["400", "401", "404", "413"], tag="connectors",
        params=[_path("name", "The connection's name (`deflect connectors`).")],
        extra_ok={"200": _json(_ref("WebhookResponse"), "A duplicate or an event deflect has no use for")},
        request_content={"application/json": {"schema": {"type": "object"}}})},
    "/api/v1/openapi.json": {"get": {"summary": "This document.", "tags": ["meta"],
                                     "responses": {"200": {"description": "OpenAPI 3.1 document",
                                                           "content": {"application/json": {}}}}}},
    "/api/v1/health": {"get": _op("Liveness and store counts.", "200", "Health", [], tag="meta")},
}


PATHS["/api/v1/gaps/runs"]["post"]["requestBody"]["required"] = False   # no body: the last report's options
add_incidents(PATHS, SCHEMAS, globals())
add_tickets(PATHS, SCHEMAS, globals())


# -- learning from feedback, the holdout experiment, customer history (web/api/learning.py) ----------
_STEP = _obj({"action": {"type": "string", "enum": ["searched", "shown", "read", "helpful", "not_helpful",
                                                    "contacted"]},
              "at": STR, "text": STR, "article_id": STR, "title": STR}, ["action", "at"])
SCHEMAS.update({
    "History": _obj({"sessions": {"type": "array", "items": STR},
                     "steps": {"type": "array", "items": _STEP, "description": "Oldest first; texts redacted."},
                     "summary": {"type": "string", "description": "The steps in words, e.g. \"searched 'Zeitung "
                                 "nass', was shown 'Nasse Zeitung', said not helpful\"."}},
                    ["sessions", "steps", "summary"]),
    "HistoryResponse": _obj({"ok": OK, "sessions": {"type": "array", "items": STR},
                             "steps": {"type": "array", "items": _STEP}, "summary": STR},
                            ["ok", "sessions", "steps", "summary"]),
    "Evidence": _obj({"id": STR, "kind": {"type": "string", "enum": ["helpful", "not_helpful", "agent_choice",
                                                                     "resolved"]},
                      "text": STR, "article_id": STR, "weight": NUM, "session": NSTR, "created_at": STR},
                     ["id", "kind", "text", "article_id", "weight", "session", "created_at"]),
    "LearnedResponse": _obj({"ok": OK, "generation": INT, "evidence_in_use": INT, "last_error": NSTR,
                             "evidence": {"type": "array", "items": _ref("Evidence")}},
                            ["ok", "generation", "evidence_in_use", "evidence"]),
    "ForgetRequest": {**_obj({"ids": {"type": ["array", "null"], "items": STR, "maxItems": 1000},
                              "article_id": text_schema(128), "session": text_schema(128),
                              "kind": {"type": ["string", "null"],
                                       "enum": ["helpful", "not_helpful", "agent_choice", "resolved", None]}},
                             extra=True),
                      "anyOf": [_obj({"ids": {"type": "array", "items": STR, "minItems": 1, "maxItems": 1000}},
                                     ["ids"], extra=True),
                                _obj({"article_id": text_schema(128, nullable=False)}, ["article_id"], extra=True),
                                _obj({"session": text_schema(128, nullable=False)}, ["session"], extra=True),
                                _obj({"kind": {"type": "string"}}, ["kind"], extra=True)],
                      "description": "What to forget: evidence ids, or all of an article, session or kind "
                                     "(combined: all of them must match)."},
    "ForgetResponse": _obj({"ok": OK, "forgotten": INT, "generation": INT, "evidence_in_use": INT,
                            "last_error": NSTR}, ["ok", "forgotten", "generation"]),
    "RefitRequest": _obj({"wait": {"type": "boolean", "description": "Answer when the refit is done."}},
                         extra=True),
    "RefitResponse": _obj({"ok": OK, "generation": INT, "evidence_in_use": INT, "last_error": NSTR,
                           "requested": {"type": "integer", "description": "This request's refit ticket."}},
                          ["ok", "generation", "requested"]),
    "ChoiceRequest": _obj({"inquiry_id": text_schema(64, nullable=False),
                           "article_id": text_schema(128, nullable=False)}, ["inquiry_id", "article_id"], extra=True),
    "ChoiceResponse": _obj({"ok": OK, "id": STR}, ["ok", "id"]),
    "Holdout": {"type": "object", "description": "The holdout experiment: contact rates of sessions with and "
                "without suggestions, their difference (shown - holdout) with a 95 % Newcombe interval, "
                "and the sessions needed for an interval of ± half_width; 'meaning' says it in words."},
    "ArticleOutcome": _obj({"article_id": STR, "title": STR, "shown": INT, "found_answer": INT, "not_helpful": INT,
                            "contacted_anyway": INT, "contacted_after_helpful": INT},
                           ["article_id", "shown", "found_answer", "not_helpful", "contacted_anyway",
                            "contacted_after_helpful"]),
})
SCHEMAS["SuggestResponse"]["properties"]["holdout"] = {
    "type": "boolean", "description": "true: this session is in the holdout experiment's control group and "
    "gets no suggestions (show the plain contact form)."}
SCHEMAS["AgentSuggestRequest"]["properties"].update(
    ticket_id=text_schema(200, description="The help desk's ticket id: its customer's widget history is added."),
    session=text_schema(128, description="A widget session id: its history is added."))
SCHEMAS["AgentSuggestResponse"]["properties"]["notice"] = {
    "anyOf": [_ref("MatchedNotice"), {"type": "null"}],
    "description": "The live incident notice the ticket's question belongs to (a known outage), or null."}
SCHEMAS["AgentSuggestResponse"]["properties"]["history"] = {
    "anyOf": [_ref("History"), {"type": "null"}],
    "description": "What the customer already did in the widget (with ticket_id or session), else null."}
SCHEMAS["MetricsResponse"]["properties"].update(
    holdout=_ref("Holdout"), outcomes={"type": "array", "items": _ref("ArticleOutcome")})
SCHEMAS["MetricsResponse"]["properties"]["notices"] = {
    **_obj({"sessions_seen": INT, "sessions_no_contact": INT}, ["sessions_seen", "sessions_no_contact"]),
    "description": "Incident notices in the period: widget sessions shown one, and those of them that did not "
                   "contact support afterwards."}
PATHS.update({
    "/api/v1/learned": {"get": _op(
        "Everything deflect learned from feedback (newest first), and the refit state.",
        "200", "LearnedResponse", ["400", "401", "403"], secured="admin", tag="admin", params=[
            _query("article", STR, "Only this article's evidence."),
            _query("session", STR, "Only this session's evidence."),
            _query("kind", {"type": "string", "enum": ["helpful", "not_helpful", "agent_choice", "resolved"]},
                   "Only this kind."),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                   "At most this many.")])},
    "/api/v1/learned/forget": {"post": _op(
        "Forget learned evidence; suggestions change after the background refit.",
        "200", "ForgetResponse", ["400", "401", "403", "413", "415"], request="ForgetRequest",
        secured="admin", tag="admin")},
    "/api/v1/learned/refit": {"post": _op(
        "Refit what is learned now, in the background (202), or wait for it (wait: true, 200).",
        "202", "RefitResponse", ["400", "401", "403", "413", "415", "503"], request="RefitRequest",
        secured="admin", tag="admin", extra_ok={"200": _json(_ref("RefitResponse"), "Refitted (wait: true)")})},
    "/api/v1/agent/choice": {"post": _op(
        "An agent chose this article for a logged inquiry: evidence for (its phrasing, the article).",
        "201", "ChoiceResponse", ["400", "401", "403", "404", "413", "415"], request="ChoiceRequest",
        secured="agent", tag="agent")},
    "/api/v1/agent/history": {"get": _op(
        "What a customer did in the widget before writing, by the ticket id the help desk sent with the "
        "widget session or customer id; redacted.",
        "200", "HistoryResponse", ["400", "401", "403"], secured="agent", tag="agent", params=[
            {**_query("ticket", {"type": "string", "maxLength": 200, "pattern": f"{_FILLED}"},
                      "The help desk's ticket id."), "required": True}])},
})
PATHS["/api/v1/learned/refit"]["post"]["requestBody"]["required"] = False


def document() -> dict:
    """The OpenAPI document (a fresh copy)."""
    return deepcopy({
        "openapi": "3.1.0",
        "info": {"title": "deflect API", "version": VERSION,
                 "description": "Contact deflection: suggestions for the help-page widget and for agents, "
                                "feedback and deflection metrics, the content-gap report, article and ticket pushes, "
                                "help-desk webhooks. "
                                "Errors are {\"ok\": false, \"error\": \"...\"} with a 4xx status."},
        "servers": [{"url": "/"}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "An API key from `deflect keys create`."},
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    })
