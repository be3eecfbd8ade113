"""Helpers for the API tests: a small fake Deflector (word overlap instead of embeddings) and app setup."""

from __future__ import annotations

import re
from pathlib import Path

from deflect.engine import ArticleHit, Suggestion, TicketHit
from deflect.formats import Article, Ticket
from deflect.home import Home
from deflect.language import detect_language
from deflect.store import Store
from deflect.store.service import create_key

WORD = re.compile(r"\w+")

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


class FakeDeflector:
    """Stands in for deflect.engine.Deflector: ranks stored articles by word overlap with the query."""

    def __init__(self, home: Home, articles=ARTICLES, tickets=TICKETS):
        self.home = home
        self.store = Store(home.db_path, check_same_thread=False)
        self.store.upsert_articles(articles)
        self.store.upsert_tickets(tickets)
        self.reload_calls = 0
        self.fail: Exception | None = None
        self.raw_tickets: list[TicketHit] | None = None  # returned as-is (to test output redaction)

    @staticmethod
    def _words(text: str) -> set[str]:
        return {w[:5] for w in WORD.findall(text.lower()) if len(w) >= 4}

    def suggest(
        self, text: str, language: str | None = None, k: int = 5, with_tickets: int = 0
    ) -> Suggestion:
        if self.fail is not None:
            raise self.fail
        query = self._words(text)
        scored = []
        for a in self.store.articles():
            words = self._words(" ".join([a.title, a.body, *a.questions]))
            score = len(query & words) / max(1, len(query))
            scored.append((score, a))
        scored.sort(key=lambda x: (-x[0], x[1].id))
        hits = [ArticleHit(a.id, a.title, round(s, 4), a.url, a.language) for s, a in scored[:k]]
        best = scored[0][0] if scored else 0.0
        tickets: list[TicketHit] = []
        if with_tickets:
            if self.raw_tickets is not None:
                tickets = self.raw_tickets[:with_tickets]
            else:
                for row in self.store.tickets():
                    overlap = len(query & self._words(f"{row['subject']} {row['body']}")) / max(1, len(query))
                    if overlap:
                        tickets.append(
                            TicketHit(
                                row["id"],
                                round(overlap, 4),
                                row["subject"],
                                row["body"],
                                row["resolution"],
                                row["article_id"],
                                row["language"],
                            )
                        )
                tickets = sorted(tickets, key=lambda t: -t.score)[:with_tickets]
        return Suggestion(
            decision="answer" if best >= 0.5 else "no_answer",
            confidence=round(best, 4),
            articles=hits,
            language=language or detect_language(text),
            tickets=tickets,
        )

    def upsert_article(self, article: Article):
        return self.store.upsert_articles([article])

    def delete_article(self, article_id: str) -> None:
        self.store.delete_article(article_id)

    def reload_if_changed(self) -> bool:
        self.reload_calls += 1
        return False


def make_app(tmp_path: Path, **config):
    """An app over a fresh home in ``tmp_path`` with a FakeDeflector; returns (app, fake)."""
    from deflect.web import create_app

    home = Home.resolve(tmp_path / "home").ensure()
    fake = FakeDeflector(home)
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
