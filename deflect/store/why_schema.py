"""Tables of "how could this contact have been avoided" (migrations registered in
``deflect.store.MIGRATIONS``).

- ``topic_fix_kinds``: the team's override of a topic's fix kind (article | product | process); it sticks
  to the topic id across report runs.
- ``topic_volume``: inquiries assigned to a topic as they arrive (nearest centroid), one row each: the
  incident detector counts them per hour.
- ``incidents``: topics whose recent volume is far above their usual level (open until it falls back).
- ``incident_notices``: a short notice the team publishes for an incident (text per language, start, end).
- ``notice_views``: widget sessions that were shown a notice (for "saw it and did not contact").
"""
from __future__ import annotations

from deflect.store.database import Database


def m_why_001_fix_kinds(db: Database) -> None:
    db["topic_fix_kinds"].create({
        "topic_id": str, "kind": str, "by": str, "note": str, "at": str,
    }, pk="topic_id")


def m_why_002_incidents(db: Database) -> None:
    db["topic_volume"].create({
        "inquiry_id": str, "topic_id": str, "at": str, "similarity": float,
    }, pk="inquiry_id")
    db["topic_volume"].create_index(["topic_id", "at"])
    db["incidents"].create({
        "id": int,
        "topic_id": str,
        "state": str,           # open | closed
        "started_at": str,      # the first hour of the burst
        "detected_at": str,
        "ended_at": str,
        "count": int,           # inquiries in the window when last checked
        "baseline": float,      # the usual count in such a window
        "spread": float,        # robust spread (scaled MAD) of that count
        "score": float,         # (count - baseline) / spread
        "notified_at": str,     # when the notification hook took it (NULL: not yet / no hook)
        "updated_at": str,
    }, pk="id")
    db["incidents"].create_index(["topic_id", "state"])
    # one open incident per topic, also when two workers check at once
    db.execute("create unique index incidents_one_open on incidents(topic_id) where state = 'open'")
    db["incident_notices"].create({
        "id": int,
        "incident_id": int,
        "topic_id": str,
        "texts": str,           # JSON {"de": "...", "en": "..."}
        "starts_at": str,
        "ends_at": str,
        "created_at": str,
        "created_by": str,
    }, pk="id")
    db["incident_notices"].create_index(["topic_id"])
    db["notice_views"].create({
        "notice_id": int, "session": str, "inquiry_id": str, "at": str,
    }, pk=("notice_id", "session"))


WHY_MIGRATIONS = [("why_001_fix_kinds", m_why_001_fix_kinds), ("why_002_incidents", m_why_002_incidents)]
