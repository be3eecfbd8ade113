"""On a help desk whose tickets name no article and whose articles have two documents each, the gap
report learns what one covered question looks like from the inquiries the engine answers: a question
asked in several families of phrasings is one topic there too."""
from __future__ import annotations

import numpy as np
from test_gaps_merge_rounds import help_desk

from deflect.gaps.cluster import GapReport


def unlinked(seed: int):
    """``help_desk`` with no linked ticket: two rows of each covered question are its article's documents,
    the engine answers the rest. Returns (X, texts, article, documents, covered, candidate, question)."""
    X, texts, article, covered, candidate, question = help_desk(seed)
    documents = np.zeros(len(X), bool)
    for a in sorted(set(article[covered])):
        documents[np.flatnonzero(article == a)[:2]] = True
    return X, texts, article, documents, covered, candidate, question


def gap_topics(est: GapReport, question: np.ndarray) -> list[set[int]]:
    return [set(question[est.labels_ == c].tolist()) for c in np.flatnonzero(est.is_gap_)]


def test_a_question_asked_in_families_is_one_topic_without_linked_tickets():
    splits, glued = [], 0
    for seed in range(6):
        X, texts, article, documents, covered, candidate, question = unlinked(seed)
        est = GapReport().fit(X, candidate, covered, article, hard=documents, texts=texts)
        assert est.merge_level_ is not None   # learnt from the answered inquiries
        topics = gap_topics(est, question)
        glued += sum(len(t) > 1 for t in topics)
        splits += [sum(q in t for t in topics) for q in set(question[candidate].tolist())]
    # 1.04 topics per question, none glued; before (the two documents of each article alone: nothing to
    # learn from) 1.44; with every covered row linked 1.0, and six pairs glued
    assert glued <= 1
    assert np.mean(splits) <= 1.2
