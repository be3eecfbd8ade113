"""Tables of the gap report (migrations registered in ``deflect.store.MIGRATIONS``).

- ``gap_items``: one row per judged item (a resolved ticket or a logged inquiry): its vector, the
  engine's judgement under one index fingerprint, and the gap topic it currently belongs to ("~": none, it
  lies in a covered region; "~G-0001": cut off that topic's covered branches, its member again at the next run's
  start).
- ``gap_topics``: the uncovered topics with their workflow state (new → planned → covered | dismissed).
- ``gap_events``: the history of every status change (who planned what, when it got covered).
- ``gap_report``: the stored report's own row (when it was built, with what, its counts and the
  not-found list); ``gap_topics.listed`` marks the topics it lists.
- ``gap_runs``: every build of the stored report; at most one is running per home (a unique index).
- ``gap_topics.merged_into``: a topic merged into another (one question found twice) redirects there;
  ``gap_topics.cost``: the customers it cost lately (the report lists the costliest first).
"""
from __future__ import annotations

import json

from deflect.store.database import Database


def _m101_gaps(db: Database) -> None:
    db["gap_items"].create({
        "key": str,             # "ticket:<id>" | "inquiry:<id>"
        "source": str,          # "ticket" | "inquiry"
        "item_id": str,
        "text_hash": str,       # the vector and judgement belong to this text
        "vector": bytes,        # float32, L2-normalised, the index's model
        "fingerprint": str,     # index fingerprint the judgement was made under
        "decision": str,        # the engine's decision now: "answer" | "no_answer" | "linked"
        "confidence": float,
        "article_id": str,      # the engine's first article (or the ticket's linked article)
        "topic_id": str,        # current gap topic (NULL: none)
        "updated_at": str,
    }, pk="key")
    db["gap_items"].create_index(["topic_id"])
    db["gap_topics"].create({
        "id": str,              # "G-0001", never reused
        "status": str,          # new | planned | covered | dismissed
        "active": int,          # 1 = found by the last report run
        "label": str,
        "title": str,           # suggested article title
        "keywords": str,        # JSON list
        "representative": str,  # the most representative customer question
        "language": str,
        "size": int,
        "centroid": bytes,      # float32
        "report": str,          # JSON: the topic's last report entry
        "owner": str,
        "due": str,             # YYYY-MM-DD
        "reason": str,          # why dismissed
        "created_at": str,
        "updated_at": str,
        "first_seen": str,
        "last_seen": str,
        "planned_at": str,
        "covered_at": str,
        "covered_by": str,      # article id
        "time_to_coverage_days": float,
        "dismissed_at": str,
    }, pk="id")
    db["gap_topics"].create_index(["status"])
    db["gap_events"].create({
        "id": int, "topic_id": str, "at": str, "action": str, "detail": str,
    }, pk="id")
    db["gap_events"].create_index(["topic_id"])


def _m102_stored_report(db: Database) -> None:
    db["gap_topics"].add_column("listed", int)      # 1 = in the stored report
    db["gap_topics"].add_column("members", str)     # JSON list: the members of the last report entry
    db.execute("update gap_topics set listed = active")
    # ``report`` keeps the entry without its members (and without the workflow state the row holds)
    workflow = ("status", "owner", "due", "reason", "overdue", "created_at", "planned_at", "covered_at",
                "covered_by", "time_to_coverage_days", "dismissed_at")
    for topic_id, report in db.execute("select id, report from gap_topics where report is not null").fetchall():
        entry = json.loads(report)
        members = entry.pop("members", [])
        for name in workflow:
            entry.pop(name, None)
        db.execute("update gap_topics set report = ?, members = ? where id = ?",
                   [json.dumps(entry, ensure_ascii=False), json.dumps(members, ensure_ascii=False), topic_id])
    db["gap_report"].create({
        "id": int,              # always 1: the latest report
        "generated_at": str,
        "params": str,          # JSON: the run's parameters (min_size, period_days, threshold, ...)
        "counts": str,          # JSON: items, tickets, inquiries, linked, answered, ...
        "not_found": str,       # JSON list: inquiries not found although covered, per article
        "run_id": int,
    }, pk="id")
    db["gap_runs"].create({
        "id": int,
        "state": str,           # running | done | failed
        "trigger": str,         # api | cli | index | article
        "options": str,         # JSON: min_size, period_days asked for
        "started_at": str,
        "finished_at": str,
        "error": str,
        "host": str,            # where it runs (a running row whose process is gone is stale)
        "pid": int,
        "rerun": int,           # 1 = something changed while it ran: run again when done
    }, pk="id")
    db.execute("create unique index gap_runs_one_running on gap_runs(state) where state = 'running'")


def _m103_topic_merges(db: Database) -> None:
    db["gap_topics"].add_column("merged_into", str)     # the topic this one was merged into (NULL: none)
    db["gap_topics"].add_column("cost", int)            # customers of the last 30 days (the report ranks by it)


def _m104_run_heartbeat(db: Database) -> None:
    db["gap_runs"].add_column("alive_at", str)          # a running run's last sign of life (every minute)


GAPS_MIGRATIONS = [("101_gaps", _m101_gaps), ("102_stored_report", _m102_stored_report),
                   ("103_topic_merges", _m103_topic_merges), ("104_run_heartbeat", _m104_run_heartbeat)]
