"""Take the docs' screenshots: the widget on the demo help page and the content report (README), and
the agent console answering a customer's ticket (docs/connectors.md).

    .venv/bin/python -m scripts.screenshots [--home DEMO_HOME] [--out docs] [--shots widget report agent]

With ``--home`` the given demo home (ingested, indexed and calibrated, e.g. by ``make demo``) is
copied to a temporary folder; without it a demo home is built there from faq_articles/ (a few
minutes on 2 cores). For the report the copy gets 30 days of *simulated* widget traffic (questions asked,
"did this help?" votes, contacts), so the report has something to show; the given home is never
changed. The real app is served on a free localhost port and photographed in headless Chromium
(Debian's /usr/bin/chromium driven by Playwright).
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import threading
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scripts.common import DOCS, ROOT

CHROMIUM = "/usr/bin/chromium"
SHOTS = ("widget", "report", "agent")
WIDGET_QUESTION = "Ich habe mein Passwort vergessen – wie komme ich wieder in mein Konto?"
# A customer's new ticket as a help desk would pass it on (subject, message), for the agent console.
AGENT_TICKET = ("Zeitung fehlt schon wieder",
                "Guten Tag, seit Montag liegt morgens keine Zeitung mehr in meinem Briefkasten. "
                "Können Sie die fehlenden Ausgaben nachliefern? Viele Grüße, Erika Musterfrau")

# Simulated customer questions: (text, weight). Covered ones and recurring uncovered ones.
COVERED = [
    ("Meine Zeitung kam heute nicht", 6), ("Zeitung heute nicht im Briefkasten", 5),
    ("Ich bin im Urlaub, kann ich die Zeitung pausieren?", 4), ("Urlaubsservice einrichten", 3),
    ("Wie kündige ich mein Abo?", 5), ("Abo kündigen Frist", 3), ("Passwort vergessen", 4),
    ("Ich komme nicht ins E-Paper", 4), ("Rechnung herunterladen", 3), ("Bankverbindung ändern", 3),
    ("Wir ziehen um, neue Adresse für die Zeitung", 3), ("Gibt es Rabatt für Studenten?", 2),
    ("E-Paper offline lesen im Flugzeug", 2), ("Warum wird mein Abo teurer?", 2),
    ("Probeabo kostenlos testen", 2), ("How do I cancel my subscription?", 2),
    ("I forgot my password", 2), ("Can I read the e-paper offline?", 1),
    ("Wo finde ich meine Kundennummer?", 2), ("Plus-Artikel trotz Abo gesperrt", 2),
]
UNCOVERED = [
    ("Die Zeitung war heute wieder komplett nass", 4), ("Bei Regen bitte die Zeitung in Folie packen", 3),
    ("Wo finde ich die Auflösung vom Kreuzworträtsel?", 4), ("Rätsel fehlt im E-Paper", 3),
    ("E-Paper App stürzt auf Android ständig ab", 3), ("App öffnet nach dem Update nicht mehr", 2),
    ("Kann ich das Abo meiner verstorbenen Mutter übernehmen?", 2), ("Gibt es die Zeitung in Großdruck?", 1),
    ("Delivery to the Netherlands possible?", 2),
    ("Kann ich mit meiner Schulklasse die Druckerei besichtigen?", 1),
]

def build_home(root: Path) -> Path:
    """Ingest faq_articles/ (articles and tickets, dated to end in the last week as ``make demo`` does),
    index with the default model, calibrate."""
    from deflect.clock import utcnow
    from deflect.decision.fit import calibrate_tickets
    from deflect.deflector import Deflector
    from deflect.embedder import DEFAULT_MODEL, load_embedder, set_threads
    from deflect.home import Home
    from deflect.index import build as indexer
    from deflect.ingest import ingest
    from deflect.store import open_store

    set_threads(2)
    home = Home(root).ensure()
    store = open_store(home.database)
    ingest(store, [ROOT / "faq_articles"], recent_as_of=utcnow())
    embedder = load_embedder(DEFAULT_MODEL)
    print("indexing the demo help center (a few minutes) …", flush=True)
    indexer.build(store, embedder, home.index_dir)
    store.set_setting("model", embedder.name)
    store.close()
    deflector = Deflector.open(home)
    calibrate_tickets(deflector)
    deflector.store.close()
    return home.path


def copy_home(src: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for path in src.glob("deflect.db*"):
        shutil.copy2(path, dest / path.name)
    shutil.copytree(src / "index", dest / "index")
    return dest


def seed_activity(home: Path, days: int = 30, seed: int = 7) -> None:
    """Simulated widget traffic over ``days`` days: inquiries, votes and contacts, then a gap report
    with one overdue and one upcoming planned topic."""
    from deflect.deflector import Deflector
    from deflect.formats import Inquiry
    from deflect.gaps.runs import run_now
    from deflect.gaps.workflow import list_topics, plan
    from deflect.store.service import record_feedback

    rng = random.Random(seed)
    deflector = Deflector.open(home)
    store = deflector.store
    texts = [t for t, _ in COVERED + UNCOVERED]
    weights = [w for _, w in COVERED + UNCOVERED]
    answers = dict(zip(texts, deflector.suggest_batch(texts, k=3), strict=True))
    now = datetime.now(UTC).replace(microsecond=0)
    stamps: list[tuple[str, str]] = []
    for back in range(days - 1, -1, -1):
        day = now - timedelta(days=back)
        sessions = int((6 + (days - back) * 0.25) * (0.6 if day.weekday() >= 5 else 1.0)) + rng.randint(0, 4)
        for _ in range(sessions):
            session = uuid.uuid4().hex
            helped = rng.random() < 0.45 + 0.25 * (days - back) / days   # the FAQ gets better over time
            for _ in range(1 if rng.random() < 0.7 else 2):
                text = rng.choices(texts, weights)[0]
                s = answers[text]
                at = (day.replace(hour=rng.randint(6, 21), minute=rng.randint(0, 59))).isoformat()
                if at > now.isoformat():
                    at = now.isoformat()
                top = s.articles[0].id if s.articles else None
                iid = store.log_inquiry(Inquiry(uuid.uuid4().hex, text, s.language), s.decision, s.confidence,
                                        top, channel="widget", session=session, page="/")
                stamps.append((iid, at))
                if s.decision == "answer":
                    roll = rng.random()
                    if roll < (0.75 if helped else 0.3):
                        record_feedback(store, iid, "helpful", top, session)
                    elif roll < 0.9:
                        record_feedback(store, iid, "not_helpful", top, session)
                    if not helped and rng.random() < 0.35:
                        record_feedback(store, iid, "contacted_support", top, session)
                elif rng.random() < 0.55:
                    record_feedback(store, iid, "contacted_support", None, session)
    with store.db.transaction():
        pairs = [(at, i) for i, at in stamps]
        store.db.executemany("update inquiries set created_at = ? where id = ?", pairs)
        store.db.executemany("update feedback set created_at = ? where inquiry_id = ?", pairs)
        # the help center existed before the simulated month (else every question predates its article)
        store.db.execute("update articles set created_at = ?", ((now - timedelta(days=days + 60)).isoformat(),))
    run_now(deflector, trigger="cli")
    topics = list_topics(store, ("new", "planned"))
    if topics:
        plan(store, topics[0].id, "Miriam (Content)", (now - timedelta(days=3)).date(), force=True)   # shown overdue
    if len(topics) > 2:
        plan(store, topics[2].id, "Jonas (Leserservice)", (now + timedelta(days=10)).date())
    print(f"seeded {len(stamps)} inquiries; gap report: {len(topics)} topics", flush=True)
    store.close()


@contextmanager
def serve(home: Path):
    from deflect.web import create_app
    from werkzeug.serving import make_server

    app = create_app({"DEFLECT_HOME": str(home), "RATE_LIMIT": "off"})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(5)


def shoot_widget(browser, base: str, out: Path) -> Path:
    """The demo help page with the widget's suggestions open under the search field."""
    from playwright.sync_api import expect

    path = out / "screenshot-widget.png"
    page = browser.new_page(viewport={"width": 1280, "height": 760}, device_scale_factor=1)
    page.set_default_timeout(30_000)
    page.goto(base + "/")
    search = page.locator("#help-search")
    search.click()
    search.press_sequentially(WIDGET_QUESTION, delay=15)
    expect(page.locator(".deflect-search .deflect-option").first).to_be_visible()
    search.press("ArrowDown")
    page.mouse.move(0, 0)
    page.wait_for_timeout(400)
    hero = page.locator(".hero").bounding_box()
    page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": 1280,
                                          "height": min(760, hero["y"] + hero["height"])})
    page.close()
    return path


def _console_page(browser, key: str, width: int, height: int):
    """A console page (report, agent) whose API key is already stored, as after signing in once."""
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    context.add_init_script(f"localStorage.setItem('deflect.apiKey', {json.dumps(key)})")
    page = context.new_page()
    page.set_default_timeout(120_000)
    return page


def shoot_report(browser, base: str, key: str, out: Path) -> Path:
    """The content report, the second gap topic opened."""
    from playwright.sync_api import expect

    path = out / "screenshot-report.png"
    page = _console_page(browser, key, 1440, 900)
    page.goto(base + "/report")
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    page.locator("#report-status").evaluate("el => el.textContent = ''")
    details = page.locator("#gaps-body details")
    if details.count() > 1:
        details.nth(1).locator("summary").click()
    page.wait_for_timeout(300)
    page.screenshot(path=str(path), full_page=True)
    page.context.close()
    return path


def shoot_agent(browser, base: str, key: str, out: Path) -> Path:
    """The agent console answering a pasted customer ticket: the articles with their confidence, similar
    resolved tickets and the draft -- what a connector posts as the ticket's internal note."""
    from playwright.sync_api import expect

    path = out / "connectors-agent.png"
    page = _console_page(browser, key, 1200, 800)
    page.goto(base + "/agent")
    page.fill("#subject", AGENT_TICKET[0])
    page.fill("#body", AGENT_TICKET[1])
    page.click("#suggest-btn")
    expect(page.locator("#draft")).not_to_have_value("", timeout=120_000)   # the first query loads the model
    expect(page.locator("#agent-articles .hit").first).to_be_visible()
    page.locator("#agent-status").evaluate("el => el.textContent = ''")
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)
    page.screenshot(path=str(path), full_page=True)
    page.context.close()
    return path


def shoot(base: str, key: str, out: Path, shots: list[str]) -> list[Path]:
    """Photograph the pages named in ``shots`` (``widget``, ``report``, ``agent``) into ``out``."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        if "widget" in shots:
            paths.append(shoot_widget(browser, base, out))
        if "report" in shots:
            paths.append(shoot_report(browser, base, key, out))
        if "agent" in shots:
            paths.append(shoot_agent(browser, base, key, out))
        browser.close()
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="an indexed and calibrated demo home to copy")
    parser.add_argument("--out", type=Path, default=DOCS)
    parser.add_argument("--shots", nargs="+", choices=SHOTS, default=list(SHOTS),
                        help="which pages to photograph (default: all)")
    args = parser.parse_args()

    from deflect.embedder import set_threads
    from deflect.store import open_store
    from deflect.store.service import create_key

    with tempfile.TemporaryDirectory(prefix="deflect-shots-") as tmp:
        home = copy_home(args.home, Path(tmp) / "home") if args.home else build_home(Path(tmp) / "home")
        set_threads(1)
        if "report" in args.shots:   # only the report needs the simulated traffic
            seed_activity(home)
        store = open_store(home / "deflect.db")
        key = create_key(store, "screenshots", "admin")[1]
        store.close()
        with serve(home) as base:
            for path in shoot(base, key, args.out, args.shots):
                print(f"wrote {path}")


if __name__ == "__main__":
    main()
