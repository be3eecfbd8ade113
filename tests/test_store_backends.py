"""The store on both backends: the same migrations and schema, the same row operations and transactions;
on PostgreSQL also what a server brings: concurrent migrating processes, connections per thread, and a
restart of the server (503 with Retry-After meanwhile, back by itself afterwards)."""
from __future__ import annotations

import threading
import time

import pytest
from api_support import make_app

from deflect.errors import StoreUnavailable
from deflect.formats import Article, Inquiry, Ticket
from deflect.home import Home
from deflect.store import open_store
from deflect.store.core import MIGRATIONS
from deflect.store.database import RowNotFound
from deflect.store.postgres import _postgres_sql, release


@pytest.fixture
def store(database, tmp_path):
    store = open_store(Home.resolve(tmp_path / "home").database)
    yield store
    store.close()


def _schema(store) -> dict[str, list[str]]:
    return {t: sorted(c.name for c in store.db[t].columns) for t in sorted(store.db.table_names())}


def test_every_migration_is_applied_once_with_the_same_tables(store, database):
    applied = [r[0] for r in store.db.execute("select name from _migrations order by applied_at, name")]
    assert sorted(applied) == sorted(name for name, _ in MIGRATIONS)
    assert store.migrate() == []      # nothing pending on a second look
    schema = _schema(store)
    assert {"articles", "tickets", "inquiries", "feedback", "api_keys", "gap_topics", "gap_runs",
            "incidents", "evidence", "connections"} <= set(schema)
    assert schema["gap_topics"][-3:] == sorted(schema["gap_topics"])[-3:] and "merged_into" in schema["gap_topics"]


def test_both_backends_build_the_same_schema(tmp_path, postgres_server):
    """Same migration names, same tables, same columns (and primary keys) on SQLite and PostgreSQL."""
    lite = open_store(tmp_path / "deflect.db")
    url = postgres_server.create_database()
    try:
        server = open_store(url)
        assert _schema(lite) == _schema(server)
        assert {t: lite.db[t].pks for t in lite.db.table_names()} == \
               {t: server.db[t].pks for t in lite.db.table_names()}
        server.close()
    finally:
        lite.close()
        release(url)
        postgres_server.drop_database(url)


def test_rows_round_trip(store):
    table = store.db["gap_topics"]
    table.insert({"id": "G-0001", "status": "new", "keywords": ["abo", "kündigen"], "size": 3, "centroid": b"\x00\x01"})
    row = table.get("G-0001")
    assert row["keywords"] == '["abo", "k\\u00fcndigen"]' and row["size"] == 3 and bytes(row["centroid"]) == b"\x00\x01"
    table.upsert_all([{"id": "G-0001", "title": "Abo kündigen"}], pk="id")
    table.upsert_all([{"id": "G-0002", "status": "new"}], pk="id")
    assert table.get("G-0001")["status"] == "new" and table.get("G-0001")["title"] == "Abo kündigen"  # kept, set
    assert table.count == 2
    table.update("G-0002", {"status": "planned", "owner": "Miriam"})
    assert [r["id"] for r in table.rows_where("status = ?", ["planned"], order_by="id")] == ["G-0002"]
    table.delete("G-0002")
    with pytest.raises(RowNotFound):
        table.get("G-0002")
    with pytest.raises(RowNotFound):
        table.update("G-0002", {"status": "new"})
    first = store.db["gap_events"].insert({"topic_id": "G-0001", "at": "2026-01-01T00:00:00+00:00",
                                           "action": "planned"}).last_pk
    second = store.db["gap_events"].insert({"topic_id": "G-0001", "at": "2026-01-01T00:00:01+00:00",
                                            "action": "covered"}).last_pk
    assert second > first                       # the database numbers the rows
    store.db["notice_views"].insert({"notice_id": 1, "session": "s", "at": "x"}, ignore=True)
    store.db["notice_views"].insert({"notice_id": 1, "session": "s", "at": "y"}, ignore=True)
    assert [r["at"] for r in store.db["notice_views"].rows] == ["x"]


def test_store_operations(store):
    store.upsert_articles([Article(id="a1", title="Abo kündigen", body="So geht es.", language="de",
                                   questions=["Wie kündige ich?"], tags=["abo"], url=None, source="t")])
    assert store.get_article("a1").questions == ["Wie kündige ich?"]
    assert store.upsert_articles([store.get_article("a1")])["unchanged"] == ["a1"]
    iid = store.log_inquiry(Inquiry(None, text="Wie kündige ich? Ich bin anna@example.org", language="de"),
                            "answer", 0.8, "a1", channel="widget", session="s1")
    row = store.db["inquiries"].get(iid)
    assert "anna@example.org" not in row["text"] and row["confidence"] == pytest.approx(0.8)
    store.set_setting("calibration", {"threshold": 0.5, "fitted": True})
    assert store.get_setting("calibration") == {"threshold": 0.5, "fitted": True}
    assert store.get_setting("missing", 7) == 7
    assert store.counts() == {"articles": 1, "tickets": 0, "tickets_linked": 0, "inquiries": 1}
    store.delete_article("a1")
    assert not store.has_article("a1")


def test_a_failed_transaction_writes_nothing(store):
    with pytest.raises(RuntimeError):
        with store.db.transaction():
            store.db.execute("insert into settings (key, value) values (?, ?)", ["k", "1"])
            raise RuntimeError("midway")
    assert store.get_setting("k") is None
    with store.db.transaction():
        store.db.execute("insert into settings (key, value) values (?, ?)", ["k", "1"])
    assert store.get_setting("k") == 1


def test_a_failure_after_batched_writes_leaves_none_of_them(store):
    # upsert_tickets writes in batches of 1,000, each in a block of its own inside the caller's transaction
    tickets = [Ticket(f"T{i}", "Zeitung fehlt", "heute nicht da", "nachgeliefert", None, "de") for i in range(2500)]
    with pytest.raises(RuntimeError):
        with store.db.transaction():
            store.upsert_tickets(tickets)
            raise RuntimeError("the next file is bad")
    assert store.db.execute("select count(*) from tickets").fetchone()[0] == 0
    with store.db.transaction():
        with pytest.raises(RuntimeError):
            with store.db.transaction():      # an inner block that fails takes only its own writes back
                store.upsert_tickets(tickets[:1])
                raise RuntimeError("inner")
        store.upsert_tickets(tickets[1:3])
    assert store.db.execute("select count(*) from tickets").fetchone()[0] == 2


def test_percent_signs_and_quoted_marks_survive_the_placeholders(store):
    store.db.execute("insert into settings (key, value) values (?, '\"100%?\"')", ["p"])
    assert store.db.execute("select value from settings where key like ? and value like '%?%'",
                            ["p%"]).fetchone()[0] == '"100%?"'
    assert store.db.execute("select count(*) from settings where key in ()").fetchone()[0] == 0
    total = store.db.execute("select count(*) from settings").fetchone()[0]
    assert store.db.execute("select count(*) from settings where key not in ()").fetchone()[0] == total
    params = {"since": "2026", "top": 3}
    assert store.db.execute("select count(*) from inquiries where created_at >= :since limit :top",
                            params).fetchone()[0] == 0


def test_placeholders_become_psycopg_ones():
    assert _postgres_sql("select '?', \"a%\" from t where x = ? and y like '50%' and z = :name") == \
        "select '?', \"a%%\" from t where x = %s and y like '50%%' and z = %(name)s"
    assert _postgres_sql("select 'it''s ?', ?") == "select 'it''s ?', %s"


# -- PostgreSQL only ---------------------------------------------------------------------------------

def wait_for(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def server_url(postgres_server):
    url = postgres_server.create_database()
    yield url
    release(url)
    postgres_server.drop_database(url)


def test_processes_starting_together_migrate_once(server_url):
    errors, stores = [], []

    def open_one() -> None:
        try:
            stores.append(open_store(server_url))
        except Exception as exc:   # noqa: BLE001 - reported below
            errors.append(exc)
    from deflect.store import core
    core._MIGRATED.discard(server_url)
    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    names = [r[0] for r in stores[0].db.execute("select name from _migrations")]
    assert len(names) == len(set(names)) == len(MIGRATIONS)
    for s in stores:
        s.close()


def test_threads_have_their_own_transactions(server_url):
    store = open_store(server_url, check_same_thread=False)
    inside, release_writer = threading.Event(), threading.Event()

    def writer() -> None:
        with store.db.transaction():
            store.db.execute("insert into settings (key, value) values ('w', '1')")
            inside.set()
            release_writer.wait(10)
    thread = threading.Thread(target=writer)
    thread.start()
    inside.wait(10)
    assert store.get_setting("w") is None      # not committed yet: another thread does not see it
    release_writer.set()
    thread.join()
    assert store.get_setting("w") == 1
    store.close()


def test_a_server_restart_answers_503_then_recovers(postgres_server, tmp_path, monkeypatch):
    """While PostgreSQL is down the API says 503 with Retry-After (never 500); afterwards the same
    process works again without a restart, and the store's open connections reconnect."""
    url = postgres_server.create_database()
    monkeypatch.setenv("DEFLECT_DATABASE_URL", url)
    try:
        app, fake = make_app(tmp_path)
        client = app.test_client()
        before = client.post("/api/v1/suggest", json={"text": "Wie kündige ich mein Abo?"})
        assert before.status_code == 200
        postgres_server.stop()
        try:
            # a vote while the server restarts waits in the spool (the customer was thanked for it)
            r = client.post("/api/v1/feedback", json={"inquiry_id": before.get_json()["id"], "event": "helpful"})
            assert r.status_code == 201, r.get_json()
            r = client.get("/api/v1/gaps", headers={"Authorization": "Bearer dfk_x"})
            assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0
            assert r.get_json()["ok"] is False
            with pytest.raises(StoreUnavailable):
                fake.store.counts()
            ready = client.get("/readyz")
            assert ready.status_code == 503 and "Retry-After" in ready.headers
        finally:
            postgres_server.start()
        assert fake.store.counts()["articles"] >= 1     # the long-lived store reconnected
        answer = client.post("/api/v1/suggest", json={"text": "Wie kündige ich mein Abo?"})
        assert answer.status_code == 200
        iid = answer.get_json()["id"]
        assert client.post("/api/v1/feedback", json={"inquiry_id": iid, "event": "helpful"}).status_code == 201
        assert fake.store.db["inquiries"].get(iid)["channel"] == "widget"
        kept = fake.store.db.execute("select count(*) from feedback where inquiry_id = ?", [before.get_json()["id"]])
        assert kept.fetchone()[0] == 1
        fake.close()
    finally:
        release(url)
        postgres_server.drop_database(url)


def test_the_database_option_and_setting(server_url, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from deflect.cli import cli
    from deflect.store.service import list_keys

    monkeypatch.delenv("DEFLECT_DATABASE_URL", raising=False)
    runner = CliRunner()
    r = runner.invoke(cli, ["keys", "create", "--name", "cms", "--quiet", "--home", str(tmp_path / "home"),
                            "--database", server_url])
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "home" / "deflect.db").exists()      # the store is on the server
    store = open_store(server_url)
    assert [k["name"] for k in list_keys(store)] == ["cms"]
    store.close()
    monkeypatch.setenv("DEFLECT_DATABASE_URL", server_url.replace("postgres@", "postgres:s3cret@"))
    shown = runner.invoke(cli, ["settings"]).output
    assert "s3cret" not in shown and "postgres:***@127.0.0.1" in shown
    assert "--database" in runner.invoke(cli, ["serve", "--help"]).output


def test_requests_during_a_restart_under_load_get_503_never_500(postgres_server, tmp_path, monkeypatch):
    """Threads of a real server keep asking and voting while PostgreSQL restarts: every answer is a
    success or a 503 with Retry-After, and every acknowledged vote is stored."""
    import json
    import urllib.error
    import urllib.request

    from werkzeug.serving import make_server

    url = postgres_server.create_database()
    monkeypatch.setenv("DEFLECT_DATABASE_URL", url)
    app, fake = make_app(tmp_path)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/api/v1"
    statuses: list[int] = []
    acknowledged: list[str] = []
    stop = threading.Event()

    def post(path: str, body: dict) -> tuple[int, dict, dict]:
        request = urllib.request.Request(base + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return r.status, json.loads(r.read()), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}"), dict(e.headers)

    failures: list[str] = []

    def client(n: int) -> None:
        try:
            ask(n)
        except Exception as exc:   # noqa: BLE001 - reported by the test
            failures.append(repr(exc))
            stop.set()

    def ask(n: int) -> None:
        while not stop.is_set():
            status, body, headers = post("/suggest", {"text": "Wie kündige ich mein Abo?", "session": f"s{n}"})
            statuses.append(status)
            assert status == 200 or (status == 503 and int(headers["Retry-After"]) > 0), (status, body)
            if status == 200:
                vote, answer, headers = post("/feedback", {"inquiry_id": body["id"], "event": "helpful"})
                statuses.append(vote)
                assert vote == 201 or (vote == 503 and "Retry-After" in headers), (vote, answer)
                if vote == 201:
                    acknowledged.append(answer["id"])
    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    try:
        for t in threads:
            t.start()
        wait_for(lambda: len(statuses) >= 20 or stop.is_set())
        postgres_server.stop()
        threading.Event().wait(1.0)
        postgres_server.start()
        seen = len(statuses)
        wait_for(lambda: len(statuses) >= seen + 20 or stop.is_set())
    finally:
        stop.set()
        for t in threads:
            t.join(60)
        server.shutdown()
    assert not failures and 500 not in statuses and statuses.count(503) >= 1 and statuses[-1] in (200, 201)
    store = open_store(url)
    stored = {r[0] for r in store.db.execute("select id from feedback")}
    assert set(acknowledged) <= stored   # nothing acknowledged is lost (votes may wait in the spool)
    store.close()
    fake.close()
    release(url)
    postgres_server.drop_database(url)


def test_a_database_url_is_shown_without_its_password():
    from deflect.settings import without_password
    assert without_password("postgresql://deflect:SECRET@db:5432/deflect") == "postgresql://deflect:***@db:5432/deflect"
    assert without_password("postgresql://deflect@db/deflect") == "postgresql://deflect@db/deflect"
    # passwords written without percent-encoding, as generated ones often are
    for secret in ("pa/ss42", "Pa@ss42", "Pa ss42"):
        url = f"postgresql://deflect:{secret}@db:5432/deflect"
        assert without_password(url) == "postgresql://deflect:***@db:5432/deflect"
        assert without_password(url, f'invalid dsn: "{secret}"') == 'invalid dsn: "***"'
    # libpq takes the password as a parameter of the query too
    url = "postgresql://deflect@db/deflect?sslmode=require&password=S3cret_xyz"
    assert without_password(url) == "postgresql://deflect@db/deflect?sslmode=require&password=***"
    assert without_password(url, f"cannot connect to {url}: timeout") == \
        "cannot connect to postgresql://deflect@db/deflect?sslmode=require&password=***: timeout"


def test_a_port_nobody_listens_on_names_host_and_port_to_check():
    import socket

    from deflect.store import open_store

    with socket.socket() as probe:   # a loopback port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(StoreUnavailable) as refused:
        open_store(f"postgresql://deflect:s3cret@127.0.0.1:{port}/deflect")
    hint = refused.value.hint
    assert f"host 127.0.0.1, port {port}" in hint and "DEFLECT_DATABASE_URL" in hint
    assert "s3cret" not in str(refused.value) + hint


def test_a_wrong_database_url_says_what_to_check_and_never_the_password(postgres_server):
    from deflect.errors import DeflectError
    from deflect.store import open_store

    base = postgres_server.url().rsplit("/", 1)[0]
    for url, said in ((base + "/no_such_database", "does not exist"),
                      (base.replace("postgres@", "postgres:Pa ss42@") + "/postgres", "")):
        with pytest.raises(DeflectError) as refused:
            open_store(url)
        assert not isinstance(refused.value, StoreUnavailable)     # no "try again in 5 seconds"
        assert said in str(refused.value) and "Pa ss42" not in str(refused.value) + str(refused.value.hint)
        assert "DEFLECT_DATABASE_URL" in refused.value.hint


def test_a_setting_that_worked_and_fails_now_is_an_outage_for_a_running_service():
    """A password rotated under a running service: 503 with the setting's hint (clients retry, and it
    recovers when the setting is put right), not 500; at start it is the setting's fault."""
    import psycopg

    from deflect.store.postgres import connect_error

    exc = psycopg.OperationalError('connection failed: FATAL: password authentication failed for user "deflect"')
    url = "postgresql://deflect:Old_pw_1@db/deflect"
    at_start, running = connect_error(exc, url), connect_error(exc, url, worked=True)
    assert not isinstance(at_start, StoreUnavailable) and isinstance(running, StoreUnavailable)
    assert running.status == 503 and "DEFLECT_DATABASE_URL" in running.hint and "Old_pw_1" not in str(running)


def test_a_store_changed_by_a_newer_deflect_is_not_opened(tmp_path):
    from deflect.errors import DeflectError
    from deflect.store import open_store

    store = open_store(tmp_path / "deflect.db")
    with store.db.transaction():
        store.db.execute("insert into _migrations (name, applied_at) values ('999_from_the_future', 'x')")
    store.close()
    with pytest.raises(DeflectError, match="newer deflect") as refused:
        open_store(tmp_path / "deflect.db")
    assert "Upgrade deflect" in refused.value.hint


def test_a_new_sqlite_store_is_readable_by_its_owner_only(tmp_path):
    import os
    import stat

    from deflect.store import open_store

    open_store(tmp_path / "deflect.db").close()
    assert stat.S_IMODE(os.stat(tmp_path / "deflect.db").st_mode) == 0o600


def test_a_nul_character_in_a_text_cannot_jam_the_store(store):
    """PostgreSQL refuses NUL in text; a row holding one would stay in the spool and hold up every row
    after it. Any text that still brings one (the API refuses them) is stored without it."""
    store.log_inquiry(Inquiry("q-nul", "Zeitung\x00 fehlt", "de"), "answer", 0.9, None, session="s\x00-1")
    row = store.db.execute("select text, session from inquiries where id = 'q-nul'").fetchone()
    assert tuple(row) in (("Zeitung fehlt", "s-1"), ("Zeitung\x00 fehlt", "s\x00-1"))   # PostgreSQL, SQLite


def test_two_votes_on_one_suggestion_at_once_store_one(tmp_path, database):
    """Two tabs, or a request sent twice: the votes race between the check for an earlier vote and the
    insert. Each thread has its own connection, as two workers do."""
    from deflect.store.service import record_vote

    location = Home.resolve(tmp_path / "home").database
    first = open_store(location)
    ids = [first.log_inquiry(Inquiry(None, text=f"Abo kündigen {n}", language="de"), "answer", 0.9, "abo",
                             session=f"s{n}") for n in range(15)]
    stores = [open_store(location, check_same_thread=False) for _ in range(2)]
    for iid in ids:
        barrier = threading.Barrier(2)

        def vote(store, event, iid=iid, barrier=barrier):
            barrier.wait()
            record_vote(store, iid, event, "abo")

        threads = [threading.Thread(target=vote, args=(s, e)) for s, e in zip(stores, ("helpful", "not_helpful"))]
        [t.start() for t in threads]
        [t.join() for t in threads]
    counts = [first.db.execute("select count(*) from feedback where inquiry_id = ?", [i]).fetchone()[0] for i in ids]
    assert counts == [1] * len(ids)
