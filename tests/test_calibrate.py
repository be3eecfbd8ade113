"""The answer / no-answer decision fitted from the ticket history."""
from __future__ import annotations

import numpy as np
import pytest

from deflect.decision.calibrator import Calibrator
from deflect.decision.fit import calibrate_tickets
from deflect.deflector import Deflector


def test_ticket_calibration_judges_tickets_as_new_and_keeps_the_index_classifier(demo_home):
    deflector = Deflector.open(demo_home)
    before = deflector.bundle.classifier
    report = calibrate_tickets(deflector)
    assert deflector.bundle.classifier is before
    assert report["source"] == "tickets" and 0.0 < report["threshold"] < 1.01
    # judged by classifiers that never saw them, not every answered ticket is right any more (a
    # classifier trained on a ticket is sure of it: the report said 1.0, and the decision was too bold)
    assert report["right_when_answered"] < 1.0
    deflector.close()


def test_ticket_calibration_asks_linked_tickets_again_as_if_their_article_did_not_exist(demo_home):
    deflector = Deflector.open(demo_home)
    without = calibrate_tickets(deflector, unseen_share=0.0)
    report = calibrate_tickets(deflector, unseen_share=0.5)
    # half as many such questions as unlinked tickets of known gaps, all expecting no answer
    assert report["covered"] == without["covered"]
    unlinked = without["samples"] - without["covered"]
    assert report["samples"] == without["samples"] + round(0.5 * unlinked)
    # a question without an answer in the FAQ need not sit among unlinked tickets to be turned down
    assert deflector.suggest("Wie kann ich").decision == "no_answer"
    deflector.close()


def test_tickets_erased_since_the_index_was_built_are_left_out_and_another_stores_index_is_told(demo_home):
    from deflect.errors import NotCalibratedError

    deflector = Deflector.open(demo_home)
    store = deflector.store
    erased = [r[0] for r in store.db.execute("select id from tickets order by id limit 20")]
    with store.db.transaction():   # as `deflect privacy erase` does, before the next `deflect index`
        store.db.execute(f"delete from tickets where id in ({','.join('?' * len(erased))})", erased)
    assert calibrate_tickets(deflector)["source"] == "tickets"
    with store.db.transaction():   # the index of another store: most of its tickets are not here
        store.db.execute("delete from tickets where id not in (select id from tickets order by id limit 30)")
    with pytest.raises(NotCalibratedError, match="but the store does not") as told:
        calibrate_tickets(deflector)
    assert "Run `deflect index` first" in told.value.hint
    deflector.close()


def test_a_confidence_far_outside_the_fitted_data_is_zero_and_quiet(recwarn):
    features = np.array([[0.5, 0.1], [0.6, 0.1], [0.4, 0.1], [0.7, 0.1]], np.float32)
    calibrator = Calibrator().fit(features, np.array([0, 1, 0, 1]))
    far = calibrator.predict_proba(np.array([[-1e6, 50.0]], np.float32))
    assert far[0] == pytest.approx(0.0, abs=1e-12)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_a_feature_that_never_varied_in_calibration_does_not_decide_later():
    """Calibrated before any unlinked ticket existed, the 'no article among the neighbours' share was 0 up to
    float rounding; when the first such tickets arrive it must not turn every inquiry into an answer."""
    rng = np.random.default_rng(0)
    top = rng.uniform(0, 1, 200)
    no_article = rng.normal(0, 1e-8, 200)   # constant but for rounding
    correct = top + rng.normal(0, 0.2, 200) > 0.6
    calibrator = Calibrator().fit(np.column_stack([top, no_article]), correct)
    before = calibrator.predict_proba(np.array([[0.3, 0.0], [0.7, 0.0]]))
    after = calibrator.predict_proba(np.array([[0.3, 0.4], [0.7, 0.4]]))
    assert after == pytest.approx(before)
    assert before[0] < calibrator.threshold_


def test_questions_without_an_article_are_answered_within_the_bound_counted_by_subject():
    """A labelled file's uncovered questions come from a few missing subjects: one subject that looks like a
    covered one is one observation, however many questions it has; the threshold must not answer it."""
    rng = np.random.default_rng(0)
    right = rng.uniform(0.3, 1.0, 300)
    correct = np.r_[right + rng.normal(0, 0.1, 300) > 0.5, np.zeros(60, bool)]
    # three missing subjects of 20 questions each: one close to a covered article, two far from any
    uncovered_top = np.r_[rng.uniform(0.65, 0.8, 20), rng.uniform(0.0, 0.4, 40)]
    features = np.r_[right, uncovered_top][:, None]
    uncovered = np.r_[np.zeros(300, bool), np.ones(60, bool)]
    groups = np.r_[np.full(300, "covered"), np.repeat(["near", "far-1", "far-2"], 20)]
    free = Calibrator().fit(features, correct)
    bounded = Calibrator(max_uncovered=0.10).fit(features, correct, uncovered, groups)
    answered = lambda cal: cal.predict_proba(features) >= cal.threshold_   # noqa: E731
    assert answered(free)[uncovered].mean() > 0.2            # with no bound the close subject is answered
    assert Calibrator().fit(features, correct, uncovered, groups).threshold_ == free.threshold_
    assert answered(bounded)[uncovered].mean() == 0.0        # with three subjects no answered one is safe
    assert answered(bounded)[~uncovered].sum() > 0.5 * answered(free)[~uncovered].sum()
    # counted per question, 60 samples would let a few close ones through
    per_question = Calibrator(max_uncovered=0.10).fit(features, correct, uncovered)
    assert answered(per_question)[uncovered].mean() > 0.0
    assert Calibrator.from_dict(bounded.to_dict()).max_uncovered == 0.10
