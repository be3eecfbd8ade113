"""The generic tickets API for help desks without a connector: one ticket (PUT) or a batch (POST),
checked like `deflect ingest`, stored redacted and searchable at once."""
from __future__ import annotations

import json

import pytest
from api_support import bearer, make_app, new_key
from test_api_openapi import check

# every test here runs on both store backends (SQLite, PostgreSQL): see conftest.database
pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture()
def env(tmp_path):
    app, fake = make_app(tmp_path)
    client = app.test_client()
    return client, fake, bearer(new_key(fake, "agent")), client.get("/api/v1/openapi.json").get_json()


def test_put_ticket_creates_then_updates(env):
    client, fake, auth, doc = env
    body = {"subject": "Abo kündigen", "body": "Wie kündige ich? Max Mustermann, max@example.com",
            "resolution": "Online gekündigt.", "article_id": "kuendigung-abo", "customer_name": "Max Mustermann",
            "created_at": "2026-11-30T09:15:00+01:00"}
    first = client.put("/api/v1/tickets/HD-1", json=body, headers=auth)
    assert first.status_code == 201 and first.get_json() == {"ok": True, "id": "HD-1", "created": True,
                                                             "changed": False, "resolved": True, "erased": False}
    check(doc, "put", "/api/v1/tickets/{ticket_id}", first)
    again = client.put("/api/v1/tickets/HD-1", json=body, headers=auth)
    assert again.status_code == 200 and again.get_json()["created"] is False and again.get_json()["changed"] is False
    changed = client.put("/api/v1/tickets/HD-1", json={**body, "resolution": "Per Brief."}, headers=auth)
    assert changed.get_json()["changed"] is True
    row = fake.store.get_tickets(["HD-1"])["HD-1"]
    assert row["article_id"] == "kuendigung-abo" and "Mustermann" not in row["body"] and "max@" not in row["body"]
    assert row["created_at"] == "2026-11-30T08:15:00+00:00"   # stored in UTC
    # searchable at once: the engine has it
    assert any(t.id == "HD-1" for t in fake.suggest("Abo kündigen", with_tickets=3).tickets)


@pytest.mark.parametrize("body, status, message", [
    ({"subject": "x", "body": "y", "id": "other"}, 409, "not the URL's"),
    ({"subject": "", "body": ""}, 400, "neither 'subject' nor 'body'"),
    ({"body": "y", "article_id": "nope"}, 409, "unknown article_id 'nope'"),
    ({"body": "y", "language": "german"}, 400, "ISO 639-1"),
    ({"body": ["list"]}, 400, "must be text"),
    ({"body": "y", "created_at": "31.12.2025 14:05"}, 400, "created_at '31.12.2025 14:05': not a date and time"),
    ({"body": "y", "created_at": 0}, 400, "created_at '0': not a date and time"),
])
def test_put_ticket_validation(env, body, status, message):
    client, _, auth, doc = env
    response = client.put("/api/v1/tickets/HD-2", json=body, headers=auth)
    assert response.status_code == status and message in response.get_json()["error"]
    check(doc, "put", "/api/v1/tickets/{ticket_id}", response)


def test_tickets_need_a_key(env):
    client, *_ = env
    assert client.put("/api/v1/tickets/HD-3", json={"body": "x"}).status_code == 401
    assert client.post("/api/v1/tickets", json=[{"id": "a", "body": "x"}]).status_code == 401


def test_post_tickets_as_array_and_as_json_lines(env):
    client, fake, auth, doc = env
    items = [{"id": f"B-{i}", "subject": f"Frage {i}", "body": "Lieferung fehlt", "resolution": "Nachgeliefert"}
             for i in range(5)]
    response = client.post("/api/v1/tickets", json=items, headers=auth)
    assert response.get_json() == {"ok": True, "received": 5, "new": 5, "changed": 0, "unchanged": 0,
                                   "erased": 0, "not_resolved": 0}
    check(doc, "post", "/api/v1/tickets", response)
    lines = "\n".join(json.dumps(item) for item in items[3:] + [{"id": "B-9", "body": "neu"}]) + "\n"
    response = client.post("/api/v1/tickets", data=lines, headers={**auth, "Content-Type": "application/x-ndjson"})
    assert response.get_json() == {"ok": True, "received": 3, "new": 1, "changed": 0, "unchanged": 2, "erased": 0,
                                   "not_resolved": 0}
    assert len(fake.store.get_tickets([f"B-{i}" for i in (0, 1, 2, 3, 4, 9)])) == 6


def test_a_ticket_pushed_when_opened_is_a_contact_not_a_resolved_ticket(env):
    client, fake, auth, doc = env
    opened = {"subject": "Zeitung fehlt", "body": "Heute keine Zeitung", "status": "open", "session": "s-1",
              "created_at": "2026-11-30T09:15:00+01:00"}
    response = client.put("/api/v1/tickets/HD-7", json=opened, headers=auth)
    assert response.status_code == 202 and response.get_json()["resolved"] is False
    check(doc, "put", "/api/v1/tickets/{ticket_id}", response)
    assert fake.store.get_tickets(["HD-7"]) == {}                      # no similar "resolved" ticket, no evidence
    assert not any(t.id == "HD-7" for t in fake.suggest("Zeitung fehlt", with_tickets=3).tickets)
    contact = fake.store.db.execute("select session, created_at from contacts where ticket_id = 'HD-7'").fetchall()
    assert [tuple(c) for c in contact] == [("s-1", "2026-11-30T08:15:00+00:00")]   # when it was written, in UTC
    resolved = client.put("/api/v1/tickets/HD-7", json={**opened, "status": "Geschlossen",
                                                          "resolution": "Nachgeliefert."}, headers=auth)
    assert resolved.status_code == 201 and resolved.get_json()["resolved"] is True
    batch = [{"id": "B-1", "body": "Rechnung?", "status": "Pending"},
             {"id": "B-2", "body": "Login", "status": "solved"}]
    response = client.post("/api/v1/tickets", json=batch, headers=auth)
    assert response.get_json()["new"] == 1 and response.get_json()["not_resolved"] == 1
    check(doc, "post", "/api/v1/tickets", response)
    assert list(fake.store.get_tickets(["B-1", "B-2"])) == ["B-2"]


@pytest.mark.parametrize("data, content_type, status, message", [
    (json.dumps([{"id": "a", "body": "x"}, {"id": "a", "body": "y"}]), "application/json", 409,
     "item 2: ticket 'a' is also item 1"),
    (json.dumps([{"id": "a", "body": "x"}, {"body": "y"}]), "application/json", 400, "item:2: ticket without 'id'"),
    (json.dumps({"id": "a", "body": "x"}), "application/json", 400, "JSON array"),
    ('{"id": "a", "body": "x"}\nnot json\n', "application/x-ndjson", 400, "line 2"),
    ("[]", "application/json", 400, "no tickets"),
    ("id,body\na,x\n", "text/csv", 415, "application/x-ndjson"),
])
def test_post_tickets_refuses_bad_batches_whole(env, data, content_type, status, message):
    client, fake, auth, doc = env
    response = client.post("/api/v1/tickets", data=data, headers={**auth, "Content-Type": content_type})
    assert response.status_code == status and message in response.get_json()["error"]
    check(doc, "post", "/api/v1/tickets", response)
    assert not fake.store.get_tickets(["a"])   # nothing of a refused batch is stored
