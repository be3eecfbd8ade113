"""Fit the answer / no-answer decision (a ``Calibrator``) from the engine's own judgements: of labelled
inquiries (``calibrate_labelled``) or of the ticket history, each ticket judged as a new inquiry
(``calibrate_tickets``). The fitted calibrator is saved in the store and used by the engine at once.
"""
from __future__ import annotations

import numpy as np

from deflect.decision.calibrator import WRONG_COST, Calibrator
from deflect.decision.floor import fit_floor, floor_report, in_other_language
from deflect.engine import FEATURES, Engine
from deflect.errors import InputError, NotCalibratedError
from deflect.formats import Inquiry
from deflect.index.bundle import classifier_rows
from deflect.index.classifier import fit_classifier
from deflect.index.documents import TICKET, ticket_text
from deflect.index.lexical_weights import LexicalWeights
from deflect.index.part_weights import Weights
from deflect.labels import hard_labels
from deflect.language import detect_language
from deflect.settings import from_env
from deflect.store import Store
from deflect.store.links import undecided_tickets

# Ticket-history calibration: per unlinked ticket of a known gap, this many linked tickets are asked once
# more as if their article did not exist -- the first customers of a question nobody has answered yet,
# whose neighbours are other articles' documents, not a cluster of unlinked tickets. Without them the
# decision learned "no unlinked neighbours = covered" and answered off-topic questions (demo: a third of
# banking77's). Chosen on held-out demo tickets, off-domain probes and dev.jsonl (see the commit).
UNSEEN_SHARE = 0.5
MIN_NEGATIVE_SHARE = 0.25
PartChoice = tuple[Weights, dict]   # the model parts' shares per query language, and their report
LexicalChoice = tuple[LexicalWeights, dict]   # the word-match weights per query language, and their report
CALIBRATION_FOLDS = 3   # ticket-history calibration: classifiers fitted, each without a third of the tickets


def calibrate_labelled(deflector: Engine, inquiries: list[Inquiry], wrong_cost: float = WRONG_COST,
                       name: str | None = None, part_weights: PartChoice | None = None,
                       lexical: LexicalChoice | None = None) -> dict:
    """Fit the decision on labelled inquiries (``expected_article`` None = not covered); ``name``: the
    file they came from (said in ``deflect status``); ``part_weights``: the model parts' shares to fit
    and answer with, and their report (``deflect.decision.part_choice``; None: the parts count alike);
    ``lexical``: the same for the word-match weights (``deflect.decision.lexical_choice``; None: the
    ``lexical_weight`` setting for every language)."""
    if len(inquiries) < 4:
        raise InputError(f"only {len(inquiries)} labelled inquiries; calibration needs at least 4",
                         hint="Label more inquiries, or calibrate from the ticket history (no file).")
    texts = [q.text for q in inquiries]
    features, ranked = deflector.judge_top(deflector.embed_queries(texts, _shares(part_weights)), texts=texts,
                                           lexical=_words(lexical), cross=True)
    return fit_decision(deflector, features, firsts_of(ranked), [q.expected_article for q in inquiries], "labelled",
                        wrong_cost, {"file": name} if name else None, ranked=ranked, part_weights=part_weights,
                        lexical=lexical, max_uncovered=from_env("max_uncovered_answered"),
                        languages=[q.language or detect_language(q.text) for q in inquiries])


def calibrate_tickets(deflector: Engine, wrong_cost: float = WRONG_COST, limit: int = 3000, seed: int = 0,
                      unseen_share: float = UNSEEN_SHARE, store: Store | None = None,
                      part_weights: PartChoice | None = None, lexical: LexicalChoice | None = None) -> dict:
    """Fit the decision from the ticket history, each ticket judged as a new inquiry (left out of its
    neighbours and of the classifier, see ``_judged_as_new``). Tickets linked to an article expect it;
    unlinked tickets whose neighbourhood holds no article evidence expect none; and, as the first
    customers of a question the FAQ does not cover yet, some linked tickets are asked once more as if
    their article did not exist (left out with all its documents), expecting none. ``store``: the
    connection to read tickets from and save to (default: the engine's); ``part_weights`` as in
    ``calibrate_labelled``, and ``lexical``."""
    b = deflector.bundle
    linked, uncovered = ticket_history(deflector)
    if len(linked) < 2 or len(uncovered) < 2:
        raise NotCalibratedError(
            "the ticket history has too few linked and unlinked tickets to calibrate from",
            hint="Pass a labelled set: `deflect calibrate labelled.jsonl`.")
    rng = np.random.default_rng(seed)
    half = limit // 2
    linked, uncovered = rng.permutation(linked)[:half], rng.permutation(uncovered)[:half]
    # questions without an article are at least a quarter of the linked ones (linked tickets asked as if their
    # article did not exist make up what the unlinked far ones do not)
    wanted = max(int(round(unseen_share * len(uncovered))),
                 int(round(MIN_NEGATIVE_SHARE * len(linked))) - len(uncovered))
    unseen = linked[:min(wanted, len(linked) // 2)]
    picked = np.r_[linked, uncovered, unseen]
    hidden = np.r_[np.full(len(linked) + len(uncovered), -1), b.seed[unseen]]
    refs = [str(b.ref[p]) for p in picked]
    rows = (store or deflector.store).get_tickets(refs)
    there = np.array([r in rows for r in refs], bool)   # a ticket erased since the index was built is gone
    if not there.all():
        if there.mean() < 0.5:
            raise NotCalibratedError(
                f"the index holds {int((~there).sum())} of these {len(refs)} tickets, but the store does not",
                hint="Run `deflect index` first: the index was built from another store (or most tickets were "
                     "erased since).")
        picked, hidden = picked[there], hidden[there]
        refs = [r for r, ok in zip(refs, there) if ok]
    texts = [ticket_text(rows[r]) for r in refs]
    expected = [b.article_ids[b.seed[p]] if b.seed[p] >= 0 and h < 0 else None for p, h in zip(picked, hidden)]
    owner = np.where(b.seed >= 0, b.seed, hard_labels(b.labels, -1))   # whose documents are whose
    features, ranked = _judged_as_new(deflector, texts, picked, hidden, owner, shares=_shares(part_weights),
                                      lexical=_words(lexical))
    return fit_decision(deflector, features, firsts_of(ranked), expected, "tickets", wrong_cost,
                        {"uncovered": len(uncovered), "unseen": len(unseen)}, ranked=ranked,
                        part_weights=part_weights, lexical=lexical,
                        languages=[rows[r]["language"] or detect_language(t) for r, t in zip(refs, texts)])


def ticket_history(deflector: Engine) -> tuple[np.ndarray, np.ndarray]:
    """Index positions of the tickets a ticket-history calibration learns from: those linked to an
    article, and unlinked ones whose neighbourhood holds no article evidence and whose resolution names
    no article (an undecided ticket, ``undecided_tickets``, is no example of a question without one)."""
    b = deflector.bundle
    mass = np.asarray(b.labels.sum(axis=1)).ravel()
    positions = np.flatnonzero(b.kind == TICKET)
    undecided = np.isin(b.ref[positions].astype(str), sorted(undecided_tickets(deflector.store)))
    return (positions[b.seed[positions] >= 0],
            positions[(b.seed[positions] < 0) & (mass[positions] < 0.2) & ~undecided])


def _judged_as_new(deflector: Engine, texts: list[str], positions: np.ndarray, hidden: np.ndarray, owner: np.ndarray,
                   folds: int = CALIBRATION_FOLDS,
                   shares: Weights | None = None,
                   lexical: LexicalWeights | None = None) -> tuple[np.ndarray, list[list[tuple[str, float]]]]:
    """Evidence features and the first three articles (id, score) for tickets of the index as if each were
    a new inquiry:
    left out of its own neighbours and, fold by fold, of the classifier's training rows. A classifier
    that was trained on a ticket is sure of it; a decision fitted on such certainty answered new
    inquiries, even ones from outside the help desk's domain, too boldly. Where ``hidden[i]`` names an
    article column, ticket i is judged as if that article did not exist: its documents (``owner``)
    are no neighbours and it is neither a class nor a candidate."""
    b = deflector.bundle
    vectors = deflector.embed_queries(texts, shares if shares is not None else {})
    rows = classifier_rows(b, deflector.home.index_dir) if b.classifier is not None else None
    fold = np.arange(len(positions)) % folds
    features = np.zeros((len(texts), len(FEATURES)), np.float32)
    ranked: list[list[tuple[str, float]]] = [[] for _ in texts]
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
            feats, tops = deflector.judge_top(vectors[mine], exclude, classifier, int(h) if h >= 0 else None,
                                              texts=[texts[i] for i in mine], lexical=lexical, cross=True)
            features[mine] = feats
            for i, top in zip(mine, tops, strict=True):
                ranked[i] = top
    return features, ranked


def _shares(part_weights: PartChoice | None) -> Weights:
    """The shares to embed calibration questions with: those given, else none (the parts alike)."""
    return dict(part_weights[0]) if part_weights else {}


def _words(lexical: LexicalChoice | None) -> LexicalWeights:
    """The word-match weights to judge calibration questions with: those given, else none learnt (the
    setting for every language) -- never the previous calibration's, which this one replaces."""
    return dict(lexical[0]) if lexical else {}


def firsts_of(ranked: list[list[tuple[str, float]]]) -> list[str | None]:
    """The first article id of each ranked list (None where nothing was ranked)."""
    return [r[0][0] if r else None for r in ranked]


def fit_decision(deflector: Engine, features: np.ndarray, firsts: list[str | None], expected: list, source: str,
                 wrong_cost: float, counts: dict | None = None, store: Store | None = None,
                 ranked: list[list[tuple[str, float]]] | None = None, part_weights: PartChoice | None = None,
                 lexical: LexicalChoice | None = None, max_uncovered: float | None = None,
                 languages: list[str | None] | None = None) -> dict:
    """Fit a calibrator on judged samples (``expected`` None = no article is right), save it (in
    ``store``, default the engine's) with a report of what it was fitted on (``source``, ``counts``,
    the tickets in the index) and give it to the engine at once. With the first articles per sample
    (``ranked``) also the relevance floor of "these articles might help" (without: the default floor).
    ``part_weights``: the model parts' shares the samples were judged with, kept with the calibrator, and
    ``lexical`` the word-match weights. ``max_uncovered``: the threshold keeps the share of uncovered
    samples answered within it (``Calibrator.fit``), counting them by the article each is ranked first for:
    real questions of a few missing subjects (a labelled file), not one per sample. ``languages``: each
    sample's language (None: not known), for the relevance floor's similarity guard per language relation."""
    correct = np.array([e is not None and a == e for a, e in zip(firsts, expected, strict=True)])
    covered = np.array([e is not None for e in expected])
    groups = np.array([str(a) for a in firsts], dtype=object)
    calibrator = Calibrator(wrong_cost=wrong_cost, max_uncovered=max_uncovered,
                            optional=(FEATURES.index("word_cover"),),
                            substitutes=(FEATURES.index("cross_cover"),)).fit(features, correct, ~covered, groups)
    calibrator.part_weights_ = dict(part_weights[0]) if part_weights and part_weights[0] else None
    calibrator.lexical_weights_ = dict(lexical[0]) if lexical and lexical[0] else None
    proba = calibrator.predict_proba(features)
    answered = proba >= calibrator.threshold_
    cross = None
    if ranked is not None and languages is not None:
        article_languages = {a.id: a.language for a in (store or deflector.store).articles()}
        cross = in_other_language(languages, [article_languages.get(r[0][0]) if r else None for r in ranked])
    if ranked is not None:
        calibrator.floor_ = fit_floor(features, ranked, expected, answered,
                                     similarity_column=FEATURES.index("article_sim"), cross_language=cross,
                                     confidence=proba)
    report = {
        "source": source, "samples": len(expected), "covered": int(covered.sum()), **(counts or {}),
        "tickets_indexed": int((deflector.bundle.kind == TICKET).sum()),
        "threshold": round(calibrator.threshold_, 4),
        "answer_rate": round(float(answered.mean()), 4),
        "right_when_answered": round(float(correct[answered].mean()), 4) if answered.any() else None,
        **({"uncovered_answered": round(float(answered[~covered].mean()), 4),
            "uncovered_answered_bound": round(calibrator.uncovered_share(proba, ~covered, groups), 4)}
           if max_uncovered is not None and not covered.all() else {}),
        **floor_report(calibrator.floor_, features, ranked, expected, answered, cross, proba),
        **({"part_weights": part_weights[1]} if part_weights and part_weights[1] else {}),
        **({"lexical_weights": lexical[1]} if lexical and lexical[1] else {}),
        "cross_language_cover": calibrator.substitutes_used_,
    }
    calibrator.save(store or deflector.store, source, report)
    deflector.calibrator = calibrator
    return report

