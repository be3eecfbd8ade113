#!/usr/bin/env python
"""Fault drill (not a test): `deflect serve` under load while its database and index are broken on purpose.

16 clients send suggest (and some feedback) requests for 3 minutes to a server with 2 workers over a
copy of the demo home. On a schedule the database is made read-only for 30 s, locked by another
process for 30 s, a worker is killed, the manifest is garbled (and then repaired by `deflect index`),
and an index build is killed. Afterwards it counts:

- answers lost: suggest requests that got no 2xx answer (the customer saw an error);
- acknowledged rows lost: inquiry ids answered with 2xx that are not in the database after recovery;
- recovery without a restart: /api/v1/health says the database is ok, the spool is empty and the index
  has no problem, with the same server processes.

chmod does not stop root: as root the database file is made immutable (``chattr +i``) instead.
Results go to docs/benchmarks.md (section "faults").

    .venv/bin/python -m scripts.faults                       # builds a demo home (~2 min)
    .venv/bin/python -m scripts.faults --home /path/to/home  # re-uses a built home (copied)
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from scripts.bench_http import QUERIES, build_home, copy_home, free_port
from scripts.common import DOCS, ROOT, deflect_command, replace_section


def set_read_only(path: Path, read_only: bool) -> None:
    """No new connection may write ``path``: chmod for a user, the immutable flag for root."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i" if read_only else "-i", str(path)], check=True)
    else:
        path.chmod(0o444 if read_only else 0o644)


class Drill:
    def __init__(self, home: Path, clients: int, seconds: float):
        self.home, self.clients, self.seconds = home, clients, seconds
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acknowledged: list[str] = []
        self.outcomes: Counter[str] = Counter()
        self.events: list[tuple[float, str]] = []
        self.failures: list[tuple[float, str]] = []
        self.started = time.monotonic()
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "HOME": str(home.parent)}

    # -- the server ---------------------------------------------------------------------------------
    def start_server(self) -> None:
        cmd = [*deflect_command(), "serve", "--home", str(self.home), "--port", str(self.port),
               "--workers", "2", "--threads", "4", "--rate-limit", "0"]
        self.server = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=self.log,
                                       stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.health() is not None:
                return
            time.sleep(0.5)
        raise RuntimeError("deflect serve did not start:\n" + self.output())

    def workers(self) -> list[int]:
        pid = self.server.pid
        tasks = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(t) for t in tasks]

    def request(self, method: str, path: str, body: dict | None = None, timeout: float = 30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, json.dumps(body) if body is not None else None,
                         {"Content-Type": "application/json"})
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            conn.close()

    def health(self) -> dict | None:
        try:
            status, body = self.request("GET", "/api/v1/health", timeout=5)
        except (OSError, ValueError):
            return None
        return body if status == 200 else None

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-6000:]

    # -- load -----------------------------------------------------------------------------------------
    def client(self, n: int) -> None:
        rng = random.Random(n)
        session = f"drill-{n}"
        while not self.stop.is_set():
            text = rng.choice(QUERIES) + f" ({rng.randrange(10_000)})"
            status, body = 0, {}
            for attempt in range(2):  # the widget asks once more when the connection breaks
                try:
                    status, body = self.request("POST", "/api/v1/suggest", {"text": text, "session": session})
                    break
                except (OSError, ValueError) as exc:
                    with self.lock:
                        self.outcomes["suggest connection broken" + (", asked again" if attempt == 0 else "")] += 1
                        self.failures.append((round(time.monotonic() - self.started, 1), type(exc).__name__))
                    time.sleep(0.3)
            with self.lock:
                if 200 <= status < 300:
                    self.acknowledged.append(body["id"])
                    self.outcomes["suggest 2xx"] += 1
                else:
                    self.outcomes[f"suggest {status}"] += 1
            if status == 200 and rng.random() < 0.2:
                try:
                    fb, _ = self.request("POST", "/api/v1/feedback", {"inquiry_id": body["id"], "helpful": True})
                except (OSError, ValueError):
                    fb = 0
                with self.lock:
                    self.outcomes[f"feedback {fb}"] += 1

    # -- faults ---------------------------------------------------------------------------------------
    def note(self, what: str) -> None:
        moment = time.monotonic() - self.started
        self.events.append((round(moment, 1), what))
        print(f"{moment:6.1f} s  {what}", flush=True)

    def at(self, second: float) -> None:
        self.stop.wait(max(0.0, self.started + second - time.monotonic()))

    def read_only(self, seconds: float) -> None:
        db = self.home / "deflect.db"
        self.note("database read-only")
        set_read_only(db, True)
        try:
            self.stop.wait(seconds)
        finally:
            set_read_only(db, False)
        self.note("database writable again")

    def locked(self, seconds: float) -> None:
        self.note("database locked by another process")
        conn = sqlite3.connect(self.home / "deflect.db", isolation_level=None, timeout=60)
        conn.execute("begin exclusive")
        self.stop.wait(seconds)
        conn.execute("rollback")
        conn.close()
        self.note("lock released")

    def kill_worker(self) -> None:
        victim = self.workers()[0]
        os.kill(victim, signal.SIGKILL)
        self.note(f"worker {victim} killed")

    def garble_manifest(self, seconds: float) -> None:
        manifest = self.home / "index" / "manifest.json"
        manifest.write_bytes(b"\xff\xfe garbled {")
        self.note("manifest garbled")
        self.stop.wait(seconds)
        result = subprocess.run([*deflect_command(), "index", "--quiet", "--home", str(self.home)],
                                cwd=ROOT, env=self.env, capture_output=True, text=True)
        said = (result.stdout + result.stderr).strip()[-200:]
        self.note(f"deflect index (repair) exited {result.returncode}: {said}")

    def kill_build(self, after: float) -> None:
        build = subprocess.Popen([*deflect_command(), "index", "--full", "--quiet", "--home", str(self.home)],
                                 cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True)
        self.note("index build started")
        self.stop.wait(after)
        os.killpg(build.pid, signal.SIGKILL)
        build.wait()
        self.note("index build killed")

    def faults(self) -> None:
        self.at(15)
        self.read_only(30)
        self.at(55)
        self.locked(30)
        self.at(95)
        self.kill_worker()
        self.at(105)
        repair = threading.Thread(target=self.garble_manifest, args=(10,))  # the repair takes a while
        repair.start()
        self.at(150)
        self.kill_build(8)
        repair.join()

    # -- the run --------------------------------------------------------------------------------------
    def run(self) -> dict:
        self.start_server()
        pids = {self.server.pid}
        self.started = time.monotonic()
        threads = [threading.Thread(target=self.client, args=(n,)) for n in range(self.clients)]
        for t in threads:
            t.start()
        fault_thread = threading.Thread(target=self.faults)
        fault_thread.start()
        self.stop.wait(self.seconds)
        self.stop.set()
        for t in [*threads, fault_thread]:
            t.join()
        self.note("load stopped")
        recovered = self.recover()
        stored = self.stored_ids()
        lost = [i for i in self.acknowledged if i not in stored]
        answers_lost = sum(n for k, n in self.outcomes.items()
                           if k.startswith("suggest ") and k[8:].isdigit() and not k[8].startswith("2"))
        result = {
            "clients": self.clients, "seconds": self.seconds, "outcomes": dict(sorted(self.outcomes.items())),
            "answers_lost": answers_lost, "acknowledged": len(self.acknowledged),
            "acknowledged_lost": len(lost), "recovered_without_restart": recovered and self.server.pid in pids,
            "health": self.health(), "events": self.events, "connection_failures_at": self.failures,
        }
        self.server.terminate()
        self.server.wait(timeout=60)
        return result

    def recover(self, timeout: float = 60) -> bool:
        """A few more inquiries (they drain the spool) until health says all is well again."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.request("POST", "/api/v1/suggest", {"text": "Wie kündige ich mein Abo?"})
            except OSError:
                pass
            health = self.health() or {}
            index_ok = (health.get("index") or {}).get("ok", True)
            if health.get("database") == "ok" and not health.get("spool", {}).get("pending") and index_ok:
                self.note("recovered: database ok, spool empty, index ok")
                return True
            time.sleep(1)
        self.note(f"not recovered: {self.health()}")
        return False

    def stored_ids(self) -> set[str]:
        conn = sqlite3.connect(self.home / "deflect.db")
        try:
            return {row[0] for row in conn.execute("select id from inquiries")}
        finally:
            conn.close()


def _cell(text: str) -> str:
    """One table cell: one line, no temporary paths."""
    return re.sub(r"/tmp/\S+", "…", " ".join(str(text).split())).replace("|", "/")


def markdown(result: dict, when: str) -> str:
    outcomes = ", ".join(f"{k}: {v:,}" for k, v in result["outcomes"].items())
    events = "\n".join(f"| {s} s | {_cell(what)} |" for s, what in result["events"])
    spool = (result.get("health") or {}).get("spool") or {}
    return f"""### Fault drill (scripts/faults.py, {when})

{result['clients']} clients for {result['seconds']:.0f} s against `deflect serve` (2 workers x 4 threads) on
this machine, with the faults below (read-only: the database file made immutable, as chmod does not stop
root; locked: another process holding an exclusive transaction). Clients ask once more when a connection
breaks, as the widget does. Requests: {outcomes}.

| measure | result |
|---|---|
| suggest answers lost (no 2xx after asking again) | {result['answers_lost']} |
| acknowledged inquiries | {result['acknowledged']:,} |
| acknowledged inquiries missing from the database after recovery | {result['acknowledged_lost']} |
| rows that went through the spool (in the worker that answered /health) | {spool.get('drained', 0):,} |
| recovered without a restart | {'yes' if result['recovered_without_restart'] else 'no'} |

| at | event |
|---|---|
{events}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="a built home to copy (default: build the demo home)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--no-doc", action="store_true", help="print the result only")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="deflect-faults-"))
    try:
        source = args.home
        if source is None:
            source = work / "built"
            build_home(source)
        home = work / "home"
        copy_home(source, home)
        result = Drill(home, args.clients, args.seconds).run()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2, default=str))
    if not args.no_doc:
        replace_section(DOCS / "benchmarks.md", "faults", markdown(result, datetime.now(UTC).strftime("%Y-%m-%d")))


if __name__ == "__main__":
    main()
