"""Zammad: knowledge-base answers, closed tickets and their KB links, trigger webhooks, internal notes.

REST (token auth ``Authorization: Token token=...``):
``GET /api/v1/tickets?page&per_page&expand`` (at most 100 a page, ids ascending; the last page is short),
``GET /api/v1/ticket_articles/by_ticket/{id}``, ``GET /api/v1/links?link_object=Ticket&link_object_value={id}``
(a link to ``KnowledgeBase::Answer::Translation`` is the answer that solved the ticket),
``POST /api/v1/knowledge_bases/init`` (the whole KB as id-keyed asset tables; bodies with
``answer_translation_content_ids``; a KB locale names its system locale by id, read from
``GET /api/v1/locales``), ``GET /api/v1/ticket_states?expand=true`` (each state's type),
``POST /api/v1/ticket_articles`` (the internal note).
Webhooks come from a trigger: ``X-Hub-Signature: sha1=HMAC-SHA1(secret, raw body)``, the delivery id
in ``X-Zammad-Delivery``; the payload is the ticket and its newest article."""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

from deflect.clock import parse_time
from deflect.connectors.base import (
    PENDING_MAX,
    Connector,
    Event,
    header,
    note_id,
    resume_page,
    session_field,
    signature_matches,
)
from deflect.connectors.http import HelpdeskError
from deflect.connectors.reread import carried, edited_time, reread_pages, walked
from deflect.formats import Article, Ticket, parse_ticket
from deflect.html_text import html_to_text, reply_text
from deflect.language import detect_language

PER_PAGE = 100
# Zammad's state types (its default states carry the same names; a team may add or rename states)
RESOLVED_STATES = {"closed"}
NEW_STATES = {"new", "open"}
GONE_STATES = {"merged", "removed"}   # a ticket merged into another, or removed: nothing more to wait for
LINK_TYPE = "KnowledgeBase::Answer::Translation"


def _assets(payload: dict) -> dict:
    return payload.get("assets", payload) if isinstance(payload, dict) else {}


def _table(assets: dict, name: str) -> dict[str, dict]:
    """An asset table keyed by id (Zammad sends objects keyed by id; lists are accepted too)."""
    table = assets.get(name) or {}
    if isinstance(table, list):
        return {str(row["id"]): row for row in table}
    return {str(k): v for k, v in table.items()}


def is_published(answer: dict, now: datetime) -> bool:
    """Zammad's rule for a public answer: published before now, not archived by now (a date ahead is a
    schedule). ``internal_at`` is an earlier stage of the same answer and does not hide it."""
    published, archived = parse_time(answer.get("published_at")), parse_time(answer.get("archived_at"))
    return published is not None and published < now and (archived is None or archived > now)


def _text(article: dict) -> str:
    """A ticket message's own words: without its signature block and the e-mail it quotes."""
    body = article.get("body") or ""
    if "html" in (article.get("content_type") or "text/html"):
        return html_to_text(body, reply=True)
    return reply_text(body.strip())


class ZammadConnector(Connector):
    kind = "zammad"

    def __init__(self, connection, client=None):
        super().__init__(connection, client)
        self._kb: dict[str, tuple[str, str]] | None = None   # translation id -> (article id, language)
        self._state_types: dict[str, str] | None = None   # state name -> its type (read when needed)
        self._states_asked: set[str] = set()   # unusual names the states were read for

    def auth_headers(self, api_token: str) -> dict[str, str]:
        return {"Authorization": f"Token token={api_token}"}

    # -- knowledge base ---------------------------------------------------------------------
    def _answer_url(self, answer: dict, locale: str) -> str:
        return f"{self.connection.url.rstrip('/')}/help/{locale}/{answer.get('category_id')}/{answer['id']}"

    def articles(self) -> Iterator[Article]:
        assets = _assets(self.client.post("/api/v1/knowledge_bases/init", {}, read=True))
        answers = _table(assets, "KnowledgeBaseAnswer")
        translations = _table(assets, "KnowledgeBaseAnswerTranslation")
        kb_locales = _table(assets, "KnowledgeBaseLocale")
        system_locales = _table(assets, "Locale") or self._system_locales()
        now = datetime.now(UTC)
        published = {aid: a for aid, a in answers.items() if is_published(a, now)}
        wanted = [t for t in translations.values() if str(t.get("answer_id")) in published]
        contents = _table(assets, "KnowledgeBaseAnswerTranslationContent")
        missing = [t["content_id"] for t in wanted if t.get("content_id") and str(t["content_id"]) not in contents]
        if missing:
            more = self.client.post("/api/v1/knowledge_bases/init", {"answer_translation_content_ids": missing},
                                    read=True)
            contents.update(_table(_assets(more), "KnowledgeBaseAnswerTranslationContent"))
        self._kb = {}
        for t in sorted(wanted, key=lambda t: int(t["id"])):
            kb_locale = kb_locales.get(str(t.get("kb_locale_id"))) or {}
            locale = (system_locales.get(str(kb_locale.get("system_locale_id"))) or {}).get("locale")
            answer = published[str(t["answer_id"])]
            body = html_to_text((contents.get(str(t.get("content_id"))) or {}).get("body") or "")
            if not (t.get("title") or "").strip():
                continue
            # without the locale table, the text tells the language; the public link needs the locale
            language = locale[:2].lower() if locale else detect_language(f"{t['title']}\n{body}")
            article_id = f"{self.connection.name}-kb-{answer['id']}-{language}"
            self._kb[str(t["id"])] = (article_id, language)
            yield Article(id=article_id, title=t["title"].strip(), body=body, language=language,
                          url=self._answer_url(answer, locale) if locale else None,
                          source=f"{self.connection.name}:kb")
        self._links_read()

    def _system_locales(self) -> dict[str, dict]:
        """Zammad's locales by id (``GET /api/v1/locales``); empty where the help desk does not answer it."""
        try:
            rows = self.client.get("/api/v1/locales")
        except HelpdeskError:
            return {}
        return {str(row["id"]): row for row in rows or [] if isinstance(row, dict) and "id" in row}

    def _kb_map(self) -> dict[str, tuple[str, str]]:
        self._refresh_if_stale()
        return self._kb or {}

    def linked_article(self, remote_id: str, language: str | None) -> str | None:
        """The KB article an agent linked to the ticket (the one in the ticket's language first)."""
        payload = self.client.get("/api/v1/links", {"link_object": "Ticket", "link_object_value": remote_id})
        linked = [str(link.get("link_object_value")) for link in (payload or {}).get("links", [])
                  if link.get("link_object") == LINK_TYPE]
        kb = self._kb_map()
        if self._reread_for({t for t in linked if t not in kb}):   # an answer published since the last read
            kb = self._kb or {}
        found = [kb[t] for t in linked if t in kb]
        found.sort(key=lambda item: item[1] != language)
        return found[0][0] if found else None

    # -- tickets ----------------------------------------------------------------------------
    def ticket_pages(self, cursor: dict) -> Iterator[tuple[list[Ticket], dict]]:
        """Closed tickets by ascending id from the cursor's page on. Tickets still open when their page was
        read are remembered (``pending``) and looked at again on later runs, until closed or deleted; closed
        ones edited since they were read are read again once a day (``deflect.connectors.reread``)."""
        page, last_id = int(cursor.get("page", 1)), int(cursor.get("last_id", 0))
        pending = [str(i) for i in cursor.get("pending", [])]
        kept = carried(cursor)
        if pending:
            tickets, pending = self._closed_since(pending)
            yield tickets, {"page": page, "last_id": last_id, "pending": pending, **kept}
        page, rows = resume_page(self._ticket_page, page, last_id)
        while True:
            tickets = []
            for row in rows:
                if int(row["id"]) <= last_id:
                    continue
                if self.resolved(row.get("state")):
                    ticket = self._ticket(row)
                    if ticket is not None:
                        tickets.append(ticket)
                else:
                    pending.append(str(row["id"]))
                last_id = max(last_id, int(row["id"]))
            pending = pending[-PENDING_MAX:]
            full = len(rows) >= PER_PAGE
            # a short page is the end: it is read again next time, for the tickets added since
            at = {"page": page + 1 if full else page, "last_id": last_id, "pending": pending, **kept}
            if not full:
                at = walked(at)
                yield tickets, at
                yield from reread_pages(at, self._ticket_page, PER_PAGE,
                                        lambda row: edited_time(row, "updated_at"),
                                        lambda row: self.resolved(row.get("state")), self._ticket)
                return
            yield tickets, at
            page += 1
            rows = self._ticket_page(page)

    def _ticket_page(self, page: int) -> list[dict]:
        return self.client.get("/api/v1/tickets", {"page": page, "per_page": PER_PAGE, "expand": "true"}) or []

    def _closed_since(self, pending: list[str]) -> tuple[list[Ticket], list[str]]:
        """The remembered open tickets closed by now, and those to look at again."""
        def state(row: dict) -> str:
            kind = self._type_of(row.get("state"))
            return "resolved" if kind in RESOLVED_STATES else "gone" if kind in GONE_STATES else "open"

        return self._look_again(pending, lambda remote_id: self.client.get(f"/api/v1/tickets/{remote_id}",
                                                                          {"expand": "true"}), state)

    def resolved(self, state: str | None) -> bool:
        """Whether a ticket in ``state`` is solved: a state of Zammad's type "closed" ("closed", and those a
        team adds or renames, such as "gelöst")."""
        return self._type_of(state) in RESOLVED_STATES

    def _type_of(self, state: str | None) -> str | None:
        if state in RESOLVED_STATES | NEW_STATES or not state:
            return state
        # an unusual name: the help desk's states say what it is; a name they do not know yet is a state
        # the team added since they were read, so they are read again (once per such name)
        if self._state_types is None or (state not in self._state_types and state not in self._states_asked):
            self._states_asked.add(state)
            try:
                rows = self.client.get("/api/v1/ticket_states", {"expand": "true"}) or []
            except HelpdeskError:
                self._states_asked.discard(state)
                return None   # asked again with the next unusual name
            self._state_types = {r["name"]: r.get("state_type") for r in rows if isinstance(r, dict) and r.get("name")}
        return self._state_types.get(state)

    def fetch_ticket(self, remote_id: str) -> Ticket | None:
        row = self.client.get(f"/api/v1/tickets/{remote_id}", {"expand": "true"})
        return self._ticket(row) if row else None

    def _ticket(self, row: dict) -> Ticket | None:
        remote_id = str(row["id"])
        articles = self.client.get(f"/api/v1/ticket_articles/by_ticket/{remote_id}") or []
        public = [a for a in articles if not a.get("internal")]
        question, answers = [], []
        for article in public:
            if article.get("sender") == "Customer" and not answers:
                question.append(_text(article))
            elif article.get("sender") == "Agent":
                answers.append(_text(article))
        if not question:
            return None
        customer = [row.get("customer")] if isinstance(row.get("customer"), str) else []
        customer += [a.get("from") for a in public if a.get("sender") == "Customer" and a.get("from")]
        obj = {"id": self.ticket_id(remote_id), "subject": row.get("title") or "", "body": "\n\n".join(question),
               "resolution": answers[-1] if answers else "", "created_at": row.get("created_at"),
               "channel": public[0].get("type"), "status": row.get("state")}
        ticket = parse_ticket(obj, f"{self.connection.name}:ticket/{remote_id}")
        ticket.article_id = self.linked_article(remote_id, ticket.language)
        ticket.customer = tuple(c for c in customer if c)
        ticket.source = f"{self.connection.name}:ticket/{remote_id}"
        return ticket

    # -- webhook and note -------------------------------------------------------------------
    def verify(self, headers: Mapping[str, str], raw: bytes, secret: str, now: float) -> bool:
        expected = hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest()
        return signature_matches(expected, header(headers, "X-Hub-Signature"), "sha1=")

    def delivery_id(self, headers: Mapping[str, str], raw: bytes) -> str:
        return header(headers, "X-Zammad-Delivery") or "sha1:" + hashlib.sha1(raw).hexdigest()

    def event(self, payload: dict) -> Event | None:
        ticket, article = payload.get("ticket") or {}, payload.get("article") or {}
        if "id" not in ticket:
            return None
        remote_id, state = str(ticket["id"]), ticket.get("state")
        if self.resolved(state):
            return Event("resolved", remote_id)
        if self._type_of(state) in NEW_STATES and article.get("sender") == "Customer" and not article.get("internal"):
            customer = tuple(v for v in (ticket.get("customer"), article.get("from")) if isinstance(v, str) and v)
            return Event("new", remote_id, subject=ticket.get("title") or "", text=_text(article), customer=customer,
                         session=session_field(ticket))
        return None

    def post_note(self, remote_id: str, html: str, markdown: str) -> str:
        note = self.client.post("/api/v1/ticket_articles", {
            "ticket_id": int(remote_id) if remote_id.isdigit() else remote_id, "body": html,
            "content_type": "text/html", "type": "note", "internal": True})
        return note_id(note, "POST /api/v1/ticket_articles")
