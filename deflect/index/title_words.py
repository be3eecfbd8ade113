"""Words that name one article: a search of one or two words found whole in one article's title only.

A search of one or two words ("Bezahlschranke", "Zustellung") gives the models too little to go on: they
answered "Bezahlschranke" with the refund article at 0.87 while one article's title holds that very word.
Such a word names that article the way a code does (``CODE_BONUS`` in the engine); a longer inquiry, a
question, is the models' to read. What names an article (every word of the search in its title, one of them naming it):
- a word written between spaces, of at least ``MIN_LETTERS`` letters, no stop word; in a German title a
  capitalised one (a noun: "bekomme" or "welchen" name nothing);
- that no other title holds, not even as a part of a hyphenated word: "Artikel" does not name "Fehler im
  Artikel melden" while another title says "RZ-Plus-Artikel", and "Adresse" names no article beside
  "E-Mail-Adresse im Kundenkonto ändern" (a customer moving house means another one).
"""
from __future__ import annotations

from deflect.index.lexical import FOLDED_STOP_WORDS, fold

MIN_LETTERS, MAX_WORDS = 4, 2
_PUNCTUATION = "\"'.,:;!?()[]{}<>«»„“”‚‘’…/#*_+~-"


def _words(text: str) -> list[tuple[str, str]]:
    """(as written, folded) for each word between spaces, punctuation around it stripped."""
    out = []
    for token in text.split():
        token = token.strip(_PUNCTUATION)
        folded = fold(token)
        if folded and folded not in FOLDED_STOP_WORDS:
            out.append((token, folded))
    return out


def naming_words(title: str, language: str) -> frozenset[str]:
    """The folded words of a title that can name its article (see above)."""
    german = (language or "").lower().startswith("de")
    return frozenset(folded for written, folded in _words(title)
                     if len(folded) >= MIN_LETTERS and (not german or written[:1].isupper()))


def held_words(title: str) -> frozenset[str]:
    """Every word a title holds, whole or as a run of the parts of a hyphenated word ("rz-plus-artikel" holds
    "plus-artikel" and "artikel")."""
    out = set()
    for _, folded in _words(title):
        parts = folded.split("-")
        out.update("-".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1))
    return frozenset(out)


class TitleWords:
    """Which article, if any, a short search names, over the titles in the index's column order."""

    def __init__(self, naming: list[frozenset[str]], held: list[frozenset[str]]):
        self._naming: dict[str, set[int]] = {}
        self._held: dict[str, set[int]] = {}
        for column, (words, holds) in enumerate(zip(naming, held)):
            for word in words:
                self._naming.setdefault(word, set()).add(column)
            for word in holds:
                self._held.setdefault(word, set()).add(column)

    def named(self, text: str, allowed: set[int] | None = None) -> int | None:
        """The column of the one article ``text`` names (among ``allowed`` columns, default all), else None."""
        if len(text.split()) > MAX_WORDS:
            return None
        words = {folded for _, folded in _words(text)}
        if not words or min(map(len, words)) < MIN_LETTERS:
            return None
        named = [self._naming[w] for w in words if w in self._naming]   # the other words need only be held
        if not named:
            return None
        naming = set.intersection(*named)
        holding = set.intersection(*(self._held.get(w, set()) for w in words))
        if allowed is not None:
            naming, holding = naming & allowed, holding & allowed
        return next(iter(naming)) if len(naming) == 1 and holding == naming else None
