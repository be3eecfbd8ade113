"""Query-side weights of an ensemble model's parts, per query language.

A vector of the ensemble ``a+b`` (``deflect.embedder``) is its parts' unit vectors concatenated and
divided by sqrt(P) (P parts): its inner product with a query embedded the same way is the mean of the
parts' cosines. A query embedded as ``sqrt(P) * share_p * part_p`` (shares summing to 1) turns that mean
into the weighted mean ``sum_p share_p * cos_p`` against the unchanged index, and a part whose share is 0
is not run at all (MiniLM, which knows no German, for a German query). With equal shares this is the
usual query vector, computed the usual way. A weighted query vector is longer than 1; the vector index
normalises the queries it searches with, so the engine scales those similarities back by the query's
length (``similarity_scale``) and every similarity stays a weighted mean of cosines.

The shares are learnt per help center and query language from the help center's own texts and history
(``deflect.decision.part_choice``) and saved with its calibration, which is fitted with them.
"""
from __future__ import annotations

import itertools

import numpy as np

from deflect.language import detect_language

Weights = dict[str, tuple[float, ...]]   # query language -> share of each part (summing to 1)
GRID_STEP = 0.25                         # shares tried per part when learning them


def is_equal(shares: tuple[float, ...] | list[float] | None) -> bool:
    """Whether shares weight every part alike (or are not given): the usual query vector."""
    return shares is None or len(set(round(float(s), 6) for s in shares)) <= 1


def shares_of(weights: Weights | None, language: str) -> tuple[float, ...] | None:
    """The shares for a query language; None where the parts are weighted alike (or nothing was learnt)."""
    shares = (weights or {}).get(language)
    return None if is_equal(shares) else tuple(float(s) for s in shares)


def weights_differ(weights: Weights | None) -> bool:
    """Whether any language weights its parts unequally (else queries are embedded the usual way)."""
    return any(not is_equal(s) for s in (weights or {}).values())


def query_language(text: str) -> str:
    """The language a query's shares are looked up by (the same guess in calibration and serving)."""
    return detect_language(text)


def grid(n_parts: int, step: float = GRID_STEP) -> list[tuple[float, ...]]:
    """All shares on a grid of ``step`` that sum to 1, equal shares first."""
    ticks = int(round(1 / step))
    out = [tuple(1.0 / n_parts for _ in range(n_parts))]
    for combo in itertools.product(range(ticks + 1), repeat=n_parts):
        if sum(combo) == ticks:
            shares = tuple(c / ticks for c in combo)
            if not is_equal(shares):
                out.append(shares)
    return out


def weighted_vectors(parts: list[np.ndarray], shares: tuple[float, ...]) -> np.ndarray:
    """Query vectors from each part's unit vectors (zeros for a part with share 0, which is not run):
    ``sqrt(P) * share_p * part_p`` concatenated (see the module docstring)."""
    scale = np.sqrt(len(shares))
    cols = [np.float32(scale * s) * p for p, s in zip(parts, shares, strict=True)]
    return np.ascontiguousarray(np.concatenate(cols, axis=1), dtype=np.float32)


def filled_parts(parts: list[np.ndarray | None], dims: list[int]) -> list[np.ndarray]:
    """Parts with a zero block for those not run, so the columns line up with the index's."""
    n = next(len(p) for p in parts if p is not None)
    return [p if p is not None else np.zeros((n, d), np.float32) for p, d in zip(parts, dims, strict=True)]


def query_vectors(embedder, texts: list[str], shares: tuple[float, ...] | None) -> np.ndarray:
    """Query vectors of ``texts`` with ``shares`` (None: the usual vectors); parts with share 0 are not run."""
    if shares is None:
        return embedder.encode(texts)
    which = [i for i, s in enumerate(shares) if s > 0]
    parts = filled_parts(embedder.encode_parts(texts, which), embedder.part_dims())
    return weighted_vectors(parts, shares)


def reweighted(vectors: np.ndarray, texts: list[str], weights: Weights | None, dims: list[int]) -> np.ndarray:
    """Query vectors from the usual vectors of ``texts`` (no model run): each row weighted by the shares
    of its text's language; rows of languages weighted alike stay as they are."""
    if not weights_differ(weights):
        return vectors
    out = np.array(vectors, np.float32)
    groups: dict[tuple[float, ...], list[int]] = {}
    for i, text in enumerate(texts):
        shares = shares_of(weights, query_language(text))
        if shares is not None:
            groups.setdefault(shares, []).append(i)
    for shares, rows in groups.items():
        out[rows] = weighted_vectors(unit_parts(out[rows], dims), shares)
    return out


def unit_parts(vectors: np.ndarray, dims: list[int]) -> list[np.ndarray]:
    """Each part's unit vectors from ensemble vectors (of the index, or weighted queries with no zero share)."""
    starts = np.cumsum([0, *dims])
    out = []
    for lo, hi in zip(starts[:-1], starts[1:]):
        block = np.asarray(vectors[:, lo:hi], np.float32)
        out.append(block / np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12))
    return out


def unweighted(vector: np.ndarray, dims: list[int]) -> np.ndarray | None:
    """The usual (equal-share) vector of a weighted query vector; None where a part was not run."""
    starts = np.cumsum([0, *dims])
    if any(not np.any(vector[lo:hi]) for lo, hi in zip(starts[:-1], starts[1:])):
        return None
    parts = unit_parts(vector[None, :], dims)
    return (np.concatenate(parts, axis=1)[0] / np.float32(np.sqrt(len(dims)))).astype(np.float32)


def similarity_scale(vectors: np.ndarray) -> np.ndarray | None:
    """Per query the factor that turns the vector index's similarities (of the normalised query) back
    into weighted means of cosines: the query's length; None when every query has the usual length 1."""
    norms = np.linalg.norm(np.asarray(vectors, np.float32), axis=1)
    return norms.astype(np.float32) if np.any(norms > 1.0 + 1e-3) else None
