"""The Engine interface: the real Deflector and the tests' fake both provide it, and the engine's
model calls are safe from several threads (the gap report embeds while the service answers)."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from fakes import FakeDeflector, FakeEmbedder

from deflect.deflector import Deflector
from deflect.engine import FEATURES, Engine
from deflect.formats import Article, Ticket
from deflect.home import Home
from deflect.index import build as indexer
from deflect.index.bundle import IndexBundle
from deflect.store import open_store

ARTICLES = [Article(id="passwort", title="Passwort vergessen", body="Setzen Sie es zurück.", language="de",
                    questions=["passwort vergessen login"]),
            Article(id="rechnung", title="Rechnung herunterladen", body="Im Kundenkonto.", language="de",
                    questions=["rechnung pdf herunterladen"])]
TICKETS = [Ticket(id=f"T{i}", subject=text, body=text, resolution="erledigt", article_id=article, language="de")
           for i, (text, article) in enumerate([("passwort vergessen bitte", "passwort"),
                                                ("wo ist meine rechnung", "rechnung"),
                                                ("gewinnspiel teilnahme", None)])]
TEXTS = [f"{word} frage nummer {i} " * (1 + i % 4) for i, word in
         enumerate(["passwort", "rechnung", "zeitung", "gewinnspiel"] * 10)]


class OneAtATimeEmbedder(FakeEmbedder):
    """Notes when two threads are inside ``encode`` at once (a tokenizer would break there)."""

    def __init__(self):
        super().__init__()
        self.inside = 0
        self.overlaps = 0

    def encode(self, texts, progress=None, chunk=1024):
        self.inside += 1
        if self.inside > 1:
            self.overlaps += 1
        time.sleep(0.001)   # widens the window a second thread would enter in
        try:
            return super().encode(texts, progress, chunk)
        finally:
            self.inside -= 1


def _deflector(tmp_path, embedder) -> Deflector:
    home = Home(tmp_path / "home").ensure()
    store = open_store(home.db_path, check_same_thread=False)
    store.upsert_articles(ARTICLES)
    store.upsert_tickets(TICKETS)
    indexer.build(store, embedder, home.index_dir)
    return Deflector(home, store, IndexBundle.load(home.index_dir), embedder, None)


def test_the_deflector_and_the_fake_provide_the_engine_interface(tmp_path):
    real = _deflector(tmp_path, FakeEmbedder())
    fake = FakeDeflector(Home(tmp_path / "fake").ensure(), ARTICLES, TICKETS)
    assert isinstance(real, Engine) and isinstance(fake, Engine)
    members = {m for m in dir(Engine) if not m.startswith("_")} | set(Engine.__annotations__)
    for engine in (real, fake):
        assert not [m for m in members if not hasattr(engine, m)], type(engine).__name__
    assert real.model == "fake-bow" and fake.model is None
    # the fake answers the way the engine is used
    s = fake.suggest("passwort vergessen", k=1)
    assert s.articles[0].id == "passwort" and s.decision == "answer"
    features, firsts = fake.judge(fake.embed(["Passwort vergessen passwort vergessen login"]))
    assert firsts == ["passwort"] and features.shape == (1, len(FEATURES))
    real.close()
    fake.close()


def _concurrently(d: Deflector, rounds: int = 5) -> tuple[list[np.ndarray], list[list[str]]]:
    """Embed TEXTS in one thread (as the gap report does) while two threads ask single inquiries."""
    vectors, answers, errors = [], [[], []], []

    def embed():
        try:
            for _ in range(rounds):
                vectors.append(d.embed(TEXTS))
        except Exception as exc:   # a tokenizer entered twice raises: report it in the main thread
            errors.append(exc)

    def ask(out):
        try:
            for text in TEXTS[:2 * rounds]:
                out.append(d.suggest(text, k=1).articles[0].id)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=embed), *(threading.Thread(target=ask, args=(a,)) for a in answers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return vectors, answers


def test_embedding_while_queries_run_calls_the_model_one_thread_at_a_time(tmp_path):
    embedder = OneAtATimeEmbedder()
    d = _deflector(tmp_path, embedder)
    sequential = d.embed(TEXTS)
    expected = [d.suggest(text, k=1).articles[0].id for text in TEXTS[:10]]
    vectors, answers = _concurrently(d)
    assert embedder.overlaps == 0
    assert all(np.array_equal(v, sequential) for v in vectors)
    assert answers == [expected, expected]
    d.close()


@pytest.mark.slow
def test_embedding_while_queries_run_gives_the_sequential_vectors_with_the_real_model(demo_deflector):
    sequential = demo_deflector.embed(TEXTS)
    expected = [demo_deflector.suggest(text, k=1).articles[0].id for text in TEXTS[:6]]
    vectors, answers = _concurrently(demo_deflector, rounds=3)
    assert all(np.allclose(v, sequential, atol=1e-6) for v in vectors)
    assert answers == [expected, expected]
