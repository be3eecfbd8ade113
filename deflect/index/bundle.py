"""The saved search index (``IndexBundle``): vectors, per-document metadata, soft article labels and
classifiers, changed in place by live updates and builds, saved to and loaded from ``index/``.

Files live in ``index/`` beside a ``manifest.json`` (model, dimension, counts, index type and the
reason it was chosen, build time). A save writes new files first and replaces the manifest last
(atomically), so a crash mid-build leaves the previous index usable; saves hold the folder's exclusive
lock and loads its shared one (``deflect.index.lock``), and every file is checked against the sizes
and checksums the manifest records (``deflect.index.files``). Embeddings of all documents are kept as
float16 segment files: an update writes only its new rows, a new segment beside the old ones.
"""
from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy import sparse

from deflect.embedder import multilingual_columns
from deflect.errors import DeflectError, IndexMismatchError, IndexMissingError
from deflect.index.ann import VectorIndex
from deflect.index.classifier import Classifier, classifier_sample, fit_article_classifier
from deflect.index.documents import DELETED, TICKET, is_article_doc
from deflect.index.files import (
    FORMAT,
    MANIFEST,
    REPAIR_HINT,
    atomic_write,
    check_file,
    checksum,
    embedding_files,
    manifest_files,
    read_checked,
    read_manifest,
    remove_stale,
)
from deflect.index.lock import index_lock
from deflect.labels import NEIGHBOURS, TEMPERATURE, hard_labels, neighbour_graph, spread_into

MERGE_ROWS = 50_000       # embedding files up to this many rows are rewritten as one file
MAX_SEGMENTS = 8          # above this many embedding segment files they are merged


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
        self.problem: str | None = None     # why saved embedding rows were found unusable, if they were
        self._verified: set[str] = set()    # embedding files whose checksum was checked
        if self.embeddings is not None:
            self.pending.append(np.asarray(self.embeddings, np.float16))
            self.embeddings = None

    @property
    def article_positions(self) -> np.ndarray:
        """Document positions of the live article documents (titles, questions, bodies)."""
        return np.flatnonzero(is_article_doc(self.kind))

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
        art = is_article_doc(kinds)
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
        scores, nbrs = self.vectors.search(vectors, NEIGHBOURS + 1)
        nbrs[nbrs == positions[:, None]] = -1    # not its own neighbour
        self.labels = spread_into(self.labels, positions, neighbour_graph(nbrs, scores, self.labels.shape[0]))

    # -- persistence -------------------------------------------------------------------------
    def save(self, index_dir: Path, extra: dict | None = None) -> dict:
        """Write new files, then switch the manifest atomically and delete the old files (and what
        crashed saves left), all under the folder's exclusive lock."""
        index_dir.mkdir(parents=True, exist_ok=True)
        with index_lock(index_dir, exclusive=True):
            # what failed saves left (a full disk), before this one needs the space; again if this one fails
            self._remove_unnamed(index_dir)
            try:
                return self._save(index_dir, extra)
            except OSError as exc:
                self._remove_unnamed(index_dir)
                raise DeflectError(f"could not write the index in {index_dir}: {exc.strerror or exc}",
                                   hint="Free space on that disk (or fix its permissions) and run `deflect index` "
                                        "again; the files of this attempt have been removed, the index in use is "
                                        "unchanged.") from exc
            except BaseException:
                self._remove_unnamed(index_dir)
                raise

    def _remove_unnamed(self, index_dir: Path) -> None:
        """Delete build files that neither the manifest on disk nor this bundle names (with the lock held)."""
        keep = set(self.embedding_files) | set((self.manifest.get("files") or {}).values())
        keep |= set(self.manifest.get("embedding_segments") or [])
        try:
            keep |= set(manifest_files(read_manifest(index_dir)))
        except (IndexMissingError, IndexMismatchError):
            pass
        remove_stale(index_dir, keep)

    def _save(self, index_dir: Path, extra: dict | None) -> dict:
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
        atomic_write(index_dir / files["docs"], lambda f: np.savez(f, **arrays))
        known = self.manifest.get("checksums", {})
        segments = self._save_embeddings(index_dir, build)
        checksums = {files["vectors"]: checksum(index_dir / files["vectors"], contents=False),   # crc inside
                     files["docs"]: checksum(index_dir / files["docs"]),
                     **{name: known.get(name) or checksum(index_dir / name) for name in segments}}
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
            "checksums": checksums,
            "params": {"neighbours": NEIGHBOURS, "temperature": TEMPERATURE,
                       "classifier": self.classifier is not None},
            **{k: v for k, v in self.manifest.items() if k in ("build", "last_update")},
            **(extra or {}),
        }
        atomic_write(index_dir / MANIFEST, lambda f: f.write(json.dumps(manifest, indent=2).encode("utf-8")))
        remove_stale(index_dir, set(files.values()) | set(segments))
        self.manifest = manifest
        return manifest

    def _save_embeddings(self, index_dir: Path, build: str) -> list[str]:
        """Write the pending embedding rows (a new segment, or everything merged into one file)."""
        n = len(self.kind)
        pending = sum(len(p) for p in self.pending)
        if self.saved_rows + pending != n:   # rows do not line up with positions: drop them
            self._drop_embeddings()
            return []
        if not pending:
            return list(self.embedding_files)
        name = f"embeddings-{build}.npy"
        if self.embedding_files and (n <= MERGE_ROWS or len(self.embedding_files) >= MAX_SEGMENTS):
            everything = self.load_embeddings(index_dir)
            if everything is None:    # a segment was missing or damaged: its rows are gone
                return []
            everything = np.asarray(everything, np.float16)
            atomic_write(index_dir / name, lambda f: np.save(f, everything))
            self.embedding_files = [name]
        else:
            rows = np.concatenate(self.pending) if len(self.pending) > 1 else self.pending[0]
            atomic_write(index_dir / name, lambda f: np.save(f, rows))
            self.embedding_files = [*self.embedding_files, name]
        self._verified.add(name)
        self.saved_rows, self.pending, self._emb_cache = n, [], None
        return list(self.embedding_files)

    def _drop_embeddings(self) -> None:
        self.embedding_files, self.saved_rows, self.pending, self._emb_cache = [], 0, [], None

    @classmethod
    def load(cls, index_dir: Path, expected_model: str | None = None) -> IndexBundle:
        """Load the index (under the folder's shared lock); a missing index or one built with another
        model is a clear error, and so is a damaged one: every file is checked against the manifest's
        sizes and checksums (the embedding files' contents when first read: ``verify_embeddings``)."""
        index_dir = Path(index_dir)
        with index_lock(index_dir):
            return cls._load(index_dir, expected_model)

    @classmethod
    def _load(cls, index_dir: Path, expected_model: str | None) -> IndexBundle:
        manifest = read_manifest(index_dir)
        if expected_model is not None and manifest["model"] != expected_model:
            raise IndexMismatchError(
                f"the index in {index_dir} was built with model {manifest['model']!r}, "
                f"not {expected_model!r}",
                hint=f"Rebuild it with `deflect index --model {expected_model}`, or use the index's model.")
        files = manifest["files"]
        segments = embedding_files(manifest)
        for name in [files["vectors"], *segments]:
            check_file(index_dir, name, manifest, contents=False)
        vectors = VectorIndex.read(index_dir / files["vectors"], manifest.get("index"))
        data = read_checked(index_dir, files["docs"], manifest)
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                d = {k: z[k] for k in z.files}
            labels = sparse.csr_matrix((d["labels_data"], d["labels_indices"], d["labels_indptr"]),
                                       shape=tuple(d["labels_shape"]))
            if not len(d["kind"]) == len(d["ref"]) == len(d["seed"]) == len(d["hashes"]) == labels.shape[0]:
                raise ValueError("its arrays have different lengths")
        except (OSError, KeyError, ValueError, TypeError, IndexError, EOFError, zipfile.BadZipFile) as exc:
            raise IndexMismatchError(f"index file {files['docs']} is damaged: {exc}", hint=REPAIR_HINT) from exc
        clf = None
        if "clf_coef" in d:
            clf = Classifier(d["clf_coef"], d["clf_intercept"], d["clf_classes"])
        article_clf = None   # indexes saved before it existed get it fitted on first use
        if "art_coef" in d:
            article_clf = Classifier(d["art_coef"], d["art_intercept"], d["art_classes"])
        rows = int(manifest.get("embedding_rows", len(d["kind"]) if segments else 0))
        return cls(model=manifest["model"], dim=int(manifest["dim"]), vectors=vectors, kind=d["kind"],
                   ref=d["ref"].astype(object), seed=d["seed"], labels=labels, hashes=d["hashes"].astype(object),
                   article_ids=[str(a) for a in d["article_ids"]], classifier=clf,
                   article_vectors=d["article_vectors"], article_classifier=article_clf, manifest=manifest,
                   embedding_files=segments,
                   saved_rows=rows)

    def verify_embeddings(self, index_dir: Path) -> None:
        """Check the embedding files' checksums now (a build reads them all anyway) and that they
        cover every document; IndexMismatchError names what is damaged."""
        for name in self.embedding_files:
            if name not in self._verified:
                check_file(index_dir, name, self.manifest)
                self._verified.add(name)
        if self.saved_rows + sum(len(p) for p in self.pending) != len(self.kind):
            raise IndexMismatchError(f"the embeddings in {index_dir} do not cover all documents of the index",
                                     hint=REPAIR_HINT)

    def _embedding_parts(self, index_dir: Path) -> list[np.ndarray] | None:
        """The saved segment files (memory-mapped) and the unsaved rows, in position order; None when
        the rows do not add up to the documents, or a file is missing or damaged (checked when first
        read; its rows are then dropped and ``problem`` says why)."""
        parts = []
        for name in self.embedding_files:
            try:
                if name not in self._verified:
                    check_file(index_dir, name, self.manifest)
                    self._verified.add(name)
                parts.append(np.load(index_dir / name, mmap_mode="r"))
            except (IndexMismatchError, OSError, ValueError) as exc:
                self.problem = str(exc)
                self._drop_embeddings()
                return None
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


def salvage_embeddings(index_dir: Path) -> tuple[str, np.ndarray, np.ndarray] | None:
    """(model, text hashes, float16 embeddings) of an index that cannot be loaded but whose manifest,
    document file and embedding files are intact (its vector file was damaged, say); else None."""
    index_dir = Path(index_dir)
    try:
        with index_lock(index_dir):
            manifest = read_manifest(index_dir)
            with np.load(io.BytesIO(read_checked(index_dir, manifest["files"]["docs"], manifest)),
                         allow_pickle=False) as z:
                hashes = z["hashes"].astype(object)
            parts = []
            for name in embedding_files(manifest):
                check_file(index_dir, name, manifest)
                parts.append(np.load(index_dir / name, allow_pickle=False))
    except (DeflectError, OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    if not parts or sum(len(p) for p in parts) != len(hashes):
        return None
    return manifest["model"], hashes, np.concatenate(parts)


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


def classifier_rows(bundle: IndexBundle, index_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """What the classifier of an index is fitted on: the positions (a fixed sample of the live
    documents), their embeddings and hard labels; None when the embeddings are not on disk."""
    live = np.flatnonzero(bundle.kind != DELETED)
    live = live[classifier_sample(len(live))]
    vectors = bundle.gather_embeddings(index_dir, live)
    if vectors is None:
        return None
    return live, vectors, hard_labels(bundle.labels[live], -1)
