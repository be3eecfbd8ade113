#!/usr/bin/env python3
"""Score a gap report (``deflect gaps --format json``) against a benchmark case's truth.

    .venv/bin/python -m scripts.score_gaps CASE_DIR REPORT.json

Definitions (shared/bench/README.md), for report topics with at least ``min_members`` (5) members:
- purity of a topic: share of its members (with a known true topic) that belong to its majority topic;
- topic_recall: of the uncovered true topics (no article in the case) that recur -- at least
  ``min_members`` rows among tickets and test inquiries; a topic with fewer cannot be reported -- the
  share that appear as a report topic whose majority topic it is, with purity >= 0.7;
- false_gaps: report topics whose majority topic does have an article;
- purity: mean purity of the report topics;
- topics_per_gap: report topics (at least ``min_members`` labelled members, purity >= 0.7) whose majority
  is an uncovered topic, divided by the distinct uncovered topics they hit (1.0: each real gap appears
  once; 3.0: split in three on average).
Also reported: split (uncovered topics found in more than one report topic), the per-topic detail.
The engine never reads truth.jsonl; only this scorer does.
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from scripts.common import read_jsonl

MIN_MEMBERS = 5
MIN_PURITY = 0.7


def slug(topic: str) -> str:
    return topic.lower().replace("_", "-").replace("/", "-")


def score_gap_report(report: dict, truth: dict[str, str], covered_topics: set[str],
                     min_members: int = MIN_MEMBERS, min_purity: float = MIN_PURITY) -> dict:
    """topic_recall, false_gaps, purity, topics_per_gap (and detail) of ``report`` given every row's true topic."""
    rows_per_topic = Counter(truth.values())
    uncovered = {t for t, n in rows_per_topic.items() if t not in covered_topics and n >= min_members}
    found: dict[str, list[str]] = {}
    labelled: dict[str, list[str]] = {}     # ... of topics with at least min_members labelled members
    false_gaps, purities, detail = 0, [], []
    for topic in report.get("topics", []):
        members = topic.get("members", [])
        if len(members) < min_members:
            continue
        labels = Counter(truth[m["id"]] for m in members if m.get("id") in truth)
        if not labels:
            continue
        majority, count = labels.most_common(1)[0]
        purity = count / sum(labels.values())
        purities.append(purity)
        covered = majority in covered_topics
        false_gaps += covered
        if not covered and purity >= min_purity:
            found.setdefault(majority, []).append(topic.get("id"))
            if sum(labels.values()) >= min_members:
                labelled.setdefault(majority, []).append(topic.get("id"))
        detail.append({"id": topic.get("id"), "size": len(members), "majority": majority,
                       "purity": round(purity, 3), "covered": covered})
    recalled = {t for t in uncovered if t in found}
    hits = sum(len(ids) for ids in labelled.values())
    return {
        "topic_recall": round(len(recalled) / len(uncovered), 4) if uncovered else None,
        "false_gaps": false_gaps,
        "purity": round(sum(purities) / len(purities), 4) if purities else None,
        "topics_per_gap": round(hits / len(labelled), 4) if labelled else None,
        "topics": len(purities), "uncovered_topics": len(uncovered),
        "split": sorted(t for t, ids in found.items() if len(ids) > 1),
        "missed": sorted(uncovered - recalled), "detail": detail,
    }


def load_truth(case: Path) -> tuple[dict[str, str], set[str]]:
    """(row id -> true topic, covered topics) of a case folder made by make_case.py."""
    truth = {row["id"]: row["topic"] for row in read_jsonl(case / "truth.jsonl")}
    articles = {p.stem for p in (case / "articles").glob("*.md")}
    covered = {t for t in set(truth.values()) if slug(t) in articles}
    return truth, covered


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("case", type=Path, help="the case folder (made by make_case.py)")
    p.add_argument("report", type=Path, help="the gap report, `deflect gaps --format json`")
    args = p.parse_args()
    truth, covered = load_truth(args.case)
    report = json.loads(args.report.read_text(encoding="utf-8"))
    score = score_gap_report(report, truth, covered)
    detail = score.pop("detail")
    print(json.dumps(score, indent=1))
    for d in sorted(detail, key=lambda d: (d["covered"], d["majority"])):
        print(f"  {d['id']:<8} {d['size']:>5} {d['purity']:.2f} {'COVERED ' if d['covered'] else 'uncovered'} "
              f"{d['majority']}")


if __name__ == "__main__":
    main()
