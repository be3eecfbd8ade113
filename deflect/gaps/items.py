"""What the report is built from: the items (resolved tickets and logged inquiries), their vectors,
the engine's judgement of each, the article documents, and the space they are compared in."""
from __future__ import annotations

import hashlib
import json
from collections import deque
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from deflect.clock import parse_time
from deflect.engine import Engine
from deflect.gaps.found import by_feedback, found_articles, turned_away
from deflect.language import detect_language
from deflect.text import folded, text_hash

ENGLISH_DESK = 0.9          # a help desk with this share of English items clusters in the whole vectors
STAGES = 20                 # later inquiries of a session a search-as-you-type stage is compared with
NEAR_MISS = 0.5             # an unanswered item whose first article is at least this likely right is no gap


@dataclass
class Item:
    key: str
    source: str                     # "ticket" | "inquiry" ("labelled": a labelled question, never an item)
    id: str
    text: str
    language: str | None
    channel: str | None
    created_at: str | None
    linked: str | None = None       # a ticket's linked article (agent-made or confidently inferred)
    logged_decision: str | None = None
    logged_article: str | None = None
    logged_confidence: float | None = None
    subject: str | None = None      # a ticket's subject line (``text`` runs subject and body together)
    inferred: bool = False          # ``linked`` is an inferred link (deflect.store.links), not an agent's
    session: str | None = None      # the customer's widget session (an inquiry's, or the one a ticket came with)
    client: str | None = None       # a widget inquiry's client address, hashed
    ticket: str | None = None       # the ticket an agent's or connector's inquiry was about


@dataclass
class Judgements:
    """The engine's judgement of each item (arrays parallel to the items): its decision ("answer",
    "no_answer", or "linked" for a ticket an agent linked to an article; a "suggest" is one of the two by
    its customer's feedback, ``deflect.gaps.found``), confidence, first article, and whether it changed
    since the cached one."""
    decision: np.ndarray
    confidence: np.ndarray
    article: np.ndarray
    changed: np.ndarray
    turned_away: np.ndarray | None = None   # the customer said what was shown did not help (or contacted us)

    def unanswered(self) -> np.ndarray:
        """The gap material: not answered, and not a near miss -- unless its customer was turned away."""
        near = self.confidence >= NEAR_MISS
        if self.turned_away is not None:
            near &= ~self.turned_away
        return np.array([d == "no_answer" for d in self.decision], bool) & ~near

    def is_(self, *decisions: str) -> np.ndarray:
        return np.array([d in decisions for d in self.decision], bool).reshape(len(self.decision))


@dataclass
class Corpus:
    """The items with their vectors (as embedded) and judgements, under one engine fingerprint."""
    items: list[Item]
    vectors: np.ndarray
    fresh: np.ndarray               # rows not seen by an earlier run
    keep_vector: np.ndarray         # rows whose vector only the gap cache can keep (the model is unknown)
    judged: Judgements
    fingerprint: str


@dataclass
class ArticleDocs:
    """The article documents (titles, questions, bodies): vectors, their article ids, and the titles."""
    vectors: np.ndarray
    ids: list[str]
    titles: dict[str, str]


@dataclass
class Labelled:
    """The labelled questions of the last calibration file (``deflect.store.labelled``): vectors, their
    article ids and texts. Covered material only: they are never clustered nor listed."""
    vectors: np.ndarray
    ids: list[str]
    texts: list[str]


def labelled_rows(deflector: Engine) -> Labelled:
    """The stored labelled questions, embedded like the items (through the store's embedding cache)."""
    from deflect.store.labelled import labelled_questions

    rows = labelled_questions(deflector.store)
    items = [Item(f"labelled:{r['id']}", "labelled", r["id"], r["text"], r["language"], None, None) for r in rows]
    V = vectors(deflector, items, {})[0] if items else np.zeros((0, 1), np.float32)
    return Labelled(V, [r["article_id"] for r in rows], [r["text"] for r in rows])


def load_items(store) -> list[Item]:
    """Every resolved ticket and logged inquiry in the store."""
    from deflect.index.documents import ticket_text
    from deflect.store.links import covering_links

    inferred = covering_links(store)   # a ticket whose resolution or neighbourhood points to an article
    sent_with = dict(store.db.execute("select ticket_id, min(session) from contacts where ticket_id is not null "
                                      "and session is not null group by ticket_id").fetchall())
    items = []
    for r in store.db.execute("select id, subject, body, article_id, language, created_at, ingested_at, "
                              "channel from tickets order by id"):
        text = ticket_text({"subject": r[1], "body": r[2]})
        if text:
            items.append(Item(f"ticket:{r[0]}", "ticket", r[0], text, r[4], r[7], r[5] or r[6],
                              linked=r[3] or inferred.get(r[0]), subject=(r[1] or "").strip() or None,
                              inferred=not r[3] and r[0] in inferred, session=sent_with.get(r[0])))
    rows = [r for r in store.db.execute("select id, text, language, created_at, channel, decision, article_id, "
                                        "confidence, session, client, ticket_id from inquiries "
                                        "order by created_at, seq")
            if r[1] and r[1].strip()]
    stages = typed_on([r[1] for r in rows], [r[8] for r in rows])
    for r in (r for r, stage in zip(rows, stages, strict=True) if not stage):
        items.append(Item(f"inquiry:{r[0]}", "inquiry", r[0], r[1].strip(), r[2], r[4], r[3],
                          logged_decision=r[5], logged_article=r[6], logged_confidence=r[7], session=r[8],
                          client=r[9], ticket=r[10]))
    return items


def customer_of(key: str, session: str | None, ticket: str | None = None) -> str:
    """Who asked: a widget session is one customer (its repeats, rewordings and the ticket sent with it); an
    inquiry about a ticket (an agent looking it up, however often; the connector's note) is the ticket's
    customer; every other inquiry and ticket (``key``) one of its own."""
    return f"session:{session}" if session else f"ticket:{ticket}" if ticket else key


SESSIONS_PER_CLIENT = 3   # the customers one client address counts as at most (a household, an office)


class Customers:
    """``customer_of``, with one client address counted as at most ``SESSIONS_PER_CLIENT`` customers: the
    session is what the widget sends, and a script that invents one per request would otherwise make its
    own question the costliest topic and set off an incident."""

    def __init__(self) -> None:
        self._sessions: dict[str, set[str]] = {}

    def of(self, key: str, session: str | None, client: str | None = None, ticket: str | None = None) -> str:
        if client and session:
            seen = self._sessions.setdefault(client, set())
            if session not in seen:
                if len(seen) >= SESSIONS_PER_CLIENT:
                    return f"client:{client}"   # every further session of this address: one more customer
                seen.add(session)
        return customer_of(key, session, ticket)


def typed_on(texts: list[str], sessions: list[str | None]) -> list[bool]:
    """Per inquiry (their texts and sessions, in the order logged): whether it is a stage of a question
    its customer typed on -- search-as-you-type logs each pause ("Meine", "Meine Zeitung", "Meine Zeitung kam
    heute nicht") -- because a later inquiry of the same session begins with its text. Stages are no
    question of their own (the first words of many questions would make a topic of their own)."""
    later: dict[str, deque[str]] = {}   # per session: the texts logged after this row, the nearest STAGES
    out = [False] * len(texts)
    for i in range(len(texts) - 1, -1, -1):
        session = sessions[i]
        if not session:
            continue
        text = folded(texts[i])
        seen = later.setdefault(session, deque(maxlen=STAGES))
        out[i] = any(t != text and t.startswith(text) for t in seen)
        seen.appendleft(text)
    return out


def english_share(items: list[Item]) -> float | None:
    """Share of the items in English (their language, else a guess; undecided ones do not count)."""
    langs = [(it.language or detect_language(it.text, default="")).lower()[:2] for it in items]
    known = [lang for lang in langs if lang]
    return sum(lang == "en" for lang in known) / len(known) if known else None


def gap_space(deflector: Engine, *matrices: np.ndarray, english: float | None = None) -> list[np.ndarray]:
    """The vectors the report clusters and compares. On an English help desk (``english``, the share
    of English items, at least ``ENGLISH_DESK``) the whole vectors. Otherwise only the columns of the
    model's parts that know more than English (``embedder.multilingual_columns``), normalised again:
    an English-only part (MiniLM in the default ensemble) puts any two English texts nearer than an
    English and a German phrasing of one question, and any two German texts near each other, which
    splits topics by language and merges German questions that share a word."""
    from deflect.embedder import multilingual_columns

    model = model_name(deflector)
    dim = next((m.shape[1] for m in matrices if m.ndim == 2 and len(m)), None)
    if not model or dim is None or (english is not None and english >= ENGLISH_DESK):
        return list(matrices)
    cols = multilingual_columns(str(model), dim)
    if len(cols) == dim:
        return list(matrices)
    out = []
    for m in matrices:
        if m.ndim != 2 or m.shape[1] != dim:
            out.append(m)
            continue
        part = np.ascontiguousarray(m[:, cols], dtype=np.float32)
        out.append(part / np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-12))
    return out


def model_name(deflector: Engine) -> str | None:
    """The embedding model of the index (or, without one, the model the store was set up with)."""
    return deflector.model or deflector.store.get_setting("model")


def fingerprint(deflector: Engine) -> str:
    """What the engine's judgements depend on: model, articles, calibration."""
    store = deflector.store
    cal = store.get_setting("calibration") or {}
    data = [model_name(deflector), sorted(store.article_hashes().items()), cal.get("threshold"), cal.get("fitted_at")]
    return hashlib.sha1(json.dumps(data, default=str).encode()).hexdigest()[:16]


def cached_rows(store, keys: list[str] | None = None) -> dict[str, dict]:
    """The gap cache (``gap_items``) of the given item keys (default: all)."""
    cols = "key, text_hash, vector, fingerprint, decision, confidence, article_id, topic_id"
    if keys is None:
        cur = store.db.execute(f"select {cols} from gap_items")
        return {r[0]: dict(zip(cols.split(", "), r, strict=False)) for r in cur}
    out = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        cur = store.db.execute(f"select {cols} from gap_items where key in ({','.join('?' * len(chunk))})", chunk)
        out.update({r[0]: dict(zip(cols.split(", "), r, strict=False)) for r in cur})
    return out


def gather(deflector: Engine, items: list[Item], cached: dict[str, dict]) -> Corpus:
    """The items' vectors and the engine's judgements (re-judging only what the cache lacks)."""
    V, fresh, keep = vectors(deflector, items, cached)
    fp = fingerprint(deflector)
    judged = judgements(deflector, items, V, cached, fp, deflector.store.article_ids())
    return Corpus(items, V, fresh, keep, judged, fp)


def vectors(deflector: Engine, items: list[Item], cached: dict[str, dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Item vectors: from the index (tickets), the store's embedding cache (shared with the engine),
    the gap cache, or embedded now (and put into the embedding cache). Returns (vectors, rows not seen
    by an earlier run, rows whose vector only the gap cache can keep: the model is unknown)."""
    store = deflector.store
    hashes = [text_hash(it.text) for it in items]
    seen = np.array([bool(cached.get(it.key)) and cached[it.key]["text_hash"] == h
                     for it, h in zip(items, hashes, strict=True)], bool).reshape(len(items))
    out: list[np.ndarray | None] = [None] * len(items)
    bundle = deflector.bundle
    model = model_name(deflector)
    if bundle is not None and hasattr(bundle, "load_embeddings") and any(it.source == "ticket" for it in items):
        from deflect.index.documents import TICKET
        emb = bundle.load_embeddings(deflector.home.index_dir)
        if emb is not None:
            pos = {str(r): p for p, (r, k) in enumerate(zip(bundle.ref, bundle.kind, strict=True)) if k == TICKET}
            for i, it in enumerate(items):
                p = pos.get(it.id) if it.source == "ticket" else None
                if p is not None and bundle.hashes[p] == text_hash(it.text):
                    out[i] = np.asarray(emb[p], dtype=np.float32)
    for i, it in enumerate(items):
        row = cached.get(it.key)
        if out[i] is None and seen[i] and row["vector"]:
            out[i] = np.frombuffer(row["vector"], dtype=np.float32)
    todo = [i for i, v in enumerate(out) if v is None]
    if todo and model:
        keys = [store.embedding_key(model, items[i].text) for i in todo]
        found = store.cached_embeddings(keys)
        for i, key in zip(todo, keys, strict=True):
            if key in found:
                out[i] = found[key]
        todo = [i for i, v in enumerate(out) if v is None]
    for start in range(0, len(todo), 512):
        part = todo[start:start + 512]
        vecs = np.asarray(deflector.embed([items[i].text for i in part]), np.float32)
        for i, v in zip(part, vecs, strict=True):
            out[i] = v
        if model:
            store.cache_embeddings({store.embedding_key(model, items[i].text): v
                                    for i, v in zip(part, vecs, strict=True)})
    keep = np.full(len(items), not model, bool)
    if not items:
        return np.zeros((0, 1), np.float32), ~seen, keep
    V = np.vstack([np.asarray(v, np.float32) for v in out])
    V /= np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-12)
    return V, ~seen, keep


def _judge(deflector: Engine, items: list[Item], V: np.ndarray,
           rows: np.ndarray) -> list[tuple[str, float, str | None]]:
    """The engine's decision for ``rows`` of items (tickets without themselves)."""
    out = []
    for start in range(0, len(rows), 2048):
        part = rows[start:start + 2048]
        texts = [items[i].text for i in part]
        exclude = [items[i].id if items[i].source == "ticket" else None for i in part]
        for s in deflector.suggest_batch(texts, k=1, exclude_tickets=exclude, vectors=V[part]):
            out.append((s.decision, float(s.confidence), s.articles[0].id if s.articles else None))
    return out


def judgements(deflector: Engine, items: list[Item], V: np.ndarray, cached: dict[str, dict], fp: str,
               articles: set[str]) -> Judgements:
    """The engine's judgement of every item; re-judges only what the cache lacks."""
    n = len(items)
    decision = np.empty(n, dtype=object)
    confidence = np.zeros(n)
    article = np.full(n, None, dtype=object)
    changed = np.zeros(n, bool)
    todo = []
    since = _judged_since(deflector)
    for i, it in enumerate(items):
        if it.linked and it.linked in articles:
            decision[i], confidence[i], article[i] = "linked", 1.0, it.linked
            row = cached.get(it.key)
            changed[i] = not row or row["decision"] != "linked" or row["article_id"] != it.linked
            continue
        row = cached.get(it.key)
        if row and row["fingerprint"] == fp and row["text_hash"] == text_hash(it.text) and row["decision"] in (
                "answer", "no_answer"):
            decision[i], confidence[i], article[i] = row["decision"], row["confidence"] or 0.0, row["article_id"]
        elif _logged_is_current(it, since, articles):
            # what the customer got when it was logged, with today's index and calibration
            decision[i], confidence[i], article[i] = it.logged_decision, it.logged_confidence or 0.0, it.logged_article
            changed[i] = True
        else:
            todo.append(i)
    if todo:
        rows = np.array(todo)
        for i, (d, c, a) in zip(rows, _judge(deflector, items, V, rows), strict=False):
            decision[i], confidence[i], article[i] = d, c, a
            changed[i] = True
    unlinked = decision != "linked"
    by_feedback(decision, article, changed, [it.id if it.source == "inquiry" and unlinked[i] else None
                                             for i, it in enumerate(items)], found_articles(deflector.store), articles)
    away = turned_away(deflector.store)
    return Judgements(decision, confidence, article, changed,
                      np.array([it.source == "inquiry" and it.id in away for it in items], bool).reshape(n))


def _judged_since(deflector: Engine) -> datetime | None:
    """Since when the engine decides as it does today: the last article change or calibration.
    (Index rebuilds that only add tickets barely move the decision and are not counted.)"""
    store = deflector.store
    cal = store.get_setting("calibration") or {}
    last_article = store.db.execute("select max(updated_at) from articles").fetchone()[0]
    times = [t for t in (parse_time(last_article), parse_time(cal.get("fitted_at"))) if t]
    if not times or deflector.bundle is None:
        return None
    return max(times)


def _logged_is_current(item: Item, since: datetime | None, articles: set[str]) -> bool:
    if since is None or item.source != "inquiry" or item.logged_decision not in ("answer", "suggest", "no_answer"):
        return False
    if item.logged_decision == "answer" and item.logged_article not in articles:
        return False
    logged = parse_time(item.created_at)
    return logged is not None and logged > since   # same second: unknown order, judge again


def article_docs(deflector: Engine) -> ArticleDocs:
    """The article documents: from the index when it has them, else the titles and questions embedded now."""
    store = deflector.store
    titles = {r[0]: r[1] for r in store.db.execute("select id, title from articles")}
    bundle = deflector.bundle
    if bundle is not None and getattr(bundle, "article_vectors", None) is not None:
        positions = bundle.article_positions
        vecs = np.asarray(bundle.article_vectors, np.float32)
        ids = [bundle.article_ids[s] for s in bundle.seed[positions]]
        if len(ids) == len(vecs):
            keep = [i for i, a in enumerate(ids) if a in titles]
            return ArticleDocs(vecs[keep], [ids[i] for i in keep], titles)
    docs, ids = [], []
    for a in store.articles():
        for text in [a.title, *a.questions]:
            docs.append(text)
            ids.append(a.id)
    vecs = deflector.embed(docs) if docs else np.zeros((0, 1), np.float32)
    return ArticleDocs(np.asarray(vecs, np.float32), ids, titles)
