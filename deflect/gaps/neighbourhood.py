"""The neighbourhood the evidence test searches: is a cluster inside a region the FAQ covers?"""
from __future__ import annotations

from collections import Counter

import numpy as np

EVIDENCE_SAMPLE = 100       # members whose neighbours are looked at per test


class StableDraw:
    """Samples of rows chosen by the rows' vectors, not by their positions or by what was drawn before: the
    same items give the same report whatever order they arrive in, and a cluster's sample depends on its
    own members only (a random draw by position changes with every item added before it)."""

    def __init__(self, X: np.ndarray, seed: int = 0):
        direction = np.random.default_rng(seed).standard_normal(X.shape[1])
        # the fraction of a large multiple of a random projection: uniform-looking, and equal
        # (but by chance) only for equal vectors; in float64 a block of rows at a time, not a copy of all
        projection = np.concatenate([np.asarray(X[i:i + 8192], np.float64) @ direction
                                     for i in range(0, len(X), 8192)]) if len(X) else np.zeros(0)
        self.key = np.modf(np.abs(projection) * 1e6)[0]

    def __call__(self, rows: np.ndarray, k: int) -> np.ndarray:
        """At most ``k`` of ``rows`` (sorted): those of the lowest keys."""
        rows = np.asarray(rows, np.int64)
        if len(rows) <= k:
            return rows
        return np.sort(rows[np.argsort(self.key[rows], kind="stable")[:k]])


class Neighbourhood:
    """What the evidence test searches during one fit: every row, or a sample of large inputs (``StableDraw``)
    (a cluster's own members are always searched too), in a PCA space of ``reduce_dims`` for large
    inputs (neighbour search is the report's main cost). Neighbours are cached per row."""

    def __init__(self, X: np.ndarray, covered: np.ndarray, hard: np.ndarray, article: np.ndarray,
                 draw: StableDraw, *, neighbours: int, near: float, max_pool: int,
                 reduce_dims: int | None):
        n, dim = X.shape
        self.draw = draw
        pool = draw(np.arange(n), max_pool)
        self.projection = None
        if reduce_dims and n > max_pool and dim > reduce_dims:
            # the dominant subspace (uncentred, so cosine similarities keep their meaning), from the
            # second-moment matrix of a sample: exact for the sample, far cheaper than an SVD of it
            sample = X[draw(np.arange(n), 20000)].astype(np.float64)
            _, vecs = np.linalg.eigh(sample.T @ sample)
            self.projection = np.ascontiguousarray(vecs[:, ::-1][:, :reduce_dims], dtype=np.float32)
        self.Xr = project(X, self.projection)
        self.pool, self.Xp = pool, np.ascontiguousarray(self.Xr[pool])
        self.in_pool = np.zeros(n, bool)
        self.in_pool[pool] = True
        self.pos = np.full(n, -1, np.int64)
        self.pos[pool] = np.arange(len(pool))
        self.covered, self.hard, self.article = covered, hard, article
        self.base = max(float(hard[pool].mean()), 1e-6)
        self.k = min(neighbours, len(pool) - 1)
        # only neighbours about as close as a topic's members count (far rows are another region);
        # cosine similarity in the reduced space is a little higher, which errs on the safe side
        self.near = near
        self._knn: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _pool_neighbours(self, rows: np.ndarray) -> None:
        """Cache the nearest pool rows (similarities, row indexes; nearest first) of ``rows``."""
        k = self.k
        todo = np.array([r for r in rows if int(r) not in self._knn], np.int64)
        for start in range(0, len(todo), 512):
            part = todo[start:start + 512]
            sims = self.Xr[part] @ self.Xp.T
            own = self.pos[part]
            hit = own >= 0
            sims[np.flatnonzero(hit), own[hit]] = -np.inf
            if k <= 0:
                top = np.zeros((len(part), 0), np.int64)
            else:
                top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
                order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1)
                top = np.take_along_axis(top, order, axis=1)
            top_sims = np.take_along_axis(sims, top, axis=1)
            for j, r in enumerate(part):
                self._knn[int(r)] = (top_sims[j], self.pool[top[j]])

    def evidence(self, members: np.ndarray) -> tuple[float, float, str | None]:
        """(share of covered material, share of linked tickets/article documents relative to their
        share overall, the article most of that material belongs to) among the members' neighbours."""
        size = len(members)
        if size == 0:
            return np.nan, np.nan, None
        sample = self.draw(members, EVIDENCE_SAMPLE)
        self._pool_neighbours(sample)
        k = self.k
        outside = members[~self.in_pool[members]]
        if len(outside):  # members the pool sample missed are neighbours too
            own = self.Xr[sample] @ self.Xr[outside].T
            own[sample[:, None] == outside[None, :]] = -np.inf
        nbrs = np.zeros((len(sample), k), np.int64)
        near = np.zeros((len(sample), k), bool)
        for j, r in enumerate(sample):
            sims, idx = self._knn[int(r)]
            if len(outside):
                sims, idx = np.r_[sims, own[j]], np.r_[idx, outside]
                order = np.argsort(-sims)[:k]
                sims, idx = sims[order], idx[order]
            m = min(k, len(idx))
            nbrs[j, :m], near[j, :m] = idx[:m], sims[:m] >= self.near
        if not near.any():  # nothing around at all: an isolated topic
            return 0.0, 0.0, None
        ev = self.covered[nbrs] & near
        votes = Counter(a for a in self.article[nbrs[ev]] if a)
        return (float(ev.sum() / near.sum()), float((self.hard[nbrs] & near).sum() / near.sum()) / self.base,
                votes.most_common(1)[0][0] if votes else None)


def project(X: np.ndarray, projection: np.ndarray | None) -> np.ndarray:
    if projection is None:
        return np.asarray(X, np.float32)
    Xr = np.asarray(X, np.float32) @ projection
    return Xr / np.maximum(np.linalg.norm(Xr, axis=1, keepdims=True), 1e-12)



def centroid(V: np.ndarray) -> np.ndarray:
    c = V.mean(axis=0)
    return (c / max(float(np.linalg.norm(c)), 1e-12)).astype(np.float32)
