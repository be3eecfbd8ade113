"""Cold start: the answer / no-answer decision of a help center with no ticket and no labelled file,
what `deflect status` says it was fitted on, and the refit in the service as tickets arrive."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from api_support import bearer
from click.testing import CliRunner

from deflect.cli import cli
from deflect.home import Home
from deflect.store.service import create_key

ROOT = Path(__file__).resolve().parent.parent
FAQ = ROOT / "faq_articles"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cold_home_template(tmp_path_factory, demo_home_template) -> Path:
    """The demo help center's articles only (no tickets), indexed with the default model."""
    from deflect.embedder import load_embedder
    from deflect.index import build as indexer
    from deflect.ingest import ingest
    from deflect.store import open_store

    home = Home(tmp_path_factory.mktemp("cold-home")).ensure()
    store = open_store(home.db_path)
    ingest(store, [p for p in sorted(FAQ.iterdir()) if p.is_dir() and p.name != "tickets"])
    indexer.build(store, load_embedder(), home.index_dir)
    store.close()
    return home.path


@pytest.fixture
def cold_home(cold_home_template, tmp_path) -> Path:
    target = tmp_path / "cold"
    shutil.copytree(cold_home_template, target)
    return target


def test_calibrate_without_tickets_or_labels_fits_the_decision_from_the_help_center(cold_home):
    from deflect.deflector import Deflector

    runner = CliRunner()
    result = runner.invoke(cli, ["calibrate", "--home", str(cold_home)])
    assert result.exit_code == 0, result.output
    assert "calibration: self-supervised from 54 articles' texts" in result.output
    status = runner.invoke(cli, ["status", "--home", str(cold_home)])
    assert "calibration: self-supervised from 54 articles' texts (" in status.output
    assert "questions" in status.output and "passages" in status.output
    engine = Deflector.open(cold_home)
    assert engine.calibrator is not None
    # a customer's own words for an article's question are answered, off-topic questions are not
    answered = engine.suggest("Ich komme nicht in mein E-Paper rein, das Login klappt nicht")
    assert answered.decision == "answer" and answered.articles[0].id == "epaper-login"
    for text in ("What is the capital of France?", "Wie kann ich"):
        assert engine.suggest(text).decision == "no_answer", text
    engine.close()


def labelled_file(path: Path, rows: list[tuple[str, str | None]]) -> Path:
    """A labelled file of (text, expected article) rows, numbered from 1."""
    path.write_text("".join(json.dumps({"id": str(i), "text": text, "expected_article": article}) + "\n"
                            for i, (text, article) in enumerate(rows, 1)))
    return path


def test_status_says_what_the_calibration_was_fitted_on(cold_home, tmp_path):
    labelled = labelled_file(tmp_path / "dev.jsonl", [
        ("Ich komme nicht ins E-Paper", "epaper-login"), ("Wie kündige ich mein Abo?", None),
        ("Zeitung kam nicht", None), ("What is the capital of France?", None)])
    runner = CliRunner()
    assert "calibration: none" in runner.invoke(cli, ["status", "--home", str(cold_home)]).output
    result = runner.invoke(cli, ["calibrate", str(labelled), "--home", str(cold_home), "--force"])
    assert result.exit_code == 0, result.output
    warning = "caution: few labelled inquiries (1 with an article, 3 without; "
    assert warning in result.output
    status = runner.invoke(cli, ["status", "--home", str(cold_home)])
    assert warning in status.output
    assert f"calibration: 4 labelled inquiries from file {labelled} (1 covered); fitted " in status.output
    as_json = runner.invoke(cli, ["status", "--json", "--home", str(cold_home)]).output
    assert '"fitted_on": "4 labelled inquiries from file' in as_json
    assert json.loads(as_json)["calibration"]["caveat"].startswith("few labelled inquiries (1 with")


def test_the_service_refits_the_decision_as_tickets_arrive_without_a_restart(cold_home):
    """Tickets pushed to the running service: the automatic calibration is refitted in the
    background (from the ticket history once it is long enough), suggest keeps answering meanwhile,
    and the new decision answers without a restart."""
    from deflect.web import create_app

    from deflect.decision.help_center import calibrate_help_center
    from deflect.decision.refit import Refitter
    from deflect.deflector import Deflector

    engine = Deflector.open(cold_home)
    calibrate_help_center(engine)
    cold = engine.calibrator
    app = create_app({"TESTING": True, "DEFLECT_HOME": str(cold_home), "DEFLECTOR": engine, "WIDGET_ORIGINS": [],
                      "RATE_LIMIT": {"suggest": 0, "feedback": 0}})
    refitter = Refitter(every=50, check_seconds=0.0)
    app.extensions["deflect"]["refitter"] = refitter
    key = create_key(engine.store, "desk", "agent")[1]
    client = app.test_client()
    health = client.get("/api/v1/health").get_json()
    assert health["calibration"]["source"] == "help center"
    assert health["calibration"]["fitted_on"].startswith("self-supervised from 54 articles' texts")

    lines = (FAQ / "tickets" / "tickets.jsonl").read_text(encoding="utf-8").splitlines()
    tickets = [json.loads(line) for line in lines if line.strip()]
    pushed = client.post("/api/v1/tickets", json=tickets, headers=bearer(key))
    assert pushed.status_code == 200, pushed.get_json()

    # the next request starts the refit in the background; suggest answers while it runs
    first = client.post("/api/v1/suggest", json={"text": "Wie kündige ich mein Abo?"})
    assert first.status_code == 200
    assert refitter.running
    answered_while_refitting = 0
    while refitter.running and answered_while_refitting < 3:
        r = client.post("/api/v1/suggest", json={"text": "Meine Zeitung ist heute nicht gekommen"})
        assert r.status_code == 200
        answered_while_refitting += refitter.running   # answered before the refit was done
    assert answered_while_refitting >= 1
    refitter.wait(timeout=600)
    assert not refitter.running and refitter.last_error is None, refitter.last_error
    # the engine answers with the refitted decision, fitted on the ticket history now
    assert engine.calibrator is not cold
    assert engine.store.get_setting("calibration")["source"] == "tickets"
    health = client.get("/api/v1/health").get_json()
    assert health["calibration"]["fitted_on"].startswith("from tickets: ")
    engine.close()


def test_a_labelled_file_is_kept_redacted_for_the_gap_report_and_replaced_by_the_next(cold_home, tmp_path):
    from deflect.store import open_store
    from deflect.store.labelled import labelled_questions

    first = labelled_file(tmp_path / "first.jsonl", [
        ("Ich komme nicht ins E-Paper, schreiben Sie an max.mustermann@example.de", "epaper-login"),
        ("E-Paper Login geht nicht", "epaper-login"), ("Wie kündige ich mein Abo?", None),
        ("What is the capital of France?", None)])
    runner = CliRunner()
    result = runner.invoke(cli, ["calibrate", str(first), "--home", str(cold_home), "--force"])
    assert result.exit_code == 0, result.output
    assert "kept 2 labelled questions with their article (redacted)" in result.output
    store = open_store(Home(cold_home).db_path)
    kept = labelled_questions(store)
    store.close()
    assert [q["article_id"] for q in kept] == ["epaper-login", "epaper-login"]
    assert not any("mustermann" in q["text"] for q in kept)
    status = runner.invoke(cli, ["status", "--home", str(cold_home)]).output
    assert f"labelled:    2 labelled questions with their article from {first}" in status
    # four questions fit no floor for "might help": status says where the engine starts it instead of "never"
    assert "might help\": never" not in status and "might help\" from a confidence of" in status
    # the gap report counts them (as covered material: they are never clustered nor listed)
    report = runner.invoke(cli, ["gaps", "--rebuild", "--format", "json", "--home", str(cold_home)])
    assert report.exit_code == 0, report.output
    assert json.loads(report.output)["counts"]["labelled"] == 2
    # the next file replaces them
    second = labelled_file(tmp_path / "second.jsonl", [
        ("Zeitung kam heute nicht", None), ("Mein E-Paper Passwort funktioniert nicht", "epaper-login"),
        ("Was kostet eine Anzeige?", None), ("Wer gewinnt die Bundesliga?", None)])
    assert runner.invoke(cli, ["calibrate", str(second), "--home", str(cold_home), "--force"]).exit_code == 0
    status = json.loads(runner.invoke(cli, ["status", "--json", "--home", str(cold_home)]).output)
    assert status["labelled_questions"] == {"total": 1, "current": 1, "source": str(second)}
    scrub = runner.invoke(cli, ["privacy", "scrub", "--dry-run", "--home", str(cold_home)])
    assert "labelled_questions: 0 row(s) would change" in scrub.output
    replay = runner.invoke(cli, ["eval", str(second), "--home", str(cold_home)])
    assert replay.exit_code == 0 and "fitted on these very questions" in replay.output
    # a plain calibrate replaces the labelled one: it says so, and how to get it back
    plain = runner.invoke(cli, ["calibrate", "--home", str(cold_home)])
    assert plain.exit_code == 0 and "note: this replaces the calibration fitted on" in plain.output
    assert f"`deflect calibrate {second}` fits it again" in plain.output


def test_a_ticket_history_with_few_questions_without_an_article_keeps_the_help_centers_decision(monkeypatch):
    """A hundred linked tickets and two far from any article teach the decision nothing about saying no
    (such a fit answered insults and off-topic questions with an article): the help center's own texts
    decide until ten such tickets have arrived; then the tickets, with a caution while they are few."""
    import numpy as np

    from deflect.decision import refit
    from deflect.decision.describe import calibration_caveat

    fitted = []
    monkeypatch.setattr(refit, "learn_part_weights", lambda engine, store=None: (None, None))
    monkeypatch.setattr(refit, "learn_lexical_weights", lambda engine, store=None, part_weights=None: None)
    monkeypatch.setattr(refit, "calibrate_help_center", lambda *a, **k: fitted.append("help center"))
    monkeypatch.setattr(refit, "calibrate_tickets", lambda *a, **k: fitted.append("tickets"))
    for far in (2, 9, 10):
        monkeypatch.setattr(refit, "ticket_history", lambda engine, far=far: (np.arange(100), np.arange(far)))
        refit.calibrate_from_history(None)
    assert fitted == ["help center", "help center", "tickets"]
    few = {"source": "tickets", "report": {"uncovered": 12, "unseen": 13}}
    assert "few resolved tickets without an article (12" in calibration_caveat(few)
    assert calibration_caveat({"source": "tickets", "report": {"uncovered": 79, "unseen": 40}}) is None
