"""The answer / no-answer decision: a calibrated score (0 to 1) that the first article is right.

``Calibrator`` follows scikit-learn conventions: configured in ``__init__``, ``fit`` returns self,
learned attributes end in ``_``. It is a logistic regression over the engine's evidence features
(standardised), and a threshold that maximises ``right answers - wrong_cost * wrong answers`` on
the calibration set (a wrong answer sends a customer the wrong way; an honest "no answer" keeps
the way to a human open); with ``max_uncovered`` only among the thresholds at which the share of
questions without an article that get answered anyway is, with the uncertainty of the few such
questions, at most that (see ``uncovered_bound``). Fitting it from the engine's judgements is
``deflect.decision.fit``. Below the threshold, ``floor_`` (``deflect.decision.floor``) tells "these
articles might help" from "no answer".
"""
from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from deflect.decision.floor import RelevanceFloor
from deflect.decision.missing import known_or_mean
from deflect.store import Store

SETTING = "calibration"
# A customer sent to the wrong article (or answered when the FAQ has no answer) costs as much as three
# honest "no answer"s: chosen on banking77 dev.jsonl by repeated half splits (fit on one half, count on
# the other): cost 2 answered 5.7% of uncovered inquiries, cost 3 4.7%, for ~3 points less deflection.
WRONG_COST = 3.0
# A feature that (nearly) does not vary in the calibration data (no unlinked tickets yet: the share of
# neighbours without an article is 0 up to float rounding) teaches nothing there; standardised by its
# tiny spread, any later value (the first tickets arrive) would sit thousands of deviations away and
# decide alone. Such a feature is left out of the fit (coefficient 0) until a refit sees it vary.
MIN_SPREAD = 1e-3
# With a bound on the share of questions without an article that get answered anyway (the setting
# max_uncovered_answered), the calibration set must show it: its upper bound at UNCOVERED_CONFIDENCE, not
# its share, must stay below it. A labelled file holds the questions of a few missing subjects, many per
# subject; how often the decision answers one subject's questions is one observation, not many (banking77
# with no history: 10 subjects in dev.jsonl answered 3% of their questions, the test's other subjects 11%).
# The bound therefore counts the subjects -- as the decision sees them, the distinct articles they are
# ranked first for -- not the questions.
UNCOVERED_CONFIDENCE = 0.9
# A substitute column (``Calibrator(substitutes=...)``) is read when, fitted on the other folds, it predicts the
# labelled samples that need it better; with fewer such samples it is not read.
SUBSTITUTE_FOLDS = 5
SUBSTITUTE_MIN = 30


class Calibrator:
    """Maps evidence features to P(first suggested article is right) and picks the threshold."""

    floor_: RelevanceFloor | None = None   # fitted with it from the same judgements; None: the default floor
    reduced_: tuple[np.ndarray, float] | None = None   # coefficients and intercept without the ``optional`` columns
    # the query-side shares of the model's parts per query language it was fitted with (and the engine
    # uses with it, deflect.index.part_weights); None: the parts count alike
    part_weights_: dict[str, tuple[float, ...]] | None = None
    # the word-match weights per query language it was fitted with (deflect.index.lexical_weights); None:
    # the lexical_weight setting for every language
    lexical_weights_: dict[str, float] | None = None

    def __init__(self, wrong_cost: float = WRONG_COST, regularisation: float = 1.0,
                 max_uncovered: float | None = None, optional: tuple[int, ...] = (),
                 substitutes: tuple[int, ...] = ()):
        self.wrong_cost = wrong_cost
        self.regularisation = regularisation
        self.max_uncovered = max_uncovered   # None: no bound on answering uncovered samples
        # Feature columns that may be unknown (NaN) for an inquiry. Such an inquiry is decided by a second
        # model fitted without them, at its own threshold: a column's mean in their place is not neutral,
        # since the other coefficients were fitted leaning on that column (an English inquiry to a German
        # help center calibrated on German questions was answered more, and more often wrongly, so).
        self.optional = tuple(optional)
        # Columns only that second model reads: known where the optional ones are not (the word cover
        # across languages where the plain one cannot be read), unknown elsewhere.
        self.substitutes = tuple(substitutes)

    def fit(self, features: np.ndarray, correct: np.ndarray, uncovered: np.ndarray | None = None,
            groups: np.ndarray | None = None) -> Calibrator:
        """``correct[i]``: the engine's first article is the expected one (False for uncovered);
        ``uncovered[i]``: sample i has no article at all (None, or no ``max_uncovered``: the threshold has
        no bound on answering them); ``groups[i]``: what it is ranked first for (its subject, as far as the
        decision can tell; None: every uncovered sample its own)."""
        raw = np.asarray(features, np.float64)
        features = known_or_mean(raw)
        correct = np.asarray(correct, bool)
        self.mean_ = features.mean(axis=0)
        spread = features.std(axis=0)
        used = spread > MIN_SPREAD
        self.scale_ = np.where(used, spread, 1.0)
        z = np.where(used, (features - self.mean_) / self.scale_, 0.0)
        substitute = np.isin(np.arange(len(used)), self.substitutes)
        self.coef_, self.intercept_ = self._logistic(z, correct, used & ~substitute)
        self.reduced_ = None
        self.threshold_ = self._best_threshold(self.predict_proba(raw), correct, uncovered, groups)
        self.substitutes_used_ = False
        if self.optional:
            without = used.copy()
            without[[c for c in self.optional if c < len(used)]] = False
            unknown = self._optional_unknown(raw)
            self.substitutes_used_ = bool((used & substitute).any()) and self._held_out_better(
                z, correct, without & ~substitute, without, unknown)
            coef, intercept = self._logistic(z, correct, without if self.substitutes_used_ else without & ~substitute)
            # the model without them answers where it would by its own threshold: its logit moved so that
            # that threshold falls on this one
            own = self._best_threshold(_sigmoid(z @ coef + intercept), correct, uncovered, groups)
            if max(own, self.threshold_) <= 1.0:
                intercept += _logit(self.threshold_) - _logit(own)
            self.reduced_ = (coef, intercept)
        self.n_samples_ = int(len(correct))
        self.fitted_at_ = datetime.now(UTC).replace(microsecond=0).isoformat()
        return self

    def _optional_unknown(self, raw: np.ndarray) -> np.ndarray:
        """Per row: whether one of the ``optional`` columns is not known (NaN)."""
        return np.isnan(raw[:, [c for c in self.optional if c < raw.shape[1]]]).any(axis=1)

    def _held_out_better(self, z: np.ndarray, correct: np.ndarray, base: np.ndarray, more: np.ndarray,
                         rows: np.ndarray) -> bool:
        """Whether the columns ``more`` predict the samples ``rows`` better than ``base`` does, each fitted on the
        other folds (log loss over SUBSTITUTE_FOLDS folds): a substitute column is read only where the help
        center's own labelled questions show it helps (across languages, how much an inquiry's words an article
        holds tells a missing paragraph on long answer bodies, and little among short sister questions)."""
        picked = np.flatnonzero(rows)
        if len(picked) < SUBSTITUTE_MIN or correct[picked].all() or not correct[picked].any():
            return False
        fold = np.random.default_rng(0).permutation(len(z)) % SUBSTITUTE_FOLDS
        loss = np.zeros(2)
        for f in range(SUBSTITUTE_FOLDS):
            train, test = fold != f, picked[fold[picked] == f]
            if not len(test) or correct[train].all() or not correct[train].any():
                continue
            for j, columns in enumerate((base, more)):
                coef, intercept = self._logistic(z[train], correct[train], columns)
                p = np.clip(_sigmoid(z[test] @ coef + intercept), 1e-6, 1 - 1e-6)
                loss[j] -= float(np.sum(np.where(correct[test], np.log(p), np.log(1 - p))))
        return bool(loss[1] < loss[0])

    def _logistic(self, z: np.ndarray, correct: np.ndarray, used: np.ndarray) -> tuple[np.ndarray, float]:
        """Coefficients (0 for the columns not ``used``) and intercept over standardised features ``z``."""
        from sklearn.linear_model import LogisticRegression

        if correct.all() or not correct.any():
            # One class only: no separation to learn; fall back to the raw top score.
            coef = np.zeros(z.shape[1])
            coef[0] = 4.0 / self.scale_[0]
            return coef, float(-4.0 * (0.5 - self.mean_[0]) / self.scale_[0])
        model = LogisticRegression(C=self.regularisation, max_iter=1000, class_weight="balanced")
        model.fit(np.where(used, z, 0.0), correct)
        return np.where(used, model.coef_[0], 0.0), float(model.intercept_[0])

    def _best_threshold(self, proba: np.ndarray, correct: np.ndarray, uncovered: np.ndarray | None = None,
                        groups: np.ndarray | None = None) -> float:
        candidates = np.unique(np.r_[proba, 1.01])
        if self.max_uncovered is not None and uncovered is not None and np.any(uncovered):
            bound = uncovered_bound(proba, np.asarray(uncovered, bool), candidates, groups)
            # where no threshold shows the bound (too few subjects), those answering fewest of them
            candidates = candidates[bound <= max(self.max_uncovered, float(bound.min()))]
        best_t, best_u = 1.01, 0.0
        for t in candidates:
            answered = proba >= t
            utility = np.sum(answered & correct) - self.wrong_cost * np.sum(answered & ~correct)
            if utility > best_u:
                best_t, best_u = float(t), float(utility)
        # Place the threshold halfway to the next lower score so that tiny shifts don't flip answers.
        lower = proba[proba < best_t]
        return float((best_t + lower.max()) / 2) if len(lower) and best_t <= 1.0 else best_t

    def uncovered_share(self, proba: np.ndarray, uncovered: np.ndarray,
                        groups: np.ndarray | None = None) -> float:
        """The upper bound (``uncovered_bound``) of the share of uncovered samples answered at the threshold."""
        return float(uncovered_bound(proba, np.asarray(uncovered, bool), np.array([self.threshold_]), groups)[0])

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        # a calibration saved before the engine had its last features knows only the first ones
        raw = np.asarray(features, np.float64)[:, :len(self.coef_)]
        z = (known_or_mean(raw, self.mean_) - self.mean_) / self.scale_
        logit = z @ self.coef_ + self.intercept_
        if self.reduced_ is not None and self.optional:
            logit = np.where(self._optional_unknown(raw), z @ self.reduced_[0] + self.reduced_[1], logit)
        return _sigmoid(logit)

    # -- persistence ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"wrong_cost": self.wrong_cost, "regularisation": self.regularisation,
                **({"max_uncovered": self.max_uncovered} if self.max_uncovered is not None else {}),
                **({"substitutes": list(self.substitutes)} if self.substitutes else {}),
                **({"optional": list(self.optional), "reduced_coef": self.reduced_[0].tolist(),
                    "reduced_intercept": self.reduced_[1]} if self.reduced_ is not None else {}),
                "mean": self.mean_.tolist(), "scale": self.scale_.tolist(), "coef": self.coef_.tolist(),
                "intercept": self.intercept_, "threshold": self.threshold_, "n_samples": self.n_samples_,
                "fitted_at": self.fitted_at_,
                **({"suggest_floor": self.floor_.to_dict()} if self.floor_ is not None else {}),
                **({"part_weights": {k: list(v) for k, v in self.part_weights_.items()}}
                   if self.part_weights_ else {}),
                **({"lexical_weights": dict(self.lexical_weights_)} if self.lexical_weights_ else {})}

    @classmethod
    def from_dict(cls, data: dict) -> Calibrator:
        cal = cls(data.get("wrong_cost", WRONG_COST), data.get("regularisation", 1.0), data.get("max_uncovered"),
                  tuple(data.get("optional", ())), tuple(data.get("substitutes", ())))
        cal.mean_, cal.scale_ = np.array(data["mean"]), np.array(data["scale"])
        if "reduced_coef" in data:
            cal.reduced_ = (np.array(data["reduced_coef"]), float(data["reduced_intercept"]))
        cal.coef_, cal.intercept_ = np.array(data["coef"]), float(data["intercept"])
        cal.threshold_, cal.n_samples_ = float(data["threshold"]), int(data["n_samples"])
        cal.fitted_at_ = data.get("fitted_at")
        if data.get("part_weights"):
            cal.part_weights_ = {k: tuple(float(x) for x in v) for k, v in data["part_weights"].items()}
        if data.get("lexical_weights"):
            cal.lexical_weights_ = {k: float(v) for k, v in data["lexical_weights"].items()}
        if data.get("suggest_floor"):
            cal.floor_ = RelevanceFloor.from_dict(data["suggest_floor"])
        return cal

    def save(self, store: Store, source: str, report: dict | None = None) -> None:
        store.set_setting(SETTING, {**self.to_dict(), "source": source, "report": report or {}})

    @classmethod
    def load(cls, store: Store) -> Calibrator | None:
        data = store.get_setting(SETTING)
        return cls.from_dict(data) if data else None


def _sigmoid(logit: np.ndarray) -> np.ndarray:
    # far outside the fitted data (features many deviations away): exp -> inf, p = 0, the right limit
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-logit))


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return float(np.log(p / (1 - p)))


def uncovered_bound(proba: np.ndarray, uncovered: np.ndarray, thresholds: np.ndarray,
                    groups: np.ndarray | None = None) -> np.ndarray:
    """Per threshold: the upper bound at ``UNCOVERED_CONFIDENCE`` of the share of questions without an
    article that are answered (confidence >= threshold), from the uncovered samples: their answered share,
    counted as if there were one sample per group (Jeffreys' interval: Beta(k + 1/2, n - k + 1/2))."""
    from scipy.stats import beta

    scores = proba[uncovered]
    n = len(np.unique(np.asarray(groups)[uncovered])) if groups is not None else len(scores)
    share = (scores[None, :] >= np.asarray(thresholds)[:, None]).mean(axis=1)
    return beta.ppf(UNCOVERED_CONFIDENCE, share * n + 0.5, n - share * n + 0.5)
