#!/usr/bin/env python3
"""Typos: deflect and its peers on the shared/bench cases with one typo in each test question, in one run.

    .venv/bin/python -m scripts.bench_typos --seeds 3 4 --cases xquad_de xsid_de xsid_de-none --homes /tmp/bq

For every case and seed the case is built as ``scripts.bench_quality`` builds it (make_case.py, re-used from
``--homes``), deflect is calibrated on the clean dev.jsonl, and each test question gets one typo in its
longest word of at least six letters: a letter left out, two neighbours swapped or a letter typed twice, the
kind and the place drawn with the seed (questions without such a word stay as they are). deflect answers the
clean questions, the typed ones, and the typed ones with ``DEFLECT_TYPO_RESPELLING=off``; the peers of
bench_quality, with their thresholds from dev.jsonl, answer the clean and the typed ones. The table goes to
docs/benchmarks.md between the typos markers, the runs to docs/bench_typos.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import tempfile
import time
from pathlib import Path

from scripts.bench_quality import (
    CASES,
    Encoders,
    load_case,
    peer_run,
    peers_for,
    prepared_case,
    score_answers,
)
from scripts.common import DOCS, read_jsonl, replace_section, run_deflect

COLUMNS = ("top1", "deflected", "wrong_answer", "answered_uncovered")
_WORD = re.compile(r"[^\W\d_]+")


def with_typo(text: str, rng: random.Random) -> str:
    """``text`` with one typo in its longest word of at least six letters (unchanged without one)."""
    words = [w for w in _WORD.findall(text) if len(w) >= 6]
    if not words:
        return text
    word = max(words, key=len)
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("left out", "swapped", "doubled"))
    typed = {"left out": word[:i] + word[i + 1:], "swapped": word[:i] + word[i + 1] + word[i] + word[i + 2:],
             "doubled": word[:i] + word[i] + word[i:]}[kind]
    return text.replace(word, typed, 1)


def typed_case(case: Path, out: Path, seed: int) -> Path:
    """A copy of ``case`` whose test questions have a typo each (``with_typo``)."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(case, out)
    rng = random.Random(seed)
    rows = [r | {"text": with_typo(r["text"], rng)} for r in read_jsonl(case / "test.jsonl")]
    (out / "test.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return out


def answers(home: Path, questions: Path, env: dict[str, str] | None = None) -> dict[str, dict]:
    lines = run_deflect(["suggest", "--jsonl", "--no-log"], home, stdin=questions, env=env).splitlines()
    return {o["id"]: {"decision": o["decision"], "confidence": o["confidence"],
                      "articles": [a["id"] for a in o["articles"]]} for o in map(json.loads, lines)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[3, 4])
    p.add_argument("--cases", nargs="+", default=["xquad_de", "xsid_de", "xsid_de-none"], choices=list(CASES))
    p.add_argument("--no-peers", action="store_true")
    p.add_argument("--homes", type=Path, default=None, help="built cases and indexed homes to re-use (bench_quality's)")
    p.add_argument("--out", type=Path, default=DOCS / "benchmarks.md")
    p.add_argument("--json", type=Path, default=DOCS / "bench_typos.json")
    p.add_argument("--section", default="typos")
    args = p.parse_args()
    import torch
    torch.set_num_threads(2)
    vectors = Encoders()
    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="deflect-typos-") as tmp:
        for case_name in args.cases:
            for seed in args.seeds:
                case, clean, truth, covered = prepared_case(case_name, seed, args.homes or Path(tmp),
                                                            args.homes is not None)
                typed = typed_case(case, Path(tmp) / f"typed-{case_name}-{seed}", seed)
                built = (args.homes or Path(tmp)) / f"home-{case_name}-{seed}"
                if not (built / "index" / "manifest.json").exists():
                    run_deflect(["ingest", str(case / "articles"), str(case / "tickets.jsonl")], built)
                    run_deflect(["index", "--quiet"], built)
                home = Path(tmp) / f"home-{case_name}-{seed}"
                shutil.copytree(built, home)
                run_deflect(["calibrate", str(case / "dev.jsonl")], home)
                test = load_case(typed)
                rows = {"deflect": (answers(home, case / "test.jsonl"), answers(home, typed / "test.jsonl")),
                        "deflect, typo_respelling off": (None, answers(home, typed / "test.jsonl",
                                                                       {"DEFLECT_TYPO_RESPELLING": "off"}))}
                for system, (plain, with_typos) in rows.items():
                    m = {f"{k}_typos": v for k, v in score_answers(test["test"], with_typos).items()}
                    if plain is not None:
                        m |= score_answers(clean["test"], plain)
                    runs.setdefault(f"{case_name}|{system}", []).append(m)
                    print(case_name, seed, system, {k: round(v, 4) for k, v in m.items() if v is not None}, flush=True)
                if args.no_peers:
                    continue
                for label, system, name in peers_for(case_name):
                    m = peer_run(clean, system, vectors, name, truth, covered)
                    m |= {f"{k}_typos": v for k, v in peer_run(test, system, vectors, name, truth, covered).items()}
                    runs.setdefault(f"{case_name}|{label}", []).append(m)
                    print(case_name, seed, label, {k: m.get(k) for k in COLUMNS}, flush=True)
    write_report(runs, args)


def write_report(runs: dict[str, list[dict]], args) -> None:
    def mean(rows: list[dict], key: str) -> str:
        values = [r[key] for r in rows if r.get(key) is not None]
        return f"{sum(values) / len(values):.3f}" if values else "–"

    measured = time.strftime("%Y-%m-%d")
    args.json.write_text(json.dumps({"seeds": args.seeds, "measured": measured, "runs": runs}, indent=1))
    lines = [f"Measured {measured} by `scripts/bench_typos.py` on this machine ({os.cpu_count()} cores, "
             f"{platform.python_version()}); mean over seeds {', '.join(map(str, args.seeds))}. Each pair of columns: "
             "the test questions as written / with one typo each.", "",
             "| case | system | " + " | ".join(f"{k} / with typos" for k in COLUMNS) + " |",
             "|---|---|" + "---|" * len(COLUMNS)]
    for key, rows in runs.items():
        case, system = key.split("|", 1)
        cells = [f"{mean(rows, k)} / {mean(rows, k + '_typos')}" for k in COLUMNS]
        lines.append(f"| {case} | {'**' + system + '**' if system.startswith('deflect') else system} | "
                     + " | ".join(cells) + " |")
    replace_section(args.out, args.section, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
