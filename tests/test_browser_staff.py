"""End to end in headless Chromium, the staff's pages: the agent console, the report with its gap
workflow, and incident notices in the widget, against the real app over the demo home. Runs after
test_browser.py on the same app (the incident test builds the demo home's gap report).
"""
from __future__ import annotations

import io
import json
import re
import time
import urllib.request
from pathlib import Path

import openpyxl
from browser_support import BROWSER_MARKS, GERMAN_ARTICLE, GERMAN_QUESTION, GERMAN_TITLE, ask, session_of, sync_api

pytestmark = BROWSER_MARKS

# -- agent console and report --------------------------------------------------------------------------
def _key(store, scope: str) -> str:
    from deflect.store.service import create_key

    return create_key(store, f"browser-{scope}", scope)[1]


def test_agent_console_drafts_a_reply(server, page, store):
    key = _key(store, "agent")
    page.goto(server + "/agent?lang=en")
    page.fill("#api-key", key)
    page.click("#key-form button")
    page.fill("#subject", "Keine Zeitung")
    page.fill("#body", "Guten Tag, heute morgen war meine Zeitung wieder nicht im Briefkasten.")
    page.click("#suggest-btn")
    sync_api.expect(page.locator("#agent-articles .hit a").first).to_have_text(GERMAN_TITLE)
    draft = page.locator("#draft")
    sync_api.expect(draft).not_to_have_value("")
    assert page.locator("#draft-sources li").count() >= 1
    assert page.locator("#agent-tickets .hit").count() >= 1
    page.click("#copy-draft")
    sync_api.expect(page.locator("#copy-status")).not_to_have_text("")
    assert page.evaluate("localStorage.getItem('deflect.apiKey')") == key
    # the next customer's search fails: the previous customer's draft is not left on screen to be sent
    page.route("**/api/v1/agent/suggest", lambda route: route.abort())
    page.fill("#body", "Und wie ändere ich meine Adresse?")
    page.click("#suggest-btn")
    sync_api.expect(page.locator("#agent-status")).to_have_class("status error")
    sync_api.expect(draft).to_be_hidden()
    sync_api.expect(page.locator("#copy-status")).to_have_text("")


def test_report_shows_metrics_and_charts(server, page, store):
    key = _key(store, "admin")
    request = urllib.request.Request(server + "/api/v1/suggest", method="POST",
                                     data=json.dumps({"text": GERMAN_QUESTION}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        assert resp.status == 200
    page.goto(server + "/report?lang=en")
    page.fill("#api-key", key)
    page.click("#key-form button")
    sync_api.expect(page.locator("#kpis .kpi")).to_have_count(6)   # incl. the suggest rate
    # the parts that need the key as well fill in without a reload
    sync_api.expect(page.locator("#incidents")).not_to_be_empty()
    sync_api.expect(page.locator("#chart-volume svg rect").first).to_be_attached()
    assert page.locator("#chart-volume svg").get_attribute("role") == "img"
    sync_api.expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    inquiries = page.locator("#kpis .kpi").nth(3).locator(".kpi-value").text_content()
    assert int(inquiries) >= 1
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/metrics" in r.url else None)
    page.select_option("#days", "7")   # the experiment's heading names the period its figures cover
    sync_api.expect(page.locator("#experiment-title")).to_contain_text("last 7 days")
    page.wait_for_timeout(500)
    assert sum(url.endswith("days=7") for url in asked) == 2   # the metrics and the experiment's own figures


def test_report_gap_workflow_and_csv_export(server, page, store):
    from deflect.gaps.workflow import get_topic

    key = _key(store, "admin")
    page.goto(server + "/report?lang=en")
    page.fill("#api-key", key)
    page.click("#key-form button")
    rows = page.locator("#gaps-body tr[data-topic]")
    # no report stored yet: the page starts the first run and shows its topics when it is done
    sync_api.expect(rows.first).to_be_visible(timeout=120_000)
    sync_api.expect(page.locator("#gaps-built")).to_contain_text("Report of")
    assert rows.count() >= 2, "the demo tickets hold uncovered topics"
    first, second = rows.nth(0).get_attribute("data-topic"), rows.nth(1).get_attribute("data-topic")
    # each topic shows what it cost lately and its weekly volume, the costliest first
    costs = [int(c) for c in page.locator("#gaps-body td.cost .num").all_text_contents()]
    assert len(costs) == rows.count() and costs == sorted(costs, reverse=True)
    assert page.locator("#gaps-body td.cost svg.sparkline").count() == rows.count()

    rows.nth(0).get_by_role("button", name="Plan").click()
    dialog = page.locator("#plan-dialog")
    sync_api.expect(dialog).to_be_visible()
    page.fill("#plan-owner", "Miriam")
    page.fill("#plan-due", "2020-01-31")
    page.locator("#plan-form button[type=submit]").click()
    # a due date in the past asks first; the second press confirms it
    sync_api.expect(page.locator("#plan-error")).to_contain_text("2020-01-31 is in the past")
    sync_api.expect(dialog).to_be_visible()
    assert get_topic(store, first).status == "new"
    page.locator("#plan-form button[type=submit]", has_text="Plan anyway").click()
    sync_api.expect(dialog).to_be_hidden()
    planned = page.locator(f'#gaps-body tr[data-topic="{first}"]')
    sync_api.expect(planned.locator(".badge.status-planned")).to_have_text("planned")
    sync_api.expect(planned).to_have_class("overdue")
    sync_api.expect(planned).to_contain_text("Miriam")

    page.locator(f'#gaps-body tr[data-topic="{second}"]').get_by_role("button", name="Dismiss").click()
    page.fill("#dismiss-reason", "handled by the sales team")
    page.locator("#dismiss-form button[type=submit]").click()
    # the default filter lists new and planned topics only
    sync_api.expect(page.locator(f'#gaps-body tr[data-topic="{second}"]')).to_have_count(0)
    page.select_option("#status-filter", "")
    dismissed = page.locator(f'#gaps-body tr[data-topic="{second}"] .badge')
    sync_api.expect(dismissed).to_contain_text(["dismissed"])

    assert get_topic(store, first).status == "planned"
    assert get_topic(store, second).status == "dismissed"

    with page.expect_download() as download:
        page.click("#csv-export")
    path = download.value.path()
    header = Path(path).read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("id,") and "label" in header
    with page.expect_download() as download:
        page.click("#xlsx-export")
    assert download.value.suggested_filename.endswith(".xlsx")
    rows = list(openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active.values)
    planned_row = dict(zip(rows[0], next(row for row in rows[1:] if row[0] == first), strict=True))
    assert planned_row["owner"] == "Miriam" and second in {row[0] for row in rows[1:]}   # "all" is shown
    page.select_option("#status-filter", "open")   # the export holds the topics the page lists
    with page.expect_download() as download:
        page.click("#xlsx-export")
    rows = list(openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active.values)
    assert first in {row[0] for row in rows[1:]} and second not in {row[0] for row in rows[1:]}


def test_a_browser_a_day_behind_the_server_can_still_plan_for_its_today(server, page, store):
    """West of UTC after midnight UTC the browser's today is the server's yesterday: the server's "in the
    past" turns the button into "Plan anyway" instead of a dead end."""
    from datetime import UTC, datetime, timedelta

    from deflect.gaps.workflow import get_topic

    yesterday = datetime.now(UTC) - timedelta(days=1)
    page.clock.set_fixed_time(yesterday)   # the browser's clock (Date) a day behind the server's
    page.goto(server + "/report?lang=en")
    page.fill("#api-key", _key(store, "admin"))
    page.click("#key-form button")
    page.select_option("#status-filter", "new")
    row = page.locator("#gaps-body tr[data-topic]").first
    sync_api.expect(row).to_be_visible(timeout=120_000)
    topic = row.get_attribute("data-topic")
    row.get_by_role("button", name="Plan").click()
    page.fill("#plan-owner", "Jonas")
    page.fill("#plan-due", yesterday.date().isoformat())   # the browser's today
    page.locator("#plan-form button[type=submit]").click()
    sync_api.expect(page.locator("#plan-error")).to_contain_text("in the past")
    page.locator("#plan-form button[type=submit]", has_text="Plan anyway").click()
    sync_api.expect(page.locator("#plan-dialog")).to_be_hidden()
    assert get_topic(store, topic).status == "planned"


def test_a_german_browser_gets_the_report_and_the_console_in_german(server, page, store):
    """The page fixture's browser asks for de-DE, as a German content team's does."""
    page.goto(server + "/report")
    sync_api.expect(page.locator("h1")).to_have_text("Inhaltsbericht")
    page.fill("#api-key", _key(store, "admin"))
    page.click("#key-form button")
    sync_api.expect(page.locator("#key-status")).to_have_text("gespeichert")
    sync_api.expect(page.locator("#kpis .kpi-label").first).to_have_text("Self-Service-Quote")
    page.select_option("#status-filter", "")
    row = page.locator("#gaps-body tr[data-topic]").first
    sync_api.expect(row).to_be_visible(timeout=120_000)
    badges = page.locator("#gaps-body .badge").all_text_contents()
    assert badges and set(badges) <= {"neu", "geplant", "abgedeckt", "verworfen", "überfällig"}, badges
    sync_api.expect(page.locator("#gaps-built")).to_contain_text("Bericht vom")
    assert re.search(r"Bericht vom \d\d\.\d\d\.\d{4} \d\d:\d\d UTC", page.locator("#gaps-built").text_content())
    sync_api.expect(page.locator("#experiment-title")).to_contain_text("letzte 30 Tage")
    # the content team builds the report again from the page (a run like `deflect gaps --rebuild`)
    last = store.db.execute("select coalesce(max(id), 0) from gap_runs").fetchone()[0]
    page.click("#rebuild")

    def rebuilt() -> bool:
        return store.db.execute("select count(*) from gap_runs where id > ? and trigger = 'api' and state = 'done'",
                                [last]).fetchone()[0] > 0
    deadline = time.monotonic() + 120
    while not rebuilt() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert rebuilt()
    sync_api.expect(page.locator("#rebuild")).to_be_enabled()
    assert page.locator("html").get_attribute("lang") == "de"
    # the switch to English, and the links of an English page keep its language
    page.click("#lang-switch")
    sync_api.expect(page.locator("h1")).to_have_text("Content report")
    page.get_by_role("link", name="Agent console").click()
    sync_api.expect(page.locator("h1")).to_have_text("Agent console")
    page.click("#lang-switch")
    sync_api.expect(page.locator("h1")).to_have_text("Agentenkonsole")
    page.fill("#api-key", _key(store, "agent"))
    page.click("#key-form button")
    page.fill("#body", "Guten Tag, heute morgen war meine Zeitung wieder nicht im Briefkasten.")
    page.click("#suggest-btn")
    sync_api.expect(page.locator("#agent-articles .hit a").first).to_have_text(GERMAN_TITLE)
    sync_api.expect(page.locator("#agent-articles .choose").first).to_have_text("Diesen Artikel verwenden")
    sync_api.expect(page.locator("#decision")).to_contain_text("eindeutige Antwort")
    # an English customer answered from a German article: the API's English check is said in the page's
    # language (the demo answers English questions from its English articles, so the answer is planted)
    planted = {"ok": True, "id": "i-1", "decision": "answer", "confidence": 0.9, "language": "en", "tickets": [],
               "articles": [{"id": GERMAN_ARTICLE, "title": GERMAN_TITLE, "url": None, "score": 0.8,
                             "language": "de", "snippet": ""}], "history": None,
               "draft": {"text": "Hello,", "parts": [], "check": "The article is in German, the customer wrote in "
                                                              "English: translate its answer before sending."}}
    page.route("**/api/v1/agent/suggest", lambda route: route.fulfill(json=planted))
    page.fill("#body", "My newspaper did not arrive today")
    page.click("#suggest-btn")
    sync_api.expect(page.locator("#draft-check")).to_have_text(
        "Der Artikel ist auf Deutsch, der Kunde schrieb auf Englisch: Übersetzen Sie die Antwort vor dem Senden.")
    # a customer writing Turkish gets an English draft, and the agent is told to translate it
    page.unroute("**/api/v1/agent/suggest")
    page.fill("#body", "Merhaba, gazetem bugün yine gelmedi. Lütfen yardım edin.")
    page.click("#suggest-btn")
    sync_api.expect(page.locator("#draft-check")).to_have_text(
        "Der Kunde schrieb auf Türkisch: Übersetzen Sie diesen Entwurf vor dem Senden.")
    assert page.locator("#draft").input_value().startswith("Hello,")


def test_agent_console_shows_what_the_customer_already_did(server, page, store):
    """Search, vote "not helpful", send the contact form: the agent console shows that history for the
    new ticket (the form carried the widget session in its hidden deflect_session field)."""
    page.goto(server + "/")
    ask(page, GERMAN_QUESTION)
    first = page.locator(".deflect-search .deflect-option").first
    sync_api.expect(first.locator(".deflect-title")).to_have_text(GERMAN_TITLE)
    with page.expect_response("**/api/v1/feedback"):
        page.get_by_role("button", name="Nein", exact=False).first.click()
    session = session_of(page)
    assert page.locator("#contact-form input[name=deflect_session]").input_value() == session
    page.fill("#cf-name", "Erika Muster")
    page.fill("#cf-email", "erika@example.org")
    page.fill("#cf-subject", "Zeitung fehlt schon wieder")
    page.fill("#cf-body", "Auch heute keine Zeitung. Erika Muster, Tel. 0170 1234567")
    page.locator("#contact-form [type=submit]").click()
    page.wait_for_url("**/contact")
    reference = page.locator("#ticket-reference").text_content()
    assert reference.startswith("web-")

    page.goto(server + "/agent?lang=en")
    page.fill("#api-key", _key(store, "agent"))
    page.click("#key-form button")
    page.fill("#ticket-id", reference)
    page.fill("#body", "Auch heute keine Zeitung.")
    page.click("#suggest-btn")
    summary = page.locator("#history-summary")
    sync_api.expect(summary).to_contain_text(f"searched '{GERMAN_QUESTION}'")
    sync_api.expect(summary).to_contain_text(f"was shown '{GERMAN_TITLE}'")
    sync_api.expect(summary).to_contain_text("said not helpful")
    assert "0170" not in page.locator("#history-panel").text_content()


# -- incident notices (kept last: it builds the gap report of the shared demo home) -------------------
def _api(server: str, method: str, path: str, key: str | None = None, body: dict | None = None) -> dict:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    request = urllib.request.Request(server + path, method=method, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(request, timeout=120) as resp:
        return json.loads(resp.read())


def test_incident_notice_shows_for_a_matching_question_only(server, page, store):
    from datetime import UTC, datetime, timedelta

    from deflect.clock import iso

    key = _key(store, "admin")
    run = _api(server, "POST", "/api/v1/gaps/runs", key, {})["run"]
    deadline = time.monotonic() + 300
    while run["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
        run = _api(server, "GET", f"/api/v1/gaps/runs/{run['id']}", key)["run"]
    topics = _api(server, "GET", "/api/v1/gaps?status=all", key)["topics"]
    crash = next(t for t in topics if t["fix"]["kind"] == "product" and "app" in json.dumps(t).lower()
                 and "crash" in json.dumps(t).lower())
    if crash["status"] == "dismissed":   # the report test dismisses the second costliest topic
        _api(server, "PATCH", f"/api/v1/gaps/{crash['id']}", key, {"status": "new"})
    now = datetime.now(UTC)
    history = [{"inquiry_id": f"hist-{d}-{k}", "topic_id": crash["id"], "at": iso(now - timedelta(days=d, hours=3 * k)),
                "similarity": 0.9} for d in range(1, 29) for k in range(2)]
    with store.db.transaction():
        store.db["topic_volume"].insert_all(history, pk="inquiry_id")
    devices = ("Pixel 8", "Pixel 9", "Galaxy S23", "Galaxy A54", "Xiaomi 14", "OnePlus 12")
    burst = [f"Die E-Paper-App stürzt seit dem Update auf Android 15 ab ({d})" for d in devices] + \
            [f"Seit dem Android-15-Update stürzt die E-Paper-App auf meinem {d} beim Öffnen ab" for d in devices]
    for text in burst:   # a burst of customers whose e-paper app crashes, each in their own words
        _api(server, "POST", "/api/v1/suggest", body={"text": text})
    incidents = _api(server, "POST", "/api/v1/incidents/check", key)["incidents"]
    incident = next(i for i in incidents if i["topic_id"] == crash["id"])
    _api(server, "POST", f"/api/v1/incidents/{incident['id']}/notices", key,
         {"texts": {"de": "Die E-Paper-App stürzt unter Android 15 ab. Ein Update folgt.",
                    "en": "The e-paper app crashes on Android 15. An update is on its way."}})

    page.goto(server + "/")
    ask(page, "Meine E-Paper App stürzt beim Öffnen ab")
    notice = page.locator(".deflect-search .deflect-notice")
    sync_api.expect(notice).to_contain_text("Bekannte Störung: Die E-Paper-App stürzt unter Android 15 ab.")
    assert notice.get_attribute("role") == "alert" and notice.get_attribute("lang") == "de"   # read out, in German
    page.locator("#help-search").fill("")
    page.goto(server + "/")
    ask(page, GERMAN_QUESTION)
    sync_api.expect(page.locator(".deflect-search .deflect-option").first).to_be_visible()
    page.wait_for_timeout(1000)
    sync_api.expect(page.locator(".deflect-search .deflect-notice")).to_have_count(0)
    listed = _api(server, "GET", "/api/v1/incidents", key)["incidents"]
    seen = next(i for i in listed if i["id"] == incident["id"])["notices"][0]["sessions_seen"]
    assert seen >= 1
