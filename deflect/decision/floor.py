"""The widget's three answers, and the relevance floor between the second and the third.

- ``answer``: the calibrated confidence reaches the answer threshold; the customer is shown the first
  article, and the second too when the two are nearly tied.
- ``suggest``: not confident, but probably relevant: "these articles might help", up to three, with the
  way to a human beside them.
- ``no_answer``: nothing relevant; said honestly, with the way to a human.

"Probably relevant" is a second calibrated probability: that the right article is among the articles
shown (``RelevanceFloor``, a logistic model over the same evidence features as the confidence), and a
floor on it fitted on the calibration data: among the inquiries that are not answered, showing
candidates gains when the right one is among them and costs ``SUGGEST_COST`` when it is not (the
customer read a few titles before taking the way to a human; far less than a wrong answer, and less
than the contact a right candidate saves: candidates are shown where at least one time in three the
right article is among them). Showing them is also what lets customers' votes reach an inquiry
deflect is unsure of: nobody votes on "no answer". The floor
is stored with the calibration; ``DEFLECT_SUGGEST_FLOOR`` moves it. A suggestion also needs its first
article to be about as similar as right ones were in calibration (the similarity guard, its own for
inquiries in another language than that article). Without a fitted floor the
confidence (a lower bound of the probability that the right article is among several) stands in,
and the floor is ``DEFAULT_FLOOR_SHARE`` of the answer threshold.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from deflect.decision.missing import known_or_mean

DECISIONS = ("answer", "suggest", "no_answer")
SUGGESTED = 3               # at most this many articles "might help"
NEAR_TIE = 0.85             # an answer shows the second article too when its score is this share of the first's
RELATED = 0.5               # a suggested article's score is at least this share of the first's
SUGGEST_COST = 0.5          # showing candidates none of which is right, against one shown with the right one
DEFAULT_FLOOR_SHARE = 0.5   # no fitted floor: suggest from this share of the answer threshold
MIN_ROWS = 20               # fewer calibration rows (or only one class): no floor is fitted
# Calibration rows are questions of the help center's own domain, so the logistic model never sees a
# question about something else entirely (a cake recipe on a newspaper's help page) and extrapolates.
# A suggestion therefore also needs its best article to be at least as similar as the right article is
# in all but this share of the calibration rows where it was found.
SIMILARITY_QUANTILE = 0.02
# A question in another language than its first article is less similar to it than one in the article's
# own language (the model's multilingual part maps languages near each other, not onto each other; an
# English-only part maps German text elsewhere), so a guard learnt on rows nearly all in their article's
# language keeps out right cross-language questions. The calibration rows in another language than their
# first article therefore get a guard of their own, the same quantile of their own similarities, and the
# rows in their article's language one of theirs. With n such rows found, their quantile is about the
# smallest of them, and the chance that it keeps out more than half of the right cross-language questions
# is (1/2)^n: under 5% from 5 rows on. With fewer, the pooled guard applies to every row.
MIN_CROSS_LANGUAGE_ROWS = 5


def shown_count(decision: str, scores: Sequence[float]) -> int:
    """How many of the ranked articles (their ranking ``scores``, best first) the customer is shown."""
    if decision == "no_answer" or not len(scores):
        return 0
    best = max(float(scores[0]), 1e-9)
    if decision == "answer":
        return 2 if len(scores) > 1 and float(scores[1]) >= NEAR_TIE * best else 1
    return sum(1 for i, s in enumerate(scores[:SUGGESTED]) if i == 0 or float(s) >= RELATED * best)


def decide(confidence: float, threshold: float, relevance: float, floor: float, has_articles: bool) -> str:
    """One of ``DECISIONS``: the answer when confident, else a suggestion when relevant enough."""
    if not has_articles:
        return "no_answer"
    if confidence >= threshold:
        return "answer"
    return "suggest" if relevance >= floor else "no_answer"


class RelevanceFloor:
    """P(the right article is among those shown) from the evidence features, and the floor on it."""

    def __init__(self, cost: float = SUGGEST_COST, regularisation: float = 1.0):
        self.cost = cost
        self.regularisation = regularisation

    def fit(self, features: np.ndarray, found: np.ndarray, answered: np.ndarray,
            similarity_column: int | None = None, cross_language: np.ndarray | None = None,
            confidence: np.ndarray | None = None) -> RelevanceFloor:
        """``found[i]``: the right article is among those a suggestion would show (False for uncovered
        inquiries); ``answered[i]``: the inquiry is answered anyway (the floor is chosen among the rest);
        ``similarity_column``: the feature holding the best article's similarity (see SIMILARITY_QUANTILE);
        ``cross_language[i]``: the inquiry is in another language than its first article (see
        MIN_CROSS_LANGUAGE_ROWS; None: not known, one guard for all); ``confidence``: the answer model's
        (see ``predict_proba``)."""
        from sklearn.linear_model import LogisticRegression

        features = known_or_mean(np.asarray(features, np.float64))
        found, answered = np.asarray(found, bool), np.asarray(answered, bool)
        self.mean_ = features.mean(axis=0)
        self.scale_ = features.std(axis=0) + 1e-6
        model = LogisticRegression(C=self.regularisation, max_iter=1000, class_weight="balanced")
        model.fit((features - self.mean_) / self.scale_, found)
        self.coef_, self.intercept_ = model.coef_[0], float(model.intercept_[0])
        self.similarity_column_ = similarity_column
        self.min_similarity_, self.cross_language_min_similarity_ = None, None
        if similarity_column is not None:
            self._fit_guards(features[:, similarity_column], found, cross_language)
        rest = ~answered
        cross_rest = np.asarray(cross_language, bool)[rest] if cross_language is not None else None
        confidence_rest = np.asarray(confidence, np.float64)[rest] if confidence is not None else None
        self.floor_ = self._best_floor(self.predict_proba(features[rest], cross_rest, confidence_rest), found[rest])
        self.n_samples_ = int(len(found))
        return self

    def _fit_guards(self, similarity: np.ndarray, found: np.ndarray, cross_language: np.ndarray | None) -> None:
        """``min_similarity_`` (for rows in their first article's language; with too few found
        cross-language rows, or none known, for every row) and ``cross_language_min_similarity_`` (None:
        ``min_similarity_`` applies to cross-language rows too)."""
        cross = np.zeros(len(found), bool) if cross_language is None else np.asarray(cross_language, bool)
        same, other = similarity[found & ~cross], similarity[found & cross]
        if len(other) < MIN_CROSS_LANGUAGE_ROWS or not len(same):
            self.min_similarity_ = float(np.quantile(similarity[found], SIMILARITY_QUANTILE))
            return
        self.min_similarity_ = float(np.quantile(same, SIMILARITY_QUANTILE))
        self.cross_language_min_similarity_ = float(np.quantile(other, SIMILARITY_QUANTILE))

    def _best_floor(self, proba: np.ndarray, found: np.ndarray) -> float:
        """The floor that maximises found - cost x not found among the inquiries shown candidates;
        halfway to the next lower probability, so that tiny shifts don't flip decisions."""
        best_t, best_u = 1.01, 0.0
        for t in np.unique(proba):
            shown = proba >= t
            utility = np.sum(shown & found) - self.cost * np.sum(shown & ~found)
            if utility > best_u:
                best_t, best_u = float(t), float(utility)
        lower = proba[proba < best_t]
        return float((best_t + lower.max()) / 2) if len(lower) and best_t <= 1.0 else best_t

    def predict_proba(self, features: np.ndarray, cross_language: np.ndarray | None = None,
                      confidence: np.ndarray | None = None) -> np.ndarray:
        """P(the right article is among those shown); 0 where the best article is less similar than the
        guard (``cross_language[i]``: the inquiry is in another language than its first article; None:
        all in its language), but never below ``confidence`` (the answer model's, where given): the right
        article is among those shown at least as often as the first one is right, so a question the
        confidence calls likely enough (a new address written into the form was 0.70, its article a hair
        below the similarity guard) is shown its articles."""
        features = np.asarray(features, np.float64)
        # a floor saved before the engine had its last features knows only the first ones
        z = (known_or_mean(features[:, :len(self.coef_)], self.mean_) - self.mean_) / self.scale_
        with np.errstate(over="ignore"):   # far below the data: exp -> inf, p = 0 (the right limit)
            proba = 1.0 / (1.0 + np.exp(-(z @ self.coef_ + self.intercept_)))
        if self.min_similarity_ is not None:
            proba = np.where(features[:, self.similarity_column_] >= self.guards(cross_language, len(features)),
                             proba, 0.0)
        return proba if confidence is None else np.maximum(proba, np.asarray(confidence, np.float64))

    def guards(self, cross_language: np.ndarray | None, n: int) -> np.ndarray:
        """The similarity guard per row: the cross-language one where a row is in another language than
        its first article and such a guard was learnt, else ``min_similarity_``."""
        same = np.full(n, self.min_similarity_, np.float64)
        if cross_language is None or self.cross_language_min_similarity_ is None:
            return same
        return np.where(np.asarray(cross_language, bool), self.cross_language_min_similarity_, same)

    def to_dict(self) -> dict:
        return {"cost": self.cost, "regularisation": self.regularisation, "mean": self.mean_.tolist(),
                "scale": self.scale_.tolist(), "coef": self.coef_.tolist(), "intercept": self.intercept_,
                "floor": self.floor_, "n_samples": self.n_samples_,
                "similarity_column": self.similarity_column_, "min_similarity": self.min_similarity_,
                "cross_language_min_similarity": self.cross_language_min_similarity_}

    @classmethod
    def from_dict(cls, data: dict) -> RelevanceFloor:
        rel = cls(data.get("cost", SUGGEST_COST), data.get("regularisation", 1.0))
        rel.mean_, rel.scale_ = np.array(data["mean"]), np.array(data["scale"])
        rel.coef_, rel.intercept_ = np.array(data["coef"]), float(data["intercept"])
        rel.floor_, rel.n_samples_ = float(data["floor"]), int(data["n_samples"])
        rel.similarity_column_, rel.min_similarity_ = data.get("similarity_column"), data.get("min_similarity")
        rel.cross_language_min_similarity_ = data.get("cross_language_min_similarity")   # None: saved before it
        return rel


def fit_floor(features: np.ndarray, ranked: list[list[tuple[str, float]]], expected: Sequence[str | None],
              answered: np.ndarray, cost: float = SUGGEST_COST, similarity_column: int | None = None,
              cross_language: np.ndarray | None = None, confidence: np.ndarray | None = None) -> RelevanceFloor | None:
    """The relevance floor from calibration rows: their features, ranked articles (id, score; best first),
    expected article (None = not covered), whether the answer threshold answers them and whether they
    are in another language than their first article. None when the rows are too few or all alike
    (then the default floor applies)."""
    found = found_among_shown(ranked, expected)
    if len(found) < MIN_ROWS or found.all() or not found.any():
        return None
    return RelevanceFloor(cost).fit(features, found, answered, similarity_column, cross_language, confidence)


def relevance(floor: RelevanceFloor | None, features: np.ndarray, confidence: np.ndarray, threshold: float,
              override: float | None = None,
              cross_language: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """(P(the right article is among those shown) per row, the floor on it): the fitted model (never below
    the confidence) and floor, else the confidence and ``DEFAULT_FLOOR_SHARE`` of the answer threshold;
    ``override`` (the ``suggest_floor`` setting) replaces the floor; ``cross_language`` as in
    ``RelevanceFloor.predict_proba``."""
    if floor is not None:
        proba, value = floor.predict_proba(features, cross_language, confidence), floor.floor_
    else:
        proba, value = np.asarray(confidence, np.float64), DEFAULT_FLOOR_SHARE * threshold
    return proba, float(override) if override is not None else value


def found_among_shown(ranked: list[list[tuple[str, float]]], expected: Sequence[str | None]) -> np.ndarray:
    """Per row: its expected article is among the articles a suggestion would show."""
    return np.array([e is not None and e in [a for a, _ in r[:shown_count("suggest", [s for _, s in r])]]
                     for r, e in zip(ranked, expected, strict=True)], bool).reshape(len(expected))


def in_other_language(languages: Sequence[str | None], first_languages: Sequence[str | None]) -> np.ndarray:
    """Per row: its inquiry's language and its first article's are known and differ."""
    return np.array([lang is not None and first is not None and lang != first
                     for lang, first in zip(languages, first_languages, strict=True)], bool).reshape(len(languages))


def floor_report(floor: RelevanceFloor | None, features: np.ndarray, ranked: list[list[tuple[str, float]]] | None,
                 expected: Sequence[str | None], answered: np.ndarray,
                 cross_language: np.ndarray | None = None, confidence: np.ndarray | None = None) -> dict:
    """The relevance floor in the calibration report: its value, how often "might help" is shown, how
    often the right article is among the suggested ones then, and the similarity guards."""
    if floor is None or ranked is None:
        return {"suggest_floor": None}
    suggested = ~np.asarray(answered, bool) & (floor.predict_proba(features, cross_language, confidence)
                                               >= floor.floor_)
    found = found_among_shown(ranked, expected)
    guards = {"same_language": _rounded(floor.min_similarity_),
              "cross_language": _rounded(floor.cross_language_min_similarity_)}
    return {"suggest_floor": round(floor.floor_, 4), "suggest_rate": round(float(suggested.mean()), 4),
            "found_when_suggested": round(float(found[suggested].mean()), 4) if suggested.any() else None,
            "similarity_guard": guards}


def _rounded(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None
