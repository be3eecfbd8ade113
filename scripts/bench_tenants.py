"""Memory of a multi-tenant instance: worker RSS of `deflect serve` with one help center, with the two
of the demo (scripts/demo_tenants.py) under --tenants, and of two single-home instances side by side.

Each configuration is started with 1 worker and 4 threads, asked until every help center answers (the
model and each index loaded, warmed by a few suggests), and measured from /proc (VmRSS of the master and
its worker). The help centers share one model per process, so a second one should cost about its index
and store, not another model. Writes the "tenants" section of docs/benchmarks.md.

    python -m scripts.bench_tenants [--folder demo-tenants]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from scripts.common import DOCS, QUIET_ENV, ROOT, deflect_command, replace_section
from scripts.demo_tenants import HELP_CENTERS, build

QUESTIONS = ["Meine Zeitung ist heute nicht gekommen", "Wie kündige ich mein Abo?",
             "Was kostet es, wenn ich die Reise absagen muss?", "Wann kommen die Reiseunterlagen?"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:   # the first waits for the model
        return json.load(response)


def serve(args: list[str], bases: list[str]) -> tuple[float, float]:
    """Start `deflect serve ARGS`, warm every API base in ``bases``; (master MiB, worker MiB)."""
    port = free_port()
    process = subprocess.Popen([*deflect_command(), "serve", *args, "--port", str(port), "--workers", "1",
                                "--threads", "4"], env={**os.environ, **QUIET_ENV},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        for base in bases:
            while True:
                try:
                    for question in QUESTIONS:
                        post(f"http://127.0.0.1:{port}{base}/api/v1/suggest", {"text": question})
                    break
                except (urllib.error.URLError, OSError):   # not listening yet
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise SystemExit(f"deflect serve {' '.join(args)} did not come up") from None
                    time.sleep(1)
        time.sleep(2)
        workers = children(process.pid)
        return rss_mib(process.pid), sum(rss_mib(w) for w in workers)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=ROOT / "demo-tenants", help="the demo's tenants folder")
    args = parser.parse_args()
    folder = args.folder.resolve()
    build(folder, refresh=False)
    names = list(HELP_CENTERS)
    rows = []
    with tempfile.TemporaryDirectory() as one:
        os.symlink(folder / names[0], Path(one) / names[0])
        rows.append((f"one help center, single home (`--home {names[0]}`)",
                     serve(["--home", str(folder / names[0])], [""])))
        rows.append((f"one help center under `--tenants` ({names[0]})",
                     serve(["--tenants", one], [f"/t/{names[0]}"])))
    rows.append((f"two help centers under `--tenants` ({' + '.join(names)})",
                 serve(["--tenants", str(folder)], [f"/t/{n}" for n in names])))
    apart = [serve(["--home", str(folder / n)], [""]) for n in names]
    rows.append(("two single-home instances side by side (sum)",
                 (sum(m for m, _ in apart), sum(w for _, w in apart))))
    lines = ["| instance (1 worker x 4 threads) | worker RSS MiB | master RSS MiB | total MiB |",
             "|---|---:|---:|---:|"]
    for label, (master, worker) in rows:
        lines.append(f"| {label} | {worker:.0f} | {master:.0f} | {master + worker:.0f} |")
    one_tenant, two_tenants = rows[1][1][1], rows[2][1][1]
    lines.append("")
    lines.append(f"The second help center adds {two_tenants - one_tenant:.0f} MiB to the worker (its index, store "
                 f"and app); a second instance for it would add {apart[1][0] + apart[1][1]:.0f} MiB "
                 "(python -m scripts.bench_tenants; RSS from /proc after warming every help center).")
    block = "\n".join(lines)
    print(block)
    replace_section(DOCS / "benchmarks.md", "tenants", block)


if __name__ == "__main__":
    main()
