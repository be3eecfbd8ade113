"""The second, coarser pass of the gap report: topics that are one question asked in different ways
(other words, another language) are merged.

The first pass cuts the clustering tree at the spread of one covered topic, which keeps different
questions apart but may leave one question in several clusters. Two gap clusters merge only when the
covered topics say they are one: their centres are closer to each other than either is to any covered
topic's centre, and closer than two distinct covered topics typically are (the median similarity of a
covered topic to its nearest other one). The merged cluster must still pass the evidence test.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from deflect.gaps.neighbourhood import centroid

MIN_GROUP = 3               # linked tickets / article documents a covered topic needs to count


def covered_centres(X: np.ndarray, hard: np.ndarray, article: np.ndarray) -> np.ndarray:
    """The centre of each covered topic: the mean of its linked tickets and article documents."""
    groups: dict[str, list[int]] = {}
    for r in np.flatnonzero(hard):
        if article[r] is not None:
            groups.setdefault(str(article[r]), []).append(int(r))
    cents = [centroid(X[rows]) for rows in groups.values() if len(rows) >= MIN_GROUP]
    return np.array(cents, np.float32).reshape(len(cents), X.shape[1])


def distinct_level(centres: np.ndarray) -> float:
    """How similar two distinct covered topics typically are: the median, over covered topics, of the
    similarity to the nearest other one (1.0 -- merge nothing -- with fewer than three)."""
    if len(centres) < 3:
        return 1.0
    S = centres @ centres.T
    np.fill_diagonal(S, -np.inf)
    return float(np.median(S.max(axis=1)))


def _nearest_covered(C: np.ndarray, centres: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per cluster centre: its similarity to the nearest covered topic centre or covered row."""
    near = np.full(len(C), -1.0, np.float32)
    for part in (centres, rows):
        if len(part):
            near = np.maximum(near, (C @ part.T).max(axis=1))
    return near


def merge_clusters(X: np.ndarray, lab: np.ndarray, clusters: list[int], centres: np.ndarray,
                   passes: Callable[[np.ndarray], bool], rank: Callable[[int], tuple],
                   covered_rows: np.ndarray | None = None) -> dict[int, int]:
    """Merge the ``clusters`` (labels in ``lab``) that are one question, closest pair first; ``passes``
    tests a merged member set, ``rank`` orders clusters by which keeps its id (highest wins).
    Relabels ``lab`` in place and returns {absorbed cluster: the cluster it went into}."""
    level = distinct_level(centres)
    covered_rows = np.zeros((0, X.shape[1]), np.float32) if covered_rows is None else covered_rows
    ids = [c for c in clusters if (lab == c).any()]
    if len(ids) < 2:
        return {}
    members = [np.flatnonzero(lab == c) for c in ids]
    sums = np.array([X[m].sum(axis=0) for m in members], np.float64)
    C = (sums / np.linalg.norm(sums, axis=1, keepdims=True)).astype(np.float32)
    near = _nearest_covered(C, centres, covered_rows)
    S = C @ C.T
    alive = np.ones(len(ids), bool)
    refused: set[tuple[int, int]] = set()
    merged: dict[int, int] = {}

    def allowed() -> np.ndarray:
        # a pair merges only when the two are closer to each other than either is to a covered topic,
        # and closer than distinct covered topics typically are
        ok = S > np.maximum(np.maximum.outer(near, near), level)
        ok &= np.outer(alive, alive)
        np.fill_diagonal(ok, False)
        return np.triu(ok, 1)

    while True:
        ok = allowed()
        pairs = sorted(((float(S[a, b]), int(a), int(b)) for a, b in zip(*np.nonzero(ok), strict=True)
                        if (int(a), int(b)) not in refused), reverse=True)
        for _, a, b in pairs:
            keep, gone = (a, b) if rank(ids[a]) >= rank(ids[b]) else (b, a)
            union = np.r_[members[keep], members[gone]]
            if not passes(union):
                refused.add((a, b))
                continue
            lab[members[gone]] = ids[keep]
            members[keep], members[gone] = np.sort(union), members[gone][:0]
            sums[keep] += sums[gone]
            C[keep] = sums[keep] / np.linalg.norm(sums[keep])
            alive[gone] = False
            S[keep], S[:, keep] = C @ C[keep], C @ C[keep]
            near[keep] = _nearest_covered(C[keep:keep + 1], centres, covered_rows)[0]
            merged[ids[gone]] = ids[keep]
            break
        else:
            break
    for gone, keep in list(merged.items()):     # a cluster merged into one that merged on
        while keep in merged:
            keep = merged[keep]
        merged[gone] = keep
    return merged
