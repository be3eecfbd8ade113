#!/usr/bin/env python
"""Benchmark: suggest latency through HTTP under concurrent load (not a test).

Starts `deflect serve` (gunicorn) on a free localhost port over a copy of a demo home, fires a
bounded number of `POST /api/v1/suggest` requests from 1, 4 and 16 concurrent clients (stdlib
threads, one keep-alive http.client connection per client) and writes a Markdown table with
p50/p90/p99 latency and throughput to docs/bench_http.md.

    .venv/bin/python -m scripts.bench_http                       # builds a demo home (~2 min)
    .venv/bin/python -m scripts.bench_http --home /path/to/home  # re-uses a built home (copied)
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from scripts.common import DOCS, ROOT, deflect_command, replace_section
from scripts.machine import cpu_name

QUERIES = [
    "Wie kann ich mein Abo kündigen?", "Meine Zeitung kam heute nicht", "Ich habe mein Passwort vergessen",
    "Wie pausiere ich die Zustellung während meines Urlaubs?", "Wo finde ich meine Rechnung?",
    "Kann ich das E-Paper offline lesen?", "Ich ziehe um, was muss ich tun?",
    "Wie ändere ich meine Bankverbindung?", "Warum sehe ich die Bezahlschranke obwohl ich ein Abo habe?",
    "Gibt es einen Studentenrabatt?", "Ich möchte eine Traueranzeige aufgeben",
    "Wie viel kostet das Wochenendabo?", "Wie lange ist die Kündigungsfrist?",
    "Kann ich Aktien des Verlags kaufen?", "Wer gewinnt das Fußballspiel am Samstag?",
    "How do I cancel my subscription?", "I forgot my password", "Can I read the e-paper offline?",
    "Do you deliver to Austria?", "How can I pay for my subscription?", "I need an invoice with VAT",
    "Is there a student discount?", "Pause my delivery while I am on holiday",
    "Die Zeitung war nass und zerrissen", "Lastschrift zurückgegangen, was nun?",
    "Wie melde ich einen Fehler in einem Artikel?", "Ich möchte Zusteller werden",
    "Wie lade ich das E-Paper als PDF herunter?", "Was ist RZ Plus?", "Wie lösche ich mein Kundenkonto?",
    "Mein Geschenkabo soll am 24.12. starten", "Wie erreiche ich den Leserservice telefonisch?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_home(target: Path) -> None:
    """Ingest, index and calibrate the demo help center into ``target``."""
    cmd = deflect_command()
    for args in (["ingest", str(ROOT / "faq_articles")], ["index", "--quiet"], ["calibrate"]):
        print("$ deflect", " ".join(args), file=sys.stderr)
        subprocess.run([*cmd, *args, "--home", str(target)], cwd=ROOT, check=True)


def copy_home(source: Path, target: Path) -> None:
    """Copy the store and index so the benchmark's logged inquiries do not touch the original."""
    target.mkdir(parents=True)
    shutil.copytree(source / "index", target / "index")
    import sqlite3
    src = sqlite3.connect(source / "deflect.db")
    dst = sqlite3.connect(target / "deflect.db")
    src.backup(dst)
    src.close()
    dst.close()


class Server:
    def __init__(self, home: Path, workers: int, threads: int):
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [*deflect_command(), "serve", "--home", str(home), "--port", str(self.port),
             "--workers", str(workers), "--threads", str(threads), "--rate-limit", "0"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 300) -> float:
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"deflect serve exited with {self.proc.returncode}:\n{self.output()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
                conn.request("GET", "/api/v1/health")
                if conn.getresponse().status == 200:
                    conn.close()
                    return time.perf_counter() - start
            except OSError:
                time.sleep(0.25)
        raise RuntimeError(f"deflect serve not ready after {timeout} s:\n{self.output()}")

    def wait_workers_settled(self, workers: int, timeout: float = 300) -> None:
        """Wait until all ``workers`` run and none is busy any more (each loads the model and index
        before it accepts connections): measured clients would otherwise all connect to the first
        ready worker and stay there (keep-alive), and the others serve nobody."""
        start = time.perf_counter()
        last = None
        while time.perf_counter() - start < timeout:
            now = self.worker_cpu()
            if last is not None and len(now) == workers and now.keys() == last.keys() \
                    and all(now[pid] - last[pid] < 0.05 for pid in now):
                return
            last = now
            time.sleep(0.5)

    def worker_cpu(self) -> dict[str, float]:
        """CPU seconds (user + system) used so far by each gunicorn worker (Linux /proc)."""
        ticks = os.sysconf("SC_CLK_TCK")
        out = {}
        try:
            pid = self.proc.pid
            for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
                fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
                out[child] = (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, ValueError, IndexError):
            pass
        return out

    def worker_rss_mb(self) -> list[float]:
        """Resident memory of each gunicorn worker (Linux /proc), in MB."""
        try:
            pid = self.proc.pid
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            sizes = []
            for child in children:
                for line in Path(f"/proc/{child}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes.append(int(line.split()[1]) / 1024)
            return sizes
        except OSError:
            return []

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the gunicorn workers have used so far (Linux /proc): the cost of the
        requests, whatever else runs on the machine."""
        used = self.worker_cpu()
        return sum(used.values()) if used else float("nan")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_level(port: int, clients: int, total: int) -> dict:
    """``total`` requests spread over ``clients`` threads; latencies in ms."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine: list[float] = []
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            body = json.dumps({"text": QUERIES[i % len(QUERIES)], "session": f"bench-{n}"})
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/suggest", body=body,
                             headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                data = response.read()
                elapsed = (time.perf_counter() - t0) * 1000
                if response.status != 200:
                    with lock:
                        errors.append(f"{response.status} {data[:200]!r}")
                    continue
                mine.append(elapsed)
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, max(0, round(p / 100 * len(latencies) + 0.5) - 1))]

    nan = float("nan")
    return {"clients": clients, "requests": len(latencies), "errors": len(errors),
            "error_samples": errors[:3],
            "p50": pct(50), "p90": pct(90), "p99": pct(99), "max": latencies[-1] if latencies else nan,
            "mean": statistics.fmean(latencies) if latencies else nan, "rps": len(latencies) / wall,
            "load": os.getloadavg()[0]}


def machine() -> str:
    return f"{os.cpu_count()} CPU cores ({cpu_name()}), Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path,
                        help="A built deflect home (copied first); default: build the demo.")
    parser.add_argument("--clients", default="1,4,16", help="Concurrency levels (default 1,4,16).")
    parser.add_argument("--requests", type=int, default=200, help="Requests per level (default 200).")
    parser.add_argument("--warmup", type=int, default=20, help="Unmeasured requests first (default 20).")
    parser.add_argument("--configs", default="2x1,2x4,2x8",
                        help="Server configurations WORKERSxTHREADS, comma-separated (default 2x1,2x4,2x8).")
    parser.add_argument("--out", type=Path, default=DOCS / "bench_http.md")
    parser.add_argument("--no-publish", action="store_true",
                        help="Leave docs/benchmarks.md as it is (a trial run; the table goes to --out only).")
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    configs = [tuple(int(x) for x in c.split("x")) for c in args.configs.split(",")]

    with tempfile.TemporaryDirectory(prefix="deflect-bench-") as tmp:
        home = Path(tmp) / "home"
        if args.home:
            copy_home(args.home.resolve(), home)
        else:
            build_home(home)
        manifest = json.loads((home / "index" / "manifest.json").read_text())
        results = []
        for workers, threads in configs:
            server = Server(home, workers, threads)
            try:
                ready = server.wait_ready()
                print(f"[{workers}x{threads}] ready after {ready:.1f} s", file=sys.stderr)
                server.wait_workers_settled(workers)
                run_level(server.port, max(levels), args.warmup)
                for clients in levels:
                    cpu = server.cpu_seconds()
                    r = run_level(server.port, clients, args.requests)
                    r.update(workers=workers, threads=threads, ready_s=ready, rss=server.worker_rss_mb(),
                             cpu_ms=(server.cpu_seconds() - cpu) * 1000 / max(1, r["requests"] + r["errors"]))
                    results.append(r)
                    print(f"[{workers}x{threads}] {clients:>2} clients: p50 {r['p50']:.1f} ms  "
                          f"p99 {r['p99']:.1f} ms  {r['rps']:.1f} req/s  errors {r['errors']}  "
                          f"cpu {r['cpu_ms']:.1f} ms/req  load {r['load']:.2f}", file=sys.stderr)
            finally:
                server.stop()

    counts = manifest.get("counts", {})
    lines = [
        "## HTTP suggest latency under concurrent load",
        "",
        f"`scripts/bench_http.py` on {datetime.now(UTC).date().isoformat()}: {machine()}.",
        "`deflect serve` (gunicorn, gthread) over the demo help center "
        f"({counts.get('articles', '?')} articles, {counts.get('tickets', '?')} tickets, "
        f"{counts.get('documents', '?')} indexed documents, model "
        f"`{manifest.get('model', '?')}`, index `{manifest.get('index', {}).get('kind', '?')}`); each worker "
        "runs torch, BLAS and faiss with 1 thread. Clients are stdlib threads with one keep-alive "
        f"connection each, sending `POST /api/v1/suggest` (k=3; {len(QUERIES)} German/English questions in "
        f"turn; the inquiry is logged to SQLite, stored before the answer goes out); {args.requests} measured "
        f"requests per row after {args.warmup} warm-up requests. Latency is client-side wall time per request "
        "in ms. Concurrent requests of a worker are answered together: one model forward, search and scoring "
        "(micro-batching, `deflect.index.batching`), their inquiries written in one transaction "
        "(`web/inquiry_log.py`); with 1 thread per worker nothing is batched. CPU ms/req: CPU time of the "
        "workers per request (user + system), "
        f"which other work on the machine barely changes; capacity = {os.cpu_count()} cores x 1000 / CPU ms/req, "
        "the req/s the workers could answer on these cores alone.",
        "",
        "| workers x threads | clients | requests | errors | p50 ms | p90 ms | p99 ms | max ms | req/s "
        "| CPU ms/req | capacity req/s | load avg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        capacity = (os.cpu_count() or 1) * 1000 / r["cpu_ms"] if r["cpu_ms"] > 0 else float("nan")
        lines.append(f"| {r['workers']} x {r['threads']} | {r['clients']} | {r['requests']} | {r['errors']} "
                     f"| {r['p50']:.1f} | {r['p90']:.1f} | {r['p99']:.1f} | {r['max']:.1f} | {r['rps']:.1f} "
                     f"| {r['cpu_ms']:.1f} | {capacity:.0f} | {r['load']:.2f} |")
    ready = ", ".join(f"{w} x {t}: {s:.0f} s" for w, t, s in
                      sorted({(r["workers"], r["threads"], r["ready_s"]) for r in results}))
    rss = ", ".join(f"{r['workers']} x {r['threads']}: " + " + ".join(f"{m:.0f}" for m in r["rss"]) + " MB"
                    for r in results if r["clients"] == max(levels) and r["rss"])
    lines += ["", f"Start-up until the first answer (model and index loaded per worker): {ready}. "
              f"Resident memory per worker after the run: {rss or 'n/a'}. "
              "Load avg: the 1-minute load average after the row (other work on the machine shows there).",
              ""]
    busiest = max((r["load"] for r in results), default=0.0)
    if busiest > (os.cpu_count() or 1):
        lines += [f"Note: other work ran on the machine during this run (load average up to {busiest:.1f} on "
                  f"{os.cpu_count()} cores), so these latencies are upper bounds; rerun on an idle machine.",
                  ""]
    errors = [e for r in results for e in r["error_samples"]]
    if errors:
        lines += ["Error samples: " + "; ".join(errors), ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    if not args.no_publish:
        publish(args.out)


def publish(table: Path) -> None:
    """Copy the table (without its heading) into the http section of docs/benchmarks.md."""
    body = table.read_text(encoding="utf-8").split("\n", 1)[1].strip()
    replace_section(DOCS / "benchmarks.md", "http", body)


if __name__ == "__main__":
    main()
