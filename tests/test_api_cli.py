"""`deflect keys` and `deflect serve` (without starting a server)."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import deflect.cli.serve as serve_cli
from deflect.cli import cli
from deflect.home import Home
from deflect.store import Store
from deflect.store.service import hash_key, verify_key

# every test here runs on both store backends (SQLite, PostgreSQL): see conftest.database
pytestmark = pytest.mark.usefixtures("database")

ROOT = Path(__file__).resolve().parents[1]


def test_keys_create_list_revoke(tmp_path):
    runner = CliRunner()
    home = str(tmp_path / "home")
    r = runner.invoke(cli, ["keys", "create", "--name", "helpdesk", "--home", home])
    assert r.exit_code == 0, r.output
    key = r.output.strip().splitlines()[-1]
    assert key.startswith("dfk_") and len(key) > 40
    quiet = runner.invoke(cli, ["keys", "create", "--name", "cms", "--scope", "admin", "--quiet",
                                "--home", home])
    admin_key = quiet.output.strip()
    assert admin_key.startswith("dfk_") and "\n" not in admin_key

    store = Store(Home.resolve(home).database)
    stored = json.dumps(list(store.db["api_keys"].rows))
    assert key not in stored and admin_key not in stored and hash_key(key) in stored
    assert verify_key(store, key)["scope"] == "agent" and verify_key(store, admin_key)["scope"] == "admin"

    listed = runner.invoke(cli, ["keys", "list", "--json", "--home", home])
    rows = json.loads(listed.output)
    assert [(r["name"], r["scope"], r["revoked_at"]) for r in rows] == [("helpdesk", "agent", None),
                                                                        ("cms", "admin", None)]
    assert "key_hash" not in rows[0]
    table = runner.invoke(cli, ["keys", "list", "--home", home]).output
    assert "helpdesk" in table and key not in table

    r = runner.invoke(cli, ["keys", "revoke", rows[0]["id"], "--home", home])
    assert r.exit_code == 0 and "revoked" in r.output
    assert verify_key(store, key) is None and verify_key(store, admin_key) is not None
    r = runner.invoke(cli, ["keys", "revoke", rows[0]["id"], "--home", home])
    assert r.exit_code != 0 and "no active key" in r.output
    r = runner.invoke(cli, ["keys", "create", "--name", "x", "--scope", "root", "--home", home])
    assert r.exit_code != 0
    store.close()


def test_serve_refuses_a_home_without_index(tmp_path):
    r = CliRunner().invoke(cli, ["serve", "--home", str(tmp_path)])
    assert r.exit_code != 0 and "no index" in r.output and "deflect index" in r.output


def _built_home(path) -> None:
    """A home as `deflect index` leaves it: a store (SQLite unless the test runs on PostgreSQL) and an index."""
    from deflect.home import Home
    from deflect.store import open_store

    open_store(Home.resolve(path).database).close()
    (path / "index").mkdir()
    (path / "index" / "manifest.json").write_text("{}")


def test_serve_passes_options_to_gunicorn(tmp_path, monkeypatch):
    _built_home(tmp_path)
    seen = {}

    def fake_run(config, host, port, workers, threads, timeout, access_log=False, **kw):
        seen.update(config=config, host=host, port=port, workers=workers, threads=threads, timeout=timeout)

    monkeypatch.setattr(serve_cli, "run_gunicorn", fake_run)
    monkeypatch.setattr(serve_cli, "check_port", lambda host, port: None)   # whatever else runs on 8123
    r = CliRunner().invoke(cli, ["serve", "--home", str(tmp_path), "--port", "8123", "--workers", "2",
                                 "--threads", "8", "--widget-origin", "https://help.example.com",
                                 "--rate-limit", "10/minute", "--trust-proxy", "1"])
    assert r.exit_code == 0, r.output
    config = seen.pop("config")
    assert {k: config[k] for k in ("DEFLECT_HOME", "WIDGET_ORIGINS", "RATE_LIMIT", "TRUST_PROXY")} == {
        "DEFLECT_HOME": str(tmp_path.resolve()), "WIDGET_ORIGINS": ["https://help.example.com"],
        "RATE_LIMIT": "10/minute", "TRUST_PROXY": 1}
    assert config["DRAFT_TICKET_MIN_SCORE"] is None and config["DRAFT_SIGNATURE"] is None  # the rest: defaults
    assert seen == {"host": "127.0.0.1", "port": 8123, "workers": 2, "threads": 8, "timeout": 120}


def test_serve_refuses_a_port_another_program_listens_on(tmp_path, monkeypatch):
    _built_home(tmp_path)
    started = []
    monkeypatch.setattr(serve_cli, "run_gunicorn", lambda *a, **kw: started.append(True))
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        r = CliRunner().invoke(cli, ["serve", "--home", str(tmp_path), "--port", str(port)])
    assert r.exit_code != 0 and not started
    assert f"cannot listen on 127.0.0.1:{port}" in r.output and f"PORT={port + 1} make demo" in r.output


def test_workers_use_one_compute_thread():
    code = ("import os, torch, faiss; from deflect.cli.serve import limit_threads; limit_threads(); "
            "print(torch.get_num_threads(), faiss.omp_get_max_threads(), os.environ['OMP_NUM_THREADS'])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "1", "1"]


def test_serve_takes_every_setting_from_env_or_option(tmp_path, monkeypatch):
    _built_home(tmp_path)
    seen = {}
    monkeypatch.setattr(serve_cli, "run_gunicorn", lambda config, *a, **kw: seen.update(config))
    monkeypatch.setattr(serve_cli, "check_port", lambda host, port: None)   # a `make demo` may hold 8000
    monkeypatch.setenv("DEFLECT_DRAFT_SIGNATURE", "Ihr Rheinblick-Team")
    monkeypatch.setenv("DEFLECT_DRAFT_TICKET_MIN_SCORE", "0.7")
    monkeypatch.setenv("DEFLECT_MODEL", "minilm")
    monkeypatch.setenv("DEFLECT_WIDGET_ORIGINS", "https://a.example, https://b.example")
    r = CliRunner().invoke(cli, ["serve", "--home", str(tmp_path), "--draft-ticket-min-score", "0.9",
                                 "--help-center-url", "https://help.example.com"])
    assert r.exit_code == 0, r.output
    assert seen["DRAFT_SIGNATURE"] == "Ihr Rheinblick-Team" and seen["DEFLECT_MODEL"] == "minilm"
    assert seen["DRAFT_TICKET_MIN_SCORE"] == 0.9  # the option wins over the environment
    assert seen["HELP_CENTER_URL"] == "https://help.example.com"
    assert seen["WIDGET_ORIGINS"] == ["https://a.example", "https://b.example"]


def test_serve_names_the_bad_setting(tmp_path, monkeypatch):
    _built_home(tmp_path)
    monkeypatch.setattr(serve_cli, "run_gunicorn", lambda *a, **kw: None)
    monkeypatch.setenv("DEFLECT_TRUST_PROXY", "many")
    r = CliRunner().invoke(cli, ["serve", "--home", str(tmp_path)])
    assert r.exit_code != 0 and "DEFLECT_TRUST_PROXY='many'" in r.output
    monkeypatch.delenv("DEFLECT_TRUST_PROXY")
    r = CliRunner().invoke(cli, ["serve", "--home", str(tmp_path), "--rate-limit", "lots"])
    assert r.exit_code != 0 and "--rate-limit='lots'" in r.output


def test_status_in_an_empty_folder_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DEFLECT_HOME", raising=False)
    r = CliRunner().invoke(cli, ["status"])
    assert r.exit_code == 1 and "no deflect data here" in r.output and "--home" in r.output
    assert list(tmp_path.iterdir()) == []
    r = CliRunner().invoke(cli, ["status", "--home", str(tmp_path / "missing")])
    assert r.exit_code == 1 and not (tmp_path / "missing").exists()


def test_settings_command_shows_value_and_source(monkeypatch, tmp_path):
    monkeypatch.setenv("DEFLECT_TRUST_PROXY", "2")
    monkeypatch.delenv("DEFLECT_RATE_LIMIT", raising=False)
    r = CliRunner().invoke(cli, ["settings", "--json"])
    rows = {row["name"]: row for row in json.loads(r.output)}
    assert rows["trust_proxy"] == {"name": "trust_proxy", "value": 2, "source": "env", "env": "DEFLECT_TRUST_PROXY"}
    assert rows["rate_limit"]["source"] == "default"
    table = CliRunner().invoke(cli, ["settings"]).output
    assert "from DEFLECT_TRUST_PROXY" in table and "draft_ticket_min_score" in table
    # a value the service's env file gives is said to come from that file
    env = tmp_path / "deflect.env"
    env.write_text("DEFLECT_RATE_LIMIT=90/minute\n", encoding="utf-8")
    monkeypatch.setenv("DEFLECT_RATE_LIMIT", "")     # what the file sets goes again after the test
    table = CliRunner().invoke(cli, ["--env-file", str(env), "settings"]).output
    assert f"from DEFLECT_RATE_LIMIT in {env}" in table and "(from DEFLECT_TRUST_PROXY)" in table
    rows = {row["name"]: row for row in json.loads(CliRunner().invoke(cli, ["--env-file", str(env), "settings",
                                                                           "--json"]).output)}
    assert rows["rate_limit"]["source"] == "env_file" and rows["rate_limit"]["env_file"] == str(env)
    assert rows["trust_proxy"]["source"] == "env"
    monkeypatch.setenv("DEFLECT_METRICS_KEY", "a-long-random-token")   # a secret is said to be set, not shown
    for args in (["settings"], ["settings", "--json"]):
        out = CliRunner().invoke(cli, args).output
        assert "a-long-random-token" not in out and "***" in out
