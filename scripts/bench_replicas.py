#!/usr/bin/env python
"""Drill: two replicas over one database, with a snapshot publish, a SIGKILL and (optionally) a
database restart under load (not a test; issue 28, "Done when").

Two `deflect serve --snapshots DIR` replicas (2 workers each) on two ports share one database: with
``--database URL`` that one (DEFLECT_DATABASE_URL), else the SQLite file of one home. 16 clients
send suggest, feedback and gap workflow updates to either replica for ``--duration`` seconds and
fail over to the other when one does not answer. During the run a new snapshot is published (both
replicas must switch: their /api/v1/health shows it), one replica is killed with SIGKILL and started
again, and with ``--restart-postgres CMD`` the database server is restarted. At the end: 5xx (must be
0), 503s with Retry-After, p50/p99, and the rows in the database against the clients' 2xx (0 lost,
0 duplicated). The figures go to docs/benchmarks.md (section "replicas").

    .venv/bin/python -m scripts.bench_replicas --duration 120            # SQLite, builds a demo home
    .venv/bin/python -m scripts.bench_replicas --database postgresql://... --restart-postgres \\
        "sudo systemctl restart postgresql"
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from scripts.bench_http import QUERIES
from scripts.common import DOCS, ROOT, deflect_command, replace_section
from scripts.machine import cpu_name

ENV_DATABASE = "DEFLECT_DATABASE_URL"
NETWORK_ERRORS = (ConnectionError, http.client.HTTPException, socket.timeout, OSError)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def token(client: int, n: int) -> str:
    """A word that marks one logical request in its inquiry text (letters only, so redaction keeps it)."""
    letters = ""
    n = n * 64 + client
    while True:
        n, r = divmod(n, 26)
        letters += chr(ord("a") + r)
        if n == 0:
            return "drillq" + letters


class Replica:
    """One `deflect serve` process group (its own session, so SIGKILL reaches master and workers)."""

    def __init__(self, name: str, home: Path, snapshots: Path, env: dict, workers: int, threads: int, log_dir: Path):
        self.name, self.home, self.snapshots, self.env = name, home, snapshots, env
        self.workers, self.threads = workers, threads
        self.port = free_port()
        self.log = log_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*deflect_command(), "serve", "--home", str(self.home), "--snapshots", str(self.snapshots),
                 "--port", str(self.port), "--workers", str(self.workers), "--threads", str(self.threads),
                 "--rate-limit", "1000000/minute"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 600) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"replica {self.name} exited:\n{self.log.read_text()[-3000:]}")
            try:
                if request(self.port, "GET", "/readyz", timeout=5)[0] == 200:
                    return time.monotonic() - started
            except NETWORK_ERRORS:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"replica {self.name} not ready within {timeout} s")

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def request(port: int, method: str, path: str, body: dict | None = None, key: str | None = None,
            timeout: float = 30) -> tuple[int, dict, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        r = conn.getresponse()
        data = r.read()
        try:
            parsed = json.loads(data) if data else {}
        except ValueError:
            parsed = {}
        return r.status, parsed, dict(r.getheaders())
    finally:
        conn.close()


@dataclass
class Tally:
    """What the clients saw (one lock: the counts are small)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    failovers: int = 0
    retry_after_503: int = 0
    bare_503: int = 0
    inquiries: dict[str, str] = field(default_factory=dict)      # token -> inquiry id (2xx)
    feedback: dict[str, str] = field(default_factory=dict)       # feedback id -> inquiry id (2xx)
    gap_owner: dict[str, str] = field(default_factory=dict)      # topic id -> last acknowledged owner
    gave_up: Counter = field(default_factory=Counter)
    resent: set[str] = field(default_factory=set)   # marks of suggests sent again after a replica did not answer

    def saw(self, kind: str, status: int, seconds: float, headers: dict) -> None:
        with self.lock:
            self.statuses[(kind, status)] += 1
            if 200 <= status < 300:
                self.latencies.append(seconds)
            if status == 503:
                if headers.get("Retry-After"):
                    self.retry_after_503 += 1
                else:
                    self.bare_503 += 1


class Client(threading.Thread):
    """One client: suggest (70 %), feedback on its own inquiries (20 %), updates of its gap topics (10 %)."""

    def __init__(self, index: int, replicas: list[Replica], key: str, topics: list[str], tally: Tally,
                 stop_at: float, seed: int):
        super().__init__(daemon=True, name=f"client-{index}")
        self.index, self.replicas, self.key, self.topics, self.tally = index, replicas, key, topics, tally
        self.stop_at, self.rng = stop_at, random.Random(seed * 1000 + index)
        self.n = 0
        self.mine: list[str] = []

    def send(self, kind: str, method: str, path: str, body: dict, key: str | None = None,
             mark: str | None = None) -> tuple[int, dict]:
        """Send to one replica, failing over to the other when it does not answer; 503 is retried
        after its Retry-After (shortened), as a client library would."""
        first = self.rng.randrange(len(self.replicas))
        for attempt in range(40):
            replica = self.replicas[(first + attempt) % len(self.replicas)]
            started = time.perf_counter()
            try:
                status, data, headers = request(replica.port, method, path, body, key=key)
            except NETWORK_ERRORS:
                with self.tally.lock:
                    self.tally.failovers += 1
                    if mark:
                        self.tally.resent.add(mark)
                time.sleep(0.2)
                continue
            self.tally.saw(kind, status, time.perf_counter() - started, headers)
            if status == 503:
                time.sleep(min(float(headers.get("Retry-After") or 1), 2.0))
                continue
            return status, data
        with self.tally.lock:
            self.tally.gave_up[kind] += 1
        return 0, {}

    def run(self) -> None:
        while time.monotonic() < self.stop_at:
            roll = self.rng.random()
            if roll < 0.2 and self.mine:
                self.feedback()
            elif roll < 0.3 and self.topics:
                self.gap_update()
            else:
                self.suggest()

    def suggest(self) -> None:
        self.n += 1
        mark = token(self.index, self.n)
        text = f"{self.rng.choice(QUERIES)} {mark}"
        status, data = self.send("suggest", "POST", "/api/v1/suggest", {"text": text, "session": f"drill{self.index}"},
                                 mark=mark)
        if 200 <= status < 300:
            with self.tally.lock:
                self.tally.inquiries[mark] = data["id"]
            self.mine.append(data["id"])

    def feedback(self) -> None:
        inquiry = self.mine.pop(self.rng.randrange(len(self.mine)))   # one vote per inquiry
        status, data = self.send("feedback", "POST", "/api/v1/feedback",
                                 {"inquiry_id": inquiry, "helpful": self.rng.random() < 0.5})
        if 200 <= status < 300:
            with self.tally.lock:
                self.tally.feedback[data["id"]] = inquiry

    def gap_update(self) -> None:
        topic = self.rng.choice(self.topics)
        self.n += 1
        owner = f"drill {token(self.index, self.n)}"
        due = (date.today() + timedelta(days=30)).isoformat()
        status, _ = self.send("gap", "PATCH", f"/api/v1/gaps/{topic}",
                              {"status": "planned", "owner": owner, "due": due}, key=self.key)
        if 200 <= status < 300:
            with self.tally.lock:
                self.tally.gap_owner[topic] = owner


def run_cli(args: list[str], env: dict, capture: bool = False) -> str:
    result = subprocess.run([*deflect_command(), *args], cwd=ROOT, env=env, check=True, text=True,
                            stdout=subprocess.PIPE if capture else None)
    return result.stdout or ""


def wait_switched(replicas: list[Replica], version: str, timeout: float = 120) -> dict[str, float]:
    """Seconds until every worker of each replica shows ``version`` (8 health answers in a row)."""
    started, switched = time.monotonic(), {}
    while time.monotonic() - started < timeout and len(switched) < len(replicas):
        for r in replicas:
            if r.name in switched:
                continue
            try:
                seen = [request(r.port, "GET", "/api/v1/health", timeout=10)[1].get("snapshot", {}).get("version")
                        for _ in range(8)]
            except NETWORK_ERRORS:
                continue
            if all(v == version for v in seen):
                switched[r.name] = round(time.monotonic() - started, 1)
        time.sleep(0.5)
    return switched


class Rows:
    """Reads the shared database: SQLite file of the home, or PostgreSQL through psycopg."""

    def __init__(self, home: Path, url: str | None):
        if url:
            import psycopg
            self.conn, self.mark = psycopg.connect(url, autocommit=True), "%s"
        else:
            self.conn, self.mark = sqlite3.connect(home / "deflect.db", timeout=60), "?"

    def all(self, sql: str, params: list | tuple = ()) -> list[tuple]:
        return list(self.conn.execute(sql.replace("?", self.mark), params).fetchall())


def check_rows(rows: Rows, tally: Tally) -> dict:
    """Rows against the clients' 2xx: lost (acknowledged, not in the database), duplicated (one
    request stored twice), and stored without an answer (in flight when a replica died)."""
    texts = rows.all("select id, text from inquiries where session like ?", ["drill%"])
    by_mark: Counter = Counter()
    for _, text in texts:
        mark = next((w for w in (text or "").split() if w.startswith("drillq")), None)
        by_mark[mark] += 1
    ids = {i for i, _ in texts}
    lost_inquiries = sum(1 for mark, iid in tally.inquiries.items() if iid not in ids)
    # a request the client sent again after its replica died mid-way may be stored by both: the first
    # row was never acknowledged; any other second row is a duplicate
    duplicated = sum(n - 1 for mark, n in by_mark.items() if n > 1 and mark not in tally.resent)
    unanswered = sum(n - 1 for mark, n in by_mark.items() if n > 1 and mark in tally.resent) \
        + sum(1 for mark in by_mark if mark not in tally.inquiries)
    votes = rows.all("select f.id, f.inquiry_id from feedback f join inquiries i on i.id = f.inquiry_id "
                     "where i.session like ?", ["drill%"])
    vote_ids = {f for f, _ in votes}
    per_inquiry = Counter(i for _, i in votes)
    lost_votes = sum(1 for fid in tally.feedback if fid not in vote_ids)
    duplicated_votes = sum(n - 1 for n in per_inquiry.values() if n > 1)
    owners = dict(rows.all("select id, owner from gap_topics")) if tally.gap_owner else {}
    lost_gap = sum(1 for topic, owner in tally.gap_owner.items() if owners.get(topic) != owner)
    return {"inquiries_acknowledged": len(tally.inquiries), "inquiries_stored": len(texts),
            "inquiries_lost": lost_inquiries, "inquiries_duplicated": duplicated,
            "inquiries_stored_unanswered": unanswered,
            "votes_acknowledged": len(tally.feedback), "votes_stored": len(votes), "votes_lost": lost_votes,
            "votes_duplicated": duplicated_votes, "gap_topics_updated": len(tally.gap_owner),
            "gap_updates_lost": lost_gap}


def drain_spools(replicas: list[Replica], timeout: float = 120) -> bool:
    """Wait until no replica's workers hold spooled rows (rows kept while the database was away)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = False
        for r in replicas:
            for _ in range(6):
                try:
                    body = request(r.port, "GET", "/api/v1/health", timeout=10)[1]
                except NETWORK_ERRORS:
                    pending = True
                    continue
                pending |= bool((body.get("spool") or {}).get("pending"))
        if not pending:
            return True
        for r in replicas:   # a suggest drains this worker's spool
            try:
                request(r.port, "POST", "/api/v1/suggest", {"text": "Wie kündige ich?"}, timeout=30)
            except NETWORK_ERRORS:
                pass
        time.sleep(1)
    return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, help="A built home to copy (default: build the demo help center).")
    parser.add_argument("--database", help="Shared database URL (default: the SQLite file of the home).")
    parser.add_argument("--duration", type=float, default=600.0, help="Seconds of load (default 600).")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--restart-postgres", metavar="CMD", help="Shell command that restarts the database server.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DOCS / "benchmarks.md")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="deflect-replicas-"))
    home, snapshots = work / "home", work / "snapshots"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEFLECT_")}
    env.update(DEFLECT_LOG_LOCK_TIMEOUT="5")
    if args.database:
        env[ENV_DATABASE] = args.database
    replicas: list[Replica] = []
    try:
        if args.home:
            shutil.copytree(args.home, home)
        else:
            for cli_args in (["ingest", str(ROOT / "faq_articles")], ["index", "--quiet"], ["calibrate"]):
                run_cli([*cli_args, "--home", str(home)], env)
        run_cli(["gaps", "--rebuild", "--format", "json", "-o", str(work / "gaps.json"), "--home", str(home)], env)
        topics = [t["id"] for t in json.loads((work / "gaps.json").read_text()).get("topics", [])]
        key = run_cli(["keys", "create", "--name", "drill", "--scope", "admin", "--quiet", "--home", str(home)],
                      env, capture=True).strip()
        first = run_cli(["index", "--quiet", "--publish", str(snapshots), "--home", str(home)], env, capture=True)
        print(first.strip(), file=sys.stderr)
        replicas = [Replica(n, home, snapshots, env, args.workers, args.threads, work) for n in ("a", "b")]
        for r in replicas:
            r.start()
        ready = [round(r.wait_ready(), 1) for r in replicas]
        print(f"replicas ready after {ready} s; {len(topics)} gap topics; load for {args.duration:.0f} s",
              file=sys.stderr)

        tally = Tally()
        started = time.monotonic()
        stop_at = started + args.duration
        clients = [Client(i, replicas, key, topics[i::args.clients], tally, stop_at, args.seed)
                   for i in range(args.clients)]   # a topic has one client: its last acknowledged owner must stay
        for c in clients:
            c.start()
        events: list[str] = []

        def at(fraction: float) -> None:
            time.sleep(max(0.0, started + args.duration * fraction - time.monotonic()))

        at(0.25)
        out = run_cli(["index", "--quiet", "--publish", str(snapshots), "--home", str(home)], env, capture=True)
        version = out.split("published snapshot ", 1)[1].split()[0]
        switched = wait_switched(replicas, version)
        events.append(f"snapshot {version} published at {time.monotonic() - started:.0f} s; switched: "
                      + (", ".join(f"replica {n} after {s} s" for n, s in switched.items()) or "none"))
        at(0.5)
        victim = replicas[1]
        victim.kill()
        killed_at = time.monotonic()
        victim.start()
        back = victim.wait_ready()
        events.append(f"replica {victim.name} killed (SIGKILL) at {killed_at - started:.0f} s, "
                      f"serving again after {back:.0f} s")
        if args.restart_postgres:
            at(0.75)
            t0 = time.monotonic()
            subprocess.run(args.restart_postgres, shell=True, check=True)
            events.append(f"database restarted at {t0 - started:.0f} s ({time.monotonic() - t0:.1f} s)")
        for c in clients:
            c.join()
        elapsed = max(args.duration, stop_at - started)   # the load window (a restart may outlast it)
        drained = drain_spools(replicas)
        rows = check_rows(Rows(home, args.database), tally)
    finally:
        for r in replicas:
            r.stop()
    lat = sorted(tally.latencies)
    q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [0.0] * 99
    server_errors = sum(n for (kind, status), n in tally.statuses.items() if status >= 500 and status != 503)
    total = sum(tally.statuses.values())
    by_kind = Counter()
    for (kind, status), n in tally.statuses.items():
        if 200 <= status < 300:
            by_kind[kind] += n
    summary = {"requests": total, "ok": len(lat), "by_kind": dict(by_kind), "5xx": server_errors + tally.bare_503,
               "503_retry_after": tally.retry_after_503, "failovers": tally.failovers,
               "gave_up": dict(tally.gave_up), "p50_ms": round(q[49] * 1000, 1), "p99_ms": round(q[98] * 1000, 1),
               "req_per_s": round(len(lat) / elapsed, 1), "other_statuses": {f"{k} {s}": n for (k, s), n in
                                                                            tally.statuses.items()
                                                                            if not 200 <= s < 300},
               "spools_drained": drained, **rows, "events": events, "switched": switched}
    print(json.dumps(summary, indent=2), file=sys.stderr)
    write_section(args, summary, elapsed)
    shutil.rmtree(work, ignore_errors=True)
    ok = (summary["5xx"] == 0 and rows["inquiries_lost"] == 0 and rows["inquiries_duplicated"] == 0
          and rows["votes_lost"] == 0 and rows["votes_duplicated"] == 0 and rows["gap_updates_lost"] == 0
          and len(switched) == len(replicas))
    sys.exit(0 if ok else 1)


def write_section(args, s: dict, elapsed: float) -> None:
    database = "PostgreSQL" if args.database else "SQLite (one shared file)"
    lines = [
        f"Two replicas (`deflect serve --snapshots`, {args.workers} workers × {args.threads} threads each) over "
        f"{database}, {args.clients} clients for {elapsed / 60:.1f} min mixing suggest (70 %), feedback (20 %) and "
        f"gap workflow updates (10 %), each client sending to either replica and failing over "
        f"(`scripts/bench_replicas.py --duration {args.duration:.0f}`"
        + (" --database URL --restart-postgres CMD" if args.restart_postgres else
           " --database URL" if args.database else "") + f"; {cpu_name()}, "
        f"{datetime.now(UTC):%Y-%m-%d}).",
        "",
        "| requests answered | req/s | p50 | p99 | 5xx | 503 + Retry-After | fail-overs | gave up |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {s['ok']} | {s['req_per_s']} | {s['p50_ms']} ms | {s['p99_ms']} ms | {s['5xx']} | "
        f"{s['503_retry_after']} | {s['failovers']} | {sum(s['gave_up'].values())} |",
        "",
        "| rows | acknowledged (2xx) | in the database | lost | duplicated |",
        "|---|---:|---:|---:|---:|",
        f"| inquiries | {s['inquiries_acknowledged']} | {s['inquiries_stored']} | {s['inquiries_lost']} | "
        f"{s['inquiries_duplicated']} |",
        f"| feedback votes | {s['votes_acknowledged']} | {s['votes_stored']} | {s['votes_lost']} | "
        f"{s['votes_duplicated']} |",
        f"| gap topics updated (last owner kept) | {s['gap_topics_updated']} | {s['gap_topics_updated']} | "
        f"{s['gap_updates_lost']} | – |",
        "",
        "During the run: " + "; ".join(s["events"]) + ". Inquiries stored for a request whose replica died "
        f"before answering (the client then asked the other one): {s['inquiries_stored_unanswered']}.",
    ]
    replace_section(args.out, "replicas", "\n".join(lines))


if __name__ == "__main__":
    main()
