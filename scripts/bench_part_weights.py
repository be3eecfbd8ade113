#!/usr/bin/env python3
"""CPU per inquiry with the model parts' learnt shares against equal shares, on the demo help center.

    .venv/bin/python -m scripts.bench_part_weights            # writes docs/benchmarks.md "part-weights-cpu"

Builds a home from faq_articles/ (German articles, a few English ones, the ticket history) with the
default model, calibrates it as `deflect calibrate` does without a file (the parts' shares per query
language are learnt first, ``deflect.decision.part_choice``), then answers the demo tickets' German
texts and the English questions of scripts/demo_crosslingual.jsonl one at a time (as live requests
come), once with the learnt shares and once with equal shares, and reports the process CPU time per
inquiry (one torch thread) and the share of inquiries whose first article stayed the same; and the
German tickets once more with MiniLM left out (shares use-m3 1, minilm 0 set by hand): what a part
with share 0 saves per inquiry.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from scripts.common import DOCS, ROOT, demo_engine, read_jsonl, replace_section


def cpu_per_query(engine, texts: list[str], rounds: int) -> tuple[float, list[str | None]]:
    """Mean process CPU ms per ``suggest`` (after one warm-up) and the first article of each."""
    firsts = [(s.articles[0].id if s.articles else None) for s in (engine.suggest(t) for t in texts)]
    t0 = time.process_time()
    for _ in range(rounds):
        for text in texts:
            engine.suggest(text)
    return (time.process_time() - t0) * 1000 / (rounds * len(texts)), firsts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--queries", type=int, default=60, help="German tickets asked")
    p.add_argument("--out", type=Path, default=DOCS / "benchmarks.md")
    args = p.parse_args()
    from deflect.embedder import set_threads

    set_threads(1)
    faq = ROOT / "faq_articles"
    german = [r["body"][:300] for r in read_jsonl(faq / "tickets" / "tickets.jsonl") if r.get("language") == "de"]
    german = list(dict.fromkeys(german))[:args.queries]
    english = [r["text"] for r in read_jsonl(ROOT / "scripts" / "demo_crosslingual.jsonl")]
    with tempfile.TemporaryDirectory(prefix="deflect-part-weights-") as tmp:
        engine, report = demo_engine(Path(tmp))
        learnt = engine.calibrator.part_weights_
        rows = []
        for name, texts in (("German tickets (first 300 characters)", german), ("English questions", english)):
            ms_learnt, firsts_learnt = cpu_per_query(engine, texts, args.rounds)
            engine.calibrator.part_weights_ = None
            ms_equal, firsts_equal = cpu_per_query(engine, texts, args.rounds)
            engine.calibrator.part_weights_ = learnt
            same = float(np.mean([a == b for a, b in zip(firsts_learnt, firsts_equal, strict=True)]))
            rows.append((name, len(texts), ms_equal, ms_learnt, same))
            print(name, len(texts), round(ms_equal, 1), round(ms_learnt, 1), round(same, 3), flush=True)
        # what a part left out saves, whatever was learnt here: German questions with use-m3 alone
        engine.calibrator.part_weights_ = {"de": (1.0, 0.0)}
        ms_alone, firsts_alone = cpu_per_query(engine, german, args.rounds)
        engine.calibrator.part_weights_ = None
        ms_equal, firsts_equal = cpu_per_query(engine, german, args.rounds)
        same = float(np.mean([a == b for a, b in zip(firsts_alone, firsts_equal, strict=True)]))
        rows.append(("German tickets, use-m3 alone (shares set, not learnt)", len(german), ms_equal, ms_alone, same))
        print(rows[-1], flush=True)
        engine.close()
    shares = json.dumps({k: list(v) for k, v in (learnt or {}).items()})
    lines = [f"Measured {time.strftime('%Y-%m-%d')} by `scripts/bench_part_weights.py` ({os.cpu_count()} cores, "
             f"one torch thread, load average {os.getloadavg()[0]:.1f} at the end); demo help center "
             f"(faq_articles/, default model `use-m3+minilm`), calibrated from its ticket history. Learnt "
             f"shares (use-m3, minilm) per query language: `{shares}` "
             f"({json.dumps(report.get('part_weights', {}), ensure_ascii=False)}).", "",
             "| inquiries | n | CPU ms per inquiry, equal shares | CPU ms, learnt (or set) shares "
             "| same first article |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| {name} | {n} | {eq:.1f} | {lt:.1f} | {same:.3f} |" for name, n, eq, lt, same in rows]
    replace_section(args.out, "part-weights-cpu", "\n".join(lines))


if __name__ == "__main__":
    main()
