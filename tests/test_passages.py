"""Article bodies as passages, the lexical evidence, and the best passage as the snippet of a hit."""
from __future__ import annotations

import numpy as np

from deflect.deflector import Deflector
from deflect.formats import Article
from deflect.index.article_text import ArticleTexts
from deflect.index.documents import BODY, BODY_CHARS, PASSAGE_CHARS, article_texts, body_passages
from deflect.index.lexical import LexicalIndex, tokens

SENTENCES = [f"Sentence number {i} talks about topic {i} in some detail and a few more words." for i in range(30)]


def test_a_short_body_is_one_passage_and_a_long_one_overlapping_windows_of_whole_sentences():
    assert body_passages("A short answer. Two sentences.") == ["A short answer. Two sentences."]
    passages = body_passages(" ".join(SENTENCES))
    assert len(" ".join(SENTENCES)) > BODY_CHARS and len(passages) > 3
    assert all(len(p) <= PASSAGE_CHARS + 100 for p in passages)
    assert all(s in " ".join(passages) for s in SENTENCES)   # nothing is lost
    for before, after in zip(passages, passages[1:]):        # each starts with the last sentence of the one before
        assert before.endswith(after.split(". ")[0] + ".")
    docs = article_texts(Article(id="a", title="Long", body=" ".join(SENTENCES), language="en"))
    assert [t for k, t in docs if k == BODY] == [f"Long\n{p}" for p in passages]


def test_lexical_index_matches_codes_umlauts_and_parts_of_compounds():
    index = LexicalIndex(["Fehlercode E-4711 beim Drucker", "Lieferadresse ändern nach dem Umzug",
                          "Größe des Pakets", "Rechnung herunterladen"])
    assert np.argmax(index.scores(["was heisst E-4711"])[0]) == 0
    assert np.argmax(index.scores(["groesse"])[0]) == 2
    assert np.argmax(index.scores(["neue Adresse"])[0]) == 1       # a part of the compound
    assert np.argmax(index.scores(["Rechnnung herunterlden"])[0]) == 3   # typos
    coverage = index.coverage_scores(["Rechnung", "zzz", "Rechnung zzz"])
    assert coverage[0].max() > 0.8 and not coverage[1].any() and 0 < coverage[2].max() < 0.5
    assert "und" not in tokens("Rechnung und Mahnung")


def test_word_match_evidence_is_per_language_and_never_draws_a_question_to_a_few_articles_of_its_language():
    """Word statistics and matching per article language: a German question is matched against the German
    articles by their statistics; an English question in a mostly German help center gets no word evidence
    (it could only be compared with the few English articles, which would then win by their words)."""
    articles = {a.id: a for a in [
        Article("de-zustellung", "Zeitung nicht zugestellt", "Fehlt die Zeitung, liefern wir sie nach.", "de"),
        Article("de-kuendigung", "Abo kündigen", "Die Kündigungsfrist beträgt einen Monat.", "de"),
        Article("en-delivery", "International delivery", "The newspaper is delivered abroad by post.", "en"),
    ]}
    texts = ArticleTexts(articles, list(articles))
    assert not texts.lexical_scores(["The newspaper was not delivered"], 1, 3).any()
    german = texts.lexical_scores(["Zeitung wurde nicht zugestellt"], 1, 4)
    assert german.shape == (1, 4) and german[0, 0] > 0.5 and german[0, 1] == 0.0 and german[0, 2] == 0.0
    assert texts.lexical_scores(["E-4711"], 1, 3).shape == (1, 3)   # uncertain language: all articles compared
    assert not texts.lexical_scores(None, 2, 3).any()


def test_an_answer_deep_in_a_long_body_is_found_and_shown_as_the_snippet(demo_home):
    answer = "Den Lesezeichen-Export für die Kiosk-App finden Sie unter Menü, Extras, Sichern."
    body = " ".join(SENTENCES[:12] + [answer] + SENTENCES[12:])
    deflector = Deflector.open(demo_home)
    try:
        deflector.upsert_article(Article(id="handbuch", title="Handbuch der Kiosk-App", body=body, language="de"))
        result = deflector.suggest("Wie exportiere ich meine Lesezeichen in der Kiosk-App?")
        assert result.articles[0].id == "handbuch"
        assert "Lesezeichen-Export" in result.articles[0].snippet
        no_body = [a for a in deflector.suggest("Rechnung als PDF").articles if a.id != "handbuch"]
        assert all(a.snippet is None or a.snippet for a in no_body)
    finally:
        deflector.close()


def test_an_article_longer_than_its_passages_reach_is_named():
    from deflect.index.documents import cut_short

    manual = " ".join(f"Abschnitt {i} erklärt etwas Wichtiges zur Zustellung." for i in range(800))
    articles = [Article(id="handbuch", title="Handbuch", body=manual, language="de"),
                Article(id="kurz", title="Kurz", body="Ein Satz.", language="de")]
    assert cut_short(articles) == ["handbuch"]
