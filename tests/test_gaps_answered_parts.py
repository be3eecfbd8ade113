"""On a help desk whose tickets name no article and whose articles are a title and a question, the gap
report learns what one covered question looks like from the inquiries the engine answers: a question
asked in several families of phrasings is one topic there too."""
from __future__ import annotations

import numpy as np

from deflect.gaps.cluster import GapReport

DIM = 48
SUBJECTS = ["refund", "parcel", "invoice", "voucher", "subscription", "newsletter", "address", "payment",
            "delivery", "account", "printer", "warranty", "password", "coupon", "router", "ticket", "pin", "card",
            "screen", "battery", "login", "cheque"]
ASKS = ["where can I find my {} please", "why do you need my {} now", "how do I change the {}", "my {} is wrong",
        "cancel {}", "is there a charge for {}"]


def unlinked_desk(seed: int, n_covered: int = 14, n_uncovered: int = 8):
    """Questions each asked in 2-4 families of phrasings; the first ``n_covered`` have an article with a
    title and one question variant (two documents) and are answered by the engine, the rest nobody
    answered. Returns (X, texts, question per row, article, documents, answered, candidate)."""
    rng = np.random.default_rng(seed)
    blocks, texts, question, article, document = [], [], [], [], []
    for q in range(n_covered + n_uncovered):
        base = rng.normal(size=DIM)
        base /= np.linalg.norm(base)
        if q < n_covered:   # the article's title and question: close to the question's core
            V = base + rng.normal(0, 0.05, (2, DIM))
            blocks.append(V / np.linalg.norm(V, axis=1, keepdims=True))
            texts += [f"{SUBJECTS[q]} help", f"how does {SUBJECTS[q]} work"]
            question += [q, q]
            article += [f"a{q}"] * 2
            document += [True, True]
        for _ in range(rng.integers(2, 5)):
            way = rng.normal(size=DIM)
            way /= np.linalg.norm(way)
            n = int(rng.integers(6, 30))
            V = base + rng.uniform(0.4, 1.1) * way + rng.normal(0, rng.uniform(0.03, 0.12), (n, DIM))
            blocks.append(V / np.linalg.norm(V, axis=1, keepdims=True))
            ask = ASKS[rng.integers(len(ASKS))]
            subject = SUBJECTS[q] if rng.random() < 0.7 else SUBJECTS[rng.integers(len(SUBJECTS))]
            texts += [f"{ask.format(subject)} {i}" for i in range(n)]
            question += [q] * n
            article += [f"a{q}" if q < n_covered else None] * n
            document += [False] * n
    article = np.array(article, dtype=object)
    document = np.array(document)
    answered = (article != None) & ~document   # noqa: E711 (elementwise)
    return (np.vstack(blocks).astype(np.float32), texts, np.array(question), article, document, answered,
            article == None)   # noqa: E711


def test_a_question_asked_in_families_is_one_topic_without_linked_tickets():
    splits, glued = [], 0
    for seed in range(6):
        X, texts, question, article, document, answered, candidate = unlinked_desk(seed)
        est = GapReport().fit(X, candidate, document | answered, article, hard=document, texts=texts)
        assert est.merge_level_ is not None   # learnt from the answered inquiries
        found: dict[int, int] = {}
        for c in np.flatnonzero(est.is_gap_):
            asked = np.unique(question[est.labels_ == c])
            glued += len(asked) > 1
            for q in asked:
                found[int(q)] = found.get(int(q), 0) + 1
        splits += list(found.values())
    # a pair glued now and then, as where the same questions' tickets are linked (three in these six desks);
    # learnt from the two article documents alone, each question came out in 1.5 topics
    assert glued <= 1
    assert np.mean(splits) <= 1.3
