"""The centre merge of the gap report's second pass: topics that are one question asked in different
ways (other words, another language) are merged. (It runs after the link merge, ``link_merge``.)

The first pass cuts the clustering tree at the spread of one covered topic, which keeps different
questions apart but may leave one question in several clusters (on data written from templates, each
family of phrasings is a cluster of its own). Where one such family lies from another of the same
question, and from a different question, the covered topics show: the first pass is run on their linked
tickets and article documents (too few of them: with the items the engine answers), and their clusters
are merged closest pair first; the level at which that grouping best matches the articles (BCubed F1;
midway between that merge and the next) is the level up to which gap clusters merge, unless distinct
covered topics are typically less similar (the median similarity of one to its nearest other; the only
reading with too few covered clusters). Two gap clusters merge only above that level and when their
centres are closer to each other than either is to anything covered; the merged cluster must still pass
the evidence test.
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


def greedy_merges(C: np.ndarray, weights: np.ndarray) -> list[tuple[float, int, int]]:
    """Centroid linkage over unit vectors ``C`` (cluster centres, ``weights`` their sizes): the merges,
    closest pair first, as (similarity, kept, absorbed) until one is left."""
    sums = C * weights[:, None]
    Cn = C.copy()
    S = Cn @ Cn.T
    np.fill_diagonal(S, -np.inf)
    alive = np.ones(len(C), bool)
    out = []
    for _ in range(len(C) - 1):
        flat = int(np.argmax(S))
        a, b = divmod(flat, len(C))
        out.append((float(S[a, b]), a, b))
        sums[a] += sums[b]
        Cn[a] = sums[a] / max(float(np.linalg.norm(sums[a])), 1e-12)
        alive[b] = False
        S[b, :], S[:, b] = -np.inf, -np.inf
        S[a] = np.where(alive, Cn @ Cn[a], -np.inf)
        S[a, a] = -np.inf
        S[:, a] = S[a]
    return out


def calibrated_level(X: np.ndarray, parts: list[np.ndarray], article: np.ndarray) -> float | None:
    """The similarity at which the merge pass stops, learnt from the covered topics: ``parts`` are the
    first pass's clusters of covered rows (linked tickets, article documents; see ``GapReport._merge``).
    Merging them closest pair first, the level is the one whose grouping best matches their articles
    (BCubed F1 over the rows). None with too few parts to tell."""
    labels = [np.asarray(article[p], dtype=object) for p in parts]
    if len(parts) < 4 or len({a for lab in labels for a in lab}) < 3:
        return None
    C = np.array([centroid(X[p]) for p in parts], np.float32)
    sizes = np.array([len(p) for p in parts], float)
    counts = [dict(zip(*np.unique(lab.astype(str), return_counts=True), strict=True)) for lab in labels]
    total: dict[str, int] = {}
    for c in counts:
        for a, k in c.items():
            total[a] = total.get(a, 0) + int(k)
    n = sizes.sum()

    def f1(groups: list[dict[str, int]]) -> float:
        # BCubed: per row, the share of its group with its article (precision) and the share of its
        # article in its group (recall)
        prec = sum(k * k / sum(g.values()) for g in groups for k in g.values()) / n
        rec = sum(k * k / total[a] for g in groups for a, k in g.items()) / n
        return 2 * prec * rec / (prec + rec)

    groups: list[dict[str, int] | None] = [dict(c) for c in counts]
    merges = greedy_merges(C, sizes)
    best, step = f1([g for g in groups if g]), -1
    for i, (_, a, b) in enumerate(merges):
        for art, k in groups[b].items():
            groups[a][art] = groups[a].get(art, 0) + k
        groups[b] = None
        score = f1([g for g in groups if g])
        if score > best:
            best, step = score, i
    if step < 0:
        return 1.0
    # midway between the last merge that helped and the next one (centroid linkage is not monotone:
    # never above the merge that helped)
    helped = merges[step][0]
    return (helped + min(helped, merges[step + 1][0])) / 2 if step + 1 < len(merges) else helped


def _nearest_covered(C: np.ndarray, centres: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per cluster centre: its similarity to the nearest covered topic centre or covered row."""
    near = np.full(len(C), -1.0, np.float32)
    for part in (centres, rows):
        if len(part):
            near = np.maximum(near, (C @ part.T).max(axis=1))
    return near


def merge_clusters(X: np.ndarray, lab: np.ndarray, clusters: list[int], centres: np.ndarray,
                   passes: Callable[[np.ndarray], bool], rank: Callable[[int], tuple],
                   covered_rows: np.ndarray | None = None, level: float | None = None) -> dict[int, int]:
    """Merge the ``clusters`` (labels in ``lab``) that are one question, closest pair first, while their
    centres are more similar than ``level`` (learnt by ``calibrated_level``) or ``distinct_level``
    and than either is to any covered topic centre or covered row; ``passes`` tests a merged member set,
    ``rank`` orders clusters by which keeps its id (highest wins).
    Relabels ``lab`` in place and returns {absorbed cluster: the cluster it went into}."""
    # two readings of how alike distinct covered questions are; the guard below keeps real gaps apart
    level = distinct_level(centres) if level is None else min(level, distinct_level(centres))
    covered_rows = np.zeros((0, X.shape[1]), np.float32) if covered_rows is None else covered_rows
    ids = [c for c in clusters if (lab == c).any()]
    if len(ids) < 2:
        return {}
    members = [np.flatnonzero(lab == c) for c in ids]
    sums = np.array([X[m].sum(axis=0) for m in members], np.float64)
    C = (sums / np.linalg.norm(sums, axis=1, keepdims=True)).astype(np.float32)
    near = _nearest_covered(C, centres, covered_rows)
    S = C @ C.T

    def candidates(alive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # a pair merges only when the two are closer to each other than either is to anything covered,
        # and above the level (without the guard, two different questions close together glue, e.g.
        # getting a virtual card and a virtual card that does not work on banking77)
        ok = S > np.maximum(np.maximum.outer(near, near), level)
        ok &= np.outer(alive, alive)
        np.fill_diagonal(ok, False)
        return S, np.triu(ok, 1)

    def absorb(keep: int, gone: int) -> None:
        sums[keep] += sums[gone]
        C[keep] = sums[keep] / np.linalg.norm(sums[keep])
        S[keep], S[:, keep] = C @ C[keep], C @ C[keep]
        near[keep] = _nearest_covered(C[keep:keep + 1], centres, covered_rows)[0]

    return greedy_merge(ids, lab, passes, rank, candidates, absorb)


def greedy_merge(ids: list[int], lab: np.ndarray, passes: Callable[[np.ndarray], bool],
                 rank: Callable[[int], tuple],
                 candidates: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
                 absorb: Callable[[int, int], None]) -> dict[int, int]:
    """Merge the clusters ``ids`` (labels in ``lab``) best pair first: ``candidates(alive)`` gives the pair
    scores and the pairs allowed (upper triangle), a merge whose member set fails ``passes`` is skipped
    for good, the cluster ``rank`` puts higher keeps its id, and ``absorb(keep, gone)`` updates the
    caller's scores after each merge. Relabels ``lab`` in place and returns {absorbed cluster: the
    cluster it finally went into}."""
    members = [np.flatnonzero(lab == c) for c in ids]
    alive = np.ones(len(ids), bool)
    refused: set[tuple[int, int]] = set()
    merged: dict[int, int] = {}
    while True:
        S, ok = candidates(alive)
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
            alive[gone] = False
            absorb(keep, gone)
            merged[ids[gone]] = ids[keep]
            break
        else:
            break
    for gone, keep in list(merged.items()):     # a cluster merged into one that merged on
        while keep in merged:
            keep = merged[keep]
        merged[gone] = keep
    return merged
