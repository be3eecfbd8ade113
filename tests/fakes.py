"""Fakes for the tests that need no model.

``FakeEmbedder`` stands in for ``deflect.embedder.Embedder`` (hashed bag of words). ``FakeDeflector``
implements ``deflect.engine.Engine`` over a real store: texts embed with ``vector`` (default: the same
hashed words); an article's relevance to an inquiry is ``relevance(inquiry, article text)`` (default:
the share of the inquiry's words the article has); the first article is the answer when its relevance
reaches 0.5, and the first ones "might help" (``suggest``) from ``suggest_at`` (default: never)."""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable

import numpy as np

from deflect.decision.calibrator import Calibrator
from deflect.decision.floor import decide
from deflect.engine import FEATURES, ArticleHit, Suggestion, TicketHit
from deflect.errors import NotFoundError
from deflect.formats import Article, Ticket
from deflect.home import Home
from deflect.index.classifier import Classifier
from deflect.language import detect_language
from deflect.store import open_store

WORD = re.compile(r"\w+")
HASH_DIM = 64
ANSWER_AT = 0.5


def _words(text: str) -> set[str]:
    return {w[:5] for w in WORD.findall(text.lower()) if len(w) >= 4}


def word_overlap(query: str, text: str) -> float:
    """Share of the query's words (their first five letters; words of four letters or more) in ``text``."""
    words = _words(query)
    return len(words & _words(text)) / max(1, len(words))


def hashed_words(text: str) -> np.ndarray:
    """A unit vector of hashed words: texts sharing words are similar; deterministic."""
    v = np.full(HASH_DIM, 0.01, np.float32)
    for word in WORD.findall(text.lower()):
        h = int(hashlib.md5(word.encode()).hexdigest(), 16)
        v[h % HASH_DIM] += 1.0
        v[(h >> 16) % HASH_DIM] += 0.5
    return v / np.linalg.norm(v)


class FakeEmbedder:
    """An ``Embedder`` of ``hashed_words``; counts the texts it encodes."""

    name, dim = "fake-bow", HASH_DIM

    def __init__(self):
        self.encoded = 0

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None,
               chunk: int = 1024) -> np.ndarray:
        self.encoded += len(texts)
        if progress:
            progress(len(texts))
        return np.array([hashed_words(t) for t in texts], np.float32).reshape(len(texts), HASH_DIM)

    def word_vectors(self, words: list[str]) -> np.ndarray:
        return self.encode(words)


class FakeDeflector:
    """Stands in for ``deflect.deflector.Deflector`` (see the module docstring). Counts the texts it
    embeds (``embedded``) and judges (``judged``) and its reload checks; ``fail`` is raised by every
    suggestion, ``raw_tickets`` are returned as similar tickets as they are, ``index_problem`` is reported as is."""

    def __init__(self, home: Home, articles: Iterable[Article] = (), tickets: Iterable[Ticket] = (),
                 vector: Callable[[str], np.ndarray] = hashed_words,
                 relevance: Callable[[str, str], float] = word_overlap, suggest_at: float = 2.0):
        self.home = home
        self.store = open_store(home.database, check_same_thread=False)
        self.store.upsert_articles(list(articles))
        self.store.upsert_tickets(list(tickets))
        self.bundle = None
        self.calibrator: Calibrator | None = None
        self.learned = None
        self.vector, self.relevance, self.suggest_at = vector, relevance, suggest_at
        self.dim = len(vector(""))
        self.embedded = self.judged = self.reload_calls = 0
        self.fail: Exception | None = None
        self.raw_tickets: list[TicketHit] | None = None
        self.index_problem: str | None = None

    @property
    def model(self) -> str | None:
        return getattr(self.bundle, "model", None)

    def embed(self, texts: list[str]) -> np.ndarray:
        self.embedded += len(texts)
        return np.array([self.vector(t) for t in texts], np.float32).reshape(len(texts), self.dim)

    def embed_queries(self, texts: list[str], weights: dict | None = None) -> np.ndarray:
        return self.embed(texts)   # one model: no parts to weight

    def judge(self, vectors: np.ndarray, exclude: list | None = None, classifier: Classifier | None = None,
              hidden: int | None = None, texts: list[str] | None = None,
              lexical: dict[str, float] | None = None) -> tuple[np.ndarray, list[str | None]]:
        features, ranked = self.judge_top(vectors, exclude, classifier, hidden, k=1, texts=texts)
        return features, [r[0][0] if r else None for r in ranked]

    def judge_top(self, vectors: np.ndarray, exclude: list | None = None, classifier: Classifier | None = None,
                  hidden: int | None = None, k: int = 3, texts: list[str] | None = None,
                  lexical: dict[str, float] | None = None,
                  cross: bool | None = None) -> tuple[np.ndarray, list[list[tuple[str, float]]]]:
        """Evidence from the similarity to each article's own texts (the fake has no documents to
        exclude, no classifier to replace and no lexical evidence; ``hidden`` leaves an article out)."""
        articles = self.store.articles()
        features = np.zeros((len(vectors), len(FEATURES)), np.float32)
        if not articles:
            return features, [[] for _ in range(len(vectors))]
        sims = np.asarray(vectors, np.float32) @ np.array([self.vector(_text(a)) for a in articles]).T
        if hidden is not None:
            sims[:, hidden] = -np.inf
        order = np.argsort(-sims, axis=1, kind="stable")
        rows = np.arange(len(vectors))
        top = sims[rows, order[:, 0]]
        second = sims[rows, order[:, 1]] if len(articles) > 1 else np.zeros(len(vectors), np.float32)
        for name, column in (("mix_top", top), ("mix_margin", top - second), ("article_sim", top)):
            features[:, FEATURES.index(name)] = column
        return features, [[(articles[a].id, float(sims[r, a])) for a in order[r, :k] if np.isfinite(sims[r, a])]
                          for r in range(len(vectors))]

    def suggest(self, text: str, language: str | None = None, k: int = 5, with_tickets: int = 0) -> Suggestion:
        return self.suggest_batch([text], k=k, with_tickets=with_tickets, languages=[language])[0]

    def suggest_batch(self, texts: list[str], k: int = 5, exclude_tickets: list[str | None] | None = None,
                      vectors: np.ndarray | None = None, with_tickets: int = 0,
                      languages: list[str | None] | None = None) -> list[Suggestion]:
        if self.fail is not None:
            raise self.fail
        self.judged += len(texts)
        articles = self.store.articles()
        out = []
        for i, text in enumerate(texts):
            scored = sorted(((self.relevance(text, _text(a)), a) for a in articles), key=lambda x: (-x[0], x[1].id))
            best = scored[0][0] if scored else 0.0
            out.append(Suggestion(
                decision=decide(best, ANSWER_AT, best, self.suggest_at, bool(scored)), confidence=round(best, 4),
                articles=[ArticleHit(a.id, a.title, round(s, 4), a.url, a.language) for s, a in scored[:k]],
                language=(languages[i] if languages else None) or detect_language(text),
                tickets=self._similar_tickets(text, with_tickets, exclude_tickets[i] if exclude_tickets else None)))
        return out

    def _similar_tickets(self, text: str, limit: int, exclude: str | None) -> list[TicketHit]:
        if limit <= 0:
            return []
        if self.raw_tickets is not None:
            return self.raw_tickets[:limit]
        hits = []
        for row in self.store.tickets():
            score = self.relevance(text, f"{row['subject']} {row['body']}")
            if score > 0 and row["id"] != exclude:
                hits.append(TicketHit(row["id"], round(score, 4), row["subject"], row["body"], row["resolution"],
                                      row["article_id"], row["language"]))
        return sorted(hits, key=lambda t: -t.score)[:limit]

    def upsert_article(self, article: Article) -> dict[str, list[str]]:
        return self.store.upsert_articles([article])

    def delete_article(self, article_id: str) -> None:
        if not self.store.has_article(article_id):
            raise NotFoundError(f"no article {article_id!r}")
        self.store.delete_article(article_id)

    def add_tickets(self, tickets: Iterable[Ticket]) -> dict[str, int]:
        return self.store.upsert_tickets(list(tickets))

    def reload_if_changed(self) -> bool:
        self.reload_calls += 1
        return False

    def close(self) -> None:
        self.store.close()


def _text(article: Article) -> str:
    return " ".join([article.title, article.body, *article.questions])
