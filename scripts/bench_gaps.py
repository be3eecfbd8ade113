#!/usr/bin/env python3
"""Time the gap report on ~100k logged inquiries and tickets: first run, unchanged re-run, and an
incremental re-run after new inquiries.

    .venv/bin/python -m scripts.bench_gaps [SOURCE_HOME] [--n 100000] [--work DIR] [--new 1000]

SOURCE_HOME is an indexed and calibrated home; without it the script builds one from the banking77
case of shared/bench (seed 0) through the CLI (``deflect ingest``, ``deflect index``, ``deflect
calibrate dev.jsonl``), kept under the work folder for later runs. Its tickets are kept; its logged inquiries are
replaced by ``n - tickets`` synthetic inquiries: ticket texts with small variations (a greeting, a
closing, a number), their vectors a mix of the ticket's and one of its 10 nearest tickets' plus a little
noise (new phrasings that stay where real questions lie). As the
service would, each synthetic inquiry is judged by the engine and logged with its decision, and its
vector is put into the store's embedding cache -- so the report measures clustering, not embedding
(the engine's own cost for each inquiry is paid when it is asked). Then times ``GET /api/v1/gaps`` on
the stored report (Flask test client; JSON as the report page asks for it, and CSV; median of
``--calls``). Each report's wall-clock and process CPU seconds (``*_cpu_s``, every thread, steadier
than wall-clock on a busy machine) go into the JSON. Prints one JSON object, saves it as
docs/bench_gaps.json and writes the "gaps" section of docs/benchmarks.md (``--no-publish``: neither).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from scripts.common import DOCS, make_case, replace_section, run_deflect

GREETINGS = ["", "", "Hi, ", "Hello, ", "Hey, ", "Good morning, "]
CLOSINGS = ["", "", " Thanks!", " Please help.", " Thank you.", " Any idea?"]
NOISE = 0.01   # per dimension, on top of the mix with a neighbouring ticket


def synthesize(deflector, n: int, start: int, rng: np.random.Generator, base_texts: list[str],
               base_vectors: np.ndarray, neighbours: np.ndarray) -> int:
    """Log ``n`` synthetic inquiries (judged by the engine, vectors cached); returns how many."""
    from deflect.store import Store

    store = deflector.store
    model = deflector.bundle.model
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    done = 0
    while done < n:
        m = min(4096, n - done)
        pick = rng.integers(0, len(base_texts), m)
        texts = [f"{GREETINGS[rng.integers(len(GREETINGS))]}{base_texts[p]}"
                 f"{CLOSINGS[rng.integers(len(CLOSINGS))]} (#{start + done + j})" for j, p in enumerate(pick)]
        mate = neighbours[pick, rng.integers(0, neighbours.shape[1], m)]
        mix = rng.uniform(0.0, 0.5, (m, 1)).astype(np.float32)
        V = (1 - mix) * base_vectors[pick] + mix * base_vectors[mate]
        V += rng.normal(0, NOISE, V.shape).astype(np.float32)
        V /= np.linalg.norm(V, axis=1, keepdims=True)
        results = deflector.suggest_batch(texts, k=1, vectors=V)
        rows = [{"id": f"syn-{start + done + j}", "text": t, "language": "en", "created_at": now,
                 "decision": s.decision, "confidence": float(s.confidence),
                 "article_id": s.articles[0].id if s.articles else None, "channel": "widget",
                 "session": None, "page": None} for j, (t, s) in enumerate(zip(texts, results, strict=True))]
        with store.db.transaction():
            store.db["inquiries"].insert_all(rows, pk="id", batch_size=2000)
            store.cache_embeddings({Store.embedding_key(model, t): v for t, v in zip(texts, V, strict=True)})
        done += m
    return done


def nearest(V: np.ndarray, k: int) -> np.ndarray:
    """The k nearest other rows of each row."""
    out = np.zeros((len(V), k), np.int64)
    for start in range(0, len(V), 2048):
        sims = V[start:start + 2048] @ V.T
        sims[np.arange(len(sims)), np.arange(start, start + len(sims))] = -np.inf
        out[start:start + 2048] = np.argpartition(-sims, k, axis=1)[:, :k]
    return out


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def source_home(work: Path) -> Path:
    """An indexed, calibrated banking77 home (seed 0), built through the CLI once and then reused."""
    home, case = work / "source-banking77", work / "case-banking77"
    if (home / "index" / "manifest.json").exists():
        return home
    if not case.exists():
        make_case("banking77", case, seed=0)
    for cmd in (["ingest", str(case / "articles"), str(case / "tickets.jsonl")], ["index"],
                ["calibrate", str(case / "dev.jsonl")]):
        run_deflect(cmd, home)
    return home


def time_get(home: Path, deflector, calls: int) -> dict:
    """Median milliseconds of ``GET /api/v1/gaps`` on the stored report: JSON (every status, as the
    report page asks) and CSV."""
    from deflect.web import create_app

    from deflect.store.service import create_key

    key = create_key(deflector.store, f"bench-gaps-{time.time_ns()}", "admin")[1]
    client = create_app({"TESTING": True, "DEFLECT_HOME": str(home), "DEFLECTOR": deflector}).test_client()
    out = {}
    for label, query in (("json", "?status=all"), ("csv", "?status=all&format=csv")):
        times = []
        for _ in range(calls):
            t = time.perf_counter()
            r = client.get("/api/v1/gaps" + query, headers={"Authorization": f"Bearer {key}"})
            times.append(time.perf_counter() - t)
            assert r.status_code == 200, r.get_data(as_text=True)[:300]
        out[f"{label}_ms"] = round(statistics.median(times) * 1000, 1)
        out[f"{label}_bytes"] = len(r.get_data())
    out["calls"] = calls
    return out


def publish(out: dict) -> None:
    """Save the figures as docs/bench_gaps.json and write the gaps section of docs/benchmarks.md."""
    (DOCS / "bench_gaps.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
    items = out["items"]
    total = items.get("tickets", 0) + items.get("inquiries", 0)
    lines = [
        f"`scripts/bench_gaps.py` on {out['date']}: {os.cpu_count()} CPU cores, Python "
        f"{platform.python_version()}; load average {out['loadavg_start']:.1f} at the start, "
        f"{out['loadavg_end']:.1f} at the end.",
        "",
        f"Source: {Path(out['source']).name} ({items.get('tickets', 0):,} tickets, {items.get('articles', 0)} "
        f"articles, model `{out['model']}`) plus {items.get('inquiries', 0):,} logged inquiries "
        f"= {total:,} items (synthetic inquiries near real ones, judged by the engine and logged with "
        "their vectors, as the service logs them). Clustered in "
        + ("the multilingual part of the vectors (`--multilingual`, as on a German or mixed help desk)."
           if out.get("space") == "multilingual part" else
           "the space the items' languages choose (on an English help desk the whole vectors)."),
        "",
        "| run | seconds | topics | items judged now |",
        "|---|---:|---:|---:|",
        f"| first report | {out['first_run_s']:.1f} | {out['first_run_topics']} | {out['first_run_judged']:,} |",
        f"| re-run, nothing changed | {out['rerun_unchanged_s']:.1f} | {out['rerun_unchanged_topics']} | "
        f"{out['rerun_unchanged_judged']:,} |",
        f"| re-run after {out['new']:,} new inquiries | {out['rerun_after_new_s']:.1f} | "
        f"{out['rerun_after_new_topics']} | {out['rerun_after_new_judged']:,} |",
        "",
        f"Target (issue 3): the report over 100k items in under 60 s on this machine — "
        f"{'met' if max(out['first_run_s'], out['rerun_after_new_s']) < 60 else 'MISSED'}. "
        f"Topic ids kept across the re-runs: {out['ids_kept']} of {out['first_run_topics']}. "
        f"Peak RSS of the benchmark process (setup included) {out['peak_rss_mb'] / 1024:.2f} GB.",
        "",
        f"`GET /api/v1/gaps` on the stored report (median of {out['get']['calls']} calls, Flask test client): "
        f"{out['get']['json_ms']:.1f} ms as JSON ({out['get']['json_bytes'] / 1e6:.1f} MB, every status), "
        f"{out['get']['csv_ms']:.1f} ms as CSV; target < 50 ms — "
        f"{'met' if max(out['get']['json_ms'], out['get']['csv_ms']) < 50 else 'MISSED'}.",
    ]
    replace_section(DOCS / "benchmarks.md", "gaps", "\n".join(lines))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", type=Path, nargs="?", help="indexed, calibrated home (default: build banking77)")
    p.add_argument("--n", type=int, default=100_000, help="inquiries + tickets in total")
    p.add_argument("--new", type=int, default=1000, help="inquiries added before the incremental re-run")
    p.add_argument("--work", type=Path, default=Path("/tmp/deflect-bench-gaps"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--calls", type=int, default=25, help="GET /api/v1/gaps calls per format (median)")
    p.add_argument("--multilingual", action="store_true",
                   help="cluster in the multilingual part of the vectors, as on a German or mixed help desk "
                        "(the banking77 source is English, which keeps the whole vectors)")
    p.add_argument("--publish", action=argparse.BooleanOptionalAction, default=True,
                   help="write docs/bench_gaps.json and the gaps section of docs/benchmarks.md")
    args = p.parse_args()

    import deflect.gaps.items as gap_items
    from deflect.deflector import Deflector
    from deflect.embedder import set_threads
    from deflect.gaps.report import build_report
    from deflect.index.documents import TICKET

    set_threads(2)
    if args.multilingual:
        gap_items.ENGLISH_DESK = float("inf")
    source = args.source or source_home(args.work.parent / (args.work.name + "-source"))
    if args.work.exists():
        shutil.rmtree(args.work)
    shutil.copytree(source, args.work)
    out: dict = {"source": str(source), "date": time.strftime("%Y-%m-%d %H:%M"), "new": args.new,
                 "space": "multilingual part" if args.multilingual else "by the items' languages",
                 "loadavg_start": os.getloadavg()[0]}
    t0 = time.perf_counter()
    deflector = Deflector.open(args.work)
    out["model"] = deflector.bundle.model
    out["open_s"] = round(time.perf_counter() - t0, 2)
    store = deflector.store
    with store.db.transaction():
        for table in ("inquiries", "gap_items", "gap_topics", "gap_events", "gap_report", "gap_runs"):
            store.db.execute(f"delete from {table}")
        store.db.execute("delete from settings where key = 'gaps_next_id'")
    b = deflector.bundle
    emb = np.asarray(b.load_embeddings(deflector.home.index_dir), np.float32)
    pos = np.flatnonzero(b.kind == TICKET)
    rows = store.get_tickets(str(r) for r in b.ref[pos])
    keep = [i for i, r in enumerate(b.ref[pos]) if str(r) in rows]
    base_texts = [(rows[str(b.ref[pos[i]])]["subject"] or "").strip() for i in keep]
    base_vectors = emb[pos[keep]]
    n_tickets = len(rows)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    neighbours = nearest(base_vectors, 10)
    synthesize(deflector, args.n - n_tickets, 0, rng, base_texts, base_vectors, neighbours)
    out["setup_s"] = round(time.perf_counter() - t0, 1)
    out["items"] = store.counts()

    def timed(label: str) -> dict:
        t, cpu = time.perf_counter(), time.process_time()
        report = build_report(deflector)
        out[f"{label}_s"] = round(time.perf_counter() - t, 2)
        out[f"{label}_cpu_s"] = round(time.process_time() - cpu, 2)   # all threads: steadier on a busy machine
        out[f"{label}_topics"] = len(report.topics)
        out[f"{label}_judged"] = report.counts.judged_now
        return report

    first = timed("first_run")
    ids = {t.id for t in first.topics}
    timed("rerun_unchanged")
    synthesize(deflector, args.new, args.n, rng, base_texts, base_vectors, neighbours)
    third = timed("rerun_after_new")
    out["ids_kept"] = len(ids & {t.id for t in third.topics})
    out["get"] = time_get(args.work, deflector, args.calls)
    out["peak_rss_mb"] = round(rss_mb())
    out["not_answered"] = third.counts.not_answered
    out["threshold"] = third.params.distance_threshold
    out["loadavg_end"] = os.getloadavg()[0]
    print(json.dumps(out, indent=1))
    if args.publish:
        publish(out)


if __name__ == "__main__":
    main()
