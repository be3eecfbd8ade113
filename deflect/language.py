"""A tiny, dependency-free language guess for short customer texts: German or English by stop words, and
another language only where the text shows it plainly (its script, or that language's own words and letters)."""
from __future__ import annotations

import re

_WORD = re.compile(r"[a-zäöüß]+")
_DE = set("""der die das und ist nicht ich mein meine meinen meiner mir mich sie wir ein eine einen
wie was warum wann wo kann können habe hat haben wird werden bitte danke mit für auf von zu zum zur
im ist es auch noch schon nur bei aus nach über oder aber wenn dass dem den des kein keine sich
sind war ihr ihre ihren uns unser abo zeitung rechnung kündigen kündigung lastschrift
geht zeigt kommt bekomme erhalte funktioniert klappt seit heute gestern immer""".split())
_EN = set("""the and is not my me we a an how what why when where can could have has will would
please thanks thank with for on of to in it also only at from after about or but if that this
do does did be been no are was your our you i subscription paper invoice cancel card account""".split())

# Scripts no German or English text is written in: where most of a text's letters are in one, its language.
# Cyrillic with Ukrainian letters is Ukrainian, Arabic script with Persian letters Persian; kana before Han.
_SCRIPTS = (("uk", "[\u0400-\u04ff]", "[іїєґ]"), ("ru", "[\u0400-\u04ff]", None), ("el", "[\u0370-\u03ff]", None),
            ("he", "[\u0590-\u05ff]", None), ("fa", "[\u0600-\u06ff]", "[پچژگ]"), ("ar", "[\u0600-\u06ff]", None),
            ("ja", "[\u3040-\u30ff]", None), ("ko", "[\uac00-\ud7af\u1100-\u11ff]", None),
            ("zh", "[\u4e00-\u9fff]", None), ("th", "[\u0e00-\u0e7f]", None))
_LATIN = re.compile(r"[a-zß-öø-ÿā-ž]")
# Latin-script languages customers of a German help desk write in: their own function words and common words
# of a service request, none of them a German or English word ("die", "du", "um", "per", "des", "das", "da",
# "do", "as", "met", "come", "abonnement" and the like are left out), and letters German and English do not
# use (counting twice, as umlauts do for German). Web and mail addresses are dropped first: "example.com" is
# no Portuguese "com".
_OTHER = {
    "es": ("""el la los las que por para con una mi mis está estoy qué cómo cuándo dónde pero del al se su lo muy
           hola gracias quiero puedo tengo periódico suscripción hoy llegó""", "ñ¿¡"),
    "fr": ("""le la les une est et je vous nous pas mon ma mes que qui pour avec dans sur bonjour merci journal
           ne il elle ce cette suis ai reçu aujourd hui""", "œ"),
    "it": ("""il lo gli della delle che non sono è mio mia con una quando dove grazie buongiorno giornale
           abbonamento ho perché oggi arrivato""", ""),
    "pt": ("""não é uma meu minha para que dos obrigado olá jornal assinatura está você hoje chegou""", "ãõ"),
    "nl": ("""het een ik niet mijn van dat wat hoe waarom wanneer krant heb hebben wordt geen bij voor
           naar ook nog alstublieft bedankt graag vandaag ontvangen""", "ĳ"),
    "pl": ("""nie jest się że jak czy mój moja mam dzień dobry dziękuję proszę gazeta prenumerata już tylko bardzo
           mnie jestem został""", "łąęśźżćń"),
    "tr": ("""bir ve bu için ile değil ben benim gazete abonelik nasıl neden merhaba teşekkürler lütfen yok çok
           ama gibi daha istiyorum gelmedi bugün""", "şğı"),
}
_ORDER = {lang: i for i, lang in enumerate(_OTHER)}   # ties go to the language listed first
_LANGUAGES_OF: dict[str, list[str]] = {}   # word -> the languages above it is a word of
for _language, (_words, _letters) in _OTHER.items():
    for _word in _words.split():
        _LANGUAGES_OF.setdefault(_word, []).append(_language)
del _language, _words, _letters, _word
_OTHER_WORD = re.compile(r"[^\W\d_]+")
_NOT_LATIN = re.compile("[\u0370-\u06ff\u0e00-\u0e7f\u1100-\u11ff\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]")
_MAYBE_ADDRESS = re.compile(r"@|[.:]\w")
_ADDRESS = re.compile(r"\S*(?:@|://|www\.)\S*|\S+\.(?:com|org|net|de|at|ch|eu|example)\b\S*")

# The languages the guess can name, in English and in German (agents' notes and pages name them).
NAMES = {"de": ("German", "Deutsch"), "en": ("English", "Englisch"), "es": ("Spanish", "Spanisch"),
         "fr": ("French", "Französisch"), "it": ("Italian", "Italienisch"), "pt": ("Portuguese", "Portugiesisch"),
         "nl": ("Dutch", "Niederländisch"), "pl": ("Polish", "Polnisch"), "tr": ("Turkish", "Türkisch"),
         "ru": ("Russian", "Russisch"), "uk": ("Ukrainian", "Ukrainisch"), "el": ("Greek", "Griechisch"),
         "he": ("Hebrew", "Hebräisch"), "ar": ("Arabic", "Arabisch"), "fa": ("Persian", "Persisch"),
         "ja": ("Japanese", "Japanisch"), "ko": ("Korean", "Koreanisch"), "zh": ("Chinese", "Chinesisch"),
         "th": ("Thai", "Thailändisch")}

# "an" closing a clause is a German verb particle ("Die App zeigt E 409 an."), the English article never is.
_PARTICLE_AN = re.compile(r"\ban\s*(?:[.!?,;:)]|\Z)")


def detect_language(text: str, default: str = "de") -> str:
    """Return ``"de"`` or ``"en"`` from stop-word counts (umlauts count as German), or another ISO 639-1
    code where the text is plainly in another language; ``default`` where German and English tie."""
    lowered = text.lower()
    plain = lowered.isascii()   # no other script, no accented letter
    script = None if plain else _script(lowered)
    if script:
        return script
    words = _WORD.findall(lowered)
    particles = len(_PARTICLE_AN.findall(lowered))
    de = sum(w in _DE for w in words) + 2 * len(re.findall(r"[äöüß]", lowered)) + particles
    en = sum(w in _EN for w in words) - particles
    other, score = _other_latin(lowered, words if plain else None)
    if other and score > max(de, en, 1):
        return other
    if de == en:
        return default
    return "de" if de > en else "en"


def _script(lowered: str) -> str | None:
    """The language of a text written mostly in a script German and English are not written in."""
    if not _NOT_LATIN.search(lowered):
        return None
    latin = len(_LATIN.findall(lowered))
    for lang, letters, marks in _SCRIPTS:
        n = len(re.findall(letters, lowered))
        if n and n > latin and (marks is None or re.search(marks, lowered)):
            return lang
    return None


def _other_latin(lowered: str, plain_words: list[str] | None = None) -> tuple[str | None, int]:
    """The Latin-script language other than German and English with the most evidence, and that evidence
    (none without one of its words: a name such as "Peña" in a German text is no Spanish). ``plain_words``:
    the words of a text without accented letters (so none of those languages' letters either)."""
    own: dict[str, int] = {}
    words = plain_words
    if words is None or _MAYBE_ADDRESS.search(lowered):
        words = _OTHER_WORD.findall(_ADDRESS.sub(" ", lowered))
    for w in words:
        for lang in _LANGUAGES_OF.get(w, ()):
            own[lang] = own.get(lang, 0) + 1
    best, best_score = None, 0
    for lang, count in own.items():
        letters = _OTHER[lang][1]
        score = count + (2 * sum(lowered.count(c) for c in letters) if letters and plain_words is None else 0)
        if score > best_score or (score == best_score and best is not None and _ORDER[lang] < _ORDER[best]):
            best, best_score = lang, score
    return best, best_score
