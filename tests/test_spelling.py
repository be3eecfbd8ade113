"""Umlauts typed out ("kuendigen") and typos of the help center's words ("kündgen", "delivred") are spelled as the
help center writes them before an inquiry is embedded; real words, words of the other language and names stay as
typed."""
from __future__ import annotations

from deflect.index.spelling import Respeller, Words

HELP_CENTER = ["Abo kündigen", "Wie kündige ich? Gehen Sie auf rheinblick.example/kuendigen", "Kündigung",
               "Größe der Zeitung", "Museum und Maße", "Queue and issue"]
NEWSPAPER = ["Zeitung nicht erhalten", "Lieferadresse ändern", "Abo kündigen", "Wann bekommen Sie die Rechnung?",
             "Passwort vergessen", "Passwort vergeben", "Die Zeitung wird zugestellt"]


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


def test_a_typo_of_a_help_center_word_takes_its_spelling():
    respell = Respeller(NEWSPAPER)
    assert respell("Wie kann ich mein Abo kündgen?") == "Wie kann ich mein Abo kündigen?"
    assert respell("Meine Zeitnug ist nicht da") == "Meine Zeitung ist nicht da"          # two letters swapped
    assert respell("Ich will die Lieferadrese ändern") == "Ich will die Lieferadresse ändern"
    assert respell("ICH WILL DIE LIEFERADRESE ÄNDERN") == "ICH WILL DIE LIEFERADRESSE ÄNDERN"
    # "vergessen" or "vergeben", each once in the help center: the more common German word
    assert respell("Ich habe mein Passwort vergesen") == "Ich habe mein Passwort vergessen"


def test_a_typo_of_two_words_alike_stays_as_typed():
    nothing = Words({})   # no word list: only the help center's counts tell, and they are alike
    assert Respeller(NEWSPAPER, (nothing, nothing))("Ich habe mein Passwort vergesen") == \
        "Ich habe mein Passwort vergesen"


def test_real_words_names_short_words_and_english_questions_are_no_typos():
    respell = Respeller(NEWSPAPER)
    for text in ("Die Zeitung ist nicht gekommen",        # a German word, though the help center writes "bekommen"
                 "Ich höre gern Black Metal und die Zeitung",   # English words in a German question
                 "Ist die Zeitung zu"):                   # too short to tell a typo from another word
        assert respell(text) == text


def test_an_english_question_is_respelled_only_to_english_words():
    english = Respeller(["Where is my delivery?", "The newspaper was not delivered", "Card payment declined"])
    assert english("my newspaper was not delivred") == "my newspaper was not delivered"
    assert english("why was my payment decliend") == "why was my payment declined"
    german = Respeller(["Das Parlament und die Zeitung", "Was macht das Parlament?"])
    assert german("what does the parliment do") == "what does the parliment do"   # no typo of a German word


def test_the_word_lists_know_common_words_of_either_language():
    german, english = Words.shared("de"), Words.shared("en")
    assert german.frequency("gekommen") > german.frequency("kündigen") > 0 and german.frequency("kündgen") == 0
    assert english.frequency("delivered") > 0 and english.frequency("delivred") == 0


def test_typo_respelling_can_be_switched_off():
    from deflect import settings

    assert settings.load(env={})["typo_respelling"] == "on"
    assert settings.load(env={"DEFLECT_TYPO_RESPELLING": "off"})["typo_respelling"] == "off"
    respell = Respeller(NEWSPAPER, typos=False)
    assert respell("Die Lieferadrese ändern") == "Die Lieferadrese ändern"
    assert Respeller(HELP_CENTER, typos=False)("kuendigen bitte") == "kündigen bitte"   # umlauts still
