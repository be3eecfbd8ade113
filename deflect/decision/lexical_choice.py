"""Learning the weight of the word-match (lexical) evidence (``deflect.index.lexical_weights``) from a help
center's own data, per query language, when it is calibrated.

The questions are the customers' own words: labelled inquiries (a calibration file) and tickets linked to
an article. Each must find its own article as the engine ranks the articles for it (its own document no
neighbour), with the word-match evidence added at each weight of ``GRID`` (the evidence only adds to the
ranking, so the ranking without it is computed once and each weight is a sum). Per query language the
weight with the best mean reciprocal rank of the own article wins -- where the language has at least
``MIN_SAMPLES`` questions over at least ``MIN_ARTICLES`` articles and the weight beats the one that
applies otherwise (the ``lexical_weight`` setting, default 0) by ``MIN_GAIN`` and on clearly more
questions than it loses on (a sign test); else that language keeps the setting.

The self-supervised questions of the cold start (question variants, titles, parts of body sentences) are
never asked here: the word-match index holds each of them word for word in its own article (title,
variants and body are what it indexes), so every one of them would find its article by its words and the
choice would favour word matching whatever it does for real customers' questions. A help center with no
labelled file and too few linked tickets therefore keeps the setting.
"""
from __future__ import annotations

import numpy as np

from deflect.decision.part_choice import (
    MAX_PER_LANGUAGE,
    MIN_ARTICLES,
    MIN_GAIN,
    MIN_SAMPLES,
    RANKED,
    clearly_better,
    judged_questions,
    usual_vectors,
)
from deflect.engine import Engine
from deflect.formats import Inquiry
from deflect.index.lexical_weights import GRID, LexicalWeights
from deflect.index.part_weights import Weights, query_language, reweighted
from deflect.store import Store

CHUNK = 512   # questions scored at once


def learn_lexical_weights(engine: Engine, labelled: list[Inquiry] | None = None, store: Store | None = None,
                          part_weights: Weights | None = None, seed: int = 0) -> tuple[LexicalWeights, dict]:
    """The word-match weight per query language that beats the setting (``{}``: none does, or nothing
    to learn from) and a report per language (questions, articles, weight, mean reciprocal rank with it
    and with the setting) for the calibration's report. ``part_weights``: the model parts' shares the
    queries are embedded with (learnt first, ``deflect.decision.part_choice``)."""
    b = engine.bundle
    if b is None or not len(b.article_positions) or not hasattr(engine, "ranking_and_words"):
        return {}, {}
    texts, own, exclude = judged_questions(engine, labelled, store, seed, self_supervised=False)
    if not texts:
        return {}, {}
    vectors = usual_vectors(engine, texts, exclude)
    embedder = engine.embedder
    if len(getattr(embedder, "parts", [])) > 1:
        vectors = reweighted(vectors, texts, part_weights, embedder.part_dims())
    languages = np.array([query_language(t) for t in texts], dtype=object)
    known = {a.id for a in (store or engine.store).articles()}
    live = np.array([a in known for a in b.article_ids[:b.n_articles]], bool)
    setting = float(getattr(engine, "lexical_weight", 0.0))
    candidates = sorted(set(GRID) | {setting})
    weights: LexicalWeights = {}
    report: dict = {}
    for language in sorted(set(languages.tolist())):
        mine = np.flatnonzero(languages == language)[:MAX_PER_LANGUAGE]
        entry: dict = {"samples": int(len(mine)), "articles": len(set(own[mine].tolist())), "setting": setting}
        if len(mine) < MIN_SAMPLES or entry["articles"] < MIN_ARTICLES:
            report[language] = entry | {"weight": None, "why": "too few labelled questions and linked tickets"}
            continue
        rr = _own_article_rr(engine, vectors[mine], [texts[i] for i in mine], own[mine], exclude[mine], candidates,
                             live)
        base = candidates.index(setting)
        chosen = _choice(rr, candidates, base)
        mrr = rr.mean(axis=1)
        entry |= {"mrr": round(float(mrr[chosen]), 4), "mrr_setting": round(float(mrr[base]), 4),
                  "weight": candidates[chosen] if chosen != base else None}
        report[language] = entry
        if chosen != base:
            weights[language] = candidates[chosen]
    return weights, report


def _own_article_rr(engine: Engine, vectors: np.ndarray, texts: list[str], own: np.ndarray, exclude: np.ndarray,
                    candidates: list[float], live: np.ndarray) -> np.ndarray:
    """(candidates, questions) the reciprocal rank of each question's own article (0 beyond ``RANKED``)
    among the live articles, as the engine ranks them with each word-match weight."""
    out = np.zeros((len(candidates), len(texts)))
    for lo in range(0, len(texts), CHUNK):
        rows = np.arange(lo, min(len(texts), lo + CHUNK))
        exclude_rows = [[int(exclude[i])] if exclude[i] >= 0 else None for i in rows]
        ranking, words = engine.ranking_and_words(vectors[rows], exclude_rows, [texts[i] for i in rows])
        n = min(ranking.shape[1], len(live))
        ranking, words = np.where(live[None, :n], ranking[:, :n], -np.inf), words[:, :n]
        mine = own[rows]
        for c, weight in enumerate(candidates):
            scored = ranking + weight * words
            at_own = scored[np.arange(len(rows)), mine]
            rank = 1 + np.sum(scored > at_own[:, None], axis=1)
            out[c, rows] = np.where((rank <= RANKED) & np.isfinite(at_own), 1.0 / rank, 0.0)
    return out


def _choice(rr: np.ndarray, candidates: list[float], base: int) -> int:
    """The weight to use (``base``: the setting's) from each weight's reciprocal ranks per question: the
    best of those that beat the setting's by ``MIN_GAIN`` in the mean and on clearly more questions than
    they lose on; on a tie the smaller weight (a word match weighted more also moves the confidence)."""
    mrr = rr.mean(axis=1)
    better = [i for i in range(len(candidates))
              if i != base and mrr[i] - mrr[base] >= MIN_GAIN and clearly_better(rr[i], rr[base])]
    return max(better, key=lambda i: (round(float(mrr[i]), 4), -candidates[i])) if better else base
