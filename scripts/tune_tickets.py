#!/usr/bin/env python3
"""Held-out linked tickets: a label source for tuning the engine that is not anybody's test set.

    .venv/bin/python scripts/tune_tickets.py CASE_DIR [CASE_DIR ...] [--folds 4] [--max 600]
    .venv/bin/python scripts/tune_tickets.py CASE_DIR [CASE_DIR ...] --cold-start

A case is a folder in deflect's input formats (``articles/``, ``tickets.jsonl``, optionally
``dev.jsonl``), e.g. one written by ``../shared/bench/make_case.py`` or your own help desk's export.
The tickets an agent linked to an article are split into folds; for each fold deflect is built through
its CLI from the articles and all other tickets (ingest, index, calibrate on ``dev.jsonl`` if the case
has one, else on the ticket history), and the fold's tickets are asked as inquiries (``suggest --jsonl
--no-log``). Each linked ticket is thus answered by an engine that has never seen it: top1 / top3 /
deflected / wrong_answer over all of them, per case and overall.

Why: the benchmark's dev.jsonl has 24 rows per xsid case (nearly all answered right), too few to
tell two engine variants apart; the linked tickets of the same cases give ten times as many held-out
rows without touching test.jsonl or truth.jsonl (this script reads neither).

``--cold-start`` asks instead how well an article is found before any ticket was linked to it -- a
newly written article, such as one that closes a gap topic: one fold per article with at least
``--min-tickets`` linked tickets, built without that article's linked tickets (its unlinked ones stay,
as answered by hand before the article existed), asking them. The engine then has only the article's
title, questions and body, competing with siblings that have a ticket history.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_quality import read_jsonl, run  # noqa: E402

from deflect.indexer import ticket_text  # noqa: E402


def _linked(tickets: list[dict]) -> list[int]:
    """Positions of the tickets that can be held out: linked to an article, with text to ask."""
    return [i for i, t in enumerate(tickets) if t.get("article_id") and ticket_text(t)]


def fold_cases(case: Path, work: Path, folds: int, limit: int, seed: int) -> list[Path]:
    """Write one case folder per fold: the other tickets, and the fold's tickets as inquiries."""
    tickets = read_jsonl(case / "tickets.jsonl")
    linked = _linked(tickets)
    if len(linked) < folds:
        raise SystemExit(f"{case}: {len(linked)} linked tickets, fewer than {folds} folds")
    order = np.random.default_rng(seed).permutation(linked)[:limit]
    return _write_folds(case, work, tickets, [(f"fold{f}", set(order[f::folds].tolist())) for f in range(folds)])


def cold_start_cases(case: Path, work: Path, min_tickets: int) -> list[Path]:
    """One case folder per article with at least ``min_tickets`` linked tickets: all of them held out."""
    tickets = read_jsonl(case / "tickets.jsonl")
    by_article: dict[str, set[int]] = {}
    for i in _linked(tickets):
        by_article.setdefault(str(tickets[i]["article_id"]), set()).add(i)
    picked = [(a, held) for a, held in sorted(by_article.items()) if len(held) >= min_tickets]
    # numbered: two ids may clean up to the same folder name ("faq/a", "faq_a")
    folds = [(f"cold{k}-" + re.sub(r"[^\w.-]", "_", a), held) for k, (a, held) in enumerate(picked)]
    if not folds:
        raise SystemExit(f"{case}: no article has {min_tickets} linked tickets")
    return _write_folds(case, work, tickets, folds)


def _write_folds(case: Path, work: Path, tickets: list[dict], folds: list[tuple[str, set[int]]]) -> list[Path]:
    out = []
    for name, held in folds:
        d = work / f"{case.name}-{name}"
        d.mkdir(parents=True, exist_ok=True)
        with open(d / "tickets.jsonl", "w", encoding="utf-8") as fh:
            for i, t in enumerate(tickets):
                if i not in held:
                    fh.write(json.dumps(t, ensure_ascii=False) + "\n")
        with open(d / "held.jsonl", "w", encoding="utf-8") as fh:
            for i in sorted(held):
                t = tickets[i]   # the customer's words as the engine reads a ticket
                fh.write(json.dumps({"id": t["id"], "text": ticket_text(t), "language": t.get("language"),
                                     "expected_article": t["article_id"]}, ensure_ascii=False) + "\n")
        out.append(d)
    return out


def run_fold(case: Path, fold: Path) -> list[tuple[bool, bool, bool]]:
    """(first right, in the first three, answered) per held-out ticket."""
    home = fold / "home"
    shutil.rmtree(home, ignore_errors=True)   # a fresh store: a ticket held out now may be in an old one
    run(["ingest", str(case / "articles"), str(fold / "tickets.jsonl")], home)
    run(["index", "--quiet"], home)
    run(["calibrate", str(case / "dev.jsonl")] if (case / "dev.jsonl").exists() else ["calibrate"], home)
    held = {r["id"]: r["expected_article"] for r in read_jsonl(fold / "held.jsonl")}
    out = []
    for line in run(["suggest", "--jsonl", "--no-log"], home, stdin=fold / "held.jsonl").splitlines():
        obj = json.loads(line)
        ids = [a["id"] for a in obj["articles"]]
        gold = held[obj["id"]]
        out.append((bool(ids) and ids[0] == gold, gold in ids[:3], obj["decision"] == "answer"))
    return out


def summary(name: str, rows: list[tuple[bool, bool, bool]]) -> str:
    """One line: how many held-out tickets, and top1 / top3 / deflected / wrong_answer over them."""
    a = np.array(rows, bool).reshape(len(rows), 3)
    first, top3, answered = a[:, 0], a[:, 1], a[:, 2]
    n = max(len(rows), 1)
    return (f"{name:24s} n={len(rows):5d} top1={first.sum() / n:.3f} top3={top3.sum() / n:.3f} "
            f"deflected={(first & answered).sum() / n:.3f} wrong_answer={(~first & answered).sum() / n:.3f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("cases", type=Path, nargs="+")
    p.add_argument("--folds", type=int, default=4)
    p.add_argument("--max", type=int, default=600, help="at most this many linked tickets per case are held out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cold-start", action="store_true",
                   help="one fold per article: all its linked tickets held out (a newly written article)")
    p.add_argument("--min-tickets", type=int, default=3, help="with --cold-start: articles with fewer are skipped")
    p.add_argument("--work", type=Path, help="where the fold cases and homes go (default: a temporary folder)")
    args = p.parse_args()
    if args.folds < 2:
        raise SystemExit("--folds must be at least 2")
    for case in args.cases:   # before minutes of work on the cases named earlier
        if not (case / "tickets.jsonl").exists() or not (case / "articles").is_dir():
            raise SystemExit(f"{case}: needs articles/ and tickets.jsonl")
    with tempfile.TemporaryDirectory(prefix="deflect-tune-") as tmp:
        work = args.work or Path(tmp)
        every: list[tuple[bool, bool, bool]] = []
        for case in args.cases:
            rows = []
            folds = (cold_start_cases(case, work, args.min_tickets) if args.cold_start
                     else fold_cases(case, work, args.folds, args.max, args.seed))
            for fold in folds:
                rows += run_fold(case, fold)
            every += rows
            print(summary(case.name, rows), flush=True)
        if len(args.cases) > 1:
            print(summary("all", every))


if __name__ == "__main__":
    main()
