"""What the API's three audiences share: the process's engine, article hits as JSON, inquiry logging."""
from __future__ import annotations

import uuid
from functools import lru_cache

from flask import g

from deflect.formats import Inquiry
from deflect.text import plain_text

from ..state import get_deflector, get_store
from ..text import snippet

LANGS = ("de", "en")
K_ARTICLES = 3
K_TICKETS = 3


def deflector():
    """The process's Deflector, reloaded first if another worker changed the index."""
    d = get_deflector()
    if not g.get("deflect_checked_reload"):
        g.deflect_checked_reload = True
        reload = getattr(d, "reload_if_changed", None)
        if reload is not None:
            reload()
    return d


@lru_cache(maxsize=512)
def _cached_plain(body: str) -> str:
    return plain_text(body)


def _plain(body: str) -> str:
    """Plain text of an article body (cached; huge bodies are not kept in the cache)."""
    return _cached_plain(body) if len(body) <= 50_000 else plain_text(body)


def articles_json(hits, query: str) -> list[dict]:
    """Article hits with an HTML snippet of the article body (query words in <mark>)."""
    ids = [h.id for h in hits]
    bodies: dict[str, str] = {}
    if ids:
        marks = ",".join("?" * len(ids))
        bodies = dict(get_store().db.execute(f"select id, body from articles where id in ({marks})", ids))
    return [{"id": h.id, "title": h.title, "url": h.url, "score": round(float(h.score), 4),
             "language": getattr(h, "language", None),
             "snippet": snippet(_plain(bodies.get(h.id) or ""), query)}
            for h in hits]


def log_inquiry(text: str, suggestion, channel: str, session: str | None = None, page: str | None = None) -> str:
    iid = uuid.uuid4().hex
    top = suggestion.articles[0].id if suggestion.articles else None
    # The inquiry's embedding is cached with it, so the gap report does not embed it again.
    model = getattr(getattr(get_deflector(), "bundle", None), "model", None)
    get_store().log_inquiry(Inquiry(id=iid, text=text, language=suggestion.language), suggestion.decision,
                            suggestion.confidence, top, channel=channel, session=session, page=page,
                            vector=getattr(suggestion, "vector", None), model=model)
    return iid
