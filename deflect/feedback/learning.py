"""Feedback that teaches: turning votes, agents' choices and resolved tickets into evidence, and
evidence into the engine's ``learned`` boost (``deflect.index.learned``), refitted in the background.

Sources of evidence for a (phrasing, article) pair:
- a "helpful" / "not helpful" vote on a widget suggestion (the inquiry's text, the article voted on);
- a "helpful" vote for an article shown below others: the articles shown above it were passed over
  (``passed_over``, counted like "not helpful"): people read a list from the top, so this customer read
  them and chose another. Only articles the inquiry really showed count (``inquiries.shown``): a vote for
  an article that was not shown (a forged request) passes nothing over;
- an agent's choice of an article for an inquiry in the agent console;
- a ticket resolved with an article that arrived with widget sessions: each of those sessions'
  searches is evidence for the article the agent resolved it with.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from deflect.engine import Engine
from deflect.index.learned import LearnedBoost, LearningParams
from deflect.privacy import without_placeholders
from deflect.store import Store
from deflect.store.feedback import add_evidence, evidence_rows
from deflect.store.hashing import hash_key, one_way_hash
from deflect.store.service import get_inquiry

log = logging.getLogger(__name__)
VOTES = ("helpful", "not_helpful")
MIN_INTERVAL_S = 3.0   # between two refits: a burst of votes is learned in one refit, not one each


def client_key(store: Store, address: str | None) -> str | None:
    """The stored form of a client address (hashed; only used to cap what one client can teach)."""
    return client_hash(address, hash_key(store)) if address else None


def client_hash(address: str, key: str) -> str:
    """``client_key`` with the store's key already read (a votes' and an inquiry's address hash alike)."""
    return one_way_hash(f"client:{address}", key)


def learn_from_vote(store: Store, inquiry_id: str, event: str, article_id: str | None,
                    session: str | None, client: str | None) -> str | None:
    """Evidence from a widget vote (and the articles it passed over); None for other events or without
    an article."""
    if event not in VOTES:
        return None
    inquiry = get_inquiry(store, inquiry_id)
    article = article_id or (inquiry or {}).get("article_id")
    if inquiry is None or not article or not store.has_article(article) or not inquiry.get("text"):
        return None
    session = session or inquiry.get("session")
    if event == "helpful":
        for above in passed_over(inquiry.get("shown"), article):
            if store.has_article(above) and not _known(store, inquiry_id, "passed_over", above):
                add_evidence(store, "passed_over", inquiry["text"], above, session=session, client=client,
                             inquiry_id=inquiry_id)
    return add_evidence(store, event, inquiry["text"], article, session=session, client=client,
                        inquiry_id=inquiry_id)


def passed_over(shown: str | None, article: str) -> list[str]:
    """The articles shown above ``article`` (``shown``: the inquiry's shown ids, comma-separated); none
    when it was not shown at all."""
    ids = [a for a in (shown or "").split(",") if a]
    return ids[:ids.index(article)] if article in ids else []


def _known(store: Store, inquiry_id: str, kind: str, article_id: str) -> bool:
    """Whether this inquiry already gave this kind of evidence for the article (a vote sent twice)."""
    return store.db.execute("select 1 from evidence where inquiry_id = ? and kind = ? and article_id = ?",
                            [inquiry_id, kind, article_id]).fetchone() is not None


def learn_from_choice(store: Store, inquiry_id: str, article_id: str, agent: str) -> str | None:
    """Evidence from an agent choosing ``article_id`` for a logged inquiry (``agent``: the key's id)."""
    inquiry = get_inquiry(store, inquiry_id)
    if inquiry is None or not inquiry.get("text") or not store.has_article(article_id):
        return None
    # the session is the customer's: the inquiry's choice and the ticket it becomes count as one case
    session = inquiry.get("session") or f"agent-choice:{inquiry_id}"
    return add_evidence(store, "agent_choice", inquiry["text"], article_id, session=session,
                        client=f"agent:{agent}", inquiry_id=inquiry_id)


def learn_from_ticket(store: Store, article_id: str | None, sessions: list[str], ticket_id: str) -> int:
    """Evidence from a ticket resolved with ``article_id``: the searches of the sessions it arrived with
    (each search once); returns how many were added. The ticket is the voice (``client``): the help desk
    does not say which agent closed it, and one ticket counts once however many searches came with it."""
    if not article_id or not sessions or not store.has_article(article_id):
        return 0
    marks = ",".join("?" * len(sessions))
    added = 0
    for iid, text, session in store.db.execute(
            f"select id, text, session from inquiries where session in ({marks}) and channel = 'widget'", sessions):
        if text and not _known(store, iid, "resolved", article_id):
            add_evidence(store, "resolved", text, article_id, session=session, client=f"ticket:{ticket_id}",
                         inquiry_id=iid)
            added += 1
    return added


def build_learned(store: Store, engine: Engine, params: LearningParams | None = None) -> LearnedBoost | None:
    """Everything learned, ready for ``engine.learned``; None when there is no evidence. Phrasings are
    embedded with the engine's model (cached in the store, like logged inquiries)."""
    rows = evidence_rows(store)
    if not rows:
        return None
    model = engine.model or "unknown"
    texts = list(dict.fromkeys(r["text"] for r in rows))
    keys = {t: store.embedding_key(model, t) for t in texts}
    cached = store.cached_embeddings(list(keys.values()))
    missing = [t for t in texts if keys[t] not in cached]
    if missing:
        vectors = engine.embed([without_placeholders(t) for t in missing])
        fresh = {keys[t]: v for t, v in zip(missing, vectors)}
        store.cache_embeddings(fresh)
        cached.update(fresh)
    matrix = np.stack([cached[keys[r["text"]]] for r in rows]).astype(np.float32)
    return LearnedBoost.build(rows, matrix, params)


class Refresher:
    """Refits ``engine.learned`` in a background thread: ``request()`` returns at once; requests that
    arrive while a refit runs are served together by one more refit (at most one every
    ``min_interval`` seconds). Suggest never waits: the new boost is swapped in whole when it is ready.
    ``generation`` counts finished refits."""

    def __init__(self, engine: Engine, open_store: Callable[[], Store], params: LearningParams | None = None):
        self.engine, self._open_store, self.params = engine, open_store, params
        self.generation = 0
        self.min_interval = MIN_INTERVAL_S
        self.last_error: str | None = None
        self.evidence = 0
        self._requested = 0      # requests so far
        self._served = 0         # requests whose data the last finished refit included
        self._running = False
        self._last_start = -float("inf")
        self._cond = threading.Condition()

    def request(self) -> int:
        """Ask for a refit; returns a ticket for ``wait``: served once a refit that started after this
        call has finished (it includes everything stored before the call)."""
        with self._cond:
            self._requested += 1
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="deflect-learning", daemon=True).start()
            return self._requested

    def wait(self, ticket: int, timeout: float = 60.0) -> bool:
        """Wait until the refit for ``ticket`` is done; False on timeout."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._served < ticket:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def refit_now(self) -> None:
        """One refit in the calling thread."""
        store = self._open_store()
        try:
            learned = build_learned(store, self.engine, self.params)
        finally:
            store.close()
        self.engine.learned = learned
        self.evidence = len(learned) if learned is not None else 0

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._served >= self._requested:
                    self._running = False
                    self._cond.notify_all()
                    return
            pause = self._last_start + self.min_interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)   # requests arriving meanwhile are served by this refit
            with self._cond:
                serving = self._requested
            self._last_start = time.monotonic()
            try:
                self.refit_now()
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 -- a failed refit keeps the previous boost
                self.last_error = str(exc)
                log.warning("deflect: learning from feedback failed: %s", exc)
            with self._cond:
                self.generation += 1
                self._served = serving
                self._cond.notify_all()
