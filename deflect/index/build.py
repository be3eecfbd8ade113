"""Build or update the search index from the store: one vector per article title, question variant
and body, and per resolved ticket (``deflect.index.documents``); soft article labels spread to
unlinked tickets; the classifiers (``deflect.index.classifier``); saved as an ``IndexBundle``.

``build`` has two paths:

- **full build** (first build, ``full=True``, ``rebuild=True``, another model or index kind, or
  when more than ``UPDATE_LIMIT`` of the documents changed): embed (re-using the previous
  vectors of unchanged texts unless ``full``), build the vector index (``auto``: exact search
  up to ``APPROX_THRESHOLD`` documents, an approximate FAISS index with compressed vectors
  above), spread article labels to the *unlinked* tickets over their nearest neighbours, fit the
  classifier, save.
- **incremental update** (otherwise): documents of new or changed articles and tickets are
  embedded and appended, removed or changed ones are deleted from the vector index, new
  unlinked tickets get labels spread from their neighbours (all other labels stay fixed), the
  classifier is kept (refitted, warm-started, only when articles were added or many changed),
  and only the new embedding rows are written (a new segment file beside the old ones).
  ``Deflector.upsert_article`` and ``Deflector.add_tickets`` use the same bundle operations.

Before saving, either path applies what changed in the store while it ran (``save_current``). A
damaged previous index (see ``deflect.index.files``) is rebuilt in full, re-using the vectors of its
intact files and those the store cached for the same texts; ``damage`` in the result says what it was.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy import sparse

from deflect.embedder import Embedder
from deflect.errors import IndexMismatchError, IndexMissingError
from deflect.index.ann import VectorIndex
from deflect.index.bundle import IndexBundle, classifier_rows, salvage_embeddings
from deflect.index.classifier import fit_classifier
from deflect.index.documents import DELETED, TICKET, collect_documents, content_state, is_article_doc
from deflect.index.files import verify_index
from deflect.index.links import infer_from_neighbours, infer_from_resolutions
from deflect.index.lock import index_lock
from deflect.labels import NEIGHBOURS, hard_labels, spread_labels
from deflect.store import Store
from deflect.text import text_hash

# auto index: exact (flat) search up to APPROX_THRESHOLD documents; IVF with exact (Flat) storage
# above; IVF with 8-bit codes (a quarter of the memory) above COMPRESS_THRESHOLD. A single-thread flat
# scan of 10k MiniLM vectors took 0.8-1.0 ms CPU per query against 0.16 ms for IVF256,Flat (nprobe 32)
# at recall@10 0.998 (real embeddings, scripts/bench_speed.py); SQ8 at 1M: see scripts/bench_ann.py.
APPROX_THRESHOLD = 20_000  # lead: exact neighbours keep label voting exact on mid-size help desks (~1 ms at 10k)
COMPRESS_THRESHOLD = 200_000
ENCODE_BATCH = 128        # texts per forward pass when building (2-3x faster than 32 on CPU)
EXACT_GRAPH_PAIRS = 1e9   # exact kNN graph for label spreading up to this many query x doc pairs
UPDATE_LIMIT = 0.5        # incremental update while fewer than this share of documents change
RETRAIN_ARTICLES = 0.1    # refit the classifier when more than this share of articles changed


def encode_sorted(embedder: Embedder, texts: list[str],
                  progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Embed texts longest first (batches of similar length pad least), in the original order."""
    if not texts:
        return np.zeros((0, embedder.dim), np.float32)
    order = np.argsort([-len(t) for t in texts], kind="stable")
    parts = getattr(embedder, "_parts", [])
    sizes = [getattr(p, "batch_size", None) for p in parts]
    for p in parts:
        if hasattr(p, "batch_size"):
            p.batch_size = max(p.batch_size, ENCODE_BATCH)
    try:
        vectors = embedder.encode([texts[i] for i in order], progress=progress)
    finally:
        for p, size in zip(parts, sizes):
            if size is not None:
                p.batch_size = size
    out = np.empty_like(vectors)
    out[order] = vectors
    return out


Known = tuple[np.ndarray, Callable[[np.ndarray], np.ndarray | None]]  # text hashes; their vectors by row


def known_from(previous: IndexBundle | None, previous_dir: Path | None, embedder: Embedder) -> list[Known]:
    """The previous index's vectors, to re-use for unchanged texts (none from another model)."""
    if previous is None or previous_dir is None or previous.model != embedder.name:
        return []
    return [(previous.hashes, lambda rows: previous.gather_embeddings(previous_dir, rows))]


def embed_documents(texts: list[str], hashes: list[str], embedder: Embedder, known: list[Known],
                    progress: Callable[[int], None] | None = None,
                    store: Store | None = None) -> tuple[np.ndarray, int]:
    """Embeddings for all texts, re-using ``known`` vectors of unchanged texts and, given a ``store``
    (a repair), the vectors it cached for the same texts. Returns (vectors, number newly embedded)."""
    out = np.zeros((len(texts), embedder.dim), np.float32)
    todo = list(range(len(texts)))
    for source_hashes, gather in known:
        where = dict(zip(source_hashes.tolist(), range(len(source_hashes))))
        hit = [(i, where[hashes[i]]) for i in todo if hashes[i] in where]
        old = gather(np.array([j for _, j in hit], np.int64)) if hit else None
        if old is not None:
            out[[i for i, _ in hit]] = old
            done = {i for i, _ in hit}
            todo = [i for i in todo if i not in done]
    if store is not None and todo:
        keys = [store.embedding_key(embedder.name, texts[i]) for i in todo]
        cached = store.cached_embeddings(keys)
        found = [(i, cached[k]) for i, k in zip(todo, keys) if k in cached and len(cached[k]) == embedder.dim]
        for i, vector in found:
            out[i] = vector
        done = {i for i, _ in found}
        todo = [i for i in todo if i not in done]
    if progress and len(todo) < len(texts):
        progress(len(texts) - len(todo))
    if todo:
        out[todo] = encode_sorted(embedder, [texts[i] for i in todo], progress=progress)
    return out, len(todo)


def index_args(n: int, kind: str = "auto") -> dict:
    """VectorIndex.build arguments for ``n`` documents: ``auto`` is exact up to APPROX_THRESHOLD, then
    IVF with exact vectors, and IVF with 8-bit codes above COMPRESS_THRESHOLD."""
    if kind != "auto":
        return {"kind": kind}
    return {"kind": "auto", "threshold": APPROX_THRESHOLD, "qtype": "SQ8" if n > COMPRESS_THRESHOLD else "Flat",
            "by_residual": n > COMPRESS_THRESHOLD}



def build(store: Store, embedder: Embedder, index_dir: Path, full: bool = False, kind: str = "auto",
          progress: Callable[[int], None] | None = None, on_total: Callable[[int], None] | None = None,
          rebuild: bool = False, reuse: dict[str, np.ndarray] | None = None) -> dict:
    """Build or update the index from the store and save it; returns the manifest plus statistics
    (``mode``: full | update | unchanged, ``embedded``, ``added``, ``removed``, ``seconds``;
    ``damage``: what was wrong with the previous index when it had to be rebuilt, else None;
    ``caught_up``: documents changed in the store while building, applied before saving).

    ``full`` re-embeds everything; ``rebuild`` rebuilds index, labels and classifier from scratch
    but re-uses the vectors of unchanged texts; otherwise the previous index is updated in place
    when that is possible. A damaged previous index is rebuilt, re-using what of it is intact.
    ``reuse``: vectors of this model already embedded (by text hash; the model choice's), re-used."""
    started = time.perf_counter()
    since = content_state(store)
    infer_from_resolutions(store, force=full or rebuild)   # before the documents are read: confident links seed
    article_ids, docs = collect_documents(store)
    if not docs:
        raise IndexMissingError("nothing to index: the store has no articles or tickets",
                                hint="Ingest your FAQ first: `deflect ingest faq_articles/`.")
    texts = [d[3] for d in docs]
    hashes = [text_hash(t) for t in texts]
    previous, damage = (None, None) if full else load_previous(index_dir)
    stats = None
    if previous is not None and not rebuild:
        stats = _update(previous, store, embedder, index_dir, article_ids, docs, hashes, kind,
                        progress, on_total, since)
    if stats is None:
        if on_total:
            on_total(len(docs))
        known = known_from(previous, index_dir, embedder)
        salvaged = salvage_embeddings(index_dir) if damage else None
        if salvaged is not None and salvaged[0] == embedder.name:
            known.append((salvaged[1], lambda rows: np.asarray(salvaged[2][rows], np.float32)))
        if reuse:
            given = np.stack(list(reuse.values())).astype(np.float32, copy=False)
            known.append((np.array(list(reuse)), lambda rows: given[rows]))
        stats = _full_build(store, embedder, index_dir, article_ids, docs, hashes, kind, known,
                            progress, since, repair=damage is not None)
    return {**stats, "damage": damage, "seconds": round(time.perf_counter() - started, 2)}


def load_previous(index_dir: Path) -> tuple[IndexBundle | None, str | None]:
    """The previous index to update or re-use vectors from (its embedding files checked now, as a
    build reads them anyway), or None; and what is damaged when there is one that cannot be used."""
    try:
        previous = IndexBundle.load(index_dir)
        previous.verify_embeddings(index_dir)
        return previous, None
    except IndexMissingError:
        try:
            verify_index(index_dir)   # build files without a manifest: damaged, not missing
        except IndexMismatchError as exc:
            return None, str(exc)
        except IndexMissingError:
            pass
        return None, None
    except IndexMismatchError as exc:
        return None, str(exc)


# Changes that reach the store while a build runs (an article pushed to the server, a ticket, a delete)
# must not be lost when the build saves the index it computed from the store as it was before. The
# store is the truth, so every save -- a build's, and a server's live change when another process saved
# in between (``Deflector._save``) -- happens under the index folder's exclusive lock right after its
# index was brought up to the store's current content. Whichever save comes last then holds every change
# that reached the store before it, whatever the order of processes; a server's own in-memory update
# needs no message between processes, and its next reload finds the caught-up index.
def save_current(bundle: IndexBundle, store: Store, embedder: Embedder, index_dir: Path,
                 since: tuple[dict, dict] | None, extra: dict) -> tuple[dict, dict | None]:
    """Apply the store's changes since ``since`` (its ``content_state`` when the bundle's documents
    were read; None: compare everything) and save, under the folder's exclusive lock. Returns the
    manifest and the statistics of the changes caught up (None when there were none)."""
    with index_lock(index_dir, exclusive=True):
        now = content_state(store)
        caught = catch_up(bundle, store, embedder, index_dir) if now != since else None
        infer_from_neighbours(bundle, store)
        return bundle.save(index_dir, extra={**extra, "article_hashes": now[0]}), caught


def catch_up(bundle: IndexBundle, store: Store, embedder: Embedder, index_dir: Path) -> dict | None:
    """Bring ``bundle`` in place to the store's documents (incrementally, however many changed);
    the update's statistics, or None when it already matched."""
    article_ids, docs = collect_documents(store)
    hashes = [text_hash(d[3]) for d in docs]
    plan = _plan(bundle, article_ids, docs, hashes)
    if not len(plan[0]) and not len(plan[1]) and not bundle.live_articles() - set(article_ids):
        return None
    return _apply(bundle, embedder, index_dir, article_ids, docs, hashes, plan, None)


def _full_build(store: Store, embedder: Embedder, index_dir: Path, article_ids: list[str], docs: list,
                hashes: list[str], kind: str, known: list[Known], progress: Callable[[int], None] | None,
                since: tuple[dict, dict], repair: bool) -> dict:
    timings = {}
    t = time.perf_counter()
    vectors, embedded = embed_documents([d[3] for d in docs], hashes, embedder, known, progress,
                                        store=store if repair else None)
    timings["embed"] = time.perf_counter() - t
    t = time.perf_counter()
    ids = np.arange(len(docs), dtype=np.int64)
    vindex = VectorIndex.build(vectors, ids, **index_args(len(docs), kind))
    timings["index"] = time.perf_counter() - t
    t = time.perf_counter()
    seeds = np.array([d[2] for d in docs], np.int32)
    kinds = np.array([d[0] for d in docs], np.int8)
    labels, graph = _spread(vindex, vectors, seeds, len(article_ids))
    timings["labels"] = time.perf_counter() - t
    t = time.perf_counter()
    targets = hard_labels(labels, -1)
    classifier = fit_classifier(vectors, targets) if article_ids else None
    timings["classifier"] = time.perf_counter() - t
    t = time.perf_counter()
    bundle = IndexBundle(model=embedder.name, dim=embedder.dim, vectors=vindex, kind=kinds,
                         ref=np.array([d[1] for d in docs], dtype=object), seed=seeds, labels=labels,
                         hashes=np.array(hashes, dtype=object), article_ids=article_ids,
                         classifier=classifier, embeddings=vectors,
                         article_vectors=vectors[is_article_doc(kinds)])
    del vectors
    build_info = {"mode": "full", "graph": graph, "documents": len(docs), "embedded": embedded}
    manifest, caught = save_current(bundle, store, embedder, index_dir, since,
                                    {"build": build_info, "last_update": None})
    timings["save"] = time.perf_counter() - t
    return {**manifest, "mode": "full", "embedded": embedded, "added": len(docs), "removed": 0,
            "caught_up": caught, "timings": {k: round(v, 3) for k, v in timings.items()}}


def _plan(previous: IndexBundle, article_ids: list[str], docs: list, hashes: list[str]):
    """Which previous positions to remove and which documents to add; None means rebuild."""
    live = np.flatnonzero(previous.kind != DELETED)
    where = dict(zip(zip(previous.kind[live].tolist(), previous.ref[live].tolist(),
                         previous.hashes[live].tolist()), live.tolist()))
    columns = previous.article_index()
    new_articles = [a for a in article_ids if a not in columns]
    for a in new_articles:
        columns[a] = len(columns)
    seeds = np.array([columns[article_ids[d[2]]] if d[2] >= 0 else -1 for d in docs], np.int32)
    keep = np.zeros(len(previous.kind), bool)
    add = []
    old_seed = previous.seed
    for i, d in enumerate(docs):
        p = where.get((d[0], d[1], hashes[i]))
        if p is not None and old_seed[p] == seeds[i]:
            keep[p] = True
        else:
            add.append(i)
    remove = live[~keep[live]]
    return np.array(add, np.int64), remove, seeds, new_articles


def _update(previous: IndexBundle, store: Store, embedder: Embedder, index_dir: Path,
            article_ids: list[str], docs: list, hashes: list[str], kind: str,
            progress: Callable[[int], None] | None, on_total: Callable[[int], None] | None,
            since: tuple[dict, dict]) -> dict | None:
    """Apply the changes since the previous index in place; None when a full build is due."""
    if previous.model != embedder.name or previous.dim != embedder.dim:
        return None
    if kind != previous.vectors.requested:
        return None
    described = previous.vectors.describe()
    if described["kind"] != "flat":
        trained_on = int(described["params"].get("trained_on") or 0)
        if trained_on and len(docs) > 2 * trained_on:   # the approximate index outgrew its training
            return None
    plan = _plan(previous, article_ids, docs, hashes)
    add, remove = plan[0], plan[1]
    live = int((previous.kind != DELETED).sum())
    if len(add) + len(remove) > UPDATE_LIMIT * max(live, 1):
        return None
    if on_total:
        on_total(len(add))
    if not len(add) and not len(remove) and not _classless(previous):
        if previous.manifest.get("article_hashes") == since[0]:
            # the links its neighbours infer live in the store: one moved to another database gets them back
            infer_from_neighbours(previous, store)
            return {**previous.manifest, "mode": "unchanged", "embedded": 0, "added": 0, "removed": 0,
                    "caught_up": None}
    update = _apply(previous, embedder, index_dir, article_ids, docs, hashes, plan, progress)
    manifest, caught = save_current(previous, store, embedder, index_dir, since, {"last_update": update})
    return {**manifest, "mode": "update", "embedded": update["embedded"], "added": update["added"],
            "removed": update["removed"], "caught_up": caught}


def _apply(b: IndexBundle, embedder: Embedder, index_dir: Path, article_ids: list[str], docs: list,
           hashes: list[str], plan: tuple, progress: Callable[[int], None] | None) -> dict:
    """Change ``b`` in place by a ``_plan``: remove and add documents, spread labels to new unlinked
    tickets, forget deleted articles, refit the classifier when many articles changed. Statistics."""
    add, remove, seeds, new_articles = plan
    changed_articles = {b.ref[p] for p in remove if b.kind[p] != TICKET} | {
        docs[i][1] for i in add if docs[i][0] != TICKET}
    gone = b.live_articles() - set(article_ids)
    texts = [docs[i][3] for i in add]
    new_hashes = [hashes[i] for i in add]
    vectors, embedded = embed_documents(texts, new_hashes, embedder, known_from(b, index_dir, embedder), progress)
    b.add_articles(new_articles)
    removed = b.remove(remove)
    kinds = np.array([docs[i][0] for i in add], np.int8)
    positions = b.append(kinds, [docs[i][1] for i in add], seeds[add], new_hashes, vectors)
    unlinked = (kinds == TICKET) & (seeds[add] < 0)
    b.spread_to(positions[unlinked], vectors[unlinked])
    if gone:
        b.forget_articles(gone)
    retrain = bool(_classless(b)) or len(changed_articles) > RETRAIN_ARTICLES * max(len(article_ids), 1)
    if retrain:
        rows = classifier_rows(b, index_dir)
        if rows is not None:
            b.classifier = fit_classifier(rows[1], rows[2], previous=b.classifier)
    return {"mode": "update", "at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "added": int(len(add)), "removed": int(removed), "embedded": int(embedded),
            "new_articles": len(new_articles), "changed_articles": len(changed_articles),
            "deleted_articles": len(gone), "classifier_refitted": retrain}


def _classless(bundle: IndexBundle) -> set[int]:
    """Article columns with searchable documents but no class in the classifier (added since it was fit)."""
    live = set(bundle.seed[bundle.article_positions].tolist())
    if bundle.classifier is None:
        return live if len(live) >= 2 else set()
    return live - set(bundle.classifier.classes.tolist())



def _spread(vindex: VectorIndex, vectors: np.ndarray, seeds: np.ndarray, n_articles: int,
            batch: int = 4096) -> tuple[sparse.csr_matrix, dict]:
    """Soft labels for all documents; only the unlinked ones need neighbours (linked rows are fixed).
    Returns (labels, how the neighbour graph was searched)."""
    n = len(vectors)
    if n_articles == 0:
        return sparse.csr_matrix((n, 0), dtype=np.float32), {"searched": 0}
    k = min(NEIGHBOURS + 1, n)
    free = np.flatnonzero(seeds < 0)
    neighbours = np.full((n, k), -1, np.int64)
    scores = np.zeros((n, k), np.float32)
    graph_index, how = vindex, vindex.kind
    if vindex.kind == "flat" and len(free) * n > EXACT_GRAPH_PAIRS:
        graph_index = VectorIndex.build(vectors, np.arange(n, dtype=np.int64), kind="ivf", qtype="Flat",
                                        nprobe=16)
        how = f"ivf (temporary, {graph_index.describe()['params']['factory']}, nprobe 16)"
    for start in range(0, len(free), batch):
        rows = free[start:start + batch]
        s, i = graph_index.search(vectors[rows], k)
        neighbours[rows], scores[rows] = i, s
    own = neighbours == np.arange(n)[:, None]
    neighbours[own] = -1
    labels = spread_labels(neighbours, scores, seeds, n_articles)
    return labels, {"searched": int(len(free)), "k": k, "index": how}
