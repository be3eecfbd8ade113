"""The topics' workflow: ``new -> planned (owner, due) -> covered | dismissed`` (and reopen), the
stored topics, and ``check_coverage``, which marks open topics covered once the engine answers them."""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta

import numpy as np

from deflect.clock import iso, parse_time, utcnow
from deflect.engine import Engine
from deflect.errors import DeflectError, InputError, NotFoundError
from deflect.formats import DAY_FIRST_DATE
from deflect.gaps.items import (
    article_docs,
    cached_rows,
    english_share,
    fingerprint,
    gap_space,
    judgements,
    load_items,
    vectors,
)
from deflect.gaps.model import Topic

COVER_SHARE = 0.5           # share of members the engine must answer for a topic to count as covered
_GERMAN_DATE = re.compile(DAY_FIRST_DATE)


class TopicStateError(DeflectError):
    """The topic's status does not allow this step (e.g. planning a dismissed topic)."""

    status = 409


class PastDueError(InputError):
    """A due date in the past, not confirmed (``force``)."""

    status = 422


def workflow_state(row: dict, now: datetime) -> dict:
    """The workflow fields of a topic (``model.WORKFLOW``) from its stored row."""
    status, due = row.get("status") or "new", row.get("due")
    return {"status": status, "owner": row.get("owner"), "due": due, "reason": row.get("reason"),
            "overdue": bool(status == "planned" and due and due < now.date().isoformat()),
            "created_at": row.get("created_at"), "planned_at": row.get("planned_at"),
            "covered_at": row.get("covered_at"), "covered_by": row.get("covered_by"),
            "time_to_coverage_days": row.get("time_to_coverage_days"), "dismissed_at": row.get("dismissed_at")}


def record_event(store, topic_id: str, action: str, detail: dict, at: str) -> None:
    store.db["gap_events"].insert({"topic_id": topic_id, "at": at, "action": action,
                                   "detail": json.dumps(detail, ensure_ascii=False)})


def _row(store, topic_id: str) -> dict:
    """The stored row of a topic; of the topic it was merged into when it was merged."""
    topic_id = (topic_id or "").strip()
    cols = [c.name for c in store.db["gap_topics"].columns]
    for _ in range(100):   # a chain of merges ends; the bound only guards against a broken store
        row = store.db.execute("select * from gap_topics where upper(id) = upper(?)", [topic_id]).fetchone()
        if row is None:
            raise NotFoundError(f"no topic {topic_id} (run `deflect gaps` to list topics)",
                                hint="Topic ids look like G-0001; `deflect gaps --status all` lists every topic.")
        found = dict(zip(cols, row, strict=False))
        if not found.get("merged_into"):
            return found
        topic_id = found["merged_into"]
    raise DeflectError(f"topic {topic_id}: its merges go round in a circle")


def merged_into(store, topic_id: str) -> str | None:
    """The topic that ``topic_id`` was merged into (following later merges too); None when it was not
    merged. NotFoundError for an unknown id."""
    asked = (topic_id or "").strip()
    final = _row(store, asked)["id"]
    return None if final.lower() == asked.lower() else final


def _public(row: dict, now: datetime | None = None, members: bool = True) -> Topic:
    """A stored topic: its last report entry (``members``: with its members) in its workflow state."""
    if row.get("report"):
        data = json.loads(row["report"])
        data["members"] = json.loads(row.get("members") or "[]") if members else []
        entry = Topic.from_dict(data)
    else:
        entry = Topic(id=row["id"], label=row.get("label"), size=row.get("size") or 0)
    return replace(entry, **workflow_state(row, now or utcnow()))


def get_topic(store, topic_id: str) -> Topic:
    """One topic with its last report entry and workflow state; NotFoundError if unknown."""
    return _public(_row(store, topic_id))


_ROW = "id, status, label, size, cost, report, owner, due, reason, created_at, planned_at, covered_at, " \
       "covered_by, time_to_coverage_days, dismissed_at"


def listed_rows(store, statuses: tuple[str, ...] | None = None, now: datetime | None = None,
                members: bool = True) -> list[dict]:
    """The stored rows of the report's topics (the last run's, and those given a status since) with
    ``statuses`` (None: all), overdue first, then the costliest (customers lately), then by size; the
    columns a topic is read from."""
    sql = f"select {_ROW}{', members' if members else ''} from gap_topics where listed = 1 and merged_into is null"
    if statuses is not None:
        sql += f" and status in ({','.join('?' * len(statuses))})"
    cur = store.db.execute(sql, list(statuses or ()))
    cols = [d[0] for d in cur.description]
    today = (now or utcnow()).date().isoformat()
    rows = [dict(zip(cols, r, strict=True)) for r in cur]
    return sorted(rows, key=lambda r: (not (r["status"] == "planned" and (r["due"] or "9") < today),
                                       -(r["cost"] or 0), -(r["size"] or 0), r["id"]))


def list_topics(store, statuses: tuple[str, ...] | None = None, now: datetime | None = None,
                members: bool = True) -> list[Topic]:
    """The report's topics in their workflow state (``members``: with their members), overdue first,
    then the costliest, then by size."""
    return [_public(row, now, members) for row in listed_rows(store, statuses, now, members)]


def parse_due(value: str, german: bool = False) -> date:
    """A due date YYYY-MM-DD (``german``: also DD.MM.YYYY, as people type it); InputError otherwise."""
    text = str(value).strip()
    try:
        day_first = _GERMAN_DATE.fullmatch(text) if german else None
        return date(*map(int, day_first.group(3, 2, 1))) if day_first else date.fromisoformat(text)
    except (TypeError, ValueError):
        example = (utcnow().date() + timedelta(days=28)).isoformat()   # a date the past-due check accepts
        also = " (or DD.MM.YYYY)" if german else ""
        raise InputError(f"due date {value!r} is not a date of the form YYYY-MM-DD{also}",
                         hint=f"For example {example}, four weeks from today.") from None


def _transition(store, topic_id: str, action: str, allowed: tuple[str, ...], changes: dict,
                detail: dict, now: datetime | None) -> Topic:
    row = _row(store, topic_id)
    if row["status"] not in allowed:
        raise TopicStateError(f"topic {row['id']} is {row['status']}; cannot {action} it",
                              hint="`deflect gaps reopen ID` puts a covered or dismissed topic back to new."
                              if row["status"] in ("covered", "dismissed") else None)
    stamp = iso(now or utcnow())
    with store.db.transaction():
        # a topic someone acts on stays in the report until the next run decides
        store.db["gap_topics"].update(row["id"], {**changes, "listed": 1, "updated_at": stamp})
        record_event(store, row["id"], action, {"from": row["status"], **detail}, stamp)
    return get_topic(store, row["id"])


def plan(store, topic_id: str, owner: str, due: str | date, now: datetime | None = None,
         force: bool = False) -> Topic:
    """new|planned -> planned: someone will write the article by ``due`` (a date in the past only
    with ``force``: it is most likely a typo)."""
    owner = (owner or "").strip()
    if not owner:
        raise InputError("a planned topic needs an owner", hint="Pass --owner NAME.")
    due_date = due if isinstance(due, date) else parse_due(due)
    stamp = iso(now or utcnow())
    row = _row(store, topic_id)
    today = (now or utcnow()).date()
    if due_date < today and not force and row["status"] in ("new", "planned"):
        raise PastDueError(f"due date {due_date.isoformat()} is in the past (today is {today.isoformat()})",
                           hint="Pass a later date, or confirm this one: --force (API: \"force\": true).")
    planned_at = row["planned_at"] if row["status"] == "planned" and row["planned_at"] else stamp
    return _transition(store, topic_id, "plan", ("new", "planned"),
                       {"status": "planned", "owner": owner, "due": due_date.isoformat(), "planned_at": planned_at},
                       {"owner": owner, "due": due_date.isoformat()}, now)


def dismiss(store, topic_id: str, reason: str, now: datetime | None = None) -> Topic:
    """new|planned -> dismissed (with the reason why no article will be written)."""
    reason = (reason or "").strip()
    if not reason:
        raise InputError("dismissing a topic needs a reason", hint="Pass --reason TEXT.")
    return _transition(store, topic_id, "dismiss", ("new", "planned"),
                       {"status": "dismissed", "reason": reason, "dismissed_at": iso(now or utcnow())},
                       {"reason": reason}, now)


def reopen(store, topic_id: str, now: datetime | None = None) -> Topic:
    """covered|dismissed -> new."""
    return _transition(store, topic_id, "reopen", ("covered", "dismissed"),
                       {"status": "new", "reason": None, "dismissed_at": None, "covered_at": None,
                        "covered_by": None, "time_to_coverage_days": None, "owner": None, "due": None,
                        "planned_at": None}, {}, now)


def reopen_withdrawn(store, now: datetime | None = None) -> list[str]:
    """Covered topics whose article has been deleted or withdrawn since: open (new) again, since their
    customers find no answer any more; returns the ids."""
    rows = store.db.execute("select id, covered_by from gap_topics where status = 'covered' and merged_into is null "
                            "and covered_by is not null and covered_by not in (select id from articles)").fetchall()
    stamp = iso(now or utcnow())
    with store.db.transaction():
        for topic_id, article_id in rows:
            store.db["gap_topics"].update(topic_id, {
                "status": "new", "covered_at": None, "covered_by": None, "time_to_coverage_days": None,
                "owner": None, "due": None, "planned_at": None, "listed": 1, "updated_at": stamp})
            record_event(store, topic_id, "reopen", {"from": "covered", "article_gone": article_id}, stamp)
    return [r[0] for r in rows]


def merge_topics(store, gone: str, keep: str, stamp: str) -> None:
    """Record that topic ``gone`` is now part of topic ``keep`` (in the caller's transaction): its id
    redirects there (so do the ids merged into it before), and its plan carries over when ``keep`` has
    none."""
    row, target = _row(store, gone), _row(store, keep)
    store.db.execute("update gap_topics set merged_into = ?, active = 0, listed = 0, updated_at = ? "
                     "where id = ? or merged_into = ?", [keep, stamp, gone, gone])
    if row["status"] == "planned" and target["status"] == "new":
        store.db["gap_topics"].update(keep, {"status": "planned", "owner": row["owner"], "due": row["due"],
                                             "planned_at": row["planned_at"], "listed": 1})
    record_event(store, gone, "merged", {"into": keep, "status": row["status"]}, stamp)
    record_event(store, keep, "absorbed", {"from": gone, "status": target["status"]}, stamp)


def has_open_topics(store) -> bool:
    """Whether any topic is new or planned (cheap: lets callers skip loading the engine)."""
    return store.db.execute("select 1 from gap_topics where status in ('new', 'planned') and merged_into is null "
                            "limit 1").fetchone() is not None


def overdue_topics(store, now: datetime | None = None) -> list[Topic]:
    """Planned topics whose due date has passed."""
    return [t for t in list_topics(store, ("planned",), now) if t.overdue]


def check_coverage(deflector: Engine, now: datetime | None = None, share: float = COVER_SHARE) -> list[str]:
    """Mark open topics covered when the engine now answers their members with an article, or shows
    them an article written since the topic was found as one that might help (a new article has no linked
    tickets yet, so the engine is seldom sure of it at once; an older one edited, even only its address,
    is no answer written for the topic), or an article lies inside the topic. Call after every index build
    and article upsert; returns the ids."""
    store = deflector.store
    reopen_withdrawn(store, now)
    open_topics = [r for r in store.db["gap_topics"].rows_where("status in ('new', 'planned') and merged_into is null")]
    if not open_topics:
        return []
    now = now or utcnow()
    fp = fingerprint(deflector)
    articles = store.article_ids()
    docs = article_docs(deflector)
    written = {r[0]: parse_time(r[1]) for r in store.db.execute("select id, created_at from articles")}
    covered = []
    all_items = {it.key: it for it in load_items(store)}
    english = english_share(list(all_items.values()))
    Ag = gap_space(deflector, docs.vectors, english=english)[0]
    for row in open_topics:
        keys = [r[0] for r in store.db.execute("select key from gap_items where topic_id = ?", [row["id"]])]
        if not keys:
            continue
        cached = cached_rows(store, keys)
        items = [all_items[k] for k in keys if k in all_items]
        if not items:
            continue
        V, _, _ = vectors(deflector, items, cached)
        judged = judgements(deflector, items, V, cached, fp, articles)
        answered = Counter(judged.article[i] for i in range(len(items))
                           if judged.decision[i] in ("answer", "linked") and judged.article[i] in articles)
        found = parse_time(row["created_at"]) or now
        answered += _shown_new(deflector, items, V, judged, {a for a, t in written.items() if t and t > found})
        V = gap_space(deflector, V, english=english)[0]
        by = None
        if answered and sum(answered.values()) >= share * len(items):
            by = answered.most_common(1)[0][0]
        elif len(Ag):
            # an article whose own documents sit inside the topic covers it, even before re-indexing
            centre = V.mean(axis=0)
            centre /= max(float(np.linalg.norm(centre)), 1e-12)
            radius = float(np.median(V @ centre))
            s = Ag @ centre
            j = int(np.argmax(s))
            if s[j] >= radius:
                by = docs.ids[j]
        stamp = iso(now)
        with store.db.transaction():
            for i, it in enumerate(items):
                if judged.changed[i]:
                    store.db["gap_items"].update(it.key, {"fingerprint": fp, "decision": judged.decision[i],
                                                          "confidence": float(judged.confidence[i]),
                                                          "article_id": judged.article[i], "updated_at": stamp})
            if by is None:
                continue
            since = parse_time(row["planned_at"]) or parse_time(row["created_at"]) or now
            days = round((now - since).total_seconds() / 86400, 2)
            store.db["gap_topics"].update(row["id"], {"status": "covered", "covered_by": by, "covered_at": stamp,
                                                      "time_to_coverage_days": days, "updated_at": stamp})
            record_event(store, row["id"], "covered", {"from": row["status"], "article_id": by, "days": days}, stamp)
        covered.append(row["id"])
    return covered


def _shown_new(deflector: Engine, items: list, V: np.ndarray, judged, new: set[str]) -> Counter:
    """Per article of ``new``: the items left unanswered for which the engine now ranks it first and shows
    it as one that might help (the judgements count such a "suggest" as unanswered until feedback says
    otherwise)."""
    rows = [i for i in range(len(items)) if judged.decision[i] == "no_answer" and judged.article[i] in new]
    if not rows:
        return Counter()
    exclude = [items[i].id if items[i].source == "ticket" else None for i in rows]
    shown = deflector.suggest_batch([items[i].text for i in rows], k=1, exclude_tickets=exclude, vectors=V[rows])
    return Counter(s.articles[0].id for s in shown
                   if s.decision in ("answer", "suggest") and s.articles and s.articles[0].id in new)
