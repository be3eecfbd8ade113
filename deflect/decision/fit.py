"""Fit the answer / no-answer decision (a ``Calibrator``) from the engine's own judgements: of labelled
inquiries (``calibrate_labelled``) or of the ticket history, each ticket judged as a new inquiry
(``calibrate_tickets``). The fitted calibrator is saved in the store and used by the engine at once.
"""
from __future__ import annotations

import numpy as np

from deflect.decision.calibrator import WRONG_COST, Calibrator
from deflect.engine import FEATURES, Engine
from deflect.errors import InputError, NotCalibratedError
from deflect.formats import Inquiry
from deflect.index.bundle import classifier_rows
from deflect.index.classifier import fit_classifier
from deflect.index.documents import TICKET, ticket_text
from deflect.labels import hard_labels

# Ticket-history calibration: per unlinked ticket of a known gap, this many linked tickets are asked once
# more as if their article did not exist -- the first customers of a question nobody has answered yet,
# whose neighbours are other articles' documents, not a cluster of unlinked tickets. Without them the
# decision learned "no unlinked neighbours = covered" and answered off-topic questions (demo: a third of
# banking77's). Chosen on held-out demo tickets, off-domain probes and dev.jsonl (see the commit).
UNSEEN_SHARE = 0.5
CALIBRATION_FOLDS = 3   # ticket-history calibration: classifiers fitted, each without a third of the tickets


def calibrate_labelled(deflector: Engine, inquiries: list[Inquiry], wrong_cost: float = WRONG_COST) -> dict:
    """Fit the decision on labelled inquiries (``expected_article`` None = not covered)."""
    if len(inquiries) < 4:
        raise InputError(f"only {len(inquiries)} labelled inquiries; calibration needs at least 4",
                         hint="Label more inquiries, or calibrate from the ticket history (no file).")
    texts = [q.text for q in inquiries]
    features, firsts = deflector.judge(deflector.embed(texts), texts=texts)
    return _fit(deflector, features, firsts, [q.expected_article for q in inquiries], "labelled", wrong_cost)


def calibrate_tickets(deflector: Engine, wrong_cost: float = WRONG_COST, limit: int = 3000, seed: int = 0,
                      unseen_share: float = UNSEEN_SHARE) -> dict:
    """Fit the decision from the ticket history, each ticket judged as a new inquiry (left out of its
    neighbours and of the classifier, see ``_judged_as_new``). Tickets linked to an article expect it;
    unlinked tickets whose neighbourhood holds no article evidence expect none; and, as the first
    customers of a question the FAQ does not cover yet, some linked tickets are asked once more as if
    their article did not exist (left out with all its documents), expecting none."""
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
    linked, uncovered = rng.permutation(linked)[:half], rng.permutation(uncovered)[:half]
    unseen = linked[:int(round(unseen_share * len(uncovered)))]
    picked = np.r_[linked, uncovered, unseen]
    hidden = np.r_[np.full(len(linked) + len(uncovered), -1), b.seed[unseen]]
    refs = [str(b.ref[p]) for p in picked]
    rows = deflector.store.get_tickets(refs)
    texts = [ticket_text(rows[r]) for r in refs]
    expected = [b.article_ids[b.seed[p]] if b.seed[p] >= 0 and h < 0 else None for p, h in zip(picked, hidden)]
    owner = np.where(b.seed >= 0, b.seed, hard_labels(b.labels, -1))   # whose documents are whose
    features, firsts = _judged_as_new(deflector, texts, picked, hidden, owner)
    return _fit(deflector, features, firsts, expected, "tickets", wrong_cost,
                {"uncovered": len(uncovered), "unseen": len(unseen)})


def _judged_as_new(deflector: Engine, texts: list[str], positions: np.ndarray, hidden: np.ndarray, owner: np.ndarray,
                   folds: int = CALIBRATION_FOLDS) -> tuple[np.ndarray, list[str | None]]:
    """Evidence features and first article for tickets of the index as if each were a new inquiry:
    left out of its own neighbours and, fold by fold, of the classifier's training rows. A classifier
    that was trained on a ticket is sure of it; a decision fitted on such certainty answered new
    inquiries, even ones from outside the help desk's domain, too boldly. Where ``hidden[i]`` names an
    article column, ticket i is judged as if that article did not exist: its documents (``owner``)
    are no neighbours and it is neither a class nor a candidate."""
    b = deflector.bundle
    vectors = deflector.embed(texts)
    rows = classifier_rows(b, deflector.home.index_dir) if b.classifier is not None else None
    fold = np.arange(len(positions)) % folds
    features = np.zeros((len(texts), len(FEATURES)), np.float32)
    firsts: list[str | None] = [None] * len(texts)
    live, train, targets = rows if rows is not None else (None, None, None)
    for f in range(folds):
        in_fold = fold == f
        classifier = None
        if rows is not None:
            keep = ~np.isin(live, positions[in_fold])
            classifier = fit_classifier(train[keep], targets[keep])
        for h in np.unique(hidden[in_fold]):
            mine = np.flatnonzero(in_fold & (hidden == h))
            gone = np.flatnonzero(owner == h) if h >= 0 else np.zeros(0, np.int64)
            exclude = [np.r_[positions[i], gone] for i in mine]
            feats, ids = deflector.judge(vectors[mine], exclude, classifier, int(h) if h >= 0 else None,
                                         texts=[texts[i] for i in mine])
            features[mine] = feats
            for i, a in zip(mine, ids, strict=True):
                firsts[i] = a
    return features, firsts


def _fit(deflector: Engine, features: np.ndarray, firsts: list[str | None], expected: list, source: str,
         wrong_cost: float, counts: dict | None = None) -> dict:
    correct = np.array([e is not None and a == e for a, e in zip(firsts, expected, strict=True)])
    calibrator = Calibrator(wrong_cost=wrong_cost).fit(features, correct)
    covered = np.array([e is not None for e in expected])
    proba = calibrator.predict_proba(features)
    answered = proba >= calibrator.threshold_
    report = {
        "source": source, "samples": len(expected), "covered": int(covered.sum()), **(counts or {}),
        "threshold": round(calibrator.threshold_, 4),
        "answer_rate": round(float(answered.mean()), 4),
        "right_when_answered": round(float(correct[answered].mean()), 4) if answered.any() else None,
    }
    calibrator.save(deflector.store, source, report)
    deflector.calibrator = calibrator
    return report
