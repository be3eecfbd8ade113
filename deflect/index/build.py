"""Build, update, save and load the search index: one vector per article title, question variant and
body, and per resolved ticket; soft article labels spread to unlinked tickets; a linear classifier,
and a second one over the article documents alone (``fit_article_classifier``).

Files live in ``index/`` beside a ``manifest.json`` (model, dimension, counts, index type and the
reason it was chosen, build time). A save writes new files first and replaces the manifest last
(atomically), so a crash mid-build leaves the previous index usable.

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
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy import sparse

from deflect.embedder import Embedder, multilingual_columns
from deflect.errors import IndexMismatchError, IndexMissingError
from deflect.formats import Article
from deflect.index.ann import VectorIndex
from deflect.labels import ALPHA, hard_labels, neighbour_weights, spread_labels
from deflect.store import Store
from deflect.text import clip, markdown_to_text

FORMAT = 1
TITLE, QUESTION, BODY, TICKET, DELETED = 0, 1, 2, 3, -1
NEIGHBOURS = 10           # k of the label-spreading graph and of query-time voting
TEMPERATURE = 0.05        # sharpness of similarity weights
SPREAD_ITERATIONS = 10
CLASSIFIER_SAMPLE = 30000  # max documents the linear classifier is trained on
ARTICLE_CLASSIFIER_C = 1000.0  # inverse regularisation of the classifier over the article texts alone
BODY_CHARS = 600
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
MERGE_ROWS = 50_000       # embedding files up to this many rows are rewritten as one file
MAX_SEGMENTS = 8          # above this many embedding segment files they are merged


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def article_texts(article: Article) -> list[tuple[int, str]]:
    """The documents one article contributes: title, each question variant, title + body."""
    docs = [(TITLE, article.title)]
    docs += [(QUESTION, q) for q in dict.fromkeys(article.questions) if q and q != article.title]
    body = clip(markdown_to_text(article.body), BODY_CHARS)
    if body:
        docs.append((BODY, f"{article.title}\n{body}"))
    return docs


def ticket_text(row: dict) -> str:
    """The customer's words of a stored ticket."""
    subject, body = (row.get("subject") or "").strip(), (row.get("body") or "").strip()
    if not subject or body.startswith(subject):
        return clip(body or subject, 1000)
    return clip(f"{subject}\n{body}" if body else subject, 1000)


@dataclass
class Classifier:
    """Multinomial logistic regression over embeddings; class -1 means "no article"."""

    coef: np.ndarray        # (classes, dim)
    intercept: np.ndarray   # (classes,)
    classes: np.ndarray     # article index per class, -1 = none

    def proba(self, vectors: np.ndarray, n_articles: int) -> np.ndarray:
        """(n, n_articles + 1) probabilities, the last column for "no article"."""
        logits = vectors @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        out = np.zeros((len(vectors), n_articles + 1), np.float32)
        cols = np.where(self.classes >= 0, self.classes, n_articles)
        out[:, cols] = p
        return out

    def without(self, articles: np.ndarray) -> Classifier:
        """The classifier with the classes of ``articles`` (deleted ones) dropped."""
        keep = ~np.isin(self.classes, articles) | (self.classes < 0)
        return Classifier(self.coef[keep], self.intercept[keep], self.classes[keep])


@dataclass
class IndexBundle:
    """Everything the engine searches: vectors, per-document metadata, labels, classifier.

    Documents are addressed by position (the id in ``vectors``); removed documents stay as
    ``DELETED`` rows until the next full build. Embeddings of all positions are kept on disk as
    float16 segment files (``embedding_files``, ``saved_rows`` rows) plus ``pending`` rows not
    saved yet; ``load_embeddings`` gives them as one (n, dim) array.
    """

    model: str
    dim: int
    vectors: VectorIndex
    kind: np.ndarray                 # (n,) int8: TITLE/QUESTION/BODY/TICKET/DELETED
    ref: np.ndarray                  # (n,) str: article id or ticket id
    seed: np.ndarray                 # (n,) int32 article index of linked documents, -1 unlinked
    labels: sparse.csr_matrix        # (n, n_articles) soft labels
    hashes: np.ndarray               # (n,) text hashes (for re-using embeddings)
    article_ids: list[str]
    classifier: Classifier | None
    article_vectors: np.ndarray | None = None   # (m, dim) vectors of the article documents
    article_classifier: Classifier | None = None  # over the article documents alone, see article_model()
    manifest: dict = field(default_factory=dict)
    embeddings: np.ndarray | None = None   # (n, dim) rows not saved yet (a build's vectors)
    embedding_files: list[str] = field(default_factory=list)
    saved_rows: int = 0
    _emb_cache: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.article_vectors is None:
            self.article_vectors = np.zeros((0, self.dim), np.float32)
        self._article_model_stale = self.article_classifier is None
        self.pending: list[np.ndarray] = []
        if self.embeddings is not None:
            self.pending.append(np.asarray(self.embeddings, np.float16))
            self.embeddings = None

    @property
    def article_positions(self) -> np.ndarray:
        """Document positions of the live article documents (titles, questions, bodies)."""
        return np.flatnonzero((self.kind >= TITLE) & (self.kind <= BODY))

    @property
    def n_articles(self) -> int:
        return len(self.article_ids)

    def article_index(self) -> dict[str, int]:
        return {a: i for i, a in enumerate(self.article_ids)}

    def live_articles(self) -> set[str]:
        """Ids of the articles that have searchable documents."""
        return set(self.ref[self.article_positions].tolist())

    def article_model(self) -> Classifier | None:
        """The classifier over the article documents alone (titles, questions, bodies; no tickets),
        refitted after they changed; None with fewer than two articles."""
        if self._article_model_stale:
            self.article_classifier = fit_article_classifier(
                self.article_vectors, self.seed[self.article_positions], multilingual_columns(self.model, self.dim))
            self._article_model_stale = False
        return self.article_classifier

    def votes(self, neighbours: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """(n, n_articles) float32: sum over each row's neighbours of weight x that neighbour's labels.
        The same numbers as ``csr(weights) @ labels`` without building a sparse matrix per query."""
        n, k = neighbours.shape
        out = np.zeros((n, self.labels.shape[1]), np.float32)
        flat = neighbours.ravel()
        keep = np.flatnonzero(flat >= 0)
        if not len(keep) or not out.shape[1]:
            return out
        rows, pos, w = keep // k, flat[keep], weights.ravel()[keep].astype(np.float32)
        indptr, indices, data = self.labels.indptr, self.labels.indices, self.labels.data
        starts, lengths = indptr[pos], indptr[pos + 1] - indptr[pos]
        total = int(lengths.sum())
        if not total:
            return out
        owner = np.repeat(np.arange(len(pos)), lengths)
        at = starts[owner] + (np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths))
        np.add.at(out, (rows[owner], indices[at]), w[owner] * data[at])
        return out

    # -- in-place updates ----------------------------------------------------------------------
    def add_articles(self, ids: list[str]) -> None:
        """Append label columns for articles not known yet (existing columns never move)."""
        known = set(self.article_ids)
        new = [a for a in dict.fromkeys(ids) if a not in known]
        if new:
            self.article_ids.extend(new)
            self.labels = sparse.csr_matrix((self.labels.data, self.labels.indices, self.labels.indptr),
                                            shape=(self.labels.shape[0], len(self.article_ids)))

    def append(self, kinds: np.ndarray, refs: list[str], seeds: np.ndarray, hashes: list[str],
               vectors: np.ndarray, labels: sparse.csr_matrix | None = None) -> np.ndarray:
        """Add documents (searchable at once); returns their positions. ``labels`` defaults to
        one-hot rows for linked documents and empty rows for unlinked ones."""
        m = len(kinds)
        start = len(self.kind)
        positions = np.arange(start, start + m, dtype=np.int64)
        if m == 0:
            return positions
        kinds, seeds = np.asarray(kinds, np.int8), np.asarray(seeds, np.int32)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if labels is None:
            linked = np.flatnonzero(seeds >= 0)
            labels = sparse.csr_matrix((np.ones(len(linked), np.float32), (linked, seeds[linked])),
                                       shape=(m, self.n_articles))
        self.vectors.add(vectors, positions)
        self.kind = np.concatenate([self.kind, kinds])
        self.ref = np.concatenate([self.ref, np.array(list(refs), dtype=object)])
        self.seed = np.concatenate([self.seed, seeds])
        self.hashes = np.concatenate([self.hashes, np.array(list(hashes), dtype=object)])
        self.labels = sparse.vstack([self.labels, labels.astype(np.float32)], format="csr")
        art = (kinds >= TITLE) & (kinds <= BODY)
        if art.any():
            self.article_vectors = np.concatenate([self.article_vectors, vectors[art]])
            self._article_model_stale = True
        self.pending.append(vectors.astype(np.float16))
        self._emb_cache = None
        return positions

    def remove(self, positions: np.ndarray) -> int:
        """Delete documents from the search (their rows stay as DELETED); returns how many."""
        positions = np.unique(np.asarray(positions, np.int64))
        positions = positions[self.kind[positions] != DELETED] if len(positions) else positions
        if not len(positions):
            return 0
        removed = np.isin(self.article_positions, positions)
        if removed.any():
            self.article_vectors = self.article_vectors[~removed]
            self._article_model_stale = True
        self.vectors.remove(positions)
        self.kind[positions] = DELETED
        self.seed[positions] = -1
        return len(positions)

    def forget_articles(self, ids: set[str]) -> None:
        """Articles that no longer exist: no label mass and no classifier class points to them."""
        cols = np.array([i for i, a in enumerate(self.article_ids) if a in ids], np.int64)
        if not len(cols):
            return
        labels = self.labels.tocsr(copy=True)
        labels.data[np.isin(labels.indices, cols)] = 0
        labels.eliminate_zeros()
        self.labels = labels
        if self.classifier is not None:
            self.classifier = self.classifier.without(cols)
        self._article_model_stale = True

    def spread_to(self, positions: np.ndarray, vectors: np.ndarray) -> None:
        """Labels for new unlinked documents from their neighbours (all other rows stay fixed)."""
        if not len(positions) or not self.n_articles:
            return
        k = NEIGHBOURS + 1
        scores, nbrs = self.vectors.search(vectors, k)
        rows = _neighbour_rows(self.labels.shape[0], positions, nbrs, scores)
        free = sparse.csr_matrix((np.ones(len(positions), np.float32), (np.arange(len(positions)),
                                  positions)), shape=(len(positions), self.labels.shape[0]))
        fixed = self.labels
        from_fixed = (rows @ fixed).tocsr()          # rows of `positions` in fixed are empty
        among = (rows @ free.T).tocsr()              # weights between the new rows themselves
        new = sparse.csr_matrix((len(positions), self.n_articles), dtype=np.float32)
        for _ in range(SPREAD_ITERATIONS):   # the same iteration as spread_labels, other rows fixed
            new = (ALPHA * (from_fixed + among @ new)).tocsr()
            new.data[new.data < 0.01] = 0
            new.eliminate_zeros()
        self.labels = (fixed + free.T @ new).astype(np.float32).tocsr()

    # -- persistence -------------------------------------------------------------------------
    def save(self, index_dir: Path, extra: dict | None = None) -> dict:
        """Write new files, then switch the manifest atomically and delete the old files."""
        index_dir.mkdir(parents=True, exist_ok=True)
        build = uuid.uuid4().hex[:12]
        files = {"vectors": f"vectors-{build}.faiss", "docs": f"docs-{build}.npz"}
        self.vectors.write(index_dir / files["vectors"])
        arrays = dict(kind=self.kind, ref=self.ref.astype(str), seed=self.seed, hashes=self.hashes.astype(str),
                      labels_data=self.labels.data, labels_indices=self.labels.indices,
                      labels_indptr=self.labels.indptr, labels_shape=np.array(self.labels.shape),
                      article_ids=np.array(self.article_ids, dtype=str),
                      article_vectors=self.article_vectors)
        if self.classifier is not None:
            arrays.update(clf_coef=self.classifier.coef, clf_intercept=self.classifier.intercept,
                          clf_classes=self.classifier.classes)
        article_model = self.article_model()
        if article_model is not None:
            arrays.update(art_coef=article_model.coef, art_intercept=article_model.intercept,
                          art_classes=article_model.classes)
        _atomic_write(index_dir / files["docs"], lambda f: np.savez(f, **arrays))
        segments = self._save_embeddings(index_dir, build)
        if segments:
            files["embeddings"] = segments[0]
        live = self.kind != DELETED
        now = datetime.now(UTC).replace(microsecond=0).isoformat()
        manifest = {
            "format": FORMAT, "model": self.model, "dim": self.dim, "build_id": build,
            "built_at": self.manifest.get("built_at", now), "updated_at": now,
            "counts": {"documents": int(live.sum()), "articles": len(self.live_articles()),
                       "tickets": int((self.kind == TICKET).sum()),
                       "linked_tickets": int(((self.kind == TICKET) & (self.seed >= 0)).sum()),
                       "deleted_rows": int((~live).sum())},
            "index": describe_index(self.vectors),
            "files": files, "embedding_segments": segments[1:], "embedding_rows": self.saved_rows,
            "params": {"neighbours": NEIGHBOURS, "temperature": TEMPERATURE,
                       "classifier": self.classifier is not None},
            **{k: v for k, v in self.manifest.items() if k in ("build", "last_update")},
            **(extra or {}),
        }
        _atomic_write(index_dir / "manifest.json",
                      lambda f: f.write(json.dumps(manifest, indent=2).encode("utf-8")))
        keep = set(files.values()) | set(segments) | {"manifest.json", ".gitkeep"}
        for path in index_dir.iterdir():
            if path.is_file() and path.name not in keep and path.name.split("-")[0] in ("vectors", "docs",
                                                                                        "embeddings"):
                path.unlink(missing_ok=True)
        self.manifest = manifest
        return manifest

    def _save_embeddings(self, index_dir: Path, build: str) -> list[str]:
        """Write the pending embedding rows (a new segment, or everything merged into one file)."""
        n = len(self.kind)
        pending = sum(len(p) for p in self.pending)
        if self.saved_rows + pending != n:   # rows do not line up with positions: drop them
            self.embedding_files, self.saved_rows, self.pending, self._emb_cache = [], 0, [], None
            return []
        if not pending:
            return list(self.embedding_files)
        name = f"embeddings-{build}.npy"
        if self.embedding_files and (n <= MERGE_ROWS or len(self.embedding_files) >= MAX_SEGMENTS):
            everything = np.asarray(self.load_embeddings(index_dir), np.float16)
            _atomic_write(index_dir / name, lambda f: np.save(f, everything))
            self.embedding_files = [name]
        else:
            rows = np.concatenate(self.pending) if len(self.pending) > 1 else self.pending[0]
            _atomic_write(index_dir / name, lambda f: np.save(f, rows))
            self.embedding_files = [*self.embedding_files, name]
        self.saved_rows, self.pending, self._emb_cache = n, [], None
        return list(self.embedding_files)

    @classmethod
    def load(cls, index_dir: Path, expected_model: str | None = None) -> IndexBundle:
        """Load the index; a missing index or one built with another model is a clear error."""
        manifest = read_manifest(index_dir)
        if expected_model is not None and manifest["model"] != expected_model:
            raise IndexMismatchError(
                f"the index in {index_dir} was built with model {manifest['model']!r}, "
                f"not {expected_model!r}",
                hint=f"Rebuild it with `deflect index --model {expected_model}`, or use the index's model.")
        files = manifest["files"]
        try:
            vectors = VectorIndex.read(index_dir / files["vectors"], manifest.get("index"))
            with np.load(index_dir / files["docs"], allow_pickle=False) as z:
                d = {k: z[k] for k in z.files}
        except (OSError, KeyError, ValueError) as exc:
            raise IndexMismatchError(f"the index in {index_dir} is unreadable: {exc}",
                                     hint="Rebuild it with `deflect index --full`.") from exc
        labels = sparse.csr_matrix((d["labels_data"], d["labels_indices"], d["labels_indptr"]),
                                   shape=tuple(d["labels_shape"]))
        clf = None
        if "clf_coef" in d:
            clf = Classifier(d["clf_coef"], d["clf_intercept"], d["clf_classes"])
        article_clf = None   # indexes saved before it existed get it fitted on first use
        if "art_coef" in d:
            article_clf = Classifier(d["art_coef"], d["art_intercept"], d["art_classes"])
        segments = ([files["embeddings"]] if files.get("embeddings") else []) + manifest.get(
            "embedding_segments", [])
        rows = int(manifest.get("embedding_rows", len(d["kind"]) if segments else 0))
        return cls(model=manifest["model"], dim=int(manifest["dim"]), vectors=vectors, kind=d["kind"],
                   ref=d["ref"].astype(object), seed=d["seed"], labels=labels, hashes=d["hashes"].astype(object),
                   article_ids=[str(a) for a in d["article_ids"]], classifier=clf,
                   article_vectors=d["article_vectors"], article_classifier=article_clf, manifest=manifest,
                   embedding_files=segments,
                   saved_rows=rows)

    def _embedding_parts(self, index_dir: Path) -> list[np.ndarray] | None:
        """The saved segment files (memory-mapped) and the unsaved rows, in position order; None when
        a file is missing or the rows do not add up to the documents."""
        parts = []
        for name in self.embedding_files:
            if not (index_dir / name).exists():
                return None
            parts.append(np.load(index_dir / name, mmap_mode="r"))
        parts += self.pending
        return parts if sum(len(p) for p in parts) == len(self.kind) else None

    def load_embeddings(self, index_dir: Path) -> np.ndarray | None:
        """(n, dim) float16 embeddings of every position (memory-mapped where possible), or None."""
        if self._emb_cache is not None:
            return self._emb_cache
        parts = self._embedding_parts(index_dir)
        if not parts:
            return None
        self._emb_cache = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return self._emb_cache

    def gather_embeddings(self, index_dir: Path, positions: np.ndarray) -> np.ndarray | None:
        """float32 embeddings of some positions, read from the segment files without joining them."""
        if self._emb_cache is not None:
            return np.asarray(self._emb_cache[positions], np.float32)
        parts = self._embedding_parts(index_dir)
        if parts is None:
            return None
        positions = np.asarray(positions, np.int64)
        out = np.empty((len(positions), self.dim), np.float32)
        start = 0
        order = np.argsort(positions, kind="stable")
        sorted_pos = positions[order]
        for part in parts:
            lo, hi = np.searchsorted(sorted_pos, [start, start + len(part)])
            if hi > lo:
                out[order[lo:hi]] = part[sorted_pos[lo:hi] - start]
            start += len(part)
        return out


def _atomic_write(path: Path, write: Callable) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_manifest(index_dir: Path) -> dict:
    path = Path(index_dir) / "manifest.json"
    if not path.exists():
        raise IndexMissingError(f"no index in {index_dir}",
                                hint="Build it with `deflect ingest ...` and then `deflect index`.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexMismatchError(f"unreadable index manifest {path}: {exc}",
                                 hint="Rebuild it with `deflect index --full`.") from exc
    if manifest.get("format") != FORMAT:
        raise IndexMismatchError(f"index format {manifest.get('format')} in {index_dir} is not supported",
                                 hint="Rebuild it with `deflect index --full`.")
    return manifest


def classifier_sample(n: int, seed: int = 0) -> np.ndarray:
    """Rows the classifier is trained on: all, or a fixed random sample of CLASSIFIER_SAMPLE."""
    if n <= CLASSIFIER_SAMPLE:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, CLASSIFIER_SAMPLE, replace=False))


def classifier_rows(bundle: IndexBundle, index_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """What the classifier of an index is fitted on: the positions (a fixed sample of the live
    documents), their embeddings and hard labels; None when the embeddings are not on disk."""
    live = np.flatnonzero(bundle.kind != DELETED)
    live = live[classifier_sample(len(live))]
    vectors = bundle.gather_embeddings(index_dir, live)
    if vectors is None:
        return None
    return live, vectors, hard_labels(bundle.labels[live], -1)


def fit_classifier(vectors: np.ndarray, targets: np.ndarray, seed: int = 0,
                   previous: Classifier | None = None) -> Classifier | None:
    """Logistic regression on (a sample of) the labelled documents; None if too few classes.
    ``previous`` warm-starts the fit (same objective, fewer iterations)."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    if len(np.unique(targets)) < 2:
        return None
    if len(targets) > CLASSIFIER_SAMPLE:
        pick = classifier_sample(len(targets), seed)
        vectors, targets = vectors[pick], targets[pick]
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    classes = np.unique(targets)
    # lead: class_weight balanced — articles with few questions and no tickets must not be outvoted (dev.jsonl)
    model = LogisticRegression(C=10.0, max_iter=300, tol=1e-3, class_weight="balanced")
    if previous is not None and len(classes) > 2:
        rows = {int(c): i for i, c in enumerate(previous.classes)}
        coef = np.zeros((len(classes), vectors.shape[1]), np.float64)
        intercept = np.zeros(len(classes), np.float64)
        for i, c in enumerate(classes):
            if int(c) in rows:
                coef[i], intercept[i] = previous.coef[rows[int(c)]], previous.intercept[rows[int(c)]]
        model.set_params(warm_start=True)
        model.coef_, model.intercept_ = coef, intercept
    # One BLAS thread: OpenBLAS' threaded level-1 calls inside L-BFGS made this fit 8x slower on
    # a busy 2-core machine (27.6 s against 3.4 s for 10k documents), with the same result.
    with threadpool_limits(1, user_api="blas"):
        model.fit(vectors, targets)
    return _as_classifier(model)


def _as_classifier(model) -> Classifier:
    """A fitted scikit-learn LogisticRegression as a ``Classifier`` (one row per class)."""
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # binary problem: sklearn keeps one row, the log-odds of the second class
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.array([0.0, intercept[0]])
    return Classifier(coef.astype(np.float32), intercept.astype(np.float32), model.classes_.astype(np.int32))


def fit_article_classifier(vectors: np.ndarray, articles: np.ndarray,
                           columns: np.ndarray | None = None) -> Classifier | None:
    """Logistic regression over the article documents alone: which article's own texts an inquiry
    is worded like. Unlike the main classifier it never sees a ticket, so an article with no ticket
    history is not outweighed by a sibling with a long one. Only ``columns`` of the vectors count
    (``embedder.multilingual_columns``: an inquiry in one language must find an article written in
    another); the returned classifier takes whole vectors. None with fewer than two articles."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    if len(np.unique(articles)) < 2:
        return None
    vectors = np.asarray(vectors, dtype=np.float32)
    columns = np.arange(vectors.shape[1]) if columns is None else np.asarray(columns)
    part = vectors[:, columns]
    norms = np.linalg.norm(part, axis=1)
    scale = float(np.median(norms)) or 1.0   # the part's share of a whole vector's length
    model = LogisticRegression(C=ARTICLE_CLASSIFIER_C, max_iter=300)
    with threadpool_limits(1, user_api="blas"):
        model.fit(part / np.maximum(norms, 1e-12)[:, None], articles)
    fitted = _as_classifier(model)
    full = np.zeros((len(fitted.coef), vectors.shape[1]), np.float32)
    full[:, columns] = fitted.coef / scale
    return Classifier(full, fitted.intercept, fitted.classes)


def collect_documents(store: Store) -> tuple[list[str], list[tuple[int, str, int, str]]]:
    """(article ids, documents as (kind, ref, seed article index, text)) from the store."""
    articles = store.articles()
    article_ids = [a.id for a in articles]
    position = {a: i for i, a in enumerate(article_ids)}
    docs = [(kind, a.id, position[a.id], text) for a in articles for kind, text in article_texts(a)]
    for row in store.tickets():
        text = ticket_text(row)
        if text:
            docs.append((TICKET, row["id"], position.get(row["article_id"], -1), text))
    return article_ids, docs


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


def embed_documents(texts: list[str], hashes: list[str], embedder: Embedder,
                    previous: IndexBundle | None, previous_dir: Path | None,
                    progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, int]:
    """Embeddings for all texts, re-using the previous build's vectors for unchanged texts.
    Returns (vectors, number newly embedded)."""
    out = np.zeros((len(texts), embedder.dim), np.float32)
    todo = list(range(len(texts)))
    if previous is not None and previous.model == embedder.name and previous_dir is not None:
        where = dict(zip(previous.hashes.tolist(), range(len(previous.hashes))))
        found = [(i, where.get(h)) for i, h in enumerate(hashes)]
        hit = [(i, j) for i, j in found if j is not None]
        old = previous.gather_embeddings(previous_dir, np.array([j for _, j in hit], np.int64)) if hit else None
        if old is not None:
            out[[i for i, _ in hit]] = old
            todo = [i for i, j in found if j is None]
            if progress:
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


def describe_index(vectors: VectorIndex) -> dict:
    """The manifest's ``index`` entry: kind, parameters, count and why this kind was chosen."""
    d = vectors.describe()
    p = d["params"]
    if p.get("requested", "auto") != "auto":
        reason = f"requested: {d['kind']}"
    elif d["kind"] == "flat":
        reason = f"auto: {d['count']} documents <= threshold {p.get('threshold')}: exact search"
    else:
        reason = (f"auto: more than {p.get('threshold')} documents (trained on {p.get('trained_on')}): "
                  f"approximate search {p.get('factory')}" + (f", nprobe {p['nprobe']}" if "nprobe" in p else "")
                  + (f", efSearch {p['ef_search']}" if "ef_search" in p else ""))
    return {**d, "reason": reason}


def build(store: Store, embedder: Embedder, index_dir: Path, full: bool = False, kind: str = "auto",
          progress: Callable[[int], None] | None = None, on_total: Callable[[int], None] | None = None,
          rebuild: bool = False) -> dict:
    """Build or update the index from the store and save it; returns the manifest plus statistics
    (``mode``: full | update | unchanged, ``embedded``, ``added``, ``removed``, ``seconds``).

    ``full`` re-embeds everything; ``rebuild`` rebuilds index, labels and classifier from scratch
    but re-uses the vectors of unchanged texts; otherwise the previous index is updated in place
    when that is possible."""
    started = time.perf_counter()
    article_ids, docs = collect_documents(store)
    if not docs:
        raise IndexMissingError("nothing to index: the store has no articles or tickets",
                                hint="Ingest your FAQ first: `deflect ingest faq_articles/`.")
    texts = [d[3] for d in docs]
    hashes = [_hash(t) for t in texts]
    previous = None
    if not full:
        try:
            previous = IndexBundle.load(index_dir)
        except (IndexMissingError, IndexMismatchError):
            previous = None
    stats = None
    if previous is not None and not rebuild:
        stats = _update(previous, store, embedder, index_dir, article_ids, docs, hashes, kind,
                        progress, on_total)
    if stats is None:
        if on_total:
            on_total(len(docs))
        stats = _full_build(store, embedder, index_dir, article_ids, docs, hashes, kind, previous,
                            progress)
    return {**stats, "seconds": round(time.perf_counter() - started, 2)}


def _full_build(store: Store, embedder: Embedder, index_dir: Path, article_ids: list[str], docs: list,
                hashes: list[str], kind: str, previous: IndexBundle | None,
                progress: Callable[[int], None] | None) -> dict:
    timings = {}
    t = time.perf_counter()
    vectors, embedded = embed_documents([d[3] for d in docs], hashes, embedder, previous, index_dir, progress)
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
                         article_vectors=vectors[(kinds >= TITLE) & (kinds <= BODY)])
    del vectors
    build_info = {"mode": "full", "graph": graph, "documents": len(docs), "embedded": embedded}
    manifest = bundle.save(index_dir, extra={"article_hashes": store.article_hashes(), "build": build_info,
                                             "last_update": None})
    timings["save"] = time.perf_counter() - t
    return {**manifest, "mode": "full", "embedded": embedded, "added": len(docs), "removed": 0,
            "timings": {k: round(v, 3) for k, v in timings.items()}}


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
            progress: Callable[[int], None] | None, on_total: Callable[[int], None] | None) -> dict | None:
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
    add, remove, seeds, new_articles = _plan(previous, article_ids, docs, hashes)
    live = int((previous.kind != DELETED).sum())
    if len(add) + len(remove) > UPDATE_LIMIT * max(live, 1):
        return None
    if on_total:
        on_total(len(add))
    article_hashes = store.article_hashes()
    if not len(add) and not len(remove) and not _classless(previous):
        if previous.manifest.get("article_hashes") == article_hashes:
            return {**previous.manifest, "mode": "unchanged", "embedded": 0, "added": 0, "removed": 0}
    b = previous
    changed_articles = {b.ref[p] for p in remove if b.kind[p] != TICKET} | {
        docs[i][1] for i in add if docs[i][0] != TICKET}
    gone = b.live_articles() - set(article_ids)
    texts = [docs[i][3] for i in add]
    new_hashes = [hashes[i] for i in add]
    vectors, embedded = embed_documents(texts, new_hashes, embedder, b, index_dir, progress)
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
    update = {"mode": "update", "at": datetime.now(UTC).replace(microsecond=0).isoformat(),
              "added": int(len(add)), "removed": int(removed), "embedded": int(embedded),
              "new_articles": len(new_articles), "changed_articles": len(changed_articles),
              "deleted_articles": len(gone), "classifier_refitted": retrain}
    manifest = b.save(index_dir, extra={"article_hashes": article_hashes, "last_update": update})
    return {**manifest, "mode": "update", "embedded": int(embedded), "added": int(len(add)),
            "removed": int(removed)}


def _classless(bundle: IndexBundle) -> set[int]:
    """Article columns with searchable documents but no class in the classifier (added since it was fit)."""
    live = set(bundle.seed[bundle.article_positions].tolist())
    if bundle.classifier is None:
        return live if len(live) >= 2 else set()
    return live - set(bundle.classifier.classes.tolist())


def _neighbour_rows(n: int, positions: np.ndarray, nbrs: np.ndarray, scores: np.ndarray) -> sparse.csr_matrix:
    """Row-normalised similarity weights (len(positions), n) of each position's neighbours, self excluded."""
    nbrs = nbrs.copy()
    nbrs[nbrs == positions[:, None]] = -1
    valid = nbrs >= 0
    weights = np.where(valid, neighbour_weights(scores, TEMPERATURE), 0.0)
    totals = weights.sum(axis=1, keepdims=True)
    weights = np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)
    rows = np.repeat(np.arange(len(positions)), nbrs.shape[1])[valid.ravel()]
    return sparse.csr_matrix((weights.ravel()[valid.ravel()].astype(np.float32),
                              (rows, nbrs.ravel()[valid.ravel()])), shape=(len(positions), n))


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
    labels = spread_labels(neighbours, scores, seeds, n_articles, TEMPERATURE, SPREAD_ITERATIONS)
    return labels, {"searched": int(len(free)), "k": k, "index": how}
