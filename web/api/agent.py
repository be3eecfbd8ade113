"""API v1 for agents (key scope ``agent``): suggested articles, similar resolved tickets and a draft."""
from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, current_app, jsonify, url_for

from deflect.draft import build_draft, draft_ticket
from deflect.errors import NotFoundError
from deflect.feedback.history import session_history, ticket_history
from deflect.formats import TICKET_ID_MAX
from deflect.gaps.notices import match as match_notice
from deflect.store.links import inferred_links

from ..auth import require_key
from ..errors import ApiError
from ..limits import json_body, language_field, text_field, visible_chars
from ..state import get_redactor, get_store
from .common import K_ARTICLES, K_TICKETS, articles_json, deflector, joins_batch, log_inquiry

bp = Blueprint("agent", __name__, url_prefix="/api/v1")


def inferred_json(link: dict | None) -> dict | None:
    """An inferred link as the API shows it (marked by its own field, never as ``article_id``)."""
    if link is None:
        return None
    return {"id": link["article_id"], "confidence": round(float(link["confidence"]), 4), "source": link["source"]}


@bp.post("/agent/suggest")
@require_key("agent")   # first: a request without a valid key makes no forward wait for it
@joins_batch
def agent_suggest():
    data = json_body()
    subject = text_field(data, "subject", max_len=500) or ""
    body = text_field(data, "body", max_len=20000) or ""
    language = language_field(data)
    ticket_ref = text_field(data, "ticket_id", max_len=TICKET_ID_MAX)
    session = text_field(data, "session", max_len=128)
    if visible_chars(subject) < 3 and visible_chars(body) < 3:
        raise ApiError("give the ticket's 'body' or 'subject' with at least 3 characters besides spaces")
    text = body if not subject or body.startswith(subject) else (f"{subject}\n{body}" if body else subject)
    redact = get_redactor().redact
    text = redact(text)
    s = deflector().suggest(text, language=language, k=K_ARTICLES, with_tickets=K_TICKETS)
    iid = log_inquiry(text, s, "agent", ticket_id=ticket_ref)
    inferred = inferred_links(get_store(), ticket_ids=[t.id for t in s.tickets])
    tickets = [{"id": t.id, "score": round(float(t.score), 4), "subject": redact(t.subject),
                "body": redact(t.body), "resolution": redact(t.resolution), "article_id": t.article_id,
                "inferred_article": inferred_json(inferred.get(t.id)) if not t.article_id else None}
               for t in s.tickets]
    article = None
    if s.decision == "answer" and s.articles:
        try:
            article = get_store().get_article(s.articles[0].id)
        except NotFoundError:
            article = None
    ticket = draft_ticket(tickets, current_app.config["DRAFT_TICKET_MIN_SCORE"])
    base_url = current_app.config["HELP_CENTER_URL"]
    if article is not None and not base_url and not (article.url or "").startswith(("http://", "https://")):
        # no help center address set: a path would be a dead link in the customer's e-mail, so the draft
        # links the article's page on this service
        article = replace(article, url=url_for("pages.article", article_id=article.id, _external=True))
    draft = build_draft(s.language, article=article, ticket=ticket, base_url=base_url,
                        signature=current_app.config["DRAFT_SIGNATURE"], redactor=get_redactor())
    history = (ticket_history(get_store(), ticket_ref, get_redactor()) if ticket_ref
               else session_history(get_store(), [session], get_redactor()) if session else None)
    # a known outage the question belongs to: the agent answers it as the widget's notice does (no view counted)
    notice = match_notice(deflector(), text, s.language)
    return jsonify({"ok": True, "id": iid, "decision": s.decision, "shown": len(s.shown_articles()),
                    "confidence": round(float(s.confidence), 4), "language": s.language,
                    "articles": articles_json(s.articles, text), "tickets": tickets, "draft": draft,
                    "history": history, "notice": notice})
