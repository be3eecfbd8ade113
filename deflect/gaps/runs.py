"""Runs of the stored report. The report is built by a run (``deflect gaps --rebuild``, after
``deflect index``, after article pushes, ``POST /api/v1/gaps/runs``) and read from the store in
between. One run at a time per home: a running run is a row in ``gap_runs`` that a unique index
keeps single, so two processes never build at once. A change while a run is going asks it to run
again when done (``rerun``), so the last change is always in the report."""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from deflect.clock import iso, parse_time, utcnow
from deflect.engine import Engine
from deflect.errors import DeflectError, InputError, NotFoundError
from deflect.gaps.cluster import MIN_SIZE, GapReport
from deflect.gaps.model import Run, RunOptions
from deflect.gaps.report import PERIOD_DAYS, build_report
from deflect.store.database import IntegrityErrors

STALE_AFTER = timedelta(hours=6)    # a run running this long is taken to be dead
ALIVE_EVERY = 60.0                  # seconds between a running run's signs of life
SILENT_AFTER = timedelta(minutes=5)  # a run on another host silent this long is taken to be dead
HOST = socket.gethostname()
log = logging.getLogger("deflect.gaps")


class RunInProgressError(DeflectError):
    """Another run of the report is going on for this home."""

    status = 409


def _run(row: dict) -> Run:
    return Run(id=row["id"], state=row["state"], trigger=row["trigger"],
               options=RunOptions(**json.loads(row["options"] or "{}")), started_at=row["started_at"],
               finished_at=row["finished_at"], error=row["error"])


def _one(store, where: str, params: list) -> dict | None:
    cur = store.db.execute(f"select * from gap_runs where {where} order by id desc limit 1", params)
    row = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None


def latest_run(store) -> Run | None:
    """The latest run (it may still be running)."""
    row = _one(store, "1 = 1", [])
    return _run(row) if row else None


def get_run(store, run_id: int) -> Run:
    row = _one(store, "id = ?", [run_id])
    if row is None:
        raise NotFoundError(f"no gap report run {run_id}")
    return _run(row)


def resolve_options(store, options: RunOptions | None = None) -> RunOptions:
    """The options a run uses: those given, else the last report's, else the defaults."""
    options = options or RunOptions()
    row = store.db.execute("select params from gap_report where id = 1").fetchone()
    last = json.loads(row[0]) if row else {}
    out = RunOptions(min_size=options.min_size or last.get("min_size") or MIN_SIZE,
                     period_days=options.period_days or last.get("period_days") or PERIOD_DAYS)
    if out.min_size < 2:
        raise InputError(f"min_size must be at least 2 (got {out.min_size})")
    if out.period_days < 1:
        raise InputError(f"period_days must be at least 1 (got {out.period_days})")
    return out


def _clear_stale(store, now: datetime) -> None:
    """Fail a running row whose process is gone (same host), whose process on another host (a replica on
    a shared database) gave no sign of life for ``SILENT_AFTER``, or that ran for far too long."""
    row = _one(store, "state = 'running'", [])
    if row is None:
        return
    started = parse_time(row["started_at"]) or now
    gone = row["host"] == HOST and row["pid"] != os.getpid() and not _alive(row["pid"])
    alive_at = parse_time(row.get("alive_at"))
    silent = row["host"] != HOST and alive_at is not None and now - alive_at > SILENT_AFTER
    if gone or silent or now - started > STALE_AFTER:
        with store.db.transaction():
            store.db.execute("update gap_runs set state = 'failed', finished_at = ?, error = ? "
                             "where id = ? and state = 'running'", [iso(now), "interrupted", row["id"]])


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim(store, options: RunOptions | None = None, trigger: str = "api") -> tuple[Run, bool]:
    """Start a run: (the new run, True), or (the one running now, False)."""
    options = resolve_options(store, options)
    now = utcnow()
    _clear_stale(store, now)
    try:
        with store.db.transaction():
            cur = store.db.execute(
                "insert into gap_runs (state, trigger, options, started_at, host, pid, rerun) "
                "values ('running', ?, ?, ?, ?, ?, 0) returning id",
                [trigger, json.dumps(options.to_dict()), iso(now), HOST, os.getpid()])
            run_id = cur.fetchone()[0]
        return get_run(store, run_id), True
    except IntegrityErrors:     # gap_runs_one_running: one is running
        running = _one(store, "state = 'running'", [])
        if running is None:            # it ended just now: try again
            return claim(store, options, trigger)
        return _run(running), False


def _finish(store, run_id: int, state: str, error: str | None) -> bool:
    """Record the end of a run; returns whether a change asked for another run meanwhile."""
    with store.db.transaction():
        row = store.db.execute("update gap_runs set state = ?, finished_at = ?, error = ? where id = ? "
                               "returning rerun", [state, iso(utcnow()), error, run_id]).fetchone()
    return bool(row and row[0])


@contextmanager
def _alive_signs(location, run_id: int) -> Iterator[None]:
    """While the block runs, mark the run alive every ``ALIVE_EVERY`` seconds (its own connection, in a
    thread), so that a replica on another host can tell a long run from a process killed mid-run."""
    from deflect.store import Store

    done = threading.Event()

    def beat() -> None:
        store = None
        while True:
            try:
                store = store or Store(location)
                with store.db.transaction():
                    store.db.execute("update gap_runs set alive_at = ? where id = ? and state = 'running'",
                                     [iso(utcnow()), run_id])
            except Exception as exc:   # busy or away now: the run goes on, the next mark may pass
                log.warning("deflect: gap report run %s could not be marked alive (%s)", run_id, exc)
            if done.wait(ALIVE_EVERY):
                break
        if store is not None:
            store.close()

    thread = threading.Thread(target=beat, daemon=True, name=f"deflect-gaps-alive-{run_id}")
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=5)


def execute(deflector: Engine, run: Run, estimator: GapReport | None = None) -> Run:
    """Build the report of a claimed run (and again while changes asked for it); returns the last run.
    A failure is recorded on the run and raised."""
    store = deflector.store
    while True:
        try:
            with _alive_signs(store.location, run.id):
                build_report(deflector, min_size=run.options.min_size or MIN_SIZE,
                             period_days=run.options.period_days or PERIOD_DAYS, statuses=(), estimator=estimator)
        except BaseException as exc:
            _finish(store, run.id, "failed", f"{type(exc).__name__}: {exc}"[:1000])
            raise
        again = _finish(store, run.id, "done", None)
        if not again:
            return get_run(store, run.id)
        run, started = claim(store, run.options, run.trigger)
        if not started:
            return run


def run_now(deflector: Engine, options: RunOptions | None = None, trigger: str = "cli",
            estimator: GapReport | None = None) -> Run:
    """Build the report here and now; RunInProgressError when another run is going on."""
    run, started = claim(deflector.store, options, trigger)
    if not started:
        raise RunInProgressError(f"a gap report run is already going on (run {run.id}, started {run.started_at})",
                                 hint="Wait for it to finish, then read the report with `deflect gaps`.")
    return execute(deflector, run, estimator)


def has_report(store) -> bool:
    """Whether a report was ever stored."""
    return store.db.execute("select 1 from gap_report").fetchone() is not None


def refresh(deflector: Engine, trigger: str) -> Run | None:
    """After a change (index build, article push): build the stored report again, here and now --
    or, while another run goes on, ask it to run again when done. Nothing before a first report."""
    store = deflector.store
    if not has_report(store):
        return None
    while True:
        run, started = claim(store, None, trigger)
        if started:
            return execute(deflector, run)
        if _ask_rerun(store):
            return run


def _ask_rerun(store) -> bool:
    """Ask the running run to run again when done; False when none is running any more."""
    with store.db.transaction():
        return store.db.execute("update gap_runs set rerun = 1 where state = 'running'").rowcount > 0


class _OnStore:
    """The engine seen through another store (a background thread's own SQLite connection)."""

    def __init__(self, deflector: Engine, store):
        self._deflector, self.store = deflector, store

    def __getattr__(self, name):
        return getattr(self._deflector, name)


def start_in_background(deflector: Engine, store, options: RunOptions | None = None,
                        trigger: str = "api") -> tuple[Run, bool]:
    """Claim a run (in ``store``) and build it in a daemon thread with a connection of its own:
    (the new run, True), or (the one running now, False)."""
    run, started = claim(store, options, trigger)
    if started:
        threading.Thread(target=_background, args=(deflector, store.location, run), daemon=True,
                         name=f"deflect-gaps-run-{run.id}").start()
    return run, started


def refresh_in_background(deflector: Engine, store, trigger: str) -> Run | None:
    """``refresh`` in a background thread: returns the run started (or asked to run again), or None
    before a first report."""
    if not has_report(store):
        return None
    while True:
        run, started = start_in_background(deflector, store, None, trigger)
        if started or _ask_rerun(store):
            return run


def _background(deflector: Engine, path, run: Run) -> None:
    from deflect.store import Store

    store = Store(path)
    try:
        execute(_OnStore(deflector, store), run)
    except Exception:
        log.exception("deflect: gap report run %s failed", run.id)
    finally:
        store.close()


def wait(store, run_id: int, timeout: float = 60.0) -> Run:
    """The run once it is no longer running (polls; for tests and scripts)."""
    deadline = time.monotonic() + timeout
    run = get_run(store, run_id)
    while run.state == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
        run = get_run(store, run_id)
    return run
