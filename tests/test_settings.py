"""deflect.settings: one table, loaded from the environment with overrides, typed, and documented."""
from __future__ import annotations

import pytest

from deflect import settings
from deflect.devtools import settings_doc
from deflect.errors import SettingError
from deflect.home import Home


def test_defaults_when_the_environment_is_empty():
    loaded = settings.load(env={})
    assert loaded["trust_proxy"] == 0 and loaded["draft_ticket_min_score"] is None
    assert loaded["rate_limit"] == settings.DEFAULT_RATE_LIMIT and loaded["widget_origins"] == []
    assert set(loaded.sources.values()) == {"default"}
    loaded["widget_origins"].append("x")  # each load has its own lists, the table's default is untouched
    assert settings.load(env={})["widget_origins"] == []


def test_environment_values_are_converted():
    env = {"DEFLECT_TRUST_PROXY": "2", "DEFLECT_DRAFT_TICKET_MIN_SCORE": "0.8", "DEFLECT_HOME": "",
           "DEFLECT_WIDGET_ORIGINS": "https://a.example, ,https://b.example",
           "DEFLECT_RATE_LIMIT": "suggest=10/minute, feedback=off", "DEFLECT_DRAFT_SIGNATURE": " Team "}
    loaded = settings.load(env=env)
    assert loaded["trust_proxy"] == 2 and loaded["draft_ticket_min_score"] == 0.8
    assert loaded["widget_origins"] == ["https://a.example", "https://b.example"]
    assert loaded["rate_limit"] == {"suggest": "10/minute", "feedback": "off"}
    assert loaded["draft_signature"] == "Team"
    assert loaded["home"] is None and loaded.sources["home"] == "default"  # empty counts as unset
    assert loaded.sources["trust_proxy"] == "env"
    # the company's own numbers and domains, and the shapes of its customer numbers
    privacy = settings.load(env={"DEFLECT_PRIVACY_ALLOW": "0800 123 456 7, @rheinblick.example",
                                 "DEFLECT_PRIVACY_PATTERNS": r" 4711-\d{4}  RZ\d{10} "})
    assert privacy["privacy_allow"] == ["0800 123 456 7", "@rheinblick.example"]
    assert privacy["privacy_patterns"] == [r"4711-\d{4}", r"RZ\d{10}"]


def test_overrides_win_and_are_checked_too():
    loaded = settings.load(env={"DEFLECT_TRUST_PROXY": "2"}, overrides={"trust_proxy": "1", "model": None})
    assert loaded["trust_proxy"] == 1 and loaded.sources["trust_proxy"] == "override"
    assert loaded.sources["model"] == "default"
    with pytest.raises(SettingError, match="--trust-proxy"):
        settings.load(env={}, overrides={"trust_proxy": 99})
    with pytest.raises(SettingError, match="unknown setting 'colour'"):
        settings.load(env={}, overrides={"colour": "blue"})


@pytest.mark.parametrize("name, value", [
    ("DEFLECT_TRUST_PROXY", "two"), ("DEFLECT_TRUST_PROXY", "-1"), ("DEFLECT_MAX_CONTENT_LENGTH", "1.5"),
    ("DEFLECT_DRAFT_TICKET_MIN_SCORE", "high"), ("DEFLECT_DRAFT_TICKET_MIN_SCORE", "1.5"),
    ("DEFLECT_RATE_LIMIT", "5/fortnight"), ("DEFLECT_RATE_LIMIT", "search=5/minute"),
    ("DEFLECT_RATE_LIMIT", "suggest=5/minute,feedback"),
    # addresses a browser, a draft's reader or the hook could not use
    ("DEFLECT_WIDGET_ORIGINS", "www.example.com"), ("DEFLECT_WIDGET_ORIGINS", "https://www.example.com/hilfe"),
    ("DEFLECT_HELP_CENTER_URL", "help.example.com"), ("DEFLECT_INCIDENT_HOOK_URL", "notaurl"),
    ("DEFLECT_PRIVACY_PATTERNS", "4711-(\\d{4}"),
])
def test_a_bad_value_names_its_variable(name, value):
    with pytest.raises(SettingError) as caught:
        settings.load(env={name: value})
    assert str(caught.value).startswith(f"{name}={value!r} is not a valid ")
    assert caught.value.hint.startswith(name)


def test_every_setting_has_a_flask_key_an_option_and_a_meaning():
    names = [s.name for s in settings.SETTINGS]
    assert len(names) == len(set(names))
    for s in settings.SETTINGS:
        assert s.env == "DEFLECT_" + s.name.upper() and s.option.startswith("--") and s.help.endswith(".")
    assert set(settings.load(env={}).flask_config()) == {s.config for s in settings.SETTINGS}


def test_create_app_reads_the_settings_and_test_config_overrides(monkeypatch, tmp_path):
    from deflect.web import create_app
    monkeypatch.setenv("DEFLECT_DRAFT_SIGNATURE", "Ihr Team")
    monkeypatch.setenv("DEFLECT_DRAFT_TICKET_MIN_SCORE", "0.75")
    monkeypatch.setenv("DEFLECT_MAX_CONTENT_LENGTH", "1000")
    monkeypatch.setenv("DEFLECT_HOME", str(tmp_path))
    app = create_app({"TESTING": True, "DRAFT_TICKET_MIN_SCORE": 0.6})
    assert app.config["DRAFT_SIGNATURE"] == "Ihr Team" and app.config["MAX_CONTENT_LENGTH"] == 1000
    assert app.config["DRAFT_TICKET_MIN_SCORE"] == 0.6 and app.config["DEFLECT_HOME"] == str(tmp_path)
    monkeypatch.setenv("DEFLECT_RATE_LIMIT", "often")
    with pytest.raises(SettingError, match="DEFLECT_RATE_LIMIT"):
        create_app({"TESTING": True})


def test_home_comes_from_the_home_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("DEFLECT_HOME", str(tmp_path / "data"))
    assert Home.resolve().path == (tmp_path / "data").resolve()
    assert Home.resolve(tmp_path).path == tmp_path.resolve()
    monkeypatch.delenv("DEFLECT_HOME")
    monkeypatch.chdir(tmp_path)
    assert Home.resolve().path == tmp_path.resolve()


def test_readme_settings_table_is_up_to_date():
    assert settings_doc.main(["--check"]) == 0, "run python -m deflect.devtools.settings_doc"


def test_settings_doc_rewrites_only_its_section(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{settings_doc.START}\nold table\n{settings_doc.END}\nrest\n", encoding="utf-8")
    assert settings_doc.main(["--check"], readme=readme) == 1
    assert settings_doc.main([], readme=readme) == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("intro\n") and text.endswith("\nrest\n") and "old table" not in text
    assert "`DEFLECT_DRAFT_SIGNATURE`" in text and settings_doc.main(["--check"], readme=readme) == 0


def test_an_env_file_before_the_command_gives_it_the_services_home(tmp_path, monkeypatch):
    """`deflect --env-file /etc/deflect/deflect.env keys create ...`: the key lands where the service
    reads keys, not in the current folder."""
    from click.testing import CliRunner

    from deflect.cli import cli
    from deflect.store import open_store

    service = tmp_path / "service-home"
    env = tmp_path / "deflect.env"
    env.write_text(f"# as the service reads it\nDEFLECT_HOME={service}\n")
    monkeypatch.setenv("DEFLECT_HOME", str(tmp_path / "elsewhere"))   # restored after the test
    r = CliRunner().invoke(cli, ["--env-file", str(env), "keys", "create", "--name", "ops", "--scope", "admin"])
    assert r.exit_code == 0, r.output
    store = open_store(service / "deflect.db")
    assert [row[0] for row in store.db.execute("select name from api_keys")] == ["ops"]
    store.close()
    assert not (tmp_path / "elsewhere").exists()
    bad = tmp_path / "bad.env"
    bad.write_text("no equals sign\n")
    r = CliRunner().invoke(cli, ["--env-file", str(bad), "status"])
    assert r.exit_code == 1 and "expected NAME=value" in r.output
    # a misspelt setting is refused, not ignored (the widget's origin would be missing without a word)
    bad.write_text("DEFLECT_WIDGET_ORIGIN=https://www.example.de\nHF_HUB_OFFLINE=1\n")
    r = CliRunner().invoke(cli, ["--env-file", str(bad), "status"])
    assert r.exit_code == 1 and "DEFLECT_WIDGET_ORIGIN is no setting of deflect: did you mean " \
                                "DEFLECT_WIDGET_ORIGINS?" in r.output
