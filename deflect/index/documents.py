"""The documents of the index: what an article and a resolved ticket contribute, their kinds, and the
text hash that tells an unchanged document (whose vector can be re-used) from a changed one."""
from __future__ import annotations

import re

import numpy as np

from deflect.formats import Article
from deflect.privacy import without_placeholders
from deflect.store import Store
from deflect.store.links import evidence_links
from deflect.text import clip, markdown_to_text, without_invisible

TITLE, QUESTION, BODY, TICKET, DELETED = 0, 1, 2, 3, -1   # document kinds; DELETED rows wait for a full build
BODY_CHARS = 600           # a body up to this long is one passage; a longer one is cut into passages of
PASSAGE_CHARS = 400        # whole sentences up to about this many characters, each overlapping the one before
MAX_PASSAGES = 40          # by a sentence, at most this many per article (the rest of a long manual is left out)
TICKET_CHARS = 1000
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n\s*\n")


def article_texts(article: Article) -> list[tuple[int, str]]:
    """The documents one article contributes: title, each question variant, and title + passage for
    each passage of the body (``body_passages``): an answer deep in a long body is found by its passage."""
    docs = [(TITLE, article.title)]
    docs += [(QUESTION, q) for q in dict.fromkeys(article.questions) if q and q != article.title]
    docs += [(BODY, f"{article.title}\n{p}") for p in body_passages(article.body)]
    return docs   # (Article drops invisible characters itself)


def passage_of(text: str) -> str:
    """The passage of a body document (``article_texts``) without the title in front of it."""
    return text.split("\n", 1)[1] if "\n" in text else text


def body_passages(markdown: str) -> list[str]:
    """The body as passages: one when it is short (``BODY_CHARS``), else windows of whole sentences of
    about ``PASSAGE_CHARS`` characters, each starting with the last sentence of the one before, so that
    no answer is cut off from its context on both sides."""
    return _passages(markdown)[0]


def cut_short(articles: list[Article]) -> list[str]:
    """The ids of articles whose body runs past ``MAX_PASSAGES`` passages: the rest is not searchable."""
    return [a.id for a in articles if not _passages(a.body)[1]]


def _passages(markdown: str) -> tuple[list[str], bool]:
    """``body_passages`` and whether they hold the whole body."""
    body = clip(markdown_to_text(markdown), 100 * BODY_CHARS)
    if len(body) <= BODY_CHARS:
        return ([body] if body else []), True
    sentences = [clip(s, PASSAGE_CHARS) for s in _SENTENCE_END.split(markdown_to_text(markdown)) if s.strip()]
    passages: list[str] = []
    start = 0
    while start < len(sentences) and len(passages) < MAX_PASSAGES:
        end, size = start, 0
        while end < len(sentences) and (end == start or size + len(sentences[end]) <= PASSAGE_CHARS):
            size += len(sentences[end]) + 1
            end += 1
        passages.append(" ".join(sentences[start:end]))
        if end >= len(sentences):
            return passages, True
        start = end - 1 if end - 1 > start else end
    return passages, start >= len(sentences)


def ticket_text(row: dict) -> str:
    """The customer's words of a stored ticket (without the placeholders of redacted personal data)."""
    subject = without_invisible(without_placeholders(row.get("subject") or "")).strip()
    body = without_invisible(without_placeholders(row.get("body") or "")).strip()
    if not subject or body.startswith(subject):
        return clip(body or subject, TICKET_CHARS)
    return clip(f"{subject}\n{body}" if body else subject, TICKET_CHARS)


def collect_documents(store: Store) -> tuple[list[str], list[tuple[int, str, int, str]]]:
    """(article ids, documents as (kind, ref, seed article index, text)) from the store. A ticket's seed
    is its agent-made link, else a confident link inferred from its resolution (``deflect.index.links``)."""
    articles = store.articles()
    inferred = evidence_links(store)
    article_ids = [a.id for a in articles]
    position = {a: i for i, a in enumerate(article_ids)}
    docs = [(kind, a.id, position[a.id], text) for a in articles for kind, text in article_texts(a)]
    for row in store.tickets():
        text = ticket_text(row)
        if text:
            docs.append((TICKET, row["id"], position.get(row["article_id"] or inferred.get(row["id"]), -1), text))
    return article_ids, docs


def content_state(store: Store) -> tuple[dict[str, str], dict[str, str]]:
    """The content hashes of the stored articles and tickets: taken when a build reads the documents,
    compared again before it saves, to tell whether anything changed in between."""
    return store.article_hashes(), dict(store.db.execute("select id, content_hash from tickets").fetchall())


def is_article_doc(kinds: np.ndarray) -> np.ndarray:
    """Which of ``kinds`` (an int array) are documents of an article: titles, questions, bodies."""
    return (kinds >= TITLE) & (kinds <= BODY)
