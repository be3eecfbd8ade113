#!/usr/bin/env python3
"""Precision and recall of the inferred article links on tickets whose export names no article.

    .venv/bin/python -m scripts.bench_links [--cases banking77,xsid_de] [--seed 0] [--gaps] [--no-publish]

Per case it builds the case twice with shared/bench's make_case.py: ``--history unlinked`` (no ticket
names its article) is ingested and indexed through the CLI (``deflect ingest``, ``deflect index``), which
infers links; ``--history half`` (the same tickets, the same seed, half of the covered ones linked by an
agent) tells which links an agent made. Scored per source and overall:

- precision: inferred links whose article is the ticket's true article (a ticket of a topic without an
  article has none: any link inferred for it is wrong); the true article of a covered ticket is the
  article agents linked its topic's tickets to in the half build (truth.jsonl gives the topics; it is
  read here for scoring only, never by deflect);
- recall_agent: of the tickets an agent linked in the half build, the share inferred right;
- recall_covered: of all tickets of covered topics, the share inferred right;
- the same for the confident links only (those used as evidence in the index and the gap report).

``--gaps`` also calibrates on dev.jsonl and builds the gap report (``deflect gaps --rebuild``), scored
with scripts/score_gaps.py (topic_recall, false_gaps). ``--demo`` adds the demo help center with its
agent-made links hidden (the set the thresholds were chosen on). Writes the "links" section of
docs/benchmarks.md and docs/bench_links.json (``--no-publish``: neither).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from deflect.store.links import EVIDENCE_CONFIDENCE as CONFIDENT
from scripts.common import DOCS, ROOT, make_case, read_jsonl, replace_section, run_deflect, write_jsonl
from scripts.score_gaps import load_truth, score_gap_report


def true_articles(half: Path) -> tuple[dict[str, str | None], set[str]]:
    """(ticket id -> true article or None, ids of the tickets an agent linked) from the half build."""
    tickets = read_jsonl(half / "tickets.jsonl")
    topic = {r["id"]: r["topic"] for r in read_jsonl(half / "truth.jsonl")}
    article_of_topic = {topic[t["id"]]: t["article_id"] for t in tickets if t.get("article_id")}
    truth = {t["id"]: article_of_topic.get(topic.get(t["id"])) for t in tickets}
    return truth, {t["id"] for t in tickets if t.get("article_id")}


def read_links(home: Path) -> dict[str, dict]:
    with sqlite3.connect(home / "deflect.db") as db:
        return {r[0]: {"article_id": r[1], "confidence": r[2], "source": r[3]}
                for r in db.execute("select ticket_id, article_id, confidence, source from inferred_links")}


def score_links(links: dict[str, dict], truth: dict[str, str | None], agent: set[str],
                min_confidence: float = 0.0) -> dict:
    """Precision and recall of ``links`` per source and overall."""
    covered = {t for t, a in truth.items() if a}
    out = {}
    sources = sorted({r["source"] for r in links.values()})
    for source in [*sources, "all"]:
        picked = {t: r for t, r in links.items() if r["confidence"] >= min_confidence
                  and (source == "all" or r["source"] == source)}
        right = {t for t, r in picked.items() if truth.get(t) == r["article_id"]}
        out[source] = {"inferred": len(picked),
                       "precision": round(len(right) / len(picked), 4) if picked else None,
                       "recall_agent": round(len(right & agent) / len(agent), 4) if agent else None,
                       "recall_covered": round(len(right) / len(covered), 4) if covered else None}
    return out


def index_case(case: Path, home: Path, fresh: bool = True) -> dict:
    """Ingest and index ``case`` into ``home`` (``fresh``: a new home; else the home's index is rebuilt,
    its vectors re-used, and every link inferred again)."""
    if fresh:
        shutil.rmtree(home, ignore_errors=True)
    run_deflect(["ingest", str(case / "articles"), str(case / "tickets.jsonl")], home)
    run_deflect(["index", "--quiet"] + ([] if fresh else ["--rebuild"]), home)
    return json.loads(run_deflect(["status", "--json"], home))


def gap_scores(case: Path, home: Path) -> dict:
    run_deflect(["calibrate", str(case / "dev.jsonl")], home)
    report = json.loads(run_deflect(["gaps", "--rebuild", "--format", "json"], home))
    truth, covered = load_truth(case)
    score = score_gap_report(report, truth, covered)
    return {k: score[k] for k in ("topic_recall", "false_gaps", "topics", "purity")}


def run_case(dataset: str, seed: int, work: Path, gaps: bool, fresh: bool = True) -> dict:
    unlinked = make_case(dataset, work / f"{dataset}-unlinked", seed, ["--history", "unlinked"])
    half = make_case(dataset, work / f"{dataset}-half", seed)
    truth, agent = true_articles(half)
    status = index_case(unlinked, work / f"{dataset}-home", fresh)
    links = read_links(work / f"{dataset}-home")
    out = {"case": f"{dataset} unlinked", "seed": seed, "tickets": len(truth), "agent_links": len(agent),
           "covered_tickets": sum(1 for a in truth.values() if a), "status": status.get("inferred_links"),
           "all": score_links(links, truth, agent), "confident": score_links(links, truth, agent, CONFIDENT)}
    if gaps:
        out["gaps"] = gap_scores(unlinked, work / f"{dataset}-home")
    return out


def run_demo(work: Path) -> dict:
    """The demo help center with every agent-made link hidden; only tickets that had one are scored."""
    case = work / "demo"
    shutil.rmtree(case, ignore_errors=True)
    shutil.copytree(ROOT / "faq_articles", case / "articles", ignore=shutil.ignore_patterns("tickets"))
    tickets = read_jsonl(ROOT / "faq_articles" / "tickets" / "tickets.jsonl")
    write_jsonl(case / "tickets.jsonl", [{**t, "article_id": None} for t in tickets])
    truth = {t["id"]: t["article_id"] for t in tickets if t.get("article_id")}
    status = index_case(case, work / "demo-home")
    links = {t: r for t, r in read_links(work / "demo-home").items() if t in truth}
    return {"case": "demo help center, links hidden", "seed": None, "tickets": len(tickets),
            "agent_links": len(truth), "covered_tickets": len(truth), "status": status.get("inferred_links"),
            "all": score_links(links, truth, set(truth)), "confident": score_links(links, truth, set(truth), CONFIDENT)}


def publish(results: list[dict]) -> None:
    lines = [f"Measured {datetime.now(UTC).date()} by `scripts/bench_links.py` (seed as shown). Tickets without an "
             "agent-made link get an inferred article from their resolution (link, id, title, pasted answer text) "
             "or their neighbourhood. precision = inferred links to the ticket's true article; recall_agent = of "
             "the tickets an agent linked in the `--history half` build of the same case, the share inferred "
             "right; recall_covered = the same over all tickets of covered topics. *confident* = links of "
             f"confidence ≥ {CONFIDENT}, the ones used as evidence (index, gap report).", "",
             "| case | source | inferred | precision | recall_agent | recall_covered | confident: inferred | "
             "precision | recall_agent | recall_covered |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for source, m in r["all"].items():
            c = r["confident"].get(source, {"inferred": 0, "precision": None, "recall_agent": None,
                                            "recall_covered": None})
            cells = [m["inferred"], m["precision"], m["recall_agent"], m["recall_covered"],
                     c["inferred"], c["precision"], c["recall_agent"], c["recall_covered"]]
            name = r["case"] + (f", seed {r['seed']}" if r["seed"] is not None else "")
            lines.append(f"| {name} | {source} | " + " | ".join("–" if v is None else str(v) for v in cells) + " |")
    gap_rows = [r for r in results if "gaps" in r]
    if gap_rows:
        lines += ["", "Gap report on the same homes (calibrated on dev.jsonl, `deflect gaps --rebuild`, scored by "
                  "scripts/score_gaps.py):", "", "| case | topics | false_gaps | topic_recall | purity |",
                  "|---|---|---|---|---|"]
        for r in gap_rows:
            g = r["gaps"]
            lines.append(f"| {r['case']}, seed {r['seed']} | {g['topics']} | {g['false_gaps']} | "
                         f"{g['topic_recall']} | {g['purity']} |")
    replace_section(DOCS / "benchmarks.md", "links", "\n".join(lines))
    (DOCS / "bench_links.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default="banking77,xsid_de", help="comma-separated make_case datasets")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", type=Path, default=Path("/tmp/deflect-bench-links"))
    p.add_argument("--gaps", action="store_true", help="also build and score the gap report")
    p.add_argument("--fresh", action=argparse.BooleanOptionalAction, default=True,
                   help="new homes (default); --no-fresh rebuilds the index of the homes of an earlier run, "
                        "re-using their vectors")
    p.add_argument("--demo", action="store_true", help="also the demo help center with its links hidden")
    p.add_argument("--publish", action=argparse.BooleanOptionalAction, default=True,
                   help="write docs/benchmarks.md and docs/bench_links.json")
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = [run_demo(args.work)] if args.demo else []
    for dataset in [c for c in args.cases.split(",") if c]:
        results.append(run_case(dataset, args.seed, args.work, args.gaps, args.fresh))
        print(json.dumps(results[-1]), flush=True)
    if args.demo:
        print(json.dumps(results[0]))
    if args.publish:
        publish(results)


if __name__ == "__main__":
    main()
