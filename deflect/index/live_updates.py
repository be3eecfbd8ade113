"""Live changes of a serving engine's index: articles and resolved tickets become searchable at once
(vectors appended or removed in memory, the index saved for other processes); nothing is rebuilt.

``LiveIndexUpdates`` is a part of ``deflect.deflector.Deflector``; it uses the engine's store, bundle,
embedder, locks and ``_prepare``.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from deflect.embedder import load_embedder
from deflect.errors import DeflectError, NotFoundError
from deflect.formats import Article, Ticket
from deflect.index.build import save_current
from deflect.index.bundle import IndexBundle
from deflect.index.documents import TICKET, article_texts, is_article_doc, ticket_text
from deflect.index.files import read_manifest
from deflect.index.links import infer_from_neighbours, infer_from_resolutions
from deflect.index.lock import index_lock
from deflect.store.links import evidence_links
from deflect.text import text_hash


class LiveIndexUpdates:
    """Upsert/delete articles and add tickets to the engine's index in place, and save it."""

    # -- live updates (the index is changed in place and saved; no rebuild) -------------------
    # A change is searchable as soon as it is applied in memory (under the query lock, a few ms);
    # saving it for other processes then runs under the write lock only, while queries go on.
    def upsert_article(self, article: Article) -> dict[str, list[str]]:
        """Store an article and make it searchable at once (index updated in place and saved)."""
        with self._write_lock:
            outcome = self.store.upsert_articles([article])
            if outcome["unchanged"]:
                return outcome
            docs = article_texts(article)
            vectors = self.embed([t for _, t in docs])
            with self._lock:
                b = self.bundle
                self._remove_article_docs(article.id)
                b.add_articles([article.id])
                a = b.article_ids.index(article.id)
                b.append(np.array([kd for kd, _ in docs], np.int8), [article.id] * len(docs),
                         np.full(len(docs), a, np.int32), [text_hash(t) for _, t in docs], vectors)
                self._prepare()
            self._save()
            return outcome

    def delete_article(self, article_id: str) -> None:
        """Remove an article from the store and the index."""
        with self._write_lock:
            if not self.store.has_article(article_id):
                raise NotFoundError(f"no article {article_id!r}")
            self.store.delete_article(article_id)
            with self._lock:
                self._remove_article_docs(article_id)
                self.bundle.forget_articles({article_id})
                self._prepare()
            self._save()

    def add_tickets(self, tickets: Iterable[Ticket]) -> dict[str, int]:
        """Store resolved tickets (new or changed) and make them searchable at once: new vectors are
        appended, unlinked tickets get labels from their neighbours; nothing else is rebuilt."""
        tickets = list(tickets)
        with self._write_lock:
            counts = self.store.upsert_tickets(tickets)
            if not counts["new"] and not counts["changed"]:
                return counts
            rows = self.store.get_tickets(t.id for t in tickets)
            infer_from_resolutions(self.store, list(rows))
            inferred = evidence_links(self.store)
            b = self.bundle
            columns = b.article_index()
            docs = []
            for t in dict.fromkeys(t.id for t in tickets):
                row = rows.get(t)
                text = ticket_text(row) if row else ""
                if text:
                    docs.append((t, columns.get(row["article_id"] or inferred.get(t), -1), text, text_hash(text)))
            todo, stale = [], []   # new or changed (text or link); the old rows of changed ones go
            for d in docs:
                p = self._neighbours.ticket_positions.get(d[0])
                if p is None or b.hashes[p] != d[3] or b.seed[p] != d[1]:
                    todo.append(d)
                    if p is not None:
                        stale.append(p)
            if not todo:
                return counts
            vectors = self.embed([d[2] for d in todo])
            seeds = np.array([d[1] for d in todo], np.int32)
            with self._lock:
                b.remove(np.array(stale, np.int64))
                positions = b.append(np.full(len(todo), TICKET, np.int8), [d[0] for d in todo], seeds,
                                     [d[3] for d in todo], vectors)
                b.spread_to(positions[seeds < 0], vectors[seeds < 0])
                self._prepare()
            infer_from_neighbours(b, self.store, positions)
            self._save()
            return counts

    def _remove_article_docs(self, article_id: str) -> None:
        b = self.bundle
        b.remove(np.flatnonzero((b.ref == article_id) & is_article_doc(b.kind)))

    def _save(self) -> None:
        """Save the index for other processes (called with the write lock held, not the query lock).

        Under the index folder's exclusive lock. When another process saved since this one loaded or
        saved (a `deflect index`, another worker) its index is newer than this one's but may lack this
        process's changes, which are in the store: that index is taken, caught up with the store and
        saved, rather than overwritten (``deflect.index.build.save_current``). A damaged or missing one
        is replaced by this process's index, caught up the same way."""
        if not self.saves_index:
            return
        index_dir = self.home.index_dir
        with self._write_lock, index_lock(index_dir, exclusive=True):
            try:
                on_disk = read_manifest(index_dir).get("build_id")
            except DeflectError:
                on_disk = None
            theirs = None
            if on_disk is not None and on_disk != self.bundle.manifest.get("build_id"):
                try:
                    theirs = IndexBundle.load(index_dir)
                except DeflectError:
                    theirs = None
            if theirs is None:
                self.bundle.save(index_dir, extra={"article_hashes": self.store.article_hashes()})
            else:
                same_model = theirs.model == self.embedder.name
                embedder = self.embedder if same_model else load_embedder(theirs.model)
                save_current(theirs, self.store, _QueryLockedModel(self) if same_model else embedder, index_dir,
                             since=None, extra={})
                with self._lock:
                    self.bundle, self.embedder = theirs, embedder
                    self._prepare()
            self._manifest_mtime = self._mtime()
            self._reload_problem = None


class _QueryLockedModel:
    """The engine's model as an ``Embedder`` whose calls go through ``Deflector.embed`` (under the query
    lock: the model is not used by two threads at once)."""

    def __init__(self, deflector: LiveIndexUpdates):
        self.name, self.dim, self._deflector = deflector.embedder.name, deflector.embedder.dim, deflector

    def encode(self, texts: list[str], progress=None) -> np.ndarray:
        vectors = self._deflector.embed(texts)
        if progress:
            progress(len(texts))
        return vectors
