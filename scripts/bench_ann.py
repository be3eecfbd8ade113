#!/usr/bin/env python
"""Benchmark deflect.index.ann.VectorIndex at serving scale (default 1M x 384-dim vectors).

Data: real all-MiniLM-L6-v2 embeddings of the banking77 and xSID texts in
/work/shared/bench/data (about 14.5k texts); a held-out sample of them are the queries,
the rest are "parents". The corpus is the parents plus synthetic vectors drawn near them
(parent + gaussian noise with per-vector sigma in [0.02, 0.05], re-normalised: cosine
to the parent 0.72-0.96, i.e. paraphrase-like clusters of ~70 vectors per parent).

Measures: build time of the "auto" index, file size, then in a FRESH subprocess (the
serving process): RSS after loading the index from disk (VmRSS and peak VmHWM), single-
query search latency p50/p99 with one faiss thread, recall@10 against exact FlatIP search;
finally the same process loads the embedding model (torch 1 thread) and reports RSS and
end-to-end embed+search latency for information. Writes docs/bench_ann.md and
docs/bench_ann.json.

    .venv/bin/python -m scripts.bench_ann            # ~5-10 min on 2 cores
    .venv/bin/python -m scripts.bench_ann --n 200000 # quicker
"""
from __future__ import annotations

import argparse
import csv
import glob
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import deflect.index.ann as ann
from scripts.common import DOCS, ROOT, packaged_minilm_path, pct
from scripts.machine import cpu_name, gb, proc_status_bytes

DATA = Path("/work/shared/bench/data")
TARGETS = {"rss_gb": 1.5, "p50_ms": 5.0, "recall_at_10": 0.95}
K = 10


def load_texts(data: Path) -> list[str]:
    """banking77 train+test and all xSID conll sentences, de-duplicated, in a fixed order."""
    texts: list[str] = []
    for name in ("train.csv", "test.csv"):
        with open(data / "banking77" / name, newline="", encoding="utf-8") as fh:
            texts += [row["text"].strip() for row in csv.DictReader(fh)]
    for name in sorted(glob.glob(str(data / "xsid_de" / "*.conll"))):
        with open(name, encoding="utf-8") as fh:
            texts += [line[len("# text = "):].strip() for line in fh if line.startswith("# text = ")]
    return list(dict.fromkeys(t for t in texts if t))


def embed_texts(texts: list[str], cache_dir: Path) -> np.ndarray:
    """MiniLM embeddings (normalised float32), cached on disk by content hash."""
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    cache = cache_dir / f"minilm_{key}.npy"
    if cache.exists():
        print(f"[bench] using cached embeddings {cache}", flush=True)
        return np.load(cache)
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(os.cpu_count() or 1)
    model = SentenceTransformer(packaged_minilm_path(), device="cpu")
    t = time.perf_counter()
    emb = model.encode(texts, batch_size=128, normalize_embeddings=True, convert_to_numpy=True)
    print(f"[bench] embedded {len(texts)} texts in {time.perf_counter() - t:.0f}s", flush=True)
    emb = np.ascontiguousarray(emb, dtype=np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(cache, emb)
    return emb


def synthesize(parents: np.ndarray, n: int, rng: np.random.Generator, lo: float, hi: float) -> np.ndarray:
    """``n`` vectors: the parents, then parent + N(0, sigma^2) noise re-normalised."""
    p, d = parents.shape
    x = np.empty((n, d), np.float32)
    x[: min(p, n)] = parents[:n]
    for start in range(p, n, 100_000):
        end = min(n, start + 100_000)
        v = parents[rng.integers(0, p, end - start)]
        sigma = rng.uniform(lo, hi, (end - start, 1)).astype(np.float32)
        v = v + sigma * rng.standard_normal((end - start, d), dtype=np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        x[start:end] = v
    return x


def serve(args: argparse.Namespace) -> None:
    """Child process: load the index like the server does and time single queries."""
    rss_base = proc_status_bytes("VmRSS")
    desc = json.loads(Path(args.desc).read_text())
    queries = np.load(args.queries)
    t = time.perf_counter()
    index = ann.VectorIndex.read(Path(args.serve), desc)
    load_s = time.perf_counter() - t
    out = {"load_s": round(load_s, 2), "rss_base_gb": gb(rss_base),
           "rss_gb": gb(proc_status_bytes("VmRSS")), "hwm_gb": gb(proc_status_bytes("VmHWM"))}
    ann.set_threads(1)
    for q in queries[:50]:  # warm-up
        index.search(q[None, :], K)
    lat = np.empty(len(queries))
    ids = np.empty((len(queries), K), np.int64)
    for i, q in enumerate(queries):
        t0 = time.perf_counter_ns()
        _, ids[i] = index.search(q[None, :], K)
        lat[i] = (time.perf_counter_ns() - t0) / 1e6
    t = time.perf_counter()
    index.search(queries, K)
    out.update(p50_ms=pct(lat, 50, 3), p99_ms=pct(lat, 99, 3),
               mean_ms=round(float(lat.mean()), 3),
               batch_qps_1thread=round(len(queries) / (time.perf_counter() - t), 1),
               rss_after_queries_gb=gb(proc_status_bytes("VmRSS")),
               hwm_after_queries_gb=gb(proc_status_bytes("VmHWM")))
    np.save(args.result_ids, ids)
    if args.texts:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(1)
        model = SentenceTransformer(packaged_minilm_path(), device="cpu")
        texts = json.loads(Path(args.texts).read_text())
        model.encode(texts[:10])
        e2e = []
        for text in texts:
            t0 = time.perf_counter_ns()
            vec = model.encode([text], normalize_embeddings=True, convert_to_numpy=True)
            index.search(vec, K)
            e2e.append((time.perf_counter_ns() - t0) / 1e6)
        out.update(with_model_rss_gb=gb(proc_status_bytes("VmRSS")), with_model_hwm_gb=gb(proc_status_bytes("VmHWM")),
                   e2e_p50_ms=pct(e2e, 50, 3), e2e_p99_ms=pct(e2e, 99, 3), e2e_queries=len(e2e))
    print(json.dumps(out))


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    hits = [len(set(f[f >= 0].tolist()) & set(t[t >= 0].tolist())) for f, t in zip(found, truth, strict=True)]
    return float(np.sum(hits) / np.sum(truth >= 0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="corpus size (default 1M)")
    ap.add_argument("--queries", type=int, default=1000, help="held-out real embeddings used as queries")
    ap.add_argument("--sigma", type=float, nargs=2, default=(0.02, 0.05), metavar=("LO", "HI"))
    ap.add_argument("--kind", default="auto")
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                    help="index parameter override, e.g. --param nprobe=48 (repeatable)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "deflect-bench-ann")
    ap.add_argument("--out-dir", type=Path, default=DOCS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--e2e", type=int, default=200, help="queries for the embed+search timing (0 = skip)")
    # internal: child process mode
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    ap.add_argument("--desc", help=argparse.SUPPRESS)
    ap.add_argument("--queries-file", help=argparse.SUPPRESS)
    ap.add_argument("--result-ids", help=argparse.SUPPRESS)
    ap.add_argument("--texts", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        args.queries = args.queries_file
        return serve(args)
    run(args)


def run(args: argparse.Namespace) -> None:
    t_start = time.perf_counter()
    params = {}
    for item in args.param:
        key, _, value = item.partition("=")
        params[key] = json.loads(value) if value[:1].isdigit() or value in ("true", "false") else value
    rng = np.random.default_rng(args.seed)
    texts = load_texts(args.data)
    real = embed_texts(texts, args.cache_dir)
    perm = rng.permutation(len(real))
    q_idx, p_idx = perm[: args.queries], perm[args.queries:]
    queries, parents = real[q_idx], real[p_idx]
    print(f"[bench] {len(real)} real embeddings: {len(queries)} queries, {len(parents)} parents", flush=True)

    t = time.perf_counter()
    x = synthesize(parents, args.n, rng, *args.sigma)
    ids = np.arange(len(x), dtype=np.int64)
    gen_s = time.perf_counter() - t

    ann.set_threads(os.cpu_count() or 1)
    t = time.perf_counter()
    exact = ann.VectorIndex.build(x, ids, "flat")
    _, truth = exact.search(queries, K)
    exact_s = time.perf_counter() - t
    del exact
    print(f"[bench] generated {len(x)} vectors in {gen_s:.0f}s, exact top-{K} in {exact_s:.0f}s", flush=True)

    t = time.perf_counter()
    index = ann.VectorIndex.build(x, ids, args.kind, **params)
    build_s = time.perf_counter() - t
    desc = index.describe()
    print(f"[bench] built {desc['kind']} index in {build_s:.0f}s: {desc['params']}", flush=True)

    # maintenance operations on the full index (multi-threaded, like the indexer)
    t = time.perf_counter()
    removed = index.remove(ids[:1000])
    remove_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    index.add(x[:1000], ids[:1000])  # re-insert (upsert path)
    add_ms = (time.perf_counter() - t) * 1000
    assert removed == 1000 and len(index) == len(x)
    desc = index.describe()

    args.cache_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-ann-", dir=args.cache_dir))
    path = work / "vectors.faiss"
    t = time.perf_counter()
    index.write(path)
    write_s = time.perf_counter() - t
    size = path.stat().st_size
    del index, x
    (work / "desc.json").write_text(json.dumps(desc))
    np.save(work / "queries.npy", queries)
    cmd = [sys.executable, "-m", "scripts.bench_ann", "--serve", str(path),
           "--desc", str(work / "desc.json"), "--queries-file", str(work / "queries.npy"),
           "--result-ids", str(work / "ids.npy")]
    if args.e2e:
        (work / "texts.json").write_text(json.dumps([texts[i] for i in q_idx[: args.e2e]]))
        cmd += ["--texts", str(work / "texts.json")]
    print("[bench] serving process: loading index and timing queries", flush=True)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"serving subprocess failed ({proc.returncode})")
    served = json.loads(proc.stdout.strip().splitlines()[-1])
    found = np.load(work / "ids.npy")
    recall = recall_at_k(found, truth)
    for name in ("vectors.faiss", "desc.json", "queries.npy", "ids.npy", "texts.json"):
        (work / name).unlink(missing_ok=True)
    work.rmdir()

    rss_peak = max(served["hwm_gb"], served["hwm_after_queries_gb"])
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "cpu": cpu_name(), "python": platform.python_version(),
                    "faiss": ann.faiss.__version__, "numpy": np.__version__,
                    "loadavg_end": [round(v, 2) for v in os.getloadavg()]},
        "data": {"n": len(ids), "dim": int(queries.shape[1]), "real_texts": len(real),
                 "parents": len(parents), "queries": len(queries), "sigma": list(args.sigma),
                 "seed": args.seed},
        "index": desc,
        "build_s": round(build_s, 1), "write_s": round(write_s, 1), "file_gb": gb(size),
        "remove_1k_ms": round(remove_ms, 1), "upsert_1k_ms": round(add_ms, 1),
        "serve": served,
        "recall_at_10": round(recall, 4),
        "targets": TARGETS,
        "pass": {"rss": rss_peak <= TARGETS["rss_gb"], "p50": served["p50_ms"] <= TARGETS["p50_ms"],
                 "recall": recall >= TARGETS["recall_at_10"]},
        "total_s": round(time.perf_counter() - t_start, 1),
    }
    md = to_markdown(result)
    print(md)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "bench_ann.md").write_text(md)
    (args.out_dir / "bench_ann.json").write_text(json.dumps(result, indent=2) + "\n")
    if not all(result["pass"].values()):
        raise SystemExit("[bench] a target was missed: " + json.dumps(result["pass"]))


def to_markdown(r: dict) -> str:
    s, idx, p = r["serve"], r["index"], r["index"]["params"]
    ok = {True: "yes", False: "**NO**"}
    rss_peak = max(s["hwm_gb"], s["hwm_after_queries_gb"])
    shown = {k: v for k, v in p.items() if k not in ("requested",)}
    lines = [
        "# Vector index benchmark (`scripts/bench_ann.py`)",
        "",
        f"{r['date']} - {r['machine']['cpus']} CPUs ({r['machine']['cpu']}), faiss {r['machine']['faiss']}, "
        f"numpy {r['machine']['numpy']}, Python {r['machine']['python']}; "
        f"load average at the end {r['machine']['loadavg_end']} (machine shared with other jobs).",
        "",
        f"Corpus: {r['data']['n']:,} x {r['data']['dim']} vectors = {r['data']['parents']:,} real "
        "all-MiniLM-L6-v2 embeddings (banking77 + xSID texts) + synthetic neighbours "
        f"(parent + N(0, sigma^2), sigma in {r['data']['sigma']}, re-normalised). "
        f"Queries: {r['data']['queries']} held-out real embeddings, k = {K}.",
        "",
        f"Index: `{idx['kind']}` chosen by `{p.get('requested')}` - `{p.get('factory')}`; parameters: "
        f"`{json.dumps(shown)}`.",
        "",
        "| metric | value | target | met |",
        "|---|---:|---:|:---:|",
        f"| build time (train + add, {r['machine']['cpus']} threads) | {r['build_s']:.1f} s | | |",
        f"| write time / file size | {r['write_s']:.1f} s / {r['file_gb']:.3f} GB | | |",
        f"| remove 1k ids / upsert 1k vectors | {r['remove_1k_ms']:.0f} ms / "
        f"{r['upsert_1k_ms']:.0f} ms | | |",
        f"| serving process: load time | {s['load_s']:.1f} s | | |",
        f"| serving process RSS before load (python + numpy + faiss) | {s['rss_base_gb']:.3f} GB | | |",
        f"| serving process RSS after load (VmRSS) | {s['rss_gb']:.3f} GB | | |",
        f"| serving process peak RSS (VmHWM, load + {r['data']['queries']} queries) | {rss_peak:.3f} GB "
        f"| <= {TARGETS['rss_gb']} GB | {ok[r['pass']['rss']]} |",
        f"| single-query search p50 (1 thread) | {s['p50_ms']:.2f} ms | <= {TARGETS['p50_ms']} ms "
        f"| {ok[r['pass']['p50']]} |",
        f"| single-query search p99 (1 thread) | {s['p99_ms']:.2f} ms | | |",
        f"| batch search throughput (1 thread) | {s['batch_qps_1thread']:.0f} q/s | | |",
        f"| recall@10 vs exact FlatIP | {r['recall_at_10']:.4f} | >= {TARGETS['recall_at_10']} "
        f"| {ok[r['pass']['recall']]} |",
    ]
    if "with_model_rss_gb" in s:
        lines += [
            f"| (info) RSS with the MiniLM model also loaded (torch) | {s['with_model_rss_gb']:.3f} GB "
            f"(peak {s['with_model_hwm_gb']:.3f} GB) | | |",
            f"| (info) embed + search p50 / p99, 1 thread, {s['e2e_queries']} texts | "
            f"{s['e2e_p50_ms']:.1f} / {s['e2e_p99_ms']:.1f} ms | | |",
        ]
    lines += ["", f"Total benchmark wall time: {r['total_s']:.0f} s.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
