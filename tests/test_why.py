"""How a recurring contact could have been avoided: why a covered question was not found (one small home
per reason), which fix a topic needs (and the team's override sticking to it), incidents (detector,
live assignment, notification hook), notices in the API and the widget's matching."""
from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from api_support import bearer, make_app, new_key
from click.testing import CliRunner
from test_gaps import NOW, deflector, estimator, log, report_of  # noqa: F401  (the fixture)

from deflect.clock import iso
from deflect.errors import InputError
from deflect.formats import Inquiry
from deflect.gaps.fix_kind import MemberText, classify, set_kind
from deflect.gaps.incidents import check
from deflect.gaps.live import notify, watch
from deflect.gaps.report import stored_report

# every test here runs on both store backends (SQLite, PostgreSQL): see conftest.database
pytestmark = pytest.mark.usefixtures("database")


# -- why not found: one home per reason ---------------------------------------------------------------
def logged(store, iid: str, text: str, lang: str, article: str | None, confidence: float = 0.3) -> None:
    store.log_inquiry(Inquiry(iid, text, lang), "no_answer", confidence, article, channel="widget")


def why_of(report: dict, inquiry: str) -> dict:
    found = [w for g in report["not_found"] for w in g["why"] if w["inquiry"] == inquiry]
    assert found, f"{inquiry} is not in the not-found list: {report['not_found']}"
    return found[0]


def test_reason_doubt_shows_the_confidence(deflector):  # noqa: F811
    logged(deflector.store, "q", "refund for my order please", "en", "refunds", confidence=0.41)
    report = report_of(deflector, estimator=estimator(), now=NOW)
    why = why_of(report, "q")
    assert (why["reason"], why["confidence"]) == ("doubt", 0.41)
    assert report["counts"]["not_found_reasons"]["doubt"] == 1


def test_reason_wording_shows_the_missing_words(deflector):  # noqa: F811
    logged(deflector.store, "q", "refund moneyback kthxbye", "en", "refunds")
    why = why_of(report_of(deflector, estimator=estimator(), now=NOW), "q")
    assert why["reason"] == "wording"
    assert set(why["missing_words"]) == {"moneyback", "kthxbye"}
    assert "question" in why["fix"]


def test_reason_language_names_the_other_language_version(deflector):  # noqa: F811
    logged(deflector.store, "q", "Erstattung für meine Bestellung", "de", "refunds")
    why = why_of(report_of(deflector, estimator=estimator(), now=NOW), "q")
    assert (why["reason"], why["twin"], why["twin_title"]) == ("language", "refunds", "How do I get a refund?")
    assert why["fix"] == "Translate “How do I get a refund?” into German."


def test_reason_language_for_a_phrasing_in_a_third_language_without_a_language_given():
    from deflect.gaps.why import ArticleFacts, explain

    facts = {"refunds": ArticleFacts("How do I get a refund?", "en", None, {"refun", "order"})}
    why = explain("Quiero un reembolso de mi pedido, gracias", "q", None, None, "refunds", "refunds", 0.4, facts)
    assert (why.reason, why.fix) == ("language", "Translate “How do I get a refund?” into Spanish.")


def test_reason_sibling_names_the_article_that_outranked_it(deflector):  # noqa: F811
    logged(deflector.store, "q", "refund for my order please", "en", "delivery")
    why = why_of(report_of(deflector, estimator=estimator(), now=NOW), "q")
    assert (why["reason"], why["sibling"], why["sibling_title"]) == ("sibling", "delivery", "Where is my delivery?")


def test_reason_new_when_the_article_is_younger_than_the_inquiry(deflector):  # noqa: F811
    s = deflector.store
    logged(s, "q", "refund for my order please", "en", "refunds")
    with s.db.transaction():
        s.db.execute("update inquiries set created_at = ? where id = 'q'", [iso(NOW - timedelta(days=3))])
        s.db.execute("update articles set created_at = ? where id = 'refunds'", [iso(NOW - timedelta(days=1))])
    report = report_of(deflector, estimator=estimator(), now=NOW)
    why = why_of(report, "q")
    assert why["reason"] == "new" and why["greyed"] and why["fix"] == ""
    # the CLI carries the same fields
    from deflect.cli.gaps import gaps
    out = CliRunner().invoke(gaps, ["--format", "json", "--home", str(deflector.home.path)])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["counts"]["not_found_reasons"]["new"] == 1
    assert data["not_found"][0]["why"][0]["reason"] == "new"


# -- which fix -----------------------------------------------------------------------------------------
def test_fix_kinds_from_words_resolutions_and_spikes():
    crash = [MemberText("Die App stürzt ständig ab seit dem Update"), MemberText("App keeps crashing on start"),
             MemberText("Fehlermeldung beim Öffnen")]
    assert classify(crash).kind == "product"
    transfer = [MemberText("Kann ich das Abo meiner verstorbenen Mutter übernehmen?",
                           "Abo nach Vorlage der Sterbeurkunde intern umgeschrieben."),
                MemberText("Take over my father's subscription", "Subscription transferred to the family member.")]
    fix = classify(transfer)
    assert fix.kind == "process" and {"übernehmen", "verstorbenen"} & set(fix.evidence)
    question = [MemberText("Wo finde ich die Auflösung vom Kreuzworträtsel?"), MemberText("Where are the answers?")]
    assert classify(question).kind == "article"
    plain = [MemberText("Kreuzworträtsel Auflösung"), MemberText("Rätselseite")]
    assert classify(plain).kind == "article" and classify(plain, spike=True).kind == "product"
    assert "spike" in classify(plain, spike=True).evidence
    # a month's rise alone is no defect (a new question rises too); beside words of a defect it counts
    assert classify(plain, rising=True).kind == "article"
    broken = [MemberText("Rätselseite lädt nicht"), MemberText("Das Rätsel geht nicht mehr"),
              MemberText("Wo finde ich das Kreuzworträtsel?"), MemberText("Wo ist die Rätselseite?")]
    assert classify(broken).kind == "article"
    assert classify(broken, rising=True).kind == "product" and "rising" in classify(broken, rising=True).evidence


def test_team_override_sticks_to_the_topic_and_owner_prefills(deflector, monkeypatch):  # noqa: F811
    monkeypatch.setenv("DEFLECT_OWNER_PROCESS", "Self-service team")
    report = report_of(deflector, estimator=estimator(), now=NOW)
    crash = next(t for t in report["topics"] if "crash" in " ".join(t["keywords"]))
    assert crash["fix"]["kind"] == "product" and crash["fix"]["source"] == "auto"
    fix = set_kind(deflector.store, crash["id"], "process")
    assert (fix.kind, fix.source, fix.owner) == ("process", "team", "Self-service team")
    with pytest.raises(InputError):
        set_kind(deflector.store, crash["id"], "bug")
    again = report_of(deflector, estimator=estimator(), now=NOW + timedelta(days=1))
    assert next(t for t in again["topics"] if t["id"] == crash["id"])["fix"]["kind"] == "process"
    stored = stored_report(deflector.store).to_dict()
    assert next(t for t in stored["topics"] if t["id"] == crash["id"])["fix"]["source"] == "team"


# -- incidents -----------------------------------------------------------------------------------------
START = datetime(2026, 3, 2, tzinfo=UTC)   # a Monday


def steady(days: int, per_day: int) -> list[float]:
    return [(START + timedelta(days=d, hours=8 + 10 * k / per_day)).timestamp()
            for d in range(days) for k in range(per_day)]


def test_detector_flags_a_burst_and_not_small_counts_or_the_usual_level():
    history = steady(28, 10)
    now = START + timedelta(days=28, hours=11)
    assert check(history, now) is None                      # a usual day
    burst = [(now - timedelta(minutes=m)).timestamp() for m in range(1, 9) for _ in range(2)]
    alarm = check(sorted(history + burst), now)
    assert alarm is not None and alarm.count >= 16 and alarm.baseline < 3
    few = [(now - timedelta(minutes=m)).timestamp() for m in range(1, 4)]
    assert check(sorted(history + few), now) is None         # three inquiries are no incident
    assert check(burst, now) is None                         # without a history there is no usual level


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        _Hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def hook():
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def test_hook_gets_the_incident_and_a_dead_hook_is_retried_without_failing(hook):
    assert notify(hook, {"id": 1, "topic_id": "G-0001"})
    assert _Hook.received[0]["incident"]["topic_id"] == "G-0001"
    assert not notify("http://127.0.0.1:9/nothing", {"id": 2}, tries=2, pause=0.01)


def test_each_help_center_gets_its_own_incident_checks(monkeypatch):
    """The help centers of one instance share a process: one's traffic must not use up the other's checks."""
    from deflect.gaps import live

    checked: list[str] = []
    monkeypatch.setattr(live, "_last_watch", {})
    monkeypatch.setattr(live, "_OnStore", lambda engine, store: store)
    monkeypatch.setattr(live, "watch", lambda store, hook_url=None: checked.append(store))

    class Store:
        def __init__(self, path):
            self.path = path

        def close(self):
            pass

    monkeypatch.setattr("deflect.store.Store", Store)
    for path in ("/srv/deflect/rheinblick/deflect.db", "/srv/deflect/rheinblick/deflect.db",
                 "/srv/deflect/leserreisen/deflect.db"):
        thread = live.watch_in_background(None, path, min_interval=3600)
        if thread is not None:
            thread.join(5)
    assert [s.path for s in checked] == ["/srv/deflect/rheinblick/deflect.db", "/srv/deflect/leserreisen/deflect.db"]


def test_not_found_names_the_article_the_engine_ranks_now_not_the_one_it_showed_before():
    """A question about podcasts, asked before the podcast article existed, was shown the subscriptions
    article (a "suggest"). Once the podcast article is written, the advice must not be "add this phrasing
    to the subscriptions article"."""
    import numpy as np

    from deflect.gaps.items import ArticleDocs, Item, Judgements
    from deflect.gaps.not_found import not_found

    def unit(*xs):
        v = np.array(xs, np.float32)
        return v / np.linalg.norm(v)

    abo, podcast = unit(1, 0, 0), unit(0, 1, 0)
    items = [Item(f"ticket:a{i}", "ticket", f"a{i}", "Abo-Varianten", "de", None, None, linked="abo") for i in range(4)]
    items += [Item("inquiry:q", "inquiry", "q", "Rheinblick Podcast Folgen finden", "de", "widget", None,
                   logged_decision="suggest", logged_article="abo", logged_confidence=0.5)]
    # near both: most of its neighbourhood's vote goes to the podcast article's texts, a fair share to abo's
    V = np.vstack([unit(1, 0.05 * i, 0) for i in range(4)] + [unit(1, 1.2, 0)])
    docs = ArticleDocs(np.vstack([abo, podcast, podcast, podcast]), ["abo", "podcast", "podcast", "podcast"],
                       {"abo": "Welche Abo-Varianten gibt es?", "podcast": "Rheinblick Podcast: Folgen finden"})
    now = Judgements(np.array(["linked"] * 4 + ["no_answer"], object), np.array([1.0] * 4 + [0.6]),
                     np.array(["abo"] * 4 + ["podcast"], object), np.zeros(5, bool))
    listed = not_found(items, V, np.zeros(5, int), set(), now, docs, k=5, floor=0.3)
    assert [(g.article_id, g.phrasings) for g in listed] == [("podcast", ["Rheinblick Podcast Folgen finden"])]


def crash_history(store, topic_id: str, now: datetime) -> None:
    rows = [{"inquiry_id": f"h{d}-{k}", "topic_id": topic_id, "at": iso(now - timedelta(days=d, hours=k * 3)),
             "similarity": 0.9} for d in range(1, 29) for k in range(2)]
    with store.db.transaction():
        store.db["topic_volume"].insert_all(rows, pk="inquiry_id")


def test_new_inquiries_raise_an_incident_within_minutes_and_notices_reach_the_widget(tmp_path, hook):
    from test_gaps import gap_engine
    from test_gaps import ticket as gap_ticket

    from deflect.home import Home

    d = gap_engine(Home(tmp_path / "home").ensure())
    app, _ = make_app(tmp_path, INCIDENT_HOOK_URL=hook, DEFLECTOR=d)
    d.store.upsert_tickets([gap_ticket(f"c{i}", f"the app crash again {i}") for i in range(6)])
    report = report_of(d, estimator=estimator(), now=NOW)
    crash = report["topics"][0]["id"]
    now = datetime.now(UTC).replace(microsecond=0)
    crash_history(d.store, crash, now)
    for i in range(12):
        log(d.store, f"burst{i}", f"app crash on start {i}")
    from test_api_openapi import check as matches_openapi

    client, admin = app.test_client(), bearer(new_key(d, "admin"))
    doc = client.get("/api/v1/openapi.json").get_json()
    real_post, real_get, real_put = client.post, client.get, client.put

    def checked(method, real):
        def call(url, **kw):
            response = real(url, **kw)
            template = re.sub(r"/incidents/\d+/", "/incidents/{incident_id}/", url.split("?")[0])
            template = re.sub(r"/gaps/[^/]+/kind", "/gaps/{topic_id}/kind", template)
            matches_openapi(doc, method, template, response)   # every answer as documented
            return response
        return call
    client.post, client.get, client.put = checked("post", real_post), checked("get", real_get), \
        checked("put", real_put)
    r = client.post("/api/v1/incidents/check", headers=admin)
    assert r.status_code == 200, r.get_json()
    incidents = client.get("/api/v1/incidents", headers=admin).get_json()["incidents"]
    assert [i["topic_id"] for i in incidents] == [crash] and incidents[0]["count"] >= 12
    for _ in range(50):
        if _Hook.received:
            break
        threading.Event().wait(0.05)
    assert _Hook.received and _Hook.received[0]["incident"]["topic_id"] == crash
    # a notice for it reaches customers whose question belongs to the topic, and only them
    r = client.post(f"/api/v1/incidents/{incidents[0]['id']}/notices", headers=admin,
                    json={"texts": {"de": "Die App stürzt ab, wir arbeiten daran.",
                                    "en": "The app crashes; a fix is coming."}})
    assert r.status_code == 201, r.get_json()
    assert client.get("/api/v1/notices").get_json()["notices"][0]["topic_id"] == crash
    hit = client.post("/api/v1/notices/match", json={"text": "app crash again", "language": "en", "session": "s1"})
    assert hit.get_json()["notice"]["text"] == "The app crashes; a fix is coming."
    miss = client.post("/api/v1/notices/match", json={"text": "refund please", "session": "s2"})
    assert miss.get_json()["notice"] is None
    # the agent answering such a ticket sees the notice too (no customer's view counted)
    agent = bearer(new_key(d, "agent", name="agent"))
    looked = client.post("/api/v1/agent/suggest", headers=agent, json={"body": "app crash again, please help"})
    assert looked.status_code == 200 and looked.get_json()["notice"]["text"] == "The app crashes; a fix is coming."
    other = client.post("/api/v1/agent/suggest", headers=agent, json={"body": "refund please for my order"})
    assert other.get_json()["notice"] is None
    notice = client.get("/api/v1/incidents", headers=admin).get_json()["incidents"][0]["notices"][0]
    assert (notice["sessions_seen"], notice["sessions_no_contact"]) == (1, 1)
    asked = client.post("/api/v1/suggest", json={"text": "app crash again", "session": "s1"}).get_json()["id"]
    assert client.post("/api/v1/feedback", json={"inquiry_id": asked, "event": "contacted_support",
                                                 "session": "s1"}).status_code in (200, 201)
    assert client.get("/api/v1/metrics", headers=admin).get_json()["notices"] == {
        "sessions_seen": 1, "sessions_no_contact": 0}   # s1 saw the notice and still wrote
    bad = client.post(f"/api/v1/incidents/{incidents[0]['id']}/notices", headers=admin, json={"texts": {}})
    assert bad.status_code == 400
    assert client.post("/api/v1/incidents/999/notices", headers=admin, json={"texts": {"de": "x"}}).status_code == 404
    # the override through the API
    r = client.put(f"/api/v1/gaps/{crash}/kind", headers=admin, json={"kind": "product"})
    assert r.get_json()["fix"]["source"] == "team"
    assert client.put(f"/api/v1/gaps/{crash}/kind", headers=admin, json={"kind": "bug"}).status_code == 400


def test_watch_closes_an_incident_once_quiet(deflector):  # noqa: F811
    report = report_of(deflector, estimator=estimator(), now=NOW)
    crash = next(t for t in report["topics"] if "crash" in " ".join(t["keywords"]))["id"]
    now = datetime.now(UTC).replace(microsecond=0)
    crash_history(deflector.store, crash, now)
    for i in range(12):
        log(deflector.store, f"burst{i}", f"app crash on start {i}")
    now = datetime.now(UTC).replace(microsecond=0)
    assert [i["topic_id"] for i in watch(deflector, now)] == [crash]
    assert watch(deflector, now + timedelta(hours=5)) == []
    states = [r[0] for r in deflector.store.db.execute("select state from incidents")]
    assert states == ["closed"]



def test_one_customer_typing_and_asking_again_is_no_incident(deflector):  # noqa: F811
    report = report_of(deflector, estimator=estimator(), now=NOW)
    crash = next(t for t in report["topics"] if "crash" in " ".join(t["keywords"]))["id"]
    now = datetime.now(UTC).replace(microsecond=0)
    crash_history(deflector.store, crash, now)
    for session in ("s1", "s2"):   # two customers, each typing in stages and asking again: 12 inquiries
        for i in range(6):
            deflector.store.log_inquiry(Inquiry(f"{session}-{i}", f"app crash on start {'again ' * i}", "en"),
                                        "no_answer", 0.1, None, channel="widget", session=session)
    assert watch(deflector, datetime.now(UTC).replace(microsecond=0)) == []

def test_cli_kind_incidents_and_notice(deflector):  # noqa: F811
    from deflect.cli.gaps import gaps
    from deflect.cli.incidents import incidents

    home = str(deflector.home.path)
    report = report_of(deflector, estimator=estimator(), now=NOW)
    crash = next(t for t in report["topics"] if "crash" in " ".join(t["keywords"]))["id"]
    out = CliRunner().invoke(gaps, ["kind", crash, "process", "--home", home])
    assert out.exit_code == 0 and f"{crash}: fix process (team)" in out.output
    table = CliRunner().invoke(gaps, ["--home", home]).output
    assert "fix: process (team" in table
    now = datetime.now(UTC).replace(microsecond=0)
    crash_history(deflector.store, crash, now)
    for i in range(12):
        log(deflector.store, f"burst{i}", f"app crash on start {i}")
    watch(deflector, datetime.now(UTC).replace(microsecond=0))
    out = CliRunner().invoke(incidents, ["--home", home])
    assert out.exit_code == 0 and f"#1 open   {crash} 15 in the window" in out.output   # 3 asked before
    if not deflector.home.database_url:   # a folder without a store is refused, not turned into one
        typo = str(deflector.home.path / "typo")
        out = CliRunner().invoke(incidents, ["notice", "1", "--text", "de=x", "--home", typo])
        assert out.exit_code == 1 and "no deflect data here" in out.output
    out = CliRunner().invoke(incidents, ["notice", "1", "--text", "de=Die App stürzt ab.", "--home", home])
    assert out.exit_code == 0, out.output
    assert '"de": "Die App stürzt ab."' in CliRunner().invoke(incidents, ["--home", home]).output


def _crash_incident(deflector, hook_url: str | None = None) -> tuple[str, datetime, list[dict]]:  # noqa: F811
    report = report_of(deflector, estimator=estimator(), now=NOW)
    crash = next(t for t in report["topics"] if "crash" in " ".join(t["keywords"]))["id"]
    crash_history(deflector.store, crash, datetime.now(UTC).replace(microsecond=0))
    for i in range(12):
        log(deflector.store, f"burst{i}", f"app crash on start {i}")
    now = datetime.now(UTC).replace(microsecond=0)   # after the burst: a second may have passed while it was logged
    return crash, now, watch(deflector, now, hook_url=hook_url)


def test_a_notice_ends_with_its_incident_or_when_the_team_ends_it(deflector):  # noqa: F811
    from deflect.cli.incidents import incidents as incidents_cli
    from deflect.gaps.notices import end_notice, live_notices, publish

    crash, now, opened = _crash_incident(deflector)
    store = deflector.store
    first = publish(store, opened[0]["id"], {"de": "Die App stürzt ab."}, now=now)
    assert [n["id"] for n in live_notices(store, now + timedelta(minutes=1))] == [first["id"]]
    later = now + timedelta(hours=5)
    assert watch(deflector, later) == []                       # a quiet night closes the incident ...
    assert [n["id"] for n in live_notices(store, later + timedelta(hours=8))] == [first["id"]]   # ... not the notice
    assert live_notices(store, later + timedelta(hours=13)) == []   # half a day without an incident: it ends
    # one with its own end stays until then, unless the team ends it before
    next_day = later + timedelta(hours=13)
    until = publish(store, opened[0]["id"], {"en": "Fixed tonight."}, starts_at=iso(next_day),
                    ends_at=iso(next_day + timedelta(hours=4)), now=next_day)
    assert [n["id"] for n in live_notices(store, next_day + timedelta(hours=1))] == [until["id"]]
    out = CliRunner().invoke(incidents_cli, ["end-notice", str(until["id"]), "--home", str(deflector.home.path)])
    assert out.exit_code == 0 and f"notice #{until['id']} ended at" in out.output, out.output
    assert live_notices(store, next_day + timedelta(hours=1)) == []
    ended = end_notice(store, until["id"])                     # ending it again keeps the first end
    assert ended["ends_at"] <= iso(datetime.now(UTC))
    with pytest.raises(Exception, match="no notice 999"):
        end_notice(store, 999)


def test_end_notice_through_the_api(tmp_path):
    from test_gaps import gap_engine

    from deflect.gaps.notices import publish
    from deflect.home import Home

    d = gap_engine(Home(tmp_path / "home").ensure())
    app, _ = make_app(tmp_path, DEFLECTOR=d)
    with d.store.db.transaction():
        incident = d.store.db["incidents"].insert({
            "topic_id": "G-0001", "state": "open", "started_at": iso(NOW), "detected_at": iso(NOW),
            "count": 9, "baseline": 0.5, "spread": 0.0, "score": 9.0, "updated_at": iso(NOW)}).last_pk
    notice = publish(d.store, incident, {"de": "Störung."})
    client, admin = app.test_client(), bearer(new_key(d, "admin"))
    assert [n["id"] for n in client.get("/api/v1/notices").get_json()["notices"]] == [notice["id"]]
    assert client.post(f"/api/v1/notices/{notice['id']}/end").status_code == 401
    r = client.post(f"/api/v1/notices/{notice['id']}/end", headers=admin)
    assert r.status_code == 200 and r.get_json()["notice"]["ends_at"]
    assert client.get("/api/v1/notices").get_json()["notices"] == []
    assert client.post("/api/v1/notices/999/end", headers=admin).status_code == 404
    assert client.post("/api/v1/notices/99999999999999999999/end", headers=admin).status_code == 404


def test_a_question_near_the_notices_topic_sees_it_though_a_split_off_topic_lies_nearer(deflector, monkeypatch):  # noqa: F811
    """A report run split the outage's questions into a second topic: a question nearer that one, but as
    close to the notice's topic as joining it takes, still gets the notice; one too far from it does not."""
    import numpy as np

    from deflect.gaps import notices

    crash, now, opened = _crash_incident(deflector)
    notices.publish(deflector.store, opened[0]["id"], {"de": "Die App stürzt ab.", "en": "The app crashes."}, now=now)
    sims = {"App lädt nicht mehr": [0.62, 0.9], "Zeitung kam nicht": [0.31, 0.2], "L'app plante": [0.7, 0.3]}
    monkeypatch.setattr(notices, "similarities", lambda d, texts: ([crash, "G-9999"], np.array([sims[texts[0]]]), 0.55))
    hit = notices.match(deflector, "App lädt nicht mehr", "de", now=now + timedelta(minutes=1))
    assert hit is not None and hit["topic_id"] == crash and hit["text"] == "Die App stürzt ab."
    assert notices.match(deflector, "Zeitung kam nicht", "de", now=now + timedelta(minutes=1)) is None
    # a French customer reads the English text, not the first one written
    french = notices.match(deflector, "L'app plante", "fr", now=now + timedelta(minutes=1))
    assert (french["language"], french["text"], french["prefix"]) == ("en", "The app crashes.", "Known issue: ")


def test_agents_looking_up_one_ticket_are_one_customer_of_an_incident(deflector):  # noqa: F811
    from deflect.gaps.live import topic_times

    report = report_of(deflector, estimator=estimator(), now=NOW)
    crash = next(t for t in report["topics"] if "crash" in " ".join(t["keywords"]))["id"]
    now = datetime.now(UTC).replace(microsecond=0)
    before = len(topic_times(deflector.store, crash, now))
    for i in range(8):   # eight lookups of one ticket, and three lookups without any
        deflector.store.log_inquiry(Inquiry(f"agent{i}", "app crash on start", "en"), "no_answer", 0.1, None,
                                    channel="agent", ticket_id="HD-77")
    for i in range(3):
        deflector.store.log_inquiry(Inquiry(f"look{i}", "app crash on start", "en"), "no_answer", 0.1, None,
                                    channel="agent")
    with deflector.store.db.transaction():
        deflector.store.db["topic_volume"].insert_all(
            [{"inquiry_id": f"{p}{i}", "topic_id": crash, "at": iso(now), "similarity": 0.9}
             for p, n in (("agent", 8), ("look", 3)) for i in range(n)], pk="inquiry_id")
    assert len(topic_times(deflector.store, crash, now)) == before + 1


def test_the_hook_names_the_help_center_and_the_topic(deflector, hook):  # noqa: F811
    crash, _, opened = _crash_incident(deflector, hook_url=hook)
    for _ in range(100):
        if _Hook.received:
            break
        threading.Event().wait(0.05)
    sent = _Hook.received[0]
    assert sent["help_center"] == deflector.home.path.name and sent["incident"]["topic_id"] == crash
    assert "crash" in (sent["incident"]["title"] or "").lower()
    for _ in range(100):   # the thread records that the hook took it (before the test's database goes)
        if deflector.store.db.execute("select notified_at from incidents").fetchone()[0]:
            break
        threading.Event().wait(0.05)


def test_a_topic_never_asked_before_while_inquiries_were_logged_can_be_an_incident(deflector):  # noqa: F811
    """Inquiries have been logged for weeks, none about this topic: a burst of it is far above its usual
    level of none, though the topic has no history of its own."""
    report = report_of(deflector, estimator=estimator(), now=NOW)
    crash = next(t for t in report["topics"] if "crash" in " ".join(t["keywords"]))["id"]
    now = datetime.now(UTC).replace(microsecond=0)
    log(deflector.store, "old", "refund please")
    with deflector.store.db.transaction():
        deflector.store.db.execute("update inquiries set created_at = ? where id = 'old'",
                                   [iso(now - timedelta(days=30))])
    with deflector.store.db.transaction():   # the topic's members came from the report run, long ago
        deflector.store.db.execute("delete from gap_items where topic_id = ?", [crash])
    for i in range(12):
        log(deflector.store, f"burst{i}", f"app crash on start {i}")
    assert [i["topic_id"] for i in watch(deflector, datetime.now(UTC).replace(microsecond=0))] == [crash]


def test_an_agents_own_lookups_cost_no_customer():
    from deflect.gaps.describe import cost
    from deflect.gaps.items import Item

    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    at = iso(now - timedelta(days=1))
    members = [Item(f"inquiry:a{i}", "inquiry", f"a{i}", "app crash", "en", "agent", at) for i in range(5)]
    members += [Item(f"inquiry:t{i}", "inquiry", f"t{i}", "app crash", "en", "agent", at, ticket="HD-1")
                for i in range(5)]
    members += [Item("ticket:HD-1", "ticket", "HD-1", "app crash", "en", "email", at)]
    assert cost(members, now).customers == 1   # the ticket's customer, however often agents looked it up


def test_missing_words_leave_out_what_redaction_put_in():
    from deflect.gaps.why import ArticleFacts, missing_words

    facts = ArticleFacts("Fehlermeldung E-402", "de", None, {"fehle", "zahlu"})
    words, share = missing_words("Zahlung abgelehnt, IBAN [IBAN], Tel. [PHONE], Gruß [NAME]", facts)
    assert words == ["abgelehnt"] and share == 0.5
    assert missing_words("Abo kündigen [CUSTOMER-ID]", facts)[0] == ["Abo", "kündigen"]   # no label: kept
