"""Webhooks in and notes out (the Flask app with the fake engine, the help-desk fakes over real HTTP):
signatures on the raw bytes, duplicates once, resolved tickets searchable at once, one internal note."""
from __future__ import annotations

import time

import pytest
from api_support import make_app
from helpdesk_fakes import FakeChatwoot, FakeZammad, example
from test_connectors_sync import token_file

from deflect.connectors.records import Connection, save_connection

# every test here runs on both store backends (SQLite, PostgreSQL): see conftest.database
pytestmark = pytest.mark.usefixtures("database")

SECRET = "hook-secret"


@pytest.fixture()
def app_env(tmp_path):
    app, fake = make_app(tmp_path)
    yield app, app.test_client(), fake
    inbox = app.extensions.get("deflect_inbox")
    if inbox is not None:
        inbox.close()


def add_connection(tmp_path, fake, kind: str, url: str, name: str, **options) -> None:
    save_connection(fake.store, Connection(name=name, kind=kind, url=url, token_file=token_file(tmp_path),
                                           secret_file=token_file(tmp_path, SECRET, "secret"), options=options))


def deliveries(fake, name: str) -> dict[str, int]:
    return dict(fake.store.db.execute("select status, count(*) from connector_deliveries where connection = ? "
                                      "group by status", [name]).fetchall())


def test_zammad_webhook_burst_stores_each_delivery_once_and_notes_each_new_ticket_once(tmp_path, app_env):
    app, client, fake = app_env
    with FakeZammad() as desk:
        for i in range(1, 201):   # 120 new customer tickets, 80 closed ones
            closed = i > 120
            desk.add_ticket(i, f"Abo {i}", f"Wie kann ich mein Abo {i} kündigen?",
                            "Online im Kundenkonto." if closed else None,
                            state="closed" if closed else "new", customer=f"kunde{i}@example.com",
                            linked=[1] if closed and i % 2 else [])
        add_connection(tmp_path, fake, "zammad", desk.url, "zd")
        bad = set(range(5, 201, 20))   # 10 deliveries signed with the wrong secret
        statuses = []
        for i in range(1, 201):
            raw, headers = desk.webhook(i, SECRET, f"delivery-{i}", sign_with="wrong" if i in bad else None)
            statuses.append(client.post("/api/v1/connectors/zd/webhook", data=raw, headers=headers).status_code)
        for i in (i for i in range(1, 201, 7) if i not in bad):   # Zammad's retries of deliveries already taken
            raw, headers = desk.webhook(i, SECRET, f"delivery-{i}")
            statuses.append(client.post("/api/v1/connectors/zd/webhook", data=raw, headers=headers).status_code)
        raw, headers = desk.webhook(1, SECRET, "no-signature")
        del headers["X-Hub-Signature"]
        statuses.append(client.post("/api/v1/connectors/zd/webhook", data=raw, headers=headers).status_code)
        assert app.extensions["deflect_inbox"].wait_idle(60)

        assert statuses[:200].count(401) == 10 and statuses[:200].count(202) == 190
        assert statuses[-1] == 401
        assert deliveries(fake, "zd") == {"done": 190}   # each good delivery once, no bad one
        noted = sorted(int(n["ticket_id"]) for n in desk.notes)
        assert noted == [i for i in range(1, 121) if i not in bad]   # one note per new ticket
        assert all(n["internal"] is True and n["type"] == "note" for n in desk.notes)
        stored = fake.store.get_tickets(f"zd-{i}" for i in range(1, 201))
        assert sorted(stored) == sorted(f"zd-{i}" for i in range(121, 201) if i not in bad)
        assert stored["zd-121"]["article_id"] == "zd-kb-1-de" and stored["zd-122"]["article_id"] is None
        assert "kunde121@example.com" not in str(stored)
        # a second trigger for a ticket that has its note (the customer wrote again) posts none
        raw, headers = desk.webhook(1, SECRET, "delivery-again")
        assert client.post("/api/v1/connectors/zd/webhook", data=raw, headers=headers).status_code == 202
        app.extensions["deflect_inbox"].wait_idle(10)
        assert len(desk.notes) == len(noted)


def test_zammad_note_has_articles_tickets_and_draft_within_two_seconds(tmp_path, app_env):
    app, client, fake = app_env
    with FakeZammad() as desk:
        add_connection(tmp_path, fake, "zammad", desk.url, "zd")
        latencies = []
        for i in range(1, 21):
            desk.add_ticket(i, "Abo kündigen", f"Wie kann ich mein Abo kündigen? Kundennummer {i}", None, state="new")
            raw, headers = desk.webhook(i, SECRET, f"d-{i}")
            sent = time.monotonic()
            assert client.post("/api/v1/connectors/zd/webhook", data=raw, headers=headers).status_code == 202
            app.extensions["deflect_inbox"].wait_idle(10)
            latencies.append(desk.note_times[str(i)] - sent)
        latencies.sort()
        assert latencies[int(0.95 * len(latencies)) - 1] < 2.0
        note = desk.notes[0]
        assert note["content_type"] == "text/html"
        assert "Wie kündige ich mein Abo?" in note["body"] and "/hilfe/kuendigung/abo" in note["body"]
        # a German ticket gets the note's words in German (agent_language auto), the draft too
        assert "Antwortentwurf:" in note["body"] and "Vorgeschlagene Artikel:" in note["body"]
        assert "Guten Tag" in note["body"] and "Draft reply" not in note["body"]


def test_a_note_the_help_desk_failed_is_posted_on_a_later_try_and_an_unconfirmed_one_is_not_counted(
        tmp_path, app_env, monkeypatch):
    monkeypatch.setattr("deflect.connectors.inbox.RETRY_DELAYS", (0.2, 0.2))
    app, client, fake = app_env
    with FakeZammad() as desk:
        add_connection(tmp_path, fake, "zammad", desk.url, "zd")
        for i in (1, 2):
            desk.add_ticket(i, "Abo kündigen", "Wie kann ich mein Abo kündigen?", None, state="new")
        desk.fail("/api/v1/ticket_articles", "500")   # Zammad fails the note once; it does not send the hook again
        raw, headers = desk.webhook(1, SECRET, "d-1")
        assert client.post("/api/v1/connectors/zd/webhook", data=raw, headers=headers).status_code == 202
        assert app.extensions["deflect_inbox"].wait_idle(20)
        assert [n["ticket_id"] for n in desk.notes] == [1] and deliveries(fake, "zd") == {"done": 1}
        # the ticket's question is one inquiry however often its note was tried
        assert fake.store.db.execute("select count(*) from inquiries where ticket_id like '%1'").fetchone()[0] == 1
        desk.fail("/api/v1/ticket_articles", "empty")   # an answer without the note: not counted as posted
        raw, headers = desk.webhook(2, SECRET, "d-2")
        client.post("/api/v1/connectors/zd/webhook", data=raw, headers=headers)
        assert app.extensions["deflect_inbox"].wait_idle(20)
        assert deliveries(fake, "zd") == {"done": 1, "failed": 1}
        assert fake.store.db.execute("select count(*) from connector_notes where status = 'posted'").fetchone()[0] == 1


def test_webhook_answers_404_for_unknown_connections_and_400_for_bad_json(tmp_path, app_env):
    _, client, fake = app_env
    assert client.post("/api/v1/connectors/nope/webhook", data=b"{}").status_code == 404
    with FakeZammad() as desk:
        add_connection(tmp_path, fake, "zammad", desk.url, "zd")
        raw = b"not json"
        response = client.post("/api/v1/connectors/zd/webhook", data=raw, headers=desk.sign(SECRET, raw))
        assert response.status_code == 400 and response.get_json()["ok"] is False


def chatwoot_message(cid: int, text: str, mid: int, **extra) -> dict:
    payload = example("chatwoot_message_created")
    payload.update(id=mid, content=text, **extra)
    payload["conversation"] = {**payload["conversation"], "id": cid, "display_id": cid}
    return payload


def test_chatwoot_webhooks(tmp_path, app_env):
    app, client, fake = app_env
    with FakeChatwoot() as desk:
        add_connection(tmp_path, fake, "chatwoot", desk.url, "cw", account_id=1)
        url = f"{desk.url}/hc/help/en/articles/1793612100-reset-your-password"
        desk.add_conversation(7, "I forgot my password", [f"Here you go: {url}"], status="open")
        post = lambda raw, headers: client.post("/api/v1/connectors/cw/webhook", data=raw, headers=headers)  # noqa: E731

        # a chat opens with a greeting: the note waits for the message that asks something
        assert post(*desk.webhook(chatwoot_message(7, "Hallo, ist jemand da?", 1), SECRET, "a")).get_json()[
            "status"] == "ignored"
        assert post(*desk.webhook(chatwoot_message(7, "I forgot my password", 2), SECRET, "b")).status_code == 202
        private = chatwoot_message(7, "agent's own note", 3, private=True, message_type="outgoing")
        assert post(*desk.webhook(private, SECRET, "c")).get_json()["status"] == "ignored"
        assert post(*desk.webhook(chatwoot_message(7, "x", 4), SECRET, "d", stamp=int(time.time()) - 3600)
                    ).status_code == 401   # an old timestamp: a replay
        raw, headers = desk.webhook(chatwoot_message(7, "x", 5), SECRET, "e")
        assert post(raw + b" ", headers).status_code == 401   # the body changed after signing
        other_account = chatwoot_message(7, "x", 6, account={"id": 2})
        assert post(*desk.webhook(other_account, SECRET, "f")).get_json()["status"] == "ignored"
        app.extensions["deflect_inbox"].wait_idle(10)
        assert len(desk.notes) == 1 and desk.notes[0]["private"] is True
        assert desk.notes[0]["message_type"] == "outgoing" and "Suggested articles" in desk.notes[0]["content"]
        assert "no confident answer" not in desk.notes[0]["content"]

        desk.conversations[7]["status"] = "resolved"
        resolved = example("chatwoot_conversation_status_changed") | {"id": 7, "display_id": 7}
        assert post(*desk.webhook(resolved, SECRET, "g")).status_code == 202
        assert post(*desk.webhook(resolved, SECRET, "g")).get_json()["status"] == "duplicate"
        app.extensions["deflect_inbox"].wait_idle(10)
        ticket = fake.store.get_tickets(["cw-7"])["cw-7"]
        assert ticket["body"] == "I forgot my password" and ticket["article_id"] == "cw-hc-1"   # the URL in the reply
        assert deliveries(fake, "cw") == {"done": 2, "ignored": 3}


def test_unsigned_chatwoot_deliveries_only_when_allowed(tmp_path, app_env):
    _, client, fake = app_env
    with FakeChatwoot() as desk:
        for name, allow in (("strict", False), ("legacy", True)):
            save_connection(fake.store, Connection(name=name, kind="chatwoot", url=desk.url,
                                                   token_file=token_file(tmp_path),
                                                   options={"account_id": 1, "allow_unsigned": allow}))
        raw = b'{"event": "webwidget_triggered"}'
        headers = {"Content-Type": "application/json"}
        assert client.post("/api/v1/connectors/strict/webhook", data=raw, headers=headers).status_code == 401
        assert client.post("/api/v1/connectors/legacy/webhook", data=raw, headers=headers).status_code == 200
