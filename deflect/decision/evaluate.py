"""Replay labelled inquiries through the engine: ranking quality and what the decision would deflect."""
from __future__ import annotations

import numpy as np

from deflect.formats import Inquiry


def auroc(scores: np.ndarray, positives: np.ndarray) -> float | None:
    """Area under the ROC curve (ties count half); None when one class is missing."""
    from sklearn.metrics import roc_auc_score

    positives = np.asarray(positives, bool)
    if positives.all() or not positives.any():
        return None
    return float(roc_auc_score(positives, scores))


def evaluate(inquiries: list[Inquiry], suggestions: list) -> dict:
    """Metrics of suggestions against ``expected_article`` (None = not covered by the FAQ).

    top1/top3/mrr over covered inquiries; auroc of the confidence separating covered from
    uncovered; deflected / wrong_answer as fractions of covered inquiries, answered_uncovered as a
    fraction of uncovered ones.
    """
    covered = np.array([q.expected_article is not None for q in inquiries], bool)
    ranks = []
    for q, s in zip(inquiries, suggestions):
        ids = [a.id for a in s.articles]
        ranks.append(ids.index(q.expected_article) + 1 if q.expected_article in ids else 0)
    ranks = np.array(ranks)
    answered = np.array([s.decision == "answer" for s in suggestions], bool)
    confidence = np.array([s.confidence for s in suggestions], float)
    right_first = ranks == 1
    n_cov, n_unc = int(covered.sum()), int((~covered).sum())

    def frac(mask: np.ndarray, base: np.ndarray, n: int) -> float | None:
        return round(float((mask & base).sum() / n), 4) if n else None

    return {
        "inquiries": len(inquiries), "covered": n_cov, "uncovered": n_unc,
        "top1": frac(right_first, covered, n_cov),
        "top3": frac((ranks >= 1) & (ranks <= 3), covered, n_cov),
        "mrr": round(float(np.where(ranks[covered] > 0, 1.0 / np.maximum(ranks[covered], 1), 0).mean()), 4)
        if n_cov else None,
        "auroc": None if (a := auroc(confidence, covered)) is None else round(a, 4),
        "deflected": frac(answered & right_first, covered, n_cov),
        "wrong_answer": frac(answered & ~right_first, covered, n_cov),
        "answered_uncovered": frac(answered, ~covered, n_unc),
        "answer_rate": round(float(answered.mean()), 4) if len(answered) else None,
    }
