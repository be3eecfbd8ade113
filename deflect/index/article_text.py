"""What the engine derives from its articles' texts when it loads: the body passages by text hash (for
snippets) and the word-match (BM25) evidence over each article's words, with the articles' languages."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from deflect.formats import Article
from deflect.index.documents import BODY, article_texts, passage_of
from deflect.index.lexical import LexicalIndex, article_words, tokens
from deflect.language import detect_language
from deflect.text import text_hash

CROSS_LANGUAGE_SHARE = 0.5  # share of the word-match evidence where the inquiry's language is not the article's
# The word statistics (idf) come from all articles together, so a word of a language few articles are written
# in looks rare and decisive ("newspaper" among German articles): word-match evidence counts for articles in
# the help center's main language only.


@dataclass(frozen=True)
class _Derived:
    key: str
    passages: dict[str, str]
    tokens: list[str]


class ArticleTexts:
    """Passages and word-match evidence of the articles, in the order of the index's article columns.
    An unchanged article's passages and tokens are taken over from ``previous`` (a live update then
    re-reads only the changed article)."""

    def __init__(self, articles: dict[str, Article], article_ids: list[str], previous: ArticleTexts | None = None):
        cache = previous._cache if previous is not None else {}
        derived = {a.id: _derive(a, cache) for a in articles.values()}
        self._cache = {d.key: d for d in derived.values()}
        self.passages = {h: p for d in derived.values() for h, p in d.passages.items()}
        self._tokens = [derived[a].tokens if a in derived else [] for a in article_ids]
        self._lexical: LexicalIndex | None = None   # built on first use: the word-match evidence is a setting
        self._language = np.array([articles[a].language if a in articles else "" for a in article_ids], dtype=object)
        known = Counter(lang for lang in self._language if lang)
        main = known.most_common(1)[0][0] if known else ""
        self._counted = (self._language == main) | (self._language == "")

    def lexical_scores(self, texts: list[str] | None, n: int, n_articles: int) -> np.ndarray:
        """(n, n_articles) BM25 scores relative to each inquiry's best article, for articles in the help
        center's main language, weighed down where the inquiry is (detectably) in another language than
        the article; 0 without texts."""
        if texts is None or not self._tokens:
            return np.zeros((n, n_articles), np.float32)
        if self._lexical is None:
            self._lexical = LexicalIndex(self._tokens)
        texts = list(texts)
        lex = self._lexical.relative_scores(texts, self._counted)
        asked = np.array([detect_language(t, default="") for t in texts], dtype=object)
        other = (asked[:, None] != self._language[None, :]) & (asked[:, None] != "") & (self._language[None, :] != "")
        lex = np.where(other, CROSS_LANGUAGE_SHARE * lex, lex).astype(np.float32)
        return np.pad(lex, ((0, 0), (0, n_articles - lex.shape[1])))


def _derive(article: Article, cache: dict[str, _Derived]) -> _Derived:
    key = text_hash("\0".join([article.id, article.title, *article.questions, article.body]))
    if key in cache:
        return cache[key]
    passages = {text_hash(t): passage_of(t) for kind, t in article_texts(article) if kind == BODY}
    return _Derived(key, passages, tokens(article_words(article)))
