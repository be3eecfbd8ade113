#!/usr/bin/env python3
"""Quality benchmark: deflect and its peers on the shared/bench cases, in one run, same machine.

    .venv/bin/python -m scripts.bench_quality                 # seeds 0-2, all cases, writes docs/
    .venv/bin/python -m scripts.bench_quality --seeds 0 --cases xsid_de --no-peers
    .venv/bin/python -m scripts.bench_quality --seeds 3 4 5 --cases xsid_de xsid_de-en \
        --section quality-more-seeds --json docs/bench_quality_more_seeds.json   # beyond the target seeds
    .venv/bin/python -m scripts.bench_quality --seeds 0 --cases xquad_de --no-peers --homes /tmp/bq  # re-use

For every case and seed it builds the case with ``../shared/bench/make_case.py``, drives deflect
through its CLI exactly as a user would (ingest, index, calibrate on dev.jsonl, suggest --jsonl on
test.jsonl, gaps --format json), and runs the peers from shared/bench/README.md on the same files:
BM25, dense MiniLM with one vector per article, kNN MiniLM and kNN USE (nearest neighbours over
article titles/questions and linked tickets). Peers use the README's threshold rule (maximise right
minus wrong answers on dev.jsonl) and cluster the test inquiries they would not answer as their gap
report. truth.jsonl is read only here, for scoring. The table goes to docs/benchmarks.md between
the quality markers, the raw numbers to docs/bench_quality.json.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from deflect.embedder import canonical_name
from deflect.index.files import read_manifest
from scripts.common import DOCS, make_case, read_jsonl, replace_section, run_deflect
from scripts.score_gaps import score_gap_report, slug

CASES = {"banking77": ("banking77", []), "xsid_de": ("xsid_de", []), "xsid_de-en": ("xsid_de", ["--queries", "en"]),
         # a help center's first day (no tickets), and a ticket export that names no article
         "banking77-none": ("banking77", ["--history", "none"]),
         "banking77-unlinked": ("banking77", ["--history", "unlinked"]),
         "xsid_de-none": ("xsid_de", ["--history", "none"]),
         "xsid_de-unlinked": ("xsid_de", ["--history", "unlinked"]),
         # articles with real answer bodies, no question variants, no tickets; asked in German and English
         "xquad_de": ("xquad_de", []), "xquad_de-en": ("xquad_de", ["--queries", "en"])}
DENSE_PEER_SKIPPED = {"xsid_de", "xsid_de-en"}   # cases whose dense peer the shared README does not list
METRICS = ("top1", "top3", "mrr", "auroc", "deflected", "wrong_answer", "answered_uncovered",
           "topic_recall", "false_gaps", "purity", "topics_per_gap")
TARGETS = {  # from the engine and gap-report issues: (metric, op, value)
    "banking77": [("top1", ">=", 0.93), ("auroc", ">=", 0.92), ("deflected", ">=", 0.80),
                  ("answered_uncovered", "<=", 0.05), ("topic_recall", ">=", 0.9), ("false_gaps", "<=", 3),
                  ("purity", ">=", 0.85)],
    "xsid_de": [("top1", ">=", 0.90), ("auroc", ">=", 0.92), ("topic_recall", ">=", 0.9), ("false_gaps", "<=", 1)],
    "xsid_de-en": [("top1", ">=", 0.88)],
}
# The new case kinds (issue 23): fixed bounds here, and against the best peer of the same run (PEER_TARGETS).
NEW_CASE_TARGETS = [("wrong_answer", "<=", 0.05), ("answered_uncovered", "<=", 0.10), ("topics_per_gap", "<=", 1.3),
                    ("false_gaps", "<=", 3)]
TARGETS |= {c: NEW_CASE_TARGETS for c in ("banking77-none", "banking77-unlinked", "xsid_de-none", "xsid_de-unlinked",
                                          "xquad_de", "xquad_de-en")}
PEER_TARGETS = {"top1": 0.02, "deflected": 0.0}   # at least the best peer's value plus this
# "deflected at least the best peer's, with wrong_answer <= 0.05" reads two ways: the best peer whatever its wrong
# answers (the "targets" column), or the best of the peers whose wrong answers stay within the bound (the next
# column; no deflection target where no peer does). Both are shown until the owner says which counts.
# The bounds issue 23 puts on sending customers the wrong way. ``deflected_at_bounds``: the most any threshold on
# a system's confidence deflects within them, read on the test rows themselves -- what its evidence allows
# whatever rule picks the threshold (an upper bound, not a figure a deployment gets).
BOUNDS = {"wrong_answer": 0.05, "answered_uncovered": 0.10}
NEW_CASE_TARGETS_CASES = {c for c, t in TARGETS.items() if t is NEW_CASE_TARGETS}
# issue 24: one report topic per real question on every case, the existing ones too
TARGETS = {c: t if ("topics_per_gap", "<=", 1.3) in t else t + [("topics_per_gap", "<=", 1.3)]
           for c, t in TARGETS.items()}


# -- scoring -----------------------------------------------------------------------------------
def score_answers(test: list[dict], results: dict[str, dict]) -> dict:
    """Ranking and decision metrics from per-inquiry results {decision, confidence, articles: [ids]}."""
    from deflect.decision.evaluate import auroc

    cov = np.array([r["expected_article"] is not None for r in test])
    ranks, answered, conf = [], [], []
    for r in test:
        res = results[r["id"]]
        ids = res["articles"]
        ranks.append(ids.index(r["expected_article"]) + 1 if r["expected_article"] in ids else 0)
        answered.append(res["decision"] == "answer")
        conf.append(res["confidence"])
    ranks, answered, conf = np.array(ranks), np.array(answered), np.array(conf)
    first = ranks == 1
    return {
        "top1": float(first[cov].mean()), "top3": float(((ranks >= 1) & (ranks <= 3))[cov].mean()),
        "mrr": float(np.where(ranks[cov] > 0, 1 / np.maximum(ranks[cov], 1), 0).mean()),
        "auroc": auroc(conf, cov),
        "deflected": float((answered & first)[cov].mean()),
        "wrong_answer": float((answered & ~first)[cov].mean()),
        "answered_uncovered": float(answered[~cov].mean()),
        "deflected_at_bounds": deflected_at_bounds(conf, first, cov),
    }


def deflected_at_bounds(conf: np.ndarray, first: np.ndarray, cov: np.ndarray) -> float:
    """The highest deflected rate over all thresholds on ``conf`` (answer when conf >= threshold) at which
    wrong_answer and answered_uncovered stay within ``BOUNDS``; ``first``: the right article ranked first,
    ``cov``: the inquiry has an article."""
    order = np.argsort(-conf, kind="stable")
    c, f, k = conf[order], first[order], cov[order]
    right = np.cumsum(f & k) / max(int(cov.sum()), 1)
    wrong = np.cumsum(~f & k) / max(int(cov.sum()), 1)
    uncovered = np.cumsum(~k) / max(int((~cov).sum()), 1)
    last = np.r_[c[1:] != c[:-1], True]   # a threshold answers every inquiry with the same confidence alike
    ok = last & (wrong <= BOUNDS["wrong_answer"]) & (uncovered <= BOUNDS["answered_uncovered"])
    return float(right[ok].max()) if ok.any() else 0.0


def score_gaps(report: dict, truth: dict[str, str], covered_topics: set[str]) -> dict:
    s = score_gap_report(report, truth, covered_topics)
    return {k: s[k] for k in ("topic_recall", "false_gaps", "purity", "topics_per_gap") if k in s}


# -- peers --------------------------------------------------------------------------------------
def load_case(case: Path) -> dict:
    import frontmatter
    articles = []
    for p in sorted((case / "articles").glob("*.md")):
        post = frontmatter.load(p)
        articles.append({"id": str(post.metadata["id"]), "title": str(post.metadata["title"]),
                         "questions": post.metadata.get("questions") or [], "body": post.content.strip()})
    return {"articles": articles, "tickets": read_jsonl(case / "tickets.jsonl"),
            "dev": read_jsonl(case / "dev.jsonl"), "test": read_jsonl(case / "test.jsonl")}


def prepared_case(case_name: str, seed: int, folder: Path, reuse: bool) -> tuple[Path, dict, dict[str, str], set[str]]:
    """The case's folder under ``folder`` (made by make_case.py unless ``reuse`` finds it there), its files
    (``load_case``), the truth (test id -> topic) and the topics an article covers."""
    dataset, extra = CASES[case_name]
    case = folder / f"{case_name}-{seed}"
    if not reuse or not (case / "test.jsonl").exists():
        make_case(dataset, case, seed, extra)
    truth = {r["id"]: r["topic"] for r in read_jsonl(case / "truth.jsonl")}
    data = load_case(case)
    article_ids = {a["id"] for a in data["articles"]}
    return case, data, truth, {t for t in set(truth.values()) if slug(t) in article_ids}


class Encoders:
    def __init__(self):
        self._models = {}

    def __call__(self, name: str, texts: list[str]) -> np.ndarray:
        from deflect.embedder import load_embedder
        if name not in self._models:
            self._models[name] = load_embedder(name)
        return self._models[name].encode(texts)


def article_text(a: dict) -> str:
    """An article as one text for the peers that see articles whole: title, questions, body."""
    return " ".join([a["title"], *a["questions"], a["body"]])


def knn_system(data: dict, vectors, name: str):
    """Nearest neighbours over titles/questions, title + body, and linked tickets; score = best
    similarity per article."""
    texts, labels = [], []
    for a in data["articles"]:
        for t in [a["title"], *a["questions"], *([f"{a['title']} {a['body']}"] if a["body"] else [])]:
            texts.append(t)
            labels.append(a["id"])
    for t in data["tickets"]:
        if t["article_id"]:
            texts.append(t["subject"])
            labels.append(t["article_id"])
    pool = vectors(name, texts)
    labels = np.array(labels)
    ids = [a["id"] for a in data["articles"]]

    def predict(queries: list[str]):
        q = vectors(name, queries)
        sims = q @ pool.T
        out = []
        for row in sims:
            best = {}
            for j in np.argsort(-row)[:50]:
                best.setdefault(labels[j], float(row[j]))
            ranked = sorted(best, key=best.get, reverse=True)
            ranked += [i for i in ids if i not in best]
            out.append((ranked[:3], best[ranked[0]]))
        return out, q
    return predict


def dense_system(data: dict, vectors, name: str):
    """One vector per article (title + questions + body), cosine similarity."""
    ids = [a["id"] for a in data["articles"]]
    docs = vectors(name, [article_text(a) for a in data["articles"]])

    def predict(queries: list[str]):
        q = vectors(name, queries)
        sims = q @ docs.T
        return [([ids[j] for j in np.argsort(-row)[:3]], float(row.max())) for row in sims], q
    return predict


def bm25_system(data: dict, vectors, name: str):
    from rank_bm25 import BM25Okapi
    tok = re.compile(r"\w+")
    ids = [a["id"] for a in data["articles"]]
    corpus = [tok.findall(article_text(a).lower()) for a in data["articles"]]
    bm25 = BM25Okapi(corpus)

    def predict(queries: list[str]):
        out = []
        for text in queries:
            s = bm25.get_scores(tok.findall(text.lower()))
            out.append(([ids[j] for j in np.argsort(-s)[:3]], float(s.max())))
        return out, vectors("minilm", queries)
    return predict


PEERS = [("BM25 (rank_bm25)", bm25_system, "minilm"), ("dense MiniLM, one vector per article", dense_system, "minilm"),
         ("knn MiniLM", knn_system, "minilm"), ("knn USE", knn_system, "use-m3")]


def peers_for(case_name: str) -> list[tuple]:
    """The peers (label, system, encoder name) that run on a case."""
    return [p for p in PEERS if not (case_name in DENSE_PEER_SKIPPED and p[0].startswith("dense"))]


def peer_run(data: dict, system, vectors, name: str, truth, covered_topics) -> dict:
    predict = system(data, vectors, name)
    dev_pred, _ = predict([r["text"] for r in data["dev"]])
    scores = np.array([c for _, c in dev_pred])
    right = np.array([r["expected_article"] is not None and p[0] == r["expected_article"]
                      for r, (p, _) in zip(data["dev"], dev_pred)])
    best_t, best_u = np.inf, 0
    for t in np.unique(scores):
        u = np.sum((scores >= t) & right) - np.sum((scores >= t) & ~right)
        if u > best_u:
            best_t, best_u = t, u
    test_pred, q = predict([r["text"] for r in data["test"]])
    results = {r["id"]: {"decision": "answer" if c >= best_t else "no_answer", "confidence": c, "articles": p}
               for r, (p, c) in zip(data["test"], test_pred)}
    metrics = score_answers(data["test"], results)
    rejected = [i for i, r in enumerate(data["test"]) if results[r["id"]]["decision"] == "no_answer"]
    report = {"topics": []}
    if len(rejected) >= 2:
        from sklearn.cluster import AgglomerativeClustering
        qv = vectors("minilm" if name == "minilm" else name, [data["test"][i]["text"] for i in rejected])
        clusters = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                           distance_threshold=0.6).fit_predict(qv)
        for c in np.unique(clusters):
            members = [{"source": "inquiry", "id": data["test"][rejected[i]]["id"]}
                       for i in np.flatnonzero(clusters == c)]
            report["topics"].append({"id": f"P{c}", "size": len(members), "members": members})
    metrics.update(score_gaps(report, truth, covered_topics))
    return metrics


# -- deflect ------------------------------------------------------------------------------------
def deflect_run(case: Path, home: Path, built: Path | None = None) -> tuple[dict, dict]:
    """``built``: a home of this case kept from an earlier run, ingested and indexed (made here if
    missing); the run works on a fresh copy of it, so its inquiry log and calibration start empty."""
    timings = {}
    t0 = time.perf_counter()
    wanted = os.environ.get("DEFLECT_MODEL")   # a model named in the environment builds the index too
    # "auto": chosen per help center from the case's labelled file (dev.jsonl) and linked tickets
    choose = ["--labelled", str(case / "dev.jsonl")] if wanted == "auto" else []
    if built is None or not (built / "index" / "manifest.json").exists():
        run_deflect(["ingest", str(case / "articles"), str(case / "tickets.jsonl")], built or home)
        run_deflect(["index", "--quiet", *(["--model", wanted, *choose] if wanted else [])], built or home)
    built_with = read_manifest((built or home) / "index")["model"]
    if wanted and not choose and canonical_name(wanted) != built_with:
        raise SystemExit(f"{built or home} was indexed with {built_with}, not DEFLECT_MODEL={wanted}: "
                         "remove it or use another --homes folder")
    if built is not None:
        shutil.copytree(built, home)
    timings["index_s"] = time.perf_counter() - t0
    calibrated = run_deflect(["calibrate", str(case / "dev.jsonl")], home)
    parts = next((line.split(": ", 1)[1] for line in calibrated.splitlines() if line.startswith("model parts: ")),
                 None)   # the shares of the model's parts it learnt (said in the log)
    words = next((line.split(": ", 1)[1] for line in calibrated.splitlines() if line.startswith("word match: ")),
                 None)   # the word-match weights it learnt
    t0 = time.perf_counter()
    lines = run_deflect(["suggest", "--jsonl"], home, stdin=case / "test.jsonl").splitlines()
    timings["suggest_s"] = time.perf_counter() - t0
    results = {}
    for line in lines:
        obj = json.loads(line)
        results[obj["id"]] = {"decision": obj["decision"], "confidence": obj["confidence"],
                              "articles": [a["id"] for a in obj["articles"]]}
    t0 = time.perf_counter()
    report = json.loads(run_deflect(["gaps", "--format", "json"], home))
    timings["gaps_s"] = time.perf_counter() - t0
    return results, report | {"_timings": timings, "_model_parts": parts, "_word_match": words, "_model": built_with}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    p.add_argument("--no-peers", action="store_true")
    p.add_argument("--out", type=Path, default=DOCS / "benchmarks.md")
    p.add_argument("--json", type=Path, default=DOCS / "bench_quality.json")
    p.add_argument("--section", default="quality",
                   help="the section of --out to replace (another name for runs outside the target seeds)")
    p.add_argument("--homes", type=Path, default=None,
                   help="keep the built cases and their indexed homes here and re-use them in later runs "
                        "(each run calibrates a fresh copy; its index_s is then the copy's time)")
    p.add_argument("--bounds-section", default=None,
                   help="also write this section of --out: each system's deflection against the most any threshold "
                        "deflects within the issue's bounds on wrong answers (deflected_at_bounds)")
    p.add_argument("--render", action="store_true",
                   help="write the section again from the runs in --json (no new run; e.g. after the targets changed)")
    p.add_argument("--measured", default=None, help="with --render: the day the runs were made (YYYY-MM-DD), "
                                                     "where --json does not say")
    args = p.parse_args()
    if args.render:
        runs = json.loads(args.json.read_text())
        args.seeds = runs["seeds"]
        args.measured = runs.get("measured") or args.measured
        if args.measured is None:
            p.error("--render: the JSON does not say when its runs were made; give --measured YYYY-MM-DD")
        write_report({tuple(k.split("|", 1)): rs for k, rs in runs["runs"].items()}, args)
        return
    import torch
    torch.set_num_threads(2)
    vectors = Encoders()
    rows: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="deflect-bench-") as tmp:
        for case_name in args.cases:
            for seed in args.seeds:
                case, data, truth, covered_topics = prepared_case(case_name, seed, args.homes or Path(tmp),
                                                                  args.homes is not None)
                results, report = deflect_run(case, Path(tmp) / f"home-{case_name}-{seed}",
                                              args.homes / f"home-{case_name}-{seed}" if args.homes else None)
                m = score_answers(data["test"], results) | score_gaps(report, truth, covered_topics)
                m |= {k: round(v, 1) for k, v in report["_timings"].items()} | {
                    "model": report["_model"], "model_parts": report["_model_parts"],
                    "word_match": report["_word_match"]}
                rows.setdefault((case_name, "deflect"), []).append(m)
                print(case_name, seed, "deflect", {k: m.get(k) for k in METRICS}, m["model"], m["model_parts"],
                      m["word_match"], flush=True)
                if args.no_peers:
                    continue
                for label, system, name in peers_for(case_name):
                    pm = peer_run(data, system, vectors, name, truth, covered_topics)
                    rows.setdefault((case_name, label), []).append(pm)
                    print(case_name, seed, label, {k: pm.get(k) for k in METRICS}, flush=True)
    write_report(rows, args)


def _settings_note() -> str:
    """The deflect settings this run changed from their defaults (through the environment)."""
    changed = sorted(f"`{k}={v}`" for k, v in os.environ.items() if k.startswith("DEFLECT_") and k != "DEFLECT_BENCH")
    return ", ".join(changed) if changed else "the defaults"


def _mean(values: list) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def verdict(m: dict, case: str, peers: list[dict], within_bound: bool) -> str:
    """"met" or "MISSED: ..." for deflect's mean figures ``m`` on ``case``, against the issues' fixed targets and,
    on the new case kinds, the best of ``peers`` (``within_bound``: of those with wrong_answer within the bound)."""
    targets = list(TARGETS[case])
    if case in NEW_CASE_TARGETS_CASES and peers:
        for k, extra in PEER_TARGETS.items():
            pool = [p for p in peers if p[k] is not None and not (
                within_bound and k == "deflected" and p["wrong_answer"] > BOUNDS["wrong_answer"])]
            if pool:
                targets.append((k, ">=", round(max(p[k] for p in pool) + extra, 3)))
    # topics_per_gap is undefined when no report topic holds an uncovered question: nothing to split
    unmeasured = [k for k, _, _ in targets if k == "topics_per_gap" and m.get(k) is None]
    missed = [f"{k} {op} {t}" for k, op, t in targets if k not in unmeasured
              and (m.get(k) is None or not (m[k] >= t if op == ">=" else m[k] <= t))]
    return ("met" if not missed else "MISSED: " + ", ".join(missed)) + \
        "".join(f" ({k}: no gap topic)" for k in unmeasured)


def write_report(rows: dict, args) -> None:
    import platform
    summary = {f"{c}|{s}": {k: _mean([r.get(k) for r in rs])
                            for k in METRICS + ("deflected_at_bounds", "index_s", "suggest_s", "gaps_s")}
               for (c, s), rs in rows.items()}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    measured = getattr(args, "measured", None) or time.strftime("%Y-%m-%d")
    args.json.write_text(json.dumps({"seeds": args.seeds, "measured": measured, "summary": summary,
                                     "runs": {f"{c}|{s}": rs for (c, s), rs in rows.items()}}, indent=1))
    lines = [f"Measured {measured} by `scripts/bench_quality.py` on this machine "
             f"({os.cpu_count()} cores, {platform.python_version()}); mean over seeds "
             f"{', '.join(map(str, args.seeds))}. Targets from the issues in the last two columns (met / MISSED): "
             "against the best peer whatever its wrong answers, and against the best of the peers whose wrong "
             "answers stay within the bound (no deflection target where none does). "
             f"deflect's settings: {_settings_note()}.", "",
             "| case | system | " + " | ".join(METRICS) + " | targets | targets, best peer within wrong_answer <= "
             f"{BOUNDS['wrong_answer']} |",
             "|---|---|" + "---|" * len(METRICS) + "---|---|"]
    for c, s in rows:
        m = summary[f"{c}|{s}"]
        cells = []
        for k in METRICS:
            v = m[k]
            cells.append("–" if v is None else (f"{v:.1f}" if k == "false_gaps" else f"{v:.3f}"))
        verdicts = ["", ""]
        if s == "deflect" and c in TARGETS:
            peers = [summary[f"{pc}|{ps}"] for pc, ps in rows if pc == c and ps != "deflect"]
            verdicts = [verdict(m, c, peers, within_bound) for within_bound in (False, True)]
            if c not in NEW_CASE_TARGETS_CASES:
                verdicts[1] = ""
        elif s == "deflect":
            verdicts = ["–", ""]
        lines.append(f"| {c} | {'**deflect**' if s == 'deflect' else s} | " + " | ".join(cells)
                     + f" | {verdicts[0]} | {verdicts[1]} |")
    block = "\n".join(lines)
    replace_section(args.out, args.section, block)
    print(block)
    if args.bounds_section:
        bounds = " and ".join(f"{k} <= {v}" for k, v in BOUNDS.items())
        table = [f"Measured {measured} by `scripts/bench_quality.py`, the runs of `{args.json}`; mean "
                 f"over seeds {', '.join(map(str, args.seeds))}. Last column: the most any threshold on the system's "
                 f"confidence deflects with {bounds}, read on the test rows (an upper bound for any way to pick "
                 "the threshold).", "",
                 "| case | system | deflected | wrong_answer | answered_uncovered "
                 "| deflected within the bounds, best threshold |",
                 "|---|---|---|---|---|---|"]
        for c, s in rows:
            m = summary[f"{c}|{s}"]
            cells = ["–" if m.get(k) is None else f"{m[k]:.3f}"
                     for k in ("deflected", "wrong_answer", "answered_uncovered", "deflected_at_bounds")]
            table.append(f"| {c} | {'**deflect**' if s == 'deflect' else s} | " + " | ".join(cells) + " |")
        replace_section(args.out, args.bounds_section, "\n".join(table))
        print("\n".join(table))


if __name__ == "__main__":
    main()
