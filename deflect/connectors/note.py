"""The internal note for a new ticket: what the customer already did in the widget (when the ticket
came with its session), suggested articles with their confidence and links, similar resolved tickets
(redacted) and the agent draft, as HTML (Zammad) and Markdown (Chatwoot).

It is what ``/api/v1/agent/suggest`` answers, written for the agent's eyes in the help desk."""
from __future__ import annotations

import html
import uuid
from dataclasses import dataclass

from deflect.draft import absolute_url, build_draft, draft_ticket
from deflect.engine import Engine, Suggestion
from deflect.errors import NotFoundError
from deflect.formats import Inquiry
from deflect.privacy import Redactor, default_redactor
from deflect.text import clip

K_ARTICLES = 3
K_TICKETS = 3


@dataclass
class NoteOptions:
    """The draft settings (``help_center_url``, ``draft_signature``, ``draft_ticket_min_score``)."""

    help_center_url: str | None = None
    signature: str | None = None
    ticket_min_score: float | None = None   # unset: a resolution never becomes the draft


@dataclass
class Note:
    html: str
    markdown: str
    suggestion: Suggestion


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
    if log_channel:
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
    done = (history or {}).get("summary") or ""
    base_url = options.help_center_url
    check = draft.get("check", "")
    return Note(html=_history_html(done) + _html(s, tickets, draft["text"], base_url, check),
                markdown=_history_markdown(done) + _markdown(s, tickets, draft["text"], base_url, check), suggestion=s)


def _history_markdown(done: str) -> str:
    return f"**The customer already:** {done}\n\n" if done else ""


def _history_html(done: str) -> str:
    return f"<p><strong>The customer already:</strong> {html.escape(done)}</p>" if done else ""


def _verdict(s: Suggestion) -> str:
    what = {"answer": "answer found", "suggest": "no confident answer, these articles might help"}.get(
        s.decision, "no confident answer")
    return f"deflect: {what} (confidence {s.confidence:.0%})"


def _markdown(s: Suggestion, tickets: list[dict], draft: str, base_url: str | None, check: str = "") -> str:
    lines = [f"**{_verdict(s)}**", "", "Suggested articles:"]
    links = [(a, absolute_url(a.url, base_url)) for a in s.articles]
    lines += [f"{i}. [{a.title}]({url})  ({a.score:.2f})" if url else f"{i}. {a.title}  ({a.score:.2f})"
              for i, (a, url) in enumerate(links, 1)] or ["(none)"]
    if tickets:
        lines += ["", "Similar resolved tickets:"]
        lines += [f"- {t['id']}: {clip(t['subject'], 80)} → {clip(t['resolution'], 160)}  ({t['score']:.2f})"
                  for t in tickets]
    lines += ["", *([f"**Check before sending:** {check}", ""] if check else []), "Draft reply:", "", draft]
    return "\n".join(lines)


def _html(s: Suggestion, tickets: list[dict], draft: str, base_url: str | None, check: str = "") -> str:
    e = html.escape
    links = [(a, absolute_url(a.url, base_url)) for a in s.articles]
    items = "".join(f'<li><a href="{e(url)}">{e(a.title)}</a> ({a.score:.2f})</li>' if url
                    else f"<li>{e(a.title)} ({a.score:.2f})</li>" for a, url in links) or "<li>(none)</li>"
    parts = [f"<p><strong>{e(_verdict(s))}</strong></p>", f"<p>Suggested articles:</p><ol>{items}</ol>"]
    if tickets:
        rows = "".join(f"<li>{e(t['id'])}: {e(clip(t['subject'], 80))} → {e(clip(t['resolution'], 160))} "
                       f"({t['score']:.2f})</li>" for t in tickets)
        parts.append(f"<p>Similar resolved tickets:</p><ul>{rows}</ul>")
    body = "".join(f"<p>{e(p).replace(chr(10), '<br>')}</p>" for p in draft.split("\n\n"))
    if check:
        parts.append(f"<p><strong>Check before sending:</strong> {e(check)}</p>")
    parts.append(f"<p>Draft reply:</p><blockquote>{body}</blockquote>")
    return "".join(parts)
