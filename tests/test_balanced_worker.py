"""deflect.cli.balanced_worker: keep-alive connections that arrive together are spread over gunicorn's
workers (so a worker's concurrent requests can share one model forward), and a worker with a
connection per thread still takes more when the others are as busy."""
from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest

from deflect.cli.balanced_worker import balances_connections

APP = '''
import os, time

def app(environ, start_response):
    time.sleep(0.2)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
'''


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not balances_connections(), reason="this gunicorn's gthread worker lacks the hooks")
def test_connections_spread_over_workers(tmp_path):
    (tmp_path / "tinyapp.py").write_text(APP)
    port = _port()
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "2", "--keep-alive", "30",
             "--worker-class", "deflect.cli.balanced_worker.BalancedThreadWorker", "--chdir", str(tmp_path),
             "--bind", f"127.0.0.1:{port}", "--no-control-socket", "tinyapp:app"],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while log.read_text().count("Booting worker") < 2:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        time.sleep(1.0)   # both workers in their loops

        workers: list[str] = []
        lock = threading.Lock()

        def client() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            pids = set()
            for _ in range(3):   # one keep-alive connection: every answer from the same worker
                conn.request("GET", "/")
                response = conn.getresponse()
                assert response.status == 200
                pids.add(response.read().decode())
            conn.close()
            assert len(pids) == 1
            with lock:
                workers.extend(pids)

        clients = [threading.Thread(target=client) for _ in range(8)]
        for t in clients:
            t.start()
        for t in clients:
            t.join()
        per_worker = Counter(workers)
        assert sum(per_worker.values()) == 8   # every client answered: busy workers still accept
        assert len(per_worker) == 2 and min(per_worker.values()) >= 3, per_worker
    finally:
        proc.terminate()
        proc.wait(timeout=30)
