#!/usr/bin/env python3
"""Speed benchmark: deflect against the bare model and txtai -- one run, same machine, same model
(the packaged all-MiniLM-L6-v2), same corpus.

    .venv/bin/python -m scripts.bench_speed                        # 10k and 100k documents
    .venv/bin/python -m scripts.bench_speed --sizes 10000 --rounds 1   # a quick look

Corpus: the articles and resolved tickets of the shared/bench cases (banking77, xsid_de, seed 0)
plus the demo help center, tickets repeated with variations (greetings, sign-offs, numbers) until
the corpus has N documents. deflect indexes it from its store; txtai and the bare model get exactly
the same texts (deflect's documents).

Systems, each in its own process, with the same thread settings (torch/faiss: all cores for
building, one thread per process for serving; OMP_WAIT_POLICY=PASSIVE everywhere, as
``deflect index`` sets it):
- bare:    ``SentenceTransformer.encode(texts, batch_size=128)`` / ``encode([text])`` and nothing else;
- txtai:   ``Embeddings(path=<minilm>, backend="faiss", content=False, encodebatch=128)``, ``index``,
           ``search(text, 10)``;
- deflect: ``indexer.build(..., full=True)`` (everything from the store to the saved index),
           ``Deflector.suggest(text)`` (embed + search + scoring + decision).

Reports medians over rounds (systems interleaved within a round): build throughput, single-inquiry
latency p50/p99 sequentially and with two processes querying at once, peak RSS of the serving
process, recall@10 of deflect's index against exact search, incremental updates on the largest
index, and the million-vector figures of scripts/bench_ann.py (docs/bench_ann.json). Writes
docs/benchmarks.md (between the speed markers), docs/latency.png and docs/bench_speed.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from scripts.common import DOCS, pct
from scripts.speed.corpus import make_corpus, queries
from scripts.speed.incremental import incremental
from scripts.speed.measure import million, recall_at_10, serve_round
from scripts.speed.report import write_doc
from scripts.speed.workers import SYSTEMS, run_worker, target


def main_run(args) -> None:
    started = time.perf_counter()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    report: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "sizes": sizes, "rounds": args.rounds,
                    "machine": {"cpus": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
                                "python": platform.python_version()},
                    "loadavg_start": os.getloadavg(), "build": {}, "serve": {}, "recall": {}}
    qpath = work / "queries.json"
    homes = {}
    for size in sizes:
        log(f"corpus {size}")
        homes[size] = make_corpus(work, size)
    qpath.write_text(json.dumps(queries(work, args.queries), ensure_ascii=False), encoding="utf-8")
    qs = json.loads(qpath.read_text())
    for size in sizes:
        rounds = args.rounds if size <= 20000 else args.rounds_large
        runs = {s: [] for s in SYSTEMS}
        for r in range(rounds):
            order = SYSTEMS[r % 3:] + SYSTEMS[:r % 3]
            for system in order:
                log(f"build {system} {size} round {r + 1}/{rounds}")
                res = run_worker("build", system=system, home=homes[size], target=target(work, homes[size], system))
                log(f"  {res['docs_per_s']} docs/s ({res['seconds']} s, load {res['loadavg']:.1f})")
                runs[system].append(res)
        if args.bare32 and size == sizes[0]:
            log(f"build bare32 {size}")
            runs["bare32"] = [run_worker("build", system="bare32", home=homes[size], target=work / "bare32")]
        report["build"][size] = runs
        log(f"recall {size}")
        report["recall"][size] = recall_at_10(homes[size] / "index", qs)
        serve = []
        for r in range(args.serve_rounds):
            log(f"serve {size} round {r + 1}/{args.serve_rounds}")
            serve.append(serve_round(size, homes[size], work, qpath, args.concurrency, r))
            log("  p50 ms " + ", ".join(f"{s} {pct(serve[-1][s]['wall_ms'], 50)}" for s in SYSTEMS))
        report["serve"][size] = serve
        save_json(report)
    largest = max(sizes)
    if args.million:
        log(f"{args.million:,} documents (real + synthetic) served by deflect")
        report["million"] = million(work, homes[largest], args.million, qs, qpath)
        m = report["million"]
        log(f"  {m['index']['params'].get('factory')} built in {m['build_s']} s, p50 {m['p50']} ms, "
            f"search p50 {m['search_ms']['p50']} ms, peak RSS {m['peak_after_gb']} GB, recall {m['recall_at_10']}")
        save_json(report)
    log("incremental updates")
    report["incremental"] = incremental(work, homes[largest], largest)
    ann = DOCS / "bench_ann.json"
    report["ann"] = json.loads(ann.read_text()) if ann.exists() else None
    report["loadavg_end"] = os.getloadavg()
    report["total_s"] = round(time.perf_counter() - started)
    save_json(report)
    write_doc(report)
    log(f"done in {report['total_s']} s")


def save_json(report: dict) -> None:
    (DOCS / "bench_speed.json").write_text(json.dumps(report, indent=1), encoding="utf-8")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10000,100000", help="corpus sizes (documents)")
    p.add_argument("--rounds", type=int, default=2, help="build rounds for sizes up to 20k")
    p.add_argument("--rounds-large", type=int, default=1, help="build rounds for larger sizes")
    p.add_argument("--serve-rounds", type=int, default=3)
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--million", type=int, default=1_000_000,
                   help="also serve a deflect index of this many documents (real + synthetic; 0: skip)")
    p.add_argument("--bare32", action=argparse.BooleanOptionalAction, default=True,
                   help="also time the bare model at its default batch size (smallest corpus)")
    p.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "deflect-bench-speed"))
    p.add_argument("--doc-only", action="store_true", help="rewrite the doc from docs/bench_speed.json")
    p.add_argument("--incremental-only", metavar="NOTE",
                   help="re-measure only the incremental updates on the largest corpus of the last run "
                        "(docs/bench_speed.json; NOTE says why, shown in the doc), then rewrite the doc")
    args = p.parse_args()
    if args.doc_only:
        write_doc(json.loads((DOCS / "bench_speed.json").read_text()))
        return
    if args.incremental_only:
        report = json.loads((DOCS / "bench_speed.json").read_text())
        largest = max(report["sizes"])
        home = Path(args.work) / f"corpus-{largest}"
        if not (home / "index" / "manifest.json").exists():
            raise SystemExit(f"no built corpus in {home}: run the full benchmark first")
        log(f"incremental updates on {largest:,} documents")
        report["incremental"] = {**incremental(Path(args.work), home, largest),
                                 "date": time.strftime("%Y-%m-%d %H:%M"), "note": args.incremental_only}
        save_json(report)
        write_doc(report)
        return
    main_run(args)


if __name__ == "__main__":
    main()
