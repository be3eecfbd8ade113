"""Vector index over sentence embeddings -- with ``ann_file`` (its file format) the only modules in deflect
that import faiss.

``VectorIndex`` stores L2-normalised float32 vectors keyed by int64 ids and answers
inner-product (= cosine) top-k queries. Three concrete kinds exist:

``flat``
    ``IndexIDMap2(IndexFlatIP)``: exact brute force. Memory ``4 * dim`` bytes per vector.
``ivf``
    ``IndexIVFScalarQuantizer`` (``IVF{nlist},SQ8``, residuals encoded): approximate.
    About ``dim + 8`` bytes per vector; supports ``remove_ids`` natively.
``hnsw``
    ``IndexHNSWSQ`` (``HNSW{M},SQ8``): approximate graph. About ``dim + 8 * M`` bytes per
    vector. faiss cannot delete from an HNSW graph, so removals are tombstones that are
    filtered out at search time (``IDSelectorBitmap``) and the graph is rebuilt from the
    stored codes once tombstones exceed ``compact_fraction`` of the graph.

``kind="auto"`` (the default) uses ``flat`` while the corpus has at most ``threshold``
vectors (default 200 000) and the approximate kind named by ``approx`` above it. The
default ``approx="ivf"`` (``IVF4096,SQ8`` at 1M vectors, nprobe 32) was chosen with
scripts/bench_ann.py (docs/bench_ann.md) on 1M x 384 MiniLM-like vectors: serving RSS
~0.47 GB, recall@10 ~0.99, single-thread p50 ~1.6 ms, build ~4 min on 2 cores. HNSW32+SQ8
searches faster (~0.3-0.5 ms) but took 100 s to build just 200k vectors on the same
2 cores (so well over 10 min at 1M), needs ~0.3 GB more memory and cannot delete.
Exact search near the threshold is slow on a small machine (~18 ms per query at 100k
vectors on 2 busy cores); pass a lower ``threshold`` if every query must stay under 5 ms.

An auto index that *grows* past the threshold through ``add`` switches to the approximate
kind on that add (the flat index's exact vectors train it: a one-off cost of seconds to a
minute; if that fails the flat index is kept). It never switches back to exact when it
shrinks (no flapping; rebuild with ``build`` to re-decide). Explicit kinds never switch.

Approximate indexes are trained on the first non-empty ``add`` (``build`` does that with
the whole corpus); vectors added later are encoded with that training, so rebuild from
the source embeddings when the corpus has changed a lot (``describe()["params"]["trained_on"]``).

Ids must be non-negative (``-1`` marks "no result"). ``add`` has upsert semantics. The file format
is ``deflect.index.ann_file``.
Mutations are not thread-safe; concurrent ``search`` calls are.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from deflect.errors import DeflectError, IndexMismatchError
from deflect.index.ann_file import CORRUPT_HINT, read_index_file, write_index_file

__all__ = ["VectorIndex", "VectorIndexError", "set_threads", "KINDS", "DEFAULT_THRESHOLD"]

KINDS = ("auto", "flat", "hnsw", "ivf")
DEFAULT_THRESHOLD = 200_000

# Defaults per concrete kind; ``**params`` given to VectorIndex override them.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "flat": {},
    "ivf": {
        "nlist": 0,  # 0 = derive from the training corpus: ~4*sqrt(n) rounded to a power of 2
        "nprobe": 32,  # lists scanned per query
        "qtype": "SQ8",  # storage: SQ8 | SQ6 | SQ4 | SQfp16 | Flat
        "by_residual": True,  # quantise residuals to the centroid (more precise SQ8)
        "train_size": 0,  # 0 = min(n, 40 * nlist) training vectors (faiss wants >= 39 per list)
        "niter": 10,  # k-means iterations (more barely changes recall, costs build time)
        "seed": 1234,
    },
    "hnsw": {
        "M": 32,  # graph degree (2*M links on level 0)
        "ef_construction": 64,
        "ef_search": 128,
        "qtype": "SQ8",  # SQ8 | SQ6 | SQ4 | SQfp16 | Flat
        "train_size": 0,  # 0 = min(n, 100 000) vectors to train the scalar quantiser
        "compact_fraction": 0.25,  # rebuild the graph when tombstones exceed this share
        "seed": 1234,
    },
}
_AUTO_DEFAULTS: dict[str, Any] = {"threshold": DEFAULT_THRESHOLD, "approx": "ivf"}
# Parameters that only affect search; ``read`` takes them from the manifest description.
_SEARCH_PARAMS = ("nprobe", "ef_search")

_QTYPES = {
    "SQ8": "QT_8bit",
    "SQ6": "QT_6bit",
    "SQ4": "QT_4bit",
    "SQfp16": "QT_fp16",
    "Flat": None,
}

_CHUNK = 65_536  # rows normalised / added per step, bounds temporary memory


class VectorIndexError(DeflectError):
    """Invalid vectors, ids or parameters given to a VectorIndex."""


def set_threads(n: int) -> None:
    """Set the number of OpenMP threads faiss uses (1 = lowest single-query latency jitter)."""
    if int(n) < 1:
        raise VectorIndexError(f"thread count must be >= 1, got {n}")
    faiss.omp_set_num_threads(int(n))


def _pow2_near(x: float) -> int:
    return 1 << max(0, round(math.log2(max(x, 1.0))))


class VectorIndex:
    """Inner-product (cosine) search over L2-normalised float32 vectors keyed by int64 ids."""

    def __init__(self, dim: int, kind: str = "auto", **params: Any) -> None:
        """Create an empty index of ``dim``-dimensional vectors; ``params`` override defaults."""
        if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool) or dim < 1:
            raise VectorIndexError(f"dim must be a positive integer, got {dim!r}")
        if kind not in KINDS:
            raise VectorIndexError(f"unknown index kind {kind!r}", hint=f"use one of {', '.join(KINDS)}")
        self.dim = int(dim)
        self.requested = kind
        if kind == "auto":
            approx = params.get("approx", _AUTO_DEFAULTS["approx"])
            if approx not in ("ivf", "hnsw"):
                raise VectorIndexError(f"approx must be 'ivf' or 'hnsw', got {approx!r}")
            defaults = {**_AUTO_DEFAULTS, **_DEFAULTS[approx]}
        else:
            defaults = dict(_DEFAULTS[kind])
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise VectorIndexError(
                f"unknown parameter(s) {unknown} for index kind {kind!r}",
                hint=f"valid parameters: {sorted(defaults) or 'none'}",
            )
        self.params: dict[str, Any] = {
            **defaults, **{k: v.item() if isinstance(v, np.generic) else v for k, v in params.items()}}
        qtype = self.params.get("qtype")
        if qtype is not None and qtype not in _QTYPES:
            raise VectorIndexError(f"unknown qtype {qtype!r}", hint=f"use one of {', '.join(_QTYPES)}")
        if kind == "auto" and int(self.params["threshold"]) < 0:
            raise VectorIndexError("threshold must be >= 0")
        self.kind = "flat" if kind == "auto" else kind  # concrete kind in use
        self._index: Any = None  # faiss index; None until an approximate kind is trained
        self._labels = np.empty(0, np.int64)  # hnsw: internal position -> external id
        self._live = np.empty(0, bool)  # hnsw: False = tombstone
        self._n_live = 0  # hnsw live count
        self._bitmap: Any = None  # hnsw: cached (bitmap array, IDSelectorBitmap)
        if self.kind == "flat":
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray, kind: str = "auto", **params: Any) -> VectorIndex:
        """Create an index of the right kind for ``vectors`` (trained on all of them) and fill it."""
        vectors = cls._as_matrix(vectors, None)
        index = cls(vectors.shape[1], kind, **params)
        if kind == "auto" and len(vectors) > int(index.params["threshold"]):
            index.kind = index.params["approx"]
            index._index = None
        index.add(vectors, ids)
        return index

    def _train(self, vectors: np.ndarray) -> None:
        """Create the approximate faiss index and train it on a sample of ``vectors``."""
        p, n, d = self.params, len(vectors), self.dim
        qtype = p["qtype"]
        rng = np.random.default_rng(int(p["seed"]))
        if self.kind == "ivf":
            nlist = int(p["nlist"]) or _pow2_near(4 * math.sqrt(n))
            nlist = max(1, min(nlist, n // 39 or 1))
            train_size = min(n, int(p["train_size"]) or 40 * nlist)
            storage = "Flat" if qtype == "Flat" else qtype
            index = faiss.index_factory(d, f"IVF{nlist},{storage}", faiss.METRIC_INNER_PRODUCT)
            ivf = faiss.extract_index_ivf(index)
            ivf.by_residual = bool(p["by_residual"]) and qtype != "Flat"  # IVFFlat has no residual mode
            ivf.cp.niter = int(p["niter"])
            ivf.cp.seed = int(p["seed"])
            ivf.cp.max_points_per_centroid = max(256, -(-train_size // nlist))
            ivf.nprobe = min(int(p["nprobe"]), nlist)
            self.params.update(nlist=nlist, train_size=train_size)
        else:
            storage = "Flat" if qtype == "Flat" else qtype
            index = faiss.index_factory(d, f"HNSW{int(p['M'])},{storage}", faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = int(p["ef_construction"])
            index.hnsw.efSearch = int(p["ef_search"])
            train_size = min(n, int(p["train_size"]) or 100_000)
            self.params.update(train_size=train_size)
        if not index.is_trained:
            sample = vectors
            if train_size < n:
                sample = vectors[np.sort(rng.choice(n, train_size, replace=False))]
            index.train(self._normalised(sample))
        self.params["trained_on"] = n
        self._index = index

    # ------------------------------------------------------------------ validation
    @staticmethod
    def _as_matrix(vectors: Any, dim: int | None) -> np.ndarray:
        x = np.asarray(vectors)
        if x.ndim == 1:
            x = x.reshape(1, -1)
        if x.ndim != 2:
            raise VectorIndexError(f"vectors must be a 2-D array, got shape {x.shape}")
        if dim is not None and x.shape[1] != dim:
            raise VectorIndexError(
                f"vector dimension mismatch: index has dim {dim}, got {x.shape[1]}",
                hint="the index was built with another embedding model; rebuild the index",
            )
        if x.shape[1] < 1:
            raise VectorIndexError("vectors must have at least one dimension")
        if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
            raise VectorIndexError(f"vectors must be real numbers, got dtype {x.dtype}")
        return x

    @staticmethod
    def _normalised(x: np.ndarray) -> np.ndarray:
        """Return a contiguous, finite, L2-normalised float32 copy of ``x`` (2-D)."""
        out = np.array(x, dtype=np.float32, order="C", copy=True)
        if not np.isfinite(out).all():
            raise VectorIndexError(
                "vectors contain NaN or infinite values",
                hint="check the embedding model output; re-embed the affected texts",
            )
        faiss.normalize_L2(out)
        return out

    @staticmethod
    def _as_ids(ids: Any, n: int | None = None) -> np.ndarray:
        a = np.asarray(ids)
        if a.ndim == 0:
            a = a.reshape(1)
        if a.ndim != 1:
            raise VectorIndexError(f"ids must be a 1-D array, got shape {a.shape}")
        if a.size and not np.issubdtype(a.dtype, np.integer):
            raise VectorIndexError(f"ids must be integers, got dtype {a.dtype}")
        a = a.astype(np.int64, copy=False)
        if n is not None and len(a) != n:
            raise VectorIndexError(f"got {n} vectors but {len(a)} ids")
        if a.size and a.min() < 0:
            raise VectorIndexError("ids must be non-negative (-1 means 'no result')")
        return a

    # ------------------------------------------------------------------ mutation
    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Add vectors under ``ids``; an id already present has its vector replaced (upsert)."""
        x = self._as_matrix(vectors, self.dim)
        ids = self._as_ids(ids, len(x))
        if len(ids) == 0:
            return
        if len(np.unique(ids)) != len(ids):  # duplicate ids in one batch: the last one wins
            rev_first = np.unique(ids[::-1], return_index=True)[1]
            keep = np.sort(len(ids) - 1 - rev_first)
            x, ids = x[keep], ids[keep]
        for i in range(0, len(x), _CHUNK):  # validate everything before touching the index
            if not np.isfinite(x[i : i + _CHUNK]).all():
                raise VectorIndexError(
                    "vectors contain NaN or infinite values",
                    hint="check the embedding model output; re-embed the affected texts",
                )
        self._remove(ids)
        grows_past = len(self) + len(ids) > int(self.params.get("threshold", 0))
        if self.requested == "auto" and self.kind == "flat" and grows_past:
            self._switch_to_approx(x, ids)
            return
        if self._index is None:  # untrained approximate index: train on this batch
            self._train(x)
        for i in range(0, len(x), _CHUNK):
            self._add_normalised(self._normalised(x[i : i + _CHUNK]), ids[i : i + _CHUNK])

    def _add_normalised(self, x: np.ndarray, ids: np.ndarray) -> None:
        if self.kind == "hnsw":
            self._index.add(x)
            self._labels = np.concatenate([self._labels, ids])
            self._live = np.concatenate([self._live, np.ones(len(ids), bool)])
            self._n_live += len(ids)
            self._bitmap = None
        else:
            self._index.add_with_ids(x, ids)

    def _switch_to_approx(self, x: np.ndarray, ids: np.ndarray) -> None:
        """Auto index grew past the threshold: rebuild as the approximate kind."""
        old_x, old_ids = self._flat_contents()
        flat = self._index
        all_x = np.concatenate([old_x, self._normalised(x)]) if len(old_x) else self._normalised(x)
        all_ids = np.concatenate([old_ids, ids])
        del old_x
        self.kind, self._index = self.params["approx"], None
        try:
            self._train(all_x)
            for i in range(0, len(all_x), _CHUNK):
                self._add_normalised(all_x[i : i + _CHUNK], all_ids[i : i + _CHUNK])
        except BaseException:  # keep serving the exact index if the switch fails
            self.kind, self._index = "flat", flat
            self._labels, self._live = np.empty(0, np.int64), np.empty(0, bool)
            self._n_live, self._bitmap = 0, None
            raise

    def _flat_contents(self) -> tuple[np.ndarray, np.ndarray]:
        n = self._index.ntotal
        flat = faiss.downcast_index(self._index.index)
        if n == 0:
            return np.empty((0, self.dim), np.float32), np.empty(0, np.int64)
        x = faiss.rev_swig_ptr(flat.get_xb(), n * self.dim).reshape(n, self.dim).copy()
        return x, faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def remove(self, ids: Any) -> int:
        """Remove ``ids``; returns how many were present. Unknown ids are ignored."""
        a = self._as_ids(ids)
        removed = self._remove(np.unique(a))
        if self.kind == "hnsw":
            self._maybe_compact()
        return removed

    def _remove(self, ids: np.ndarray) -> int:
        if len(ids) == 0 or self._index is None:
            return 0
        if self.kind == "hnsw":
            mask = self._live & np.isin(self._labels, ids)
            n = int(mask.sum())
            if n:
                self._live[mask] = False
                self._n_live -= n
                self._bitmap = None
            return n
        return int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))

    def _maybe_compact(self) -> None:
        total = len(self._live)
        dead = total - self._n_live
        if dead and dead > float(self.params["compact_fraction"]) * total:
            self.compact()

    def compact(self) -> None:
        """HNSW: rebuild the graph without tombstones (reuses the trained quantiser; no-op otherwise)."""
        if self.kind != "hnsw" or self._index is None or self._n_live == len(self._live):
            return
        old, live = self._index, np.nonzero(self._live)[0]
        new = faiss.index_factory(self.dim, self._hnsw_factory(), faiss.METRIC_INNER_PRODUCT)
        new.hnsw.efConstruction = old.hnsw.efConstruction
        new.hnsw.efSearch = old.hnsw.efSearch
        old_storage = faiss.downcast_index(old.storage)
        if hasattr(old_storage, "sq"):
            new_storage = faiss.downcast_index(new.storage)
            new_storage.sq = old_storage.sq
            new_storage.is_trained = True
            new.is_trained = True
        labels = self._labels[live]
        for i in range(0, len(live), _CHUNK):
            new.add(old.reconstruct_batch(live[i : i + _CHUNK]))
        self._index = new
        self._labels = labels
        self._live = np.ones(len(labels), bool)
        self._n_live = len(labels)
        self._bitmap = None

    def _hnsw_factory(self) -> str:
        return f"HNSW{int(self.params['M'])},{self.params['qtype']}"

    # ------------------------------------------------------------------ search
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` by inner product: ``(scores (n,k) float32, ids (n,k) int64)``.

        Rows with fewer than ``k`` hits are padded with id -1 and score -inf.
        """
        q = self._normalised(self._as_matrix(queries, self.dim))
        k = int(k)
        if k < 0:
            raise VectorIndexError(f"k must be >= 0, got {k}")
        n = len(q)
        if k == 0 or len(self) == 0 or self._index is None:
            return np.full((n, k), -np.inf, np.float32), np.full((n, k), -1, np.int64)
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW()
            params.efSearch = max(int(self.params["ef_search"]), k)
            if self._n_live < len(self._live):
                if self._bitmap is None:
                    bits = np.packbits(self._live, bitorder="little")
                    self._bitmap = (bits, faiss.IDSelectorBitmap(len(self._live), faiss.swig_ptr(bits)))
                params.sel = self._bitmap[1]
            scores, pos = self._index.search(q, k, params=params)
            ids = np.where(pos >= 0, self._labels[np.maximum(pos, 0)], -1)
        else:
            if self.kind == "ivf":
                faiss.extract_index_ivf(self._index).nprobe = min(
                    int(self.params["nprobe"]), int(self.params["nlist"]))
            scores, ids = self._index.search(q, k)
        ids = ids.astype(np.int64, copy=False)
        scores = np.where(ids >= 0, scores, -np.inf).astype(np.float32)
        return scores, ids

    def __len__(self) -> int:
        """Number of live (searchable) vectors."""
        if self._index is None:
            return 0
        if self.kind == "hnsw":
            return self._n_live
        return int(self._index.ntotal)

    def describe(self) -> dict:
        """Manifest entry: concrete kind, effective parameters, live count and dimension."""
        params = dict(self.params)
        params["requested"] = self.requested
        if self.kind == "flat":
            params = {k: v for k, v in params.items() if k in ("requested", "threshold", "approx")}
            params["factory"] = "IDMap2,Flat"
        elif self.kind == "ivf":
            params["factory"] = f"IVF{params.get('nlist') or '?'},{params['qtype']}"
        else:
            params["factory"] = self._hnsw_factory()
            params["tombstones"] = len(self._live) - self._n_live
        return {"kind": self.kind, "params": params, "count": len(self), "dim": self.dim}

    # ------------------------------------------------------------------ persistence
    def write(self, path: Path) -> None:
        """Write the index to one file atomically (``deflect.index.ann_file``)."""
        arrays: list[tuple[str, np.ndarray]] = []
        if self.kind == "hnsw":
            arrays = [("labels", self._labels), ("live", self._live.astype(np.uint8))]
        write_index_file(path, self._index, arrays,
                         {"describe": self.describe(), "requested": self.requested, "all_params": self.params})

    @classmethod
    def read(cls, path: Path, description: dict | None = None) -> VectorIndex:
        """Load an index written by ``write``.

        ``description`` is the manifest's ``describe()`` entry: its kind, dim and count must
        match the file (else IndexMismatchError); its search-time knobs (``nprobe``,
        ``ef_search``) override the stored ones, so they can be tuned without a rebuild.
        """
        meta, faiss_index, arrays = read_index_file(path, description)
        try:
            desc = meta["describe"]
            index = cls.__new__(cls)
            index.dim, index.kind = int(desc["dim"]), desc["kind"]
            index.requested, index.params = meta["requested"], dict(meta["all_params"])
            index._index, index._bitmap = faiss_index, None
            index._labels, index._live, index._n_live = np.empty(0, np.int64), np.empty(0, bool), 0
            if faiss_index is not None and faiss_index.d != index.dim:
                raise IndexMismatchError(f"{path}: stored index has dim {faiss_index.d}", hint=CORRUPT_HINT)
            if index.kind == "hnsw":
                index._labels = arrays["labels"].astype(np.int64)
                index._live = arrays["live"].astype(bool)
                index._n_live = int(index._live.sum())
            if description:  # search-time knobs may be tuned in the manifest
                for key in _SEARCH_PARAMS:
                    if key in description.get("params", {}) and key in index.params:
                        index.params[key] = description["params"][key]
            if len(index) != desc["count"]:
                raise IndexMismatchError(
                    f"{path}: holds {len(index)} vectors, header says {desc['count']}", hint=CORRUPT_HINT)
            return index
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexMismatchError(f"could not read vector index {path}: {exc}", hint=CORRUPT_HINT) from exc

    def __repr__(self) -> str:
        return f"VectorIndex(kind={self.kind!r}, dim={self.dim}, count={len(self)})"

