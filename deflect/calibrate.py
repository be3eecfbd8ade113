"""The answer / no-answer decision: a calibrated probability that the first article is right.

``Calibrator`` follows scikit-learn conventions: configured in ``__init__``, ``fit`` returns self,
learned attributes end in ``_``. It is a logistic regression over the engine's evidence features
(standardised), and a threshold that maximises ``right answers - wrong_cost * wrong answers`` on
the calibration set (a wrong answer sends a customer the wrong way; an honest "no answer" keeps
the way to a human open).
"""
from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

SETTING = "calibration"
# A customer sent to the wrong article (or answered when the FAQ has no answer) costs as much as three
# honest "no answer"s: chosen on banking77 dev.jsonl by repeated half splits (fit on one half, count on
# the other): cost 2 answered 5.7% of uncovered inquiries, cost 3 4.7%, for ~3 points less deflection.
WRONG_COST = 3.0
CALIBRATION_FOLDS = 3   # ticket-history calibration: classifiers fitted, each without a third of the tickets


class Calibrator:
    """Maps evidence features to P(first suggested article is right) and picks the threshold."""

    def __init__(self, wrong_cost: float = WRONG_COST, regularisation: float = 1.0):
        self.wrong_cost = wrong_cost
        self.regularisation = regularisation

    def fit(self, features: np.ndarray, correct: np.ndarray) -> Calibrator:
        """``correct[i]``: the engine's first article is the expected one (False for uncovered)."""
        from sklearn.linear_model import LogisticRegression

        features = np.asarray(features, np.float64)
        correct = np.asarray(correct, bool)
        self.mean_ = features.mean(axis=0)
        self.scale_ = features.std(axis=0) + 1e-6
        z = (features - self.mean_) / self.scale_
        if correct.all() or not correct.any():
            # One class only: no separation to learn; fall back to the raw top score.
            self.coef_ = np.zeros(features.shape[1])
            self.coef_[0] = 4.0 / self.scale_[0]
            self.intercept_ = float(-4.0 * (0.5 - self.mean_[0]) / self.scale_[0])
        else:
            model = LogisticRegression(C=self.regularisation, max_iter=1000, class_weight="balanced")
            model.fit(z, correct)
            self.coef_, self.intercept_ = model.coef_[0], float(model.intercept_[0])
        proba = self.predict_proba(features)
        self.threshold_ = self._best_threshold(proba, correct)
        self.n_samples_ = int(len(correct))
        self.fitted_at_ = datetime.now(UTC).replace(microsecond=0).isoformat()
        return self

    def _best_threshold(self, proba: np.ndarray, correct: np.ndarray) -> float:
        candidates = np.unique(np.r_[proba, 1.01])
        best_t, best_u = 1.01, 0.0
        for t in candidates:
            answered = proba >= t
            utility = np.sum(answered & correct) - self.wrong_cost * np.sum(answered & ~correct)
            if utility > best_u:
                best_t, best_u = float(t), float(utility)
        # Place the threshold halfway to the next lower score so that tiny shifts don't flip answers.
        lower = proba[proba < best_t]
        return float((best_t + lower.max()) / 2) if len(lower) and best_t <= 1.0 else best_t

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        z = (np.asarray(features, np.float64) - self.mean_) / self.scale_
        return 1.0 / (1.0 + np.exp(-(z @ self.coef_ + self.intercept_)))

    # -- persistence ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"wrong_cost": self.wrong_cost, "regularisation": self.regularisation,
                "mean": self.mean_.tolist(), "scale": self.scale_.tolist(), "coef": self.coef_.tolist(),
                "intercept": self.intercept_, "threshold": self.threshold_, "n_samples": self.n_samples_,
                "fitted_at": self.fitted_at_}

    @classmethod
    def from_dict(cls, data: dict) -> Calibrator:
        cal = cls(data.get("wrong_cost", WRONG_COST), data.get("regularisation", 1.0))
        cal.mean_, cal.scale_ = np.array(data["mean"]), np.array(data["scale"])
        cal.coef_, cal.intercept_ = np.array(data["coef"]), float(data["intercept"])
        cal.threshold_, cal.n_samples_ = float(data["threshold"]), int(data["n_samples"])
        cal.fitted_at_ = data.get("fitted_at")
        return cal

    def save(self, store, source: str, report: dict | None = None) -> None:
        store.set_setting(SETTING, {**self.to_dict(), "source": source, "report": report or {}})

    @classmethod
    def load(cls, store) -> Calibrator | None:
        data = store.get_setting(SETTING)
        return cls.from_dict(data) if data else None


def calibrate_labelled(deflector, inquiries: list, wrong_cost: float = WRONG_COST) -> dict:
    """Fit the decision on labelled inquiries (``expected_article`` None = not covered)."""
    from .errors import InputError

    if len(inquiries) < 4:
        raise InputError(f"only {len(inquiries)} labelled inquiries; calibration needs at least 4",
                         hint="Label more inquiries, or calibrate from the ticket history (no file).")
    suggestions = deflector.suggest_batch([q.text for q in inquiries], k=1)
    return _fit(deflector, suggestions, [q.expected_article for q in inquiries], "labelled", wrong_cost)


def calibrate_tickets(deflector, wrong_cost: float = WRONG_COST, limit: int = 3000, seed: int = 0) -> dict:
    """Fit the decision from the ticket history, each ticket judged without itself (left out of its
    neighbours and of the classifier, see ``_judged_as_new``): tickets linked to an article expect it;
    unlinked tickets whose neighbourhood holds no article evidence expect none."""
    from .errors import NotCalibratedError
    from .indexer import TICKET, ticket_text

    b = deflector.bundle
    mass = np.asarray(b.labels.sum(axis=1)).ravel()
    positions = np.flatnonzero(b.kind == TICKET)
    linked = positions[b.seed[positions] >= 0]
    uncovered = positions[(b.seed[positions] < 0) & (mass[positions] < 0.2)]
    if len(linked) < 2 or len(uncovered) < 2:
        raise NotCalibratedError(
            "the ticket history has too few linked and unlinked tickets to calibrate from",
            hint="Pass a labelled set: `deflect calibrate labelled.jsonl`.")
    rng = np.random.default_rng(seed)
    half = limit // 2
    picked = np.r_[rng.permutation(linked)[:half], rng.permutation(uncovered)[:half]]
    refs = [str(b.ref[p]) for p in picked]
    rows = deflector.store.get_tickets(refs)
    texts = [ticket_text(rows[r]) for r in refs]
    expected = [b.article_ids[b.seed[p]] if b.seed[p] >= 0 else None for p in picked]
    suggestions = _judged_as_new(deflector, texts, refs, picked)
    return _fit(deflector, suggestions, expected, "tickets", wrong_cost)


def _judged_as_new(deflector, texts: list[str], refs: list[str], positions: np.ndarray,
                   folds: int = CALIBRATION_FOLDS) -> list:
    """Suggestions for tickets of the index as if each were a new inquiry: left out of its own
    neighbours and, fold by fold, of the classifier's training rows. A classifier that was trained on
    a ticket is sure of it; a decision fitted on such certainty answered new inquiries, even ones from
    outside the help desk's domain, too boldly."""
    from .indexer import classifier_rows, fit_classifier

    b = deflector.bundle
    with deflector._lock:   # one embedding at a time (tokenizers are not thread-safe)
        vectors = deflector.embed(texts)
    rows = classifier_rows(b, deflector.home.index_dir) if b.classifier is not None else None
    if rows is None:
        return deflector.suggest_batch(texts, k=1, exclude_tickets=refs, vectors=vectors)
    live, train, targets = rows
    fold = np.arange(len(positions)) % folds
    out: list = [None] * len(texts)
    for f in range(folds):
        mine = np.flatnonzero(fold == f)
        keep = ~np.isin(live, positions[mine])
        classifier = fit_classifier(train[keep], targets[keep])
        with deflector._lock:   # queries of other threads wait for this fold's scoring, not for its fit
            original, b.classifier = b.classifier, classifier or b.classifier
            try:
                judged = deflector.suggest_batch([texts[i] for i in mine], k=1, vectors=vectors[mine],
                                                 exclude_tickets=[refs[i] for i in mine])
            finally:
                b.classifier = original
        for i, s in zip(mine, judged, strict=True):
            out[i] = s
    return out


def _fit(deflector, suggestions, expected: list, source: str, wrong_cost: float) -> dict:
    from .engine import FEATURES

    features = np.array([[s.features[f] for f in FEATURES] for s in suggestions])
    correct = np.array([e is not None and bool(s.articles) and s.articles[0].id == e
                        for s, e in zip(suggestions, expected)])
    calibrator = Calibrator(wrong_cost=wrong_cost).fit(features, correct)
    covered = np.array([e is not None for e in expected])
    proba = calibrator.predict_proba(features)
    answered = proba >= calibrator.threshold_
    report = {
        "source": source, "samples": len(expected), "covered": int(covered.sum()),
        "threshold": round(calibrator.threshold_, 4),
        "answer_rate": round(float(answered.mean()), 4),
        "right_when_answered": round(float(correct[answered].mean()), 4) if answered.any() else None,
    }
    calibrator.save(deflector.store, source, report)
    deflector.calibrator = calibrator
    return report
