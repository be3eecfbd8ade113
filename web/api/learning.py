"""API v1 for what deflect learns from feedback and what customers did before they wrote:

- admin: list everything learned (``GET /learned``), forget it (``POST /learned/forget``), refit now
  (``POST /learned/refit``);
- agent: the article an agent chose for an inquiry (``POST /agent/choice``), and a customer's widget
  history for a ticket or session (``GET /agent/history``), redacted like everything agents see."""
from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from deflect.errors import NotFoundError
from deflect.feedback.history import ticket_history
from deflect.feedback.learning import learn_from_choice
from deflect.store.feedback import KIND_WEIGHTS, evidence_rows, forget_evidence
from deflect.text import SPACE

from ..auth import require_key
from ..errors import ApiError
from ..learning import refresher, schedule_refit
from ..limits import json_body, text_field
from ..state import get_redactor, get_store

bp = Blueprint("learning", __name__, url_prefix="/api/v1")
LIST_MAX = 1000


def _state() -> dict:
    r = refresher()
    return {"generation": r.generation, "evidence_in_use": r.evidence, "last_error": r.last_error}


def _public(row: dict) -> dict:
    redact = get_redactor().redact
    return {"id": row["id"], "kind": row["kind"], "text": redact(row["text"] or ""), "article_id": row["article_id"],
            "weight": row["weight"], "session": row["session"], "created_at": row["created_at"]}


@bp.get("/learned")
@require_key("admin")
def learned_list():
    kind = request.args.get("kind")
    if kind is not None and kind not in KIND_WEIGHTS:
        raise ApiError(f"unknown kind {kind!r}", hint="Use one of: " + ", ".join(KIND_WEIGHTS) + ".")
    try:
        limit = int(request.args.get("limit", 100))
    except ValueError:
        raise ApiError("'limit' must be a whole number") from None
    if not 1 <= limit <= LIST_MAX:
        raise ApiError(f"'limit' must be between 1 and {LIST_MAX}")
    rows = evidence_rows(get_store(), article_id=request.args.get("article") or None,
                         session=request.args.get("session") or None, kind=kind, limit=limit)
    return jsonify({"ok": True, **_state(), "evidence": [_public(r) for r in rows]})


@bp.post("/learned/forget")
@require_key("admin")
def learned_forget():
    data = json_body()
    ids = data.get("ids")
    if ids is not None and (not isinstance(ids, list) or len(ids) > LIST_MAX
                            or not all(isinstance(i, str) for i in ids)):
        raise ApiError(f"'ids' must be a list of at most {LIST_MAX} evidence ids")
    article = text_field(data, "article_id", max_len=128)
    session = text_field(data, "session", max_len=128)
    kind = text_field(data, "kind", choices=tuple(KIND_WEIGHTS))
    if not ids and not (article or session or kind):
        raise ApiError("say what to forget: 'ids', 'article_id', 'session' or 'kind'")
    n = forget_evidence(get_store(), ids=ids or None, article_id=article, session=session, kind=kind)
    schedule_refit()
    return jsonify({"ok": True, "forgotten": n, **_state()})


@bp.post("/learned/refit")
@require_key("admin")
def learned_refit():
    data = json_body() if request.get_data() else {}
    wait = data.get("wait", False)
    if not isinstance(wait, bool):
        raise ApiError("'wait' must be true or false")
    ticket = schedule_refit()
    if wait and not refresher().wait(ticket, timeout=300):
        raise ApiError("the refit is still running; see GET /api/v1/learned", 503, headers={"Retry-After": "10"})
    return jsonify({"ok": True, **_state(), "requested": ticket}), (200 if wait else 202)


@bp.post("/agent/choice")
@require_key("agent")
def agent_choice():
    data = json_body()
    inquiry_id = text_field(data, "inquiry_id", required=True, max_len=64)
    article_id = text_field(data, "article_id", required=True, max_len=128)
    store = get_store()
    if not store.has_article(article_id):
        raise NotFoundError(f"no article {article_id!r}")
    eid = learn_from_choice(store, inquiry_id, article_id, g.api_key["id"])
    if eid is None:
        raise NotFoundError(f"no inquiry {inquiry_id!r}")
    schedule_refit()
    return jsonify({"ok": True, "id": eid}), 201


@bp.get("/agent/history")
@require_key("agent")
def agent_history():
    ticket = (request.args.get("ticket") or "").strip(SPACE)
    if not ticket or len(ticket) > 200:
        raise ApiError("give 'ticket': the help desk's ticket id (at most 200 characters)")
    return jsonify({"ok": True, **ticket_history(get_store(), ticket, get_redactor())})
