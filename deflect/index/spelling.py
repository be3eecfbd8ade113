"""German words typed without umlauts, spelled as the help center writes them before an inquiry is embedded.

Customers on keyboards without ä, ö, ü and ß write "kuendigen", "Rueckerstattung", "Groesse". The lexical
signal folds both spellings alike (``lexical.fold``), but the embedding models read "kuendigen" as another,
rarer word and find nothing. A word of a German or mixed inquiry is respelled only where the help center's
own texts hold the umlaut spelling and not the typed one, so English words and names stay as typed.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from deflect.index.lexical import fold
from deflect.language import detect_language

_WORD = re.compile(r"[^\W\d_]+")
# Web addresses spell umlauts out ("rheinblick.example/kuendigen"): their words are no spelling of the text.
_ADDRESS = re.compile(r"(?:https?://|www\.)\S+|\b[\w.-]+\.[a-z]{2,}/\S*|\S+@\S+", re.I)
# ä, ö, ü spelled out; "ss" alone is left as typed: it is a German spelling of ß as often as an English
# word ("mass", "class", "pass").
_SPELLED_OUT = re.compile(r"ae|oe|ue")


class Respeller:
    """``respeller(text)``: ``text`` with its umlaut-less spellings of help-center words respelled."""

    def __init__(self, texts: Iterable[str]):
        words: Counter[str] = Counter()
        for text in texts:
            words.update(w.lower() for w in _WORD.findall(_ADDRESS.sub(" ", text or "")))
        self._known = {w for w in words if w.isascii()}
        spellings: dict[str, str] = {}
        for word, _ in words.most_common():   # the most frequent spelling of each folded form wins
            if not word.isascii():
                spellings.setdefault(fold(word), word)
        self._spellings = {plain: word for plain, word in spellings.items() if plain not in self._known}

    def __call__(self, text: str) -> str:
        if not self._spellings or not _SPELLED_OUT.search(text.lower()) or detect_language(text) == "en":
            return text
        return _WORD.sub(self._word, text)

    def _word(self, match: re.Match) -> str:
        typed = match.group()
        low = typed.lower()
        if not low.isascii() or not _SPELLED_OUT.search(low) or low in self._known:
            return typed
        word = self._spellings.get(low)
        if word is None:
            return typed
        return word.capitalize() if typed[0].isupper() else word
