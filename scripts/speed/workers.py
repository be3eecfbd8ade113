"""The speed benchmark's worker processes, one per system and job, so that each is timed alone with
the same thread settings: ``build`` (index the corpus), ``serve`` (load like the service, then answer
inquiries read from stdin one at a time) and ``upsert`` (change articles while queries keep coming).
Started by ``Server`` and ``run_worker`` as ``python -m scripts.speed.workers MODE ...``."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from scripts.common import ROOT, packaged_minilm_path, pct
from scripts.machine import rss

SYSTEMS = ("bare", "txtai", "deflect")
BATCH = 128
ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "TOKENIZERS_PARALLELISM": "false",
       "OMP_WAIT_POLICY": "PASSIVE"}
WORKER = [sys.executable, "-m", "scripts.speed.workers"]


def threads(n: int) -> None:
    import faiss
    import torch
    torch.set_num_threads(n)
    faiss.omp_set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass


def worker_build(args) -> dict:
    threads(os.cpu_count() or 1)
    home = Path(args.home)
    texts = json.loads((home / "texts.json").read_text(encoding="utf-8"))
    out = Path(args.target)
    shutil.rmtree(out, ignore_errors=True)
    result: dict = {"system": args.system, "documents": len(texts)}
    if args.system in ("bare", "bare32"):
        from sentence_transformers import SentenceTransformer
        model = SentenceTransformer(packaged_minilm_path(), device="cpu")
        model.encode(texts[:32])
        batch = 32 if args.system == "bare32" else BATCH
        t, c = time.perf_counter(), time.process_time()
        model.encode(texts, batch_size=batch, normalize_embeddings=True, convert_to_numpy=True)
    elif args.system == "txtai":
        from txtai import Embeddings
        emb = Embeddings(path=packaged_minilm_path(), backend="faiss", content=False, encodebatch=BATCH)
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
        model = SentenceTransformer(packaged_minilm_path(), device="cpu")

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


class Server:
    """A worker_serve process driven over its stdin/stdout."""

    def __init__(self, **kw):
        cmd = [*WORKER, "serve"]
        for k, v in kw.items():
            cmd += [f"--{k.replace('_', '-')}", str(v)]
        self.log = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **ENV}, stdin=subprocess.PIPE,
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


def run_worker(mode: str, **kw) -> dict:
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as tmp:
        result_path = tmp.name
    cmd = [*WORKER, mode, "--result", result_path]
    for k, v in kw.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    proc = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **ENV}, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"worker {mode} {kw} failed:\n{proc.stderr[-3000:]}")
    data = json.loads(Path(result_path).read_text())
    os.unlink(result_path)
    return data


def target(work: Path, home: Path, system: str) -> Path:
    """Where a system's index goes: deflect's in its home (index/), the others' in the work folder."""
    return home / "index" if system == "deflect" else work / f"{system}-{home.name.split('-')[-1]}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=("build", "serve", "upsert"))
    p.add_argument("--result", help="where build and upsert write their JSON result")
    p.add_argument("--system", choices=(*SYSTEMS, "bare32"))
    p.add_argument("--home", help="the corpus's deflect home")
    p.add_argument("--target", help="the system's index folder")
    p.add_argument("--queries-file", dest="queries_path", help="JSON list of inquiries (serve warms up on them)")
    args = p.parse_args()
    if args.mode == "serve":
        worker_serve(args)
        return
    result = {"build": worker_build, "upsert": worker_upsert}[args.mode](args)
    Path(args.result).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
