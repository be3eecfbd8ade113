"""Local fakes of the Zammad and Chatwoot HTTP APIs: real HTTP servers on 127.0.0.1 in a thread, written
from the vendors' API documentation; their objects are copies of the recorded examples in
tests/data/connectors/ (each names the documentation page it comes from).

Both check the auth header (401 without the right token), answer 404 for unknown objects, page like the
real ones (Zammad: ``per_page`` cut to 100, the last page short; Chatwoot: 25 a page, 20 messages a call)
and take planted faults: ``fail(path_part, "429" | "drop" | "500" | "empty", times)`` answers the next
matching requests with 429 + ``Retry-After``, drops the connection without an answer, answers 500 or an
empty 200; with ``redirect_to`` set every request is redirected there (302); with ``elsewhere`` set the
server plays another service on the configured address: every request gets 200 with that JSON."""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

DATA = Path(__file__).parent / "data" / "connectors"


def example(name: str) -> dict:
    """A recorded example payload without its ``_doc`` note."""
    data = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    data.pop("_doc", None)
    return data


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server: _Server

    def log_message(self, *args):  # quiet tests
        pass

    def _serve(self, method: str):
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null") if length else None
        fake.requests[f"{method} {parts.path}"] += 1
        fault = fake.take_fault(parts.path)
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault == "429":
            return self._send(429, {"error": "too many requests"}, {"Retry-After": str(fake.retry_after)})
        if fault == "500":
            return self._send(500, {"error": "internal server error"})
        if fault == "empty":   # a proxy or an odd version answering 200 without the object
            return self._send(200, {})
        if fake.elsewhere is not None:
            return self._send(200, fake.elsewhere)
        if fake.redirect_to:
            return self._send(302, {}, {"Location": fake.redirect_to + self.path})
        if not fake.authorized(self.headers):
            return self._send(401, {"error": "authentication failed"})
        status, payload = fake.route(method, parts.path, query, body)
        self._send(status, payload)

    def _send(self, status: int, payload, headers: dict | None = None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeHelpdesk


class FakeHelpdesk:
    """The server, request counts, planted faults and the notes posted (see the module docstring)."""

    retry_after = 1
    redirect_to: str | None = None
    elsewhere: object = None

    def __init__(self, token: str = "s3cret-token"):
        self.token = token
        self.requests: Counter[str] = Counter()
        self.notes: list[dict] = []
        self.note_times: dict[str, float] = {}
        self._faults: list[list] = []
        self._lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.fake = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def fail(self, path_part: str, kind: str, times: int = 1) -> None:
        with self._lock:
            self._faults.append([path_part, kind, times])

    def take_fault(self, path: str) -> str | None:
        with self._lock:
            for fault in self._faults:
                if fault[0] in path and fault[2] > 0:
                    fault[2] -= 1
                    return fault[1]
        return None

    def count(self, prefix: str) -> int:
        return sum(n for key, n in self.requests.items() if key.startswith(prefix))

    def authorized(self, headers) -> bool:
        raise NotImplementedError

    def route(self, method: str, path: str, query: dict, body):
        raise NotImplementedError


class FakeZammad(FakeHelpdesk):
    """Zammad: tickets with articles and knowledge-base links, one knowledge base, internal notes."""

    def __init__(self, token: str = "s3cret-token"):
        super().__init__(token)
        self.tickets: dict[int, dict] = {}
        self.articles: dict[int, list[dict]] = {}
        self.links: dict[int, list[int]] = {}        # ticket id -> linked answer translation ids
        self.kb = example("zammad_kb_init")
        self.serves_locales = True
        self.states = {"new": "new", "open": "open", "pending reminder": "pending reminder", "closed": "closed",
                       "merged": "merged"}
        self.kb_contents = {"1": {"id": 1, "body": "<p>Klicken Sie auf <b>Passwort vergessen</b>.</p>"},
                            "2": {"id": 2, "body": "<p>Click <b>Forgot password</b> on the login page.</p>"}}

    def add_ticket(self, tid: int, title: str, question: str, answer: str | None, state: str = "closed",
                   customer: str = "nicole.braun@example.com", linked: list[int] = ()) -> dict:
        ticket = example("zammad_ticket") | {"id": tid, "number": str(31000 + tid), "title": title, "state": state,
                                             "customer": customer}
        first = example("zammad_article") | {"id": tid * 10, "ticket_id": tid, "subject": title,
                                             "body": f"<p>{question}</p>", "from": f"Kunde <{customer}>"}
        thread = [first]
        if answer is not None:
            thread.append(example("zammad_article") | {"id": tid * 10 + 1, "ticket_id": tid, "sender": "Agent",
                                                       "from": "Support <support@example.com>",
                                                       "body": f"<div>{answer}</div>"})
        self.tickets[tid], self.articles[tid], self.links[tid] = ticket, thread, list(linked)
        return ticket

    def authorized(self, headers) -> bool:
        return headers.get("Authorization") == f"Token token={self.token}"

    def route(self, method, path, query, body):
        if method == "GET" and path == "/api/v1/tickets":
            per_page = min(int(query.get("per_page", 50)), 100)   # larger values are cut silently
            page = max(1, int(query.get("page", 1)))
            ids = sorted(self.tickets)[(page - 1) * per_page: page * per_page]
            return 200, [self.tickets[i] for i in ids]
        if m := re.fullmatch(r"/api/v1/tickets/(\d+)", path):
            found = self.tickets.get(int(m.group(1)))
            return (200, found) if found else (404, {"error": "Not authorized"})
        if m := re.fullmatch(r"/api/v1/ticket_articles/by_ticket/(\d+)", path):
            found = self.articles.get(int(m.group(1)))
            return (200, found) if found is not None else (404, {"error": "Couldn't find Ticket"})
        if path == "/api/v1/links" and query.get("link_object") == "Ticket":
            linked = self.links.get(int(query.get("link_object_value", 0)), [])
            payload = example("zammad_links")
            payload["links"] = [dict(payload["links"][0], link_object_value=t) for t in linked]
            return 200, payload
        if method == "GET" and path == "/api/v1/ticket_states":   # with expand=true: the type's name
            return 200, [{"id": i, "name": name, "state_type_id": i, "state_type": kind, "active": True}
                         for i, (name, kind) in enumerate(self.states.items(), 1)]
        if method == "GET" and path == "/api/v1/locales":
            if not self.serves_locales:
                return 404, {"error": "No route matches [GET] /api/v1/locales"}
            return 200, example("zammad_locales")["locales"]
        if method == "POST" and path == "/api/v1/knowledge_bases/init":
            kb = copy.deepcopy(self.kb)
            wanted = {str(i) for i in (body or {}).get("answer_translation_content_ids", [])}
            kb["KnowledgeBaseAnswerTranslationContent"] = {k: v for k, v in self.kb_contents.items() if k in wanted}
            return 200, kb
        if method == "POST" and path == "/api/v1/ticket_articles":
            if body.get("internal") is not True or body.get("type") != "note":
                return 422, {"error": "expected an internal note"}
            if int(body["ticket_id"]) not in self.tickets:
                return 404, {"error": "Couldn't find Ticket"}
            with self._lock:
                note = {"id": 100000 + len(self.notes), **body}
                self.notes.append(note)
                self.note_times.setdefault(str(body["ticket_id"]), time.monotonic())
            return 201, note
        return 404, {"error": f"no route {method} {path}"}

    @staticmethod
    def sign(secret: str, raw: bytes) -> dict[str, str]:
        return {"X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest()}

    def webhook(self, tid: int, secret: str, delivery: str, sign_with: str | None = None) -> tuple[bytes, dict]:
        """A trigger delivery for ticket ``tid`` as Zammad sends it: raw body and headers."""
        ticket, article = self.tickets[tid], self.articles[tid][-1 if self.tickets[tid]["state"] == "closed" else 0]
        payload = example("zammad_webhook")
        payload["ticket"] = {**payload["ticket"], **{k: ticket[k] for k in ("id", "number", "title", "state",
                                                                               "customer")}}
        payload["article"] = {**payload["article"], **article}
        # Zammad escapes <, > and & in the JSON it sends: the signature is over exactly these bytes
        raw = json.dumps(payload).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()
        headers = {"Content-Type": "application/json", "X-Zammad-Trigger": "deflect", "X-Zammad-Delivery": delivery,
                   **self.sign(sign_with or secret, raw)}
        return raw, headers


class FakeChatwoot(FakeHelpdesk):
    """Chatwoot: one account's resolved conversations with messages, a help-center portal, private notes."""

    def __init__(self, token: str = "s3cret-token", account: int = 1):
        super().__init__(token)
        self.account = account
        self.conversations: dict[int, dict] = {}
        self.messages: dict[int, list[dict]] = {}
        self.portal = {"id": 1, "slug": "help", "name": "Help", "config": {"allowed_locales": ["en", "de"]}}
        self.help_articles: list[dict] = [example("chatwoot_article")]
        self._message_id = 0

    def add_conversation(self, cid: int, question: str, replies: list[str], status: str = "resolved",
                         private_note: str | None = None) -> dict:
        conversation = example("chatwoot_conversation") | {"id": cid, "status": status}
        thread = []
        for kind, text in [(0, question), *[(1, r) for r in replies]]:
            self._message_id += 1
            thread.append(example("chatwoot_message") | {"id": self._message_id, "conversation_id": cid,
                                                         "content": text, "message_type": kind})
        if private_note:
            self._message_id += 1
            thread.append(example("chatwoot_message") | {"id": self._message_id, "content": private_note,
                                                         "message_type": 1, "private": True})
        self.conversations[cid], self.messages[cid] = conversation, thread
        return conversation

    def authorized(self, headers) -> bool:
        return headers.get("api_access_token") == self.token

    def route(self, method, path, query, body):
        base = f"/api/v1/accounts/{self.account}"
        if not path.startswith(base + "/"):
            return 404, {"error": "Resource could not be found"}
        rest = path[len(base):]
        if method == "GET" and rest == "/conversations":
            found = sorted((c for c in self.conversations.values() if c["status"] == query.get("status", "open")),
                           key=lambda c: c["id"])
            page = max(1, int(query.get("page", 1)))
            meta = {"mine_count": 0, "assigned_count": len(found), "unassigned_count": 0, "all_count": len(found)}
            return 200, {"data": {"meta": meta, "payload": found[(page - 1) * 25: page * 25]}}
        if m := re.fullmatch(r"/conversations/(\d+)", rest):
            found = self.conversations.get(int(m.group(1)))
            return (200, found) if found else (404, {"error": "Resource could not be found"})
        if (m := re.fullmatch(r"/conversations/(\d+)/messages", rest)) and method == "GET":
            thread = self.messages.get(int(m.group(1)))
            if thread is None:
                return 404, {"error": "Resource could not be found"}
            before = int(query["before"]) if "before" in query else None
            older = [x for x in thread if before is None or x["id"] < before]
            return 200, {"meta": {"contact": {}, "assignee": {}}, "payload": older[-20:]}
        if (m := re.fullmatch(r"/conversations/(\d+)/messages", rest)) and method == "POST":
            if int(m.group(1)) not in self.conversations:
                return 404, {"error": "Resource could not be found"}
            if body.get("private") is not True:
                return 422, {"error": "expected a private note"}
            with self._lock:
                note = {"id": 900000 + len(self.notes), "conversation_id": int(m.group(1)), **body}
                self.notes.append(note)
                self.note_times.setdefault(m.group(1), time.monotonic())
            return 200, note
        if rest == "/portals":
            return 200, {"payload": [self.portal]}
        if rest == f"/portals/{self.portal['slug']}/articles":
            page = max(1, int(query.get("page", 1)))
            items = self.help_articles[(page - 1) * 25: page * 25]
            return 200, {"payload": items, "meta": {"articles_count": len(self.help_articles), "current_page": page}}
        return 404, {"error": "Resource could not be found"}

    @staticmethod
    def sign(secret: str, raw: bytes, stamp: int) -> dict[str, str]:
        digest = hmac.new(secret.encode(), f"{stamp}.".encode() + raw, hashlib.sha256).hexdigest()
        return {"X-Chatwoot-Signature": f"sha256={digest}", "X-Chatwoot-Timestamp": str(stamp)}

    def webhook(self, payload: dict, secret: str, delivery: str, stamp: int | None = None) -> tuple[bytes, dict]:
        raw = json.dumps(payload).encode()
        stamp = int(time.time()) if stamp is None else stamp
        headers = {"Content-Type": "application/json", "X-Chatwoot-Delivery": delivery}
        return raw, {**headers, **self.sign(secret, raw, stamp)}
