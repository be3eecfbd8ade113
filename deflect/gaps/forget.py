"""Drop erased texts from the stored gap report (GDPR Art. 17, and a retention period).

A topic keeps its members' ids and short examples of their texts, and its headline, suggested title and
representative question come from its most central member; the not-found list keeps phrasings. Topics the
next report run no longer finds keep these for the team's history, so a rebuild alone would not remove
them. Here an erased member leaves the topic, its examples and phrasings go, and a topic whose members
included one takes its headline, title and representative question from its first remaining example
(none left: from its keywords only).
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable

from deflect.gaps.describe import headline, suggest_title, topic_label
from deflect.store import Store


def _headline_fields(report: dict, keywords: list[str]) -> dict:
    examples = report.get("examples") or []
    text = examples[0]["text"] if examples else ""
    question = text.split(" — ")[0]
    head = headline(question) or ", ".join(keywords[:4])
    return {"label": topic_label(keywords if text else [], head), "representative": text,
            "suggested_title": suggest_title(question, report.get("language")) if text else "FAQ"}


def forget_in_report(store: Store, inquiries: Iterable[str] = (), tickets: Iterable[str] = (),
                     texts: Iterable[str] = ()) -> int:
    """Remove the erased ``inquiries`` and ``tickets`` (ids) and phrasings equal to ``texts`` from the
    stored topics and the not-found list; returns the topics changed."""
    inquiry_ids, texts = set(inquiries), set(texts)
    gone = {("inquiry", i) for i in inquiry_ids} | {("ticket", t) for t in tickets}
    if not gone and not texts:
        return 0
    tables = set(store.db.table_names())
    if "gap_topics" not in tables:
        return 0
    changed = 0
    rows = store.db.execute("select id, members, report, keywords from gap_topics where members is not null").fetchall()
    with store.db.transaction():
        for topic_id, members_json, report_json, keywords_json in rows:
            members = json.loads(members_json or "[]")
            kept = [m for m in members if (m.get("source"), m.get("id")) not in gone]
            if len(kept) == len(members):
                continue
            report = json.loads(report_json or "{}")
            report["examples"] = [e for e in report.get("examples") or [] if (e.get("source"), e.get("id")) not in gone]
            keywords = json.loads(keywords_json or "[]") or report.get("keywords") or []
            fields = _headline_fields(report, keywords)
            report.update(fields)
            store.db.execute("update gap_topics set members = ?, report = ?, label = ?, title = ?, representative = ? "
                             "where id = ?", [json.dumps(kept, ensure_ascii=False),
                                              json.dumps(report, ensure_ascii=False), fields["label"],
                                              fields["suggested_title"], fields["representative"], topic_id])
            changed += 1
        found = store.db.execute("select not_found from gap_report where id = 1").fetchone() \
            if "gap_report" in tables else None
        if found and found[0]:
            groups = []
            for group in json.loads(found[0]):
                group["inquiries"] = [i for i in group.get("inquiries", []) if i not in inquiry_ids]
                group["phrasings"] = [p for p in group.get("phrasings", []) if p not in texts]
                group["why"] = [w for w in group.get("why", [])
                                if w.get("inquiry") not in inquiry_ids and w.get("text") not in texts]
                if group["inquiries"]:
                    group["count"] = len(group["inquiries"])
                    if group["why"]:
                        group["reasons"] = dict(Counter(w["reason"] for w in group["why"] if w.get("reason")))
                    groups.append(group)
            store.db.execute("update gap_report set not_found = ? where id = 1",
                             [json.dumps(groups, ensure_ascii=False)])
    return changed
