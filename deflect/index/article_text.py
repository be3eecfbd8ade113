"""What the engine derives from its articles' texts when it loads: the body passages by text hash (for
snippets), the word-match (BM25) evidence over each article's words, with the articles' languages, how
much of an inquiry's words an article holds (``WordCover``, and across languages ``CrossCover``: evidence
features), and what an inquiry can
name exactly: the codes each article names (``deflect.index.codes``) and the words only one title holds
(``deflect.index.title_words``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deflect.formats import Article
from deflect.index.codes import codes
from deflect.index.cross_cover import CrossCover, Encode, cover_words
from deflect.index.documents import BODY, article_texts, passage_of
from deflect.index.lexical import LexicalIndex, WordCover, article_words, stems, tokens
from deflect.index.title_words import MAX_WORDS as TITLE_MAX_WORDS
from deflect.index.title_words import TitleWords, held_words, naming_words
from deflect.language import detect_language
from deflect.text import text_hash

# Word statistics (idf) and matching are per article language: among German articles an English word looks
# rare and decisive ("newspaper"), so pooled statistics let English articles of other topics win English
# questions by their words. Only the articles of the help center's large languages (MAJORITY of the
# articles, or the largest language) get word evidence: the others get none, neither for nor against, and
# evidence over a few articles of a question's language would draw it to them whatever their topic. An
# inquiry in a large language is matched against that language's articles; one in another or uncertain
# language against all large languages' articles, each by its own statistics (names, codes, numbers and
# word parts like "adress" are shared across languages).
MAJORITY = 0.5   # a language of at least this share of the articles is a large one (see above)


@dataclass(frozen=True)
class _Derived:
    key: str
    passages: dict[str, str]
    tokens: list[str]
    stems: frozenset[str]
    codes: frozenset[str]        # named in its title or question variants: what the article is about
    body_codes: frozenset[str]   # named in its body only ("see also error E-409")
    title_naming: frozenset[str]  # the words of its title that can name it (``deflect.index.title_words``)
    title_held: frozenset[str]    # every word its title holds, parts of hyphenated words too
    cover_words: list[str]        # its words as ``CrossCover`` compares them


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
        self._cover = WordCover([derived[a].stems if a in derived else frozenset() for a in article_ids])
        self._cross = CrossCover([derived[a].cover_words if a in derived else [] for a in article_ids],
                                 previous._cross if previous is not None else None)
        self._lexical: dict[str, LexicalIndex] | None = None   # built on first use: the evidence is a setting
        self._language = np.array([articles[a].language if a in articles else "" for a in article_ids], dtype=object)
        # per code the columns of the articles about it (title or question variants), else of those whose
        # body names it: a body's mention is often a pointer to the article about it ("siehe Fehler E-409")
        about: dict[str, list[int]] = {}
        mentioned: dict[str, list[int]] = {}
        for column, a in enumerate(article_ids):
            if a in derived:
                for code in derived[a].codes:
                    about.setdefault(code, []).append(column)
                for code in derived[a].body_codes:
                    mentioned.setdefault(code, []).append(column)
        self._code_columns = mentioned | about
        self._titles = TitleWords([derived[a].title_naming if a in derived else frozenset() for a in article_ids],
                                  [derived[a].title_held if a in derived else frozenset() for a in article_ids])

    def lexical_scores(self, texts: list[str] | None, n: int, n_articles: int) -> np.ndarray:
        """(n, n_articles) word-match evidence in [0, 1]: the share of an inquiry's word information an
        article matches (``LexicalIndex.coverage_scores``), by the statistics of the article's language
        and only where the inquiry's language allows it (see above); 0 without texts."""
        out = np.zeros((n, n_articles), np.float32)
        if texts is None or not self._tokens:
            return out
        if self._lexical is None:
            self._lexical = {lang: LexicalIndex([self._tokens[i] for i in np.flatnonzero(self._language == lang)])
                             for lang in self._large_languages()}
        texts = list(texts)
        asked = np.array([detect_language(t, default="") for t in texts], dtype=object)
        for lang, index in self._lexical.items():
            rows = np.flatnonzero((asked == lang) | ~np.isin(asked, list(self._lexical)))
            if not len(rows):
                continue
            columns = np.flatnonzero(self._language == lang)
            columns = columns[columns < n_articles]
            scores = index.coverage_scores([texts[i] for i in rows])
            out[np.ix_(rows, columns)] = scores[:, :len(columns)]
        return out

    def code_matches(self, texts: list[str], n_articles: int) -> np.ndarray:
        """(n, n_articles) 1 where the article is about a code the inquiry names (see above), else 0."""
        out = np.zeros((len(texts), n_articles), np.float32)
        if not self._code_columns:
            return out
        for i, text in enumerate(texts):
            for code in codes(text):
                columns = [c for c in self._code_columns.get(code, ()) if c < n_articles]
                out[i, columns] = 1.0
        return out

    def named_matches(self, texts: list[str], n_articles: int) -> np.ndarray:
        """(n, n_articles) 1 where the inquiry names the article exactly: a code it is about, or -- a search of
        one or two words -- words only its title holds (``deflect.index.title_words``), among the articles in
        the inquiry's language where that is a large one, else among the large languages' ("Bank" in a German
        help center names no English article)."""
        out = self.code_matches(texts, n_articles)
        large = self._large_languages() if len(self._language) else []
        allowed: dict[str, set[int]] = {}   # per language asked: the columns it may name
        for i, text in enumerate(texts):
            if len(text.split()) > TITLE_MAX_WORDS:
                continue
            asked = detect_language(text, default="")
            asked = asked if asked in large else ""
            if asked not in allowed:
                allowed[asked] = set(np.flatnonzero(np.isin(self._language, [asked] if asked else large)).tolist())
            column = self._titles.named(text, allowed[asked])
            if column is not None and column < n_articles:
                out[i, column] = 1.0
        return out

    def word_cover(self, texts: list[str], columns: np.ndarray) -> np.ndarray:
        """(n,) how much of ``texts[i]``'s word information the article in column ``columns[i]`` holds
        (``WordCover``); NaN -- not known -- where the text is in another language than the article: its
        words cannot be there, whatever it asks."""
        cover = self._cover.cover(texts, columns)
        written = [self._language[c] if 0 <= c < len(self._language) else None for c in columns]
        other = [bool(lang) and bool(asked) and asked != lang
                 for asked, lang in zip((detect_language(t, default="") for t in texts), written)]
        return np.where(other, np.nan, cover).astype(np.float32)

    def cross_cover(self, texts: list[str], columns: np.ndarray, other: np.ndarray, encode: Encode,
                    model: str) -> np.ndarray:
        """(n,) ``CrossCover`` of ``texts[i]`` and the article in column ``columns[i]`` where ``other[i]``: the
        text is in another language than the article (``word_cover`` is NaN there, and says so); NaN elsewhere.
        ``encode``: word vectors of the multilingual part of ``model``."""
        out = np.full(len(texts), np.nan, np.float32)
        rows = np.flatnonzero(other)
        if len(rows):
            out[rows] = self._cross.cover([texts[i] for i in rows], np.asarray(columns)[rows], encode, model)
        return out

    def _large_languages(self) -> list[str]:
        counts = {lang: int(np.sum(self._language == lang)) for lang in dict.fromkeys(self._language)}
        total = max(sum(counts.values()), 1)
        large = [lang for lang, c in counts.items() if c / total >= MAJORITY]
        return large or [max(counts, key=counts.get)]


def _derive(article: Article, cache: dict[str, _Derived]) -> _Derived:
    key = text_hash("\0".join([article.id, article.title, *article.questions, article.body]))
    if key in cache:
        return cache[key]
    passages = {text_hash(t): passage_of(t) for kind, t in article_texts(article) if kind == BODY}
    words = article_words(article)
    named = codes("\n".join([article.title, *article.questions]))
    return _Derived(key, passages, tokens(words), frozenset(stems(words)), named, codes(article.body) - named,
                    naming_words(article.title, article.language), held_words(article.title), cover_words(words))
