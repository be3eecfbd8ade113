"""Chatwoot: help-center articles, resolved conversations, account webhooks, private notes.

REST (header ``api_access_token``), all under ``/api/v1/accounts/{account}``:
``GET /conversations?status=resolved&sort_by=created_at_asc&page`` (25 a page, in ``data.payload``),
``GET /conversations/{id}/messages`` (the newest 20; older ones with ``before=<message id>``),
``GET /portals`` and ``GET /portals/{slug}/articles?page`` (25 a page), and
``POST /conversations/{id}/messages`` with ``private: true`` (the note). Conversation ids are the
account's display ids. ``message_type`` is a number in the REST API (0 incoming, 1 outgoing) and a
word in webhooks. Chatwoot has no field linking a conversation to an article: an agent's outgoing
message with a help-center article URL is the link.
Webhooks since 4.11.2 are signed: ``X-Chatwoot-Signature: sha256=HMAC-SHA256(secret, "<X-Chatwoot-Timestamp>.<raw
body>")``, the delivery id in ``X-Chatwoot-Delivery``."""
from __future__ import annotations

import hashlib
import hmac
import re
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
    urls_in,
)
from deflect.connectors.reread import carried, edited_time, reread_pages, walked
from deflect.formats import Article, Ticket, parse_ticket
from deflect.html_text import reply_text
from deflect.index.lexical import content_words

PER_PAGE = 25
MESSAGES_PER_CALL = 20
MAX_CLOCK_SKEW = 300   # seconds a signed delivery may be old (or early): older ones are replays
INCOMING, OUTGOING = (0, "incoming"), (1, "outgoing")
_ARTICLE_URL = re.compile(r"/hc/([^/\s]+)/(?:[A-Za-z]{2}(?:[-_][A-Za-z]{2})?/)?articles/([^/?#\s]+)")


class ChatwootConnector(Connector):
    kind = "chatwoot"

    def __init__(self, connection, client=None):
        super().__init__(connection, client)
        self.account = str(connection.options.get("account_id") or "1")
        self._links: dict[tuple[str, str], str] | None = None   # (portal slug, article slug or id) -> article id

    def auth_headers(self, api_token: str) -> dict[str, str]:
        return {"api_access_token": api_token}

    def _path(self, rest: str) -> str:
        return f"/api/v1/accounts/{self.account}{rest}"

    # -- help center ------------------------------------------------------------------------
    def articles(self) -> Iterator[Article]:
        portals = (self.client.get(self._path("/portals")) or {}).get("payload", [])
        self._links = {}
        for portal in portals:
            slug, page = portal["slug"], 1
            while True:
                answer = self.client.get(self._path(f"/portals/{slug}/articles"), {"page": page}) or {}
                rows = answer.get("payload", [])
                for row in rows:
                    if row.get("status") not in ("published", 1) or not (row.get("title") or "").strip():
                        continue
                    language = (row.get("locale") or "en")[:2].lower()
                    article_id = f"{self.connection.name}-hc-{row['id']}"
                    for key in (str(row["id"]), str(row.get("slug") or row["id"])):
                        self._links[(slug, key)] = article_id
                    # Chatwoot serves an article at hc/<portal>/articles/<slug>: the locale is no part of it
                    url = f"{self.connection.url.rstrip('/')}/hc/{slug}/articles/{row.get('slug') or row['id']}"
                    yield Article(id=article_id, title=row["title"].strip(), body=(row.get("content") or "").strip(),
                                  language=language, url=url, source=f"{self.connection.name}:hc/{slug}")
                if len(rows) < PER_PAGE:
                    break
                page += 1
        self._links_read()

    def linked_article(self, text: str) -> str | None:
        """The help-center article whose URL is in ``text`` (an agent's reply)."""
        self._refresh_if_stale()
        keys = [(m.group(1), m.group(2)) for m in map(_ARTICLE_URL.search, urls_in(text)) if m]
        found = self._article_of(keys)
        if found is None and self._reread_for(set(keys)):   # an article published since the last read
            found = self._article_of(keys)
        return found

    def _article_of(self, keys: list[tuple[str, str]]) -> str | None:
        """The first of (portal, slug or id) article keys that the links read know."""
        links = self._links or {}
        for portal, key in keys:
            found = links.get((portal, key)) or links.get((portal, key.split("-")[0]))
            if found:
                return found
        return None

    # -- conversations ----------------------------------------------------------------------
    def ticket_pages(self, cursor: dict) -> Iterator[tuple[list[Ticket], dict]]:
        """Resolved conversations by ascending id from the cursor's page on. The ids the listing skips are
        conversations not resolved yet (or deleted): they are remembered (``pending``) and looked at again
        on later runs, until resolved or gone, since a conversation resolved later is listed among the old
        ones, below the cursor. Resolved ones changed since they were read are read again once a day
        (``deflect.connectors.reread``)."""
        page, last_id = int(cursor.get("page", 1)), int(cursor.get("last_id", 0))
        pending = [str(i) for i in cursor.get("pending", [])]
        kept = carried(cursor)
        if pending:
            tickets, pending = self._resolved_since(pending)
            yield tickets, {"page": page, "last_id": last_id, "pending": pending, **kept}
        page, rows = resume_page(self._resolved_page, page, last_id)
        while True:
            tickets = []
            for row in sorted(rows, key=lambda r: int(r["id"])):
                remote = int(row["id"])
                if remote <= last_id:
                    continue
                pending += [str(i) for i in range(max(last_id + 1, remote - PENDING_MAX), remote)]
                ticket = self._ticket(row)
                if ticket is not None:
                    tickets.append(ticket)
                last_id = remote
            pending = pending[-PENDING_MAX:]
            full = len(rows) >= PER_PAGE
            at = {"page": page + 1 if full else page, "last_id": last_id, "pending": pending, **kept}
            if not full:
                at = walked(at)
                yield tickets, at
                # a conversation reopened and resolved again, or answered with an article since
                yield from reread_pages(at, self._resolved_page, PER_PAGE,
                                        lambda row: edited_time(row, "updated_at", "last_activity_at", "timestamp"),
                                        lambda row: row.get("status", "resolved") == "resolved", self._ticket)
                return
            yield tickets, at
            page += 1
            rows = self._resolved_page(page)

    def _resolved_since(self, pending: list[str]) -> tuple[list[Ticket], list[str]]:
        """The remembered conversations resolved by now, and those to look at again."""
        return self._look_again(pending, lambda remote_id: self.client.get(self._path(f"/conversations/{remote_id}")),
                                lambda row: "resolved" if row.get("status") == "resolved" else "open")

    def _resolved_page(self, page: int) -> list[dict]:
        answer = self.client.get(self._path("/conversations"), {"status": "resolved", "sort_by": "created_at_asc",
                                                                "page": page}) or {}
        return answer.get("data", {}).get("payload", [])

    def messages(self, remote_id: str) -> list[dict]:
        """Every message of a conversation, oldest first."""
        found: dict[int, dict] = {}
        params: dict = {}
        while True:
            answer = self.client.get(self._path(f"/conversations/{remote_id}/messages"), params) or {}
            batch = answer.get("payload", [])
            new = [m for m in batch if int(m["id"]) not in found]
            found.update((int(m["id"]), m) for m in new)
            if len(batch) < MESSAGES_PER_CALL or not new:
                return [found[k] for k in sorted(found)]
            params = {"before": min(int(m["id"]) for m in batch)}

    def fetch_ticket(self, remote_id: str) -> Ticket | None:
        row = self.client.get(self._path(f"/conversations/{remote_id}"))
        return self._ticket(row) if row else None

    def _ticket(self, row: dict) -> Ticket | None:
        remote_id = str(row.get("display_id") or row["id"])
        public = [m for m in self.messages(remote_id) if not m.get("private")]
        question, answers = [], []
        for m in public:
            content = reply_text((m.get("content") or "").strip())   # an e-mail inbox quotes the history
            if m.get("message_type") in INCOMING and not answers and content:
                question.append(content)
            elif m.get("message_type") in OUTGOING and content:
                answers.append(content)
        if not question:
            return None
        sender = ((row.get("meta") or {}).get("sender") or {})
        customer = tuple(v for v in (sender.get("name"), sender.get("email"), sender.get("phone_number")) if v)
        obj = {"id": self.ticket_id(remote_id), "subject": "", "body": "\n\n".join(question),
               "resolution": answers[-1] if answers else "", "channel": row.get("channel") or "chat",
               "status": row.get("status") or "resolved", "created_at": _epoch_time(row.get("created_at"))}
        where = f"{self.connection.name}:conversation/{remote_id}"
        ticket = parse_ticket(obj, where)
        ticket.article_id = next((a for a in map(self.linked_article, reversed(answers)) if a), None)
        ticket.customer, ticket.source = customer, where
        return ticket

    # -- webhook and note -------------------------------------------------------------------
    def verify(self, headers: Mapping[str, str], raw: bytes, secret: str, now: float) -> bool:
        stamp = header(headers, "X-Chatwoot-Timestamp") or ""
        if not stamp.isdigit() or abs(now - int(stamp)) > MAX_CLOCK_SKEW:
            return False
        expected = hmac.new(secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
        return signature_matches(expected, header(headers, "X-Chatwoot-Signature"), "sha256=")

    def delivery_id(self, headers: Mapping[str, str], raw: bytes) -> str:
        return header(headers, "X-Chatwoot-Delivery") or "sha256:" + hashlib.sha256(raw).hexdigest()

    def _account_matches(self, payload: dict) -> bool:
        account = payload.get("account") or next(
            (m.get("account") for m in (payload.get("conversation") or payload).get("messages", []) or []
             if isinstance(m, dict) and m.get("account")), None)
        ids = {str(account.get("id"))} if isinstance(account, dict) else set()
        ids |= {str(m["account_id"]) for m in (payload.get("messages") or []) if isinstance(m, dict)
                and m.get("account_id") is not None}
        return not ids or self.account in ids

    def event(self, payload: dict) -> Event | None:
        name = payload.get("event")
        if not self._account_matches(payload):
            return None
        if name in ("conversation_status_changed", "conversation_resolved"):
            if payload.get("status") == "resolved":
                return Event("resolved", str(payload.get("display_id") or payload["id"]))
            return None
        if name != "message_created" or payload.get("private") or payload.get("message_type") not in INCOMING:
            return None
        conversation = payload.get("conversation") or {}
        if conversation.get("status") not in (None, "open", "pending"):
            return None
        remote_id = conversation.get("display_id") or conversation.get("id")
        text = (payload.get("content") or "").strip()
        if remote_id is None or not says_something(text):
            return None   # "Hallo", "Hi there?": the note waits for the message that asks something
        sender = payload.get("sender") or {}
        customer = tuple(v for v in (sender.get("name"), sender.get("email"), sender.get("phone_number")) if v)
        return Event("new", str(remote_id), text=text, customer=customer,
                     session=session_field(conversation.get("custom_attributes")))

    def post_note(self, remote_id: str, html: str, markdown: str) -> str:
        note = self.client.post(self._path(f"/conversations/{remote_id}/messages"),
                                {"content": markdown, "message_type": "outgoing", "private": True})
        return note_id(note, "POST .../messages")


# Words of a chat's opening that ask nothing yet.
_OPENERS = frozenset({"hi", "hey", "moin", "servus", "hallo", "hello", "there", "frage", "question", "hilfe", "help",
                      "anliegen", "problem", "kurze", "quick", "team", "support", "jemand", "anyone", "da"})


def says_something(text: str) -> bool:
    """Whether a chat message holds more than a greeting ("Hallo", "Hi there, quick question?")."""
    return any(word not in _OPENERS for word in content_words(text))


def _epoch_time(value) -> str | None:
    """A conversation's ``created_at`` (Chatwoot gives Unix seconds; an ISO text is taken too) as RFC 3339,
    None when unreadable (a sync is not stopped by it). Without it the report would count the conversation
    at the moment of the sync instead of when the customer wrote."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).replace(microsecond=0).isoformat()
    moment = parse_time(value) if isinstance(value, str) else None
    return moment.isoformat() if moment else None
