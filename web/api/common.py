"""What the API's three audiences share: the process's engine, article hits as JSON, inquiry logging."""
from __future__ import annotations

import threading
import uuid
from functools import lru_cache, wraps

from flask import current_app, g

from deflect.engine import ArticleHit, Engine, Suggestion
from deflect.errors import DeflectError
from deflect.feedback.learning import client_hash
from deflect.formats import Inquiry
from deflect.store import Store, open_store
from deflect.store.core import inquiry_row
from deflect.store.database import DatabaseErrors
from deflect.store.hashing import hash_key
from deflect.store.service import write_feedback
from deflect.store.spool import Spool
from deflect.text import plain_text

from ..inquiry_log import InquiryLog
from ..limits import client_ip
from ..state import get_deflector, get_home, get_redactor, get_refitter, get_store, loaded_deflector
from ..text import snippet

LANGS = ("de", "en")
K_ARTICLES = 3
K_TICKETS = 3


def deflector() -> Engine:
    """The process's Deflector, reloaded first if another worker changed the index; its decision
    follows the home's calibration (refitted in the background as tickets arrive)."""
    d = get_deflector()
    if not g.get("deflect_checked_reload"):
        g.deflect_checked_reload = True
        d.reload_if_changed()
        get_refitter().poll(d)
    return d


def joins_batch(view):
    """View decorator of the suggest endpoints: the request announces itself to the engine's micro-batcher
    as it arrives (``MicroBatcher.expect``), before its checks, rate limit and redaction, so a forward
    that starts meanwhile waits for it and the worker's concurrent requests share one forward."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        batcher = getattr(loaded_deflector(), "suggest_batcher", None)   # engines without batching have none
        if batcher is None:
            return view(*args, **kwargs)
        batcher.expect()
        try:
            return view(*args, **kwargs)
        finally:
            batcher.withdraw()   # answered without a suggestion (an error, a held-out session)

    return wrapped


@lru_cache(maxsize=512)
def _cached_plain(body: str) -> str:
    return plain_text(body)


def _plain(body: str) -> str:
    """Plain text of an article body (cached; huge bodies are not kept in the cache)."""
    return _cached_plain(body) if len(body) <= 50_000 else plain_text(body)


def articles_json(hits: list[ArticleHit], query: str) -> list[dict]:
    """Article hits with an HTML snippet of the article body (query words in <mark>), taken from the
    passage that best matches the query where the engine found one (the body is read from the
    database only for a hit without one)."""
    ids = [h.id for h in hits if not h.snippet]
    bodies: dict[str, str] = {}
    if ids:
        marks = ",".join("?" * len(ids))
        try:
            bodies = dict(get_store().db.execute(f"select id, body from articles where id in ({marks})", ids))
        except (*DatabaseErrors, DeflectError) as exc:  # the answer goes out without snippets
            current_app.logger.warning("deflect: article snippets not read from the database (%s)", exc)
    return [{"id": h.id, "title": h.title, "url": h.url, "score": round(float(h.score), 4),
             "language": h.language,
             "snippet": snippet(h.snippet or _plain(bodies.get(h.id) or ""), query)}
            for h in hits]


def spool() -> Spool:
    """This process's spool for the inquiries and votes the database could not take (home/spool/)."""
    spools = current_app.extensions.setdefault("deflect_spool", {})
    home = get_home()
    if home.path not in spools:
        spools[home.path] = Spool(home.spool_file, int(current_app.config["SPOOL_MAX_BYTES"]))
    return spools[home.path]


def keep(table: str, row: dict, reason: object) -> bool:
    """Put a row the database did not take into the spool (logged with ``reason``); False when it is lost."""
    kept = spool().append({**row, "table": table})
    current_app.logger.warning("deflect: %s row %s not written to the database (%s); %s", table, row["id"], reason,
                               "spooled" if kept else "LOST: the spool is full or unwritable")
    return kept


def lock_wait(store: Store):
    """Wait at most LOG_LOCK_TIMEOUT seconds for a locked database (then the row goes to the spool)."""
    return store.busy_timeout(float(current_app.config["LOG_LOCK_TIMEOUT"]))


def drain_spool(store: Store) -> None:
    """Write what waits in the spool (inquiries before the votes about them)."""
    waiting = spool()
    if waiting.pending():
        waiting.drain(lambda rows: _write_spooled(store, rows))


def _write_spooled(store: Store, rows: list[dict]) -> None:
    tables: dict[str, list[dict]] = {"inquiries": [], "feedback": []}
    for row in rows:
        tables[row.pop("table", "inquiries")].append(row)
    if tables["inquiries"]:
        store.write_inquiries(tables["inquiries"])
    if tables["feedback"] and (orphans := write_feedback(store, tables["feedback"])):
        current_app.logger.warning("deflect: %d spooled vote(s) dropped: their inquiry is not stored", orphans)


def inquiry_log() -> InquiryLog:
    """This process's writer of logged inquiries (web.inquiry_log), one per home."""
    logs = current_app.extensions.setdefault("deflect_inquiry_log", {})
    home = get_home().path
    found = logs.get(home)
    if found is None:
        with _LOG_LOCK:
            found = logs.get(home)
            if found is None:
                app, path, redactor = current_app._get_current_object(), get_home().database, get_redactor()

                def in_app(fn):
                    with app.app_context():
                        return fn()

                found = logs[home] = InquiryLog(lambda: open_store(path, redactor=redactor),
                                                lambda row, reason: keep("inquiries", row, reason), drain_spool,
                                                float(current_app.config["LOG_LOCK_TIMEOUT"]), run=in_app)
    return found


_LOG_LOCK = threading.Lock()


def _client() -> str | None:
    """The request's client address, hashed with the store's key (read once per app; None while the store
    cannot be read: an answer never waits for it)."""
    key = current_app.extensions.get("deflect_hash_key")
    if key is None:
        try:
            key = current_app.extensions["deflect_hash_key"] = hash_key(get_store())
        except (*DatabaseErrors, DeflectError):
            return None
    return client_hash(client_ip(), key)


def log_inquiry(text: str, suggestion: Suggestion, channel: str, session: str | None = None,
                page: str | None = None, ticket_id: str | None = None) -> str:
    """Log the inquiry for the gap report and metrics (with its embedding, so the gap report does not
    embed it again); returns its id once the row is stored. A database that is locked (longer than
    ``LOG_LOCK_TIMEOUT`` seconds), read-only or full delays and fails no answer: the row goes to the
    spool and is written with a later one. Rows of concurrent requests are written together
    (web.inquiry_log, which also says what an acknowledged row is)."""
    top = suggestion.articles[0].id if suggestion.articles else None
    row = inquiry_row(Inquiry(id=uuid.uuid4().hex, text=text, language=suggestion.language),
                      suggestion.decision, suggestion.confidence, top, channel, session, page, get_redactor())
    row["shown"] = ",".join(a.id for a in suggestion.shown_articles())   # what a vote is read against
    row["ticket_id"] = ticket_id   # an agent's ticket: erased with it
    # where a widget inquiry came from, hashed: one address counts as few customers however many sessions
    row["client"] = _client() if channel == "widget" else None
    engine = get_deflector()
    model, vector = engine.model, suggestion.vector
    embedding = (Store.embedding_key(model, row["text"]), vector) if vector is not None and model else None
    # answered by a forward together with other requests: their rows are written and answered together
    batcher = getattr(engine, "suggest_batcher", None)
    batch = batcher.take_batch() if batcher is not None else None
    inquiry_log().log(row, embedding, group=((id(batcher), batch[0]), batch[1]) if batch else None)
    return row["id"]
