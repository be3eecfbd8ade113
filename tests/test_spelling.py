"""Umlauts typed out ("kuendigen") are spelled as the help center writes them before an inquiry is embedded."""
from __future__ import annotations

from deflect.index.spelling import Respeller

HELP_CENTER = ["Abo kündigen", "Wie kündige ich? Gehen Sie auf rheinblick.example/kuendigen", "Kündigung",
               "Größe der Zeitung", "Museum und Maße", "Queue and issue"]


def test_typed_out_umlauts_take_the_help_centers_spelling():
    respell = Respeller(HELP_CENTER)
    assert respell("kuendigen bitte") == "kündigen bitte"     # the web address holds no spelling
    assert respell("Kuendigung zum Monatsende") == "Kündigung zum Monatsende"
    assert respell("Groesse") == "Größe"


def test_english_words_names_and_known_spellings_stay_as_typed():
    respell = Respeller(HELP_CENTER)
    for text in ("mass production", "Museum", "how do I kuendigen my queue", "Strasse", "Masse"):
        assert respell(text) == text
    assert Respeller([])("kuendigen") == "kuendigen"
