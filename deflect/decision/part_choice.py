"""Learning the query-side shares of the model's parts (``deflect.index.part_weights``) from a help
center's own data, per query language, when it is calibrated.

The questions asked are the help center's own: labelled inquiries (a calibration file), tickets linked to
an article, and the self-supervised inquiries of the cold start (question variants, titles, parts of body
sentences; ``deflect.decision.help_center``). Each must find its own article, with its own text left out
of the index, among the articles ranked by their most similar document (article texts and linked
tickets). Per query language the shares on a small grid with the best mean reciprocal rank of the own
article win -- where a language has at least ``MIN_SAMPLES`` questions over at least ``MIN_ARTICLES``
articles and the best shares beat equal ones by ``MIN_GAIN``; else the parts count alike.

Questions of one language that find articles of the same language say nothing about questions that must
find an article in another language, which only the multilingual parts can: where more than
``FOREIGN_ARTICLES`` of the help center's articles are in another language than the questions and too
few of the questions asked are about such articles, an English-only part may count less, never more.
"""
from __future__ import annotations

import numpy as np

from deflect.decision.help_center import self_supervised_inquiries
from deflect.embedder import is_english_only
from deflect.engine import Engine
from deflect.formats import Inquiry
from deflect.index.documents import TICKET, is_article_doc, ticket_text
from deflect.index.part_weights import Weights, grid, own_article_ranks, query_language, query_vectors, unit_parts
from deflect.store import Store

MIN_SAMPLES = 40       # questions of one language needed to learn its shares
MIN_ARTICLES = 5       # ... about at least this many articles
MIN_GAIN = 0.01        # mean reciprocal rank the best shares must add over equal ones
MAX_TICKETS = 1000     # linked tickets asked (a random sample of them)
MAX_PER_LANGUAGE = 2000
FOREIGN_ARTICLES = 0.1  # share of articles in other languages from which cross-language questions matter


def learn_part_weights(engine: Engine, labelled: list[Inquiry] | None = None, store: Store | None = None,
                       seed: int = 0) -> tuple[Weights, dict]:
    """The shares per query language (``{}``: every part alike) and a report per language (samples,
    shares, mean reciprocal rank with them and with equal shares) for the calibration's report."""
    embedder = getattr(engine, "embedder", None)
    b = engine.bundle
    parts = list(getattr(embedder, "parts", []))
    if len(parts) < 2 or b is None or not len(b.article_positions):
        return {}, {}
    dims = embedder.part_dims()
    docs = np.flatnonzero((is_article_doc(b.kind) | (b.kind == TICKET)) & (b.seed >= 0))
    docs = docs[np.argsort(b.seed[docs], kind="stable")]
    stored = b.gather_embeddings(engine.home.index_dir, docs)
    if stored is None:
        return {}, {}
    doc_parts = unit_parts(stored, dims)
    row_of = {int(p): i for i, p in enumerate(docs)}
    texts, own, exclude, vectors = _samples(engine, labelled, store, seed, row_of, stored)
    if not texts:
        return {}, {}
    missing = [i for i, v in enumerate(vectors) if v is None]
    if missing:
        fresh = query_vectors(embedder, [texts[i] for i in missing], None)
        for i, v in zip(missing, fresh, strict=True):
            vectors[i] = v
    query_parts = unit_parts(np.stack(vectors), dims)
    languages = np.array([query_language(t) for t in texts], dtype=object)
    article_language = _article_languages(engine, store)
    weights: Weights = {}
    report: dict = {}
    for language in sorted(set(languages.tolist())):
        mine = np.flatnonzero(languages == language)[:MAX_PER_LANGUAGE]
        n_articles = len(set(own[mine].tolist()))
        entry: dict = {"samples": int(len(mine)), "articles": n_articles, "parts": parts}
        if len(mine) < MIN_SAMPLES or n_articles < MIN_ARTICLES:
            report[language] = entry | {"shares": None, "why": "too few questions to learn from"}
            continue
        candidates = grid(len(parts))
        foreign = np.mean([lang not in (None, language) for lang in article_language.values()])
        cross = np.mean([article_language.get(int(a)) not in (None, language) for a in own[mine]])
        if foreign > FOREIGN_ARTICLES and cross < foreign / 2:   # keep what finds the other languages' articles
            equal = 1.0 / len(parts)
            candidates = [c for c in candidates
                          if all(s <= equal + 1e-9 for s, p in zip(c, parts, strict=True) if is_english_only(p))]
            entry["cross_language"] = "English-only parts may not count more"
        ranks = own_article_ranks([q[mine] for q in query_parts], doc_parts, b.seed[docs], own[mine],
                                  exclude[mine], candidates)
        mrr = (1.0 / ranks).mean(axis=1)
        best = int(np.argmax(mrr))
        chosen = best if mrr[best] - mrr[0] >= MIN_GAIN else 0
        entry |= {"mrr": round(float(mrr[chosen]), 4), "mrr_equal": round(float(mrr[0]), 4),
                  "shares": list(candidates[chosen]) if chosen else None}
        report[language] = entry
        if chosen:
            weights[language] = candidates[chosen]
    return weights, report


def _article_languages(engine: Engine, store: Store | None) -> dict[int, str | None]:
    """Article column -> its language (None where unknown), for the articles of the index."""
    column = engine.bundle.article_index()
    return {column[a.id]: (a.language or None) for a in (store or engine.store).articles() if a.id in column}


def _samples(engine: Engine, labelled: list[Inquiry] | None, store: Store | None, seed: int,
             row_of: dict[int, int], stored: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray, list]:
    """Texts, own article column, excluded document row (-1 none) and stored vector (None: embed it)
    of every question asked."""
    b = engine.bundle
    column = b.article_index()
    texts: list[str] = []
    own: list[int] = []
    exclude: list[int] = []
    vectors: list = []

    def add(text: str, article: str | None, position: int) -> None:
        if article not in column or not text.strip():
            return
        row = row_of.get(position, -1) if position >= 0 else -1
        texts.append(text)
        own.append(column[article])
        exclude.append(row)
        vectors.append(np.asarray(stored[row], np.float32) if row >= 0 else None)

    for q in labelled or []:
        add(q.text, q.expected_article, -1)
    rng = np.random.default_rng(seed)
    linked = np.flatnonzero((b.kind == TICKET) & (b.seed >= 0))
    linked = np.sort(rng.permutation(linked)[:MAX_TICKETS])
    rows = (store or engine.store).get_tickets([str(b.ref[p]) for p in linked])
    for p in linked:
        row = rows.get(str(b.ref[p]))
        if row is not None:
            add(ticket_text(row), b.article_ids[b.seed[p]], int(p))
    for q in self_supervised_inquiries(engine, seed, store):
        add(q.text, q.article, q.position)
    return texts, np.array(own, np.int64), np.array(exclude, np.int64), vectors
