"""The process's inquiry writer (web.inquiry_log): a row is stored before its request answers; rows of
concurrent requests share transactions; a database that cannot take them sends them to the spool."""
from __future__ import annotations

import sqlite3
import threading
import time
import uuid

from deflect.web.inquiry_log import InquiryLog

from deflect.formats import Inquiry
from deflect.store import open_store
from deflect.store.core import inquiry_row


def _row(text: str) -> dict:
    return inquiry_row(Inquiry(uuid.uuid4().hex, text, "de"), "answer", 0.9, "a1", "widget")


def _log(path, kept: list, after=lambda store: None) -> InquiryLog:
    return InquiryLog(lambda: open_store(path), lambda row, reason: kept.append((row, reason)) or True, after, 1.0)


def test_each_row_is_in_the_database_when_log_returns_and_concurrent_ones_share_transactions(tmp_path):
    path, kept = tmp_path / "deflect.db", []
    open_store(path).close()
    log = _log(path, kept)
    rows = [_row(f"Frage {i}") for i in range(40)]
    seen: list[bool] = []
    barrier = threading.Barrier(8)

    def client(part: list[dict]) -> None:
        barrier.wait()
        for row in part:
            assert log.log(row)
            check = sqlite3.connect(path)   # another connection sees it: committed
            seen.append(check.execute("select count(*) from inquiries where id = ?", [row["id"]]).fetchone()[0] == 1)
            check.close()

    threads = [threading.Thread(target=client, args=(rows[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [True] * 40 and not kept
    assert log.rows == 40 and log.batches < 40


def test_a_database_that_cannot_take_the_rows_sends_them_to_the_spool(tmp_path):
    path, kept = tmp_path / "deflect.db", []
    open_store(path).close()
    log = _log(path, kept, after=lambda store: store.db.execute("select * from no_such_table"))
    row = _row("Meine Zeitung kam nicht")
    assert log.log(row) is False
    assert [r["id"] for r, _ in kept] == [row["id"]]
    assert log.log(_row("noch eine Frage")) is False   # the writer goes on after a failed batch


def test_the_rows_of_one_group_are_written_in_one_transaction_and_answered_together(tmp_path):
    path, kept = tmp_path / "deflect.db", []
    open_store(path).close()
    log = InquiryLog(lambda: open_store(path), lambda row, reason: kept.append((row, reason)) or True,
                     lambda store: None, 1.0, group_wait=2.0)
    answered: dict[int, float] = {}

    def request(i: int) -> None:
        threading.Event().wait(0.2 * i)    # the requests of one forward reach the log one after the other
        assert log.log(_row(f"Frage {i}"), group=("forward 1", 4))
        answered[i] = time.monotonic()

    threads = [threading.Thread(target=request, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log.rows == 4 and log.batches == 1 and not kept
    assert max(answered.values()) - min(answered.values()) < 0.3   # they came 0.6 s apart


def test_a_group_row_that_never_comes_delays_the_others_only_boundedly(tmp_path):
    path, kept = tmp_path / "deflect.db", []
    open_store(path).close()
    log = InquiryLog(lambda: open_store(path), lambda row, reason: kept.append((row, reason)) or True,
                     lambda store: None, 1.0, group_wait=1.0)
    start = time.monotonic()
    assert log.log(_row("allein"), group=("forward 7", 3))   # its two companions failed before logging
    assert 0.5 < time.monotonic() - start < 3.0
    start = time.monotonic()
    assert log.log(_row("ohne Gruppe"))
    assert time.monotonic() - start < 0.5                      # no group: no wait


def test_rows_behind_a_write_the_database_never_answers_go_to_the_spool_at_once(tmp_path):
    path, kept = tmp_path / "deflect.db", []
    open_store(path).close()
    hung = threading.Event()
    log = _log(path, kept, after=lambda store: hung.wait(20))   # a server that stopped answering
    first = threading.Thread(target=log.log, args=(_row("Meine Zeitung kam nicht"),))
    first.start()
    time.sleep(2.5)                                             # longer than the lock timeout (1 s) + grace
    started = time.monotonic()
    assert log.log(_row("Wo ist meine Rechnung?")) is False
    assert time.monotonic() - started < 0.5 and "has not answered" in str(kept[-1][1])
    hung.set()
    first.join(10)
