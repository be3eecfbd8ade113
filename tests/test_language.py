"""The language guess that picks the draft's language, the model parts, the word lists and the gap report's
"translate" advice."""
import pytest

from deflect.language import detect_language


@pytest.mark.parametrize("text", ["App zeigt E 409 an", "Zeige alle Wecker an", "Zeitung kommt nicht an.",
                                  "Login geht seit gestern nicht"])
def test_short_german_texts_are_german(text):
    assert detect_language(text, default="en") == "de"


@pytest.mark.parametrize("text", ["set an alarm for 7", "How do I cancel an order?", "I want to open an account",
                                  "my paper did not come today",
                                  "Charged twice, need an\nexplanation"])   # a line wrapped after "an"
def test_english_texts_stay_english(text):
    assert detect_language(text) == "en"



@pytest.mark.parametrize("text, language", [
    ("Quiero cancelar mi suscripción", "es"), ("Bonjour, je n'ai pas reçu mon journal aujourd'hui", "fr"),
    ("Il mio giornale non è arrivato oggi", "it"), ("Meu jornal não chegou hoje", "pt"),
    ("Mijn krant is vandaag niet bezorgd", "nl"), ("Dzień dobry, gazeta nie przyszła", "pl"),
    ("Merhaba, gazetem bugün gelmedi", "tr"), ("Моя газета не пришла", "ru"),
    ("Моя газета не прийшла сьогодні", "uk"), ("صحيفتي لم تصل اليوم", "ar"), ("我的报纸今天没有来", "zh"),
    ("新聞が届きません", "ja"), ("신문이 안 왔어요", "ko"), ("Η εφημερίδα δεν ήρθε", "el")])
def test_a_text_plainly_in_a_third_language_is_named_so(text, language):
    assert detect_language(text) == language


@pytest.mark.parametrize("text, language", [
    ("Zahlung von Peña ist nicht angekommen", "de"), ("Herr Muñoz fragt nach der Rechnung", "de"),
    ("Café de la Paix: kann ich dort das Abo bezahlen?", "de"), ("info@rheinblick.com hat nicht geantwortet", "de"),
    ("Ludwig van Beethoven Sonderheft bestellen", "de"), ("Can I pay with PayPal in El Salvador?", "en"),
    ("Meine Zeitung (Алексей Петров, Kd.-Nr. 4711) kam heute nicht", "de"), ("Ich hab ne Frage zum Abo", "de"),
    ("Das Abonnement", "de"), ("When will my paper come?", "en")])
def test_names_and_addresses_from_another_language_leave_the_text_german_or_english(text, language):
    assert detect_language(text) == language
