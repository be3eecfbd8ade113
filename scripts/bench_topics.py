#!/usr/bin/env python3
"""One topic per real question: the gap report with and without its merge pass on the shared/bench
cases -- topics_per_gap, topic_recall, false_gaps, purity per case and seed.

    .venv/bin/python -m scripts.bench_topics [--cases xsid_de banking77] [--seeds 0 1 2] [--work DIR]

Per case and seed a home is built through the CLI as a user would (``ingest``, ``index``, ``calibrate
dev.jsonl``, ``suggest --jsonl`` on test.jsonl, which logs the inquiries) and kept under ``--work`` for
later runs. Then the report is built twice in this process on the same judged items: the first pass
only (``GapReport(merge=False)``, the report before the merge pass) and as shipped. truth.jsonl is read
only for scoring (scripts/score_gaps.py). Writes the "topics" section of docs/benchmarks.md
(``--no-publish``: prints only).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from pathlib import Path

import numpy as np

from scripts.common import DOCS, make_case, replace_section, run_deflect
from scripts.score_gaps import load_truth, score_gap_report

CASES = {"xsid_de": ("xsid_de", []), "banking77": ("banking77", []),
         "xsid_de-unlinked": ("xsid_de", ["--history", "unlinked"]),
         "banking77-unlinked": ("banking77", ["--history", "unlinked"]),
         # a help center's first day: no tickets, the report's material is the logged inquiries alone
         "banking77-none": ("banking77", ["--history", "none"]),
         "xsid_de-none": ("xsid_de", ["--history", "none"])}
METRICS = ("topics_per_gap", "topic_recall", "false_gaps", "purity", "topics")


def vector_donor(work: Path, dataset: str) -> Path | None:
    """The index folder of a home built earlier on the same data set (its vectors of the same texts)."""
    for name, (other, _) in CASES.items():
        for index in sorted(work.glob(f"home-{name}-*/index")):
            if other == dataset and (index.parent / "ready").exists() and (index / "manifest.json").exists():
                return index
    return None


def home_for(work: Path, name: str, seed: int) -> tuple[Path, Path]:
    """(case folder, indexed and calibrated home with the test inquiries logged), built once. The index
    is built from scratch (``index --rebuild``: labels, classifier, links), but the vectors of texts a
    home of the same data set embedded already are taken from its index (the same model gives the same
    vectors; embedding is what takes long)."""
    dataset, extra = CASES[name]
    case, home = work / f"case-{name}-{seed}", work / f"home-{name}-{seed}"
    if (home / "ready").exists():
        return case, home
    if not case.exists():
        make_case(dataset, case, seed, extra)
    donor = vector_donor(work, dataset)
    run_deflect(["ingest", str(case / "articles"), str(case / "tickets.jsonl")], home)
    if donor is not None:
        shutil.rmtree(home / "index", ignore_errors=True)
        shutil.copytree(donor, home / "index")
    for cmd in (["index", "--quiet", *(["--rebuild"] if donor is not None else [])],
                ["calibrate", str(case / "dev.jsonl")]):
        run_deflect(cmd, home)
    run_deflect(["suggest", "--jsonl"], home, stdin=case / "test.jsonl")
    (home / "ready").touch()
    return case, home


def fresh_report(deflector, merge: bool) -> dict:
    """A first report (no earlier topics) on the home's judged items; ``merge``: with the merge pass."""
    from deflect.gaps.cluster import GapReport
    from deflect.gaps.report import build_report

    store = deflector.store
    with store.db.transaction():
        store.db.execute("update gap_items set topic_id = null")
        for table in ("gap_topics", "gap_events", "gap_report", "gap_runs"):
            store.db.execute(f"delete from {table}")
        store.db.execute("delete from settings where key = 'gaps_next_id'")
    t = time.perf_counter()
    report = build_report(deflector, estimator=GapReport(merge=merge)).to_dict()
    report["_seconds"] = time.perf_counter() - t
    return report


def measure(case: Path, home: Path) -> dict[str, dict]:
    from deflect.deflector import Deflector

    truth, covered = load_truth(case)
    deflector = Deflector.open(home)
    try:
        out = {}
        for label, merge in (("first pass only", False), ("with merge pass", True)):
            report = fresh_report(deflector, merge)
            score = score_gap_report(report, truth, covered)
            out[label] = {k: score[k] for k in METRICS} | {"seconds": round(report["_seconds"], 1)}
        return out
    finally:
        deflector.store.close()


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _cell(key: str, value) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}" if key == "topics" else f"{value:.1f}" if key == "false_gaps" else f"{value:.2f}"


def publish(results: dict) -> str:
    lines = [f"Measured {time.strftime('%Y-%m-%d')} by `scripts/bench_topics.py` on this machine "
             f"({os.cpu_count()} cores, Python {platform.python_version()}): the gap report built on the same "
             "judged items with its first pass only and with the merge pass (as shipped). topics_per_gap = "
             "report topics (≥ 5 labelled members, purity ≥ 0.7) per uncovered topic they hit (1.0: no "
             "splits; target ≤ 1.3 as the mean of seeds 0–2); topics = report topics with ≥ 5 members.", "",
             "| case | seed | report | " + " | ".join(METRICS) + " |", "|---|---|---|" + "---|" * len(METRICS)]
    for name, per_seed in results.items():
        seeds = sorted(per_seed)
        for label in ("first pass only", "with merge pass"):
            for seed in seeds:
                m = per_seed[seed][label]
                lines.append(f"| {name} | {seed} | {label} | " + " | ".join(_cell(k, m[k]) for k in METRICS) + " |")
            mean = {k: _mean([per_seed[s][label][k] for s in seeds]) for k in METRICS}
            lines.append(f"| {name} | **mean** | {label} | "
                         + " | ".join(f"**{_cell(k, mean[k])}**" for k in METRICS) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", nargs="+", default=["xsid_de", "banking77"], choices=list(CASES))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--case-seeds", nargs="*", default=[], metavar="CASE=S,S",
                   help="other seeds for one case, e.g. banking77=0 (its homes take long to build)")
    p.add_argument("--work", type=Path, default=Path("/tmp/deflect-bench-topics"))
    p.add_argument("--build-only", action="store_true", help="only build the homes (measure later)")
    p.add_argument("--publish", action=argparse.BooleanOptionalAction, default=True,
                   help="write the topics section of docs/benchmarks.md")
    args = p.parse_args()
    from deflect.embedder import set_threads

    set_threads(2)
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[int, dict]] = {}
    seeds_of = {c: [int(x) for x in s.split(",")] for c, s in (item.split("=", 1) for item in args.case_seeds)}
    for name in args.cases:
        for seed in seeds_of.get(name, args.seeds):
            case, home = home_for(args.work, name, seed)
            if args.build_only:
                print("built", home, flush=True)
                continue
            results.setdefault(name, {})[seed] = measure(case, home)
            print(name, seed, json.dumps(results[name][seed]), flush=True)
    if args.build_only:
        return
    block = publish(results)
    print(block)
    if args.publish:
        replace_section(DOCS / "benchmarks.md", "topics", block)


if __name__ == "__main__":
    main()
