"""docs/deploy.md: the systemd unit's command line is one the CLI accepts, and the nginx snippet points
at the address the unit binds and keeps the operator endpoints internal."""
from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import click

from deflect.cli import cli

DOC = Path(__file__).resolve().parent.parent / "docs" / "deploy.md"


def _block(language: str, containing: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return next(b for b in blocks if containing in b)


def _unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str
    unit.read_string(_block("ini", "[Service]"))
    return unit


def _serve_params() -> dict:
    argv = shlex.split(_unit()["Service"]["ExecStart"])
    assert Path(argv[0]).name == "deflect"
    assert argv[1] == "serve"
    parent = click.Context(cli, info_name="deflect")
    command = cli.get_command(parent, "serve")
    return command.make_context("serve", argv[2:], parent=parent).params   # raises on anything serve does not take


def test_unit_exec_start_parses_with_the_cli():
    params = _serve_params()
    assert params["workers"] >= 1 and params["threads"] >= 1 and params["env_file"]
    assert params["host"] == "127.0.0.1"   # only the proxy reaches gunicorn


def test_unit_reloads_with_sighup_and_stops_after_graceful_timeout():
    service = _unit()["Service"]
    assert service["ExecReload"].split()[-2:] == ["-HUP", "$MAINPID"]
    assert int(service["TimeoutStopSec"]) > 30   # gunicorn's graceful_timeout


def test_nginx_proxies_to_the_unit_and_guards_operator_endpoints():
    params = _serve_params()
    nginx = _block("nginx", "upstream")
    assert re.search(rf"server {re.escape(params['host'])}:{params['port']};", nginx)
    guarded = re.search(r"location ~ (\S+) \{(.*?)\}", nginx, re.S)
    operator = re.compile(guarded.group(1))   # nginx's regular expressions read as Python's here
    for path in ("/metrics", "/readyz", "/healthz", "/t/rheinblick/metrics", "/t/leserreisen/readyz"):
        assert operator.search(path), path
    for path in ("/api/v1/suggest", "/t/rheinblick/api/v1/suggest", "/metrics/x", "/search"):
        assert not operator.search(path), path
    assert "deny all;" in guarded.group(2)
    assert int(params["trust_proxy"]) == 1   # exactly the one proxy in front


def test_env_file_example_holds_only_known_settings():
    from deflect import settings
    lines = [line for line in _block("sh", "DEFLECT_").splitlines() if line and not line.startswith("#")]
    known = {s.env for s in settings.SETTINGS}
    assert lines and all(line.split("=", 1)[0] in known for line in lines)
