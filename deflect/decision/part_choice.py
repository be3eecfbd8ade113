"""Learning the query-side shares of the model's parts (``deflect.index.part_weights``) from a help
center's own data, per query language, when it is calibrated.

The questions asked are the help center's own: labelled inquiries (a calibration file), tickets linked to
an article, and the self-supervised inquiries of the cold start (question variants, titles, parts of body
sentences; ``deflect.decision.help_center``). Each must find its own article as the engine ranks the
articles for it, with the query weighted by each candidate's shares (the usual vectors reweighted: no
model runs per candidate). A question that is itself a document of the index (a question variant, a
title, a linked ticket) is judged fold by fold by an engine without it (``judging_engines``): not only
no neighbour, but in neither classifier either. A classifier trained on the very text finds its
article with any shares, which made every part look alike (banking77 with no history: the mean
reciprocal rank of the own article 0.865 with equal shares and 0.906 with MiniLM at 0.75 when judged
without the texts, against a tie when the classifiers knew them). Per query language the shares on a small
grid with the best mean reciprocal rank of the own article win -- where a language has at least
``MIN_SAMPLES`` questions over at least ``MIN_ARTICLES`` articles and the best shares beat equal ones by
``MIN_GAIN`` and on clearly more questions than they lose on (a sign test); else the parts count
alike. A part with share 0 is not run for that language's queries.

Questions of one language that find articles of the same language say nothing about questions that must
find an article in another language, which only the multilingual parts can: where more than
``FOREIGN_ARTICLES`` of the help center's articles are in another language than the questions and too
few of the questions asked are about such articles, an English-only part may count less, never more.
"""
from __future__ import annotations

import numpy as np

from deflect.decision.help_center import FOLDS, engine_without, self_supervised_inquiries
from deflect.embedder import is_english_only
from deflect.engine import Engine
from deflect.errors import NotCalibratedError
from deflect.formats import Inquiry
from deflect.index.documents import TICKET, ticket_text
from deflect.index.part_weights import Weights, grid, query_language, query_vectors, reweighted
from deflect.store import Store

MIN_SAMPLES = 100      # questions of one language needed to learn its shares
MIN_ARTICLES = 5       # ... about at least this many articles
MIN_GAIN = 0.01        # mean reciprocal rank the best shares must add over equal ones
MAX_TICKETS = 1000     # linked tickets asked (a random sample of them)
MAX_PER_LANGUAGE = 2000
RANKED = 10            # articles ranked per question (an own article further down counts 0)
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
    texts, own, exclude = judged_questions(engine, labelled, store, seed)
    if not texts:
        return {}, {}
    vectors = usual_vectors(engine, texts, exclude)
    judges = judging_engines(engine, own, exclude, store, seed)
    lexical = getattr(engine, "lexical_weights", None)
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
        mine_texts = [texts[i] for i in mine]
        rr = np.array([_own_article_rr(judges, reweighted(vectors[mine], mine_texts, {language: c}, dims),
                                       mine_texts, own[mine], exclude[mine], mine, lexical) for c in candidates])
        mrr = rr.mean(axis=1)
        chosen = _choice(rr, candidates)
        entry |= {"mrr": round(float(mrr[chosen]), 4), "mrr_equal": round(float(mrr[0]), 4),
                  "shares": list(candidates[chosen]) if chosen else None}
        report[language] = entry
        if chosen:
            weights[language] = candidates[chosen]
    return weights, report


def usual_vectors(engine: Engine, texts: list[str], exclude: np.ndarray) -> np.ndarray:
    """The usual (equal-share) query vectors of questions: their own document's saved vector where they
    have one (``exclude`` >= 0), else embedded."""
    embedder, b = engine.embedder, engine.bundle
    vectors = np.zeros((len(texts), embedder.dim), np.float32)
    stored = np.flatnonzero(exclude >= 0)   # their own document's vector is the text's usual vector
    saved = b.gather_embeddings(engine.home.index_dir, exclude[stored]) if len(stored) else None
    if saved is not None:
        vectors[stored] = np.asarray(saved, np.float32)
    fresh = np.flatnonzero(exclude < 0) if saved is not None else np.arange(len(texts))
    for lo in range(0, len(fresh), 256):
        rows = fresh[lo:lo + 256]
        vectors[rows] = query_vectors(embedder, [texts[i] for i in rows], None)
    return vectors


def judging_engines(engine: Engine, own: np.ndarray, exclude: np.ndarray, store: Store | None,
                    seed: int, folds: int = FOLDS) -> list[tuple[Engine, np.ndarray]]:
    """(engine, questions it judges) pairs that together judge every question once: the questions with a
    document of their own (``exclude`` >= 0) in ``folds`` folds, an article's questions spread over them,
    each judged by an engine without its fold's documents (``engine_without``); the others (labelled
    inquiries, body sentences) by the engine itself."""
    rng = np.random.default_rng(seed)
    fold = np.full(len(own), -1, np.int64)
    seen: dict[int, int] = {}
    for i in np.flatnonzero(exclude >= 0):
        fold[i] = seen.get(int(own[i]), int(rng.integers(folds))) % folds
        seen[int(own[i])] = int(fold[i]) + 1
    pairs = [(engine, np.flatnonzero(fold < 0))]
    for f in range(folds):
        mine = np.flatnonzero(fold == f)
        if not len(mine):
            continue
        try:
            pairs.append((engine_without(engine, exclude[mine], store), mine))
        except NotCalibratedError:   # no saved embeddings to leave the fold out of: judged as they are
            return [(engine, np.arange(len(own)))]
    return [(judge, rows) for judge, rows in pairs if len(rows)]


def _own_article_rr(judges: list[tuple[Engine, np.ndarray]], vectors: np.ndarray, texts: list[str],
                    own: np.ndarray, exclude: np.ndarray, asked: np.ndarray, lexical: dict | None,
                    chunk: int = 512) -> np.ndarray:
    """The reciprocal rank of each question's own article (0 beyond ``RANKED``) as the engine ranks the
    articles for it, its own document (if any) left out (``judging_engines``). ``asked``: the questions'
    numbers among those the judges were made for (row i of ``vectors`` is question ``asked[i]``); ``lexical``:
    the word-match weights of the engine being calibrated (the fold engines have no calibration)."""
    out = np.zeros(len(texts))
    where = {int(q): i for i, q in enumerate(asked)}
    for judge, questions in judges:
        rows = np.array([where[int(q)] for q in questions if int(q) in where], np.int64)
        ids = judge.bundle.article_ids
        for lo in range(0, len(rows), chunk):
            part = rows[lo:lo + chunk]
            _, ranked = judge.judge_top(vectors[part], [[int(exclude[i])] if exclude[i] >= 0 else None for i in part],
                                        k=RANKED, texts=[texts[i] for i in part],
                                        lexical=lexical)
            for i, top in zip(part, ranked, strict=True):
                found = [a for a, _ in top]
                out[i] = 1.0 / (found.index(ids[own[i]]) + 1) if ids[own[i]] in found else 0.0
    return out


def _choice(rr: np.ndarray, candidates: list[tuple[float, ...]]) -> int:
    """The candidate shares to use (0: equal ones, the first) from each candidate's reciprocal ranks per
    question: the best of those that beat equal shares by ``MIN_GAIN`` in the mean and on clearly more
    questions than they lose on (``clearly_better``); else equal shares. Shares that merely tie with
    equal ones are not taken even where they would leave a part out: on a help center's few questions a
    tie says little, and a part dropped wrongly costs every query (xsid_de with no history: 48 questions
    tied MiniLM alone with equal shares for German questions)."""
    mrr = rr.mean(axis=1)
    better = [i for i in range(1, len(candidates)) if mrr[i] - mrr[0] >= MIN_GAIN and clearly_better(rr[i], rr[0])]
    # on a tie the shares that leave more parts out (not run: less model time)
    return max(better, key=lambda i: (round(float(mrr[i]), 4), candidates[i].count(0.0))) if better else 0


def clearly_better(rr: np.ndarray, equal: np.ndarray) -> bool:
    """More questions ranked better than worse by two standard deviations of a fair coin (a sign test):
    a few dozen questions tell little apart, and a part weighted wrongly costs every query."""
    wins, losses = int(np.sum(rr > equal)), int(np.sum(rr < equal))
    return wins - losses >= 2.0 * np.sqrt(max(1, wins + losses))


def _article_languages(engine: Engine, store: Store | None) -> dict[int, str | None]:
    """Article column -> its language (None where unknown), for the articles of the index."""
    column = engine.bundle.article_index()
    return {column[a.id]: (a.language or None) for a in (store or engine.store).articles() if a.id in column}


def judged_questions(engine: Engine, labelled: list[Inquiry] | None, store: Store | None, seed: int,
                     self_supervised: bool = True) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Texts, own article column and own document position (-1: none, the text is embedded) of every
    question asked: the labelled ones, a sample of the linked tickets and (``self_supervised``) the help
    center's own texts."""
    b = engine.bundle
    column = b.article_index()
    texts: list[str] = []
    own: list[int] = []
    exclude: list[int] = []

    def add(text: str, article: str | None, position: int) -> None:
        if article in column and text.strip():
            texts.append(text)
            own.append(column[article])
            exclude.append(position)

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
    for q in self_supervised_inquiries(engine, seed, store) if self_supervised else []:
        add(q.text, q.article, q.position)
    return texts, np.array(own, np.int64), np.array(exclude, np.int64)
