"""Backfill from the help desks (against the local fakes over real HTTP): resumable, exactly once,
rate-limit and dropped-connection proof; knowledge-base links become the tickets' articles and
linked evidence for the calibration."""
from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from fakes import FakeEmbedder
from helpdesk_fakes import FakeChatwoot, FakeZammad

import deflect.embedder
from deflect.cli import cli
from deflect.connectors import connector_for
from deflect.connectors.http import UNREACHABLE_HINT, HelpdeskClient, HelpdeskError
from deflect.connectors.records import Connection, get_connection, load_cursor, save_connection, save_cursor
from deflect.connectors.sync import sync
from deflect.errors import InputError
from deflect.formats import Article
from deflect.home import Home
from deflect.store import open_store

# every test here runs on both store backends (SQLite, PostgreSQL): see conftest.database
pytestmark = pytest.mark.usefixtures("database")


def token_file(tmp_path, token: str = "s3cret-token", name: str = "token") -> str:
    path = tmp_path / name
    path.write_text(token + "\n")
    os.chmod(path, 0o600)
    return str(path)


def connect(tmp_path, kind: str, url: str, name: str = "desk", **options):
    store = open_store(Home.resolve(tmp_path / "home").database)
    save_connection(store, Connection(name=name, kind=kind, url=url, token_file=token_file(tmp_path),
                                      options=options))
    return store


def fast(connector):
    """The connector with a client that does not really sleep between retries (it records the waits)."""
    connector.client.waits = []
    connector.client.sleep = connector.client.waits.append
    return connector


class Stop(Exception):
    pass


def test_zammad_backfill_interrupted_and_resumed_imports_each_ticket_once(tmp_path):
    with FakeZammad() as desk:
        for i in range(1, 5051):   # 5000 closed tickets; every 101st is still open
            desk.add_ticket(i, f"Lieferung {i}", f"Meine Zeitung {i} kam heute nicht.", "Nachgeliefert.",
                            state="open" if i % 101 == 0 else "closed")
        closed = [i for i, t in desk.tickets.items() if t["state"] == "closed"]
        assert len(closed) == 5000
        store = connect(tmp_path, "zammad", desk.url)
        pages = []

        def stop_after_20(n, cursor):
            pages.append(n)
            if len(pages) == 20:
                raise Stop

        with pytest.raises(Stop):
            sync(store, connector_for(get_connection(store, "desk")), stop_after_20)
        assert load_cursor(store, "desk", "tickets")["page"] == 21
        first = store.counts()["tickets"]
        assert first == sum(pages) and 1900 < first < 2000
        assert get_connection(store, "desk").last_error == "Stop"

        run = sync(store, connector_for(get_connection(store, "desk")))
        assert run["tickets_new"] == 5000 - first and run["tickets_unchanged"] == 0
        assert store.counts()["tickets"] == 5000
        # every closed ticket's conversation was read exactly once over both runs; open ones never
        reads = {int(k.rsplit("/", 1)[1]): n for k, n in desk.requests.items() if "/by_ticket/" in k}
        assert sorted(reads) == sorted(closed) and set(reads.values()) == {1}
        # each page listed once over both runs, and the page before the resumed one again (deletions shift pages)
        assert desk.requests["GET /api/v1/tickets"] == 52
        assert get_connection(store, "desk").counts["tickets"] == 5000

        # the next run looks at the tickets that were open (50 of them), then reads the last two pages
        for i in (101, 202):
            desk.tickets[i]["state"] = "closed"
        del desk.tickets[5]
        desk.add_ticket(5051, "Lieferung 5051", "Meine Zeitung 5051 kam heute nicht.", "Nachgeliefert.")
        again = sync(store, connector_for(get_connection(store, "desk")))
        assert again["tickets_new"] == 3 and again["tickets_unchanged"] == 0
        assert store.counts()["tickets"] == 5003
        assert len(load_cursor(store, "desk", "tickets")["pending"]) == 48

        # a retention rule deletes the 3,000 oldest tickets: the new ones now sit pages earlier than the cursor
        for i in range(1, 3001):
            desk.tickets.pop(i, None)
        for i in range(5052, 5152):
            desk.add_ticket(i, f"Lieferung {i}", f"Meine Zeitung {i} kam heute nicht.", "Nachgeliefert.")
        listed = desk.requests["GET /api/v1/tickets"]
        after = sync(store, connector_for(get_connection(store, "desk")))
        assert after["tickets_new"] == 100 and store.counts()["tickets"] == 5103
        assert desk.requests["GET /api/v1/tickets"] - listed < 30   # a few steps back, not every page again


def _a_day_later(store, name: str) -> None:
    """The connection's last look at every closed ticket as if it were two days ago."""
    from datetime import timedelta

    from deflect.clock import iso, utcnow
    cursor = load_cursor(store, name, "tickets")
    assert cursor["checked"] and "reread" not in cursor
    save_cursor(store, name, "tickets", {**cursor, "checked": iso(utcnow() - timedelta(days=2))})


def test_zammad_tickets_edited_after_the_import_are_read_again_once_a_day(tmp_path):
    from deflect.clock import iso, utcnow
    with FakeZammad() as desk:
        for i in range(1, 251):
            desk.add_ticket(i, f"Lieferung {i}", f"Meine Zeitung {i} kam heute nicht.", "Nachgeliefert.")
        store = connect(tmp_path, "zammad", desk.url, name="zd")
        assert sync(store, connector_for(get_connection(store, "zd")))["tickets_new"] == 250
        # a follow-up reopened ticket 5 and an agent answered and closed it again; ticket 180 got the KB link
        now = iso(utcnow())
        desk.articles[5].append(desk.articles[5][-1] | {"id": 99991, "body": "<div>Gutschrift gebucht.</div>"})
        desk.links[180] = [1]
        for i in (5, 180):
            desk.tickets[i]["updated_at"] = now
        listed = desk.requests["GET /api/v1/tickets"]
        run = sync(store, connector_for(get_connection(store, "zd")))   # the same day: not yet
        assert run["tickets_changed"] == 0 and desk.requests["GET /api/v1/tickets"] - listed <= 2

        _a_day_later(store, "zd")
        reads = desk.count("GET /api/v1/ticket_articles/by_ticket/")

        def stop_after_first_reread_page(n, cursor):
            if "reread" in cursor:
                raise Stop
        with pytest.raises(Stop):
            sync(store, connector_for(get_connection(store, "zd")), stop_after_first_reread_page)
        assert store.get_tickets(["zd-5"])["zd-5"]["resolution"] == "Gutschrift gebucht."
        assert store.get_tickets(["zd-180"])["zd-180"]["article_id"] is None
        run = sync(store, connector_for(get_connection(store, "zd")))   # goes on where it stopped
        assert run["tickets_changed"] == 1 and store.get_tickets(["zd-180"])["zd-180"]["article_id"] == "zd-kb-1-de"
        # only the two edited tickets were read again, each once
        assert desk.count("GET /api/v1/ticket_articles/by_ticket/") - reads == 2
        assert "reread" not in load_cursor(store, "zd", "tickets")
        assert sync(store, connector_for(get_connection(store, "zd")))["tickets_changed"] == 0


def test_chatwoot_conversations_resolved_again_are_read_again(tmp_path):
    import time as clock
    with FakeChatwoot() as desk:
        for cid in range(1, 31):
            desk.add_conversation(cid, f"Frage {cid} zur Zustellung", [f"Antwort {cid}"])
        store = connect(tmp_path, "chatwoot", desk.url, name="cw", account_id=1)
        assert sync(store, connector_for(get_connection(store, "cw")))["tickets_new"] == 30
        desk.messages[3].append(desk.messages[3][-1] | {"id": 5000, "content": "Siehe auch unser Hilfe-Center."})
        desk.conversations[3]["timestamp"] = int(clock.time())
        _a_day_later(store, "cw")
        run = sync(store, connector_for(get_connection(store, "cw")))
        assert run["tickets_changed"] == 1 and run["tickets_new"] == 0
        assert store.get_tickets(["cw-3"])["cw-3"]["resolution"] == "Siehe auch unser Hilfe-Center."


def test_chatwoot_conversations_resolved_after_a_sync_and_deletions_are_not_skipped(tmp_path):
    with FakeChatwoot() as desk:
        for cid in range(1, 101):   # every tenth conversation still open at the first sync
            desk.add_conversation(cid, f"Frage {cid} zur Zustellung", [f"Antwort {cid}"],
                                  status="open" if cid % 10 == 0 else "resolved")
        store = connect(tmp_path, "chatwoot", desk.url, name="cw", account_id=1)
        assert sync(store, connector_for(get_connection(store, "cw")))["tickets_new"] == 90
        for cid in (10, 20):
            desk.conversations[cid]["status"] = "resolved"
        for cid in range(1, 61):   # the oldest are deleted; new ones are resolved
            if cid not in (10, 20):
                desk.conversations.pop(cid)
        for cid in range(101, 131):
            desk.add_conversation(cid, f"Frage {cid} zur Zustellung", [f"Antwort {cid}"])
        run = sync(store, connector_for(get_connection(store, "cw")))
        assert run["tickets_new"] == 32 and store.counts()["tickets"] == 122
        # still open: looked at again next time; 30 to 60 were deleted and are forgotten
        assert load_cursor(store, "cw", "tickets")["pending"] == ["70", "80", "90", "100"]


def test_zammad_kb_answers_and_links_become_articles(tmp_path):
    with FakeZammad() as desk:
        desk.add_ticket(1, "Passwort vergessen", "Ich habe mein Passwort vergessen, wie komme ich rein?",
                        "Über Passwort vergessen.", linked=[1, 2])
        desk.add_ticket(2, "Forgot password", "I forgot my password and cannot log in.", "Use the reset link.",
                        linked=[2])
        desk.add_ticket(3, "Rechnung", "Wo finde ich meine Rechnung?", "Im Kundenkonto.")
        desk.kb["KnowledgeBaseAnswer"]["9"] = {"id": 9, "category_id": 1, "published_at": None, "archived_at": None,
                                               "internal_at": None, "translation_ids": [9]}
        desk.kb["KnowledgeBaseAnswerTranslation"]["9"] = {"id": 9, "answer_id": 9, "kb_locale_id": 1,
                                                          "title": "Entwurf", "content_id": 9}
        store = connect(tmp_path, "zammad", desk.url, name="zd")
        run = sync(store, connector_for(get_connection(store, "zd")))
        assert run["articles_new"] == 2 and run["tickets_new"] == 3
        de, en = store.get_article("zd-kb-1-de"), store.get_article("zd-kb-1-en")
        assert (de.language, en.language) == ("de", "en") and "Forgot password" in en.body
        assert en.url.startswith(desk.url + "/help/en-us/")
        assert not store.has_article("zd-kb-9-de")   # unpublished
        rows = store.get_tickets(["zd-1", "zd-2", "zd-3"])
        assert rows["zd-1"]["article_id"] == "zd-kb-1-de"   # the link in the ticket's language
        assert rows["zd-2"]["article_id"] == "zd-kb-1-en"
        assert rows["zd-3"]["article_id"] is None
        assert desk.requests["POST /api/v1/knowledge_bases/init"] == 2   # the structure, then the bodies; once
        assert "nicole.braun@example.com" not in str(rows)   # the customer's address is redacted


def test_zammad_kb_published_as_zammad_shows_it_and_languages_without_the_locale_table(tmp_path):
    def answer(aid: int, **dates) -> None:
        desk.kb["KnowledgeBaseAnswer"][str(aid)] = {"id": aid, "category_id": 1, "translation_ids": [aid],
                                                   "internal_at": None, "published_at": None, "archived_at": None,
                                                   **dates}
        desk.kb["KnowledgeBaseAnswerTranslation"][str(aid)] = {"id": aid, "answer_id": aid, "kb_locale_id": 1,
                                                              "title": f"Antwort {aid}", "content_id": 1}

    with FakeZammad() as desk:
        desk.serves_locales = False   # a Zammad that does not answer GET /api/v1/locales
        past, ahead = "2026-01-01T08:00:00.000Z", "2099-01-01T08:00:00.000Z"
        answer(3, internal_at="2025-12-01T08:00:00.000Z", published_at=past)   # staff-only first, then public
        answer(4, published_at=ahead)                                         # scheduled
        answer(5, published_at=past, archived_at=ahead)                       # to be archived later
        answer(6, published_at=past, archived_at=past)                        # archived
        answer(7, internal_at=past)                                           # staff only
        store = connect(tmp_path, "zammad", desk.url, name="zd")
        sync(store, connector_for(get_connection(store, "zd")))
        found = sorted(a.id for a in store.articles())
        assert found == ["zd-kb-1-de", "zd-kb-1-en", "zd-kb-3-de", "zd-kb-5-de"]
        # the German and the English translation stay two articles, each in its own language
        de, en = store.get_article("zd-kb-1-de"), store.get_article("zd-kb-1-en")
        assert (de.language, en.language) == ("de", "en") and de.title == "Passwort zurücksetzen"
        assert de.url is None   # its public address needs the locale: the help center's own page serves it
        # an answer archived since is deleted on the next sync; articles from elsewhere stay
        store.upsert_articles([Article(id="own-faq", title="Unsere Öffnungszeiten", body="Mo-Fr.", language="de")])
        desk.kb["KnowledgeBaseAnswer"]["5"]["archived_at"] = past
        run = sync(store, connector_for(get_connection(store, "zd")))
        assert run["articles_deleted"] == 1
        assert sorted(a.id for a in store.articles()) == ["own-faq", "zd-kb-1-de", "zd-kb-1-en", "zd-kb-3-de"]
        # a knowledge base that lists nothing at all (a token without the permission) deletes nothing
        for aid in ("1", "3"):
            desk.kb["KnowledgeBaseAnswer"][aid]["archived_at"] = past
        run = sync(store, connector_for(get_connection(store, "zd")))
        assert (run["articles_deleted"], run["articles_kept"]) == (0, 3) and len(store.articles()) == 4


def test_an_answer_withdrawn_for_a_while_keeps_its_tickets_and_another_connections_articles_stay(tmp_path):
    with FakeZammad() as desk, FakeZammad() as other:
        desk.add_ticket(1, "Passwort", "Passwort vergessen", "Siehe Artikel.", linked=[1])
        desk.kb["KnowledgeBaseAnswer"]["3"] = {"id": 3, "category_id": 1, "translation_ids": [3],
                                               "internal_at": None, "published_at": "2026-01-01T08:00:00Z",
                                               "archived_at": None}
        desk.kb["KnowledgeBaseAnswerTranslation"]["3"] = {"id": 3, "answer_id": 3, "kb_locale_id": 1,
                                                          "title": "Antwort 3", "content_id": 1}
        store = connect(tmp_path, "zammad", desk.url, name="desk-de")
        save_connection(store, Connection(name="desk_de", kind="zammad", url=other.url,
                                          token_file=token_file(tmp_path, name="other")))
        sync(store, connector_for(get_connection(store, "desk-de")))
        # another connection whose name differs by "_" (a wildcard in SQL's LIKE) deletes none of these
        sync(store, connector_for(get_connection(store, "desk_de")))
        assert {"desk-de-kb-1-de", "desk-de-kb-3-de"} <= {a.id for a in store.articles()}
        link = lambda: store.get_tickets(["desk-de-1"])["desk-de-1"]["article_id"]   # noqa: E731
        assert link() == "desk-de-kb-1-de"
        desk.kb["KnowledgeBaseAnswer"]["1"]["archived_at"] = "2026-02-01T00:00:00Z"   # reworked for a while
        assert sync(store, connector_for(get_connection(store, "desk-de")))["articles_deleted"] == 2
        assert not store.has_article("desk-de-kb-1-de") and link() == "desk-de-kb-1-de"
        desk.kb["KnowledgeBaseAnswer"]["1"]["archived_at"] = None   # published again: the link counts again
        sync(store, connector_for(get_connection(store, "desk-de")))
        assert store.has_article("desk-de-kb-1-de") and link() == "desk-de-kb-1-de"


def test_a_ticket_linked_to_an_answer_published_minutes_ago_gets_its_link(tmp_path, monkeypatch):
    import deflect.connectors.base

    with FakeZammad() as desk:
        desk.add_ticket(1, "Passwort", "Passwort vergessen", "Siehe Artikel.", linked=[1])
        desk.add_ticket(2, "Bonus", "Wie bekomme ich den Treuebonus?", "Siehe Artikel.", linked=[9])
        desk.add_ticket(3, "Intern", "Interne Frage", "Siehe Artikel.", linked=[7])
        store = connect(tmp_path, "zammad", desk.url, name="zd")
        connector = connector_for(get_connection(store, "zd"))
        assert connector.linked_article("1", "de") == "zd-kb-1-de"   # the knowledge base read once
        monkeypatch.setattr(deflect.connectors.base, "LINKS_REREAD", 0.0)
        # an answer published after that read, and linked by the agent who closes the ticket
        desk.kb["KnowledgeBaseAnswer"]["9"] = {"id": 9, "category_id": 1, "published_at": "2026-01-01T08:00:00Z",
                                               "archived_at": None, "internal_at": None, "translation_ids": [9]}
        desk.kb["KnowledgeBaseAnswerTranslation"]["9"] = {"id": 9, "answer_id": 9, "kb_locale_id": 1,
                                                          "title": "Treuebonus", "content_id": 1}
        assert connector.linked_article("2", "de") == "zd-kb-9-de"
        reads = desk.requests["POST /api/v1/knowledge_bases/init"]
        # a link to an answer that is not public (internal) is looked for once, not on every ticket
        assert connector.linked_article("3", "de") is None and connector.linked_article("3", "de") is None
        assert desk.requests["POST /api/v1/knowledge_bases/init"] - reads <= 2


def test_zammad_tickets_in_a_state_of_the_closed_type_are_resolved_whatever_its_name(tmp_path):
    with FakeZammad() as desk:
        desk.states["gelöst"] = "closed"   # a team's own state
        desk.add_ticket(1, "Abo", "Wie kündige ich?", "Online.", state="gelöst")
        desk.add_ticket(2, "Abo", "Wie pausiere ich?", "Urlaubsservice.", state="pending reminder")
        desk.add_ticket(3, "Abo", "Zeitung fehlt", "Nachgeliefert.", state="closed")
        store = connect(tmp_path, "zammad", desk.url)
        sync(store, connector_for(get_connection(store, "desk")))
        assert sorted(store.get_tickets(["desk-1", "desk-2", "desk-3"])) == ["desk-1", "desk-3"]
        assert desk.requests["GET /api/v1/ticket_states"] == 1   # read once
        assert load_cursor(store, "desk", "tickets")["pending"] == ["2"]
        # a state the team adds while deflect runs is read when a ticket first has it
        connector = connector_for(get_connection(store, "desk"))
        assert connector.resolved("gelöst") and not connector.resolved("pending reminder")
        desk.states["erledigt"] = "closed"
        assert connector.resolved("erledigt") and connector.resolved("erledigt")
        assert not connector.resolved("ganz neu") and not connector.resolved("ganz neu")   # unknown: asked once
        assert desk.requests["GET /api/v1/ticket_states"] == 4
        desk.tickets[2]["state"] = "merged"   # merged into another ticket: it never closes, nothing to wait for
        sync(store, connector_for(get_connection(store, "desk")))
        assert load_cursor(store, "desk", "tickets")["pending"] == []


def test_zammad_kb_links_count_as_linked_evidence_in_ticket_calibration(tmp_path, monkeypatch):
    """connect, sync, index, calibrate, status: the tickets whose agents linked a KB answer are the
    linked tickets that `deflect calibrate` judges as new inquiries expecting that answer."""
    monkeypatch.setitem(deflect.embedder._CACHE, (FakeEmbedder.name, None), FakeEmbedder())   # no real model
    runner = CliRunner()
    home = str(tmp_path / "home")
    with FakeZammad() as desk:
        for i in range(1, 7):
            desk.add_ticket(i, "Passwort vergessen", f"Ich habe mein Passwort vergessen und komme nicht rein ({i}).",
                            "Über Passwort vergessen.", linked=[1])
            desk.add_ticket(10 + i, "Forgot password", f"I forgot my password and cannot log in ({i}).",
                            "Use the reset link.", linked=[2])
        # unlinked tickets far from any article: enough of them (ten) for the ticket history to decide
        for i, topic in enumerate(["Rechnung doppelt abgebucht", "Lieferung beschädigt angekommen",
                                   "Kündigung des Abonnements", "Adresse im Kundenkonto ändern",
                                   "Gutschein funktioniert nicht", "Rücksendung Etikett fehlt",
                                   "Ratenzahlung beantragen", "Filiale Öffnungszeiten Feiertag",
                                   "Newsletter abbestellen", "Geschenkverpackung bestellen"], start=21):
            desk.add_ticket(i, topic, f"{topic}, bitte helfen Sie mir.", "Erledigt.")
        token = token_file(tmp_path)
        assert runner.invoke(cli, ["connect", "zammad", "--url", desk.url, "--token-file", token,
                                   "--home", home]).exit_code == 0
        result = runner.invoke(cli, ["sync", "--quiet", "--home", home])
        assert result.exit_code == 0, result.output
        assert "tickets 22 new" in result.output
    result = runner.invoke(cli, ["index", "--model", FakeEmbedder.name, "--quiet", "--home", home])
    assert result.exit_code == 0, result.output
    assert "(2 articles, 22 tickets, 12 with an article, linked or inferred)" in result.output
    result = runner.invoke(cli, ["calibrate", "--home", home])
    assert result.exit_code == 0, result.output
    assert "tickets judged as new inquiries (12 with an article, linked or inferred," in result.output
    status = runner.invoke(cli, ["status", "--home", home])
    assert "22 tickets (12 linked)" in status.output and "calibration: from tickets" in status.output
    report = json.loads(runner.invoke(cli, ["status", "--json", "--home", home]).output)["calibration"]["report"]
    assert report["covered"] == 12 and report["samples"] == 12 + report["uncovered"] + report["unseen"]
    rows = open_store(Home.resolve(tmp_path / "home").database).get_tickets(["zammad-1", "zammad-11", "zammad-21"])
    assert [rows[t]["article_id"] for t in ("zammad-1", "zammad-11", "zammad-21")] == [
        "zammad-kb-1-de", "zammad-kb-1-en", None]


def test_chatwoot_backfill_pages_messages_and_article_urls(tmp_path):
    with FakeChatwoot() as desk:
        url = f"{desk.url}/hc/help/articles/1793612100-reset-your-password"   # Chatwoot's own article address
        desk.add_conversation(1, "How do I reset my password?", [f"See {url} please."])
        long_thread = [f"reply {i}" for i in range(44)]
        desk.add_conversation(2, "My invoice is wrong", long_thread, private_note="internal: check billing")
        for cid in range(3, 61):
            desk.add_conversation(cid, f"Question {cid} about delivery", [f"Answer {cid}"])
        desk.add_conversation(61, "Still open", [], status="open")
        store = connect(tmp_path, "chatwoot", desk.url, name="cw", account_id=1)
        run = sync(store, connector_for(get_connection(store, "cw")))
        assert run["articles_new"] == 1 and run["tickets_new"] == 60 and run["pages"] == 3
        rows = store.get_tickets(["cw-1", "cw-2", "cw-61"])
        assert rows["cw-1"]["article_id"] == "cw-hc-1"
        assert [a.url for a in store.articles()] == [url]   # what notes and the widget link to
        assert rows["cw-1"]["created_at"] == "2026-11-02T09:35:00+00:00"   # from Chatwoot's Unix seconds
        assert rows["cw-2"]["resolution"] == "reply 43"   # the newest of 45 messages, read 20 at a time
        assert desk.requests["GET /api/v1/accounts/1/conversations/2/messages"] == 3
        assert "cw-61" not in rows
        assert "internal" not in str(rows)   # private notes are not the customer's nor the answer


def test_client_honours_retry_after_and_survives_dropped_connections(tmp_path):
    with FakeZammad() as desk:
        desk.add_ticket(1, "x", "question one", "answer")
        client = HelpdeskClient(desk.url, {"Authorization": "Token token=s3cret-token"})
        waits: list[float] = []
        client.sleep = waits.append
        desk.fail("/api/v1/tickets", "429")
        desk.fail("/api/v1/tickets", "drop")
        desk.fail("/api/v1/tickets", "500")
        assert client.get("/api/v1/tickets", {"page": 1})[0]["id"] == 1
        assert waits == [1.0, 1.0, 2.0] and client.retries == 3   # Retry-After, then back-off
        with pytest.raises(HelpdeskError, match="refused the API token"):
            HelpdeskClient(desk.url, {"Authorization": "Token token=wrong"}).get("/api/v1/tickets")
        with pytest.raises(HelpdeskError, match="404") as missing:
            client.get("/api/v1/tickets/99")
        assert "account id" in missing.value.hint
        desk.fail("/api/v1/ticket_articles", "drop")   # a write is not repeated after a dropped connection
        with pytest.raises(HelpdeskError, match="no answer") as unanswered:
            client.post("/api/v1/ticket_articles", {"ticket_id": 1, "type": "note", "internal": True, "body": "x"})
        assert desk.notes == []
        assert "--url" in unanswered.value.hint and "resumes" in unanswered.value.hint
        # the knowledge base is read with a POST: a read, so it is repeated as a GET is
        desk.fail("/api/v1/knowledge_bases/init", "drop")
        desk.fail("/api/v1/knowledge_bases/init", "500")
        retried = client.retries
        client.post("/api/v1/knowledge_bases/init", {}, read=True)
        assert client.retries == retried + 2
        desk.fail("/api/v1/tickets", "500", times=client.attempts)
        with pytest.raises(HelpdeskError, match="answered 500") as failing:
            client.get("/api/v1/tickets", {"page": 1})
        assert "try again later" in failing.value.hint


def test_a_sync_error_names_the_connection_to_connect_again_and_to_sync_again(tmp_path):
    with FakeZammad() as desk:
        store = connect(tmp_path, "zammad", desk.url, name="zd")
        connector = connector_for(get_connection(store, "zd"))
        connector.client.sleep = lambda _: None
        desk.fail("/api/v1/knowledge_bases/init", "500", times=connector.client.attempts)
        with pytest.raises(HelpdeskError) as failed:
            sync(store, connector)
        assert "`deflect sync zd`" in failed.value.hint
        assert "try again later" in failed.value.hint
        assert connector.client.hint(UNREACHABLE_HINT).count("deflect connect zammad --name zd --url URL") == 1


def test_client_follows_no_redirect_so_the_token_stays_with_the_help_desk(tmp_path):
    with FakeZammad() as desk, FakeZammad() as elsewhere:
        desk.redirect_to = elsewhere.url
        client = HelpdeskClient(desk.url, {"Authorization": "Token token=s3cret-token"})
        with pytest.raises(HelpdeskError, match=f"redirected to {elsewhere.url}/api/v1/tickets") as refused:
            client.get("/api/v1/tickets", {"page": 1})
        assert "--url" in refused.value.hint and "s3cret" not in str(refused.value)
        with pytest.raises(HelpdeskError, match="redirected"):   # a note is not turned into a GET that "succeeds"
            client.post("/api/v1/ticket_articles", {"ticket_id": 1, "type": "note", "internal": True, "body": "x"})
        assert sum(elsewhere.requests.values()) == 0 and client.retries == 0


def test_cli_sync_with_a_planted_429_and_a_dropped_connection(tmp_path):
    runner = CliRunner()
    home = str(tmp_path / "home")
    with FakeZammad() as desk:
        for i in range(1, 251):
            desk.add_ticket(i, f"Frage {i}", f"Wie ändere ich meine Adresse {i}?", "Im Kundenkonto.",
                            linked=[1] if i % 10 == 0 else [])
        desk.fail("/api/v1/tickets", "429")
        desk.fail("/by_ticket/120", "drop")
        token = token_file(tmp_path)
        result = runner.invoke(cli, ["connect", "zammad", "--url", desk.url, "--token-file", token, "--home", home])
        assert result.exit_code == 0, result.output
        result = runner.invoke(cli, ["sync", "--quiet", "--home", home])
        assert result.exit_code == 0, result.output
        assert "tickets 250 new, 0 changed, 0 unchanged (3 pages, 2 retried requests)" in result.output
        assert "articles 2 new" in result.output
        listing = runner.invoke(cli, ["connectors", "--home", home])
        assert "250 tickets (25 linked)" in listing.output and "s3cret-token" not in listing.output
        store = open_store(Home.resolve(tmp_path / "home").database)
        assert store.counts()["tickets"] == 250
        assert "s3cret-token" not in str(list(store.db["connections"].rows))


@pytest.mark.parametrize("answer", [{"status": "ok", "data": [1, 2]}, [{"id": "x"}], "hello"])
@pytest.mark.parametrize("kind", ["zammad", "chatwoot"])
def test_sync_against_another_service_says_the_url_is_wrong(tmp_path, kind, answer):
    # the URL of another service (or a proxy's page) answers JSON that is not the help desk's API
    runner, home = CliRunner(), str(tmp_path / "home")
    with (FakeZammad() if kind == "zammad" else FakeChatwoot()) as desk:
        desk.elsewhere = answer
        extra = ["--account-id", "1"] if kind == "chatwoot" else []
        result = runner.invoke(cli, ["connect", kind, "--url", desk.url, "--token-file", token_file(tmp_path),
                                     "--home", home, *extra])
        assert result.exit_code == 0, result.output
        result = runner.invoke(cli, ["sync", "--quiet", "--home", home])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"answered in a shape that is not {kind.capitalize()}'s API" in result.output
    assert f"deflect connect {kind} --name {kind} --url URL" in result.output
    listing = runner.invoke(cli, ["connectors", "--home", home])
    assert "last error: the help desk at" in listing.output


def test_cli_refuses_a_token_file_others_can_read(tmp_path):
    path = tmp_path / "token"
    path.write_text("t")
    os.chmod(path, 0o644)
    result = CliRunner().invoke(cli, ["connect", "zammad", "--url", "https://z.example.com", "--token-file",
                                      str(path), "--home", str(tmp_path / "home")])
    assert result.exit_code != 0 and "chmod 600" in result.output


def test_a_refused_connection_gives_its_error_alone(tmp_path):
    token = token_file(tmp_path)
    result = CliRunner().invoke(cli, ["connect", "zammad", "--url", "support.example.com", "--token-file", token,
                                      "--home", str(tmp_path / "home")])
    assert result.exit_code != 0 and "must start with https:// or http://" in result.output
    assert "note:" not in result.output   # nothing was connected, so nothing about its webhooks
    result = CliRunner().invoke(cli, ["connect", "zammad", "--url", "https://support.example.com", "--token-file",
                                      token, "--home", str(tmp_path / "home")])
    assert result.exit_code == 0 and "note: no webhook secret given" in result.output


def test_connection_names_and_urls_are_checked(tmp_path):
    store = open_store(Home.resolve(tmp_path).database)
    with pytest.raises(InputError, match="connection name"):
        save_connection(store, Connection(name="Bad Name", kind="zammad", url="https://x", token_env="T"))
    with pytest.raises(InputError, match="https://"):
        save_connection(store, Connection(name="ok", kind="zammad", url="ftp://x", token_env="T"))
