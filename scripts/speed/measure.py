"""The speed benchmark's measurements driven from the main process: latency rounds of the three
systems, recall of deflect's index against exact search, and a deflect index of a million documents."""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from scripts.common import pct
from scripts.speed.workers import SYSTEMS, Server, target


def serve_round(size: int, home: Path, work: Path, qpath: Path, concurrency: int, shift: int) -> dict:
    """Latency of the three systems with the inquiries interleaved one by one (background load hits
    them alike): first one process per system, one inquiry at a time; then ``concurrency`` processes
    of a system answering different inquiries at the same moment."""
    qs = json.loads(qpath.read_text(encoding="utf-8"))
    servers = {s: [Server(system=s, home=home, target=target(work, home, s), queries_file=qpath)
                   for _ in range(concurrency)] for s in SYSTEMS}
    for group in servers.values():
        for server in group:
            server.ready()
    single = {s: [] for s in SYSTEMS}
    together = {s: [] for s in SYSTEMS}
    for i, q in enumerate(qs):
        k = (i + shift) % 3
        for s in SYSTEMS[k:] + SYSTEMS[:k]:
            servers[s][0].send(q)
            single[s].append(servers[s][0].receive())
    for i in range(len(qs)):
        k = (i + shift) % 3
        for s in SYSTEMS[k:] + SYSTEMS[:k]:
            for j, server in enumerate(servers[s]):
                server.send(qs[(i + j * len(qs) // concurrency) % len(qs)])
            together[s] += [server.receive() for server in servers[s]]
    out = {}
    for s in SYSTEMS:
        finals = [server.close() for server in servers[s]]
        out[s] = {"wall_ms": [x["wall_ms"] for x in single[s]], "cpu_ms": [x["cpu_ms"] for x in single[s]],
                  "c_wall_ms": [x["wall_ms"] for x in together[s]], **finals[0],
                  "loadavg": os.getloadavg()[0]}
    return out


def recall_at_10(index_dir: Path, query_texts: list[str]) -> dict:
    """Recall@10 of deflect's vector index against exact search over the same embeddings."""
    import faiss

    from deflect.embedder import load_embedder
    from deflect.index.bundle import IndexBundle
    from deflect.index.documents import DELETED
    b = IndexBundle.load(index_dir)
    live = np.flatnonzero(b.kind != DELETED)
    x = np.asarray(b.load_embeddings(index_dir)[live], np.float32)
    faiss.normalize_L2(x)
    exact = faiss.IndexFlatIP(x.shape[1])
    exact.add(x)
    q = load_embedder("minilm").encode(query_texts)
    _, truth = exact.search(q, 10)
    _, got = b.vectors.search(q, 10)
    truth = live[truth]
    recall = float(np.mean([len(set(a) & set(t)) / 10 for a, t in zip(got, truth)]))
    return {"recall_at_10": round(recall, 4), "kind": b.vectors.kind,
            "factory": b.vectors.describe()["params"].get("factory")}


def million(work: Path, base_home: Path, n: int, qs: list[str], qpath: Path) -> dict:
    """A deflect index of ``n`` documents: the real documents of the largest corpus plus synthetic
    tickets drawn near real ones (parent + N(0, sigma^2), sigma in [0.02, 0.05], re-normalised; the
    copy keeps the parent's link and labels). Built with the index type deflect picks for ``n``,
    saved as deflect saves it, then served by a deflect process like the other sizes."""
    import faiss
    from scipy import sparse

    from deflect.embedder import load_embedder
    from deflect.index import build as indexer
    from deflect.index.ann import VectorIndex
    from deflect.index.bundle import IndexBundle
    from deflect.index.documents import TICKET
    home = work / f"million-{n}"
    shutil.rmtree(home, ignore_errors=True)
    (home / "index").mkdir(parents=True)
    shutil.copy(base_home / "deflect.db", home / "deflect.db")
    base = IndexBundle.load(base_home / "index")
    real = np.asarray(base.load_embeddings(base_home / "index"), np.float32)
    m, dim = real.shape
    rng = np.random.default_rng(0)
    parents = rng.choice(np.flatnonzero(base.kind == TICKET), n - m)
    x = np.empty((n, dim), np.float32)
    x[:m] = real
    for start in range(0, n - m, 100_000):
        p = parents[start:start + 100_000]
        v = real[p] + rng.uniform(0.02, 0.05, (len(p), 1)).astype(np.float32) * rng.standard_normal(
            (len(p), dim), dtype=np.float32)
        x[m + start:m + start + len(p)] = v / np.linalg.norm(v, axis=1, keepdims=True)
    t = time.perf_counter()
    vindex = VectorIndex.build(x, np.arange(n, dtype=np.int64), **indexer.index_args(n))
    build_s = time.perf_counter() - t
    q = load_embedder("minilm").encode(qs)
    exact = faiss.IndexFlatIP(dim)
    exact.add(x)
    _, truth = exact.search(q, 10)
    del exact
    _, got = vindex.search(q, 10)
    recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, truth)]))
    bundle = IndexBundle(model=base.model, dim=dim, vectors=vindex,
                         kind=np.concatenate([base.kind, np.full(n - m, TICKET, np.int8)]),
                         ref=np.concatenate([base.ref, np.array([f"synthetic-{i}" for i in range(n - m)], object)]),
                         seed=np.concatenate([base.seed, base.seed[parents]]),
                         labels=sparse.vstack([base.labels, base.labels[parents]], format="csr"),
                         hashes=np.concatenate([base.hashes, np.array([f"{i:016x}" for i in range(n - m)], object)]),
                         article_ids=base.article_ids, classifier=base.classifier,
                         article_vectors=base.article_vectors, embeddings=x)
    del x
    t = time.perf_counter()
    manifest = bundle.save(home / "index", extra={"article_hashes": base.manifest.get("article_hashes"),
                                                  "build": {"mode": "synthetic", "real": m}})
    save_s = time.perf_counter() - t
    del bundle, vindex
    server = Server(system="deflect", home=home, target=home / "index", queries_file=qpath)
    server.ready()
    wall, cpu = [], []
    for text in qs:
        server.send(text)
        r = server.receive()
        wall.append(r["wall_ms"])
        cpu.append(r["cpu_ms"])
    final = server.close()
    files = sum(f.stat().st_size for f in (home / "index").iterdir()) / 1e9
    vector_file = (home / "index" / manifest["files"]["vectors"]).stat().st_size / 1e9
    shutil.rmtree(home, ignore_errors=True)
    return {"documents": n, "real": m, "index": manifest["index"], "build_s": round(build_s, 1),
            "save_s": round(save_s, 1), "files_gb": round(files, 3), "vectors_gb": round(vector_file, 3),
            "recall_at_10": round(recall, 4), "p50": pct(wall, 50), "p99": pct(wall, 99),
            "cpu_p50": pct(cpu, 50), **final}
