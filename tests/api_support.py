"""Helpers for the API tests: a small help desk for the fake engine (``fakes.FakeDeflector``) and app setup."""

from __future__ import annotations

from pathlib import Path

from fakes import FakeDeflector

from deflect.formats import Article, Ticket
from deflect.home import Home
from deflect.store.service import create_key

ARTICLES = [
    Article(
        id="kuendigung-abo",
        title="Wie kündige ich mein Abo?",
        language="de",
        body="Sie können Ihr Abo online kündigen.\n\nDie **Kündigungsfrist** beträgt einen Monat "
        "zum Monatsende.\n\nSchreiben Sie uns alternativ eine E-Mail.",
        questions=["Abo kündigen", "Kündigungsfrist"],
        tags=["kuendigung"],
        url="/hilfe/kuendigung/abo",
    ),
    Article(
        id="en-password-reset",
        title="How do I reset my password?",
        language="en",
        body="Click **Forgot password** on the login page.\nWe send you a reset link by email.",
        questions=["forgot password", "reset password"],
        tags=["account"],
        url="/help/en/password",
    ),
    Article(
        id="xss-test",
        title="Sicherheit <b>Test</b>",
        language="de",
        body="Der Zugang <script>alert('x')</script> zum Zugangsportal ist sicher & schnell.",
        url="/hilfe/xss",
    ),
]

TICKETS = [
    Ticket(
        id="T-1",
        subject="Lieferung fehlt",
        body="Meine Zeitung kam heute nicht, bitte an max@example.com",
        resolution="Zeitung nachgeliefert. Rückruf unter +49 170 1234567.",
        article_id=None,
        language="de",
    ),
    Ticket(
        id="T-2",
        subject="Passwort",
        body="I forgot my password",
        resolution="Sent a reset link.",
        article_id="en-password-reset",
        language="en",
    ),
]


def help_desk(home: Home) -> FakeDeflector:
    """The fake engine over the API tests' help desk (``ARTICLES``, ``TICKETS``)."""
    return FakeDeflector(home, ARTICLES, TICKETS)


def make_app(tmp_path: Path, **config):
    """An app over a fresh home in ``tmp_path`` with a FakeDeflector; returns (app, fake)."""
    from deflect.web import create_app

    home = Home.resolve(tmp_path / "home").ensure()
    fake = help_desk(home)
    settings = {
        "TESTING": True,
        "DEFLECT_HOME": str(home.path),
        "DEFLECTOR": fake,
        "WIDGET_ORIGINS": [],
        "RATE_LIMIT": {"suggest": 0, "feedback": 0},
    }
    settings.update(config)
    return create_app(settings), fake


def new_key(fake: FakeDeflector, scope: str = "admin", name: str = "test") -> str:
    return create_key(fake.store, name, scope)[1]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
