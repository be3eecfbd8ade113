"""Which article an agent's resolution points to: a link to it, its id, its title (exactly or nearly),
or its answer text pasted into the reply. German and English alike: texts are compared folded
(case, accents, umlauts, ß) as word sequences, never as fixed phrases of one language."""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from deflect.formats import Article
from deflect.text import markdown_to_text

SHINGLE = 5                 # words per shingle when looking for pasted answer text
MIN_SHARED_SHINGLES = 6     # a run of 10 words at least: fewer shared words are a restated phrase, not a paste
COMMON_SHINGLE = 3          # a shingle in this many articles or more is boilerplate (greetings, "contact us")
STEM = 5                    # near title matches compare words by their first STEM letters (Adresse/Adressen)
LOOSE_CONFIDENCE = 0.65     # every title word found only inside a longer word (compound, participle): plausible
STOPWORDS = frozenset("""
a an and are as at be by can do for from how i in is it my of on or our the this to we what when where
which why with you your please see article help faq
der die das den dem des ein eine einer eines einem einen und oder ist sind wie was wann wo warum mit
von zu zum zur im in am an auf aus bei fuer für ich mein meine meinen sie ihr ihre ihren wir uns es
bitte siehe artikel hilfe kann koennen können
""".split())

_URL = re.compile(r"https?://[^\s<>\"'()\[\]]+|(?<![\w/.])/[\w\-./%~]+", re.IGNORECASE)
_TOKEN = re.compile(r"[\w\-]+")
_SEGMENT = re.compile(r"[:;.!?\n\"“”„«»‹›()\[\]]+")


@dataclass(frozen=True)
class LinkMatch:
    article_id: str
    confidence: float
    source: str         # url | id | title | text
    evidence: str


UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def fold(text: str) -> str:
    """Case, accents and umlauts folded (``Lieferadresse Ändern`` = ``lieferadresse aendern``, as typed
    without umlauts; ``Café`` = ``cafe``)."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFC", text.casefold()).translate(UMLAUTS))
    return "".join(c for c in text if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The folded words of a text (letters and digits; punctuation and hyphens split words)."""
    return re.findall(r"\w+", fold(text))


def _slug(text: str) -> str:
    return "-".join(words(text))


def _distinctive_id(article_id: str) -> bool:
    """Ids that cannot be an ordinary word or number in a reply: with a hyphen, underscore or letters
    and digits mixed, at least 4 characters (``epaper-login``, ``KB1234``; not ``faq`` or ``12``)."""
    a = article_id.casefold()
    mixed = any(c.isdigit() for c in a) and any(c.isalpha() for c in a)
    return len(a) >= 4 and ("-" in a or "_" in a or mixed)


def _inside(title_word: str, word: str) -> bool:
    """A title word and a resolution ``word`` are one word: the same stem, or the stem of one inside
    the other (STEM letters: "konto" is in "kundenkonto", "aende" in "geaendert"; a shared ending such
    as "igung" of "Kündigung" and "Bestätigung" is no match)."""
    stem, own = title_word[:STEM], word[:STEM]
    return own == stem or (len(stem) >= STEM and stem in word) or (len(own) >= STEM and own in title_word)


class ResolutionMatcher:
    """Finds the article a resolution points to among ``articles``."""

    def __init__(self, articles: list[Article]):
        self.ids = {a.id.casefold(): a.id for a in articles}
        self.distinctive = {k: v for k, v in self.ids.items() if _distinctive_id(k)}
        self.paths: dict[str, str] = {}
        self.slugs: dict[str, str] = {}
        for a in articles:
            if a.url:
                path = urlsplit(a.url.strip()).path.rstrip("/").casefold()
                if path:
                    self.paths[path] = a.id
            self.slugs.setdefault(_slug(a.title), a.id)
        self.titles: dict[tuple[str, ...], set[str]] = {}
        self.near: list[tuple[str, frozenset[str]]] = []   # the content words of titles of two or more
        for a in articles:
            tokens = tuple(words(a.title))
            if tokens:
                self.titles.setdefault(tokens, set()).add(a.id)
            content = frozenset(w for w in tokens if len(w) >= 3 and w not in STOPWORDS)
            if len(content) >= 2:
                self.near.append((a.id, content))
        self.title_lengths = sorted({len(t) for t in self.titles}, reverse=True)
        self.shingles: dict[tuple[str, ...], set[str]] = {}
        self.shingle_count: Counter[str] = Counter()
        for a in articles:
            body = words(markdown_to_text(a.body or ""))
            for s in {tuple(body[i:i + SHINGLE]) for i in range(len(body) - SHINGLE + 1)}:
                self.shingles.setdefault(s, set()).add(a.id)
        for s in [s for s, ids in self.shingles.items() if len(ids) >= COMMON_SHINGLE]:
            del self.shingles[s]
        for ids in self.shingles.values():
            self.shingle_count.update(ids)

    def match(self, resolution: str | None) -> LinkMatch | None:
        """The article ``resolution`` points to, most certain kind of evidence first; None if none."""
        if not resolution or not resolution.strip():
            return None
        return (self.by_url(resolution) or self.by_id(resolution) or self.by_text(resolution)
                or self.by_title(resolution) or self.by_near_title(resolution))

    def by_url(self, text: str) -> LinkMatch | None:
        """A link to the article: its ``url``, ``.../articles/<id>``, or a last path segment that is its
        id, an id followed by a slug (``/articles/360012-change-address``) or its title as a slug."""
        for url in _URL.findall(text):
            path = unquote(urlsplit(url.rstrip(".,;:!?")).path).rstrip("/").casefold()
            if not path:
                continue
            for known, article_id in self.paths.items():
                if path == known or path.endswith(known) and known.count("/") >= 2:
                    return LinkMatch(article_id, 0.98, "url", url)
            last = path.rsplit("/", 1)[-1]
            for candidate in (last, last.split("-", 1)[0], re.sub(r"\.\w+$", "", last)):
                if candidate in self.ids:
                    return LinkMatch(self.ids[candidate], 0.97, "url", url)
            if _slug(last) in self.slugs:
                return LinkMatch(self.slugs[_slug(last)], 0.9, "url", url)
        return None

    def by_id(self, text: str) -> LinkMatch | None:
        """An article id named as a word of its own (only ids that cannot be ordinary words)."""
        found = {self.distinctive[t.casefold()] for t in _TOKEN.findall(text) if t.casefold() in self.distinctive}
        if len(found) == 1:
            article_id = found.pop()
            return LinkMatch(article_id, 0.95, "id", article_id)
        return None

    def by_text(self, text: str) -> LinkMatch | None:
        """The article's answer text pasted (or mostly pasted) into the resolution."""
        tokens = words(text)
        mine = {tuple(tokens[i:i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1)}
        if len(mine) < MIN_SHARED_SHINGLES:
            return None
        hits: Counter[str] = Counter()
        for s in mine:
            hits.update(self.shingles.get(s, ()))
        if not hits:
            return None
        (best, n), *rest = hits.most_common(2)
        if n < MIN_SHARED_SHINGLES or (rest and rest[0][1] > n / 2):
            return None
        share = max(n / len(mine), n / max(self.shingle_count[best], 1))
        if share < 0.3:
            return None
        return LinkMatch(best, 0.95 if share >= 0.5 else 0.85, "text", f"{n} passages of 5 words shared")

    def by_title(self, text: str) -> LinkMatch | None:
        """An article's title as a word sequence of the resolution; a title inside a longer matched
        one does not count. One-word titles and several different titles are less certain."""
        tokens = words(text)
        spans: list[tuple[int, int, str]] = []
        for n in self.title_lengths:
            for i in range(len(tokens) - n + 1):
                ids = self.titles.get(tuple(tokens[i:i + n]))
                if ids and len(ids) == 1 and not any(s <= i and i + n <= e for s, e, _ in spans):
                    spans.append((i, i + n, next(iter(ids))))
        if not spans:
            return None
        found = {a for _, _, a in spans}
        start, end, article_id = max(spans, key=lambda s: s[1] - s[0])
        n = end - start
        whole = tuple(tokens[start:end]) in {tuple(words(part)) for part in _SEGMENT.split(text)}
        if n == 1 and len(tokens[start]) < 6 and not whole:
            return None
        confidence = 0.6 if n == 1 else 0.85 if n == 2 else 0.92
        if whole:   # set off as a part of its own ("Artikel: Kündigung.", „Versand“): named, not just used
            confidence = max(confidence, 0.9)
        if len(found) > 1:
            confidence = min(confidence, 0.6)
        return LinkMatch(article_id, confidence, "title", " ".join(tokens[start:end]))

    def by_near_title(self, text: str) -> LinkMatch | None:
        """Every content word of a title (of at least two) in the resolution, by word stem: a title
        written a little differently ("Adressen ändern" for "Adresse ändern")."""
        mine = {w[:STEM] for w in words(text) if len(w) >= 3}
        stems = [(a, {w[:STEM] for w in c}) for a, c in self.near]
        best = sorted(((len(c), a) for a, c in stems if c <= mine), reverse=True)
        if best and (len(best) == 1 or best[1][0] < best[0][0]):
            size, article_id = best[0]
            return LinkMatch(article_id, 0.75 if size >= 3 else 0.7, "title", "title words")
        if best:
            return None
        return self.by_loose_title(text)

    def by_loose_title(self, text: str) -> LinkMatch | None:
        """Every content word of a title (of at least two) in the resolution as part of a longer word or
        around one: the stem of one word inside the other ("Konto" for "Kundenkonto", "geändert" for
        "ändern"). Only plausible, never evidence (``LOOSE_CONFIDENCE``)."""
        mine = {w for w in words(text) if len(w) >= 3}
        found = sorted(((len(c), a) for a, c in self.near
                        if all(any(_inside(title_word, w) for w in mine) for title_word in c)), reverse=True)
        if not found or (len(found) > 1 and found[1][0] == found[0][0]):
            return None
        return LinkMatch(found[0][1], LOOSE_CONFIDENCE, "title", "title words, inside longer words")
