"""The language guess that picks the draft's language, the model parts and the word lists."""
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

