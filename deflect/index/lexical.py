"""The lexical signal: BM25 over each article's own words (title, question variants, body), as a sparse
matrix, so that the words of an inquiry that embeddings blur -- product names, codes, numbers, rare
terms -- count as evidence. Tokens are folded (case, accents, German umlauts and ß) so that "Grösse",
"Größe" and "groesse" meet; long words add their character 4-grams as well, so that a part of a German
compound ("Lieferadresse" / "Adresse") or a word with a typo still shares tokens with the article.
"""
from __future__ import annotations

import re
import unicodedata

import numpy as np
from scipy import sparse

from deflect.formats import Article
from deflect.text import STOP_WORDS, markdown_to_text

K1, B = 1.2, 0.75           # the usual BM25 saturation and length normalisation
GRAM = 4                    # character n-grams of words at least GRAM_MIN_WORD long
GRAM_MIN_WORD = 7
GRAM_SHARE = 0.3            # the weight of a word's n-grams together, against 1 for the word itself
STEM, STEM_MIN = 5, 3       # WordCover: words of at least STEM_MIN letters, compared by their first STEM
_WORD = re.compile(r"[^\W_]+")
_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_COMBINING = re.compile(r"[\u0300-\u036f]")


def content_words(text: str) -> list[str]:
    """The words of a text that say what it is about (folded, stop words left out)."""
    return [w for w in _WORD.findall(fold(text)) if w not in FOLDED_STOP_WORDS]


def fold(text: str) -> str:
    """Lower case, German umlauts and ß spelled out, other accents dropped."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_FOLD)
    return text if text.isascii() else _COMBINING.sub("", unicodedata.normalize("NFKD", text))


FOLDED_STOP_WORDS = frozenset(fold(w) for w in STOP_WORDS)


def tokens(text: str) -> list[str]:
    """The words of a text (stop words left out) and the character n-grams of its long words."""
    words = content_words(text)
    grams = [f"#{w[i:i + GRAM]}" for w in words if len(w) >= GRAM_MIN_WORD for i in range(len(w) - GRAM + 1)]
    return words + grams


def stems(text: str) -> list[str]:
    """The word stems of a text for ``WordCover``: its content words of at least ``STEM_MIN`` letters, cut to
    ``STEM`` letters (so that "Verteidigung" and "Verteidigungsspieler", "Adresse" and "Adressen" meet)."""
    return [w[:STEM] for w in content_words(text) if len(w) >= STEM_MIN]


def article_words(article: Article) -> str:
    """An article's text for the lexical index: title, question variants and the whole body."""
    return "\n".join([article.title, *article.questions, markdown_to_text(article.body)])


class LexicalIndex:
    """BM25 scores of inquiries against a fixed set of documents (one per article), vectorised: the
    documents are one sparse (vocabulary x documents) matrix of BM25 term weights, an inquiry a sparse
    row of its tokens, and the scores of a batch one sparse product."""

    def __init__(self, documents: list[str | list[str]]):
        """``documents``: texts, or their ``tokens`` already (re-used across rebuilds by the caller)."""
        self.size = len(documents)
        self._vocabulary: dict[str, int] = {}
        rows, cols, counts = [], [], []
        lengths = np.zeros(len(documents), np.float32)
        for d, text in enumerate(documents):
            bag: dict[int, int] = {}
            for t in tokens(text) if isinstance(text, str) else text:
                j = self._vocabulary.setdefault(t, len(self._vocabulary))
                bag[j] = bag.get(j, 0) + 1
            rows += [d] * len(bag)
            cols += list(bag)
            counts += list(bag.values())
            lengths[d] = sum(bag.values())
        tf = sparse.csr_matrix((np.array(counts, np.float32), (rows, cols)),
                               shape=(len(documents), len(self._vocabulary)))
        df = np.bincount(tf.indices, minlength=tf.shape[1]).astype(np.float32)
        idf = np.log1p((len(documents) - df + 0.5) / (df + 0.5))
        norm = K1 * (1 - B + B * lengths / max(float(lengths.mean()) if len(lengths) else 1.0, 1e-6))
        weights = tf.copy()
        weights.data = weights.data * (K1 + 1) / (weights.data + np.repeat(norm, np.diff(tf.indptr)))
        weights = weights.multiply(idf[None, :]).tocsr()
        self._idf = idf
        gram = np.array([t.startswith("#") for t in self._vocabulary], bool)
        self._gram = gram
        self._weights = weights.T.tocsr()   # (vocabulary, documents)

    def scores(self, queries: list[str]) -> np.ndarray:
        """(n, documents) float32 BM25 scores; a word's n-grams together weigh ``GRAM_SHARE`` of it."""
        rows, cols, vals = [], [], []
        for i, text in enumerate(queries):
            found = [self._vocabulary.get(t) for t in dict.fromkeys(tokens(text))]
            found = [j for j in found if j is not None]
            n_grams = sum(self._gram[j] for j in found)
            long_words = sum(len(w) >= GRAM_MIN_WORD for w in content_words(text))
            gram_weight = GRAM_SHARE * long_words / max(n_grams, 1)
            for j in found:
                rows.append(i)
                cols.append(j)
                vals.append(gram_weight if self._gram[j] else 1.0)
        query = sparse.csr_matrix((np.array(vals, np.float32), (rows, cols)),
                                  shape=(len(queries), len(self._vocabulary)))
        return np.asarray((query @ self._weights).todense(), np.float32)

    def coverage_scores(self, queries: list[str]) -> np.ndarray:
        """(n, documents) BM25 scores divided by what a document holding each of the inquiry's tokens once
        (at average length) would score, clipped to 1: the share of the inquiry's word information a
        document matches. A token this index has never seen counts as the rarest word (a word the
        articles do not use is information no article matches), so a weak match stays weak however
        little else matched: no relative scaling makes the best of poor matches look decisive."""
        s = self.scores(queries)
        rarest = float(np.log1p((self.size + 0.5) / 0.5))
        full = np.zeros(len(queries), np.float32)
        for i, text in enumerate(queries):
            toks = list(dict.fromkeys(tokens(text)))
            long_words = sum(len(w) >= GRAM_MIN_WORD for w in content_words(text))
            n_grams = sum(t.startswith("#") for t in toks)
            gram_weight = GRAM_SHARE * long_words / max(n_grams, 1)
            for t in toks:
                j = self._vocabulary.get(t)
                full[i] += (gram_weight if t.startswith("#") else 1.0) * (self._idf[j] if j is not None else rarest)
        return np.clip(s / np.maximum(full, 1e-9)[:, None], 0.0, 1.0).astype(np.float32)


class WordCover:
    """How much of an inquiry's word information one given article holds: the idf-weighted share of the
    inquiry's stems (``stems``) found anywhere in the article. Unlike BM25 it neither saturates nor
    normalises by length, so it reads the same for a short FAQ entry and a long answer body: whether the
    inquiry's particular words -- not only its subject's -- are there. A stem no article holds counts as
    the rarest (information no article matches)."""

    def __init__(self, documents: list[frozenset[str]]):
        self.documents = documents
        df: dict[str, int] = {}
        for d in documents:
            for t in d:
                df[t] = df.get(t, 0) + 1
        n = len(documents)
        self._idf = {t: float(np.log((n + 1) / (c + 0.5))) for t, c in df.items()}
        self._rarest = float(np.log((n + 1) / 0.5))

    def cover(self, texts: list[str], columns: np.ndarray) -> np.ndarray:
        """(n,) the share of ``texts[i]``'s word information document ``columns[i]`` holds; 0 for a text
        without stems or a column without a document."""
        out = np.zeros(len(texts), np.float32)
        for i, (text, column) in enumerate(zip(texts, columns)):
            words = list(dict.fromkeys(stems(text)))
            if not words or not 0 <= column < len(self.documents):
                continue
            weights = np.array([self._idf.get(w, self._rarest) for w in words])
            held = np.array([w in self.documents[column] for w in words])
            out[i] = float(weights[held].sum() / weights.sum())
        return out
