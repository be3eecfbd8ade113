"""Word-form evidence: a linear classifier over the character n-grams of the customer's words.

Sentence embeddings place sibling questions close together: "Zeige alle Wecker" (show my alarms) and
"Lösche alle Wecker" (delete my alarms) differ in one verb, and both offline encoders put them nearer
to each other than to most phrasings of either question. Which words go with which article is in the
ticket history, though: a logistic regression over TF-IDF character n-grams (within word boundaries,
so German compounds and inflections share most of their n-grams) learns it from the same labelled
documents as the embedding classifier. The engine adds its probabilities to the ranking with a small
weight (``deflect.engine.LEXICAL_WEIGHT``); they do not enter the calibrated confidence.

scikit-learn conventions: configured in ``__init__``, ``fit`` returns self, learned attributes end in
``_``. Saved as plain arrays (no pickle) beside the other index arrays.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
from scipy import sparse

NGRAMS = (2, 5)
MAX_FEATURES = 2 ** 15   # n-grams kept (most frequent): 32k x 4 bytes per article class
PREFIX = "lex_"          # keys of the saved arrays


class LexicalClassifier:
    """Multinomial logistic regression over TF-IDF character n-grams; class -1 means "no article"."""

    def __init__(self, ngram_range: tuple[int, int] = NGRAMS, regularisation: float = 10.0,
                 max_features: int = MAX_FEATURES):
        self.ngram_range = tuple(ngram_range)
        self.regularisation = regularisation
        self.max_features = max_features

    def _vectorizer(self, vocabulary: dict[str, int] | None = None):
        from sklearn.feature_extraction.text import TfidfVectorizer
        return TfidfVectorizer(analyzer="char_wb", ngram_range=self.ngram_range, sublinear_tf=True,
                               max_features=None if vocabulary else self.max_features, vocabulary=vocabulary,
                               dtype=np.float32)

    def fit(self, texts: list[str], targets: np.ndarray) -> LexicalClassifier:
        """``targets[i]``: the article index of ``texts[i]``, -1 for "no article". Needs two classes."""
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits

        targets = np.asarray(targets)
        if len(np.unique(targets)) < 2:
            raise ValueError("the lexical classifier needs documents of at least two classes")
        self.vectorizer_ = self._vectorizer()
        X = self.vectorizer_.fit_transform(texts)
        # lead: same regularisation, class weights and stopping rule as the embedding classifier
        # (fit_classifier); tol 1e-3 halves the fit (banking77: 23 iterations, 3 s for 9,700 documents,
        # against 47 and 6 s at 1e-4) with the same rankings on banking77 dev and the xsid held-out tickets
        model = LogisticRegression(C=self.regularisation, max_iter=300, tol=1e-3, class_weight="balanced")
        with threadpool_limits(1, user_api="blas"):
            model.fit(X, targets)
        coef, intercept = model.coef_, model.intercept_
        if coef.shape[0] == 1:  # binary problem: sklearn keeps one row
            coef, intercept = np.vstack([-coef, coef]), np.array([-intercept[0], intercept[0]])
        self.coef_ = np.ascontiguousarray(coef, np.float32)
        self.intercept_ = intercept.astype(np.float32)
        self.classes_ = model.classes_.astype(np.int32)
        return self

    def transform(self, texts: list[str]) -> sparse.csr_matrix:
        """The TF-IDF rows of ``texts``: the numbers of the fitted vectorizer's ``transform``, without its
        per-call checks and set-up (0.6 of 0.7 ms for one inquiry)."""
        if getattr(self, "_analyze", None) is None:
            self._analyze = self.vectorizer_.build_analyzer()
        vocabulary, idf = self.vectorizer_.vocabulary_, self.vectorizer_.idf_
        indptr, indices, values = [0], [], []
        for text in texts:
            counts = Counter(j for j in map(vocabulary.get, self._analyze(text)) if j is not None)
            cols = np.fromiter(counts.keys(), np.int64, len(counts))
            tf = np.fromiter(counts.values(), np.float64, len(counts))
            v = (1.0 + np.log(tf)) * idf[cols]          # sublinear tf times idf, then l2-normalised
            norm = np.sqrt(v @ v)
            indices.append(cols)
            values.append(v / norm if norm > 0 else v)
            indptr.append(indptr[-1] + len(cols))
        return sparse.csr_matrix((np.concatenate(values or [np.zeros(0)]).astype(np.float32),
                                  np.concatenate(indices or [np.zeros(0, np.int64)]), indptr),
                                 shape=(len(texts), len(idf)))

    def predict_proba(self, texts: list[str], n_articles: int) -> np.ndarray:
        """(n, n_articles + 1) probabilities, the last column for "no article"; classes of articles
        beyond ``n_articles`` are dropped."""
        if getattr(self, "_weights", None) is None:   # (features, classes): a row per n-gram, no copy per call
            self._weights = np.ascontiguousarray(self.coef_.T)
        logits = np.asarray(self.transform(texts) @ self._weights) + self.intercept_
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        out = np.zeros((len(texts), n_articles + 1), np.float32)
        keep = self.classes_ < n_articles
        cols = np.where(self.classes_ >= 0, self.classes_, n_articles)
        out[:, cols[keep]] = p[:, keep]
        return out

    def without(self, articles: np.ndarray) -> LexicalClassifier:
        """The classifier with the classes of ``articles`` (deleted ones) dropped."""
        keep = ~np.isin(self.classes_, articles) | (self.classes_ < 0)
        out = LexicalClassifier(self.ngram_range, self.regularisation, self.max_features)
        out.vectorizer_ = self.vectorizer_
        out.coef_, out.intercept_, out.classes_ = self.coef_[keep], self.intercept_[keep], self.classes_[keep]
        return out

    # -- persistence (plain arrays, saved with the index) --------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        terms = sorted(self.vectorizer_.vocabulary_, key=self.vectorizer_.vocabulary_.get)
        return {f"{PREFIX}terms": np.array(terms, dtype=str), f"{PREFIX}idf": self.vectorizer_.idf_,
                f"{PREFIX}coef": self.coef_, f"{PREFIX}intercept": self.intercept_,
                f"{PREFIX}classes": self.classes_,
                f"{PREFIX}params": np.array([*self.ngram_range, self.regularisation, self.max_features], float)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> LexicalClassifier | None:
        """The classifier saved by ``to_arrays`` (None when ``arrays`` hold none)."""
        if f"{PREFIX}coef" not in arrays:
            return None
        low, high, c, features = arrays[f"{PREFIX}params"].tolist()
        out = cls((int(low), int(high)), float(c), int(features))
        terms = arrays[f"{PREFIX}terms"].tolist()
        out.vectorizer_ = out._vectorizer({t: i for i, t in enumerate(terms)})
        out.vectorizer_.idf_ = arrays[f"{PREFIX}idf"]
        out.coef_ = arrays[f"{PREFIX}coef"]
        out.intercept_ = arrays[f"{PREFIX}intercept"]
        out.classes_ = arrays[f"{PREFIX}classes"]
        return out


def fit_lexical(texts: list[str], targets: np.ndarray) -> LexicalClassifier | None:
    """A fitted ``LexicalClassifier``, or None with fewer than two classes or no usable text."""
    if len(np.unique(targets)) < 2:
        return None
    try:
        return LexicalClassifier().fit(texts, targets)
    except ValueError:   # e.g. an empty vocabulary
        return None
