"""`deflect keys` and `deflect serve` (without starting a server)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

import deflect.cli.serve as serve_cli
from deflect.cli import cli
from deflect.store import Store
from deflect.store.service import hash_key, verify_key

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

    store = Store(Path(home) / "deflect.db")
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


def test_serve_passes_options_to_gunicorn(tmp_path, monkeypatch):
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "manifest.json").write_text("{}")
    seen = {}

    def fake_run(config, host, port, workers, threads, timeout, access_log=False, **kw):
        seen.update(config=config, host=host, port=port, workers=workers, threads=threads, timeout=timeout)

    monkeypatch.setattr(serve_cli, "run_gunicorn", fake_run)
    r = CliRunner().invoke(cli, ["serve", "--home", str(tmp_path), "--port", "8123", "--workers", "2",
                                 "--threads", "8", "--widget-origin", "https://help.example.com",
                                 "--rate-limit", "10/minute", "--trust-proxy", "1"])
    assert r.exit_code == 0, r.output
    assert seen == {"config": {"DEFLECT_HOME": str(tmp_path.resolve()), "WIDGET_ORIGINS": ["https://help.example.com"],
                               "RATE_LIMIT": "10/minute", "TRUST_PROXY": 1},
                    "host": "127.0.0.1", "port": 8123, "workers": 2, "threads": 8, "timeout": 120}


def test_workers_use_one_compute_thread():
    code = ("import os, torch, faiss; from deflect.cli.serve import limit_threads; limit_threads(); "
            "print(torch.get_num_threads(), faiss.omp_get_max_threads(), os.environ['OMP_NUM_THREADS'])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "1", "1"]
