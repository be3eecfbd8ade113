"""Incidents as inquiries arrive: new inquiries join the report's topics by nearest centroid (no full
report run needed), each topic's recent volume is checked against its usual level
(``deflect.gaps.incidents``), incidents are opened, kept and closed, and an optional hook is told."""
from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from datetime import datetime, timedelta

from deflect.clock import iso, parse_time, utcnow
from deflect.engine import Engine
from deflect.gaps.incidents import LOOKBACK_DAYS, check
from deflect.gaps.items import Customers
from deflect.gaps.notices import notice_rows
from deflect.gaps.topic_match import assign
from deflect.store.database import IntegrityErrors

QUIET_AFTER = timedelta(hours=1)     # an incident closes when no window has alarmed for this long
HOOK_TRIES = 3
log = logging.getLogger("deflect.incidents")


def record_new_inquiries(deflector: Engine, limit: int = 2000) -> int:
    """Assign the inquiries logged since the last call to topics; returns how many were new."""
    store = deflector.store
    mark = store.get_setting("incidents_mark") or ""
    # ">=": inquiries logged later within the second of the mark are still new (the check below skips
    # the ones already assigned)
    rows = store.db.execute("select id, text, created_at from inquiries where created_at >= ? "
                            "order by created_at limit ?", [mark, limit]).fetchall()
    rows = [r for r in rows if r[1] and not store.db.execute(
        "select 1 from topic_volume where inquiry_id = ?", [r[0]]).fetchone()]
    if not rows:
        return 0
    found = assign(deflector, [r[1] for r in rows])
    with store.db.transaction():
        store.db["topic_volume"].insert_all(
            [{"inquiry_id": r[0], "topic_id": t, "at": r[2], "similarity": round(s, 4)}
             for r, (t, s) in zip(rows, found, strict=True)], pk="inquiry_id", replace=True)
        store.set_setting("incidents_mark", max(r[2] for r in rows))
    return len(rows)


def topic_times(store, topic_id: str, now: datetime) -> list[float]:
    """When the topic's customers asked (epoch seconds, sorted, the last weeks): a widget session once, at its
    first inquiry of the topic (its search-as-you-type stages and repeats are one customer), a ticket once
    however often agents looked it up, every other inquiry and ticket on its own. An agent's lookup without
    a ticket is no customer asking."""
    since = iso(now - timedelta(days=LOOKBACK_DAYS + 1))
    first: dict[str, str] = {}
    customers = Customers()   # one client address: a few customers, however many sessions it invents

    def asked(key: str, session: str | None, at: str | None, client: str | None, ticket: str | None) -> None:
        if at and at >= since:
            who = customers.of(key, session, client, ticket)
            first[who] = min(at, first.get(who, at))

    rows = [(f"inquiry:{inquiry_id}", session, at, client, channel, ticket)
            for inquiry_id, at, session, client, channel, ticket in store.db.execute(
                "select v.inquiry_id, v.at, i.session, i.client, i.channel, i.ticket_id from topic_volume v "
                "left join inquiries i on i.id = v.inquiry_id where v.topic_id = ? and v.at >= ?", [topic_id, since])]
    rows += list(store.db.execute(
        "select g.key, i.session, coalesce(i.created_at, t.created_at), i.client, i.channel, i.ticket_id "
        "from gap_items g left join inquiries i on g.source = 'inquiry' and i.id = g.item_id "
        "left join tickets t on g.source = 'ticket' and t.id = g.item_id where g.topic_id = ?", [topic_id]))
    for key, session, at, client, channel, ticket in sorted(rows, key=lambda r: r[2] or ""):
        if channel == "agent" and not ticket and not session:
            continue
        asked(key, session, at, client, ticket)
    return sorted(m.timestamp() for m in (parse_time(a) for a in first.values()) if m)


def watch(deflector: Engine, now: datetime | None = None, hook_url: str | None = None) -> list[dict]:
    """Assign new inquiries, then open, update and close incidents; returns the open incidents."""
    store = deflector.store
    now = now or utcnow()
    record_new_inquiries(deflector)
    topics = [r[0] for r in store.db.execute("select id from gap_topics where status in ('new', 'planned')")]
    # since when inquiries are logged: a topic first asked about since then was not asked before
    logged_since = parse_time(store.db.execute("select min(created_at) from inquiries").fetchone()[0] or "")
    first_seen = logged_since.timestamp() if logged_since else None
    opened = []
    for topic_id in topics:
        alarm = check(topic_times(store, topic_id, now), now, first_seen)
        current = store.db.execute("select id, updated_at from incidents where topic_id = ? and state = 'open'",
                                   [topic_id]).fetchone()
        with store.db.transaction():
            if alarm and current:
                store.db.execute("update incidents set count = ?, baseline = ?, spread = ?, score = ?, updated_at = ? "
                                 "where id = ?", [alarm.count, alarm.baseline, alarm.spread, alarm.score, iso(now),
                                                  current[0]])
            elif alarm:
                row = {"topic_id": topic_id, "state": "open", "started_at": iso(alarm.started_at),
                       "detected_at": iso(now), "count": alarm.count, "baseline": alarm.baseline,
                       "spread": alarm.spread, "score": alarm.score, "updated_at": iso(now)}
                try:
                    row["id"] = store.db["incidents"].insert(row).last_pk
                except IntegrityErrors:   # another worker opened it just now
                    continue
                opened.append(row)
            elif current and (parse_time(current[1]) or now) + QUIET_AFTER <= now:
                store.db.execute("update incidents set state = 'closed', ended_at = ? where id = ?",
                                 [iso(now), current[0]])
    if hook_url:
        titles = {r["id"]: r.get("title") or r.get("label") for r in open_incidents(store)}
        home = getattr(deflector, "home", None)
        for row in opened:
            notify_in_background(store, hook_url, {**row, "title": titles.get(row["id"])},
                                 home.path.name if home is not None else None)
    return open_incidents(store)


def open_incidents(store, include_closed: bool = False) -> list[dict]:
    """The incidents (open ones first, newest first) with their topic's title and fix kind."""
    where = "" if include_closed else "where i.state = 'open'"
    cur = store.db.execute(f"select i.*, g.title, g.label, g.report from incidents i left join gap_topics g "
                           f"on g.id = i.topic_id {where} order by i.state = 'open' desc, i.detected_at desc")
    cols = [d[0] for d in cur.description]
    out = []
    for r in cur.fetchall():
        row = dict(zip(cols, r, strict=True))
        report = json.loads(row.pop("report") or "{}")
        row["fix_kind"] = (report.get("fix") or {}).get("kind")
        row["notices"] = notices_of(store, row["id"])
        out.append(row)
    return out


def notices_of(store, incident_id: int) -> list[dict]:
    return notice_rows(store, "incident_id = ?", [incident_id])


def notify(hook_url: str, payload: dict, tries: int = HOOK_TRIES, pause: float = 1.0,
           help_center: str | None = None) -> bool:
    """POST the incident as JSON to the hook, retrying; True when it took it (2xx). ``help_center``: the
    name of the help center it is about (one hook may serve every help center of an instance)."""
    body = json.dumps({"event": "incident", **({"help_center": help_center} if help_center else {}),
                       "incident": payload}, ensure_ascii=False).encode()
    for attempt in range(tries):
        try:
            req = urllib.request.Request(hook_url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=5) as resp:
                if 200 <= resp.status < 300:
                    return True
        except OSError as exc:
            log.warning("incident hook %s failed (try %d): %s", hook_url, attempt + 1, exc)
        time.sleep(pause * (2 ** attempt))
    return False


def notify_in_background(store, hook_url: str, row: dict, help_center: str | None = None) -> threading.Thread:
    """Tell the hook without blocking anyone; the incident records when the hook took it."""
    from deflect.store import open_store
    path = getattr(store, "location", None)

    def run() -> None:
        if not (notify(hook_url, row, help_center=help_center) and path):
            return
        try:   # the hook has it; a database that cannot take the note now leaves notified_at empty
            own = open_store(path, check_same_thread=False)
            try:
                with own.db.transaction():
                    own.db.execute("update incidents set notified_at = ? where id = ?", [iso(utcnow()), row["id"]])
            finally:
                own.close()
        except Exception as exc:  # noqa: BLE001 -- a background thread: said in the log, never raised
            log.warning("deflect: incident %s was sent to the hook, but its time could not be stored: %s",
                        row.get("id"), exc)
    thread = threading.Thread(target=run, daemon=True, name="incident-hook")
    thread.start()
    return thread


class _OnStore:
    """The engine seen through a background thread's own store connection."""

    def __init__(self, deflector: Engine, store):
        self._deflector, self.store = deflector, store

    def __getattr__(self, name):
        return getattr(self._deflector, name)


# Per store (the help centers of one instance each have their own: one's traffic must not use up the
# other's checks): when its last check started, and the lock of the check running on it.
_last_watch: dict[str, float] = {}
_watch_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()


def watch_in_background(deflector: Engine, path, hook_url: str | None = None,
                        min_interval: float = 60.0) -> threading.Thread | None:
    """``watch`` in a daemon thread with its own connection, at most once per ``min_interval`` seconds
    per store and process (never blocks the caller; a run going on is not joined)."""
    now, where = time.monotonic(), str(path)
    with _locks_lock:
        lock = _watch_locks.setdefault(where, threading.Lock())
    if not lock.acquire(blocking=False):
        return None
    if now - _last_watch.get(where, float("-inf")) < min_interval:
        lock.release()
        return None
    _last_watch[where] = now

    def run() -> None:
        from deflect.store import Store
        store = None
        try:   # a database that cannot be opened now (a restarting server) is tried at the next check
            store = Store(path)
            watch(_OnStore(deflector, store), hook_url=hook_url)
        except Exception:
            log.exception("deflect: incident check failed")
        finally:
            if store is not None:
                store.close()
            lock.release()
    thread = threading.Thread(target=run, daemon=True, name="deflect-incidents")
    thread.start()
    return thread
