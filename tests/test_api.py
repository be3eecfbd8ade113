"""API v1 with the Flask test client and a fake deflector: every endpoint, auth, limits and bad input."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
import zlib

import numpy as np
import openpyxl
import pytest
from api_support import TICKETS, FakeDeflector, bearer, make_app, new_key
from flask import Flask

from deflect.errors import IndexMissingError
from deflect.formats import Ticket
from deflect.gaps.runs import claim, execute, latest_run, run_now, wait
from deflect.gaps.workflow import list_topics
from deflect.home import Home
from deflect.store.service import revoke_key

# every test here runs on both store backends (SQLite, PostgreSQL): see conftest.database
pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture()
def setup(tmp_path):
    app, fake = make_app(tmp_path)
    return app, app.test_client(), fake


def rows(fake, sql, params=()):
    return [
        dict(zip([d[0] for d in cur.description], r, strict=True))
        for cur in [fake.store.db.execute(sql, params)]
        for r in cur.fetchall()
    ]


# -- suggest -------------------------------------------------------------------------------------
def test_suggest_answer_shape_and_logging(setup):
    app, client, fake = setup
    r = client.post(
        "/api/v1/suggest", json={"text": "Wie kann ich mein Abo kündigen?", "session": "s1", "page": "/hilfe"}
    )
    assert r.status_code == 200
    body = r.get_json()
    assert body["ok"] is True and body["decision"] == "answer" and body["language"] == "de"
    assert 0 <= body["confidence"] <= 1
    first = body["articles"][0]
    assert first["id"] == "kuendigung-abo" and first["url"] == "/hilfe/kuendigung/abo"
    assert set(first) >= {"id", "title", "url", "score", "snippet"}
    assert "<mark>Abo</mark>" in first["snippet"] and "<mark>kündigen</mark>" in first["snippet"]
    assert "**" not in first["snippet"]
    logged = rows(fake, "select * from inquiries")
    assert len(logged) == 1
    assert logged[0]["id"] == body["id"] and logged[0]["channel"] == "widget"
    assert logged[0]["session"] == "s1" and logged[0]["page"] == "/hilfe"
    assert logged[0]["decision"] == "answer" and logged[0]["article_id"] == "kuendigung-abo"
    assert fake.reload_calls == 1


def test_suggest_takes_any_language_code_the_caller_gives_and_guesses_a_third_language(setup):
    _, client, fake = setup
    given = client.post("/api/v1/suggest", json={"text": "Abo kündigen", "language": "FR"}).get_json()
    guessed = client.post("/api/v1/suggest", json={"text": "Quiero cancelar mi suscripción"}).get_json()
    assert (given["language"], guessed["language"]) == ("fr", "es")
    assert [r["language"] for r in rows(fake, "select language from inquiries order by seq")] == ["fr", "es"]


def test_suggest_no_answer_still_returns_candidates(setup):
    _, client, fake = setup
    r = client.post("/api/v1/suggest", json={"text": "Kann ich bei euch Aktien kaufen?", "language": "de"})
    body = r.get_json()
    assert r.status_code == 200 and body["decision"] == "no_answer"
    assert len(body["articles"]) == 3
    assert rows(fake, "select decision from inquiries") == [{"decision": "no_answer"}]


def test_suggest_snippet_is_escaped_before_marking(setup):
    _, client, _ = setup
    r = client.post("/api/v1/suggest", json={"text": "Zugang script sicher"})
    snippet = next(a for a in r.get_json()["articles"] if a["id"] == "xss-test")["snippet"]
    assert "<script>" not in snippet and "&lt;" in snippet
    assert "<mark>Zugang</mark>" in snippet and "<mark>sicher</mark>" in snippet and "&amp;" in snippet
    assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0


def test_suggest_redacts_personal_data_before_logging(setup):
    _, client, fake = setup
    client.post(
        "/api/v1/suggest",
        json={"text": "Abo kündigen, ich bin max.muster@example.org, IBAN DE89 3704 0044 0532 0130 00"},
    )
    text = rows(fake, "select text from inquiries")[0]["text"]
    assert "example.org" not in text and "[E-MAIL]" in text and "[IBAN]" in text


@pytest.mark.parametrize(
    "payload, fragment",
    [
        ({"text": "ab"}, "too short"),
        ({"text": "   "}, "'text'"),
        ({}, "missing field 'text'"),
        ({"text": 42}, "must be a string"),
        ({"text": "x" * 1001}, "too long"),
        ({"text": "Abo kündigen", "language": "french"}, "'language' must be an ISO 639-1 code"),
        ({"text": "Abo kündigen", "session": "s" * 129}, "'session' is too long"),
        ({"text": "Abo kündigen", "page": ["x"]}, "'page' must be a string"),
    ],
)
def test_suggest_bad_fields(setup, payload, fragment):
    _, client, fake = setup
    r = client.post("/api/v1/suggest", json=payload)
    assert r.status_code == 400
    assert r.get_json()["ok"] is False and fragment in r.get_json()["error"]
    assert rows(fake, "select count(*) as n from inquiries") == [{"n": 0}]


@pytest.mark.parametrize(
    "kwargs, status, fragment",
    [
        ({"data": "text=hallo", "content_type": "application/x-www-form-urlencoded"}, 415, "Content-Type"),
        ({"data": "{not json", "content_type": "application/json"}, 400, "not valid JSON"),
        ({"data": "", "content_type": "application/json"}, 400, "empty"),
        ({"data": "[1, 2]", "content_type": "application/json"}, 400, "JSON object"),
        ({"data": b"\xff\xfe{", "content_type": "application/json"}, 400, "not valid JSON"),
        ({"data": json.dumps({"text": "x" * 70000}), "content_type": "application/json"}, 413, "too large"),
    ],
)
def test_suggest_bad_bodies(setup, kwargs, status, fragment):
    _, client, _ = setup
    r = client.post("/api/v1/suggest", **kwargs)
    assert r.status_code == status
    assert r.get_json() == {"ok": False, "error": r.get_json()["error"]} and fragment in r.get_json()["error"]


def test_unknown_route_and_wrong_method_are_json(setup):
    _, client, _ = setup
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.get_json()["ok"] is False
    r = client.get("/api/v2/suggest")
    assert r.status_code == 404 and r.is_json
    r = client.get("/api/v1/suggest")
    assert r.status_code == 405 and r.get_json()["ok"] is False and "POST" in r.headers["Allow"]
    r = client.post("/api/v1/metrics")
    assert r.status_code == 405 and r.is_json


def test_engine_errors_become_json(setup):
    _, client, fake = setup
    fake.fail = IndexMissingError("no index yet", hint="Run `deflect index`.")
    r = client.post("/api/v1/suggest", json={"text": "Abo kündigen"})
    assert r.status_code == 409
    assert r.get_json() == {"ok": False, "error": "no index yet", "hint": "Run `deflect index`."}
    fake.fail = RuntimeError("boom at /secret/path")
    r = client.post("/api/v1/suggest", json={"text": "Abo kündigen"})
    body = r.get_json()
    assert r.status_code == 500 and body == {"ok": False, "error": "internal error", "id": body["id"]}
    assert b"Traceback" not in r.data and b"secret" not in r.data


# -- rate limits and CORS ------------------------------------------------------------------------
def test_rate_limit_per_client(tmp_path):
    app, _ = make_app(tmp_path, RATE_LIMIT={"suggest": "2/minute"})
    client = app.test_client()
    ok = [client.post("/api/v1/suggest", json={"text": "Abo kündigen"}).status_code for _ in range(2)]
    assert ok == [200, 200]
    r = client.post("/api/v1/suggest", json={"text": "Abo kündigen"})
    assert r.status_code == 429 and r.get_json()["ok"] is False
    assert 1 <= int(r.headers["Retry-After"]) <= 60   # until the end of the minute window
    other = client.post(
        "/api/v1/suggest", json={"text": "Abo kündigen"}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert other.status_code == 200
    # X-Forwarded-For is not trusted by default: a spoofed header does not get a fresh bucket.
    spoofed = client.post(
        "/api/v1/suggest", json={"text": "Abo kündigen"}, headers={"X-Forwarded-For": "1.2.3.4"}
    )
    assert spoofed.status_code == 429
    # feedback has its own bucket (unlimited here)
    assert client.post("/api/v1/feedback", json={"inquiry_id": "nope", "helpful": True}).status_code == 404
    # the results page runs the same search: the same bucket, and over it nothing is logged
    store = app.config["DEFLECTOR"].store
    logged = store.db.execute("select count(*) from inquiries").fetchone()[0]
    page = client.get("/search?q=Abo+k%C3%BCndigen")
    assert page.status_code == 429 and "Zum Kontaktformular" in page.get_data(as_text=True)
    assert "in einer Minute noch einmal" in page.get_data(as_text=True)     # busy, not "unavailable"
    assert store.db.execute("select count(*) from inquiries").fetchone()[0] == logged


def test_suggestions_go_out_while_the_database_that_counts_the_rate_is_down(tmp_path, monkeypatch):
    import sqlite3

    app, _ = make_app(tmp_path, RATE_LIMIT={"suggest": "2/minute"})
    client = app.test_client()

    def down():
        raise sqlite3.OperationalError("unable to open database file")
    monkeypatch.setattr("deflect.web.limits.get_store", down)
    answers = [client.post("/api/v1/suggest", json={"text": "Abo kündigen"}).status_code for _ in range(3)]
    assert answers == [200, 200, 200]   # not counted, not refused


def test_pages_are_nobodys_frame_and_send_no_referrer_elsewhere(tmp_path):
    app, _ = make_app(tmp_path)
    client = app.test_client()
    for path in ("/", "/search?q=Abo+k%C3%BCndigen", "/report", "/api/v1/health"):
        headers = client.get(path).headers
        assert headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"] == "same-origin" and headers["X-Content-Type-Options"] == "nosniff"


def test_pages_run_only_their_own_scripts_and_customer_texts_stay_out_of_caches(tmp_path):
    app, _ = make_app(tmp_path)
    client = app.test_client()
    assert "script-src 'self'" in client.get("/").headers["Content-Security-Policy"]
    for path in ("/search?q=Abo+k%C3%BCndigen", "/api/v1/health"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    assert client.get("/static/widget.js").headers.get("Cache-Control") != "no-store"


def test_a_foreign_page_cannot_write_into_the_report(tmp_path):
    """An image on another site pointing at the results page, a form there posting to the contact form:
    each visitor's browser would add a question to the report, or a contact to the metrics."""
    app, fake = make_app(tmp_path)
    client = app.test_client()
    logged = lambda: fake.store.db.execute("select count(*) from inquiries").fetchone()[0]   # noqa: E731
    client.get("/search?q=Gewinnspiel+Bonus+casino&session=s-img",
               headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "image"})
    assert logged() == 0
    # the widget on the team's own site opens the results page: that is the customer's question
    client.get("/search?q=Abo+k%C3%BCndigen&session=s-own",
               headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "document"})
    assert logged() == 1
    # where a widget question came from is kept hashed (never the address): one address, a few customers
    clients = [r[0] for r in fake.store.db.execute("select client from inquiries")]
    assert len(clients) == 1 and clients[0] and "127.0.0.1" not in clients[0]
    for session, site in (("s-forged", "cross-site"), ("s-own\x00", "same-origin")):
        client.post("/contact", data={"deflect_session": session, "lang": "de"}, headers={"Sec-Fetch-Site": site})
    assert [r[0] for r in fake.store.db.execute("select session from contacts")] == ["s-own"]


def test_enter_in_the_widget_opens_the_results_page_without_logging_the_question_twice(tmp_path):
    app, fake = make_app(tmp_path)
    client = app.test_client()
    logged = lambda: fake.store.db.execute("select count(*) from inquiries").fetchone()[0]   # noqa: E731
    assert client.post("/api/v1/suggest", json={"text": "Abo kündigen", "session": "s1"}).status_code == 200
    page = client.get("/search?q=Abo+k%C3%BCndigen&session=s1")
    assert page.status_code == 200 and "kündigen" in page.get_data(as_text=True)
    assert logged() == 1   # the widget's inquiry is the question's
    client.get("/search?q=Abo+pausieren&session=s1")   # another question of the session is one more
    client.get("/search?q=Abo+k%C3%BCndigen")           # without the session: somebody else's
    assert logged() == 3
    # the holdout's control group, shown nothing, is logged once too
    app, fake = make_app(tmp_path / "held", HOLDOUT=1.0)
    client = app.test_client()
    assert client.post("/api/v1/suggest", json={"text": "Abo kündigen", "session": "s2"}).get_json()["holdout"]
    client.get("/search?q=Abo+k%C3%BCndigen&session=s2")
    held = fake.store.db.execute("select count(*), max(decision) from inquiries where session = 's2'").fetchone()
    assert tuple(held) == (1, "holdout")


def test_chunked_bodies_over_the_limit_are_refused_and_ticket_ids_are_checked(tmp_path):
    app, fake = make_app(tmp_path, MAX_CONTENT_LENGTH=1024)
    client = app.test_client()
    body = b'{"text": "Abo kuendigen"' + b" " * 4000 + b"}"
    # as a server passes a chunked request on: no Content-Length, a terminated input stream
    r = client.post("/api/v1/suggest", input_stream=io.BytesIO(body), content_type="application/json",
                    headers={"Transfer-Encoding": "chunked"}, environ_base={"wsgi.input_terminated": True})
    assert r.status_code == 413 and r.get_json()["ok"] is False
    agent = bearer(new_key(fake, "agent"))
    ticket = {"subject": "Abo", "body": "Abo kündigen", "resolution": "Erledigt."}
    for tid in ("a" * 201, "a%00b"):
        r = client.put(f"/api/v1/tickets/{tid}", json=ticket, headers=agent)
        assert r.status_code == 400 and "control characters" in r.get_json()["error"], tid
    assert client.put("/api/v1/tickets/HD-1", json=ticket, headers=agent).status_code == 201


def test_rate_limit_behind_trusted_proxy(tmp_path):
    app, _ = make_app(tmp_path, RATE_LIMIT={"suggest": 1}, TRUST_PROXY=1)
    client = app.test_client()

    def post(ip):
        return client.post(
            "/api/v1/suggest", json={"text": "Abo kündigen"}, headers={"X-Forwarded-For": ip}
        ).status_code

    assert [post("1.1.1.1"), post("1.1.1.1"), post("2.2.2.2")] == [200, 429, 200]


def test_shared_limit_counts_fixed_windows(tmp_path):
    from deflect.web.limits import SharedLimit

    from deflect.settings import parse_rate
    from deflect.store import open_store

    now = [120.0]
    limit = SharedLimit("suggest", 2, 60, clock=lambda: now[0])
    store = open_store(tmp_path / "deflect.db")
    app = Flask(__name__)
    with app.app_context():
        assert [limit.take(store, "a"), limit.take(store, "a")] == [0.0, 0.0]
        now[0] = 150.0
        assert limit.take(store, "a") == pytest.approx(30.0) and limit.wait(store, "a") == pytest.approx(30.0)
        assert limit.take(store, "b") == 0.0
        now[0] = 180.0   # a new window
        assert limit.wait(store, "a") == 0.0 and limit.take(store, "a") == 0.0
    assert parse_rate("30/minute") == (30, 60.0) and parse_rate(10) == (10, 60.0)
    assert parse_rate("5/s") == (5, 1.0) and parse_rate("off") is None and parse_rate(0) is None
    with pytest.raises(ValueError):
        parse_rate("lots")


def test_cors_for_widget_origins(tmp_path):
    app, _ = make_app(tmp_path, WIDGET_ORIGINS=["https://help.example.com"])
    client = app.test_client()
    r = client.post(
        "/api/v1/suggest", json={"text": "Abo kündigen"}, headers={"Origin": "https://help.example.com"}
    )
    assert r.headers["Access-Control-Allow-Origin"] == "https://help.example.com"
    assert "Origin" in r.headers["Vary"]
    r = client.post(
        "/api/v1/suggest", json={"text": "Abo kündigen"}, headers={"Origin": "https://evil.example"}
    )
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers
    # same origin is always allowed
    r = client.post("/api/v1/suggest", json={"text": "Abo kündigen"}, headers={"Origin": "http://localhost"})
    assert r.headers["Access-Control-Allow-Origin"] == "http://localhost"
    # errors carry the CORS headers too, so the widget can read them
    r = client.post("/api/v1/suggest", json={"text": "x"}, headers={"Origin": "https://help.example.com"})
    assert r.status_code == 400 and r.headers["Access-Control-Allow-Origin"] == "https://help.example.com"


def test_cors_preflight(tmp_path):
    app, _ = make_app(tmp_path, WIDGET_ORIGINS="https://help.example.com, https://www.example.com/")
    client = app.test_client()
    pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    r = client.options("/api/v1/suggest", headers={"Origin": "https://www.example.com", **pre})
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == "https://www.example.com"
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in r.headers["Access-Control-Allow-Headers"]
    r = client.options("/api/v1/feedback", headers={"Origin": "https://evil.example", **pre})
    assert r.status_code == 403 and r.get_json()["ok"] is False
    assert "Access-Control-Allow-Origin" not in r.headers
    # admin endpoints are not for browsers on other origins
    r = client.options(
        "/api/v1/articles/x",
        headers={"Origin": "https://help.example.com", "Access-Control-Request-Method": "PUT"},
    )
    assert r.status_code == 403
    r = client.options(
        "/api/v1/suggest",
        headers={"Origin": "https://help.example.com", "Access-Control-Request-Method": "DELETE"},
    )
    assert r.status_code == 403


def test_cors_wildcard(tmp_path):
    app, _ = make_app(tmp_path, WIDGET_ORIGINS=["*"])
    r = app.test_client().post(
        "/api/v1/suggest", json={"text": "Abo kündigen"}, headers={"Origin": "https://a.b"}
    )
    assert r.headers["Access-Control-Allow-Origin"] == "https://a.b"


# -- feedback ------------------------------------------------------------------------------------
def test_feedback_events(setup):
    _, client, fake = setup
    iid = client.post("/api/v1/suggest", json={"text": "Abo kündigen", "session": "s9"}).get_json()["id"]
    r = client.post(
        "/api/v1/feedback", json={"inquiry_id": iid, "article_id": "kuendigung-abo", "helpful": True}
    )
    assert r.status_code == 201 and r.get_json()["ok"] is True and r.get_json()["event"] == "helpful"
    r = client.post("/api/v1/feedback", json={"inquiry_id": iid, "event": "contacted_support"})
    assert r.status_code == 201
    r = client.post("/api/v1/feedback", json={"inquiry_id": iid, "helpful": False, "event": "not_helpful"})
    assert r.status_code == 201
    stored = rows(
        fake, "select inquiry_id, article_id, event, session from feedback order by created_at, event"
    )
    assert {e["event"] for e in stored} == {"helpful", "contacted_support", "not_helpful"}
    assert all(e["session"] == "s9" and e["inquiry_id"] == iid for e in stored)


@pytest.mark.parametrize(
    "payload, status, fragment",
    [
        ({"inquiry_id": "unknown", "helpful": True}, 404, "no inquiry"),
        ({"helpful": True}, 400, "missing field 'inquiry_id'"),
        ({"inquiry_id": "{iid}"}, 400, "give 'event'"),
        ({"inquiry_id": "{iid}", "event": "loved_it"}, 400, "'event' must be one of"),
        ({"inquiry_id": "{iid}", "helpful": "yes"}, 400, "true or false"),
        ({"inquiry_id": "{iid}", "helpful": True, "event": "not_helpful"}, 400, "contradicts"),
        ({"inquiry_id": "{iid}", "helpful": True, "article_id": "a" * 129}, 400, "too long"),
    ],
)
def test_feedback_bad_input(setup, payload, status, fragment):
    _, client, _ = setup
    iid = client.post("/api/v1/suggest", json={"text": "Abo kündigen"}).get_json()["id"]
    payload = {k: (v.replace("{iid}", iid) if isinstance(v, str) else v) for k, v in payload.items()}
    r = client.post("/api/v1/feedback", json=payload)
    assert r.status_code == status and fragment in r.get_json()["error"]


# -- auth ----------------------------------------------------------------------------------------
def test_wrong_keys_are_throttled_and_logged(setup, caplog):
    _, client, fake = setup
    key = new_key(fake, "admin")
    with caplog.at_level("WARNING"):
        answers = [client.get("/api/v1/metrics", headers=bearer(f"dfk_guess{i}")).status_code for i in range(12)]
    assert answers[:10] == [401] * 10 and answers[10:] == [429, 429]
    assert sum("wrong API key from" in r.getMessage() for r in caplog.records) >= 10
    # While throttled even the right key is refused: a guess that hits cannot be told apart.
    r = client.get("/api/v1/metrics", headers=bearer(key))
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1 and r.get_json()["ok"] is False
    other = client.get("/api/v1/metrics", headers=bearer(key), environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 200


def test_agent_endpoint_needs_a_key(setup):
    _, client, fake = setup
    payload = {"subject": "Passwort", "body": "I forgot my password"}
    r = client.post("/api/v1/agent/suggest", json=payload)
    assert r.status_code == 401 and r.get_json()["ok"] is False and "Bearer" in r.headers["WWW-Authenticate"]
    r = client.post("/api/v1/agent/suggest", json=payload, headers=bearer("dfk_wrong"))
    assert r.status_code == 401
    key = new_key(fake, "agent", name="helpdesk")
    assert client.post("/api/v1/agent/suggest", json=payload, headers=bearer(key)).status_code == 200
    assert client.post("/api/v1/agent/suggest", json=payload, headers={"X-API-Key": key}).status_code == 200
    assert (
        client.post(
            "/api/v1/agent/suggest", json=payload, headers={"Authorization": f"bearer {key}"}
        ).status_code
        == 200
    )
    # an agent key is not an admin key
    r = client.get("/api/v1/metrics", headers=bearer(key))
    assert r.status_code == 403 and "admin" in r.get_json()["error"]
    # revoked keys stop working; the key itself is never stored
    assert key not in json.dumps(rows(fake, "select * from api_keys"))
    assert rows(fake, "select last_used_at is not null as used from api_keys") == [{"used": 1}]
    revoke_key(fake.store, "helpdesk")
    assert client.post("/api/v1/agent/suggest", json=payload, headers=bearer(key)).status_code == 401


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/v1/metrics"),
        ("get", "/api/v1/gaps"),
        ("post", "/api/v1/gaps/runs"),
        ("get", "/api/v1/gaps/runs/1"),
        ("patch", "/api/v1/gaps/t1"),
        ("put", "/api/v1/articles/a1"),
        ("delete", "/api/v1/articles/a1"),
    ],
)
def test_admin_endpoints_need_an_admin_key(setup, method, path):
    _, client, fake = setup
    assert getattr(client, method)(path, json={}).status_code == 401
    agent = new_key(fake, "agent")
    assert getattr(client, method)(path, json={}, headers=bearer(agent)).status_code == 403


# -- agent suggest -------------------------------------------------------------------------------
def test_agent_suggest_with_article_draft(setup):
    _, client, fake = setup
    key = new_key(fake, "agent")
    r = client.post(
        "/api/v1/agent/suggest",
        headers=bearer(key),
        json={"subject": "Kündigung", "body": "Ich möchte mein Abo kündigen."},
    )
    body = r.get_json()
    assert r.status_code == 200 and body["decision"] == "answer" and body["language"] == "de"
    assert body["articles"][0]["id"] == "kuendigung-abo"
    draft = body["draft"]
    types = [p["source"]["type"] for p in draft["parts"]]
    assert types == ["template", "article", "template"]
    article_part = draft["parts"][1]
    assert article_part["source"] == {
        "type": "article",
        "id": "kuendigung-abo",
        "title": "Wie kündige ich mein Abo?",
        # no help_center_url set: a path ("/hilfe/kuendigung/abo") is a dead link in an e-mail, this page is not
        "url": "http://localhost/articles/kuendigung-abo",
    }
    assert "Sie können Ihr Abo online kündigen." in article_part["text"] and "**" not in article_part["text"]
    assert "http://localhost/articles/kuendigung-abo" in article_part["text"]
    assert draft["text"].startswith("Guten Tag,") and "Freundliche Grüße" in draft["text"]
    assert draft["text"] == "\n\n".join(p["text"] for p in draft["parts"])
    logged = rows(fake, "select channel, text from inquiries")
    assert logged == [{"channel": "agent", "text": "Kündigung\nIch möchte mein Abo kündigen."}]


def test_agent_suggest_ticket_draft_and_redaction(tmp_path):
    from deflect.engine import TicketHit

    app, fake = make_app(tmp_path, HELP_CENTER_URL="https://help.example.com", DRAFT_TICKET_MIN_SCORE=0.5)
    client = app.test_client()
    key = new_key(fake, "admin")
    fake.raw_tickets = [
        TicketHit(
            "T-1",
            0.8,
            "Lieferung an anna@example.com",
            "Tel. 0170 1234567 bitte",
            "Nachgeliefert, Gutschrift auf DE89 3704 0044 0532 0130 00.",
            None,
            "de",
        )
    ]
    r = client.post(
        "/api/v1/agent/suggest",
        headers=bearer(key),
        json={"body": "Meine Zeitung wurde heute wieder nicht geliefert", "language": "de"},
    )
    body = r.get_json()
    assert body["decision"] == "no_answer"
    ticket = body["tickets"][0]
    dump = json.dumps({k: v for k, v in body.items() if k != "id"})  # the random inquiry id may hold "3704"
    assert "anna@example.com" not in dump and "1234567" not in dump and "3704" not in dump
    assert ticket["subject"] == "Lieferung an [E-MAIL]" and "[PHONE]" in ticket["body"]
    assert set(ticket) == {"id", "score", "subject", "body", "resolution", "article_id", "inferred_article"}
    part = body["draft"]["parts"][1]
    assert part["source"]["type"] == "ticket" and part["source"]["id"] == "T-1"
    assert part["text"] == "Nachgeliefert, Gutschrift auf [IBAN]."


def test_agent_draft_never_sends_another_customers_resolution_by_default(tmp_path):
    from deflect.engine import TicketHit

    app, fake = make_app(tmp_path)
    key = new_key(fake, "admin")
    fake.raw_tickets = [TicketHit("T-1", 0.95, "Umzug", "", "Neue Lieferadresse ab dem 1. August hinterlegt.",
                                  None, "de")]
    body = app.test_client().post("/api/v1/agent/suggest", headers=bearer(key),
                                  json={"body": "Wir ziehen im März nach Bonn", "language": "de"}).get_json()
    assert body["tickets"][0]["resolution"].startswith("Neue Lieferadresse")   # shown as a similar ticket
    assert "1. August" not in body["draft"]["text"]                                 # never as the reply
    assert [p["source"]["id"] for p in body["draft"]["parts"]] == ["greeting", "fallback", "closing"]


def test_agent_suggest_fallback_and_english(setup):
    _, client, fake = setup
    key = new_key(fake)
    fake.raw_tickets = []
    r = client.post(
        "/api/v1/agent/suggest", headers=bearer(key), json={"body": "Can I buy shares of your company?"}
    )
    draft = r.get_json()["draft"]
    assert r.get_json()["language"] == "en" and draft["text"].startswith("Hello,")
    assert [p["source"]["id"] for p in draft["parts"]] == ["greeting", "fallback", "closing"]


def test_agent_suggest_short_german_ticket_gets_german(setup):
    _, client, fake = setup
    fake.raw_tickets = []
    body = client.post("/api/v1/agent/suggest", headers=bearer(new_key(fake)),
                       json={"body": "App zeigt E 409 an"}).get_json()   # no German stop word, "an" a particle
    assert body["language"] == "de" and body["draft"]["text"].startswith("Guten Tag,")


def test_agent_suggest_english_article_link(tmp_path):
    app, fake = make_app(tmp_path, HELP_CENTER_URL="https://help.example.com/")
    key = new_key(fake, "agent")
    r = app.test_client().post(
        "/api/v1/agent/suggest",
        headers=bearer(key),
        json={"subject": "password", "body": "I forgot my password, how can I reset it?"},
    )
    part = r.get_json()["draft"]["parts"][1]
    assert part["source"]["url"] == "https://help.example.com/help/en/password"
    assert part["text"].startswith("Click Forgot password on the login page. We send you")


@pytest.mark.parametrize(
    "payload, fragment",
    [
        ({}, "give the ticket's 'body'"),
        ({"subject": "", "body": "hi"}, "at least 3"),
        ({"body": "x" * 20001}, "too long"),
        ({"body": ["list"]}, "must be a string"),
        ({"body": "Abo kündigen", "language": "italian"}, "'language' must be an ISO 639-1 code"),
    ],
)
def test_agent_suggest_bad_input(setup, payload, fragment):
    _, client, fake = setup
    r = client.post("/api/v1/agent/suggest", headers=bearer(new_key(fake)), json=payload)
    assert r.status_code == 400 and fragment in r.get_json()["error"]


# -- articles ------------------------------------------------------------------------------------
def test_put_article_json_then_searchable(setup):
    _, client, fake = setup
    key = new_key(fake)
    article = {
        "title": "Urlaubsservice für die Zeitung",
        "body": "Pausieren Sie die Zustellung im Urlaub online.",
        "questions": ["Zeitung im Urlaub pausieren"],
        "tags": ["zustellung"],
        "url": "/hilfe/urlaub",
    }
    r = client.put("/api/v1/articles/zustellung-urlaub", json=article, headers=bearer(key))
    assert r.status_code == 201
    body = r.get_json()
    assert (
        body["created"] is True
        and body["article"]["language"] == "de"
        and body["article"]["id"] == "zustellung-urlaub"
    )
    r = client.post("/api/v1/suggest", json={"text": "Zeitung im Urlaub pausieren"})
    assert r.get_json()["articles"][0]["id"] == "zustellung-urlaub"
    article["body"] += " Oder rufen Sie uns an."
    r = client.put("/api/v1/articles/zustellung-urlaub", json=article, headers=bearer(key))
    assert r.status_code == 200 and r.get_json()["created"] is False and r.get_json()["changed"] is True
    r = client.put("/api/v1/articles/zustellung-urlaub", json=article, headers=bearer(key))
    assert r.status_code == 200 and r.get_json()["changed"] is False
    assert fake.store.get_article("zustellung-urlaub").source == "api"


def test_put_article_markdown(setup):
    _, client, fake = setup
    md = (
        '---\ntitle: "Rechnung: Wo finde ich sie?"\nlanguage: de\nquestions:\n  - Rechnung herunterladen\n'
        "tags: [rechnung]\n---\nIhre Rechnungen finden Sie im Kundenkonto unter *Rechnungen*.\n"
    )
    r = client.put(
        "/api/v1/articles/rechnung-abrufen",
        data=md.encode(),
        content_type="text/markdown; charset=utf-8",
        headers=bearer(new_key(fake)),
    )
    assert r.status_code == 201
    a = fake.store.get_article("rechnung-abrufen")
    assert a.title == "Rechnung: Wo finde ich sie?" and a.questions == ["Rechnung herunterladen"]
    assert a.body.startswith("Ihre Rechnungen finden")


def test_an_article_ingested_from_a_file_with_umlauts_can_be_updated_through_the_api(setup):
    # `deflect ingest` takes the id from the file name (kündigung.md -> kündigung); the API takes the same ids
    _, client, fake = setup
    r = client.put("/api/v1/articles/kündigung", json={"title": "Kündigung", "body": "So kündigen Sie."},
                   headers=bearer(new_key(fake)))
    assert r.status_code == 201 and fake.store.get_article("kündigung").title == "Kündigung"


@pytest.mark.parametrize(
    "article_id, kwargs, status, fragment",
    [
        ("a1", {"json": {"body": "no title"}}, 400, "missing field 'title'"),
        ("a1", {"json": {"title": "T", "body": ""}}, 400, "'body'"),
        ("a1", {"json": {"title": "T", "body": "B", "id": "other"}}, 400, "differs"),
        ("a1", {"json": {"title": "T", "body": "B", "url": "javascript:alert(1)"}}, 400, "'url'"),
        ("a1", {"json": {"title": "T", "body": "B", "url": "//evil.example/x"}}, 400, "'url'"),
        ("a1", {"json": {"title": "T", "body": "B", "url": "/\\evil.example/phish"}}, 400, "'url'"),
        ("a1", {"json": {"title": "T", "body": "B", "language": "deutsch"}}, 400, "ISO 639-1"),
        ("a1", {"json": {"title": "T", "body": "B", "questions": [1, 2]}}, 400, "list of strings"),
        ("a1", {"json": {"title": "T", "body": "B", "tags": ["t"] * 51}}, 400, "too many"),
        ("a1", {"json": {"title": "T" * 301, "body": "B"}}, 400, "too long"),
        ("bad id!", {"json": {"title": "T", "body": "B"}}, 400, "article id"),
        ("a1", {"data": "title: T", "content_type": "text/plain"}, 415, "text/markdown"),
        ("a1", {"data": "---\ntitle: [unclosed\n---\nbody", "content_type": "text/markdown"}, 400,
         "invalid YAML front matter on line 2"),
        ("a1", {"data": "---\n- a\n- b\n---\nbody", "content_type": "text/markdown"}, 400, "title"),
        ("a1", {"data": b"---\ntitle: T\n---\n\xff\xfe", "content_type": "text/markdown"}, 400, "UTF-8"),
        (
            "a1",
            {"data": "---\ntitle: T\n---\n" + "x" * 1_100_000, "content_type": "text/markdown"},
            413,
            "too large",
        ),
    ],
)
def test_put_article_bad_input(setup, article_id, kwargs, status, fragment):
    _, client, fake = setup
    r = client.put(f"/api/v1/articles/{article_id}", headers=bearer(new_key(fake)), **kwargs)
    assert r.status_code == status, r.get_json()
    assert r.get_json()["ok"] is False and fragment in r.get_json()["error"]


def test_put_article_allows_bodies_over_the_general_limit(setup):
    _, client, fake = setup
    r = client.put(
        "/api/v1/articles/long",
        headers=bearer(new_key(fake)),
        json={"title": "Long", "body": "Wort " * 30000},
    )
    assert r.status_code == 201


def test_delete_article(setup):
    _, client, fake = setup
    key = new_key(fake)
    r = client.delete("/api/v1/articles/kuendigung-abo", headers=bearer(key))
    assert r.status_code == 200 and r.get_json() == {"ok": True, "deleted": "kuendigung-abo"}
    ids = [
        a["id"] for a in client.post("/api/v1/suggest", json={"text": "Abo kündigen"}).get_json()["articles"]
    ]
    assert "kuendigung-abo" not in ids
    r = client.delete("/api/v1/articles/kuendigung-abo", headers=bearer(key))
    assert r.status_code == 404 and r.get_json()["ok"] is False


# -- metrics -------------------------------------------------------------------------------------
def _inquiry(store, iid, created, decision, session=None, channel="widget", text="q"):
    store.db["inquiries"].insert(
        {"id": iid, "text": text, "language": "de", "created_at": created, "decision": decision,
         "confidence": 0.5, "article_id": None, "channel": channel, "session": session, "page": None}
    )


def _event(store, inquiry_id, event, article_id=None):
    store.db["feedback"].insert(
        {"id": uuid.uuid4().hex, "inquiry_id": inquiry_id, "article_id": article_id, "event": event,
         "session": None, "created_at": "2026-03-02T10:00:00+00:00"}
    )


def test_metrics_definitions(tmp_path):
    from datetime import date

    from deflect.web.metrics import compute

    from deflect.store import Store

    store = Store(tmp_path / "m.db")
    d1, d2 = "2026-03-01T09:00:00+00:00", "2026-03-02T09:00:00+00:00"
    # day 1: session A saw an answer and was deflected; session B saw an answer then contacted support;
    #        session C got no answer; one inquiry without session got an answer; one agent inquiry.
    _inquiry(store, "a1", d1, "answer", "A", text="Abo kündigen")
    _inquiry(store, "a2", d1, "no_answer", "A", text="Aktien kaufen")
    _inquiry(store, "b1", d1, "answer", "B")
    _inquiry(store, "c1", d1, "no_answer", "C", text="aktien kaufen ")
    _inquiry(store, "n1", d1, "answer", None)
    _inquiry(store, "x1", d1, "answer", "Z", channel="agent")
    # day 2: session D saw an answer, voted helpful twice for the same article (counted once); session E
    #        saw an answer, said it did not help and left: not deflected; session F said "not helpful" to
    #        one answer and "helpful" to the next: deflected
    _inquiry(store, "d1", d2, "answer", "D")
    _inquiry(store, "e1", d2, "answer", "E")
    _inquiry(store, "f1", d2, "answer", "F")
    _inquiry(store, "f2", d2, "answer", "F")
    _event(store, "e1", "not_helpful", "art")
    _event(store, "f1", "not_helpful", "art")
    _event(store, "f2", "helpful", "other")
    _event(store, "a1", "helpful", "art")
    _event(store, "b1", "not_helpful", "art")
    _event(store, "b1", "contacted_support")
    _event(store, "d1", "helpful", "art")
    _event(store, "d1", "helpful", "art")
    _event(store, "d1", "clicked", "art")
    m = compute(store, days=3, today=date(2026, 3, 2))
    assert [d["date"] for d in m["days"]] == ["2026-02-28", "2026-03-01", "2026-03-02"]
    empty, day1, day2 = m["days"]
    assert empty["inquiries"] == 0 and empty["deflection_rate"] is None and empty["helpful_rate"] is None
    assert (day1["inquiries"], day1["sessions"], day1["answered"], day1["no_answer"]) == (5, 4, 3, 2)
    assert (day1["helpful"], day1["not_helpful"], day1["contacted_support"]) == (1, 1, 1)
    # sessions with a suggestion: A, B, n1 -> deflected: A, n1
    assert day1["sessions_with_suggestion"] == 3 and day1["deflected_sessions"] == 2
    assert day1["deflection_rate"] == round(2 / 3, 4)
    assert day1["helpful_rate"] == 0.5 and day1["no_answer_rate"] == 0.4
    assert (day2["helpful"], day2["not_helpful"], day2["sessions_with_suggestion"], day2["deflected_sessions"]) \
        == (2, 2, 3, 2)
    t = m["totals"]
    counts = (t["inquiries"], t["sessions"], t["sessions_with_suggestion"], t["deflected_sessions"])
    assert counts == (9, 7, 6, 4)
    assert t["deflection_rate"] == round(4 / 6, 4) and t["helpful_rate"] == 0.5
    top = m["top_unanswered"][0]
    assert top["count"] == 2 and top["text"].strip().lower() == "aktien kaufen"
    everything = compute(store, days=3, channel=None, today=date(2026, 3, 2))
    assert everything["totals"]["inquiries"] == 10
    store.close()



def test_metrics_leave_out_the_stages_of_a_typed_question(tmp_path):
    from datetime import date

    from deflect.web.metrics import compute

    from deflect.store import Store

    store = Store(tmp_path / "m.db")
    at = "2026-03-01T09:00:00+00:00"
    for s in "ABC":   # search-as-you-type logs each pause: the first word of every question is a stage
        _inquiry(store, f"{s}1", at, "no_answer", s, text="Meine")
        _inquiry(store, f"{s}2", at, "no_answer", s, text="Meine Zeitung ist nass")
    _inquiry(store, "D1", at, "no_answer", "D", text="Meine")   # nothing typed on: asked as it stands
    _inquiry(store, "D2", at, "answer", "D", text="Abo kündigen")
    m = compute(store, days=1, today=date(2026, 3, 1))
    assert m["top_unanswered"] == [{"text": "Meine Zeitung ist nass", "count": 3}, {"text": "Meine", "count": 1}]
    t = m["totals"]   # the questions asked: the stages are no inquiries of their own
    assert (t["inquiries"], t["no_answer"], t["answered"], t["sessions"], t["no_answer_rate"]) == (5, 4, 1, 4, 0.8)
    store.close()

def test_metrics_endpoint(setup):
    _, client, fake = setup
    key = new_key(fake)
    iid = client.post("/api/v1/suggest", json={"text": "Abo kündigen", "session": "s"}).get_json()["id"]
    client.post("/api/v1/feedback", json={"inquiry_id": iid, "helpful": True, "article_id": "kuendigung-abo"})
    client.post("/api/v1/suggest", json={"text": "Aktien kaufen"})
    r = client.get("/api/v1/metrics?days=7", headers=bearer(key))
    body = r.get_json()
    assert r.status_code == 200 and body["ok"] is True and len(body["days"]) == 7
    today = body["days"][-1]
    assert today["inquiries"] == 2 and today["helpful"] == 1 and today["deflection_rate"] == 1.0
    assert today["no_answer_rate"] == 0.5 and body["top_unanswered"] == [
        {"text": "Aktien kaufen", "count": 1}
    ]
    for query in ("days=0", "days=abc", "days=400", "channel=fax", "top=0"):
        r = client.get(f"/api/v1/metrics?{query}", headers=bearer(key))
        assert r.status_code == 400 and r.get_json()["ok"] is False
    assert (
        client.get("/api/v1/metrics?channel=all", headers=bearer(key)).get_json()["totals"]["inquiries"] == 2
    )


# -- gaps ----------------------------------------------------------------------------------------
def crc_words(text: str) -> np.ndarray:
    """Hashed word stems in 256 dimensions: the gap report's clustering needs few collisions."""
    out = np.zeros(256, np.float32)
    for word in {w[:5] for w in re.findall(r"\w+", text.lower()) if len(w) >= 4}:
        out[zlib.crc32(word.encode()) % 256] += 1.0
    return out / max(float(np.linalg.norm(out)), 1e-9)


SHARES = [Ticket(f"A-{i}", "Aktien kaufen", f"Kann ich Aktien des Verlags kaufen? Depot {1000 + i}", "Nein.",
                 None, "de") for i in range(6)]


@pytest.fixture()
def gaps_app(tmp_path):
    """An app over a home whose tickets hold one uncovered topic (six questions about shares)."""
    home = Home.resolve(tmp_path / "home").ensure()
    engine = FakeDeflector(home, tickets=TICKETS + SHARES, vector=crc_words)
    app, _ = make_app(tmp_path, DEFLECTOR=engine)
    return app.test_client(), engine, new_key(engine)


def _stored(engine) -> str:
    """Build the stored report (a real run); returns the shares topic's id."""
    run_now(engine)
    [topic] = list_topics(engine.store)
    assert {m.id for m in topic.members} == {t.id for t in SHARES}
    return topic.id


def test_gaps_report_is_built_once_then_read(gaps_app):
    client, engine, key = gaps_app
    r = client.get("/api/v1/gaps", headers=bearer(key))      # no report yet: the first run starts
    body = r.get_json()
    assert r.status_code == 200 and body["generated_at"] is None and body["topics"] == []
    assert body["run"]["state"] in ("running", "done") and body["run"]["trigger"] == "api"
    assert wait(engine.store, body["run"]["id"]).state == "done"
    body = client.get("/api/v1/gaps", headers=bearer(key)).get_json()
    assert body["generated_at"] and body["run"]["state"] == "done" and body["counts"]["topics"] == 1
    [topic] = body["topics"]
    assert topic["size"] == 6 and topic["status"] == "new" and topic["sources"]["ticket"] == 6
    assert client.get("/api/v1/gaps?status=dismissed", headers=bearer(key)).get_json()["topics"] == []
    # reading does not build again
    assert client.get("/api/v1/gaps", headers=bearer(key)).get_json()["run"]["id"] == body["run"]["id"]


def test_gaps_report_csv_and_bad_queries(gaps_app):
    client, engine, key = gaps_app
    tid = _stored(engine)
    client.patch(f"/api/v1/gaps/{tid}", headers=bearer(key),
                 json={"status": "planned", "owner": "=HYPERLINK(\"http://evil\")", "due": "2026-04-01",
                           "force": True})
    r = client.get("/api/v1/gaps?format=csv", headers=bearer(key))
    # German Excel splits a .csv on ";" whatever its quotes: no part of a text between semicolons is a formula
    assert client.patch(f"/api/v1/gaps/{tid}", headers=bearer(key),
                        json={"status": "planned", "owner": "Team;=5+5; @SUM(A1)", "due": "2026-04-01",
                              "force": True}).status_code == 200
    split = [cell for line in client.get("/api/v1/gaps?format=csv", headers=bearer(key)).data.decode().splitlines()
             for cell in next(csv.reader([line], delimiter=";"))]
    assert "Team" in "".join(split) and not any(c.strip().startswith(("=", "@", "+", "-")) for c in split[1:])
    client.patch(f"/api/v1/gaps/{tid}", headers=bearer(key), json={
        "status": "planned", "owner": "=HYPERLINK(\"http://evil\")", "due": "2026-04-01", "force": True})
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    lines = r.data.decode().splitlines()
    assert lines[0].startswith("id,status,overdue,size,") and len(lines) == 2
    assert lines[1].startswith(f"{tid},planned,")
    # customer or agent text cannot become a spreadsheet formula
    row = dict(zip(next(csv.reader([lines[0]])), next(csv.reader([lines[1]])), strict=True))
    assert row["owner"] == "'=HYPERLINK(\"http://evil\")" and row["tickets"] == "6"
    assert row["fix"] in ("article", "product", "process") and row["reason"] == ""   # a dismissal's reason there
    # the same rows as an Excel workbook: numbers are numbers, the owner's text stays text
    r = client.get("/api/v1/gaps?format=xlsx", headers=bearer(key))
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    assert 'filename="deflect-gaps.xlsx"' in r.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    header, values = (list(v) for v in sheet.values)
    book = dict(zip(header, values, strict=True))
    assert header == next(csv.reader([lines[0]])) and book["id"] == tid and book["tickets"] == 6
    assert book["owner"] == "=HYPERLINK(\"http://evil\")" and sheet["I2"].data_type == "s"
    # a German content team's workbook: its header row and the workflow's words in German, with the
    # nearest article's title and example questions to write from
    r = client.get("/api/v1/gaps?format=xlsx&lang=de", headers=bearer(key))
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    header, values = (list(v) for v in sheet.values)
    german = dict(zip(header, values, strict=True))
    assert sheet.title == "Themen ohne Artikel" and german["Thema"] == tid and german["Status"] == "geplant"
    assert german["Zuständig"] == "=HYPERLINK(\"http://evil\")" and german["Beispielfragen"]
    assert book["examples"] == german["Beispielfragen"] and "nearest_title" in book
    for query in ("format=xlsx&lang=fr", "format=xml", "status=closed", "min_size=3", "period_days=7"):
        r = client.get(f"/api/v1/gaps?{query}", headers=bearer(key))
        assert r.status_code == 400, query
    assert "POST /api/v1/gaps/runs" in r.get_json()["hint"]


def test_gaps_runs_one_at_a_time(gaps_app):
    client, engine, key = gaps_app
    r = client.post("/api/v1/gaps/runs", headers=bearer(key), json={"min_size": 3, "period_days": 7})
    assert r.status_code == 202
    run = r.get_json()["run"]
    assert run["options"] == {"min_size": 3, "period_days": 7} and run["trigger"] == "api"
    assert wait(engine.store, run["id"]).state == "done"
    r = client.get(f"/api/v1/gaps/runs/{run['id']}", headers=bearer(key))
    assert r.status_code == 200 and r.get_json()["run"]["state"] == "done"
    body = client.get("/api/v1/gaps", headers=bearer(key)).get_json()
    assert body["params"]["min_size"] == 3 and body["params"]["period_days"] == 7
    assert body["topics"][0]["trend"]["period_days"] == 7
    # while a run goes on (here: one claimed by another process), a request gets that run
    other, started = claim(engine.store, None, "cli")
    assert started and other.options.min_size == 3           # a run without options keeps the last ones
    r = client.post("/api/v1/gaps/runs", headers=bearer(key))
    assert r.status_code == 200 and r.get_json()["run"]["id"] == other.id
    assert r.get_json()["run"]["state"] == "running"
    assert execute(engine, other).state == "done"
    for payload in ({"min_size": 1}, {"min_size": "5"}, {"period_days": 0}, {"min_size": True}):
        assert client.post("/api/v1/gaps/runs", headers=bearer(key), json=payload).status_code == 400, payload
    r = client.get("/api/v1/gaps/runs/999", headers=bearer(key))
    assert r.status_code == 404 and r.get_json()["ok"] is False


def test_gaps_workflow(gaps_app):
    client, engine, key = gaps_app
    tid = _stored(engine)

    def listed(status="open"):
        topics = client.get(f"/api/v1/gaps?status={status}", headers=bearer(key)).get_json()["topics"]
        return {t["id"]: t for t in topics}

    r = client.patch(f"/api/v1/gaps/{tid}", headers=bearer(key),
                     json={"status": "planned", "owner": "anna", "due": "2020-04-01"})
    assert r.status_code == 422 and "due date 2020-04-01 is in the past" in r.get_json()["error"]
    assert listed()[tid]["status"] == "new"
    r = client.patch(f"/api/v1/gaps/{tid}", headers=bearer(key),
                     json={"status": "planned", "owner": "anna", "due": "2020-04-01", "force": True})
    assert r.status_code == 200 and r.get_json()["topic"]["owner"] == "anna"
    assert listed()[tid]["status"] == "planned" and listed()[tid]["overdue"] is True
    r = client.patch(f"/api/v1/gaps/{tid}", headers=bearer(key),
                     json={"status": "dismissed", "reason": "not our business"})
    assert r.status_code == 200 and r.get_json()["status"] == "dismissed"
    assert tid not in listed() and listed("dismissed")[tid]["reason"] == "not our business"
    r = client.patch(f"/api/v1/gaps/{tid}", headers=bearer(key), json={"status": "new"})
    assert r.status_code == 200 and listed()[tid]["status"] == "new"
    for payload, status in [
        ({"status": "planned"}, 400),
        ({"status": "planned", "owner": "a"}, 400),
        ({"status": "planned", "owner": "a", "due": "soon"}, 400),
        ({"status": "dismissed"}, 400),
        ({"status": "done"}, 400),
        ({}, 400),
        ({"status": "new", "reason": "x"}, 409),        # it is new already
    ]:
        r = client.patch(f"/api/v1/gaps/{tid}", headers=bearer(key), json=payload)
        assert r.status_code == status, payload
    r = client.patch("/api/v1/gaps/G-0999", headers=bearer(key), json={"status": "new"})
    assert r.status_code == 404 and r.get_json()["ok"] is False


# -- misc ----------------------------------------------------------------------------------------
def test_health_and_openapi_are_public(setup):
    _, client, _ = setup
    spool = {"pending": False, "spooled": 0, "dropped": 0, "drained": 0}
    assert client.get("/api/v1/health").get_json() == {"ok": True, "articles": 3, "tickets": 2, "database": "ok",
                                                       "spool": spool, "index": {"ok": True, "problem": None},
                                                       "calibration": {"source": None, "fitted_at": None,
                                                                       "fitted_on": "none: run `deflect calibrate "
                                                                                    "[LABELLED.jsonl]`",
                                                                       "caveat": None}}
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1") and "/api/v1/suggest" in doc["paths"]


def test_create_app_loads_deflector_once(tmp_path, monkeypatch):
    from api_support import help_desk
    from deflect.web import create_app

    import deflect.deflector as engine
    from deflect.home import Home

    opened = []

    def fake_open(home, model=None):
        opened.append(home)
        return help_desk(Home.resolve(home.path))

    monkeypatch.setattr(engine.Deflector, "open", staticmethod(fake_open))
    app = create_app({"TESTING": True, "DEFLECT_HOME": str(tmp_path / "h"), "RATE_LIMIT": 0})
    client = app.test_client()
    for _ in range(3):
        assert client.post("/api/v1/suggest", json={"text": "Abo kündigen"}).status_code == 200
    assert len(opened) == 1 and opened[0].path == (tmp_path / "h").resolve()


def test_article_push_covers_a_gap_and_refreshes_the_report(gaps_app, monkeypatch):
    client, engine, key = gaps_app
    tid = _stored(engine)
    first = latest_run(engine.store)
    article = {"title": "Aktien des Verlags kaufen", "body": "Der Verlag ist nicht börsennotiert."}
    r = client.put("/api/v1/articles/aktien", json=article, headers=bearer(key))
    assert r.status_code == 201 and r.get_json()["covered_topics"] == [tid]
    run = latest_run(engine.store)                  # the stored report is built again in the background
    assert run.id > first.id and run.trigger == "article" and wait(engine.store, run.id).state == "done"
    body = client.get("/api/v1/gaps?status=covered", headers=bearer(key)).get_json()
    assert [t["covered_by"] for t in body["topics"]] == ["aktien"] and body["run"]["id"] >= run.id

    def broken(deflector):
        raise RuntimeError("report broke")

    import deflect.web.api.admin as admin
    monkeypatch.setattr(admin, "check_coverage", broken)
    article["body"] += " Aktien gibt es nicht."
    r = client.put("/api/v1/articles/aktien", json=article, headers=bearer(key))
    assert r.status_code == 200 and r.get_json()["covered_topics"] == []
    # the article deleted again: its topic is a gap again, back in the open list
    assert client.delete("/api/v1/articles/aktien", headers=bearer(key)).status_code == 200
    topic = client.get(f"/api/v1/gaps/{tid}", headers=bearer(key)).get_json()["topic"]
    assert topic["status"] == "new" and topic["covered_by"] is None
    assert tid in [t["id"] for t in client.get("/api/v1/gaps", headers=bearer(key)).get_json()["topics"]]


# -- hostile input gets a 400, not a 500 -----------------------------------------------------------
@pytest.mark.parametrize("path,payload", [
    ("/api/v1/suggest", '{"text": "\\ud800 Abo kündigen"}'),
    ("/api/v1/agent/suggest", '{"subject": "Abo", "body": "\\udfff kündigen"}'),
    ("/api/v1/articles/a1", '{"title": "Abo", "body": "Text", "questions": ["\\ud800"]}'),
    ("/api/v1/articles/a1", '{"title": "Abo", "body": "Text", "url": "/\\ud800"}'),
])
def test_lone_surrogates_are_refused(setup, path, payload):
    _, client, fake = setup
    method = client.put if "/articles/" in path else client.post
    r = method(path, data=payload, content_type="application/json", headers=bearer(new_key(fake)))
    assert r.status_code == 400 and "invalid Unicode" in r.get_json()["error"]


def test_control_characters_and_invisible_text_are_refused(setup):
    # a NUL cannot be stored in PostgreSQL; zero-width spaces are no question
    _, client, _ = setup
    r = client.post("/api/v1/suggest", data='{"text": "Zeitung\\u0000 fehlt"}', content_type="application/json")
    assert r.status_code == 400 and "control character (U+0000)" in r.get_json()["error"]
    r = client.post("/api/v1/suggest", json={"text": "\u200b\u200b\u200b\u200b"})
    assert r.status_code == 400 and "too short" in r.get_json()["error"]


def test_deeply_nested_json_is_refused(setup):
    _, client, _ = setup
    body = '{"text": ' + "[" * 1000 + "]" * 1000 + "}"
    r = client.post("/api/v1/suggest", data=body, content_type="application/json")
    assert r.status_code == 400 and r.get_json() == {"ok": False, "error": "request body is nested too deeply"}


# -- server faults and declared client errors ----------------------------------------------------
def suggest_failing(setup, error: Exception):
    """POST /api/v1/suggest while the engine raises ``error``."""
    _, client, fake = setup
    fake.fail = error
    return client.post("/api/v1/suggest", json={"text": "Abo kündigen"})


def test_os_error_is_a_500_without_the_path_and_with_a_logged_id(setup, caplog):
    with caplog.at_level("ERROR"):
        r = suggest_failing(setup, OSError("/srv/secret/path: No space left on device"))
    body = r.get_json()
    assert r.status_code == 500 and body["ok"] is False and body["error"] == "internal error"
    assert b"/srv" not in r.data and b"secret" not in r.data and b"No space" not in r.data
    logged = [rec for rec in caplog.records if body["id"] in rec.getMessage()]
    assert logged and logged[0].exc_info is not None  # the traceback is in the log, not in the answer


def test_undeclared_deflect_error_is_a_server_fault(setup):
    from deflect.errors import DeflectError
    r = suggest_failing(setup, DeflectError("cannot load the embedding model '/models/x': disk full",
                                            hint="Check /models."))
    assert r.status_code == 500 and set(r.get_json()) == {"ok", "error", "id"}
    assert b"models" not in r.data


def test_declared_client_error_keeps_its_message(setup):
    from deflect.errors import DeflectError

    class QuotaError(DeflectError):  # declared a client error by its status
        status = 429

    r = suggest_failing(setup, QuotaError("too many inquiries today", hint="Try again tomorrow."))
    assert r.status_code == 429
    assert r.get_json() == {"ok": False, "error": "too many inquiries today", "hint": "Try again tomorrow."}


def test_index_errors_stay_409_without_absolute_paths(setup):
    from deflect.errors import IndexMismatchError
    r = suggest_failing(setup, IndexMissingError("no index in /srv/deflect/home/index", hint="Run `deflect index`."))
    assert r.status_code == 409
    assert r.get_json() == {"ok": False, "error": "no index in …/index", "hint": "Run `deflect index`."}
    r = suggest_failing(setup, IndexMismatchError("/srv/deflect/home/index/vectors.faiss failed its checksum"))
    assert r.status_code == 409 and r.get_json()["error"] == "…/vectors.faiss failed its checksum"


# -- every /api/ answer is JSON ---------------------------------------------------------------------
def test_plain_options_lists_the_methods_as_json(setup):
    _, client, _ = setup
    r = client.options("/api/v1/suggest")
    assert r.status_code == 200 and r.get_json() == {"ok": True, "methods": ["POST"]}
    assert r.headers["Allow"] == "POST"
    r = client.options("/api/v1/nothing-here")
    assert r.status_code == 404 and r.get_json()["ok"] is False


def test_double_slashes_and_long_urls_answer_json(setup):
    _, client, _ = setup
    # As a server reads "GET //api/v1/health" (the test client would take "//api" for a host name).
    r = client.get("/", environ_overrides={"PATH_INFO": "//api/v1/health"})
    assert r.status_code == 200 and r.get_json()["ok"] is True  # no redirect elsewhere
    r = client.get("/", environ_overrides={"PATH_INFO": "//api/v1//nothing"})
    assert r.status_code == 404 and r.get_json()["ok"] is False
    r = client.get("/api/v1/health?q=" + "x" * 5000)
    assert r.status_code == 414 and r.get_json()["error"].startswith("URL too long")
