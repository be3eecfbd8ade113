"""Build, save and load the search index: one vector per article title, question variant and body,
and per resolved ticket; soft article labels spread to unlinked tickets; a linear classifier.

Files live in ``index/`` beside a ``manifest.json`` (model, dimension, counts, index type, build
time). A build writes new files first and replaces the manifest last (atomically), so a crash
mid-build leaves the previous index usable.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
from scipy import sparse

from .ann import VectorIndex
from .embedder import Embedder
from .errors import IndexMismatchError, IndexMissingError
from .formats import Article
from .labels import hard_labels, spread_labels
from .store import Store
from .text import clip, markdown_to_text

FORMAT = 1
TITLE, QUESTION, BODY, TICKET, DELETED = 0, 1, 2, 3, -1
NEIGHBOURS = 10           # k of the label-spreading graph and of query-time voting
TEMPERATURE = 0.05        # sharpness of similarity weights
CLASSIFIER_SAMPLE = 30000  # max documents the linear classifier is trained on
BODY_CHARS = 600


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


@dataclass
class IndexBundle:
    """Everything the engine searches: vectors, per-document metadata, labels, classifier."""

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
    manifest: dict = field(default_factory=dict)
    embeddings: np.ndarray | None = None   # (n, dim) float16, loaded lazily for rebuilds

    def __post_init__(self) -> None:
        if self.article_vectors is None:
            self.article_vectors = np.zeros((0, self.dim), np.float32)

    @property
    def article_positions(self) -> np.ndarray:
        """Document positions of the live article documents (titles, questions, bodies)."""
        return np.flatnonzero((self.kind >= TITLE) & (self.kind <= BODY))

    @property
    def n_articles(self) -> int:
        return len(self.article_ids)

    def article_index(self) -> dict[str, int]:
        return {a: i for i, a in enumerate(self.article_ids)}

    # -- persistence -------------------------------------------------------------------------
    def save(self, index_dir: Path, extra: dict | None = None) -> dict:
        """Write new files, then switch the manifest atomically and delete the old files."""
        index_dir.mkdir(parents=True, exist_ok=True)
        build = uuid.uuid4().hex[:12]
        files = {"vectors": f"vectors-{build}.faiss", "docs": f"docs-{build}.npz",
                 "embeddings": f"embeddings-{build}.npy"}
        self.vectors.write(index_dir / files["vectors"])
        arrays = dict(kind=self.kind, ref=self.ref.astype(str), seed=self.seed, hashes=self.hashes.astype(str),
                      labels_data=self.labels.data, labels_indices=self.labels.indices,
                      labels_indptr=self.labels.indptr, labels_shape=np.array(self.labels.shape),
                      article_ids=np.array(self.article_ids, dtype=str),
                      article_vectors=self.article_vectors)
        if self.classifier is not None:
            arrays.update(clf_coef=self.classifier.coef, clf_intercept=self.classifier.intercept,
                          clf_classes=self.classifier.classes)
        _atomic_write(index_dir / files["docs"], lambda f: np.savez(f, **arrays))
        if self.embeddings is not None:
            _atomic_write(index_dir / files["embeddings"], lambda f: np.save(f, self.embeddings))
        else:
            files.pop("embeddings")
        live = self.kind != DELETED
        now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        manifest = {
            "format": FORMAT, "model": self.model, "dim": self.dim, "build_id": build,
            "built_at": self.manifest.get("built_at", now), "updated_at": now,
            "counts": {"documents": int(live.sum()), "articles": self.n_articles,
                       "tickets": int((self.kind == TICKET).sum()),
                       "linked_tickets": int(((self.kind == TICKET) & (self.seed >= 0)).sum())},
            "index": self.vectors.describe(), "files": files,
            "params": {"neighbours": NEIGHBOURS, "temperature": TEMPERATURE,
                       "classifier": self.classifier is not None},
            **(extra or {}),
        }
        _atomic_write(index_dir / "manifest.json",
                      lambda f: f.write(json.dumps(manifest, indent=2).encode("utf-8")))
        keep = set(files.values()) | {"manifest.json", ".gitkeep"}
        for path in index_dir.iterdir():
            if path.is_file() and path.name not in keep and path.name.split("-")[0] in ("vectors", "docs",
                                                                                        "embeddings"):
                path.unlink(missing_ok=True)
        self.manifest = manifest
        return manifest

    @classmethod
    def load(cls, index_dir: Path, expected_model: str | None = None) -> "IndexBundle":
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
        return cls(model=manifest["model"], dim=int(manifest["dim"]), vectors=vectors, kind=d["kind"],
                   ref=d["ref"].astype(object), seed=d["seed"], labels=labels, hashes=d["hashes"].astype(object),
                   article_ids=[str(a) for a in d["article_ids"]], classifier=clf,
                   article_vectors=d["article_vectors"], manifest=manifest)

    def load_embeddings(self, index_dir: Path) -> np.ndarray | None:
        name = self.manifest.get("files", {}).get("embeddings")
        if self.embeddings is None and name and (index_dir / name).exists():
            self.embeddings = np.load(index_dir / name, mmap_mode="r")
        return self.embeddings


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


def fit_classifier(vectors: np.ndarray, targets: np.ndarray, seed: int = 0) -> Classifier | None:
    """Logistic regression on (a sample of) the labelled documents; None if too few classes."""
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(targets)) < 2:
        return None
    rng = np.random.default_rng(seed)
    if len(targets) > CLASSIFIER_SAMPLE:
        pick = rng.choice(len(targets), CLASSIFIER_SAMPLE, replace=False)
        vectors, targets = vectors[pick], targets[pick]
    model = LogisticRegression(C=10.0, max_iter=300, tol=1e-3)
    model.fit(vectors, targets)
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # binary problem: sklearn keeps one row
        coef, intercept = np.vstack([-coef, coef]), np.array([-intercept[0], intercept[0]])
    return Classifier(coef.astype(np.float32), intercept.astype(np.float32), model.classes_.astype(np.int32))


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


def embed_documents(texts: list[str], hashes: list[str], embedder: Embedder,
                    previous: IndexBundle | None, previous_dir: Path | None,
                    progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, int]:
    """Embeddings for all texts, re-using the previous build's vectors for unchanged texts.
    Returns (vectors, number newly embedded)."""
    out = np.zeros((len(texts), embedder.dim), np.float32)
    todo = list(range(len(texts)))
    if previous is not None and previous.model == embedder.name and previous_dir is not None:
        old = previous.load_embeddings(previous_dir)
        if old is not None:
            where = {h: i for i, h in enumerate(previous.hashes) if previous.kind[i] != DELETED}
            todo = []
            for i, h in enumerate(hashes):
                j = where.get(h)
                if j is None:
                    todo.append(i)
                else:
                    out[i] = old[j]
            if progress:
                progress(len(texts) - len(todo))
    if todo:
        out[todo] = embedder.encode([texts[i] for i in todo], progress=progress)
    return out, len(todo)


def build(store: Store, embedder: Embedder, index_dir: Path, full: bool = False, kind: str = "auto",
          progress: Callable[[int], None] | None = None, on_total: Callable[[int], None] | None = None) -> dict:
    """Build the index from the store and save it; returns the manifest plus build statistics."""
    started = time.perf_counter()
    article_ids, docs = collect_documents(store)
    if not docs:
        raise IndexMissingError("nothing to index: the store has no articles or tickets",
                                hint="Ingest your FAQ first: `deflect ingest faq_articles/`.")
    if on_total:
        on_total(len(docs))
    texts = [d[3] for d in docs]
    hashes = [_hash(t) for t in texts]
    previous = None
    if not full:
        try:
            previous = IndexBundle.load(index_dir)
        except (IndexMissingError, IndexMismatchError):
            previous = None
    vectors, embedded = embed_documents(texts, hashes, embedder, previous, index_dir, progress)
    ids = np.arange(len(docs), dtype=np.int64)
    vindex = VectorIndex.build(vectors, ids, kind=kind)
    seeds = np.array([d[2] for d in docs], np.int32)
    kinds = np.array([d[0] for d in docs], np.int8)
    labels = _spread(vindex, vectors, seeds, len(article_ids))
    targets = hard_labels(labels, -1)
    classifier = fit_classifier(vectors, targets) if article_ids else None
    bundle = IndexBundle(model=embedder.name, dim=embedder.dim, vectors=vindex, kind=kinds,
                         ref=np.array([d[1] for d in docs], dtype=object), seed=seeds, labels=labels,
                         hashes=np.array(hashes, dtype=object), article_ids=article_ids,
                         classifier=classifier, embeddings=vectors.astype(np.float16),
                         article_vectors=vectors[(kinds >= TITLE) & (kinds <= BODY)])
    manifest = bundle.save(index_dir, extra={"article_hashes": store.article_hashes()})
    return {**manifest, "embedded": embedded, "seconds": round(time.perf_counter() - started, 2)}


def _spread(vindex: VectorIndex, vectors: np.ndarray, seeds: np.ndarray, n_articles: int,
            batch: int = 4096) -> sparse.csr_matrix:
    n = len(vectors)
    if n_articles == 0:
        return sparse.csr_matrix((n, 0), dtype=np.float32)
    k = min(NEIGHBOURS + 1, n)
    neighbours = np.full((n, k), -1, np.int64)
    scores = np.zeros((n, k), np.float32)
    for start in range(0, n, batch):
        s, i = vindex.search(vectors[start:start + batch], k)
        neighbours[start:start + batch], scores[start:start + batch] = i, s
    own = neighbours == np.arange(n)[:, None]
    neighbours[own] = -1
    return spread_labels(neighbours, scores, seeds, n_articles, TEMPERATURE)
