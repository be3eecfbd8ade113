"""German words typed without umlauts, and German or English words typed with a typo, spelled as the help center
writes them before an inquiry is embedded.

Customers on keyboards without ä, ö, ü and ß write "kuendigen", "Rueckerstattung", "Groesse". The lexical
signal folds both spellings alike (``lexical.fold``), but the embedding models read "kuendigen" as another,
rarer word and find nothing. A word of a German or mixed inquiry is respelled only where the help center's
own texts hold the umlaut spelling and not the typed one, so English words and names stay as typed.

A word of a German or English inquiry from five letters on that is no German or English word (``Words``) and
that the help center's texts do not hold, one letter away from one they do ("kündgen", "Zeitnug",
"Lieferadrese", "withdrawl": a letter left out, added, changed or two swapped, inside the word), is spelled as
the help center's word: the one its texts use most, then the more common word of the inquiry's language; where
two are alike it stays as typed. In an English inquiry only to an English word: a German help center's words
are no spelling of an English question's ("parliment" is no "Parlament"). The models split an unknown word into
pieces that mean little; two such words in a short question and the article it asks for is not found. A real
word the help center does not use ("gekommen") is no typo of one it does ("bekommen").
"""
from __future__ import annotations

import gzip
import json
import re
import threading
from collections import Counter
from collections.abc import Iterable
from importlib import resources

import numpy as np

from deflect.index.lexical import FOLDED_STOP_WORDS, fold
from deflect.language import detect_language

_WORD = re.compile(r"[^\W\d_]+")
# Web addresses spell umlauts out ("rheinblick.example/kuendigen"): their words are no spelling of the text.
_ADDRESS = re.compile(r"(?:https?://|www\.)\S+|\b[\w.-]+\.[a-z]{2,}/\S*|\S+@\S+", re.I)
# ä, ö, ü spelled out; "ss" alone is left as typed: it is a German spelling of ß as often as an English
# word ("mass", "class", "pass").
_SPELLED_OUT = re.compile(r"ae|oe|ue")
# Shorter words are left as typed: one letter turns many a short name into a word ("Shen", "Zell", "CITA").
TYPO_MIN = 5
TYPO_LANGUAGES = ("de", "en")   # those whose word lists tell a typo from a word
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


class Words:
    """A language's words and how common each is: pyspellchecker's word list (German 339,000 words, English
    160,000), held as sorted hashes (8 MB; reading both leaves a process about 25 MB larger in all).
    ``Words.shared(language)``: one per process and language, read on first use (about 0.4 s)."""

    _shared: dict[str, Words] = {}
    _loading = threading.Lock()

    def __init__(self, frequencies: dict[str, int]):
        # str's hash differs between processes (PYTHONHASHSEED), never within one: the keys are made and read here
        table = np.fromiter(((hash(w), n) for w, n in frequencies.items()), np.dtype((np.int64, 2)), len(frequencies))
        order = np.argsort(table[:, 0])
        self._keys, self._counts = table[order, 0].copy(), table[order, 1].copy()

    def frequency(self, word: str) -> int:
        """How common the lower-case ``word`` is (0: not in the list)."""
        key = hash(word)
        i = int(np.searchsorted(self._keys, key))
        return int(self._counts[i]) if i < len(self._keys) and self._keys[i] == key else 0

    @classmethod
    def shared(cls, language: str) -> Words:
        with cls._loading:
            if language not in cls._shared:
                source = resources.files("spellchecker").joinpath(f"resources/{language}.json.gz")
                with source.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
                    cls._shared[language] = cls(json.load(text))
            return cls._shared[language]


class Respeller:
    """``respeller(text)``: ``text`` with its umlaut-less spellings and its typos of help-center words respelled;
    ``dictionaries``: the German and the English words (default ``Words.shared``, read on the first German or
    English inquiry with a word the help center does not hold); ``typos`` False: only umlauts typed out are
    respelled."""

    def __init__(self, texts: Iterable[str], dictionaries: tuple[Words, Words] | None = None, typos: bool = True):
        words: Counter[str] = Counter()
        for text in texts:
            words.update(w.lower() for w in _WORD.findall(_ADDRESS.sub(" ", text or "")))
        self._known = {w for w in words if w.isascii()}
        spellings: dict[str, str] = {}
        self._folded: Counter[str] = Counter()   # folded word -> how often the help center writes it
        self._written: dict[str, str] = {}        # folded word -> its most frequent spelling
        for word, count in words.most_common():   # the most frequent spelling of each folded form wins
            folded = fold(word)
            self._folded[folded] += count
            self._written.setdefault(folded, word)
            if not word.isascii():
                spellings.setdefault(folded, word)
        self._spellings = {plain: word for plain, word in spellings.items() if plain not in self._known}
        self._dictionaries = dictionaries
        self.typos = typos

    def __call__(self, text: str) -> str:
        if not self._folded:
            return text
        language = detect_language(text, default="")   # typos only where the text shows its language
        if language not in TYPO_LANGUAGES and not _SPELLED_OUT.search(text.lower()):
            return text
        return _WORD.sub(lambda match: self._word(match, language), text)

    def _word(self, match: re.Match, language: str) -> str:
        typed = match.group()
        low = typed.lower()
        word = self._spellings.get(low) if language != "en" and low.isascii() and _SPELLED_OUT.search(low) \
            and low not in self._known else None
        folded = fold(low)
        if word is None and self.typos and language in TYPO_LANGUAGES and len(low) >= TYPO_MIN \
                and folded not in self._folded:
            german, english = self._languages()
            if not german.frequency(low) and not english.frequency(low):   # "Black Metal" is no typo
                word = self._typo_of(folded, german) if language == "de" else self._typo_of(folded, english, True)
        if word is None:
            return typed
        if typed.isupper() and len(typed) > 1:
            return word.upper()
        return word.capitalize() if typed[0].isupper() else word

    def _typo_of(self, folded: str, common: Words, listed: bool = False) -> str | None:
        """The help center's word one edit inside an unknown ``folded`` word (None: a stop word, no such word, or
        no single most common one), the more common one in ``common`` first; ``listed``: only a word ``common``
        holds (an English question to a German help center: "parliment" is no typo of "Parlament")."""
        if folded in FOLDED_STOP_WORDS or not folded.isascii():
            return None
        ranked = sorted(((self._folded[w], common.frequency(self._written[w]), w) for w in _one_edit(folded)
                         if w in self._folded and len(w) >= TYPO_MIN - 1 and w not in FOLDED_STOP_WORDS
                         and _inside(folded, w)), reverse=True)
        if listed:
            ranked = [r for r in ranked if r[1]]
        if not ranked or (len(ranked) > 1 and ranked[0][:2] == ranked[1][:2]):
            return None
        return self._written[ranked[0][2]]

    def _languages(self) -> tuple[Words, Words]:
        if self._dictionaries is None:
            self._dictionaries = (Words.shared("de"), Words.shared("en"))
        return self._dictionaries


def _inside(typed: str, word: str) -> bool:
    """Whether the one edit between ``typed`` and ``word`` lies inside the word: the first letters alike (a
    customer rarely mistypes the first; "Hoesung" is no "Lösung") and not only the end (German inflects there:
    "Umweltschützern" is a form of "Umweltschützer", which the models read as such, no typo)."""
    return typed[0] == word[0] and typed[:-1] != word[:-1] and not typed.startswith(word) \
        and not word.startswith(typed)


def _one_edit(word: str) -> set[str]:
    """The strings one letter left out, added, changed or two neighbours swapped away from ``word``."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return ({a + b[1:] for a, b in splits if b}
            | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
            | {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
            | {a + c + b for a, b in splits for c in _LETTERS}) - {word}
