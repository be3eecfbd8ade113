"""The nearest rows of each row among a set of rows, kept from one call to the next: the link merge
asks for them once per merge round, and between two rounds only the clusters that merged draw other
members, so most rows keep their nearest rows and only need comparing with the rows that came in."""
from __future__ import annotations

import numpy as np

SPARE = 10                  # nearest rows kept beyond those asked for (rows that leave the set use them up)
BLOCK = 2048                # rows per similarity block (memory)


class NearestRows:
    """``nearest(rows)``: per row of ``rows`` (row numbers of ``X``, no repeats), the positions in
    ``rows`` of its ``k`` most similar other rows -- the same as comparing all of them, but a row seen
    by the last call is compared only with the rows that came in since, unless more of its kept nearest
    rows left the set than the spare ones kept for that."""

    def __init__(self, X: np.ndarray, k: int, spare: int = SPARE):
        self.X = np.ascontiguousarray(X, dtype=np.float32)
        self.k, self.spare = k, spare
        self._rows = np.zeros(0, np.int64)          # the rows of the last call
        self._top = np.zeros((0, 0), np.int64)      # their nearest rows (row numbers of X), nearest first
        self._sims = np.zeros((0, 0), np.float32)   # ... and the similarities
        self._valid = np.zeros(0, np.int64)         # how many of those are certain (a prefix)

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, np.int64)
        k = min(self.k, len(rows) - 1)
        if k <= 0:
            return np.zeros((len(rows), max(k, 0)), np.int64)
        if len(np.unique(rows)) < len(rows):
            raise ValueError("nearest rows: a row is given twice")
        width = min(k + self.spare, len(rows) - 1)
        was = np.full(len(self.X), -1, np.int64)
        was[self._rows] = np.arange(len(self._rows))
        top = np.zeros((len(rows), width), np.int64)
        sims = np.full((len(rows), width), -np.inf, np.float32)
        valid = np.zeros(len(rows), np.int64)
        seen = np.flatnonzero(was[rows] >= 0)
        if len(seen) and self._top.shape[1] == width:
            now = np.zeros(len(self.X), bool)
            now[rows] = True
            old = was[rows[seen]]
            # the certain nearest rows that are still in the set are the certain nearest among what is
            # left of the old rows; with the rows that came in they give the nearest of the new set
            kept = now[self._top[old]] & (np.arange(width) < self._valid[old, None])
            stays = kept.sum(axis=1) >= k
            self._update(rows, seen[stays], old[stays], kept[stays], rows[was[rows] < 0], top, sims, valid)
        self._compare_all(rows, np.flatnonzero(valid < k), top, sims, valid)
        self._rows, self._top, self._sims, self._valid = rows, top, sims, valid
        position = np.full(len(self.X), -1, np.int64)
        position[rows] = np.arange(len(rows))
        return position[top[:, :k]]

    def _update(self, rows: np.ndarray, at: np.ndarray, old: np.ndarray, kept: np.ndarray, came: np.ndarray,
                top: np.ndarray, sims: np.ndarray, valid: np.ndarray) -> None:
        """Rows ``at`` (positions in ``rows``; ``old``: their positions in the last call) keep their
        certain nearest rows that are still in the set (``kept``) and are compared with the rows that
        ``came`` in since."""
        width = top.shape[1]
        for start in range(0, len(at), BLOCK):
            part, prev, ok = at[start:start + BLOCK], old[start:start + BLOCK], kept[start:start + BLOCK]
            cand_sims = np.where(ok, self._sims[prev], -np.inf).astype(np.float32)
            if len(came):
                cand_sims = np.hstack([cand_sims, self.X[rows[part]] @ self.X[came].T])
            best, sims[part] = _best(cand_sims, width)
            from_old = np.take_along_axis(self._top[prev], np.minimum(best, width - 1), axis=1)
            top[part] = np.where(best < width, from_old, came[np.maximum(best - width, 0)] if len(came) else 0)
            valid[part] = ok.sum(axis=1)    # no longer certain beyond the rows that stayed

    def _compare_all(self, rows: np.ndarray, at: np.ndarray, top: np.ndarray, sims: np.ndarray,
                     valid: np.ndarray) -> None:
        """Rows ``at`` (positions in ``rows``) compared with every other row of ``rows``."""
        V = self.X[rows]
        width = top.shape[1]
        for start in range(0, len(at), BLOCK):
            part = at[start:start + BLOCK]
            S = V[part] @ V.T
            S[np.arange(len(part)), part] = -np.inf
            best, sims[part] = _best(S, width)
            top[part] = rows[best]
            valid[part] = width


def _best(S: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The columns of the ``width`` largest values of each row of ``S``, largest first, and the values."""
    best = np.argpartition(S, S.shape[1] - width, axis=1)[:, S.shape[1] - width:]   # (no negated copy of S)
    values = np.take_along_axis(S, best, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    return np.take_along_axis(best, order, axis=1), np.take_along_axis(values, order, axis=1)


def nearest_rows(X: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """Per row of ``rows``: the positions (in ``rows``) of its ``k`` most similar other rows."""
    return NearestRows(X, k, spare=0)(rows)


def distinct_rows(X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``rows`` without the repeats of a vector (a text asked word for word again): the first of each."""
    rows = np.asarray(rows, np.int64)
    if len(rows) < 2:
        return rows
    V = np.ascontiguousarray(X[rows])
    _, first = np.unique(V.view(np.dtype((np.void, V.dtype.itemsize * V.shape[1]))).ravel(), return_index=True)
    return rows[np.sort(first)]
