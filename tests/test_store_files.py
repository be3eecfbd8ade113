"""The SQLite file of a store as an admin meets it: who may read it, a full disk, a folder it cannot write."""
from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest
from click.testing import CliRunner

from deflect.cli import cli
from deflect.errors import DeflectError
from deflect.store import open_store
from deflect.store.database import SQLiteDatabase


def test_a_store_readable_by_others_is_made_the_owners_only(tmp_path):
    # a store made by an older release, or copied back from a backup at umask 022
    path = tmp_path / "deflect.db"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    open_store(path).close()
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_write_the_disk_refused_inside_a_batch_is_reported_not_masked(tmp_path):
    # SQLite rolls the whole transaction back on a full disk; undoing the inner batch then must not raise
    # "no such savepoint" over the real error
    db = SQLiteDatabase(tmp_path / "deflect.db")
    db.execute("create table t (x)")
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        with db.transaction():
            db.execute("insert into t values (1)")
            with db.transaction():
                db.conn.rollback()
                raise sqlite3.OperationalError("database or disk is full")
    assert db.execute("select count(*) from t").fetchone()[0] == 0


def test_a_transaction_that_reads_first_waits_for_another_writer_instead_of_failing(tmp_path):
    # a gap report run reads, then writes, while its alive-mark thread commits on its own connection
    db = SQLiteDatabase(tmp_path / "deflect.db", check_same_thread=False)
    db.execute("create table t (x)")
    db.conn.commit()
    other = SQLiteDatabase(tmp_path / "deflect.db", check_same_thread=False)
    read, marked = threading.Event(), []

    def mark() -> None:
        read.wait()
        with other.transaction():
            other.execute("insert into t values ('alive')")
        marked.append(time.monotonic())

    thread = threading.Thread(target=mark)
    thread.start()
    with db.transaction():
        db.execute("select count(*) from t").fetchone()
        read.set()
        time.sleep(0.3)                      # the other connection tries to commit meanwhile
        db.execute("insert into t values ('report')")
    thread.join(timeout=30)
    rows = [r[0] for r in db.execute("select x from t order by rowid")]
    assert rows == ["report", "alive"] and marked


def test_an_ingest_redacts_before_it_takes_the_write_lock(tmp_path, monkeypatch):
    # redacting a large export takes a minute; the service's writes (a widget search's log row) must not
    # wait for it behind the ingest's transaction
    from deflect.ingest import ingest

    export = tmp_path / "tickets.jsonl"
    export.write_text("".join(json.dumps({"id": f"T-{i}", "subject": "Zeitung fehlt", "body": f"Heute nicht {i}",
                                          "resolution": "Nachgeliefert.", "language": "de"}) + "\n"
                              for i in range(60)), encoding="utf-8")
    store = open_store(tmp_path / "deflect.db", check_same_thread=False)
    redact, redacting = store.redactor.redact, threading.Event()

    def slow(text, **kwargs):
        redacting.set()
        time.sleep(0.02)
        return redact(text, **kwargs)

    monkeypatch.setattr(store.redactor, "redact", slow)   # the process's shared redactor: undone after the test
    thread = threading.Thread(target=ingest, args=(store, [export]))
    thread.start()
    redacting.wait(10)
    other = SQLiteDatabase(tmp_path / "deflect.db")
    with other.busy_timeout(0.5):
        with other.transaction():
            other.execute("insert into settings (key, value) values ('probe', '1')")
    thread.join(60)
    assert store.counts()["tickets"] == 60


def test_a_full_disk_is_told_as_such(tmp_path, monkeypatch):
    from deflect.store import core

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(core.Store, "upsert_articles", full)
    (tmp_path / "faq").mkdir()
    (tmp_path / "faq" / "a.md").write_text("---\ntitle: Abo\n---\nSo kündigen Sie.", encoding="utf-8")
    r = CliRunner().invoke(cli, ["ingest", str(tmp_path / "faq"), "--home", str(tmp_path / "home")])
    assert r.exit_code == 1 and "disk is full (the write was undone)" in r.output and "df -h" in r.output


def test_a_folder_the_service_cannot_write_is_named(tmp_path, monkeypatch):
    from deflect.store import core

    monkeypatch.setattr(core.os, "access", lambda path, mode: False)
    monkeypatch.setattr(core, "Store", lambda *a, **k: (_ for _ in ()).throw(
        sqlite3.OperationalError("unable to open database file")))
    with pytest.raises(DeflectError) as err:
        open_store(tmp_path / "deflect.db")
    assert "is not writable for this user" in err.value.hint


def test_serve_on_a_store_restored_without_its_index_asks_for_the_index_only(tmp_path):
    from deflect.formats import Article

    store = open_store(tmp_path / "deflect.db")
    store.upsert_articles([Article("abo", "Abo", "So kündigen Sie.", "de")])
    store.close()
    r = CliRunner().invoke(cli, ["serve", "--home", str(tmp_path)])
    assert r.exit_code == 1 and "run `deflect index` first: the store holds the articles" in r.output
