"""The documents of the index: what an article and a resolved ticket contribute, their kinds, and the
text hash that tells an unchanged document (whose vector can be re-used) from a changed one."""
from __future__ import annotations

import numpy as np

from deflect.formats import Article
from deflect.privacy import without_placeholders
from deflect.store import Store
from deflect.store.links import evidence_links
from deflect.text import clip, markdown_to_text

TITLE, QUESTION, BODY, TICKET, DELETED = 0, 1, 2, 3, -1   # document kinds; DELETED rows wait for a full build
BODY_CHARS = 600           # an article body is indexed (with its title) up to this many characters
TICKET_CHARS = 1000



def article_texts(article: Article) -> list[tuple[int, str]]:
    """The documents one article contributes: title, each question variant, title + body."""
    docs = [(TITLE, article.title)]
    docs += [(QUESTION, q) for q in dict.fromkeys(article.questions) if q and q != article.title]
    body = clip(markdown_to_text(article.body), BODY_CHARS)
    if body:
        docs.append((BODY, f"{article.title}\n{body}"))
    return docs


def ticket_text(row: dict) -> str:
    """The customer's words of a stored ticket (without the placeholders of redacted personal data)."""
    subject = without_placeholders(row.get("subject") or "").strip()
    body = without_placeholders(row.get("body") or "").strip()
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
