"""How much of an inquiry's meaning its first article's words hold when the two are written in different
languages (an evidence feature). ``WordCover`` compares stems, which an English question and a German
article never share; here each of the inquiry's words is compared with every word of the article by a
multilingual model's vectors of the single words, and the cover is the mean of each word's best match. A
question about a paragraph the help center lacks shares its subject's words with a sister article, not
its particular ones (names, objects, numbers written out), whatever language it is asked in."""
from __future__ import annotations

import re
import threading
from collections.abc import Callable

import numpy as np

from deflect.text import STOP_WORDS

Encode = Callable[[list[str]], np.ndarray]   # words -> L2-normalised vectors of a multilingual model

_WORD = re.compile(r"[^\W\d_]{3,}")
_STOP = frozenset(w.lower() for w in STOP_WORDS)


def cover_words(text: str) -> list[str]:
    """The words of a text the cover compares: lower case, at least three letters, stop words left out
    (not folded: the model reads "Änderung", not "aenderung")."""
    return list(dict.fromkeys(w for w in _WORD.findall(text.lower()) if w not in _STOP))


class CrossCover:
    """The cover across languages (module docstring) for articles given by their words
    (``article_words[column]``). Word vectors are made on first use, with the model ``encode`` belongs to
    (named by ``model``: another model starts afresh); an article's words are kept while an article has
    them (``previous``: the instance before an index update), an inquiry's words only for the call (what
    customers type stays out of the process's memory: names, addresses)."""

    def __init__(self, article_words: list[list[str]], previous: CrossCover | None = None):
        self.article_words = article_words
        self.model: str | None = None
        self._vectors: dict[str, np.ndarray] = {}
        self._matrices: dict[int, np.ndarray] = {}
        # the serving threads and a calibration in the background share the caches; words are encoded
        # outside it, so that one caller's new article does not hold up another's known one
        self._guard = previous._guard if previous is not None else threading.Lock()
        if previous is not None:   # the words still in some article keep their vectors; a deleted one's go
            kept = {w for words in article_words for w in words}
            with self._guard:
                self.model = previous.model
                self._vectors = {w: v for w, v in previous._vectors.items() if w in kept}

    def cover(self, texts: list[str], columns: np.ndarray, encode: Encode, model: str) -> np.ndarray:
        """(n,) the mean over ``texts[i]``'s words of their best similarity to a word of the article in column
        ``columns[i]``; NaN where the text or the article has no such words."""
        asked = [cover_words(t) for t in texts]
        wanted = {int(c) for c, words in zip(columns, asked) if words and 0 <= c < len(self.article_words)}
        with self._guard:
            if model != self.model:
                self.model, self._vectors, self._matrices = model, {}, {}
            new = {w for c in wanted if c not in self._matrices for w in self.article_words[c]} - self._vectors.keys()
            unknown = {w for words in asked for w in words} - self._vectors.keys() - new
        new_vectors, query_vectors = self._encode(sorted(new), encode), self._encode(sorted(unknown), encode)
        out = np.full(len(texts), np.nan, np.float32)
        with self._guard:
            if model != self.model:   # another model came in meanwhile: these vectors are not its own
                return out
            self._vectors.update(new_vectors)
            for c in wanted - self._matrices.keys():
                words = self.article_words[c]
                if all(w in self._vectors for w in words):
                    self._matrices[c] = np.array([self._vectors[w] for w in words]) if words else np.zeros((0, 1))
            for i, (words, column) in enumerate(zip(asked, columns)):
                matrix = self._matrices.get(int(column))
                vectors = [self._vectors.get(w, query_vectors.get(w)) for w in words]
                if not words or matrix is None or not len(matrix) or any(v is None for v in vectors):
                    continue
                out[i] = float((np.array(vectors) @ matrix.T).max(axis=1).mean())
        return out

    @staticmethod
    def _encode(words: list[str], encode: Encode) -> dict[str, np.ndarray]:
        return dict(zip(words, encode(words))) if words else {}
