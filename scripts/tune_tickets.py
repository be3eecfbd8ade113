#!/usr/bin/env python3
"""Held-out linked tickets: a label source for tuning the engine that is not anybody's test set.

    .venv/bin/python -m scripts.tune_tickets CASE_DIR [CASE_DIR ...] [--folds 4] [--max 600]
    .venv/bin/python -m scripts.tune_tickets CASE_DIR [CASE_DIR ...] --cold-start
    .venv/bin/python -m scripts.tune_tickets CASE_DIR [...] --missing-article [--unlink-share 0.5] [--together 2]

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

``--missing-article`` checks the gap report instead: would it find the topic if an article were
missing? One fold per article with at least ``--min-tickets`` linked tickets: the article is left out,
its tickets lose their link (answered by hand, as before any article existed) and its dev.jsonl rows
expect no article; the gap report over the ticket history is then scored as in shared/bench/README.md
(found = a topic of at least 5 members, purity >= 0.7, whose majority is the missing article; false
gaps = topics whose majority is an article that exists; split = found as more than one topic), with
the links as the only labels. Tickets that had no link to begin with have no known topic and are not
scored; ``--unlink-share 0.5`` drops them and removes that share of the other links, so that covered
tickets without a link -- the usual source of false gaps -- are scored too. ``--together 2`` leaves out
two articles per fold: with one missing topic at a time nothing can show two gap topics merged into one
(a coarser clustering looks only better), with two it is scored (the merged topic is impure or found
for one of them only).
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from deflect.formats import find_files, read_article
from deflect.index.documents import ticket_text
from scripts.common import read_jsonl, run_deflect, write_jsonl
from scripts.score_gaps import score_gap_report


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
    folds = [(_fold_name("cold", k, a), held) for k, (a, held) in enumerate(picked)]
    if not folds:
        raise SystemExit(f"{case}: no article has {min_tickets} linked tickets")
    return _write_folds(case, work, tickets, folds)


def missing_article_cases(case: Path, work: Path, min_tickets: int, unlink_share: float = 0.0,
                          seed: int = 0, limit: int | None = None, together: int = 1) -> list[Path]:
    """One case folder per ``together`` articles with at least ``min_tickets`` linked tickets (at most
    ``limit`` articles, spread over the sorted ids; grouped across the list, not neighbours): the
    articles left out, their tickets unlinked, their dev.jsonl rows expecting no article;
    ``truth.json`` has the missing ids and the known topics."""
    files = {read_article(f).id: f for f in find_files([case / "articles"])[0]}
    tickets = read_jsonl(case / "tickets.jsonl")
    if unlink_share:   # every ticket's topic known: drop those without a link, unlink a share of the rest
        rng = np.random.default_rng(seed)
        tickets = [t for t in tickets if t.get("article_id")]
        drop = rng.random(len(tickets)) < unlink_share
        truth = {t["id"]: t["article_id"] for t in tickets}
        tickets = [{**t, "article_id": None} if d else t for t, d in zip(tickets, drop, strict=True)]
    else:
        truth = {t["id"]: t["article_id"] for t in tickets if t.get("article_id")}
    counts = Counter(str(truth[t["id"]]) for t in tickets if t["id"] in truth and ticket_text(t))
    picked = [a for a in sorted(files) if counts.get(a, 0) >= min_tickets]
    if not picked:
        raise SystemExit(f"{case}: no article has {min_tickets} linked tickets")
    if limit and len(picked) > limit:
        picked = [picked[int(i)] for i in np.linspace(0, len(picked) - 1, limit).round()]
    dev = read_jsonl(case / "dev.jsonl") if (case / "dev.jsonl").exists() else None
    groups = -(-len(picked) // together)
    out = []
    for k in range(groups):
        missing = picked[k::groups]
        d = work / f"{case.name}-{_fold_name('miss', k, '+'.join(missing))}"
        shutil.rmtree(d, ignore_errors=True)
        for aid, f in files.items():
            if aid not in missing:
                target = d / "articles" / f.relative_to(case / "articles")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, target)
        write_jsonl(d / "tickets.jsonl", [{**t, "article_id": None} if t.get("article_id") in missing else t
                                           for t in tickets])
        if dev is not None:
            write_jsonl(d / "dev.jsonl", [{**r, "expected_article": None} if r.get("expected_article") in missing
                                           else r for r in dev])
        (d / "truth.json").write_text(json.dumps({"missing": missing, "articles": sorted(files), "topics": truth},
                                                 ensure_ascii=False), encoding="utf-8")
        out.append(d)
    return out


def run_missing_fold(fold: Path) -> dict:
    """Build the fold's engine, run the gap report, score it: missing articles with enough known
    tickets to make a topic, how many of them were found, split into several topics, false gaps, purity."""
    home = fold / "home"
    _build(home, fold / "articles", fold / "tickets.jsonl", fold / "dev.jsonl")
    report = json.loads(run_deflect(["gaps", "--format", "json"], home))
    truth = json.loads((fold / "truth.json").read_text(encoding="utf-8"))
    score = score_gap_report(report, truth["topics"], set(truth["articles"]) - set(truth["missing"]))
    missing = score["uncovered_topics"]
    return {"missing": missing, "found": missing - len(score["missed"]),
            "split": len(score["split"]), "false_gaps": score["false_gaps"], "purity": score["purity"]}


def missing_summary(name: str, rows: list[dict]) -> str:
    """One line: folds, share of missing articles found as a topic, split, false gaps, purity."""
    purities = [r["purity"] for r in rows if r["purity"] is not None]
    missing = sum(r["missing"] for r in rows)
    found = sum(r["found"] for r in rows) / missing if missing else float("nan")
    return (f"{name:24s} folds={len(rows):4d} missing={missing:4d} found={found:.3f} "
            f"split={sum(r['split'] for r in rows)} false_gaps={sum(r['false_gaps'] for r in rows)} "
            f"purity={np.mean(purities) if purities else float('nan'):.3f}")


def _fold_name(kind: str, k: int, article_id: str) -> str:
    """The folder name of fold ``k`` about an article (or several, joined by "+"); numbered, as two ids
    may clean up to the same name ("faq/a", "faq_a")."""
    return f"{kind}{k}-" + re.sub(r"[^\w.-]", "_", article_id)


def _write_folds(case: Path, work: Path, tickets: list[dict], folds: list[tuple[str, set[int]]]) -> list[Path]:
    out = []
    for name, held in folds:
        d = work / f"{case.name}-{name}"
        write_jsonl(d / "tickets.jsonl", [t for i, t in enumerate(tickets) if i not in held])
        # the customer's words as the engine reads a ticket
        write_jsonl(d / "held.jsonl", [{"id": tickets[i]["id"], "text": ticket_text(tickets[i]),
                                         "language": tickets[i].get("language"),
                                         "expected_article": tickets[i]["article_id"]} for i in sorted(held)])
        out.append(d)
    return out


def _build(home: Path, articles: Path, tickets: Path, dev: Path) -> None:
    """A fresh engine through the CLI (a ticket held out now may be in an old store): ingest, index,
    calibrate on ``dev`` if it exists, else on the ticket history."""
    shutil.rmtree(home, ignore_errors=True)
    run_deflect(["ingest", str(articles), str(tickets)], home)
    run_deflect(["index", "--quiet"], home)
    run_deflect(["calibrate", str(dev)] if dev.exists() else ["calibrate"], home)


def run_fold(case: Path, fold: Path) -> list[tuple[bool, bool, bool]]:
    """(first right, in the first three, answered) per held-out ticket."""
    home = fold / "home"
    _build(home, case / "articles", fold / "tickets.jsonl", case / "dev.jsonl")
    held = {r["id"]: r["expected_article"] for r in read_jsonl(fold / "held.jsonl")}
    out = []
    for line in run_deflect(["suggest", "--jsonl", "--no-log"], home, stdin=fold / "held.jsonl").splitlines():
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
    p.add_argument("--missing-article", action="store_true",
                   help="one fold per article (or --together N): left out, its tickets unlinked; is it found as a gap "
                        "topic?")
    p.add_argument("--min-tickets", type=int, default=None,
                   help="with --cold-start (default 3) or --missing-article (default 5): articles with fewer "
                        "linked tickets are skipped")
    p.add_argument("--unlink-share", type=float, default=0.0,
                   help="with --missing-article: drop the tickets without a link and unlink this share of "
                        "the others (every ticket's topic is then known)")
    p.add_argument("--max-articles", type=int, default=None,
                   help="with --missing-article: at most this many articles per case (spread over the ids)")
    p.add_argument("--together", type=int, default=1,
                   help="with --missing-article: leave out this many articles per fold (2 or more also scores "
                        "gap topics merged with each other)")
    p.add_argument("--work", type=Path, help="where the fold cases and homes go (default: a temporary folder)")
    args = p.parse_args()
    if args.folds < 2:
        raise SystemExit("--folds must be at least 2")
    if args.cold_start and args.missing_article:
        raise SystemExit("--cold-start and --missing-article are two different checks: choose one")
    if args.together < 1:
        raise SystemExit("--together must be at least 1")
    if not 0.0 <= args.unlink_share < 1.0:
        raise SystemExit("--unlink-share must be at least 0 and below 1")
    for case in args.cases:   # before minutes of work on the cases named earlier
        if not (case / "tickets.jsonl").exists() or not (case / "articles").is_dir():
            raise SystemExit(f"{case}: needs articles/ and tickets.jsonl")
    with tempfile.TemporaryDirectory(prefix="deflect-tune-") as tmp:
        work = args.work or Path(tmp)

        def missing(case: Path) -> list[dict]:
            folds = missing_article_cases(case, work, 5 if args.min_tickets is None else args.min_tickets,
                                          args.unlink_share, args.seed, args.max_articles, args.together)
            return [run_missing_fold(fold) for fold in folds]

        def held_out(case: Path) -> list[tuple[bool, bool, bool]]:
            folds = (cold_start_cases(case, work, 3 if args.min_tickets is None else args.min_tickets)
                     if args.cold_start
                     else fold_cases(case, work, args.folds, args.max, args.seed))
            return [row for fold in folds for row in run_fold(case, fold)]

        if args.missing_article:
            _per_case(args.cases, missing, missing_summary)
        else:
            _per_case(args.cases, held_out, summary)


def _per_case(cases: list[Path], rows_of, summarise) -> None:
    """Print ``summarise`` of each case's rows (``rows_of(case)``), then of all of them together."""
    every: list = []
    for case in cases:
        rows = rows_of(case)
        every += rows
        print(summarise(case.name, rows), flush=True)
    if len(cases) > 1:
        print(summarise("all", every))


if __name__ == "__main__":
    main()
