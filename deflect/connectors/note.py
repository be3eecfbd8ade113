"""The internal note for a new ticket: what the customer already did in the widget (when the ticket
came with its session), suggested articles with their confidence and links, similar resolved tickets
(redacted) and the agent draft, as HTML (Zammad) and Markdown (Chatwoot).

It is what ``/api/v1/agent/suggest`` answers, written for the agent's eyes in the help desk."""
from __future__ import annotations

import html
import logging
import re
import uuid
from dataclasses import dataclass

from deflect.draft import absolute_url, build_draft, draft_ticket, language_check
from deflect.engine import Engine, Suggestion
from deflect.errors import NotFoundError
from deflect.feedback.history import summary
from deflect.formats import Inquiry
from deflect.gaps.notices import match as match_notice
from deflect.privacy import Redactor, default_redactor
from deflect.text import clip

log = logging.getLogger("deflect.connectors")
K_ARTICLES = 3
K_TICKETS = 3


@dataclass
class NoteOptions:
    """The draft settings (``help_center_url``, ``draft_signature``, ``draft_ticket_min_score``)."""

    help_center_url: str | None = None
    signature: str | None = None
    ticket_min_score: float | None = None   # unset: a resolution never becomes the draft
    language: str | None = None             # the note's words (de, en); unset: the ticket's language


# The note's own words, for the agent (the draft inside it is in the customer's language).
WORDS = {
    "en": {"already": "The customer already:", "answer": "answer found",
           "suggest": "no confident answer, these articles might help", "no_answer": "no confident answer",
           "confidence": "confidence", "articles": "Suggested articles:", "none": "(none)",
           "tickets": "Similar resolved tickets:", "check": "Check before sending:", "draft": "Draft reply:",
           "incident": "Known issue (incident notice to customers):"},
    "de": {"already": "Bisher im Widget:", "answer": "passender Artikel gefunden",
           "suggest": "keine eindeutige Antwort, diese Artikel könnten helfen", "no_answer": "keine eindeutige Antwort",
           "confidence": "Konfidenz", "articles": "Vorgeschlagene Artikel:", "none": "(keine)",
           "tickets": "Ähnliche gelöste Tickets:", "check": "Vor dem Senden prüfen:", "draft": "Antwortentwurf:",
           "incident": "Bekannte Störung (Hinweis an Kunden):"},
}


@dataclass
class Note:
    html: str
    markdown: str
    suggestion: Suggestion


def _logged_for(store, ticket_id: str | None, channel: str) -> bool:
    """Whether the ticket's inquiry is logged already (a note tried again after the help desk failed)."""
    if ticket_id is None:
        return False
    return store.db.execute("select 1 from inquiries where ticket_id = ? and channel = ? limit 1",
                            [ticket_id, channel]).fetchone() is not None


def compose_note(engine: Engine, subject: str, text: str, options: NoteOptions,
                 customer: tuple[str, ...] = (), redactor: Redactor | None = None,
                 log_channel: str | None = "agent", history: dict | None = None, ticket_id: str | None = None
                 ) -> Note:
    """Suggest for the ticket and write the note; the inquiry is logged (``log_channel``) for the gap
    report and metrics, redacted like every inquiry and with the ticket's id (``ticket_id``: erased with
    the ticket). ``history`` (deflect.feedback.history, already redacted) opens the note with what the
    customer already did."""
    redact = (redactor or default_redactor()).redact
    query = redact(text if not subject or text.startswith(subject) else f"{subject}\n{text}", known=customer)
    s = engine.suggest(query, k=K_ARTICLES, with_tickets=K_TICKETS)
    if log_channel and not _logged_for(engine.store, ticket_id, log_channel):   # a retried note: logged once
        engine.store.log_inquiry(Inquiry(uuid.uuid4().hex, query, s.language), s.decision, s.confidence,
                                 s.articles[0].id if s.articles else None, channel=log_channel, ticket_id=ticket_id)
    article = None
    if s.decision == "answer" and s.articles:
        try:
            article = engine.store.get_article(s.articles[0].id)
        except NotFoundError:
            article = None
    tickets = [{"id": t.id, "score": float(t.score), "subject": redact(t.subject), "resolution": redact(t.resolution)}
               for t in s.tickets]
    ticket = draft_ticket(tickets, options.ticket_min_score)
    draft = build_draft(s.language, article=article, ticket=ticket, base_url=options.help_center_url,
                        signature=options.signature, redactor=redactor)
    language = options.language or (s.language if s.language in WORDS else "en")
    done = summary((history or {}).get("steps") or [], language)
    base_url = options.help_center_url
    check = language_check(article.language if article else None, s.language, language) if draft.get("check") else ""
    w = WORDS[language]
    # in Markdown, a draft made of another ticket's reply is that text, not markup (the article's is the team's)
    md_draft = "\n\n".join(md_escape(p["text"]) if p["source"]["type"] == "ticket" else p["text"]
                            for p in draft["parts"])
    outage = _notice_text(engine, query, s.language)
    html_note = _html(s, tickets, draft["text"], base_url, check, w)
    markdown_note = _markdown(s, tickets, md_draft, base_url, check, w)
    return Note(html=_notice_html(outage, w) + _history_html(done, w) + html_note,
                markdown=_notice_markdown(outage, w) + _history_markdown(done, w) + markdown_note, suggestion=s)


def _notice_text(engine: Engine, text: str, language: str) -> str:
    """The text of the live incident notice the ticket belongs to (a known outage); "" when none."""
    try:
        notice = match_notice(engine, text, language)
    except Exception:   # the note goes out without it rather than not at all
        log.warning("deflect: no incident notice for a note: the lookup failed", exc_info=True)
        return ""
    return notice["text"] if notice else ""


def _notice_markdown(outage: str, w: dict) -> str:
    return f"**{w['incident']}** {md_escape(outage)}\n\n" if outage else ""


def _notice_html(outage: str, w: dict) -> str:
    return f"<p><strong>{w['incident']}</strong> {html.escape(outage)}</p>" if outage else ""


# Customers' and agents' words in a Markdown note are text: a subject written as
# "[bestätigen](https://phish.example)" or "![](https://tracker.example)" must not become a link or an image
# inside deflect's suggestions.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>!|~])")
# what makes a line a heading, list item or quote when it opens the line: "#", "-", "+", ">", "12." or "3)"
_LINE_MARK = re.compile(r"(?m)^(\s*)([#+>-])")
_LINE_NUMBER = re.compile(r"(?m)^(\s*\d+)([.)])")


def md_escape(text: str) -> str:
    """``text`` with Markdown's special characters escaped (shown as written, never as markup)."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return _LINE_NUMBER.sub(r"\1\\\2", _LINE_MARK.sub(r"\1\\\2", text))


def _history_markdown(done: str, w: dict) -> str:
    return f"**{w['already']}** {md_escape(done)}\n\n" if done else ""


def _history_html(done: str, w: dict) -> str:
    return f"<p><strong>{w['already']}</strong> {html.escape(done)}</p>" if done else ""


def _number(x: float, digits: int, w: dict) -> str:
    text = f"{x:.{digits}f}"
    return text.replace(".", ",") if w is WORDS["de"] else text


def _verdict(s: Suggestion, w: dict) -> str:
    what = w.get(s.decision, w["no_answer"])
    return f"deflect: {what} ({w['confidence']} {_number(s.confidence * 100, 0, w)} %)"


def _markdown(s: Suggestion, tickets: list[dict], draft: str, base_url: str | None, check: str, w: dict) -> str:
    score = lambda x: _number(x, 2, w)  # noqa: E731
    lines = [f"**{_verdict(s, w)}**", "", w["articles"]]
    links = [(a, absolute_url(a.url, base_url)) for a in s.articles]
    lines += [f"{i}. [{md_escape(a.title)}]({url})  ({score(a.score)})" if url
              else f"{i}. {md_escape(a.title)}  ({score(a.score)})"
              for i, (a, url) in enumerate(links, 1)] or [w["none"]]
    if tickets:
        lines += ["", w["tickets"]]
        lines += [f"- {md_escape(t['id'])}: {md_escape(clip(t['subject'], 80))} → "
                  f"{md_escape(clip(t['resolution'], 160))}  ({score(t['score'])})" for t in tickets]
    lines += ["", *([f"**{w['check']}** {check}", ""] if check else []), w["draft"], "", draft]
    return "\n".join(lines)


def _html(s: Suggestion, tickets: list[dict], draft: str, base_url: str | None, check: str, w: dict) -> str:
    e = html.escape
    score = lambda x: _number(x, 2, w)  # noqa: E731
    links = [(a, absolute_url(a.url, base_url)) for a in s.articles]
    items = "".join(f'<li><a href="{e(url)}">{e(a.title)}</a> ({score(a.score)})</li>' if url
                    else f"<li>{e(a.title)} ({score(a.score)})</li>" for a, url in links) or f"<li>{w['none']}</li>"
    parts = [f"<p><strong>{e(_verdict(s, w))}</strong></p>", f"<p>{w['articles']}</p><ol>{items}</ol>"]
    if tickets:
        rows = "".join(f"<li>{e(t['id'])}: {e(clip(t['subject'], 80))} → {e(clip(t['resolution'], 160))} "
                       f"({score(t['score'])})</li>" for t in tickets)
        parts.append(f"<p>{w['tickets']}</p><ul>{rows}</ul>")
    body = "".join(f"<p>{e(p).replace(chr(10), '<br>')}</p>" for p in draft.split("\n\n"))
    if check:
        parts.append(f"<p><strong>{w['check']}</strong> {e(check)}</p>")
    parts.append(f"<p>{w['draft']}</p><blockquote>{body}</blockquote>")
    return "".join(parts)
