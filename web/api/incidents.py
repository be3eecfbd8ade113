"""API v1 for incidents and their notices, and the fix kind of a gap topic.

Admin (key scope ``admin``): ``GET /incidents``, ``POST /incidents/check``, ``POST /incidents/<id>/notices``,
``POST /notices/<id>/end``, ``PUT /gaps/<topic_id>/kind``. Public (the widget): ``GET /notices`` (the live
ones, so the widget asks about a question only while there are any) and ``POST /notices/match``.
After every answered widget question the incident check runs in the background (at most once a minute)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from deflect.gaps.fix_kind import KINDS, set_kind
from deflect.gaps.live import open_incidents, watch, watch_in_background
from deflect.gaps.notices import end_notice, live_notices, match, publish

from ..auth import require_key
from ..errors import ApiError
from ..limits import json_body, rate_limit, text_field
from ..state import get_home, get_redactor, get_store, write_lock
from .common import LANGS, deflector

bp = Blueprint("incidents", __name__, url_prefix="/api/v1")


def _incident_json(row: dict) -> dict:
    keep = ("id", "topic_id", "title", "label", "fix_kind", "state", "started_at", "detected_at", "ended_at",
            "count", "baseline", "spread", "score", "notified_at", "notices")
    return {k: row.get(k) for k in keep}


@bp.get("/incidents")
@require_key("admin")
def incidents():
    state = request.args.get("state", "open")
    if state not in ("open", "all"):
        raise ApiError("'state' must be open or all")
    rows = open_incidents(get_store(), include_closed=state == "all")
    return jsonify({"ok": True, "incidents": [_incident_json(r) for r in rows]})


@bp.post("/incidents/check")
@require_key("admin")
def check_incidents():
    """Assign new inquiries to topics and check every topic's volume now."""
    with write_lock():
        rows = watch(deflector(), hook_url=current_app.config.get("INCIDENT_HOOK_URL"))
    return jsonify({"ok": True, "incidents": [_incident_json(r) for r in rows]})


@bp.post("/incidents/<int(max=9223372036854775807):incident_id>/notices")
@require_key("admin")
def publish_notice(incident_id: int):
    data = json_body()
    texts = data.get("texts")
    if not isinstance(texts, dict) or not texts or not all(k in LANGS for k in texts):
        raise ApiError("'texts' must be an object of language -> text, e.g. {\"de\": \"...\", \"en\": \"...\"}")
    texts = {lang: text_field(texts, lang, required=True, max_len=500) for lang in texts}
    notice = publish(get_store(), incident_id, texts, text_field(data, "starts_at", max_len=40),
                     text_field(data, "ends_at", max_len=40), by=text_field(data, "by", max_len=100) or "team")
    return jsonify({"ok": True, "notice": notice}), 201


@bp.post("/notices/<int(max=9223372036854775807):notice_id>/end")
@require_key("admin")
def end_notice_now(notice_id: int):
    """End a notice now: customers no longer see it."""
    return jsonify({"ok": True, "notice": end_notice(get_store(), notice_id)})


@bp.put("/gaps/<topic_id>/kind")
@require_key("admin")
def topic_kind(topic_id: str):
    if len(topic_id) > 128:
        raise ApiError("topic id too long")
    data = json_body()
    kind = data.get("kind")
    if kind is not None and kind not in KINDS:
        raise ApiError("'kind' must be one of: " + ", ".join(KINDS) + " (or null: the classifier's)")
    fix = set_kind(get_store(), topic_id, kind, by=text_field(data, "by", max_len=100) or "team")
    return jsonify({"ok": True, "id": topic_id, "fix": fix.to_dict() if fix else None})


@bp.get("/notices")
def notices():
    return jsonify({"ok": True, "notices": [{k: n[k] for k in ("id", "topic_id", "texts", "starts_at", "ends_at")}
                                            for n in live_notices(get_store())]})


@bp.post("/notices/match")
@rate_limit("suggest")
def match_notice():
    data = json_body()
    text = get_redactor().redact(text_field(data, "text", required=True, min_len=3, max_len=1000))
    notice = match(deflector(), text, text_field(data, "language", choices=LANGS),
                   text_field(data, "session", max_len=128), text_field(data, "inquiry_id", max_len=64))
    return jsonify({"ok": True, "notice": notice})


@bp.after_app_request
def _check_after_suggest(response):
    """New widget questions may be the start of an incident: check soon, without waiting for them."""
    if request.endpoint == "widget.suggest" and response.status_code == 200:
        try:
            # where the database is without opening a connection for it (this runs on every suggest)
            watch_in_background(deflector(), get_home().database, current_app.config.get("INCIDENT_HOOK_URL"),
                                float(current_app.config.get("INCIDENT_CHECK_INTERVAL", 60)))
        except Exception:  # never fail an answered question over the incident check
            current_app.logger.exception("deflect: incident check could not start")
    return response
