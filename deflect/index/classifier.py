"""The index's linear classifiers over embeddings: the main one (documents and tickets, with a "no
article" class) and the one over the article documents alone (``fit_article_classifier``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLASSIFIER_SAMPLE = 30000  # max documents the linear classifier is trained on
ARTICLE_CLASSIFIER_C = 1000.0  # inverse regularisation of the classifier over the article texts alone


@dataclass
class Classifier:
    """Multinomial logistic regression over embeddings; class -1 means "no article"."""

    coef: np.ndarray        # (classes, dim)
    intercept: np.ndarray   # (classes,)
    classes: np.ndarray     # article index per class, -1 = none

    def proba(self, vectors: np.ndarray, n_articles: int) -> np.ndarray:
        """(n, n_articles + 1) probabilities, the last column for "no article"."""
        logits = vectors @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        out = np.zeros((len(vectors), n_articles + 1), np.float32)
        cols = np.where(self.classes >= 0, self.classes, n_articles)
        out[:, cols] = p
        return out

    def without(self, articles: np.ndarray) -> Classifier:
        """The classifier with the classes of ``articles`` (deleted ones) dropped."""
        keep = ~np.isin(self.classes, articles) | (self.classes < 0)
        return Classifier(self.coef[keep], self.intercept[keep], self.classes[keep])


def classifier_sample(n: int, seed: int = 0) -> np.ndarray:
    """Rows the classifier is trained on: all, or a fixed random sample of CLASSIFIER_SAMPLE."""
    if n <= CLASSIFIER_SAMPLE:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, CLASSIFIER_SAMPLE, replace=False))


def fit_classifier(vectors: np.ndarray, targets: np.ndarray, seed: int = 0,
                   previous: Classifier | None = None) -> Classifier | None:
    """Logistic regression on (a sample of) the labelled documents; None if too few classes.
    ``previous`` warm-starts the fit (same objective, fewer iterations)."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    if len(np.unique(targets)) < 2:
        return None
    if len(targets) > CLASSIFIER_SAMPLE:
        pick = classifier_sample(len(targets), seed)
        vectors, targets = vectors[pick], targets[pick]
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    classes = np.unique(targets)
    # lead: class_weight balanced — articles with few questions and no tickets must not be outvoted (dev.jsonl)
    model = LogisticRegression(C=10.0, max_iter=300, tol=1e-3, class_weight="balanced")
    if previous is not None and len(classes) > 2:
        rows = {int(c): i for i, c in enumerate(previous.classes)}
        coef = np.zeros((len(classes), vectors.shape[1]), np.float64)
        intercept = np.zeros(len(classes), np.float64)
        for i, c in enumerate(classes):
            if int(c) in rows:
                coef[i], intercept[i] = previous.coef[rows[int(c)]], previous.intercept[rows[int(c)]]
        model.set_params(warm_start=True)
        model.coef_, model.intercept_ = coef, intercept
    # One BLAS thread: OpenBLAS' threaded level-1 calls inside L-BFGS made this fit 8x slower on
    # a busy 2-core machine (27.6 s against 3.4 s for 10k documents), with the same result.
    with threadpool_limits(1, user_api="blas"):
        model.fit(vectors, targets)
    return _as_classifier(model)


def _as_classifier(model) -> Classifier:
    """A fitted scikit-learn LogisticRegression as a ``Classifier`` (one row per class)."""
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # binary problem: sklearn keeps one row, the log-odds of the second class
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.array([0.0, intercept[0]])
    return Classifier(coef.astype(np.float32), intercept.astype(np.float32), model.classes_.astype(np.int32))


def fit_article_classifier(vectors: np.ndarray, articles: np.ndarray,
                           columns: np.ndarray | None = None) -> Classifier | None:
    """Logistic regression over the article documents alone: which article's own texts an inquiry
    is worded like. Unlike the main classifier it never sees a ticket, so an article with no ticket
    history is not outweighed by a sibling with a long one. Only ``columns`` of the vectors count
    (``embedder.multilingual_columns``: an inquiry in one language must find an article written in
    another); the returned classifier takes whole vectors. None with fewer than two articles."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    if len(np.unique(articles)) < 2:
        return None
    vectors = np.asarray(vectors, dtype=np.float32)
    columns = np.arange(vectors.shape[1]) if columns is None else np.asarray(columns)
    part = vectors[:, columns]
    norms = np.linalg.norm(part, axis=1)
    scale = float(np.median(norms)) or 1.0   # the part's share of a whole vector's length
    model = LogisticRegression(C=ARTICLE_CLASSIFIER_C, max_iter=300)
    with threadpool_limits(1, user_api="blas"):
        model.fit(part / np.maximum(norms, 1e-12)[:, None], articles)
    fitted = _as_classifier(model)
    full = np.zeros((len(fitted.coef), vectors.shape[1]), np.float32)
    full[:, columns] = fitted.coef / scale
    return Classifier(full, fitted.intercept, fitted.classes)
