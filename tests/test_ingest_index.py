"""Ingest and index: idempotent, all-or-nothing, atomic builds, a manifest checked on load."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from deflect.cli import cli
from deflect.embedder import load_embedder, multilingual_columns
from deflect.errors import IndexMismatchError, IndexMissingError, InputError
from deflect.home import Home
from deflect.index import build as indexer
from deflect.index import bundle as bundle_file
from deflect.index.bundle import IndexBundle
from deflect.ingest import ingest
from deflect.store import open_store
from deflect.store.core import _ticket_hash

ARTICLES = {
    "zustellung.md": "---\nid: zustellung\ntitle: Zeitung nicht erhalten\nlanguage: de\nquestions:\n"
                     "  - Meine Zeitung ist heute nicht gekommen\n---\nWir liefern nach und schreiben gut.\n",
    "password.md": "---\nid: password\ntitle: Reset your password\nlanguage: en\nquestions:\n"
                   "  - I forgot my password\n---\nUse the *forgot password* link.\n",
}
TICKETS = [
    {"id": "T1", "subject": "Keine Zeitung", "body": "Heute lag keine Zeitung im Briefkasten, "
     "bitte melden Sie sich unter max@example.com oder 0170 1234567", "resolution": "Nachgeliefert",
     "article_id": "zustellung", "language": "de"},
    {"id": "T2", "subject": "Login", "body": "Cannot log in, forgot password", "resolution": "Reset link sent",
     "article_id": None, "language": "en"},
]


@pytest.fixture
def faq(tmp_path):
    folder = tmp_path / "faq"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "tickets.jsonl").write_text("\n".join(json.dumps(t) for t in TICKETS) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def home(tmp_path):
    return Home(tmp_path / "home").ensure()


def test_ingest_is_idempotent_and_detects_changes(faq, home):
    store = open_store(home.db_path)
    first = ingest(store, [faq])
    assert first["articles"]["new"] == 2 and first["tickets"]["new"] == 2
    again = ingest(store, [faq])
    assert again["articles"] == {"new": 0, "changed": 0, "unchanged": 2, "deleted": 0}
    assert again["tickets"]["unchanged"] == 2
    (faq / "password.md").write_text(ARTICLES["password.md"].replace("link.", "link on the login page."))
    changed = ingest(store, [faq])
    assert changed["articles"]["changed"] == 1 and changed["articles"]["unchanged"] == 1


def test_the_same_export_under_another_name_changes_nothing_and_a_ticket_keeps_its_first_day(faq, home, tmp_path):
    store = open_store(home.db_path)
    ingest(store, [faq])
    store.db.execute("update tickets set ingested_at = '2026-09-01T08:00:00+00:00'")   # a first ingest long ago
    renamed = tmp_path / "export-2026-12.jsonl"
    renamed.write_text((faq / "tickets.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    counts = ingest(store, [renamed])["tickets"]
    assert (counts["new"], counts["changed"], counts["unchanged"]) == (0, 0, 2)
    edited = [dict(TICKETS[1], resolution="Reset link sent again")]
    renamed.write_text("\n".join(json.dumps(t) for t in edited) + "\n", encoding="utf-8")
    assert ingest(store, [renamed])["tickets"]["changed"] == 1
    days = dict(store.db.execute("select id, ingested_at from tickets").fetchall())
    assert days == {"T1": "2026-09-01T08:00:00+00:00", "T2": "2026-09-01T08:00:00+00:00"}


def test_an_article_id_another_stored_file_still_gives_is_refused_a_moved_file_is_not(faq, home, tmp_path):
    store = open_store(home.db_path)
    ingest(store, [faq])
    copy = tmp_path / "other" / "zustellung-kopie.md"
    copy.parent.mkdir()
    copy.write_text(ARTICLES["zustellung.md"].replace("title: Zeitung nicht erhalten", "title: Kopie"),
                    encoding="utf-8")
    with pytest.raises(InputError, match="also the id of .*zustellung.md"):
        ingest(store, [copy])
    assert store.get_article("zustellung").title == "Zeitung nicht erhalten"
    (faq / "zustellung.md").unlink()              # the article moved to the other folder
    assert ingest(store, [copy])["articles"]["changed"] == 1
    assert store.get_article("zustellung").title == "Kopie"


def test_tickets_an_export_marks_as_not_resolved_are_counted_not_imported(faq, home):
    (faq / "export.csv").write_text("id;subject;body;status\nT3;Rechnung;Wo ist die Rechnung?;Offen\n"
                                    "T4;Abo;Abo pausieren;pending reminder\nT5;Login;Passwort vergessen;Gelöst\n",
                                    encoding="utf-8")
    result = CliRunner().invoke(cli, ["ingest", str(faq), "--home", str(home.path)])
    assert result.exit_code == 0, result.output
    assert "3 new" in result.output and "2 not imported: their status says they are not resolved" in result.output
    assert "3 ticket(s) without created_at" in result.output   # the trends would read them as asked today
    (faq / "zendesk.csv").write_text("id;subject;body;articleid;created\nZ1;Abo;Wie kündige ich?;kuendigung;"
                                     "3.11.2025\n", encoding="utf-8")
    (faq / "export.tsv").write_text("id\tbody\nX1\tHallo\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["ingest", str(faq), "--home", str(home.path)])
    assert result.exit_code == 0, result.output
    assert "zendesk.csv: columns not read: articleid, created" in result.output
    assert "export.tsv was not read" in result.output
    store = open_store(home.db_path)
    assert sorted(store.get_tickets(["T1", "T2", "T3", "T4", "T5"])) == ["T1", "T2", "T5"]


def test_prune_needs_the_article_folder_and_names_what_it_deleted(faq, home, tmp_path):
    runner, at = CliRunner(), ["--home", str(home.path)]
    assert runner.invoke(cli, ["ingest", str(faq), *at]).exit_code == 0
    # a ticket export alone with --prune would delete every article (and null every agent's link)
    only_tickets = runner.invoke(cli, ["ingest", str(faq / "tickets.jsonl"), "--prune", *at])
    assert only_tickets.exit_code != 0 and "no article files" in only_tickets.output
    assert open_store(home.db_path).article_ids() == {"zustellung", "password"}
    (faq / "zustellung.md").unlink()
    moved_away = tmp_path / "tickets.jsonl"   # the export names the article: read alone while it is gone
    (faq / "tickets.jsonl").rename(moved_away)
    pruned = runner.invoke(cli, ["ingest", str(faq), "--prune", *at])
    assert pruned.exit_code == 0 and "deleted:  zustellung" in pruned.output
    assert "1 ticket(s) an agent had linked to a deleted article lost the link" in pruned.output
    assert open_store(home.db_path).get_tickets(["T1"])["T1"]["article_id"] is None
    (faq / "zustellung.md").write_text(ARTICLES["zustellung.md"])   # put back: the export read again links it
    assert runner.invoke(cli, ["ingest", str(faq), str(moved_away), *at]).exit_code == 0
    assert open_store(home.db_path).linked_tickets("zustellung") == 1


def test_an_article_whose_id_changed_keeps_its_links_and_a_mistaken_prune_is_refused(faq, home):
    """Renaming an article's file (its id) is no deletion: the agents' ticket links and the customers'
    votes go with it. --prune with only a subfolder would delete most of the help center: refused without
    --yes. A file removed without --prune is named, not silently kept."""
    runner, at = CliRunner(), ["--home", str(home.path)]
    for i in range(8):
        (faq / f"extra{i}.md").write_text(f"---\nid: extra{i}\ntitle: Frage {i}\nlanguage: de\n---\nAntwort {i}.\n")
    assert runner.invoke(cli, ["ingest", str(faq), *at]).exit_code == 0
    store = open_store(home.db_path)
    with store.db.transaction():
        store.db["feedback"].insert({"id": "v1", "inquiry_id": "q1", "article_id": "zustellung", "event": "helpful",
                                     "session": "s1", "created_at": "2026-12-01T10:00:00+00:00"})
        store.db["gap_topics"].insert({"id": "G-0001", "status": "covered", "covered_by": "zustellung"})
        store.db["inquiries"].insert({"id": "q1", "text": "Zeitung fehlt", "decision": "answer", "confidence": 0.9,
                                      "article_id": "zustellung", "created_at": "2026-12-01T10:00:00+00:00"})
    store.close()
    (faq / "zustellung.md").rename(faq / "zeitung-fehlt.md")
    (faq / "zeitung-fehlt.md").write_text(ARTICLES["zustellung.md"].replace("id: zustellung", "id: zeitung-fehlt"))
    moved = runner.invoke(cli, ["ingest", str(faq), "--prune", *at])
    assert moved.exit_code == 0 and "renamed:  zustellung -> zeitung-fehlt" in moved.output, moved.output
    assert "deleted" not in moved.output.split("renamed")[0]
    store = open_store(home.db_path)
    assert store.get_tickets(["T1"])["T1"]["article_id"] == "zeitung-fehlt"
    assert store.db.execute("select article_id from feedback where id = 'v1'").fetchone()[0] == "zeitung-fehlt"
    assert store.db.execute("select covered_by from gap_topics").fetchone()[0] == "zeitung-fehlt"   # still covered
    assert store.db.execute("select article_id from inquiries where id = 'q1'").fetchone()[0] == "zeitung-fehlt"
    store.close()
    # the help desk's next export still links the old id: it links the article under its new id
    again = runner.invoke(cli, ["ingest", str(faq / "tickets.jsonl"), *at])
    assert again.exit_code == 0, again.output
    assert open_store(home.db_path).get_tickets(["T1"])["T1"]["article_id"] == "zeitung-fehlt"
    single = runner.invoke(cli, ["ingest", str(faq / "password.md"), *at])   # one file says nothing of the rest
    assert single.exit_code == 0 and "stay" not in single.output
    sub = faq / "neu"
    sub.mkdir()
    (sub / "neu.md").write_text("---\nid: neu\ntitle: Neue Frage\nlanguage: de\n---\nNeue Antwort.\n")
    refused = runner.invoke(cli, ["ingest", str(sub), "--prune", *at])
    assert refused.exit_code != 0 and "--prune would delete 10 of the 10 stored articles" in refused.output
    assert "--yes" in refused.output and len(open_store(home.db_path).article_ids()) == 10
    kept = runner.invoke(cli, ["ingest", str(sub), *at])
    assert kept.exit_code == 0 and "10 stored article(s) are not in the given files and stay" in kept.output
    assert runner.invoke(cli, ["ingest", str(sub), "--prune", "--yes", *at]).exit_code == 0
    assert open_store(home.db_path).article_ids() == {"neu"}


def test_a_title_only_article_and_a_duplicate_are_named_at_ingest(faq, home):
    (faq / "stub.md").write_text("---\nid: stub\ntitle: Zeitungsabo für Hotels\nlanguage: de\n---\n")
    (faq / "copy.md").write_text(ARTICLES["password.md"].replace("id: password", "id: password-copy"))
    r = CliRunner().invoke(cli, ["ingest", str(faq), "--home", str(home.path)])
    assert r.exit_code == 0, r.output
    assert "note: stub has no answer body" in r.output
    assert "note: password repeats password-copy" in r.output or "note: password-copy repeats password" in r.output
    (faq / "long.md").write_text("---\ntitle: " + "Wort " * 80 + "\n---\nText\n")
    r = CliRunner().invoke(cli, ["ingest", str(faq), "--home", str(home.path)])
    assert r.exit_code == 1 and "long.md:1: the title is longer than 300 characters" in r.output


def test_ticket_pii_is_redacted_at_ingest(faq, home):
    store = open_store(home.db_path)
    ingest(store, [faq])
    body = store.get_tickets(["T1"])["T1"]["body"]
    assert "max@example.com" not in body and "1234567" not in body
    assert "[E-MAIL]" in body and "[PHONE]" in body


def test_bad_input_stores_nothing(faq, home):
    store = open_store(home.db_path)
    (faq / "zz-bad.jsonl").write_text('{"id": "T9", "subject": "x", "article_id": "nope"}\n')
    with pytest.raises(InputError, match=r"zz-bad\.jsonl:1: .*unknown article_id 'nope'"):
        ingest(store, [faq])
    assert store.counts()["articles"] == 0 and store.counts()["tickets"] == 0


def test_an_empty_ticket_export_is_named(faq, home, tmp_path):
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "export.csv").write_text("id,subject,body,resolution\n", encoding="utf-8")
    (exports / "blank.jsonl").write_text("\n\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["ingest", "--home", str(home.path), str(faq), str(exports)])
    assert result.exit_code == 0, result.output
    assert "export.csv holds no tickets" in result.output and "blank.jsonl holds no tickets" in result.output
    assert "tickets.jsonl holds no tickets" not in result.output


def test_cli_reports_file_and_line(faq, home):
    (faq / "zz-bad.jsonl").write_text('{"id": "T9", "subject": "x"}\nnot json\n')
    result = CliRunner().invoke(cli, ["ingest", str(faq), "--home", str(home.path)])
    assert result.exit_code == 1
    assert "zz-bad.jsonl:2: not valid JSON" in result.output


def test_dates_to_now_moves_an_old_export_into_the_last_week_by_whole_weeks(faq, home):
    from datetime import UTC, datetime, timedelta

    from deflect.clock import parse_time, utcnow

    dated = [{**TICKETS[0], "created_at": "2026-03-02T08:15:00Z"},      # a Monday morning
             {**TICKETS[1], "created_at": "2026-03-07T22:40:00+02:00"}]   # a Saturday night, local time
    (faq / "tickets.jsonl").write_text("\n".join(json.dumps(t) for t in [*dated, {**TICKETS[1], "id": "T3"}]),
                                       encoding="utf-8")
    result = CliRunner().invoke(cli, ["ingest", str(faq), "--dates-to-now", "--home", str(home.path)])
    assert result.exit_code == 0, result.output
    assert "ticket dates moved" in result.output
    tickets = open_store(home.db_path).get_tickets(["T1", "T2", "T3"])
    monday, saturday = (parse_time(tickets[t]["created_at"]) for t in ("T1", "T2"))
    now = utcnow()
    assert now - timedelta(days=7) < saturday <= now          # the newest lies in the last week
    assert saturday - monday == datetime(2026, 3, 7, 20, 40, tzinfo=UTC) - datetime(2026, 3, 2, 8, 15, tzinfo=UTC)
    assert (monday.weekday(), monday.hour, monday.minute) == (0, 8, 15)
    assert tickets["T3"]["created_at"] is None                  # an undated ticket stays undated


def test_ingest_keeps_the_dates_without_dates_to_now(faq, home):
    (faq / "tickets.jsonl").write_text(json.dumps({**TICKETS[0], "created_at": "2026-03-02T08:15:00Z"}),
                                       encoding="utf-8")
    report = ingest(open_store(home.db_path), [faq])
    assert report["weeks_moved"] == 0
    assert open_store(home.db_path).get_tickets(["T1"])["T1"]["created_at"] == "2026-03-02T08:15:00+00:00"
    # a store of an older release kept the time as written: the same export read again changes nothing
    store = open_store(home.db_path)
    with store.db.transaction():
        row = store.get_tickets(["T1"])["T1"]
        old = {k: v for k, v in row.items() if k not in ("content_hash", "ingested_at")} | {
            "created_at": "2026-03-02T08:15:00Z"}
        store.db.execute("update tickets set created_at = ?, content_hash = ? where id = 'T1'",
                         ["2026-03-02T08:15:00Z", _ticket_hash(old)])
    store.close()
    assert ingest(open_store(home.db_path), [faq / "tickets.jsonl"])["tickets"]["unchanged"] == 1


def test_a_german_export_without_seconds_keeps_the_time_read_before(faq, home):
    # the same ticket from the help desk's API (seconds) and from its German CSV export (minutes, or a date)
    t = {**TICKETS[0], "created_at": "2026-03-02T08:15:42Z"}
    (faq / "tickets.jsonl").write_text(json.dumps(t), encoding="utf-8")
    ingest(open_store(home.db_path), [faq])
    csv = faq / "export.csv"
    fields = ["id", "subject", "body", "resolution", "article_id", "language", "created_at"]
    for written in ("02.03.2026 08:15", "02.03.2026"):
        csv.write_text(";".join(fields) + "\n" + ";".join([*(t[f] for f in fields[:-1]), written]) + "\n",
                       encoding="utf-8")
        assert ingest(open_store(home.db_path), [csv])["tickets"]["unchanged"] == 1, written
    # a changed text is changed, and still keeps the time to the second
    csv.write_text(";".join(fields) + "\n" + ";".join([*(t[f] for f in fields[:2]), "Wieder keine Zeitung",
                                                        *(t[f] for f in fields[3:-1]), "02.03.2026 08:15"]) + "\n",
                   encoding="utf-8")
    assert ingest(open_store(home.db_path), [csv])["tickets"]["changed"] == 1
    assert open_store(home.db_path).get_tickets(["T1"])["T1"]["created_at"] == "2026-03-02T08:15:42+00:00"
    # another minute is another time
    csv.write_text(csv.read_text(encoding="utf-8").replace("08:15", "08:16"), encoding="utf-8")
    assert ingest(open_store(home.db_path), [csv])["tickets"]["changed"] == 1
    assert open_store(home.db_path).get_tickets(["T1"])["T1"]["created_at"] == "2026-03-02T08:16:00+00:00"


@pytest.fixture(scope="module")
def model():
    """The real default model: the tests that use it are marked slow."""
    return load_embedder()


@pytest.mark.slow
def test_index_manifest_and_reuse_of_unchanged_vectors(faq, home, model):
    store = open_store(home.db_path)
    ingest(store, [faq])
    manifest = indexer.build(store, model, home.index_dir)
    assert manifest["model"] == model.name and manifest["dim"] == model.dim
    assert manifest["counts"]["articles"] == 2 and manifest["counts"]["tickets"] == 2
    assert manifest["index"]["kind"] == "flat" and manifest["built_at"]
    on_disk = json.loads((home.index_dir / "manifest.json").read_text())
    assert on_disk["build_id"] == manifest["build_id"]
    again = indexer.build(store, model, home.index_dir)
    assert again["embedded"] == 0                      # nothing changed: no work
    (faq / "password.md").write_text(ARTICLES["password.md"].replace("link.", "link, then check mail."))
    ingest(store, [faq])
    changed = indexer.build(store, model, home.index_dir)
    assert changed["embedded"] == 1                    # only the changed body is re-embedded
    files = {p.name for p in home.index_dir.iterdir()}
    assert set(changed["files"].values()) <= files and len(files) == 4   # old build files removed


@pytest.mark.slow
def test_article_classifier_is_saved_with_the_index_and_refitted_when_an_article_changes(faq, home, model):
    store = open_store(home.db_path)
    ingest(store, [faq])
    indexer.build(store, model, home.index_dir)
    saved = IndexBundle.load(home.index_dir).article_classifier
    assert saved is not None and sorted(saved.classes.tolist()) == [0, 1]
    english_only = np.setdiff1d(np.arange(model.dim), multilingual_columns(model.name, model.dim))
    assert len(english_only) == 384 and not saved.coef[:, english_only].any()   # MiniLM's part
    (faq / "password.md").write_text(ARTICLES["password.md"].replace("I forgot my password",
                                                                     "I cannot remember my password"))
    ingest(store, [faq])
    assert indexer.build(store, model, home.index_dir)["mode"] == "update"
    refitted = IndexBundle.load(home.index_dir).article_classifier
    assert refitted is not None and not np.allclose(refitted.coef, saved.coef)


@pytest.mark.parametrize("name, dim, expected", [
    ("use-m3+minilm", 896, (0, 512)), ("minilm+use-m3", 896, (384, 896)), ("use-m3", 512, (0, 512)),
    ("minilm", 384, (0, 384)), ("some/model+minilm", 1152, (0, 768)), ("a+b", 100, (0, 100)),
])
def test_multilingual_columns_leave_out_the_english_only_part(name, dim, expected):
    assert multilingual_columns(name, dim).tolist() == list(range(*expected))


@pytest.mark.slow
def test_crash_mid_build_leaves_previous_index_usable(faq, home, model, monkeypatch):
    store = open_store(home.db_path)
    ingest(store, [faq])
    indexer.build(store, model, home.index_dir)
    before = IndexBundle.load(home.index_dir)
    (faq / "new.md").write_text("---\ntitle: Neuer Artikel\n---\nText\n")
    ingest(store, [faq])

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut")
    monkeypatch.setattr(bundle_file, "atomic_write", crash)   # vectors written, docs/manifest not
    with pytest.raises(KeyboardInterrupt):
        indexer.build(store, model, home.index_dir)
    after = IndexBundle.load(home.index_dir)
    assert after.manifest["build_id"] == before.manifest["build_id"]
    assert after.article_ids == before.article_ids
    scores, ids = after.vectors.search(model.encode(["Zeitung nicht gekommen"]), 1)
    assert ids[0, 0] >= 0


@pytest.mark.slow
def test_index_built_with_another_model_is_refused(faq, home, model):
    store = open_store(home.db_path)
    ingest(store, [faq])
    indexer.build(store, model, home.index_dir)
    with pytest.raises(IndexMismatchError, match="built with model") as err:
        IndexBundle.load(home.index_dir, expected_model="minilm")
    assert "deflect index --model minilm" in err.value.hint


def test_missing_index_is_a_clear_error(home):
    with pytest.raises(IndexMissingError, match="no index"):
        IndexBundle.load(home.index_dir)
    result = CliRunner().invoke(cli, ["suggest", "Hallo", "--home", str(home.path)])
    assert result.exit_code == 1 and "deflect index" in result.output


def test_labels_spread_to_unlinked_neighbours():
    from deflect.labels import spread_labels
    # 0,1 labelled article 0; 2 unlinked near them; 3,4 unlinked near each other only
    neighbours = np.array([[1, 2], [0, 2], [0, 1], [4, -1], [3, -1]])
    scores = np.array([[0.9, 0.8], [0.9, 0.8], [0.8, 0.8], [0.9, 0], [0.9, 0]], np.float32)
    labels = spread_labels(neighbours, scores, np.array([0, 0, -1, -1, -1]), 1).toarray()
    assert labels[2, 0] > 0.6          # unlinked ticket among linked ones: the article (one hop: alpha)
    assert labels[3, 0] == 0 and labels[4, 0] == 0   # a cluster of unlinked tickets: a gap
