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


def merge_clusters(X: np.ndarray, lab: np.ndarray, clusters: list[int], centres: np.ndarray,
                   passes: Callable[[np.ndarray], bool], rank: Callable[[int], tuple]) -> dict[int, int]:
    """Merge the ``clusters`` (labels in ``lab``) that are one question, closest pair first; ``passes``
    tests a merged member set, ``rank`` orders clusters by which keeps its id (highest wins).
    Relabels ``lab`` in place and returns {absorbed cluster: the cluster it went into}."""
    level = distinct_level(centres)
    members = {c: np.flatnonzero(lab == c) for c in clusters}
    members = {c: m for c, m in members.items() if len(m)}
    merged: dict[int, int] = {}
    refused: set[tuple[int, int]] = set()
    while len(members) > 1:
        ids = list(members)
        C = np.array([centroid(X[members[c]]) for c in ids])
        S = C @ C.T
        np.fill_diagonal(S, -np.inf)
        near_covered = (C @ centres.T).max(axis=1) if len(centres) else np.full(len(ids), -1.0)
        bound = np.maximum(np.maximum.outer(near_covered, near_covered), level)
        ok = S > bound
        pairs = sorted(((float(S[a, b]), a, b) for a, b in zip(*np.nonzero(np.triu(ok, 1)), strict=True)
                        if (ids[a], ids[b]) not in refused), reverse=True)
        done = False
        for _, a, b in pairs:
            keep, gone = (ids[a], ids[b]) if rank(ids[a]) >= rank(ids[b]) else (ids[b], ids[a])
            union = np.r_[members[keep], members[gone]]
            if not passes(union):
                refused.add((ids[a], ids[b]))
                continue
            lab[members[gone]] = keep
            members[keep] = np.sort(union)
            del members[gone]
            merged[gone] = keep
            done = True
            break
        if not done:
            break
    for gone, keep in list(merged.items()):     # a cluster merged into one that merged on
        while keep in merged:
            keep = merged[keep]
        merged[gone] = keep
    return merged
