"""The HTML pages render (Flask test client, no model): help center, articles, contact, agent, report."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from deflect.web import create_app
from deflect.web.pages import category_of, group_articles, render_markdown

from deflect.formats import Article
from deflect.store import open_store

ARTICLES = [
    Article(id="zustellung-zeitung-fehlt", title="Zeitung nicht erhalten", language="de",
            body="Bitte melden Sie es **sofort**.\n\n| Kanal | Zeit |\n|---|---|\n| Telefon | 7–18 Uhr |",
            questions=["Zeitung kam nicht"], tags=["zustellung"], url="/hilfe/zustellung/zeitung-fehlt"),
    Article(id="abo-uebersicht", title="Welche Abo-Varianten gibt es?", language="de",
            body="Print und digital.", tags=["abo"], url="/hilfe/abo/varianten"),
    Article(id="service-kontakt", title="Kontakt zum Leserservice", language="de", body="Telefon 0800.",
            tags=["service"], url="/hilfe/kontakt"),
    Article(id="en-cancel-subscription", title="How do I cancel my subscription?", language="en",
            body="Online or by email.", tags=["cancellation", "subscription"],
            url="/help/en/cancel-subscription"),
    Article(id="evil", title='<img src=x onerror="alert(1)">Böse', language="de",
            body='<script>alert(2)</script>\n\n[klick](javascript:alert(3))\n\n<b onclick="x()">fett</b>',
            tags=["redaktion"], url="/hilfe/redaktion/evil"),
]


@pytest.fixture
def client(tmp_path):
    store = open_store(tmp_path / "deflect.db")
    store.upsert_articles(ARTICLES)
    store.close()
    app = create_app({"DEFLECT_HOME": str(tmp_path), "TESTING": True, "DEFLECTOR": None})
    return app.test_client()


def test_help_center_page(client):
    resp = client.get("/")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert '<html lang="de">' in html
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert len(scripts) == 1, "the widget is embedded with exactly one script tag"
    tag = scripts[0]
    for attr in ('src="/static/widget.js"', 'data-deflect-api="/"', 'data-deflect-target="#help-search"',
                 'data-deflect-form="#contact-form"', 'data-deflect-lang="de"', "defer"):
        assert attr in tag
    assert 'id="help-search"' in html and 'id="contact-form"' in html
    assert 'href="/articles/zustellung-zeitung-fehlt"' in html
    assert "Zustellung" in html and "Abo &amp; Angebote" in html
    assert "How do I cancel" not in html          # English articles live on the English page
    assert "&lt;img src=x" in html and "<img src=x" not in html


def test_help_center_page_in_english(client):
    html = client.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert 'data-deflect-lang="en"' in html
    assert "How do I cancel my subscription?" in html
    assert "Zeitung nicht erhalten" not in html
    assert "How can we help?" in html
    # an English browser gets it without asking; ?lang= still chooses, and caches keep the two apart
    browser = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in browser.get_data(as_text=True) and "Accept-Language" in browser.headers["Vary"]
    asked = client.get("/?lang=de", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert '<html lang="de">' in asked
    # ... and German stays chosen on the pages its links, search box and contact button lead to
    assert 'href="/?lang=de"' in asked and '<input type="hidden" name="lang" value="de">' in asked
    results = client.get("/search?q=Zeitung+kam+heute+nicht&lang=de", headers={"Accept-Language": "en-US"})
    page = results.get_data(as_text=True)
    assert '<html lang="de">' in page and "lang=de&amp;subject=" in page
    for header, lang in (("en-GB,de;q=0.5", "en"), ("fr-FR", "de"), ("fr-FR,en;q=0.8,de;q=0.5", "en")):
        assert f'<html lang="{lang}">' in client.get("/", headers={"Accept-Language": header}).get_data(as_text=True)


def test_article_page_renders_markdown(client):
    resp = client.get("/articles/zustellung-zeitung-fehlt")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "<strong>sofort</strong>" in html
    assert "<table>" in html and "<td>Telefon</td>" in html
    assert "Zeitung kam nicht" in html          # the questions the article answers
    assert 'href="/?lang=de#kontakt"' in html


def test_article_page_is_xss_safe(client):
    html = client.get("/articles/evil").get_data(as_text=True)
    assert "<script>alert(2)" not in html and "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert 'href="javascript' not in html
    assert "<b onclick" not in html
    assert '<img src=x onerror="alert(1)">' not in html
    assert "&lt;img src=x onerror=" in html


def test_unknown_article_is_404(client):
    resp = client.get("/articles/nope")
    assert resp.status_code == 404
    assert "Artikel nicht gefunden" in resp.get_data(as_text=True)


def test_help_center_urls_lead_to_the_article(client):
    resp = client.get("/hilfe/zustellung/zeitung-fehlt")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/articles/zustellung-zeitung-fehlt")
    assert client.get("/help/en/cancel-subscription").headers["Location"].endswith(
        "/articles/en-cancel-subscription")
    missing = client.get("/help/en/nothing-here")
    assert missing.status_code == 404 and "Article not found" in missing.get_data(as_text=True)


def test_contact_form_thanks_without_storing(client):
    resp = client.post("/contact", data={"lang": "de", "subject": "<b>Hallo</b>", "body": "Text",
                                         "email": "a@example.org", "name": "A"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Vielen Dank" in html and "&lt;b&gt;Hallo&lt;/b&gt;" in html
    en = client.post("/contact", data={"lang": "en", "subject": "Hi"}).get_data(as_text=True)
    assert "Thank you for your message" in en
    assert client.get("/contact").status_code == 302


def test_agent_and_report_pages(client):
    agent = client.get("/agent").get_data(as_text=True)
    assert 'id="api-key"' in agent and 'id="copy-draft"' in agent and "/static/agent.js" in agent
    report = client.get("/report").get_data(as_text=True)
    assert 'id="gaps-table"' in report and "/static/report.js" in report
    assert 'href="/api/v1/gaps?format=csv"' in report
    assert 'aria-current="page"' in report


def test_the_console_speaks_the_browsers_language_or_the_one_asked_for(client):
    response = client.get("/report", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.8"})
    german = response.get_data(as_text=True)
    assert '<html lang="de">' in german and "<h1>Inhaltsbericht</h1>" in german
    assert "Themen ohne Artikel" in german and 'id="lang-switch">English</a>' in german
    assert "Accept-Language" in response.headers["Vary"]   # a cache keeps the two languages apart
    english = client.get("/report?lang=en", headers={"Accept-Language": "de-DE"}).get_data(as_text=True)
    assert "<h1>Content report</h1>" in english and 'href="/agent?lang=en"' in english   # links keep it
    unknown = client.get("/report?lang=xx", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="de">' in unknown and 'href="/agent"' in unknown   # no language is asked for in links
    other = client.get("/agent", headers={"Accept-Language": "fr-FR,fr"}).get_data(as_text=True)
    assert '<html lang="en">' in other and "<h1>Agent console</h1>" in other
    # the scripts' words travel as JSON in the page (data, not code: the CSP allows scripts from files only)
    data = re.search(r'<script type="application/json" id="console-text">(.*?)</script>', german).group(1)
    assert json.loads(data)["nav_agent"] == "Agentenkonsole"


def test_every_console_text_the_pages_use_exists_in_both_languages():
    from deflect.web.console_text import TEXTS

    from deflect.language import NAMES

    web = Path(__file__).parent.parent / "web"
    used = set()
    for name in ("console.js", "agent.js", "report.js", "report_why.js", "experiment.js"):
        used |= set(re.findall(r'\b[tT]\("(\w+)"\s*[,)]', (web / "static" / name).read_text(encoding="utf-8")))
    for name in ("console_base.html", "agent.html", "report.html"):
        used |= set(re.findall(r"\bt\.(\w+)", (web / "templates" / name).read_text(encoding="utf-8")))
    # keys the scripts build from what the API sends
    used |= {f"status_{s}" for s in ("new", "planned", "covered", "dismissed")}
    used |= {f"trend_{d}" for d in ("rising", "new", "falling", "steady")}
    used |= {f"example_{s}" for s in ("ticket", "inquiry")}
    used |= {f"lang_{s}" for s in NAMES}   # every language the guess can name
    used |= {f"channel_{s}" for s in ("email", "contact_form", "phone", "chat", "widget", "agent")}
    used |= {f"inferred_{s}" for s in ("neighbours", "url", "id", "title", "text")}
    used |= {f"template_{s}" for s in ("greeting", "closing", "fallback")}
    assert used - set(TEXTS) == set()
    assert set(TEXTS) - used == set(), "texts no page uses"
    for key, (english, german) in TEXTS.items():
        assert english.strip() and german.strip(), key
        assert sorted(re.findall(r"\{\w+\}", english)) == sorted(re.findall(r"\{\w+\}", german)), key


@pytest.mark.parametrize("name", ["widget.js", "widget.css", "site.css", "console.css", "console.js",
                                  "agent.js", "report.js", "favicon.svg"])
def test_static_files_are_served_locally(client, name):
    resp = client.get(f"/static/{name}")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "http://" not in body.replace("http://www.w3.org", "") and "cdn" not in body.lower()
    resp.close()


def test_widget_never_uses_innerhtml():
    from pathlib import Path

    static = Path(__file__).resolve().parent.parent / "web" / "static"
    for name in ("widget.js", "agent.js", "report.js", "console.js"):
        code = (static / name).read_text(encoding="utf-8")
        assert "innerHTML" not in code and "insertAdjacentHTML" not in code and "eval(" not in code, name


def test_categories():
    by_id = {a.id: a for a in ARTICLES}
    assert category_of(by_id["zustellung-zeitung-fehlt"]) == "zustellung"
    assert category_of(by_id["service-kontakt"]) == "service"
    assert category_of(by_id["en-cancel-subscription"]) == "account"
    groups = group_articles(ARTICLES, "de")
    assert [g["key"] for g in groups] == ["abo", "zustellung", "redaktion", "service"]
    assert [g["title"] for g in group_articles(ARTICLES, "en")] == ["Account & privacy"]


def test_render_markdown_disables_html():
    assert render_markdown("<i>x</i>") == "<p>&lt;i&gt;x&lt;/i&gt;</p>\n"
    assert "href" not in render_markdown("[a](javascript:alert(1))")


def test_help_page_errors_are_pages_of_the_help_center_in_its_language(client):
    missing = client.get("/kontakt")
    assert missing.status_code == 404 and "Seite nicht gefunden" in missing.get_data(as_text=True)
    assert "Zum Kontaktformular" in missing.get_data(as_text=True)          # the way to a human stays
    english = client.get("/nothing?lang=en")
    assert english.status_code == 404 and "Page not found" in english.get_data(as_text=True)
    wrong = client.post("/search")
    assert wrong.status_code == 405 and "Allow" in wrong.headers
    assert "Diese Anfrage können wir leider nicht bearbeiten" in wrong.get_data(as_text=True)
    assert client.get("/api/v1/nothing").get_json()["ok"] is False         # the API keeps its JSON errors


def test_a_teams_own_name_and_contact_page_replace_the_demo_publishers(tmp_path):
    """A team whose widget opens the service's results page: its customers see the team's name and are led
    to the team's contact page, never the demo publisher's address, phone number or (unsent) demo form."""
    store = open_store(tmp_path / "deflect.db")
    store.upsert_articles(ARTICLES)
    store.close()
    demo = create_app({"DEFLECT_HOME": str(tmp_path), "TESTING": True, "DEFLECTOR": None}).test_client()
    page = demo.get("/articles/abo-uebersicht").get_data(as_text=True)
    assert "Rheinblick" in page and 'href="/?lang=de#kontakt"' in page        # the demo, as it was
    team = create_app({"DEFLECT_HOME": str(tmp_path), "TESTING": True, "DEFLECTOR": None,
                       "SITE_NAME": "Stadtwerke Rheinstadt", "CONTACT_URL": "https://www.stadtwerke.example/kontakt",
                       "CONTACT_TEXT": "Wir antworten werktags innerhalb eines Tages."}).test_client()
    for path in ("/articles/abo-uebersicht", "/search?q=ab", "/articles/nope"):
        page = team.get(path).get_data(as_text=True)
        assert "Stadtwerke Rheinstadt" in page, path
        assert "Rheinblick" not in page and "0800" not in page and "Hafenstraße" not in page, path
        assert 'href="https://www.stadtwerke.example/kontakt"' in page, path
    assert "Wir antworten werktags innerhalb eines Tages." in team.get("/search?q=ab").get_data(as_text=True)


def test_the_results_page_counts_a_question_as_the_widget_does(client):
    page = client.get("/search?q=a+b&lang=en").get_data(as_text=True)
    assert "Please type your question (at least 3 characters)." in page
