"""Holdout, contacts, outcomes, customer history and learned evidence through the API and the CLI
(fake engine), and learning that changes the real engine's answers (real model)."""
from __future__ import annotations

import shutil

import pytest
from api_support import bearer, make_app, new_key
from click.testing import CliRunner

from deflect.cli import cli
from deflect.connectors.note import NoteOptions, compose_note
from deflect.feedback.history import session_history

# every test here runs on both store backends (SQLite, PostgreSQL): see conftest.database
pytestmark = pytest.mark.usefixtures("database")

PASSWORD = "I forgot my password and cannot log in"


def ask(client, text: str, session: str, ip: str = "10.0.0.1") -> dict:
    r = client.post("/api/v1/suggest", json={"text": text, "session": session}, environ_base={"REMOTE_ADDR": ip})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def vote(client, answer: dict, helpful: bool, session: str, ip: str = "10.0.0.1", article: str | None = None):
    r = client.post("/api/v1/feedback", json={"inquiry_id": answer["id"], "helpful": helpful, "session": session,
                                              "article_id": article or answer["articles"][0]["id"]},
                    environ_base={"REMOTE_ADDR": ip})
    assert r.status_code == 201, r.get_json()


def test_holdout_sessions_get_no_suggestions_sticky_and_logged(tmp_path):
    app, fake = make_app(tmp_path, HOLDOUT=0.5)
    client = app.test_client()
    arms = {}
    for n in range(40):
        first = ask(client, PASSWORD, f"s{n}")
        again = ask(client, PASSWORD, f"s{n}")
        assert bool(first.get("holdout")) == bool(again.get("holdout"))   # sticky per session
        arms[f"s{n}"] = "holdout" if first.get("holdout") else "shown"
        if first.get("holdout"):
            assert first["articles"] == [] and first["decision"] == "no_answer" and first["shown"] == 0
        else:
            assert first["articles"][0]["id"] == "en-password-reset"
    assert 5 < list(arms.values()).count("holdout") < 35
    logged = dict(fake.store.db.execute("select session, arm from widget_sessions").fetchall())
    assert logged == arms
    held = next(s for s, a in arms.items() if a == "holdout")
    decisions = {r[0] for r in fake.store.db.execute("select decision from inquiries where session = ?", [held])}
    assert decisions == {"holdout"}


def test_holdout_is_off_by_default(tmp_path):
    app, fake = make_app(tmp_path)
    client = app.test_client()
    assert all("holdout" not in ask(client, PASSWORD, f"s{n}") for n in range(10))
    assert fake.store.db["widget_sessions"].count == 0


def test_metrics_compare_contact_rates_of_shown_and_held_out_sessions(tmp_path):
    app, fake = make_app(tmp_path, HOLDOUT=0.5)
    client = app.test_client()
    admin = bearer(new_key(fake, "admin"))
    seen = {True: 0, False: 0}     # sessions per arm so far: the arms are drawn at random, the rates are not
    for n in range(60):
        session = f"s{n}"
        answer = ask(client, PASSWORD, session)
        held_out = bool(answer.get("holdout"))
        seen[held_out] += 1
        if held_out and seen[True] % 4 != 0:            # 3 of 4 held-out sessions contact support
            client.put(f"/api/v1/tickets/T{n}", json={"subject": "login", "body": PASSWORD, "session": session},
                       headers=admin)
        elif not held_out and seen[False] % 4 == 1:     # 1 of 4 shown sessions contacts support
            client.post("/api/v1/feedback", json={"inquiry_id": answer["id"], "event": "contacted_support"})
    body = client.get("/api/v1/metrics", headers=admin).get_json()
    holdout = body["holdout"]
    held, shown = holdout["holdout"], holdout["shown"]
    assert held["sessions"] + shown["sessions"] == 60
    assert held["contact_rate"] > 0.6 and shown["contact_rate"] < 0.35
    low, high = holdout["difference"]["ci95"]
    assert low < holdout["difference"]["value"] < high < 0
    assert "lowered the contact rate" in holdout["meaning"]
    assert holdout["sessions_needed"][0]["sessions"] > 0


def test_results_page_keeps_the_holdout_arm_and_a_ticket_with_the_session_is_no_deflection(tmp_path):
    app, fake = make_app(tmp_path, HOLDOUT=0.5)
    client = app.test_client()
    admin = bearer(new_key(fake, "admin"))
    arms = {f"s{n}": bool(ask(client, PASSWORD, f"s{n}").get("holdout")) for n in range(20)}
    held = next(s for s, out in arms.items() if out)
    shown = [s for s, out in arms.items() if not out]
    page = client.get("/search", query_string={"q": PASSWORD, "session": held}).get_data(as_text=True)
    assert 'data-decision="holdout"' in page and "result-title" not in page and "#kontakt" in page
    page = client.get("/search", query_string={"q": PASSWORD, "session": shown[0]}).get_data(as_text=True)
    assert "result-title" in page
    # a shown session whose customer wrote in anyway (a ticket sent with the session) was not deflected
    client.put("/api/v1/tickets/T-1", json={"subject": "login", "body": PASSWORD, "session": shown[1]},
               headers=admin)
    totals = client.get("/api/v1/metrics", headers=admin).get_json()["totals"]
    assert totals["sessions_with_suggestion"] == len(shown) and totals["deflected_sessions"] == len(shown) - 1
    # the results page's search for the question the session has just asked is that question, not another
    assert totals["held_out"] == len(arms) - len(shown)
    assert totals["no_answer_rate"] == 0.0


def test_outcomes_per_article(tmp_path):
    app, fake = make_app(tmp_path)
    client = app.test_client()
    admin = bearer(new_key(fake, "admin"))
    a = ask(client, PASSWORD, "happy")
    vote(client, a, True, "happy")
    b = ask(client, PASSWORD, "unhappy")
    vote(client, b, False, "unhappy")
    client.post("/api/v1/feedback", json={"inquiry_id": b["id"], "event": "contacted_support"})
    c = ask(client, PASSWORD, "back-again")
    vote(client, c, True, "back-again")
    client.put("/api/v1/tickets/T-9", json={"subject": "still no login", "body": "still", "session": "back-again"},
               headers=admin)
    # a customer the engine was not sure for: the article among those that might help, voted helpful
    d = ask(client, PASSWORD, "unsure")
    with fake.store.db.transaction():
        fake.store.db.execute("update inquiries set decision = 'suggest', shown = ? where id = ?",
                              ["en-other,en-password-reset", d["id"]])
    vote(client, d, True, "unsure", article="en-password-reset")
    # a customer helped by the article asks something else, finds nothing and writes: not the article's doing
    e = ask(client, PASSWORD, "two-questions")
    vote(client, e, True, "two-questions")
    other = ask(client, "Wetter morgen Regenschirm", "two-questions")
    assert other["decision"] == "no_answer"
    client.post("/api/v1/feedback", json={"inquiry_id": other["id"], "event": "contacted_support"})
    client.put("/api/v1/tickets/T-10", json={"subject": "Wetter", "body": "Regen?", "session": "two-questions"},
               headers=admin)
    row = next(o for o in client.get("/api/v1/metrics", headers=admin).get_json()["outcomes"]
               if o["article_id"] == "en-password-reset")
    assert row == {"article_id": "en-password-reset", "title": "How do I reset my password?", "shown": 5,
                   "found_answer": 4, "not_helpful": 1, "contacted_anyway": 2, "contacted_after_helpful": 1}


def test_agent_and_note_show_what_the_customer_already_did(tmp_path):
    app, fake = make_app(tmp_path)
    client = app.test_client()
    agent = bearer(new_key(fake, "agent"))
    answer = ask(client, "forgot password, my mail is erika@example.org", "cust-1")
    vote(client, answer, False, "cust-1")
    r = client.put("/api/v1/tickets/HD-1", json={"subject": "Login", "body": "Still locked out", "session": "cust-1",
                                                 "customer_id": "C-42"}, headers=agent)
    assert r.status_code == 201
    history = client.get("/api/v1/agent/history?ticket=HD-1", headers=agent).get_json()
    assert history["summary"] == ("searched 'forgot password, my mail is [E-MAIL]', was shown "
                                  "'How do I reset my password?', said not helpful")
    assert "erika" not in str(history)
    body = client.post("/api/v1/agent/suggest", json={"body": "Still locked out", "ticket_id": "HD-1"},
                       headers=agent).get_json()
    assert body["history"]["summary"] == history["summary"]
    assert client.post("/api/v1/agent/suggest", json={"body": "Still locked out"}, headers=agent).get_json()[
        "history"] is None
    with app.app_context():
        note = compose_note(fake, "Login", "Still locked out", NoteOptions(language="en"), log_channel=None,
                            history=session_history(fake.store, ["cust-1"]))
    assert "The customer already:" in note.markdown and "said not helpful" in note.html
    # a German team's note (agent_language de): its words and the customer's steps in German
    with app.app_context():
        note = compose_note(fake, "Login", "Still locked out", NoteOptions(language="de"), log_channel=None,
                            history=session_history(fake.store, ["cust-1"]))
    assert "**Bisher im Widget:** suchte „forgot password" in note.markdown and "fand es nicht hilfreich" in note.html
    assert "Antwortentwurf:" in note.markdown and "The customer already" not in note.markdown
    # the help desk shows the note on its own site: article links there carry the help center's address
    with app.app_context():
        note = compose_note(fake, "Login", "I forgot my password", NoteOptions(help_center_url="https://hilfe.example.de/"),
                            log_channel=None)
    assert "[How do I reset my password?](https://hilfe.example.de/help/en/password)" in note.markdown
    assert '<a href="https://hilfe.example.de/help/en/password">' in note.html and "](/help" not in note.markdown
    assert fake.store.db.execute("select customer from contacts").fetchone()[0] not in (None, "C-42")


def test_votes_choices_and_resolved_tickets_become_evidence_that_can_be_listed_and_forgotten(tmp_path):
    app, fake = make_app(tmp_path)
    client = app.test_client()
    admin, agent = bearer(new_key(fake, "admin")), bearer(new_key(fake, "agent", "agent"))
    answer = ask(client, PASSWORD, "s1")
    vote(client, answer, True, "s1")
    vote(client, ask(client, "Abo kündigen bitte", "s2"), False, "s2")
    r = client.post("/api/v1/agent/choice", json={"inquiry_id": answer["id"], "article_id": "en-password-reset"},
                    headers=agent)
    assert r.status_code == 201
    assert client.post("/api/v1/agent/choice", json={"inquiry_id": "nope", "article_id": "en-password-reset"},
                       headers=agent).status_code == 404
    ask(client, "cannot log in at all", "s3")
    client.put("/api/v1/tickets/R-1", json={"subject": "login", "body": "login", "session": "s3",
                                            "article_id": "en-password-reset"}, headers=agent)
    listed = client.get("/api/v1/learned", headers=admin).get_json()
    kinds = sorted((e["kind"], e["article_id"], e["weight"]) for e in listed["evidence"])
    assert kinds == [("agent_choice", "en-password-reset", 2.0), ("helpful", "en-password-reset", 1.0),
                     ("not_helpful", "kuendigung-abo", -1.0), ("resolved", "en-password-reset", 2.0)]
    refit = client.post("/api/v1/learned/refit", json={"wait": True}, headers=admin).get_json()
    assert refit["evidence_in_use"] == 4 and fake.learned is not None and len(fake.learned) == 4

    runner = CliRunner()
    home = ["--home", str(fake.home.path)]
    out = runner.invoke(cli, ["feedback", "list", *home])
    assert out.exit_code == 0 and out.output.count("en-password-reset") == 3
    out = runner.invoke(cli, ["feedback", "forget", "--session", "s2", *home])
    assert out.exit_code == 0 and "forgot 1" in out.output
    r = client.post("/api/v1/learned/forget", json={"article_id": "en-password-reset", "kind": "resolved"},
                    headers=admin)
    assert r.get_json()["forgotten"] == 1
    client.post("/api/v1/learned/refit", json={"wait": True}, headers=admin)
    assert len(fake.learned) == 2
    assert client.get("/api/v1/learned", headers=agent).status_code == 403


@pytest.fixture
def live_app(demo_home_template, tmp_path):
    from deflect.web import create_app

    home = tmp_path / "home"
    shutil.copytree(demo_home_template, home)
    app = create_app({"DEFLECT_HOME": str(home), "RATE_LIMIT": "off", "TESTING": True})
    from deflect.store import open_store
    from deflect.store.service import create_key
    store = open_store(home / "deflect.db")
    key = create_key(store, "t", "admin")[1]
    store.close()
    return app, bearer(key)


def test_feedback_changes_the_real_engines_answer_and_a_flood_does_not(live_app):
    app, admin = live_app
    client = app.test_client()
    question = "Zeitung kam nass an"
    before = ask(client, question, "probe")
    first = before["articles"][0]
    # 5 sessions x 40 false "helpful" votes for another article: below the minimum of distinct sessions
    other = ask(client, "Wie kündige ich mein Abo?", "probe2")["articles"][0]["id"]
    assert other != first["id"]
    for s in range(5):
        answer = ask(client, question, f"flood-{s}", ip=f"192.0.2.{s}")
        for _ in range(40):   # refused: the suggestion did not show it (deflect.store.service.record_feedback)
            r = client.post("/api/v1/feedback", json={"inquiry_id": answer["id"], "helpful": True,
                                                      "session": f"flood-{s}", "article_id": other},
                            environ_base={"REMOTE_ADDR": f"192.0.2.{s}"})
            assert r.status_code == 400 and "was not shown" in r.get_json()["error"]
    client.post("/api/v1/learned/refit", json={"wait": True}, headers=admin)
    flooded = ask(client, question, "probe3")
    assert [(a["id"], a["score"]) for a in flooded["articles"]] == [(a["id"], a["score"]) for a in before["articles"]]
    assert flooded["confidence"] == before["confidence"]
    # 10 customers say the first article did not help: it goes down, and deflect is less sure of it
    voted = 0
    for s in range(10):   # each vote schedules a refit: once the article went down, customers no longer see it
        answer = ask(client, question, f"c{s}", ip=f"10.1.0.{s}")
        if first["id"] in [a["id"] for a in answer["articles"][:answer["shown"]]]:
            vote(client, answer, False, f"c{s}", ip=f"10.1.0.{s}", article=first["id"])
            voted += 1
    assert voted >= 3
    client.post("/api/v1/learned/refit", json={"wait": True}, headers=admin)
    after = ask(client, question, "probe4")
    scores = {a["id"]: a["score"] for a in after["articles"]}
    assert after["articles"][0]["id"] != first["id"] or scores[first["id"]] < first["score"] - 0.2
    assert after["confidence"] < before["confidence"]


def test_helpful_votes_of_enough_customers_turn_a_suggestion_into_the_answer(live_app):
    app, admin = live_app
    client = app.test_client()
    candidates = ["Zeitung", "Abo", "Rechnung Frage", "Lieferung", "Konto"]
    unsure = [(q, a) for q in candidates if (a := ask(client, q, "probe"))["articles"] and a["decision"] != "answer"]
    assert unsure, "every candidate is already answered"
    question, before = unsure[0]
    first = before["articles"][0]["id"]
    for s in range(10):   # ten customers found their answer in the first article
        answer = ask(client, question, f"h{s}", ip=f"10.2.0.{s}")
        vote(client, answer, True, f"h{s}", ip=f"10.2.0.{s}", article=first)
    client.post("/api/v1/learned/refit", json={"wait": True}, headers=admin)
    after = ask(client, question, "probe2")
    assert after["articles"][0]["id"] == first
    assert after["decision"] == "answer" and after["confidence"] > before["confidence"]


def test_three_customers_saying_not_helpful_lower_the_first_article_two_cannot(live_app):
    app, admin = live_app
    client = app.test_client()
    question = "Zeitung kam nass an"
    before = ask(client, question, "probe")
    first = before["articles"][0]["id"]

    def not_helpful(session: str, ip: str) -> dict:
        vote(client, ask(client, question, session, ip=ip), False, session, ip=ip, article=first)
        client.post("/api/v1/learned/refit", json={"wait": True}, headers=admin)
        return ask(client, question, f"probe-{session}")

    not_helpful("n0", "10.3.0.1")
    two = not_helpful("n1", "10.3.0.2")
    assert two["articles"][0]["id"] == first and two["confidence"] == before["confidence"]
    same_address = not_helpful("n2", "10.3.0.2")   # a second session from an address already heard
    assert same_address["articles"][0]["id"] == first
    three = not_helpful("n3", "10.3.0.3")
    # it is no longer first, or at least no longer given as the answer
    assert three["articles"][0]["id"] != first or (three["decision"] != "answer"
                                                   and three["confidence"] < before["confidence"])


def test_a_helpful_vote_for_a_lower_shown_article_passes_over_the_ones_above_it(tmp_path):
    app, fake = make_app(tmp_path)
    client = app.test_client()
    admin = bearer(new_key(fake, "admin"))
    answer = ask(client, "password kündige", "probe")   # a near tie: both articles shown
    assert answer["shown"] == 2 and len(answer["articles"]) == 3
    first, second, unseen = (a["id"] for a in answer["articles"])
    vote(client, answer, True, "s1", article=second)
    # an article the customer was not shown is refused (a forged vote, or a flood): it passes nothing over
    r = client.post("/api/v1/feedback", json={"inquiry_id": answer["id"], "helpful": True, "session": "s2",
                                              "article_id": unseen}, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert r.status_code == 400
    vote(client, answer, True, "s3", ip="10.0.0.3", article=first)   # nothing above the first
    listed = client.get("/api/v1/learned", headers=admin).get_json()["evidence"]
    passed = [(e["kind"], e["article_id"], e["weight"]) for e in listed if e["kind"] == "passed_over"]
    assert passed == [("passed_over", first, -1.0)]
    # the same suggestion voted again (a page shown again offers the buttons again): the first vote counts
    for helpful in (True, False):
        again = client.post("/api/v1/feedback", json={"inquiry_id": answer["id"], "helpful": helpful, "session": "s1",
                                                      "article_id": second}, environ_base={"REMOTE_ADDR": "10.0.0.1"})
        assert again.status_code == 200 and again.get_json()["already_voted"] and again.get_json()["event"] == "helpful"
    listed = client.get("/api/v1/learned", headers=admin).get_json()["evidence"]
    assert sum(e["kind"] == "passed_over" for e in listed) == 1
    assert sorted(e["kind"] for e in listed if e["article_id"] == second) == ["helpful"]
    metrics = client.get("/api/v1/metrics", headers=admin).get_json()["totals"]
    assert (metrics["helpful"], metrics["not_helpful"]) == (2, 0)
    # forgetting the vote forgets what it passed over (the first article would stay demoted)
    out = CliRunner().invoke(cli, ["feedback", "forget", "--article", second, "--home", str(fake.home.path)])
    assert out.exit_code == 0 and "forgot" in out.output
    listed = client.get("/api/v1/learned", headers=admin).get_json()["evidence"]
    assert [e["kind"] for e in listed] == ["helpful"] and listed[0]["article_id"] == first
    vote(client, ask(client, "password kündige", "probe"), True, "s1", article=second)
    out = CliRunner().invoke(cli, ["feedback", "forget", "--kind", "passed_over", "--home", str(fake.home.path)])
    assert out.exit_code == 0 and "forgot 1" in out.output
