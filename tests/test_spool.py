"""The public widget keeps answering when the database cannot take the inquiry log."""
from __future__ import annotations

import sqlite3
import threading
import time

from api_support import make_app

from deflect.formats import Inquiry
from deflect.store import Store
from deflect.store.spool import Spool


def logged(home) -> list[dict]:
    store = Store(home / "deflect.db")
    try:
        return [dict(r) for r in store.db["inquiries"].rows_where(order_by="created_at")]
    finally:
        store.close()


def test_read_only_database_spools_and_recovers_by_itself(tmp_path, monkeypatch, caplog):
    app, fake = make_app(tmp_path)
    client = app.test_client()
    write = Store.write_inquiries

    def read_only(self, rows):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(Store, "write_inquiries", read_only)
    with caplog.at_level("WARNING"):
        answers = [client.post("/api/v1/suggest", json={"text": f"Abo kündigen {i}"}) for i in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert all(r.get_json()["articles"][0]["id"] == "kuendigung-abo" for r in answers)
    assert "not written to the database" in caplog.text and "spooled" in caplog.text
    health = client.get("/api/v1/health").get_json()
    assert health["spool"]["pending"] is True and health["spool"]["spooled"] == 3
    assert logged(fake.home.path) == []

    monkeypatch.setattr(Store, "write_inquiries", write)  # the database is writable again
    last = client.post("/api/v1/suggest", json={"text": "Passwort vergessen"})
    rows = logged(fake.home.path)
    assert {r["id"] for r in rows} == {r.get_json()["id"] for r in [*answers, last]}
    health = client.get("/api/v1/health").get_json()
    assert health["spool"] == {"pending": False, "spooled": 3, "dropped": 0, "drained": 3}


def test_a_locked_database_delays_no_answer_beyond_the_lock_timeout(tmp_path):
    app, fake = make_app(tmp_path, LOG_LOCK_TIMEOUT=0.2)
    client = app.test_client()
    client.post("/api/v1/suggest", json={"text": "Abo kündigen"})  # opens and migrates the store
    locker = sqlite3.connect(fake.home.path / "deflect.db", isolation_level=None)
    locker.execute("begin exclusive")
    try:
        started = time.monotonic()
        r = client.post("/api/v1/suggest", json={"text": "Wie kündige ich mein Abo?"})
        waited = time.monotonic() - started
    finally:
        locker.execute("rollback")
        locker.close()
    assert r.status_code == 200 and r.get_json()["decision"]
    assert waited < 5  # the store's own timeout is 30 s
    client.post("/api/v1/suggest", json={"text": "Passwort vergessen"})
    assert r.get_json()["id"] in {row["id"] for row in logged(fake.home.path)}


def test_spool_is_bounded_and_survives_a_torn_line(tmp_path):
    spool = Spool(tmp_path / "s.jsonl", max_bytes=300)
    assert spool.append({"id": "a", "text": "x" * 100}) and spool.append({"id": "b", "text": "y" * 100})
    assert not spool.append({"id": "c", "text": "z" * 100}) and spool.dropped == 1
    with open(spool.path, "a") as f:
        f.write('{"id": "torn", "te')  # a crash in the middle of an append
    written: list[dict] = []
    assert spool.drain(written.extend) == 2
    assert [r["id"] for r in written] == ["a", "b"] and not spool.pending() and spool.dropped == 2


def test_a_failed_drain_keeps_the_rows(tmp_path):
    spool = Spool(tmp_path / "s.jsonl")
    spool.append({"id": "a"})

    def still_locked(rows):
        raise sqlite3.OperationalError("database is locked")

    try:
        spool.drain(still_locked)
    except sqlite3.OperationalError:
        pass
    assert spool.pending()
    written: list[dict] = []
    assert spool.drain(written.extend) == 1 and written == [{"id": "a"}]


def test_spool_appends_from_threads_lose_nothing(tmp_path):
    spool = Spool(tmp_path / "s.jsonl")
    threads = [threading.Thread(target=lambda n=n: [spool.append({"id": f"{n}-{i}"}) for i in range(50)])
               for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    written: list[dict] = []
    spool.drain(written.extend)
    assert len({r["id"] for r in written}) == 200


def test_stored_inquiries_are_redacted_and_pages_lose_their_query(tmp_path):
    store = Store(tmp_path / "deflect.db")
    iid = store.log_inquiry(Inquiry(id=None, text="Bitte an max@example.com antworten"), "no_answer", 0.1, None,
                            page="https://hilfe.example/suche?q=max@example.com&iban=DE89370400440532013000#top")
    row = store.db["inquiries"].get(iid)
    assert row["text"] == "Bitte an [E-MAIL] antworten"
    assert row["page"] == "https://hilfe.example/suche"


def test_an_unreadable_database_still_gets_an_answer(tmp_path, monkeypatch):
    import deflect.web.state as state

    from deflect.errors import DeflectError

    app, _ = make_app(tmp_path)
    client = app.test_client()

    def unreadable(*args, **kwargs):
        raise DeflectError("cannot open the database: disk I/O error")

    monkeypatch.setattr(state, "open_store", unreadable)
    r = client.post("/api/v1/suggest", json={"text": "Wie kündige ich mein Abo?"})
    assert r.status_code == 200 and r.get_json()["articles"][0]["id"] == "kuendigung-abo"
    assert client.get("/api/v1/health").get_json()["database"] == "unavailable"


def test_a_worker_that_started_on_a_read_only_database_recovers_by_itself(tmp_path):
    """SQLite keeps a connection opened on a read-only file read-only, even after the file is writable."""
    from api_support import bearer, new_key

    from deflect.store.database import SQLiteDatabase

    app, fake = make_app(tmp_path)
    client = app.test_client()
    key = new_key(fake)
    read_only = sqlite3.connect(f"file:{fake.store.path}?mode=ro", uri=True, check_same_thread=False)
    fake.store.db = SQLiteDatabase(fake.store.path, conn=read_only)  # as opened while the file was not writable
    article = {"title": "Abo pausieren", "body": "So pausieren Sie Ihr Abo im Urlaub."}
    first = client.put("/api/v1/articles/abo-pause", json=article, headers=bearer(key))
    assert first.status_code == 500 and first.get_json()["error"] == "internal error"
    second = client.put("/api/v1/articles/abo-pause", json=article, headers=bearer(key))  # no restart
    assert second.status_code == 201 and fake.store.has_article("abo-pause")
    assert client.post("/api/v1/suggest", json={"text": "Abo pausieren im Urlaub"}).get_json()["articles"][0][
        "id"] == "abo-pause"


def test_votes_wait_with_their_inquiry_while_the_database_is_read_only(tmp_path, monkeypatch):
    from deflect.store.service import write_feedback

    app, fake = make_app(tmp_path)
    client = app.test_client()
    def read_only(*args, **kwargs):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(Store, "write_inquiries", read_only)
    monkeypatch.setattr("deflect.web.api.widget.record_vote", read_only)
    iid = client.post("/api/v1/suggest", json={"text": "Abo kündigen"}).get_json()["id"]
    r = client.post("/api/v1/feedback", json={"inquiry_id": iid, "helpful": True})
    assert r.status_code == 201
    assert client.post("/api/v1/feedback", json={"inquiry_id": "never-asked", "helpful": True}).status_code == 201

    monkeypatch.undo()  # the database is writable again
    client.post("/api/v1/suggest", json={"text": "Passwort vergessen"})  # drains the spool
    store = Store(fake.home.path / "deflect.db")
    votes = [dict(r) for r in store.db["feedback"].rows]
    assert [(v["inquiry_id"], v["event"]) for v in votes] == [(iid, "helpful")]  # the orphan vote is dropped
    assert write_feedback(store, []) == 0


def test_a_vote_for_an_inquiry_in_the_spool_is_not_refused(tmp_path, monkeypatch):
    app, fake = make_app(tmp_path)
    client = app.test_client()

    def read_only(self, rows):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(Store, "write_inquiries", read_only)
    iid = client.post("/api/v1/suggest", json={"text": "Abo kündigen"}).get_json()["id"]
    monkeypatch.undo()  # writable again, but the inquiry still waits in the spool
    r = client.post("/api/v1/feedback", json={"inquiry_id": iid, "event": "helpful"})
    assert r.status_code == 201
    assert client.post("/api/v1/feedback", json={"inquiry_id": "never-asked", "helpful": True}).status_code == 404
    client.post("/api/v1/suggest", json={"text": "Passwort vergessen"})
    store = Store(fake.home.path / "deflect.db")
    assert [v["inquiry_id"] for v in store.db["feedback"].rows] == [iid]


def test_a_full_disk_is_a_503_the_client_can_retry_not_an_internal_error(tmp_path, monkeypatch, caplog):
    """A CMS pushing an article while the disk is full learns that it is the disk (retry later), not a bug;
    the widget keeps answering."""
    from api_support import bearer, new_key

    app, fake = make_app(tmp_path)
    client = app.test_client()
    key = new_key(fake)

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(type(fake), "upsert_article", full)
    with caplog.at_level("ERROR"):
        r = client.put("/api/v1/articles/neu", json={"title": "Neu", "body": "Text"}, headers=bearer(key))
    assert r.status_code == 503 and r.headers["Retry-After"] == "60"
    assert "disk is full" in r.get_json()["error"] and "internal error" not in r.get_json()["error"]
    assert "disk full on PUT /api/v1/articles/neu" in caplog.text
    assert client.post("/api/v1/suggest", json={"text": "Abo kündigen"}).status_code == 200
