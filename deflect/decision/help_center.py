"""Cold start: fit the answer / no-answer decision from the help center alone, with no ticket and no
labelled inquiry (``calibrate_help_center``).

The help center's own texts become self-supervised inquiries: an article's question variants, its
title, and sentences of its body. Each must find its own article -- judged by an engine whose index
lacks that very text (three folds, each without a third of the texts), since a text that is in the
index is found word for word and a decision fitted on that certainty answers nothing real. The same
inquiries are asked once more with their article hidden (its documents no neighbours, it is neither
a class nor a candidate): what a question looks like when the FAQ has no article for it. The
calibrator learns from both what a right answer and a no-article situation look like.
"""
from __future__ import annotations

import dataclasses
import re

import numpy as np

from deflect.decision.calibrator import WRONG_COST
from deflect.decision.fit import PartChoice, firsts_of, fit_decision
from deflect.engine import FEATURES, Engine
from deflect.errors import NotCalibratedError
from deflect.formats import Article
from deflect.index.ann import VectorIndex
from deflect.index.classifier import fit_classifier
from deflect.index.documents import DELETED, QUESTION, TITLE, is_article_doc
from deflect.labels import hard_labels
from deflect.store import Store
from deflect.text import markdown_to_text, text_hash

FOLDS = 3                  # engines judged on, each without a third of the self-supervised texts
QUESTIONS_PER_ARTICLE = 4  # question variants asked per article (the rest stay in every fold's index)
SENTENCES_PER_ARTICLE = 3  # body sentences asked per article
MIN_SENTENCE_WORDS = 5     # shorter body lines (headings, "Thanks!") are no question's equivalent
MAX_SENTENCE_CHARS = 300
PASSAGE_SHARE = 0.6        # of a body sentence's words asked (see ``part_of``)
MAX_INQUIRIES = 1500
# Per self-supervised inquiry asked as if its article did not exist: chosen on dev.jsonl of the bench
# cases with no history (banking77, xsid_de, xquad_de), see scripts/bench_coldstart.py.
HIDDEN_SHARE = 1.0
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclasses.dataclass
class Inquiry:
    """A help-center text asked as if a customer had written it."""

    article: str     # the article it must find
    text: str
    kind: str        # "question", "title" or "passage"
    position: int    # its own document in the index (left out while it is judged), -1 = none


def body_sentences(article: Article) -> list[str]:
    """Sentences of an article's body that read like a statement a question could be about."""
    title = article.title.rstrip("…. ").lower()
    out = []
    for part in _SENTENCE_END.split(markdown_to_text(article.body)):
        part = part.strip()
        if len(part.split()) >= MIN_SENTENCE_WORDS and not part.lower().startswith(title[:40]):
            out.append(part[:MAX_SENTENCE_CHARS])
    return list(dict.fromkeys(out))


def part_of(sentence: str, rng: np.random.Generator, share: float = PASSAGE_SHARE) -> str:
    """A stretch of ``share`` of a sentence's words (at least ``MIN_SENTENCE_WORDS``): a question about
    a passage names some of its words, never the whole sentence, which the index holds word for word."""
    words = sentence.split()
    n = max(MIN_SENTENCE_WORDS, int(round(share * len(words))))
    if n >= len(words):
        return sentence
    start = int(rng.integers(len(words) - n + 1))
    return " ".join(words[start:start + n])


def self_supervised_inquiries(engine: Engine, seed: int = 0, store: Store | None = None) -> list[Inquiry]:
    """Question variants, titles and body sentences of the live articles, each with the index
    position of its own document (-1 for body sentences, which are no document of their own). A
    title is asked only where the article keeps other documents."""
    b = engine.bundle
    rng = np.random.default_rng(seed)
    positions = b.article_positions
    where = {(int(b.kind[p]), str(b.ref[p]), b.hashes[p]): int(p) for p in positions}
    docs_of: dict[str, int] = {}
    for p in positions:
        docs_of[str(b.ref[p])] = docs_of.get(str(b.ref[p]), 0) + 1
    out: list[Inquiry] = []
    for article in (store or engine.store).articles():
        if article.id not in docs_of:
            continue
        questions = [q for q in dict.fromkeys(article.questions) if q and q != article.title]
        for q in rng.permutation(questions)[:QUESTIONS_PER_ARTICLE] if questions else []:
            out.append(Inquiry(article.id, str(q), "question", where.get((QUESTION, article.id, text_hash(q)), -1)))
        if docs_of[article.id] > 1:
            out.append(Inquiry(article.id, article.title, "title",
                               where.get((TITLE, article.id, text_hash(article.title)), -1)))
        sentences = body_sentences(article)
        for s in rng.permutation(sentences)[:SENTENCES_PER_ARTICLE] if sentences else []:
            out.append(Inquiry(article.id, part_of(str(s), rng), "passage", -1))
    if len(out) > MAX_INQUIRIES:
        out = [out[i] for i in np.sort(rng.choice(len(out), MAX_INQUIRIES, replace=False))]
    return out


def engine_without(engine: Engine, positions: np.ndarray, store: Store | None = None) -> Engine:
    """An engine over the same index less the documents at ``positions`` (not searched, not in
    either classifier, no article similarity): how the help center answers while those texts are
    missing from it. The engine's own index is left as it is."""
    b = engine.bundle
    embeddings = b.load_embeddings(engine.home.index_dir)
    if embeddings is None:
        raise NotCalibratedError("the index's saved embeddings cannot be read",
                                 hint="Rebuild the index with `deflect index --rebuild`.")
    gone = np.zeros(len(b.kind), bool)
    gone[np.asarray(positions, np.int64)] = True
    live = np.flatnonzero((b.kind != DELETED) & ~gone)
    vectors = np.asarray(embeddings[live], np.float32)
    kind, seed = b.kind.copy(), b.seed.copy()
    kind[gone], seed[gone] = DELETED, -1
    keep_articles = ~gone[b.article_positions]
    classifier = fit_classifier(vectors, hard_labels(b.labels[live], -1)) if b.classifier is not None else None
    reduced = dataclasses.replace(
        b, vectors=VectorIndex.build(vectors, live.astype(np.int64), kind="flat"), kind=kind, seed=seed,
        classifier=classifier, article_vectors=b.article_vectors[keep_articles], article_classifier=None,
        embeddings=None, embedding_files=[], saved_rows=0, manifest=dict(b.manifest), _emb_cache=None)
    return type(engine)(engine.home, store or engine.store, reduced, engine.embedder, None)


def judge_self_supervised(engine: Engine, inquiries: list[Inquiry], hidden_share: float = HIDDEN_SHARE,
                          folds: int = FOLDS, seed: int = 0,
                          store: Store | None = None, shares: dict | None = None) -> tuple[np.ndarray, list, list]:
    """Evidence features, the first articles ranked (id, score) and the expected article (None = as if it
    had no article) of the
    inquiries judged as new, fold by fold, and of a ``hidden_share`` of them asked again with their
    article hidden; ``shares``: the model parts' shares per query language to embed them with."""
    b = engine.bundle
    column = b.article_index()
    rng = np.random.default_rng(seed)
    vectors = engine.embed_queries([q.text for q in inquiries], shares if shares is not None else {})
    fold = np.zeros(len(inquiries), np.int64)   # an article's inquiries spread over the folds
    seen: dict[str, int] = {}
    for i, q in enumerate(inquiries):
        fold[i] = seen.get(q.article, int(rng.integers(folds))) % folds
        seen[q.article] = fold[i] + 1
    own_docs = {a: np.flatnonzero((b.ref == a) & is_article_doc(b.kind)) for a in seen}
    asked_hidden = rng.random(len(inquiries)) < hidden_share
    features, ranked, expected = [], [], []
    for f in range(folds):
        mine = np.flatnonzero(fold == f)
        if not len(mine):
            continue
        held = np.array([inquiries[i].position for i in mine if inquiries[i].position >= 0], np.int64)
        judge = engine_without(engine, held, store) if len(held) else engine
        feats, tops = judge.judge_top(vectors[mine])
        features.append(feats)
        ranked += tops
        expected += [inquiries[i].article for i in mine]
        by_article: dict[str, list[int]] = {}
        for i in mine[asked_hidden[mine]]:
            by_article.setdefault(inquiries[i].article, []).append(int(i))
        for article, items in by_article.items():
            feats, tops = judge.judge_top(vectors[items], [own_docs[article]] * len(items), None, column[article])
            features.append(feats)
            ranked += tops
            expected += [None] * len(items)
    return (np.concatenate(features) if features else np.zeros((0, len(FEATURES)), np.float32)), ranked, expected


def calibrate_help_center(engine: Engine, wrong_cost: float = WRONG_COST, seed: int = 0,
                          hidden_share: float = HIDDEN_SHARE, store: Store | None = None,
                          part_weights: PartChoice | None = None) -> dict:
    """Fit the decision from the help center's own texts (see the module docstring); ``store``: the
    connection to read articles from and save to (default: the engine's); ``part_weights`` as in
    ``deflect.decision.fit.calibrate_labelled``."""
    inquiries = self_supervised_inquiries(engine, seed, store)
    articles = {q.article for q in inquiries}
    if len(articles) < 2:
        raise NotCalibratedError("the help center has fewer than two articles with texts to calibrate from",
                                 hint="Add articles (and run `deflect index`), or pass a labelled set.")
    features, ranked, expected = judge_self_supervised(engine, inquiries, hidden_share, seed=seed, store=store,
                                                       shares=dict(part_weights[0]) if part_weights else {})
    kinds = {k: sum(q.kind == k for q in inquiries) for k in ("question", "title", "passage")}
    return fit_decision(engine, features, firsts_of(ranked), expected, "help center", wrong_cost,
                        {"articles": len(articles), **{f"{k}s": n for k, n in kinds.items()},
                         "hidden": sum(e is None for e in expected)}, store, ranked=ranked,
                        part_weights=part_weights)
