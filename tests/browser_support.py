"""What the browser tests share: Chromium's marks, the demo's strings and small page/store helpers
(the fixtures ``browser``, ``server``, ``page`` and ``store`` live in conftest.py)."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# .ci/run sets DEFLECT_REQUIRE_BROWSER=1: there a missing Chromium fails the test instead of skipping it.
REQUIRED = os.environ.get("DEFLECT_REQUIRE_BROWSER") == "1"
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() and not REQUIRED,
                       reason="needs /usr/bin/chromium (apt-get install -y chromium chromium-driver)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")

GERMAN_QUESTION = "Meine Zeitung ist heute nicht gekommen"
GERMAN_ARTICLE = "zustellung-zeitung-fehlt"
GERMAN_TITLE = "Zeitung nicht erhalten: Zustellung reklamieren"
UNCOVERED_QUESTION = "Wo finde ich im E-Paper die Lösung vom Kreuzworträtsel?"
NO_ANSWER_DE = "Dazu haben wir leider keinen passenden Artikel. Unser Team hilft Ihnen gern:"


def session_of(page) -> str:
    return page.evaluate("sessionStorage.getItem('deflect.session')")


def feedback_rows(store, session: str, event: str, wait: float = 5.0) -> list[dict]:
    """Feedback events of a session (polls briefly: keepalive requests may land after navigation)."""
    deadline = time.monotonic() + wait
    while True:
        rows = list(store.db.query("select * from feedback where session = ? and event = ?",
                                   [session, event]))
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def ask(page, question: str) -> None:
    search = page.locator("#help-search")
    search.click()
    search.press_sequentially(question, delay=25)
