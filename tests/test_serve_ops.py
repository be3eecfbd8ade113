"""`deflect serve` as operators run it: request metrics summed over the gunicorn workers, SIGHUP
re-reading the --env-file without dropping requests, and JSON log lines."""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
DEFLECT = Path(sys.executable).parent / "deflect"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port: int, method: str, path: str, body: dict | None = None, key: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _suggest_count(port: int, key: str) -> float:
    status, data = _request(port, "GET", "/metrics", key=key)
    assert status == 200
    for family in text_string_to_metric_families(data.decode()):
        for s in family.samples:
            if (s.name == "deflect_http_request_duration_seconds_count"
                    and s.labels == {"method": "POST", "endpoint": "/api/v1/suggest", "status": "200"}):
                return s.value
    return 0.0


def _wait(condition, timeout: float, what: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"deflect serve exited:\n{log.read_text()[-3000:]}"
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{what} not within {timeout} s:\n{log.read_text()[-3000:]}")


def test_metrics_over_workers_sighup_reload_and_json_logs(demo_home, tmp_path):
    env_file = tmp_path / "deflect.env"
    env_file.write_text("DEFLECT_METRICS_KEY=first\nDEFLECT_RATE_LIMIT=0\n")
    log = tmp_path / "serve.log"
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEFLECT_")}
    with log.open("wb") as out:
        proc = subprocess.Popen([str(DEFLECT), "serve", "--home", str(demo_home), "--port", str(port),
                                 "--workers", "2", "--threads", "2", "--env-file", str(env_file), "--access-log"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: _request(port, "GET", "/readyz")[0] == 200, 300, "ready", proc, log)
        for i in range(10):
            status, _ = _request(port, "POST", "/api/v1/suggest", {"text": f"Wie kündige ich mein Abo? {i}"})
            assert status == 200
        assert _request(port, "GET", "/metrics")[0] == 401
        # a local client's forwarded headers do not move the pages' links elsewhere
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/", headers={"SCRIPT_NAME": "//evil.example", "X-Forwarded-Proto": "https"})
        page = conn.getresponse().read().decode()
        conn.close()
        assert "evil.example" not in page and "https://127.0.0.1" not in page
        # the access log keeps the path, never what the customer searched for
        assert _request(port, "GET", "/search?q=ich+hei%C3%9Fe+anna+schmidt+0171+1234567")[0] == 200
        _wait(lambda: '"GET /search HTTP/1.1" 200' in log.read_text(errors="replace"), 30, "access log", proc, log)
        assert "anna" not in log.read_text(errors="replace")
        # nor does a request line gunicorn cannot parse (a scanner's), which its error log quotes
        with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
            raw.sendall(b"GET /search?q=hannelore.kruemmel@web.de\x01 HTTP/1.1\r\nHost: x\r\n\r\n")
            raw.recv(1024)
        _wait(lambda: "Invalid request" in log.read_text(errors="replace"), 30, "error log", proc, log)
        assert "kruemmel" not in log.read_text(errors="replace")
        # every scrape (whichever worker answers it) counts the requests of both workers
        assert [_suggest_count(port, "first") for _ in range(4)] == [10.0] * 4

        env_file.write_text("DEFLECT_METRICS_KEY=second\nDEFLECT_RATE_LIMIT=0\nDEFLECT_LOG_FORMAT=json\n")
        mark = log.stat().st_size
        os.kill(proc.pid, signal.SIGHUP)
        answered = []

        def reloaded() -> bool:
            answered.append(_request(port, "GET", "/healthz")[0])   # requests go on during the reload
            return _request(port, "GET", "/metrics", key="second")[0] == 200
        _wait(reloaded, 300, "the new settings", proc, log)
        assert set(answered) == {200}
        _wait(lambda: _request(port, "GET", "/metrics", key="first")[0] == 401, 120, "old workers gone", proc, log)

        status, _ = _request(port, "POST", "/api/v1/suggest", {"text": "I forgot my password"})
        assert status == 200
        assert _suggest_count(port, "second") == 11.0   # the old workers' requests stay counted

        lines = [line for line in log.read_bytes()[mark:].decode(errors="replace").splitlines() if line.startswith("{")]
        entries = [json.loads(line) for line in lines]
        assert any(e["logger"] == "gunicorn.error" and "Booting worker" in e["message"] for e in entries)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert proc.returncode == 0


def test_ctrl_c_while_the_worker_boots_stops_at_once(demo_home, tmp_path):
    """Ctrl-C reaches the whole process group; a worker still importing torch must not hold the stop
    for gunicorn's graceful timeout (30 s)."""
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEFLECT_")}
    with log.open("wb") as out:
        proc = subprocess.Popen([str(DEFLECT), "serve", "--home", str(demo_home), "--port", str(_port())],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(lambda: "Booting worker" in log.read_text(errors="replace"), 120, "a worker", proc, log)
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert "SIGKILL" not in log.read_text(errors="replace")


def test_the_error_log_keeps_no_words_of_a_request_it_cannot_parse():
    import logging

    from deflect.cli.serve import _without_queries

    for error in ("Invalid HTTP request line: 'GET /search?q=hannelore.kruemmel@web.de\\x01 HTTP/1.1'",
                  "Invalid HTTP Version: 'schmidt 0171-1234567 HTTP/1.1'",
                  "Invalid HTTP request line: \"GET /search?q='neil.kruemmel@web.de\\x01 HTTP/1.1\""):
        record = logging.LogRecord("gunicorn.error", logging.WARNING, __file__, 1, "Invalid request from ip=%s: %s",
                                   ("127.0.0.1", error), None)
        assert _without_queries(record)
        said = record.getMessage()
        assert "kruemmel" not in said and "0171" not in said and "schmidt" not in said and "127.0.0.1" in said


def test_the_global_env_file_is_read_again_on_sighup(demo_home, tmp_path, monkeypatch):
    """`deflect --env-file FILE serve` (or DEFLECT_ENV_FILE) is the service's file as much as `serve --env-file`:
    a reload reads it again, and a setting taken out of it goes back to its default."""
    from click.testing import CliRunner

    from deflect.cli import cli
    from deflect.cli import serve as serve_module

    env_file = tmp_path / "deflect.env"
    env_file.write_text("DEFLECT_SITE_NAME=Rheinblick\n")
    started = {}
    monkeypatch.setattr(serve_module, "run_gunicorn", lambda config, *args, reread, **kw: started.update(
        config=config, reread=reread))
    monkeypatch.delenv("DEFLECT_SITE_NAME", raising=False)
    saved = dict(os.environ)   # the command puts the file's settings into this process's environment
    try:
        r = CliRunner().invoke(cli, ["--env-file", str(env_file), "serve", "--home", str(demo_home), "--port",
                                     str(_port())])
        assert r.exit_code == 0, r.output
        assert started["config"]["SITE_NAME"] == "Rheinblick"
        env_file.write_text("DEFLECT_SITE_NAME=Rheinblick Zeitung\n")
        assert started["reread"]()["SITE_NAME"] == "Rheinblick Zeitung"
        env_file.write_text("")
        assert not started["reread"]().get("SITE_NAME")
    finally:
        os.environ.clear()
        os.environ.update(saved)
