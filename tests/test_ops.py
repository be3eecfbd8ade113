"""Operator endpoints: /healthz, /readyz, the Prometheus /metrics, JSON log lines, the env file."""
from __future__ import annotations

import json
import logging
import os

import pytest
from api_support import bearer, make_app, new_key
from prometheus_client.parser import text_string_to_metric_families

from deflect import settings
from deflect.errors import SettingError
from deflect.index.files import FORMAT
from deflect.logs import JsonFormatter


def _samples(text: str) -> dict[tuple, float]:
    """(sample name, sorted label items) -> value."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _count(samples: dict, endpoint: str, method: str = "POST", status: str = "200") -> float:
    key = ("deflect_http_request_duration_seconds_count",
           tuple(sorted({"endpoint": endpoint, "method": method, "status": status}.items())))
    return samples.get(key, 0.0)


def test_healthz_answers_without_database_or_index(tmp_path):
    from deflect.web import create_app
    home = tmp_path / "nothing-here"
    client = create_app({"TESTING": True, "DEFLECT_HOME": str(home)}).test_client()
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"ok": True}
    assert not home.exists()   # neither a database nor an index was opened


def test_readyz_is_ready_with_an_index_and_a_store(tmp_path):
    app, _ = make_app(tmp_path)
    r = app.test_client().get("/readyz")
    assert r.status_code == 200 and r.get_json()["ok"] is True


def test_readyz_says_why_not_ready(tmp_path):
    from deflect.web import create_app
    home = tmp_path / "home"
    (home / "deflect.db").mkdir(parents=True)   # a database that cannot be opened, and no index
    r = create_app({"TESTING": True, "DEFLECT_HOME": str(home)}).test_client().get("/readyz")
    assert r.status_code == 503 and r.headers["Retry-After"]
    body = r.get_json()
    assert body["ok"] is False
    assert any(reason.startswith("index not loaded") for reason in body["reasons"])
    assert any(reason.startswith("database unreachable") for reason in body["reasons"])


def test_metrics_latency_per_route_template_and_figures_from_the_store(tmp_path):
    app, fake = make_app(tmp_path)
    client = app.test_client()
    before = _samples(client.get("/metrics").get_data(as_text=True))
    decisions = []
    for text in ("Wie kündige ich mein Abo?", "I forgot my password", "Wer gewinnt am Samstag das Spiel?"):
        r = client.post("/api/v1/suggest", json={"text": text})
        assert r.status_code == 200
        decisions.append(r.get_json()["decision"])
    inquiry = r.get_json()["id"]
    assert client.post("/api/v1/feedback", json={"inquiry_id": inquiry, "helpful": False}).status_code == 201
    key = new_key(fake, "admin")
    assert client.delete("/api/v1/articles/no-such-article", headers=bearer(key)).status_code == 404

    r = client.get("/metrics")
    assert r.status_code == 200 and r.content_type.startswith("text/plain")
    text = r.get_data(as_text=True)
    after = _samples(text)
    assert _count(after, "/api/v1/suggest") - _count(before, "/api/v1/suggest") == 3
    assert _count(after, "/api/v1/feedback", status="201") - _count(before, "/api/v1/feedback", status="201") == 1
    assert _count(after, "/api/v1/articles/<article_id>", "DELETE", "404") >= 1
    assert "no-such-article" not in text   # the route template, never the raw path
    assert client.open("/wp-login.php", method="PROPFIND").status_code in (404, 405)
    later = _samples(client.get("/metrics").get_data(as_text=True))
    assert _count(later, "unmatched", "other", "404") == 1   # a made-up method makes no series of its own
    for decision in set(decisions):   # label values as the engine decided
        key = ("deflect_inquiries_stored", (("channel", "widget"), ("decision", decision)))
        assert after[key] == decisions.count(decision)
    assert after[("deflect_feedback_stored", (("event", "not_helpful"),))] == 1
    assert after[("deflect_database_up", ())] == 1


def test_metrics_show_index_size_age_and_gap_report_age(tmp_path):
    from deflect.clock import iso, utcnow
    from deflect.gaps.runs import run_now
    app, fake = make_app(tmp_path)
    index = fake.home.index_dir
    index.mkdir(parents=True, exist_ok=True)
    (index / "manifest.json").write_text(json.dumps({
        "format": FORMAT, "model": "fake", "dim": 8, "built_at": iso(utcnow()), "updated_at": iso(utcnow()),
        "counts": {"documents": 12, "articles": 3, "tickets": 2}, "index": {"kind": "flat"},
        "files": {"vectors": "vectors-1.faiss", "docs": "docs-1.npz"}}))
    run_now(fake)
    samples = _samples(app.test_client().get("/metrics").get_data(as_text=True))
    assert samples[("deflect_index_documents", (("kind", "documents"),))] == 12
    assert samples[("deflect_index_documents", (("kind", "articles"),))] == 3
    assert 0 <= samples[("deflect_index_age_seconds", ())] < 600
    assert 0 <= samples[("deflect_gap_report_age_seconds", ())] < 600


def test_metrics_key_guards_metrics(tmp_path):
    app, _ = make_app(tmp_path, METRICS_KEY="s3cret")
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer("wrong")).status_code == 401
    r = client.get("/metrics", headers=bearer("s3cret"))
    assert r.status_code == 200 and b"deflect_http_request_duration_seconds" in r.data


def test_json_log_lines():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys
        record = logging.LogRecord("deflect.web", logging.ERROR, __file__, 1, "failed %s", ("once",), sys.exc_info())
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["level"] == "error" and entry["logger"] == "deflect.web" and entry["message"] == "failed once"
    assert "ValueError: boom" in entry["exception"] and entry["time"].endswith("+00:00")


def test_log_format_and_metrics_key_are_settings(tmp_path):
    loaded = settings.load(env={"DEFLECT_LOG_FORMAT": "JSON", "DEFLECT_METRICS_KEY": "k"})
    assert loaded["log_format"] == "json" and loaded["metrics_key"] == "k"
    with pytest.raises(SettingError, match="DEFLECT_LOG_FORMAT"):
        settings.load(env={"DEFLECT_LOG_FORMAT": "xml"})


def test_env_file(tmp_path):
    path = tmp_path / "deflect.env"
    path.write_text("# comment\n\nDEFLECT_LOG_FORMAT=json\nexport DEFLECT_DRAFT_SIGNATURE=\"Ihr Team\"\n"
                    "DEFLECT_METRICS_KEY='a=b'\n")
    assert settings.read_env_file(path) == {"DEFLECT_LOG_FORMAT": "json", "DEFLECT_DRAFT_SIGNATURE": "Ihr Team",
                                            "DEFLECT_METRICS_KEY": "a=b"}
    path.write_text("DEFLECT_LOG_FORMAT\n")
    with pytest.raises(SettingError, match="NAME=value"):
        settings.read_env_file(path)
    with pytest.raises(SettingError, match="cannot read"):
        settings.read_env_file(tmp_path / "missing.env")


def test_serve_options_and_env_file_reach_the_parts_that_read_the_environment(monkeypatch):
    """A gap report built inside the server takes its default owners from the environment: an owner given
    as a `deflect serve` option or in the env file must be there too."""
    from deflect.cli.serve import export_settings
    from deflect.gaps.fix_kind import default_owner

    monkeypatch.delenv("DEFLECT_OWNER_PRODUCT", raising=False)
    monkeypatch.delenv("DEFLECT_OWNER_PROCESS", raising=False)
    monkeypatch.setattr(os, "environ", dict(os.environ))
    export_settings({"owner_product": "App-Team", "widget_origins": ("https://a.example",)},
                    {"DEFLECT_OWNER_PROCESS": "Kundenservice"})
    assert default_owner("product") == "App-Team"
    assert default_owner("process") == "Kundenservice"


def test_a_setting_taken_out_of_the_env_file_is_gone_after_the_reload(monkeypatch):
    from deflect.cli.serve import export_settings

    monkeypatch.setattr(os, "environ", {"PATH": "/usr/bin", "DEFLECT_LOG_FORMAT": "json"})
    original = dict(os.environ)
    export_settings({}, {"DEFLECT_METRICS_KEY": "k", "DEFLECT_RATE_LIMIT": "3/minute",
                         "DEFLECT_LOG_FORMAT": "text"}, original)
    assert os.environ["DEFLECT_METRICS_KEY"] == "k" and os.environ["DEFLECT_LOG_FORMAT"] == "text"
    export_settings({}, {"DEFLECT_RATE_LIMIT": "3/minute"}, original)   # the key and the format taken out
    assert os.environ == {"PATH": "/usr/bin", "DEFLECT_LOG_FORMAT": "json", "DEFLECT_RATE_LIMIT": "3/minute"}


def test_the_services_own_lines_are_json_when_the_log_is(capsys):
    import json as json_module

    from deflect.cli.serve import say

    say("deflect: serving /srv on http://127.0.0.1:8000/", {"LOG_FORMAT": "json"})
    say("deflect: settings not reloaded", {"LOG_FORMAT": "json"}, "warning")
    say("deflect: plain", {"LOG_FORMAT": "text"})
    lines = capsys.readouterr().err.splitlines()
    first, second = (json_module.loads(line) for line in lines[:2])
    assert first["message"].startswith("deflect: serving") and first["level"] == "info"
    assert second["level"] == "warning" and lines[2] == "deflect: plain"
