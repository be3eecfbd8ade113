"""API v1 for the public help-page widget: suggestions while the customer types, feedback, health and
the OpenAPI document. No key; rate-limited and CORS-limited (web/limits.py)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from deflect.decision.calibrator import SETTING
from deflect.decision.describe import calibration_caveat, describe_calibration
from deflect.engine import Suggestion
from deflect.errors import ClientError, DeflectError, NotFoundError, StoreUnavailable
from deflect.feedback.learning import learn_from_vote
from deflect.language import detect_language
from deflect.store.database import DatabaseErrors
from deflect.store.service import EVENTS, feedback_row, record_vote

from ..errors import ApiError, without_paths
from ..learning import held_out, keep_fresh, request_client, schedule_refit
from ..limits import json_body, language_field, rate_limit, text_field
from ..openapi import document
from ..state import get_redactor, get_store
from .common import K_ARTICLES, articles_json, deflector, joins_batch, keep, lock_wait, log_inquiry, spool

bp = Blueprint("widget", __name__, url_prefix="/api/v1")


@bp.post("/suggest")
@joins_batch
@rate_limit("suggest")
def suggest():
    data = json_body()
    text = text_field(data, "text", required=True, min_len=3, max_len=1000)
    language = language_field(data)
    session = text_field(data, "session", max_len=128)
    page = text_field(data, "page", max_len=2000)
    text = get_redactor().redact(text)
    if held_out(session):
        return _holdout_answer(text, language, session, page)
    keep_fresh()
    s = deflector().suggest(text, language=language, k=K_ARTICLES)
    iid = log_inquiry(text, s, "widget", session, page)
    return jsonify({"ok": True, "id": iid, "decision": s.decision, "shown": len(s.shown_articles()),
                    "confidence": round(float(s.confidence), 4), "language": s.language,
                    "articles": articles_json(s.articles, text)})


def _holdout_answer(text: str, language: str | None, session: str | None, page: str | None):
    """A held-out session (the holdout experiment's control group): no suggestions; the inquiry is
    logged with the decision "holdout", so metrics count the session but no shown answer."""
    lang = language or detect_language(text)
    iid = log_inquiry(text, Suggestion(decision="holdout", confidence=0.0, articles=[], language=lang),
                      "widget", session, page)
    return jsonify({"ok": True, "id": iid, "decision": "no_answer", "shown": 0, "confidence": 0.0, "language": lang,
                    "articles": [], "holdout": True})


@bp.post("/feedback")
@rate_limit("feedback")
def feedback():
    data = json_body()
    inquiry_id = text_field(data, "inquiry_id", required=True, max_len=64)
    article_id = text_field(data, "article_id", max_len=128)
    event = text_field(data, "event", choices=EVENTS)
    session = text_field(data, "session", max_len=128)
    helpful = data.get("helpful")
    if helpful is not None and not isinstance(helpful, bool):
        raise ApiError("'helpful' must be true or false")
    if event is None:
        if helpful is None:
            raise ApiError("give 'event' (" + ", ".join(EVENTS) + ") or 'helpful'")
        event = "helpful" if helpful else "not_helpful"
    elif helpful is not None and event in ("helpful", "not_helpful") and (event == "helpful") != helpful:
        raise ApiError("'helpful' contradicts 'event'")
    try:
        store = get_store()
        with lock_wait(store):
            fid, earlier = record_vote(store, inquiry_id, event, article_id=article_id, session=session)
        if earlier is not None:   # the first vote on a suggestion counts; this one is told so
            return jsonify({"ok": True, "id": fid, "event": earlier[1], "already_voted": True}), 200
        _learn(store, inquiry_id, event, article_id, session)
    except NotFoundError:
        if not spool().holds("id", inquiry_id):  # an inquiry still waiting in the spool is no unknown one
            raise
        fid = _keep_vote(inquiry_id, event, article_id, session, "its inquiry is still in the spool")
    except StoreUnavailable as exc:   # a restarting database server: the vote waits in the spool
        fid = _keep_vote(inquiry_id, event, article_id, session, exc)
    except ClientError:
        raise
    except (*DatabaseErrors, DeflectError, OSError) as exc:
        fid = _keep_vote(inquiry_id, event, article_id, session, exc)
    return jsonify({"ok": True, "id": fid, "event": event}), 201


def _learn(store, inquiry_id: str, event: str, article_id: str | None, session: str | None) -> None:
    """A vote becomes evidence (deflect.feedback.learning) and a refit is scheduled; a database that
    cannot take it now loses the evidence, never the vote."""
    try:
        with lock_wait(store):
            learned = learn_from_vote(store, inquiry_id, event, article_id, session, request_client(store))
    except (*DatabaseErrors, DeflectError) as exc:
        current_app.logger.warning("deflect: a vote was not learned from (%s)", exc)
        return
    if learned:
        schedule_refit()


def _keep_vote(inquiry_id: str, event: str, article_id: str | None, session: str | None, reason: object) -> str:
    row = feedback_row(inquiry_id, event, article_id, session)
    if not keep("feedback", row, reason):
        raise ApiError("the vote cannot be stored right now; try again later", 503, headers={"Retry-After": "30"})
    return row["id"]


@bp.get("/openapi.json")
def openapi():
    doc = document()
    if request.script_root:   # a help center of a multi-tenant service: its API is under /t/<name>/
        doc["servers"] = [{"url": request.script_root + "/"}]
    return jsonify(doc)


def _calibration(cal: dict | None) -> dict:
    """The decision's calibration for /health: its source, what it was fitted on in words, and a warning when
    it rests on too few labelled inquiries (None otherwise)."""
    return {"source": cal.get("source") if cal else None, "fitted_at": cal.get("fitted_at") if cal else None,
            "fitted_on": describe_calibration(cal, when=False), "caveat": calibration_caveat(cal)}


@bp.get("/health")
def health():
    """Liveness: suggest answers from memory even while the database is unavailable, so that is
    reported here, not turned into a failure; so is an index on disk that could not be loaded."""
    try:
        problem = deflector().index_problem
    except DeflectError as exc:
        problem = str(exc)
    body: dict = {"ok": True}
    try:
        counts = get_store().counts()
        body.update(articles=counts["articles"], tickets=counts["tickets"], database="ok",
                    calibration=_calibration(get_store().get_setting(SETTING)))
    except (*DatabaseErrors, DeflectError):
        body["database"] = "unavailable"
    body.update(spool=spool().stats(), index={"ok": problem is None, "problem": without_paths(problem)})
    if current_app.config.get("SNAPSHOT_DIR"):
        from ..snapshots import snapshot_info
        if (info := snapshot_info()) is not None:
            body["snapshot"] = info
    return jsonify(body)
