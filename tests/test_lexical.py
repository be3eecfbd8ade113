"""The word-form classifier: tells sibling questions apart by their words, saved without pickle."""
from __future__ import annotations

import numpy as np

from deflect.lexical import LexicalClassifier, fit_lexical

SHOW, DELETE, NONE = 0, 1, -1
DOCS = [
    ("Zeige mir alle meine Wecker", SHOW), ("Welche Wecker habe ich gestellt?", SHOW),
    ("zeig die Wecker für morgen", SHOW), ("Show me my alarms", SHOW),
    ("Lösche alle meine Wecker", DELETE), ("lösch den Wecker für morgen früh", DELETE),
    ("Entferne bitte den Wecker um 7", DELETE), ("Delete my alarm for tomorrow", DELETE),
    ("Wo bleibt meine Zeitung?", NONE), ("Rechnung doppelt abgebucht", NONE),
]


def fitted() -> LexicalClassifier:
    texts, targets = zip(*DOCS)
    return LexicalClassifier().fit(list(texts), np.array(targets))


def test_the_verb_decides_between_sibling_questions():
    clf = fitted()
    p = clf.predict_proba(["Zeige alle Wecker", "Lösche alle Wecker", "delete all alarms"], n_articles=2)
    assert p.shape == (3, 3)                        # two articles and "no article"
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    assert p[0, SHOW] > p[0, DELETE]
    assert p[1, DELETE] > p[1, SHOW]
    assert p[2, DELETE] > p[2, SHOW]


def test_saved_arrays_give_the_same_probabilities(tmp_path):
    clf = fitted()
    path = tmp_path / "lexical.npz"
    np.savez(path, **clf.to_arrays())
    with np.load(path, allow_pickle=False) as z:   # plain arrays: no pickle needed to load them
        loaded = LexicalClassifier.from_arrays({k: z[k] for k in z.files})
    texts = ["Zeige alle Wecker", "Wecker löschen", "ganz andere Frage"]
    np.testing.assert_allclose(loaded.predict_proba(texts, 2), clf.predict_proba(texts, 2), rtol=1e-6)
    assert LexicalClassifier.from_arrays({}) is None


def test_deleted_articles_and_articles_beyond_the_index_get_nothing():
    clf = fitted()
    without = clf.without(np.array([DELETE]))
    p = without.predict_proba(["Lösche alle Wecker"], n_articles=2)
    assert p[0, DELETE] == 0.0 and abs(p[0].sum() - 1.0) < 1e-5
    assert clf.predict_proba(["Lösche alle Wecker"], n_articles=1).shape == (1, 2)


def test_too_little_to_learn_from_gives_no_classifier():
    assert fit_lexical(["nur eine Klasse", "immer noch eine"], np.array([0, 0])) is None
    assert fit_lexical(["", ""], np.array([0, 1])) is None     # no words at all


def test_own_transform_gives_the_vectorizers_numbers():
    clf = fitted()
    texts = ["Zeige alle Wecker", "", "ÄÖÜ straße, 12!!", "wecker wecker wecker löschen", "unbekannte Wörter"]
    np.testing.assert_allclose(clf.transform(texts).toarray(), clf.vectorizer_.transform(texts).toarray(),
                               atol=1e-6)
