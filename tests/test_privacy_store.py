"""No customer's personal data reaches another customer's draft, the similar tickets or the store."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from api_support import ARTICLES, bearer, new_key
from click.testing import CliRunner
from fakes import FakeDeflector

from deflect.cli import cli
from deflect.formats import Article, Inquiry, Ticket
from deflect.home import Home
from deflect.privacy import Redactor
from deflect.store import Store
from deflect.ticket_files import read_tickets

# every test here runs on both store backends (SQLite, PostgreSQL): see conftest.database
pytestmark = pytest.mark.usefixtures("database")

LEAKS = [
    Ticket(id="T-1", subject="Rückbuchung Abo", body="Bitte die Abbuchung zurückholen.",
           resolution="Rückbuchung für Frau Musterfrau4 erledigt, Kundennummer 55554.",
           article_id=None, language="de"),
    Ticket(id="T-2", subject="Adresse", body="Hans Meier3, Lindenallee 6, 80331 München, Kundennummer 77773, "
           "geboren 13.04.1970, IBAN de89 3704 0044 0532 0130 00",
           resolution="Adresse geändert. Bei Fragen: Hotline 0800 123 456 7.", article_id=None, language="de"),
]
PERSONAL = ["Musterfrau4", "55554", "Meier3", "Lindenallee", "80331", "77773", "13.04.1970", "de89"]


def app_with(tmp_path, tickets, **config):
    from deflect.web import create_app

    home = Home.resolve(tmp_path / "home").ensure()
    fake = FakeDeflector(home, ARTICLES, tickets)
    app = create_app({"TESTING": True, "DEFLECT_HOME": str(home.path), "DEFLECTOR": fake,
                      "RATE_LIMIT": {"suggest": 0, "feedback": 0}, **config})
    return app.test_client(), fake


def test_stored_tickets_keep_no_personal_data(tmp_path):
    store = Store(Home.resolve(tmp_path).database)
    store.upsert_tickets(LEAKS)
    stored = json.dumps(list(store.tickets()), ensure_ascii=False)
    assert not [p for p in PERSONAL if p in stored]
    resolution = store.get_tickets(["T-1"])["T-1"]["resolution"]
    assert resolution == "Rückbuchung für Frau [NAME] erledigt, Kundennummer [CUSTOMER-ID]."


def test_agent_draft_and_similar_tickets_show_no_other_customer(tmp_path):
    allow = ["0800 123 456 7"]
    client, fake = app_with(tmp_path, [], PRIVACY_ALLOW=allow)
    fake.store.redactor = Redactor(allow)  # as `deflect ingest` with DEFLECT_PRIVACY_ALLOW set
    fake.store.upsert_tickets(LEAKS)
    payload = {"subject": "Rückbuchung", "body": "Bitte Rückbuchung der Abbuchung, Abo Adresse geändert"}
    r = client.post("/api/v1/agent/suggest", json=payload, headers=bearer(new_key(fake, "agent")))
    body = json.dumps(r.get_json(), ensure_ascii=False)
    assert r.status_code == 200 and r.get_json()["tickets"]
    assert not [p for p in PERSONAL if p in body]
    # The company's own hotline is on the allow-list: it stays in what agents see.
    assert "0800 123 456 7" in json.dumps(r.get_json()["tickets"], ensure_ascii=False)
    # the ticket's text the agent asked with is logged with the ticket's id: erasing the ticket erases it
    r = client.post("/api/v1/agent/suggest", json={**payload, "ticket_id": "zd-77"},
                    headers=bearer(new_key(fake, "agent")))
    logged = fake.store.db.execute("select ticket_id from inquiries where id = ?", [r.get_json()["id"]])
    assert logged.fetchone()[0] == "zd-77"


def test_customer_fields_of_an_export_are_removed_from_its_text(tmp_path):
    export = tmp_path / "tickets.jsonl"
    export.write_text(json.dumps({
        "id": "Z-1", "subject": "Abo", "body": "Hier schreibt Kowalski wegen seines Abos, erreichbar unter "
        "kowalski.privat@mailbox.example oder 0171 5550123", "resolution": "Erledigt, Herr Kowalski.",
        "customer_name": "Jan Kowalski", "customer_email": "kowalski.privat@mailbox.example",
        "customer_phone": "0171 5550123"}) + "\n", encoding="utf-8")
    store = Store(Home.resolve(tmp_path).database)
    store.upsert_tickets(read_tickets(export))
    row = store.get_tickets(["Z-1"])["Z-1"]
    assert "Kowalski" not in json.dumps(row) and "5550123" not in row["body"]


def test_privacy_scan_and_scrub(tmp_path):
    home = tmp_path / "home"
    store = Store(Home.resolve(home).database)
    store.upsert_tickets(LEAKS[:1])
    # Rows stored by an older version, before its redaction knew names and customer numbers:
    with store.db.transaction():
        store.db.execute("update tickets set resolution = ? where id = 'T-1'",
                         ["Rückbuchung für Frau Musterfrau4 erledigt, Kundennummer 55554."])
        store.db.execute("insert into inquiries (id, text, created_at, decision, channel, page) values "
                         "('i1', 'Ich bin Hans Meier3 aus der Lindenallee 6', '2026-12-01T00:00:00+00:00', "
                         "'no_answer', 'widget', 'https://hilfe.example/s?q=hans@example.org')")
        # ... and the copies a vote and the gap report keep of such a text
        store.db.execute("insert into evidence (id, kind, text, created_at) values ('e1', 'vote', "
                         "'Zeitung fehlt, Erika Mustermann, Tel 0171 7654321', '2026-12-01T00:00:00+00:00')")
        # (the numbers of the report's structure are no phone numbers)
        report = {"id": "G-0001", "first_seen": "2026-11-02T08:00:00+00:00", "members": 5,
                  "examples": ["Zeitung fehlt seit Montag. Viele Grüße\nKlaus Berger"],
                  "evidence": {"share": 0.07727272727272727, "hard_share": 0.0925351582119538}}
        store.db.execute("insert into gap_topics (id, status, representative, report, owner) values "
                         "('G-0001', 'new', ?, ?, 'Jana Krüger')",
                         ["Zeitung fehlt, Klaus Berger, Tel. 0171 1234567", json.dumps(report)])
    # the help center's own article with its hotline and address, and the team's plan history
    store.upsert_articles([Article(id="kontakt", title="Kontakt", body="Rufen Sie uns an: 0800 123 4567, "
                                   "Rheinblick Zeitung, Hafenstraße 3, 56068 Koblenz", language="de")])
    with store.db.transaction():
        store.db.execute("insert into gap_events (topic_id, at, action, detail) values ('G-0001', "
                         "'2026-12-01T00:00:00+00:00', 'plan', ?)", [json.dumps({"owner": "Tim Becker"})])
    store.close()
    runner = CliRunner()
    r = runner.invoke(cli, ["privacy", "scan", "--home", str(home), "--fail"])
    assert r.exit_code == 1, r.output
    assert "tickets.resolution: 1 row(s)" in r.output and "inquiries.text: 1 row(s)" in r.output
    assert "Musterfrau4" not in r.output and "Meier3" not in r.output  # examples are masked
    data = json.loads(runner.invoke(cli, ["privacy", "scan", "--home", str(home), "--json"]).output)
    assert data["kinds"]["name"] >= 2 and data["columns"]["tickets.resolution"]["row_ids"] == ["T-1"]

    r = runner.invoke(cli, ["privacy", "scrub", "--home", str(home), "--dry-run"])
    assert "tickets: 1 row(s) would change, inquiries: 1 row(s) would change" in r.output
    assert "evidence: 1 row(s) would change" in r.output and "gap_topics: 1 row(s) would change" in r.output
    r = runner.invoke(cli, ["privacy", "scrub", "--home", str(home)])
    assert r.exit_code == 0 and "deflect index" in r.output
    r = runner.invoke(cli, ["privacy", "scan", "--home", str(home), "--fail"])
    assert r.exit_code == 0 and "No personal data found." in r.output
    # the published article is listed apart, not counted; the team's own names are no customer data
    assert "Not counted: the published articles" in r.output and "articles.body: 1 row(s)" in r.output
    assert "gap_topics.owner" not in r.output and "gap_events" not in r.output
    store = Store(Home.resolve(home).database)
    assert store.db["inquiries"].get("i1")["page"] == "https://hilfe.example/s"
    from deflect.store.core import page_location
    assert page_location("https://admin:hunter2@hilfe.example/konto?x=1#a") == "https://hilfe.example/konto"
    topic = store.db["gap_topics"].get("G-0001")
    assert json.loads(topic["report"]) == {**report, "examples": ["Zeitung fehlt seit Montag. Viele Grüße\n[NAME]"]}
    assert topic["representative"] == "Zeitung fehlt, [NAME], Tel. [PHONE]"


def test_privacy_scan_in_an_empty_folder_creates_nothing(tmp_path):
    r = CliRunner().invoke(cli, ["privacy", "scan", "--home", str(tmp_path / "none")])
    assert r.exit_code != 0 and "no deflect data here" in r.output
    assert not (tmp_path / "none").exists()


def test_placeholders_are_left_out_of_what_is_embedded():
    from deflect.index.documents import ticket_text
    from deflect.privacy import without_placeholders

    row = {"subject": "Zeitung fehlt", "body": "Hallo, heute keine Zeitung.\nViele Grüße\n[NAME], [ADDRESS]"}
    assert ticket_text(row) == "Zeitung fehlt Hallo, heute keine Zeitung. Viele Grüße ,"
    assert without_placeholders("Kundennummer [CUSTOMER-ID], Tel. [PHONE]") == "Kundennummer, Tel."


def test_erase_one_customer_on_request(tmp_path):
    """A customer asks to be erased: the team names their customer id; deflect finds their session and
    ticket through the contact that links them, and leaves every other customer's data alone."""
    from deflect.store.feedback import record_contact

    home = tmp_path / "home"
    store = Store(Home.resolve(home).database)
    store.upsert_tickets([Ticket("zd-1", "Abo kündigen", "Bitte kündigen", "Erledigt.", None, "de"),
                          Ticket("zd-2", "Zeitung fehlt", "Heute keine Zeitung", "Nachgeliefert.", None, "de")])
    with store.db.transaction():
        for iid, session in (("i1", "s-anna"), ("i2", "s-anna"), ("i3", "s-other")):
            store.db.execute("insert into inquiries (id, text, created_at, decision, channel, session) values "
                             "(?, 'Abo kündigen', '2026-12-01T00:00:00+00:00', 'answer', 'widget', ?)", [iid, session])
        store.db.execute("insert into evidence (id, kind, text, session, inquiry_id, created_at) values "
                         "('e1', 'helpful', 'Abo kündigen', 's-anna', 'i1', '2026-12-01T00:00:00+00:00')")
    record_contact(store, "api", session="s-anna", customer="C-42", ticket_id="zd-1")
    record_contact(store, "api", session="s-other", customer="C-7", ticket_id="zd-2")
    store.close()

    runner = CliRunner()
    r = runner.invoke(cli, ["privacy", "erase", "--customer", "C-42", "--dry-run", "--home", str(home)])
    assert r.exit_code == 0 and "inquiries: 2 row(s) would go" in r.output and "tickets: 1 row(s) would go" in r.output
    r = runner.invoke(cli, ["privacy", "erase", "--customer", "C-42", "--home", str(home)])
    assert r.exit_code == 0 and "inquiries: 2 row(s) erased" in r.output and "deflect index" in r.output
    store = Store(Home.resolve(home).database)
    assert [r[0] for r in store.db.execute("select id from inquiries")] == ["i3"]
    assert sorted(store.get_tickets(["zd-1", "zd-2"])) == ["zd-2"]
    assert store.db.execute("select count(*) from evidence").fetchone()[0] == 0
    assert [r[0] for r in store.db.execute("select session from contacts")] == ["s-other"]
    store.close()
    r = runner.invoke(cli, ["privacy", "erase", "--session", "s-unknown", "--home", str(home)])
    assert r.exit_code == 0 and "Nothing stored for them." in r.output
    assert runner.invoke(cli, ["privacy", "erase", "--home", str(home)]).exit_code == 2


def test_erase_by_email_finds_the_tickets_of_an_export(tmp_path):
    """A help desk's CSV export names the customer by e-mail (or id) only: an erasure by that address
    finds their tickets, whatever its case, and no other customer's."""
    home = tmp_path / "home"
    export = tmp_path / "tickets.csv"
    export.write_text("id;subject;body;resolution;customer_id;customer_name;customer_email\n"
                      "RZ-1;Zeitung fehlt;Heute keine Zeitung, Anna Schäfer;Nachgeliefert.;4711;Anna Schäfer;"
                      "anna.schaefer@example.de\n"
                      "RZ-2;Abo;Abo kündigen bitte;Gekündigt.;4712;Bernd Roth;bernd@example.de\n"
                      "RZ-3;Zeitung nass;Zeitung war nass;Ersatz geschickt.;;Anna Schäfer;"
                      "anna.schaefer@example.de\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", str(export), "--home", str(home)]).exit_code == 0
    store = Store(Home.resolve(home).database)
    stored = [r[0] for r in store.db.execute("select customer from ticket_customers")]
    assert len(stored) == 5 and not set(stored) & {"4711", "4712"} and not any("@" in h for h in stored)   # hashed
    assert "Schäfer" not in str(dict(store.get_tickets(["RZ-1"])["RZ-1"]))
    store.close()
    # the export read again changes nothing
    r = runner.invoke(cli, ["ingest", str(export), "--home", str(home)])
    assert "0 new, 0 changed, 3 unchanged" in r.output, r.output
    # asked by e-mail: both her tickets, the one that also has her customer id too
    r = runner.invoke(cli, ["privacy", "erase", "--customer", "Anna.Schaefer@Example.de", "--home", str(home)])
    assert r.exit_code == 0 and "tickets: 2 row(s) erased" in r.output, r.output
    store = Store(Home.resolve(home).database)
    assert sorted(store.get_tickets(["RZ-1", "RZ-2", "RZ-3"])) == ["RZ-2"]
    assert store.db.execute("select count(*) from ticket_customers").fetchone()[0] == 2   # Bernd's id and address
    store.close()
    # asked by customer id
    r = runner.invoke(cli, ["privacy", "erase", "--customer", "4712", "--home", str(home), "--dry-run"])
    assert "tickets: 1 row(s) would go" in r.output
    # a ticket handed to another customer in a later export is not erased on the first one's request
    export.write_text("id;subject;body;resolution;customer_id;customer_email\n"
                      "RZ-2;Abo;Abo kündigen bitte;Gekündigt.;4713;carla@example.de\n", encoding="utf-8")
    assert runner.invoke(cli, ["ingest", str(export), "--home", str(home)]).exit_code == 0
    r = runner.invoke(cli, ["privacy", "erase", "--customer", "bernd@example.de", "--home", str(home), "--dry-run"])
    assert "Nothing stored for them." in r.output, r.output
    r = runner.invoke(cli, ["privacy", "erase", "--customer", "carla@example.de", "--home", str(home), "--dry-run"])
    assert "tickets: 1 row(s) would go" in r.output


def test_an_erased_ticket_is_not_stored_again_by_an_overlapping_export_or_a_push(tmp_path):
    """The help desk still holds an erased customer's tickets: the next export that overlaps, or the same
    ticket pushed through the API, must not bring them back."""
    home = tmp_path / "home"
    export = tmp_path / "tickets.csv"
    export.write_text("id;subject;body;resolution;customer_email\n"
                      "RZ-1;Zeitung fehlt;Heute keine Zeitung, Julia König;Nachgeliefert.;julia@example.org\n"
                      "RZ-2;Abo;Abo kündigen bitte;Gekündigt.;bernd@example.de\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", str(export), "--home", str(home)]).exit_code == 0
    r = runner.invoke(cli, ["privacy", "erase", "--customer", "julia@example.org", "--home", str(home)])
    assert "tickets: 1 row(s) erased" in r.output, r.output
    r = runner.invoke(cli, ["ingest", str(export), "--home", str(home)])
    assert r.exit_code == 0 and "0 new, 0 changed, 1 unchanged; 1 not imported: erased on the customer's request" \
        in r.output, r.output
    store = Store(Home.resolve(home).database)
    assert sorted(store.get_tickets(["RZ-1", "RZ-2"])) == ["RZ-2"]
    assert "RZ-1" not in str(store.db.execute("select * from erased_tickets").fetchall())   # kept hashed only
    assert store.db.execute("select count(*) from ticket_customers").fetchone()[0] == 1
    store.close()

    from deflect.web import create_app
    fake = FakeDeflector(Home.resolve(home), ARTICLES, [])
    client = create_app({"TESTING": True, "DEFLECT_HOME": str(home), "DEFLECTOR": fake}).test_client()
    key = new_key(fake)
    body = {"subject": "Zeitung fehlt", "body": "Heute keine Zeitung, Julia König", "resolution": "Nachgeliefert.",
            "customer_id": "julia@example.org"}
    r = client.put("/api/v1/tickets/RZ-1", headers=bearer(key), json=body)
    assert r.status_code == 200 and r.get_json()["erased"] is True and not r.get_json()["created"]
    r = client.post("/api/v1/tickets", headers=bearer(key), json=[{"id": "RZ-1", **body}, {"id": "RZ-3", **body}])
    assert r.get_json()["erased"] == 1 and r.get_json()["new"] == 1
    assert sorted(fake.store.get_tickets(["RZ-1", "RZ-3"])) == ["RZ-3"]
    assert not fake.store.db.execute("select count(*) from contacts where ticket_id = 'RZ-1'").fetchone()[0]


def test_erase_by_email_reaches_the_widget_session_a_ticket_was_sent_from(tmp_path):
    """A ticket names its customer by id and e-mail and came from a widget session (its contact links them):
    asked by the e-mail address, the session's searches go too, and asking by the id afterwards finds nothing."""
    from deflect.store.feedback import record_contact

    home = tmp_path / "home"
    export = tmp_path / "tickets.csv"
    export.write_text("id;subject;body;resolution;customer_id;customer_email\n"
                      "zd-9;Urlaub;Zeitung im Urlaub pausieren;Eingetragen.;K-4711234;Gerlinde.S@example.org\n"
                      "zd-10;Abo;Abo kündigen;Gekündigt.;K-999;otto@example.org\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", str(export), "--home", str(home)]).exit_code == 0
    store = Store(Home.resolve(home).database)
    with store.db.transaction():
        for iid in ("i1", "i2"):
            store.db.execute("insert into inquiries (id, text, created_at, decision, channel, session) values "
                             "(?, 'Abo pausieren', '2026-12-01T00:00:00+00:00', 'suggest', 'widget', 's-gerlinde')",
                             [iid])
    record_contact(store, "api", session="s-gerlinde", customer="K-4711234", ticket_id="zd-9")
    record_contact(store, "api", session="s-gerlinde", customer="K-999", ticket_id="zd-10")   # the same browser
    store.close()
    r = runner.invoke(cli, ["privacy", "erase", "--customer", "gerlinde.s@EXAMPLE.org", "--home", str(home)])
    assert r.exit_code == 0 and "inquiries: 2 row(s) erased" in r.output and "tickets: 1 row(s) erased" in r.output
    store = Store(Home.resolve(home).database)
    assert store.db.execute("select count(*) from inquiries").fetchone()[0] == 0
    assert sorted(store.get_tickets(["zd-9", "zd-10"])) == ["zd-10"]   # another customer's ticket stays
    store.close()


def test_erase_reaches_every_copy_of_the_customers_texts(tmp_path):
    """What the agent pasted from their ticket, a search still waiting in the spool, the cached vectors and
    the gap report's examples go with the customer; an e-mail address is matched whatever its case."""
    from deflect.formats import Inquiry
    from deflect.store.feedback import record_contact
    from deflect.store.spool import Spool

    home = Home.resolve(tmp_path / "home")
    store = Store(home.database)
    store.set_setting("model", "use-m3+minilm")
    store.upsert_tickets([Ticket("zd-1", "Zeitung fehlt", "Zeitung fehlt seit Montag", "Nachgeliefert.", None, "de")])
    vector = [1.0, 0.0]
    store.log_inquiry(Inquiry("a1", "Zeitung fehlt seit Montag, Lindenweg", "de"), "answer", 0.9, None,
                      channel="agent", ticket_id="zd-1", vector=vector, model="use-m3+minilm")
    store.log_inquiry(Inquiry("w1", "Wo bleibt meine Zeitung", "de"), "answer", 0.9, None, channel="widget",
                      session="s-anna", vector=vector, model="use-m3+minilm")
    store.log_inquiry(Inquiry("w2", "Abo kündigen", "de"), "answer", 0.9, None, channel="widget",
                      session="s-other", vector=vector, model="use-m3+minilm")
    record_contact(store, "api", session="s-anna", customer="Anna.Berg@Example.de", ticket_id="zd-1")
    topic = {"examples": [{"source": "inquiry", "id": "w1", "text": "Wo bleibt meine Zeitung"},
                          {"source": "inquiry", "id": "w2", "text": "Abo kündigen"}],
             "representative": "Wo bleibt meine Zeitung", "language": "de", "label": "zeitung: Wo bleibt meine Zeitung"}
    with store.db.transaction():
        store.db["gap_topics"].insert({"id": "G-0001", "status": "new", "active": 0, "label": topic["label"],
                                       "title": "Hilfe: Wo bleibt meine Zeitung", "keywords": '["zeitung"]',
                                       "representative": topic["representative"], "report": json.dumps(topic),
                                       "members": json.dumps([{"source": "inquiry", "id": "w1"},
                                                              {"source": "inquiry", "id": "w2"}])})
    store.close()
    Spool(home.spool_file).append({"table": "inquiries", "id": "w3", "text": "Zeitung wieder nicht da",
                                   "session": "s-anna", "created_at": "2026-12-01T00:00:00+00:00"})
    Spool(home.spool_file).append({"table": "inquiries", "id": "w4", "text": "Rechnung", "session": "s-other",
                                   "created_at": "2026-12-01T00:00:00+00:00"})

    r = CliRunner().invoke(cli, ["privacy", "erase", "--customer", "anna.berg@example.de ", "--home", str(home.path)])
    assert r.exit_code == 0, r.output
    assert "inquiries: 2 row(s) erased" in r.output and "spooled rows: 1 row(s) erased" in r.output
    assert "help desk's own copy" in r.output
    store = Store(home.database)
    assert [r[0] for r in store.db.execute("select id from inquiries")] == ["w2"]
    assert store.db.execute("select count(*) from embeddings").fetchone()[0] == 1   # "Abo kündigen" only
    row = store.db.execute("select representative, label, title, report, members from gap_topics").fetchone()
    assert "Zeitung" not in " ".join(row[:3]) and "Wo bleibt" not in row[3] and '"w1"' not in row[4]
    assert row[0] == "Abo kündigen" and json.loads(row[3])["examples"] == [topic["examples"][1]]
    store.close()
    assert [json.loads(line)["id"] for line in home.spool_file.read_text().splitlines()] == ["w4"]


def test_a_ticket_naming_its_customer_redacts_what_the_session_typed_before(tmp_path):
    """A surname typed alone in the widget is no name to the rules; once the ticket sent with that session
    names the customer, it is this customer's and goes from the session's searches."""
    client, fake = app_with(tmp_path, [])
    fake.store.log_inquiry(Inquiry("w1", "Urlaubsservice Müller-Lüdenscheidt bitte", "de"), "no_answer", 0.1,
                           None, channel="widget", session="s-sabine")
    fake.store.log_inquiry(Inquiry("w2", "Urlaubsservice Müller-Lüdenscheidt bitte", "de"), "no_answer", 0.1,
                           None, channel="widget", session="s-other")
    r = client.put("/api/v1/tickets/zd-9", headers=bearer(new_key(fake, "agent")), json={
        "subject": "Urlaub", "body": "Bitte die Zeitung pausieren.", "resolution": "Erledigt.",
        "session": "s-sabine", "customer_name": "Sabine Müller-Lüdenscheidt"})
    assert r.status_code in (200, 201), r.get_json()
    texts = dict(fake.store.db.execute("select id, text from inquiries").fetchall())
    assert texts == {"w1": "Urlaubsservice [NAME] bitte", "w2": "Urlaubsservice Müller-Lüdenscheidt bitte"}


def test_purge_keeps_the_help_pages_traffic_for_the_retention_period_only(tmp_path):
    from deflect.clock import iso, utcnow
    from deflect.store.feedback import record_contact

    home = tmp_path / "home"
    store = Store(Home.resolve(home).database)
    old, recent = iso(utcnow() - timedelta(days=400)), iso(utcnow() - timedelta(days=3))
    store.upsert_tickets([Ticket("zd-1", "Abo kündigen", "Bitte kündigen", "Erledigt.", None, "de")])
    with store.db.transaction():
        for iid, at in (("old", old), ("recent", recent)):
            store.db.execute("insert into inquiries (id, text, created_at, decision, channel, session) values "
                             "(?, 'Abo kündigen', ?, 'answer', 'widget', ?)", [iid, at, f"s-{iid}"])
            store.db.execute("insert into evidence (id, kind, text, session, inquiry_id, created_at) values "
                             "(?, 'helpful', 'Abo kündigen', ?, ?, ?)", [f"e-{iid}", f"s-{iid}", iid, at])
    record_contact(store, "api", session="s-recent", ticket_id="zd-1")
    store.close()
    runner = CliRunner()
    r = runner.invoke(cli, ["privacy", "purge", "--older-than", "365", "--home", str(home)])
    assert r.exit_code == 0 and "inquiries: 1 row(s) deleted" in r.output and "evidence: 1 row(s) deleted" in r.output
    store = Store(Home.resolve(home).database)
    assert [r[0] for r in store.db.execute("select id from inquiries")] == ["recent"]
    assert [r[0] for r in store.db.execute("select id from evidence")] == ["e-recent"]
    assert store.db.execute("select count(*) from contacts").fetchone()[0] == 1 and store.get_tickets(["zd-1"])
    store.close()
    r = runner.invoke(cli, ["privacy", "purge", "--older-than", "365", "--home", str(home)])
    assert "Nothing older than 365 days." in r.output
    # a year of traffic at once: more searches than one statement takes as parameters
    store = Store(Home.resolve(home).database)
    with store.db.transaction():
        store.db.executemany("insert into inquiries (id, text, created_at, decision, channel) values "
                             "(?, 'Abo kündigen', ?, 'answer', 'widget')", [[f"q{i}", old] for i in range(40000)])
    store.close()
    r = runner.invoke(cli, ["privacy", "purge", "--older-than", "365", "--home", str(home)])
    assert r.exit_code == 0 and "inquiries: 40000 row(s) deleted" in r.output


def test_customer_ids_are_hashed_with_the_stores_own_key(tmp_path):
    """A customer number cannot be found again by hashing every number in turn; a store that hashed
    customer ids before keys keeps recognising them."""
    from deflect.store.feedback import record_contact
    from deflect.store.feedback_schema import m_feedback_003
    from deflect.store.hashing import HASH_KEY, one_way_hash

    store = Store(Home.resolve(tmp_path / "a").database)
    key = store.get_setting(HASH_KEY)
    assert len(key) == 32   # drawn for this store
    record_contact(store, "api", session="s", customer="123456")
    stored = store.db.execute("select customer from contacts").fetchone()[0]
    assert stored == one_way_hash("123456", key) != one_way_hash("123456")
    # the migration, run on a store whose contacts were hashed the old way, keeps the old way
    with store.db.transaction():
        m_feedback_003(store.db)
    assert store.get_setting(HASH_KEY) == ""


def test_a_command_without_the_database_url_makes_no_empty_store_beside_the_index(tmp_path, monkeypatch):
    # a PostgreSQL deployment's home: the index is here, the store is in the database
    monkeypatch.delenv("DEFLECT_DATABASE_URL", raising=False)
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "manifest.json").write_text("{}")
    for command in (["privacy", "erase", "--session", "s-1"], ["keys", "list"], ["gaps"]):
        result = CliRunner().invoke(cli, [*command, "--home", str(tmp_path)])
        assert result.exit_code != 0, command
        assert "DEFLECT_DATABASE_URL" in result.output and "Nothing stored" not in result.output
    assert not (tmp_path / "deflect.db").exists()
