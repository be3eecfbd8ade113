"""The word_cover evidence feature: how much of an inquiry's word information its first article holds.
A question about a text the help center lacks shares its subject's words with a sister article, not its
particular ones; the decision learns from the labelled questions how much that tells."""
from __future__ import annotations

import numpy as np
import pytest

from deflect.decision.calibrator import Calibrator
from deflect.decision.floor import RelevanceFloor
from deflect.engine import FEATURES
from deflect.index.lexical import WordCover, stems

PANTHERS = "Die Verteidigung der Panthers gab nur 308 Punkte ab und führte die Liga mit 24 Interceptions an."
MANNING = "Peyton Manning spielte mit 39 Jahren im Super Bowl 50 für die Broncos."


def _cover(texts: list[str], columns: list[int]) -> np.ndarray:
    return WordCover([frozenset(stems(PANTHERS)), frozenset(stems(MANNING))]).cover(texts, np.array(columns))


def test_an_inquirys_particular_words_count_more_than_its_subjects():
    own, sister = _cover(["Interceptions der Panthers-Verteidigung?"] * 2, [0, 1])
    assert own > 0.9 and sister == 0.0
    # the same subject (the Panthers) but a particular the article does not hold: a part, not the whole
    other = _cover(["Welcher Trainer der Panthers?"], [0])[0]
    assert 0.0 < other < 0.5


def test_word_forms_and_compounds_meet_and_unknown_words_stay_unmatched():
    assert _cover(["Verteidigungsspieler Panthers"], [0])[0] == pytest.approx(1.0)   # "Verteid..." / "Panthe..."
    assert _cover(["Panthers Xylophonwettbewerb"], [0])[0] < 0.5   # a word no article holds is information missed


def test_no_words_or_no_article_give_zero():
    assert list(_cover(["und oder die", "Panthers"], [0, 5])) == [0.0, 0.0]


def test_the_engine_reports_it_for_the_first_article(demo_deflector):
    own = demo_deflector.suggest("Umzug: Lieferadresse ändern, neue Adresse")
    paraphrase = demo_deflector.suggest("Wir wohnen bald woanders, was muss ich tun?")
    assert own.articles[0].id == "zustellung-umzug"
    assert own.features["word_cover"] > 0.9
    assert own.features["word_cover"] > paraphrase.features["word_cover"]
    # an English question to a German article: its words cannot be there -- not known, not low
    english = demo_deflector.suggest("I moved, how do I change my address?")
    assert english.articles[0].id == "zustellung-umzug" and np.isnan(english.features["word_cover"])


def test_a_value_not_known_tells_the_decision_nothing():
    rng = np.random.default_rng(1)
    features = rng.uniform(0, 1, (300, 2))
    correct = features[:, 0] + features[:, 1] + rng.normal(0, 0.2, 300) > 1.0
    features[::10, 1] = np.nan   # not known for every tenth
    calibrator = Calibrator().fit(features, correct)
    floor = RelevanceFloor().fit(features, correct, np.zeros(300, bool))
    unknown, at_mean = np.array([[0.7, np.nan]]), np.array([[0.7, calibrator.mean_[1]]])
    assert calibrator.predict_proba(unknown) == pytest.approx(calibrator.predict_proba(at_mean))
    assert floor.predict_proba(unknown) == pytest.approx(floor.predict_proba(np.array([[0.7, floor.mean_[1]]])))
    assert np.isfinite(calibrator.predict_proba(features)).all()


def test_a_decision_saved_before_the_feature_existed_still_decides_alike():
    rng = np.random.default_rng(0)
    old = rng.uniform(0, 1, (200, len(FEATURES) - 1))
    correct = old[:, 0] + rng.normal(0, 0.2, 200) > 0.6
    calibrator = Calibrator().fit(old, correct)
    floor = RelevanceFloor().fit(old, correct, old[:, 0] > 0.9)
    loaded = Calibrator.from_dict(calibrator.to_dict())
    now = np.column_stack([old, rng.uniform(0, 1, 200)])   # the engine's features with word_cover
    assert loaded.predict_proba(now) == pytest.approx(calibrator.predict_proba(old))
    assert floor.predict_proba(now) == pytest.approx(floor.predict_proba(old))


def test_an_inquiry_without_the_optional_value_is_judged_by_the_model_fitted_without_it():
    """Calibrated on questions in the articles' language, an inquiry in another language has no word_cover:
    it gets the decision fitted without that column, as if the column had never been there."""
    rng = np.random.default_rng(2)
    features = rng.uniform(0, 1, (400, 3))
    correct = features[:, 0] + 2 * features[:, 2] + rng.normal(0, 0.3, 400) > 1.5
    calibrator = Calibrator(optional=(2,)).fit(features, correct)
    without = Calibrator().fit(features[:, :2], correct)
    unknown = np.column_stack([features[:50, :2], np.full(50, np.nan)])
    proba, alone = calibrator.predict_proba(unknown), without.predict_proba(features[:50, :2])
    assert list(proba >= calibrator.threshold_) == list(alone >= without.threshold_)   # the same answers
    assert np.argsort(proba).tolist() == np.argsort(alone).tolist()                   # in the same order
    assert 0 < (alone >= without.threshold_).sum() < 50
    assert calibrator.predict_proba(features[:50]) != pytest.approx(proba)   # knowing it, the decision uses it
    loaded = Calibrator.from_dict(calibrator.to_dict())
    assert loaded.predict_proba(unknown) == pytest.approx(calibrator.predict_proba(unknown))


def test_across_languages_the_words_meaning_counts(demo_deflector):
    """An English question to a German article: its words are compared by meaning (``cross_cover``), only
    where ``word_cover`` cannot be read; a question whose particulars the article lacks is covered less. A
    decision fit measures it; serving reads it only where the decision does (the demo's does not)."""
    texts = ["I moved, how do I change my delivery address?", "I moved, can I get a discount for students?",
             "Umzug: Lieferadresse ändern, neue Adresse"]
    features, ranked = demo_deflector.judge_top(demo_deflector.embed_queries(texts), texts=texts, cross=True)
    cover, cross = FEATURES.index("word_cover"), FEATURES.index("cross_cover")
    assert ranked[0][0][0] == "zustellung-umzug" and np.isnan(features[0, cover]) and features[0, cross] > 0.5
    if ranked[1][0][0] == "zustellung-umzug":
        assert features[1, cross] < features[0, cross]
    assert np.isnan(features[2, cross]) and features[2, cover] > 0.9   # German to German: the plain cover
    served = demo_deflector.suggest(texts[0])
    assert not demo_deflector._reads_cross_cover() and np.isnan(served.features["cross_cover"])


def test_a_substitute_is_read_only_where_the_optional_column_is_not_known():
    """The decision for inquiries in another language than their article reads the cover across languages; for
    the others it is the decision without that column, whatever its values."""
    rng = np.random.default_rng(2)
    n = 400
    base, cover, cross = rng.uniform(0, 1, n), rng.uniform(0, 1, n), rng.uniform(0, 1, n)
    other = np.arange(n) % 2 == 0
    correct = base + np.where(other, cross, cover) + rng.normal(0, 0.2, n) > 1.0
    features = np.column_stack([base, np.where(other, np.nan, cover), np.where(other, cross, np.nan)])
    calibrator = Calibrator(optional=(1,), substitutes=(2,)).fit(features, correct)
    assert calibrator.substitutes_used_
    assert calibrator.coef_[2] == 0.0 and calibrator.reduced_[0][1] == 0.0 and calibrator.reduced_[0][2] > 0
    # where it tells nothing about the labelled inquiries that need it, it is not read at all
    noise = features.copy()
    noise[other, 2] = rng.uniform(0, 1, int(other.sum()))
    correct_without = base + np.where(other, 0.5, cover) + rng.normal(0, 0.2, n) > 1.0
    blind = Calibrator(optional=(1,), substitutes=(2,)).fit(noise, correct_without)
    assert not blind.substitutes_used_ and blind.reduced_[0][2] == 0.0
    same = np.array([[0.5, 0.5, 0.9], [0.5, 0.5, 0.1]])
    assert calibrator.predict_proba(same)[0] == pytest.approx(calibrator.predict_proba(same)[1])
    across = np.array([[0.5, np.nan, 0.9], [0.5, np.nan, 0.1]])
    low, high = calibrator.predict_proba(across)[::-1]
    assert high > low
    again = Calibrator.from_dict(calibrator.to_dict())
    assert again.substitutes == (2,)
    assert np.allclose(again.predict_proba(features), calibrator.predict_proba(features), equal_nan=True)


def test_the_feature_list_names_the_cover_across_languages():
    assert FEATURES[-2:] == ("word_cover", "cross_cover")


def _encode_words(words: list[str]) -> np.ndarray:
    """Stand-in word vectors: one direction per first letter (words sharing it match fully)."""
    out = np.zeros((len(words), 26), np.float32)
    for i, word in enumerate(words):
        out[i, (ord(word[0]) - ord("a")) % 26] = 1.0
    return out


def test_the_cross_cover_keeps_only_the_words_of_articles_that_still_exist():
    """Article words are kept between calls (and across index updates); a deleted article's words leave with
    it, and an inquiry's own words are never kept."""
    from deflect.index.cross_cover import CrossCover

    first = CrossCover([["abonnement", "kündigen"], ["zeitung", "zustellung"]])
    assert first.cover(["cancel my subscription"], np.array([0]), _encode_words, "m")[0] == 0.0
    first.cover(["where is my newspaper"], np.array([1]), _encode_words, "m")
    assert {"abonnement", "kündigen", "zeitung", "zustellung"} <= first._vectors.keys()
    assert not {"cancel", "subscription", "newspaper"} & first._vectors.keys()
    updated = CrossCover([["abonnement", "kündigen"]], first)   # the delivery article was deleted
    assert set(updated._vectors) == {"abonnement", "kündigen"}
    assert updated.cover(["kündigen abonnement"], np.array([0]), _encode_words, "m")[0] == pytest.approx(1.0)
