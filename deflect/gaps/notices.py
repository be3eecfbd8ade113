"""Notices for incidents: a short text per language the team publishes (with a start and an end); the
widget shows it above its answers to customers whose question belongs to the incident's topic
("Bekannte Störung: ..."), and counts the sessions that saw it and then did not contact support. A notice
published without an end is shown while its topic has an open incident (and for ``AFTER_CLOSE`` after
the last one closed), or until the team ends it."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from deflect.clock import iso, parse_time, utcnow
from deflect.engine import Engine
from deflect.errors import ClientError, InputError, NotFoundError
from deflect.gaps.topic_match import similarities
from deflect.language import detect_language

MAX_TEXT = 500
AFTER_CLOSE = timedelta(hours=12)   # an open-ended notice outlives its topic's last incident by this much
PREFIX = {"de": "Bekannte Störung: ", "en": "Known issue: "}


class EmptyWindowError(ClientError):
    """A notice that would never be shown: its end is not after its start."""

    status = 409


def _moment(value: str) -> datetime:
    """An ISO time as given (any case, ``Z`` allowed), in UTC; InputError when it is none."""
    moment = parse_time(str(value).strip().upper().replace(" ", "T"))
    try:
        return moment.astimezone(UTC) if moment else _bad_time()
    except (OverflowError, ValueError):
        return _bad_time()


def _bad_time() -> datetime:
    raise InputError("starts_at and ends_at must be ISO times, e.g. 2026-05-01T08:00:00Z")


def notice_rows(store, where: str = "1 = 1", params: list | None = None) -> list[dict]:
    cur = store.db.execute(f"select * from incident_notices where {where} order by id", params or [])
    cols = [d[0] for d in cur.description]
    out = []
    for r in cur.fetchall():
        row = dict(zip(cols, r, strict=True))
        row["texts"] = json.loads(row["texts"] or "{}")
        row.update(reach(store, row["id"]))
        out.append(row)
    return out


def publish(store, incident_id: int, texts: dict[str, str], starts_at: str | None = None,
            ends_at: str | None = None, by: str = "team", now: datetime | None = None) -> dict:
    """A notice for an incident; shown from ``starts_at`` (default now) until ``ends_at`` (default: open)."""
    row = store.db.execute("select topic_id from incidents where id = ?", [incident_id]).fetchone()
    if row is None:
        raise NotFoundError(f"no incident {incident_id}", hint="GET /api/v1/incidents lists them.")
    clean = {str(k).strip().lower()[:2]: str(v).strip() for k, v in (texts or {}).items() if str(v).strip()}
    if not clean:
        raise InputError("a notice needs a text in at least one language, e.g. {\"de\": \"...\"}")
    if any(len(v) > MAX_TEXT for v in clean.values()):
        raise InputError(f"a notice's text is at most {MAX_TEXT} characters")
    start = _moment(starts_at) if starts_at else (now or utcnow())
    end = _moment(ends_at) if ends_at else None
    if end is not None and end <= start:
        raise EmptyWindowError("ends_at must be after starts_at", hint="Leave ends_at out for a notice shown "
                               "while its topic has an incident (and half a day after), or until you end it.")
    with store.db.transaction():
        nid = store.db["incident_notices"].insert({
            "incident_id": incident_id, "topic_id": row[0], "texts": json.dumps(clean, ensure_ascii=False),
            "starts_at": iso(start), "ends_at": iso(end) if end else None, "created_at": iso(now or utcnow()),
            "created_by": by}).last_pk
    return notice_rows(store, "id = ?", [nid])[0]


def live_notices(store, now: datetime | None = None) -> list[dict]:
    """The notices shown now: started, not ended, and (without an end of their own) while their topic has
    an open incident or had one until ``AFTER_CLOSE`` ago (a quiet night closes an incident; the outage,
    and its notice, may go on the next morning)."""
    now = now or utcnow()
    stamp = iso(now)
    return notice_rows(store, "starts_at <= ? and (ends_at > ? or (ends_at is null and topic_id in "
                              "(select topic_id from incidents where state = 'open' or ended_at > ?)))",
                       [stamp, stamp, iso(now - AFTER_CLOSE)])


def end_notice(store, notice_id: int, now: datetime | None = None) -> dict:
    """End a notice now (one already ended keeps its end)."""
    stamp = iso(now or utcnow())
    with store.db.transaction():
        found = store.db.execute("select ends_at from incident_notices where id = ?", [notice_id]).fetchone()
        if found is None:
            raise NotFoundError(f"no notice {notice_id}", hint="GET /api/v1/incidents lists them with their notices.")
        if found[0] is None or found[0] > stamp:
            store.db.execute("update incident_notices set ends_at = ? where id = ?", [stamp, notice_id])
    return notice_rows(store, "id = ?", [notice_id])[0]


def match(deflector: Engine, text: str, language: str | None = None, session: str | None = None,
          inquiry_id: str | None = None, now: datetime | None = None) -> dict | None:
    """The live notice whose topic the question belongs to, in the customer's language (else another),
    recording that the session saw it; None when none matches. The question belongs to a topic when it is
    as close to it as joining it takes, even where a newer topic of the same outage (the report split it)
    lies closer."""
    live = live_notices(deflector.store, now)
    if not live or not text.strip():
        return None
    ids, sims, floor = similarities(deflector, [text])
    near = {topic: float(s) for topic, s in zip(ids, sims[0] if len(ids) else [], strict=True) if s >= floor}
    found = [n for n in live if n["topic_id"] in near]
    if not found:
        return None
    notice = max(found, key=lambda n: (near[n["topic_id"]], n["id"]))
    topic, similarity = notice["topic_id"], near[notice["topic_id"]]
    lang = (language or detect_language(text)).lower()[:2]
    texts = notice["texts"]
    # a customer writing in a language the notice lacks reads it in English where it has it (as drafts are)
    shown_lang = lang if lang in texts else "en" if "en" in texts else next(iter(texts))
    if session:
        with deflector.store.db.transaction():
            deflector.store.db["notice_views"].insert(
                {"notice_id": notice["id"], "session": session, "inquiry_id": inquiry_id,
                 "at": iso(now or utcnow())}, pk=("notice_id", "session"), ignore=True)
    return {"id": notice["id"], "incident_id": notice["incident_id"], "topic_id": topic,
            "language": shown_lang, "text": texts[shown_lang], "prefix": PREFIX.get(shown_lang, PREFIX["en"]),
            "starts_at": notice["starts_at"], "ends_at": notice["ends_at"], "similarity": round(similarity, 3)}


def reach(store, notice_id: int) -> dict:
    """Sessions that saw the notice, and how many of them did not contact support afterwards."""
    seen = store.db.execute("select count(*) from notice_views where notice_id = ?", [notice_id]).fetchone()[0]
    contacted = store.db.execute(
        "select count(distinct v.session) from notice_views v join feedback f on f.session = v.session "
        "and f.event = 'contacted_support' and f.created_at >= v.at where v.notice_id = ?", [notice_id]).fetchone()[0]
    return {"sessions_seen": seen, "sessions_no_contact": seen - contacted}


def reach_since(store, since: str) -> dict:
    """Incident notices over a period (views from ``since``, an ISO date): sessions that saw one, and how
    many of them did not contact support afterwards."""
    seen = store.db.execute("select count(distinct session) from notice_views where at >= ?", [since]).fetchone()[0]
    contacted = store.db.execute(
        "select count(distinct v.session) from notice_views v join feedback f on f.session = v.session "
        "and f.event = 'contacted_support' and f.created_at >= v.at where v.at >= ?", [since]).fetchone()[0]
    return {"sessions_seen": seen, "sessions_no_contact": seen - contacted}
