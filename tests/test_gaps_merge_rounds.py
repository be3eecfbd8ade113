"""A re-run of the gap report on unchanged data finds the same topics: the merge steps run until
nothing merges any more, so a re-run that starts from the stored topics has nothing left to merge."""
from __future__ import annotations

import numpy as np

from deflect.gaps.cluster import GapReport

DIM = 48
SUBJECTS = ["refund", "parcel", "invoice", "voucher", "subscription", "newsletter", "address", "payment",
            "delivery", "account", "printer", "warranty", "password", "coupon", "router", "ticket", "pin", "card",
            "screen", "battery", "login", "cheque", "loan", "transfer", "fee", "limit", "statement", "branch"]
ASKS = ["where can I find my {} please", "why do you need my {} now", "how do I change the {}", "my {} is wrong",
        "cancel {}", "is there a charge for {}"]


def help_desk(seed: int, n_covered: int = 14, n_uncovered: int = 8):
    """Questions each asked in 2-4 families of phrasings (a random spread apart, a random size, mostly
    worded with the question's subject): the first ``n_covered`` have an article (linked rows), the
    rest are asked by customers nobody answered. Returns (X, texts, article, hard, candidate, question per
    row)."""
    rng = np.random.default_rng(seed)
    blocks, texts, article, question = [], [], [], []
    for q in range(n_covered + n_uncovered):
        base = rng.normal(size=DIM)
        base /= np.linalg.norm(base)
        for _ in range(rng.integers(2, 5)):
            way = rng.normal(size=DIM)
            way /= np.linalg.norm(way)
            n = int(rng.integers(6, 30))
            V = base + rng.uniform(0.4, 1.1) * way + rng.normal(0, rng.uniform(0.03, 0.12), (n, DIM))
            blocks.append(V / np.linalg.norm(V, axis=1, keepdims=True))
            ask = ASKS[rng.integers(len(ASKS))]
            subject = SUBJECTS[q] if rng.random() < 0.7 else SUBJECTS[rng.integers(len(SUBJECTS))]
            texts += [f"{ask.format(subject)} {i}" for i in range(n)]
            article += [f"a{q}" if q < n_covered else None] * n
            question += [q] * n
    article = np.array(article, dtype=object)
    hard = np.array([a is not None for a in article])
    return np.vstack(blocks).astype(np.float32), texts, article, hard, ~hard, np.array(question)


def topics(est: GapReport) -> set[frozenset[int]]:
    return {frozenset(np.flatnonzero(est.labels_ == c).tolist()) for c in np.flatnonzero(est.is_gap_)}


def test_a_rerun_on_unchanged_data_keeps_every_topic():
    X, texts, article, hard, candidate, _ = help_desk(9)
    first = GapReport(min_size=5).fit(X, candidate, hard, article, hard=hard, texts=texts)
    assert first.merged_    # the merge pass had work to do
    # the re-run as the report runs it: each item stays in its stored topic, nothing is new
    gaps = [int(c) for c in np.flatnonzero(first.is_gap_)]
    labels = np.full(len(X), -1, np.int64)
    for stored, c in enumerate(gaps):
        labels[first.labels_ == c] = stored
    again = GapReport(min_size=5).fit(X, candidate, hard, article, hard=hard, labels=labels,
                                      centroids=first.centroids_[gaps], new=np.zeros(len(X), bool), texts=texts)
    assert again.merged_ == {}
    assert topics(again) == topics(first)
