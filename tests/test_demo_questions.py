"""The demo help center (`make demo`: faq_articles/ with its tickets, indexed and calibrated from the
ticket history) tried as a new user would: each question must get its article shown, as the answer or
among the articles that might help."""
from __future__ import annotations

import pytest

# (question, the article a reader expects); none of these phrasings is in faq_articles/.
QUESTIONS = [
    ("Ich ziehe um", "zustellung-umzug"),
    ("Zeitnug kam nicht an", "zustellung-zeitung-fehlt"),
    ("Ich möchte meine Adresse ändern", "zustellung-umzug"),
    ("I moved, how do I change my address?", "zustellung-umzug"),   # English, on a German article
    ("Abo pausieren", "zustellung-urlaubsservice"),
    ("kuendigen", "kuendigung-abo"),                              # typed without umlauts
    ("Wie kann ich mein Abbo kündgen", "kuendigung-abo"),          # two typos
    ("Adresse aendern", "zustellung-umzug"),
    ("Bezahlschranke", "digital-paywall-trotz-abo"),   # one word, only that title holds it
    ("Zustellung", "zustellung-zeitung-fehlt"),
    # customers writing neither German nor English find the article in either
    ("Bonjour, je voudrais résilier mon abonnement", "en-cancel-subscription"),
    ("Merhaba, gazetem bugün gelmedi", "zustellung-zeitung-fehlt"),
    ("Моя газета не пришла сегодня", "zustellung-zeitung-fehlt"),
]


@pytest.mark.parametrize(("question", "article"), QUESTIONS)
def test_demo_question_gets_its_article_as_answer_or_suggestion(demo_deflector, question, article):
    s = demo_deflector.suggest(question, k=3)
    shown = [a.id for a in s.shown_articles()]
    assert s.decision in ("answer", "suggest") and article in shown, (s.decision, s.confidence, s.articles)


def test_demo_questions_outside_the_help_center_get_no_article(demo_deflector):
    for question in ("What is the capital of France?", "Rezept für Apfelkuchen",
                     "Wo finde ich im E-Paper die Lösung vom Kreuzworträtsel?"):
        s = demo_deflector.suggest(question, k=3)
        assert s.decision == "no_answer" and not s.shown_articles(), (question, s)


@pytest.mark.parametrize("question", ["Rechnung herunterladen", "Zeitung nicht gekommen", "Umzug"])
def test_a_question_typed_in_capitals_is_answered_as_in_lower_case(demo_deflector, question):
    calm, shouted = demo_deflector.suggest(question, k=3), demo_deflector.suggest(question.upper(), k=3)
    assert (shouted.decision, [a.id for a in shouted.shown_articles()]) == \
        (calm.decision, [a.id for a in calm.shown_articles()])
