"""Several help centers in one service (`deflect serve --tenants DIR`): the registry, the dispatcher
and tenant isolation, with two real help centers (the demo's faq_articles/ and faq_leserreisen/) and
the real packaged model."""
from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import socket
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from werkzeug.test import Client

from deflect.cli import cli
from deflect.errors import DeflectError, InputError
from deflect.home import Home
from deflect.store import open_store
from deflect.store.service import create_key
from deflect.tenants import check_name, find_tenants

ROOT = Path(__file__).resolve().parent.parent
TRIPS_FAQ = ROOT / "faq_leserreisen"
NEWS, TRIPS = "rheinblick", "leserreisen"
# No brake on wrong keys here: every cross-tenant request must meet the key check itself (a 429 after
# ten wrong keys would hide what the check answers).

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The browser test's customer site (another local origin: Chromium lets no public page reach a
# loopback server) may call the widget API.
CUSTOMER_PORT = _free_port()
CONFIG = {"TESTING": True, "RATE_LIMIT": {"suggest": 0, "feedback": 0}, "FAILED_KEY_LIMIT": 0,
          "WIDGET_ORIGINS": [f"http://127.0.0.1:{CUSTOMER_PORT}"]}


# -- the registry and the CLI (no model) --------------------------------------------------------------
@pytest.mark.parametrize("name", ["a", "leserreisen", "title-2", "0abc", "x" * 63])
def test_tenant_names_that_can_appear_in_urls(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "-lead", "Upper", "with_underscore", "dot.ted", "sp ace", "ä", "x" * 64,
                                  "../up"])
def test_tenant_names_that_cannot(name):
    with pytest.raises(InputError):
        check_name(name)


def test_find_tenants_takes_homes_and_leaves_everything_else(tmp_path):
    for name in ("b-title", "a-title"):
        open_store(Home(tmp_path / name).ensure().db_path).close()
    (tmp_path / "empty").mkdir()                       # no deflect data: not a tenant
    (tmp_path / ".hidden").mkdir()
    open_store(tmp_path / ".hidden" / "deflect.db").close()
    (tmp_path / "notes.txt").write_text("x")
    assert list(find_tenants(tmp_path)) == ["a-title", "b-title"]
    assert find_tenants(tmp_path)["a-title"].path == (tmp_path / "a-title").resolve()


def test_a_home_whose_name_cannot_be_a_url_is_refused_not_skipped(tmp_path):
    open_store(Home(tmp_path / "Leser_Reisen").ensure().db_path).close()
    with pytest.raises(DeflectError, match="Leser_Reisen"):
        find_tenants(tmp_path)
    with pytest.raises(DeflectError, match="does not exist"):
        find_tenants(tmp_path / "missing")


def test_cli_creates_and_lists_help_centers(tmp_path):
    runner = CliRunner()
    folder = tmp_path / "tenants"
    made = runner.invoke(cli, ["tenants", "create", "rheinblick", "--tenants", str(folder)])
    assert made.exit_code == 0, made.output
    assert (folder / "rheinblick" / "deflect.db").is_file()
    again = runner.invoke(cli, ["tenants", "create", "rheinblick", "--tenants", str(folder)])
    assert again.exit_code != 0 and "exists already" in again.output
    bad = runner.invoke(cli, ["tenants", "create", "Rhein_Blick", "--tenants", str(folder)])
    assert bad.exit_code != 0 and "cannot name a help center" in bad.output
    shared = runner.invoke(cli, ["tenants", "create", "reisen", "--tenants", str(folder)],
                           env={"DEFLECT_DATABASE_URL": "postgresql://deflect@db/deflect"})
    assert shared.exit_code != 0 and "DEFLECT_DATABASE_URL" in shared.output and not (folder / "reisen").exists()
    runner.invoke(cli, ["tenants", "create", "leserreisen"], env={"DEFLECT_TENANTS": str(folder)})
    listed = runner.invoke(cli, ["tenants", "list", "--tenants", str(folder)])
    assert listed.exit_code == 0
    assert "leserreisen" in listed.output and "rheinblick" in listed.output and "no index yet" in listed.output
    # every other command acts on a help center through its home
    keys = runner.invoke(cli, ["keys", "create", "--name", "cms", "--quiet", "--home", str(folder / "leserreisen")])
    assert keys.exit_code == 0 and keys.output.startswith("dfk_")


def test_serve_refuses_a_tenants_folder_it_cannot_serve(tmp_path):
    runner = CliRunner()
    empty = runner.invoke(cli, ["serve", "--tenants", str(tmp_path)])
    assert empty.exit_code != 0 and "no help center" in empty.output
    missing = runner.invoke(cli, ["serve", "--tenants", str(tmp_path / "missing")])
    assert missing.exit_code != 0 and "does not exist" in missing.output
    open_store(Home(tmp_path / NEWS).ensure().db_path).close()
    shared = runner.invoke(cli, ["serve", "--tenants", str(tmp_path)],
                           env={"DEFLECT_DATABASE_URL": "postgresql://db/deflect"})
    assert shared.exit_code != 0 and "DEFLECT_DATABASE_URL" in shared.output


def test_unknown_tenant_and_paths_outside_the_tenants_are_json_404s(tmp_path):
    from deflect.web.tenants import create_tenants_app

    open_store(Home(tmp_path / NEWS).ensure().db_path).close()
    client = Client(create_tenants_app(str(tmp_path), CONFIG))
    for path in ("/t/nope/api/v1/suggest", "/t/nope/", "/t/nope", "/t/Rheinblick/api/v1/health"):
        response = client.post(path, json={"text": "Abo kündigen"}) if "suggest" in path else client.get(path)
        assert response.status_code == 404, path
        assert response.json["ok"] is False and "no help center" in response.json["error"]
    outside = client.get("/api/v1/health")
    assert outside.status_code == 404 and outside.json["ok"] is False
    # the root page names no help center: on a host serving several clients anyone could read who they are
    listing = client.get("/")
    assert listing.status_code == 200 and "/t/NAME/" in listing.text and NEWS not in listing.text
    listed = Client(create_tenants_app(str(tmp_path), {**CONFIG, "TENANTS_ROOT": "list"})).get("/")
    assert f'href="/t/{NEWS}/"' in listed.text
    assert client.get("/healthz").json == {"ok": True, "tenants": 1}
    moved = client.get(f"/t/{NEWS}")
    assert moved.status_code == 308 and moved.headers["Location"].endswith(f"/t/{NEWS}/")


def test_one_help_center_cannot_take_the_others_down(tmp_path, caplog):
    """A copy "rheinblick.bak" made before an upgrade, a help center without an index yet, a folder removed
    while serving: the others stay served and ready."""
    from deflect.web.tenants import create_tenants_app

    for name in (NEWS, TRIPS, f"{NEWS}.bak"):
        open_store(Home(tmp_path / name).ensure().db_path).close()
    unusable: list = []
    assert list(find_tenants(tmp_path, unusable)) == [TRIPS, NEWS] and unusable == [(tmp_path / f"{NEWS}.bak")]
    with caplog.at_level("WARNING", logger="deflect.tenants"):
        client = Client(create_tenants_app(str(tmp_path), CONFIG))   # a worker restarted meanwhile boots
    assert f"{NEWS}.bak is not served" in caplog.text
    listed = CliRunner().invoke(cli, ["tenants", "list", "--tenants", str(tmp_path)])
    assert listed.exit_code == 0 and NEWS in listed.output and f"{NEWS}.bak is not served" in listed.output
    # neither has an index here: none is ready, and the instance says so
    assert client.get("/readyz").status_code == 503
    shutil.rmtree(tmp_path / TRIPS)
    gone = client.get(f"/t/{TRIPS}/api/v1/health")
    assert gone.status_code == 404 and not (tmp_path / TRIPS).exists()   # no empty store made by a request


def test_a_help_center_replaced_while_serving_is_not_answered_by_the_old_ones_app(tmp_path, caplog):
    """An agency moves a customer's folder away and creates a new help center under the same name: until
    the service reloads, the name answers 404, never from the engine (articles, tickets) of the old one."""
    from deflect.web.tenants import create_tenants_app

    for name in (NEWS, TRIPS):
        open_store(Home(tmp_path / name).ensure().db_path).close()
    client = Client(create_tenants_app(str(tmp_path), CONFIG))
    assert client.get(f"/t/{TRIPS}/api/v1/health").status_code == 200
    shutil.move(tmp_path / TRIPS, tmp_path / "elsewhere")
    open_store(Home(tmp_path / TRIPS).ensure().db_path).close()
    with caplog.at_level("WARNING", logger="deflect.tenants"):
        for _ in range(2):
            replaced = client.get(f"/t/{TRIPS}/api/v1/health")
            assert replaced.status_code == 404 and "no help center" in replaced.json["error"]
    assert caplog.text.count(f"store of help center {TRIPS!r} was replaced") == 1
    assert client.get(f"/t/{NEWS}/api/v1/health").status_code == 200
    reloaded = Client(create_tenants_app(str(tmp_path), CONFIG))   # what SIGHUP does
    assert reloaded.get(f"/t/{TRIPS}/api/v1/health").status_code == 200


def test_a_settings_file_broken_since_serve_started_keeps_its_help_center_served(tmp_path, capsys):
    """SIGHUP after a typo in one help center's deflect.env: that help center stays served with the settings
    it had (as the log says), instead of vanishing behind a 404 while /readyz says all is well."""
    from deflect.web.tenants import create_tenants_app

    from deflect.cli.serve import check_tenants_config, read_tenant_settings

    for name in (NEWS, TRIPS):
        open_store(Home(tmp_path / name).ensure().db_path).close()
    own = tmp_path / TRIPS / "deflect.env"
    own.write_text("DEFLECT_DRAFT_SIGNATURE=Ihr Reiseteam\n")
    last: dict = {}
    assert read_tenant_settings(str(tmp_path), last, {}) == {NEWS: {}, TRIPS: {"DRAFT_SIGNATURE": "Ihr Reiseteam"}}
    own.write_text("DEFLECT_DRAFT_SIGNATURE=Das Team\nDEFLECT_RATE_LIMIT=5/minute\n")
    read = read_tenant_settings(str(tmp_path), last, {})
    assert read[TRIPS] == {"DRAFT_SIGNATURE": "Ihr Reiseteam"}
    assert f"help center {TRIPS!r} keeps its settings of the last reading" in capsys.readouterr().err
    client = Client(create_tenants_app(str(tmp_path), {**CONFIG, "TENANT_SETTINGS": read}))
    assert client.get(f"/t/{TRIPS}/api/v1/health").status_code == 200
    # at start there are no settings to keep: that help center is left out (said), the others are served
    assert read_tenant_settings(str(tmp_path), {}, {}) == {NEWS: {}}
    assert f"help center {TRIPS!r} is not served" in capsys.readouterr().err
    # a worker that meets the broken file itself (a help center added after serve read them) leaves it out,
    # and /readyz names it
    client = Client(create_tenants_app(str(tmp_path), {**CONFIG, "TENANTS_ROOT": "list"}))
    assert client.get(f"/t/{TRIPS}/api/v1/health").status_code == 404
    assert f"{TRIPS}: not served" in client.get("/readyz").text
    # settings a tenants folder cannot be served with are refused on SIGHUP too, not only at start
    with pytest.raises(DeflectError, match="--snapshots serves one help center"):
        check_tenants_config({"SNAPSHOT_DIR": str(tmp_path / "snapshots")})
    with pytest.raises(DeflectError, match="own home's store"):
        check_tenants_config({"DATABASE_URL": "postgresql://deflect@localhost/deflect"})


def test_log_lines_say_which_help_center_they_are_about(tmp_path, caplog):
    from deflect.web.tenants import create_tenants_app

    open_store(Home(tmp_path / NEWS).ensure().db_path).close()
    client = Client(create_tenants_app(str(tmp_path), CONFIG))
    with caplog.at_level("WARNING"):
        assert client.get(f"/t/{NEWS}/api/v1/gaps", headers={"Authorization": "Bearer dfk_wrong"}).status_code == 401
    assert f"on /t/{NEWS}/api/v1/gaps" in caplog.text


def test_a_help_center_sets_its_own_address_signature_and_site(tmp_path, caplog):
    """Two brands on one instance: each help center's deflect.env sets what its customers and agents see;
    one that tries to set the instance's settings is refused."""
    from deflect.web.tenants import create_tenants_app

    for name in (NEWS, TRIPS):
        open_store(Home(tmp_path / name).ensure().db_path).close()
    (tmp_path / TRIPS / "deflect.env").write_text(
        "DEFLECT_HELP_CENTER_URL=https://reisen.example.de/hilfe\nDEFLECT_DRAFT_SIGNATURE='Ihr Leserreisen-Team'\n"
        "DEFLECT_WIDGET_ORIGINS=https://reisen.example.de\n", encoding="utf-8")
    config = {**CONFIG, "DRAFT_SIGNATURE": "Ihr Leserservice", "WIDGET_ORIGINS": ["https://www.rheinblick.example"]}
    dispatcher = create_tenants_app(str(tmp_path), config)
    trips, news = dispatcher.apps[TRIPS].config, dispatcher.apps[NEWS].config
    assert trips["DRAFT_SIGNATURE"] == "Ihr Leserreisen-Team" and news["DRAFT_SIGNATURE"] == "Ihr Leserservice"
    assert trips["HELP_CENTER_URL"] == "https://reisen.example.de/hilfe" and news["HELP_CENTER_URL"] is None
    client = Client(dispatcher)

    def allowed(name: str, origin: str) -> str | None:
        return client.options(f"/t/{name}/api/v1/suggest", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST"}).headers.get("Access-Control-Allow-Origin")

    assert allowed(TRIPS, "https://reisen.example.de") == "https://reisen.example.de"
    assert allowed(TRIPS, "https://www.rheinblick.example") is None
    assert allowed(NEWS, "https://www.rheinblick.example") == "https://www.rheinblick.example"
    # the instance's own settings are not one help center's to change
    (tmp_path / TRIPS / "deflect.env").write_text("DEFLECT_RATE_LIMIT=off\n", encoding="utf-8")
    with caplog.at_level("ERROR", logger="deflect.tenants"):
        dispatcher = create_tenants_app(str(tmp_path), config)
    assert list(dispatcher.apps) == [NEWS] and "DEFLECT_RATE_LIMIT cannot be set for one help center" in caplog.text
    # serve leaves that help center out, says so, and goes on with the others (here up to a port in use)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        started = CliRunner().invoke(cli, ["serve", "--tenants", str(tmp_path), "--port",
                                           str(taken.getsockname()[1])])
    assert f"help center {TRIPS!r} is not served" in started.output and "cannot listen" in started.output
    assert "DEFLECT_RATE_LIMIT cannot be set for one help center" in started.output
    assert f"help center {NEWS!r} has no index yet" in started.output   # what is served, and only that
    assert f"help center {TRIPS!r} has no index yet" not in started.output


def test_readyz_stays_ready_while_any_help_center_is(monkeypatch, tmp_path, caplog):
    from deflect.web import ops
    from deflect.web.tenants import create_tenants_app

    for name in (NEWS, TRIPS):
        open_store(Home(tmp_path / name).ensure().db_path).close()
    client = Client(create_tenants_app(str(tmp_path), CONFIG))
    monkeypatch.setattr(ops, "readyz", lambda: ({"ok": True}, 200) if NEWS in str(ops.get_home().path)
                        else ({"ok": False, "error": "not ready: index not loaded"}, 503))
    with caplog.at_level("WARNING", logger="deflect.tenants"):
        ready = client.get("/readyz")
        assert client.get("/readyz").status_code == 200   # a load balancer polls again: logged once
    assert caplog.text.count("help centers not ready") == 1
    assert ready.status_code == 200 and ready.json["not_ready"] == [
        "1 of 2 help centers (named in the log, or here with tenants_root=list)"]
    assert ready.json["tenants"] == 2 and f"{TRIPS}: not ready: index not loaded" in caplog.text
    listed = Client(create_tenants_app(str(tmp_path), {**CONFIG, "TENANTS_ROOT": "list"})).get("/readyz")
    assert listed.status_code == 200 and listed.json["not_ready"] == [f"{TRIPS}: not ready: index not loaded"]


def test_commands_refuse_to_guess_which_store_is_meant(tmp_path):
    runner = CliRunner()
    home = tmp_path / "tenants" / TRIPS
    open_store(Home(home).ensure().db_path).close()
    # a database URL left in the environment would take an erasure meant for this help center
    r = runner.invoke(cli, ["privacy", "erase", "--session", "s-1", "--home", str(home)],
                      env={"DEFLECT_DATABASE_URL": "postgresql://deflect@db/deflect"})
    assert r.exit_code != 0 and "holds a store of its own" in r.output
    r = runner.invoke(cli, ["keys", "create", "--name", "cms"], env={"DEFLECT_TENANTS": str(tmp_path / "tenants"),
                                                                     "DEFLECT_HOME": None})
    assert r.exit_code != 0 and "name the help center" in r.output
    # a typo in --home makes no new (empty, served) help center
    r = runner.invoke(cli, ["keys", "list", "--home", str(tmp_path / "tenants" / "leserreise")])
    assert r.exit_code != 0 and "no deflect data here" in r.output
    assert not (tmp_path / "tenants" / "leserreise" / "deflect.db").exists()


# -- two real help centers ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tenants_folder(demo_home_template, tmp_path_factory) -> Path:
    """A tenants folder: the demo newspaper (faq_articles/, a copy of the session's demo home) and the
    publisher's reader-travel help center (faq_leserreisen/: no ticket history, a cold-start calibration)."""
    from deflect.decision.refit import calibrate_from_history
    from deflect.deflector import Deflector
    from deflect.embedder import load_embedder
    from deflect.index import build as indexer
    from deflect.ingest import ingest

    folder = tmp_path_factory.mktemp("tenants")
    shutil.copytree(demo_home_template, folder / NEWS)
    trips = Home(folder / TRIPS).ensure()
    store = open_store(trips.db_path)
    ingest(store, [TRIPS_FAQ])
    indexer.build(store, load_embedder(), trips.index_dir)
    store.close()
    deflector = Deflector.open(trips)
    calibrate_from_history(deflector, 3.0)
    deflector.close()
    return folder


@pytest.fixture(scope="module")
def service(tenants_folder):
    from deflect.web.tenants import create_tenants_app
    return create_tenants_app(str(tenants_folder), CONFIG)


@pytest.fixture(scope="module")
def client(service) -> Client:
    return Client(service)


def _ids(folder: Path, name: str) -> set[str]:
    store = open_store(folder / name / "deflect.db")
    try:
        return {a.id for a in store.articles()}
    finally:
        store.close()


def _key(folder: Path, name: str, scope: str = "admin") -> str:
    store = open_store(folder / name / "deflect.db")
    try:
        return create_key(store, f"{name}-{scope}", scope)[1]
    finally:
        store.close()


def _fingerprint(path: Path) -> str:
    """Every row of every table of a store (SQLite's dump), hashed: any change shows."""
    store = open_store(path)
    try:
        return hashlib.sha256("\n".join(store.db.conn.iterdump()).encode()).hexdigest()
    finally:
        store.close()


def _suggest(client: Client, tenant: str, text: str) -> dict:
    response = client.post(f"/t/{tenant}/api/v1/suggest", json={"text": text})
    assert response.status_code == 200, response.text
    return response.json


def test_one_model_in_the_process_serves_both_help_centers(service):
    from deflect.web.state import get_deflector
    engines = {}
    for name, app in service.apps.items():
        with app.app_context():
            engines[name] = get_deflector()
    assert engines[NEWS].home.path.name == NEWS and engines[TRIPS].home.path.name == TRIPS
    assert engines[NEWS].bundle is not engines[TRIPS].bundle         # an index each
    assert engines[NEWS].embedder is engines[TRIPS].embedder         # one model


def test_each_help_center_answers_from_its_own_articles(client, tenants_folder):
    news_ids, trip_ids = _ids(tenants_folder, NEWS), _ids(tenants_folder, TRIPS)
    assert not news_ids & trip_ids
    cancel_trip = _suggest(client, TRIPS, "Ich kann nicht mitfahren, was kostet die Stornierung der Reise?")
    assert cancel_trip["articles"][0]["id"] == "reisen-stornieren"
    cancel_paper = _suggest(client, NEWS, "Wie kündige ich mein Zeitungsabo?")
    assert cancel_paper["articles"][0]["id"] in news_ids
    # The newspaper's questions asked of the travel help center never bring up the newspaper's articles.
    for question in ("Meine Zeitung ist heute nicht gekommen", "Wie kündige ich mein Abo?",
                     "E-Paper Anmeldung funktioniert nicht", "How do I cancel my subscription?",
                     "Rechnung herunterladen", "Zeitung im Urlaub nachsenden"):
        answer = _suggest(client, TRIPS, question)
        assert {a["id"] for a in answer["articles"]} <= trip_ids, question
        answer = _suggest(client, NEWS, question)
        assert {a["id"] for a in answer["articles"]} <= news_ids, question
    page = client.get(f"/t/{TRIPS}/search", query_string={"q": "Reiseunterlagen sind noch nicht da"})
    assert page.status_code == 200
    assert f'href="/t/{TRIPS}/articles/reisen-unterlagen"' in page.text
    assert not any(f"/articles/{aid}\"" in page.text for aid in news_ids)


def test_pages_and_widget_address_their_own_help_center(client):
    home = client.get(f"/t/{TRIPS}/")
    assert home.status_code == 200
    assert f'src="/t/{TRIPS}/static/widget.js" data-deflect-api="/t/{TRIPS}/"' in home.text
    assert f'data-deflect-links="/t/{TRIPS}"' in home.text
    assert f'href="/t/{TRIPS}/articles/reisen-buchen"' in home.text
    assert client.get(f"/t/{TRIPS}/widget.css").data == client.get(f"/t/{TRIPS}/static/widget.css").data
    widget = client.get(f"/t/{TRIPS}/widget.js")
    assert widget.status_code == 200 and b"deflect help widget" in widget.data
    assert client.get(f"/t/{TRIPS}/static/widget.js").data == widget.data
    for console in ("agent", "report"):
        text = client.get(f"/t/{TRIPS}/{console}").text
        assert f'<meta name="deflect-base" content="/t/{TRIPS}">' in text
    assert f'href="/t/{TRIPS}/api/v1/gaps?format=csv"' in client.get(f"/t/{TRIPS}/report").text
    assert client.get(f"/t/{TRIPS}/articles/kuendigung-abo").status_code == 404   # the newspaper's article
    assert client.get(f"/t/{NEWS}/articles/kuendigung-abo").status_code == 200
    assert client.get(f"/t/{TRIPS}/api/v1/health").json["articles"] == len(list(TRIPS_FAQ.rglob("*.md")))
    assert client.get(f"/t/{TRIPS}/api/v1/openapi.json").json["servers"] == [{"url": f"/t/{TRIPS}/"}]
    metrics = client.get(f"/t/{TRIPS}/metrics")
    assert metrics.status_code == 200 and b"deflect_index" in metrics.data


def _key_protected(trip_inquiry: str) -> list[tuple[str, str, dict | None]]:
    """Every key-protected endpoint group: (method, path under /api/v1, JSON body)."""
    return [
        # agents
        ("POST", "/agent/suggest", {"body": "Ich möchte meine Reise stornieren"}),
        ("GET", "/agent/history?ticket=T-1", None),
        ("POST", "/agent/choice", {"inquiry_id": trip_inquiry, "article_id": "reisen-stornieren"}),
        # admin: metrics and articles
        ("GET", "/metrics?days=30", None),
        ("PUT", "/articles/reisen-buchen", {"title": "Gekapert", "body": "Von einem anderen Mandanten."}),
        ("DELETE", "/articles/reisen-stornieren", None),
        ("PUT", "/articles/fremd", {"title": "Neu", "body": "Von einem anderen Mandanten."}),
        # the gap workflow and incidents
        ("GET", "/gaps?status=all", None),
        ("GET", "/gaps?format=csv", None),
        ("POST", "/gaps/runs", {}),
        ("GET", "/gaps/runs/1", None),
        ("GET", "/gaps/topic-1", None),
        ("PATCH", "/gaps/topic-1", {"status": "dismissed", "reason": "x"}),
        ("PUT", "/gaps/topic-1/kind", {"kind": "article"}),
        ("GET", "/incidents?state=all", None),
        ("POST", "/incidents/check", {}),
        ("POST", "/incidents/1/notices", {"texts": {"de": "x", "en": "x"}}),
        # tickets
        ("PUT", "/tickets/T-X", {"subject": "x", "body": "Fremdes Ticket", "resolution": "x", "language": "de"}),
        ("POST", "/tickets", [{"id": "T-Y", "body": "Fremdes Ticket", "resolution": "x"}]),
        # feedback learning
        ("GET", "/learned", None),
        ("POST", "/learned/forget", {"kind": "vote"}),
        ("POST", "/learned/refit", {"wait": False}),
    ]


def test_a_key_of_one_help_center_opens_nothing_of_another(client, tenants_folder):
    trip_inquiry = _suggest(client, TRIPS, "Wann kommen meine Reiseunterlagen?")["id"]
    news_admin, news_agent = _key(tenants_folder, NEWS), _key(tenants_folder, NEWS, "agent")
    before = _fingerprint(tenants_folder / TRIPS / "deflect.db")
    for key in (news_admin, news_agent):
        for method, path, body in _key_protected(trip_inquiry):
            for header in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
                response = client.open(f"/t/{TRIPS}/api/v1{path}", method=method, json=body, headers=header)
                assert response.status_code == 401, (method, path, response.status_code, response.text)
                assert response.json == {"ok": False, "error": "invalid or revoked API key"}
    assert _fingerprint(tenants_folder / TRIPS / "deflect.db") == before     # nothing changed, not even a log
    assert _ids(tenants_folder, TRIPS) >= {"reisen-buchen", "reisen-stornieren"}
    # The same key opens its own help center's endpoints.
    own = client.get(f"/t/{NEWS}/api/v1/gaps?status=all", headers={"Authorization": f"Bearer {news_admin}"})
    assert own.status_code == 200 and own.json["ok"] is True


def test_listings_show_only_their_own_help_centers_rows(client, tenants_folder):
    keys = {name: _key(tenants_folder, name) for name in (NEWS, TRIPS)}
    auth = {name: {"Authorization": f"Bearer {key}"} for name, key in keys.items()}
    put = client.put(f"/t/{TRIPS}/api/v1/tickets/R-900", headers=auth[TRIPS],
                     json={"subject": "Storno", "body": "Ich muss die Donaureise leider absagen, Knie-OP.",
                           "resolution": "Storno gebucht, 25 % Kosten.", "article_id": "reisen-stornieren",
                           "language": "de", "session": "trip-session-1"})
    assert put.status_code in (200, 201), put.text
    inquiry = _suggest(client, TRIPS, "Reise absagen wegen Krankheit, was kostet das?")["id"]
    chose = client.post(f"/t/{TRIPS}/api/v1/agent/choice", headers=auth[TRIPS],
                        json={"inquiry_id": inquiry, "article_id": "reisen-stornieren"})
    assert chose.status_code == 201, chose.text
    # An inquiry of one help center is unknown to the other: no vote or choice about it lands there.
    vote = client.post(f"/t/{NEWS}/api/v1/feedback", json={"inquiry_id": inquiry, "event": "helpful"})
    assert vote.status_code == 404 and vote.json["ok"] is False
    cross = client.post(f"/t/{NEWS}/api/v1/agent/choice", headers=auth[NEWS],
                        json={"inquiry_id": inquiry, "article_id": "kuendigung-abo"})
    assert cross.status_code == 404

    trips_learned = client.get(f"/t/{TRIPS}/api/v1/learned", headers=auth[TRIPS]).json["evidence"]
    assert any(row["article_id"] == "reisen-stornieren" for row in trips_learned)
    news_learned = client.get(f"/t/{NEWS}/api/v1/learned?limit=1000", headers=auth[NEWS]).json["evidence"]
    assert not any(row["article_id"] in _ids(tenants_folder, TRIPS) for row in news_learned)
    history = client.get(f"/t/{NEWS}/api/v1/agent/history?ticket=R-900", headers=auth[NEWS]).json
    assert not history["steps"]
    news_metrics = client.get(f"/t/{NEWS}/api/v1/metrics?days=30", headers=auth[NEWS]).text
    assert "Reise absagen" not in news_metrics and "Reiseunterlagen" not in news_metrics
    news_store = open_store(tenants_folder / NEWS / "deflect.db")
    try:
        assert news_store.db.execute("select count(*) from tickets where id = 'R-900'").fetchone()[0] == 0
        assert news_store.db.execute("select count(*) from inquiries where id = ?", [inquiry]).fetchone()[0] == 0
    finally:
        news_store.close()


def test_readyz_speaks_for_every_help_center(client):
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json["tenants"] == 2 and ready.json["not_ready"] == []


# -- the widget in a browser --------------------------------------------------------------------------
def _serve_in_thread(httpd):
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def live_server(service):
    """The two help centers on a real local HTTP server, addressed as localhost (the customer's site is
    127.0.0.1: another origin)."""
    from werkzeug.serving import make_server

    httpd = make_server("127.0.0.1", 0, service, threaded=True)
    thread = _serve_in_thread(httpd)
    yield f"http://localhost:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


@pytest.fixture
def customer_site(live_server, tmp_path):
    """A customer's help page on its own origin with the travel help center's widget: one script tag."""
    (tmp_path / "hilfe.html").write_text(
        f'<html lang="de"><body><input id="q" type="search">'
        f'<script src="{live_server}/t/{TRIPS}/widget.js" data-deflect-target="#q"></script></body></html>')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", CUSTOMER_PORT), handler)
    thread = _serve_in_thread(httpd)
    yield f"http://127.0.0.1:{CUSTOMER_PORT}/hilfe.html"
    httpd.shutdown()
    thread.join(5)


@pytest.fixture
def browser_page(browser):
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page, sync_api.expect
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.mark.browser
def test_widget_on_a_customer_site_asks_the_help_center_it_was_loaded_from(live_server, customer_site,
                                                                           browser_page):
    page, expect = browser_page
    with page.expect_response(f"{live_server}/t/{TRIPS}/widget.css") as style:
        page.goto(customer_site)
    assert style.value.status == 200
    with page.expect_response(f"{live_server}/t/{TRIPS}/api/v1/suggest") as response:
        page.locator("#q").press_sequentially("Was kostet die Stornierung meiner Reise?", delay=25)
    assert response.value.status == 200
    first = page.locator(".deflect-search .deflect-option").first
    expect(first.locator(".deflect-title")).to_have_text("Reise stornieren: Kosten und Fristen")
    # the article's own URL leads to the customer's help site, where the widget sits
    assert first.locator("a").get_attribute("href") == f"http://127.0.0.1:{CUSTOMER_PORT}/hilfe/buchung/stornieren"


@pytest.mark.browser
def test_widget_on_the_help_centers_own_page_links_into_it(live_server, browser_page):
    page, expect = browser_page
    page.goto(f"{live_server}/t/{TRIPS}/")
    with page.expect_response(f"{live_server}/t/{TRIPS}/api/v1/suggest"):
        page.locator("#help-search").press_sequentially("Wann kommen meine Reiseunterlagen?", delay=25)
    first = page.locator(".deflect-search .deflect-option").first
    expect(first.locator(".deflect-title")).to_have_text("Wann bekomme ich meine Reiseunterlagen?")
    first.locator("a").click()
    page.wait_for_url(f"{live_server}/t/{TRIPS}/articles/reisen-unterlagen")
    expect(page.locator("h1")).to_contain_text("Reiseunterlagen")


@pytest.mark.browser
def test_two_help_centers_of_one_instance_keep_their_own_widget_session(live_server, browser_page):
    """Their pages share the service's origin: one help center's search is not replayed on the other's
    page, and a customer gets one session per help center (never one id linking both stores)."""
    page, expect = browser_page
    page.goto(f"{live_server}/t/{TRIPS}/")
    with page.expect_response(f"{live_server}/t/{TRIPS}/api/v1/suggest"):
        page.locator("#help-search").press_sequentially("Wann kommen meine Reiseunterlagen?", delay=25)
    trips_session = page.evaluate(f"sessionStorage.getItem('deflect.session:/t/{TRIPS}')")
    page.goto(f"{live_server}/t/{NEWS}/")
    page.reload()
    expect(page.locator("#help-search")).to_have_value("")
    expect(page.locator(".deflect-search .deflect-option")).to_have_count(0)
    with page.expect_response(f"{live_server}/t/{NEWS}/api/v1/suggest"):
        page.locator("#help-search").press_sequentially("Meine Zeitung ist nicht gekommen", delay=25)
    news_session = page.evaluate(f"sessionStorage.getItem('deflect.session:/t/{NEWS}')")
    assert trips_session and news_session and trips_session != news_session
    assert page.evaluate("sessionStorage.getItem('deflect.session')") is None
