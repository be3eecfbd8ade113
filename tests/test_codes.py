"""What a customer names exactly -- error, product and tariff codes ("E-409", "XL-24"), a word only one
title holds: the article about it comes first, even where a sibling code's article has the question
variants and the ticket history."""
from __future__ import annotations

import pytest
from home_support import indexed_home

from deflect.deflector import Deflector
from deflect.formats import Article, Ticket
from deflect.index.article_text import ArticleTexts
from deflect.index.codes import codes

pytestmark = pytest.mark.slow


def test_codes_are_letters_and_digits_written_together_or_with_a_hyphen():
    assert codes("Was bedeutet Fehler E-409 im Portal? Tarif xl24, P17") == {"E409", "XL24", "P17"}
    for text in ("Wecker um 8am", "Hits der 70er", "die 24-Yard-Line", "KW 48", "Apollo 11", "Nr. 12345"):
        assert codes(text) == frozenset(), text


def test_a_search_of_one_or_two_words_names_the_one_article_whose_title_holds_them():
    articles = {a.id: a for a in [
        Article(id="paywall", title="Bezahlschranke trotz Abo: Plus-Artikel werden nicht angezeigt", body="x",
                language="de"),
        Article(id="epaper", title="E-Paper ohne Bezahlschranke lesen", body="x", language="de"),
        Article(id="plus", title="Was sind RZ-Plus-Artikel?", body="x", language="de"),
        Article(id="delivery", title="Zeitung nicht erhalten: Zustellung reklamieren", body="x", language="de"),
        Article(id="refund", title="Wann bekomme ich mein Geld zurück?", body="x", language="de"),
        Article(id="bank", title="Payment methods and changing your bank details", body="x", language="en"),
    ]}
    texts = ArticleTexts(articles, list(articles))
    searches = {"Zustellung": "delivery", "zustellung reklamieren": "delivery", "#Zustellung!": "delivery",
                "Bezahlschranke": None,             # two titles hold it
                "Plus-Artikel": None,               # "RZ-Plus-Artikel" holds it too
                "bekomme": None,                    # a verb: written in lower case, it names nothing
                "Bank": None,                       # only an English title holds it, in a German help center
                "Zustellung Bezahlschranke": None,  # no title holds both
                "Die Zustellung klappt seit Wochen nicht": None}   # a question the models read
    named = texts.named_matches(list(searches), len(articles))
    ids = list(articles)
    assert {s: ids[int(row.argmax())] if row.any() else None for s, row in zip(searches, named)} == searches


def _error_code_help_desk(tmp_path) -> Deflector:
    """A mobile provider's error-code articles: E-402 has question variants and twelve linked tickets, its
    body points to E-409; E-409 is a title and a body, no ticket yet."""
    articles = [
        Article(id="fehler-e402", title="Fehlermeldung E-402: Zahlung abgelehnt", language="de",
                questions=["Was bedeutet E-402?", "Zahlung abgelehnt E-402"],
                body="Die Bank hat die Zahlung abgelehnt. Prüfen Sie Ihre Bankverbindung im Kundenportal. "
                     "Nach drei abgelehnten Zahlungen wird der Anschluss gesperrt (siehe Fehler E-409)."),
        Article(id="fehler-e409", title="E-409: Anschluss gesperrt", language="de",
                body="Ist Ihr Anschluss mit dem Code E-409 gesperrt, liegt eine offene Forderung vor. Sobald der "
                     "Betrag eingegangen ist, wird die Sperre innerhalb von zwei Stunden aufgehoben."),
        Article(id="tarif-wechseln", title="Tarif wechseln", language="de",
                questions=["Wie wechsle ich meinen Tarif?"],
                body="Im Kundenportal unter Verträge können Sie jederzeit in einen größeren Tarif wechseln."),
    ]
    texts = ["Fehler E-402 beim Bezahlen", "Was heißt E-402 im Portal?", "E-402 Zahlung geht nicht",
             "Meine Zahlung wurde mit E-402 abgelehnt", "Kundenportal zeigt E-402", "E-402 was tun?",
             "Bekomme immer E-402", "Fehlermeldung E-402 seit gestern", "Warum E-402 bei Lastschrift?",
             "Zahlung abgelehnt Code E-402", "E-402 Fehler im Portal", "Was ist E-402"]
    tickets = [Ticket(id=f"t{i}", subject=t, body=t, resolution="Bankverbindung geprüft.", article_id="fehler-e402",
                      language="de") for i, t in enumerate(texts)]
    tickets += [Ticket(id="t-tarif", subject="Tarif", body="Wie wechsle ich in den größeren Tarif?",
                       resolution="Erklärt.", article_id="tarif-wechseln", language="de")]
    return Deflector.open(indexed_home(tmp_path / "home", articles, tickets))


def test_the_article_about_the_code_named_comes_first_and_is_shown(tmp_path):
    d = _error_code_help_desk(tmp_path)
    for text in ("Was bedeutet Fehler E-409 im Kundenportal?", "Fehler E-409", "e409"):
        s = d.suggest(text, k=3)
        assert s.articles[0].id == "fehler-e409", (text, s.articles)
        assert s.decision in ("answer", "suggest") and "fehler-e409" in [a.id for a in s.shown_articles()], s
    assert d.suggest("Was bedeutet E-402?", k=3).articles[0].id == "fehler-e402"
    d.close()
