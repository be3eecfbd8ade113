"""Merging gap clusters that are one question by the company their rows keep: how many of their
members' nearest neighbours lie in the other cluster.

Where a question was asked from templates, the first pass leaves one cluster per family of phrasings,
and the centre of a family may lie as close to another question as to its sister family, so no level of
centre similarity parts them right. The members' neighbours still tell: the phrasings on the edge of one
family have the other family's phrasings as nearest neighbours, rarely another question's. Two clusters
are linked by the share of their members' ``NEIGHBOURS`` nearest rows (among the gap clusters' rows and
the covered material) that fall into the other one; they merge above a share learnt from the covered
topics: the first pass's clusters of their linked tickets and article documents (too few of them: with
the items the engine answers) are merged the same way (their neighbours sought among the covered rows
alone, so that what is learnt does not depend on how much gap material lies around them), and the share
whose grouping best matches their articles (BCubed F1) is the one gap clusters merge at. A pair merges
only when it is more linked than either cluster is to any one covered article. A text asked word for word
again is one phrasing here: its copies are each other's nearest rows and say nothing about its company (a
widget question typed by twenty customers would otherwise keep company with itself alone).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from deflect.gaps.merge import greedy_merge
from deflect.gaps.nearest_rows import NearestRows, distinct_rows, nearest_rows
from deflect.gaps.neighbourhood import StableDraw

NEIGHBOURS = 10             # nearest rows per member that count as its company
MAX_MEMBERS = 200           # members per cluster looked at (a sample of larger ones, see StableDraw)


def link_matrix(nbrs: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """``L[a, b]``: how many neighbour edges run from a member of group ``a`` to one of group ``b``
    (rows with group -1 belong to none)."""
    src = np.repeat(group, nbrs.shape[1])
    dst = group[nbrs.ravel()]
    ok = (src >= 0) & (dst >= 0)
    L = np.zeros((n_groups, n_groups), np.float64)
    np.add.at(L, (src[ok], dst[ok]), 1.0)
    return L


def link_share(W: np.ndarray, sizes: np.ndarray, k: int) -> np.ndarray:
    """The link share of each pair: the edges between them (``W``, both ways) per neighbour edge of the
    smaller one (a family of phrasings on the edge of a large one has most of its company there)."""
    return W / (k * np.maximum(np.minimum.outer(sizes, sizes), 1.0))


def greedy_link_merges(L: np.ndarray, sizes: np.ndarray, k: int) -> list[tuple[float, int, int]]:
    """Merge the groups of link matrix ``L`` (``sizes`` members each) most linked pair first: the
    merges as (share, kept, absorbed) until no pair is linked. The share of a pair is the edges between
    them per neighbour edge of the smaller one."""
    L = L.copy()
    np.fill_diagonal(L, 0.0)
    W = L + L.T
    sizes = sizes.astype(np.float64).copy()
    alive = np.ones(len(sizes), bool)
    out = []
    while True:
        share = link_share(W, sizes, k)
        share[~alive] = 0.0
        share[:, ~alive] = 0.0
        np.fill_diagonal(share, 0.0)
        flat = int(np.argmax(share))
        a, b = divmod(flat, len(sizes))
        if share[a, b] <= 0.0:
            return out
        out.append((float(share[a, b]), a, b))
        W[a] += W[b]
        W[:, a] += W[:, b]
        W[a, a] = 0.0
        W[b], W[:, b] = 0.0, 0.0
        sizes[a] += sizes[b]
        alive[b] = False


def bcubed_f1(groups: list[dict[str, int]], total: dict[str, int]) -> float:
    """BCubed F1 of a grouping (per group: article -> rows) against the articles (``total`` rows each)."""
    n = sum(total.values())
    prec = sum(c * c / sum(g.values()) for g in groups for c in g.values()) / n
    rec = sum(c * c / total[a] for g in groups for a, c in g.items()) / n
    return 2 * prec * rec / (prec + rec)


def learnt_share(L: np.ndarray, sizes: np.ndarray, labels: list[np.ndarray], k: int) -> float | None:
    """The link share at which covered parts (their link matrix ``L``, ``labels``: the article of each
    member) merge best: the grouping with the best BCubed F1, midway between that merge's share and the
    next one's. None with too few parts or articles to learn from; above 1 (merge nothing) when no merge
    helps."""
    if len(labels) < 4 or len({str(a) for lab in labels for a in lab}) < 3:
        return None
    groups: list[dict[str, int] | None] = []
    total: dict[str, int] = {}
    for lab in labels:
        names, counts = np.unique(np.asarray(lab).astype(str), return_counts=True)
        groups.append({str(a): int(c) for a, c in zip(names, counts, strict=True)})
        for a, c in zip(names, counts, strict=True):
            total[str(a)] = total.get(str(a), 0) + int(c)
    merges = greedy_link_merges(L, sizes, k)
    best, step = bcubed_f1([g for g in groups if g], total), -1
    for i, (_, a, b) in enumerate(merges):
        for art, c in groups[b].items():
            groups[a][art] = groups[a].get(art, 0) + c
        groups[b] = None
        score = bcubed_f1([g for g in groups if g], total)
        if score > best:
            best, step = score, i
    if step < 0:
        return 1.01
    helped = merges[step][0]
    return (helped + min(helped, merges[step + 1][0])) / 2 if step + 1 < len(merges) else helped / 2


def covered_share(X: np.ndarray, covered_parts: list[np.ndarray], article: np.ndarray,
                  k: int = NEIGHBOURS) -> float | None:
    """The link share learnt on the covered parts alone: their members' nearest rows among the covered
    rows (not the gap clusters' rows, which change from round to round and would move what is learnt)."""
    if not covered_parts:
        return None
    covered_parts = [distinct_rows(X, p) for p in covered_parts]
    rows = np.concatenate(covered_parts).astype(np.int64)
    part_of = np.repeat(np.arange(len(covered_parts)), [len(p) for p in covered_parts])
    L = link_matrix(nearest_rows(X, rows, k), part_of, len(covered_parts))
    sizes = np.bincount(part_of, minlength=len(covered_parts)).astype(np.float64)
    return learnt_share(L, sizes, [article[p] for p in covered_parts], k)


def merge_by_links(X: np.ndarray, lab: np.ndarray, clusters: list[int], covered_parts: list[np.ndarray],
                   article: np.ndarray, passes: Callable[[np.ndarray], bool], rank: Callable[[int], tuple],
                   draw: StableDraw | None = None, k: int = NEIGHBOURS,
                   nearest: NearestRows | None = None,
                   share: float | None = None) -> tuple[dict[int, int], float | None]:
    """Merge the gap ``clusters`` (labels in ``lab``) whose members keep each other's company, at the
    share learnt on the ``covered_parts`` (rows of covered material, the first pass's clusters of it,
    ``article`` of each row). ``passes`` tests a merged member set, ``rank`` orders clusters by which
    keeps its id (highest wins); ``draw`` picks the members looked at in a large cluster (the same ones
    for the same members, whatever the clusters' or the rows' order, so a re-run on the same topics reads
    the same links; default: drawn over ``X``); ``nearest`` (over ``X``, ``k`` per row) keeps the rows'
    nearest rows from the last call (the merge rounds: only clusters that merged draw other members);
    ``share``: the one ``covered_share`` learnt on the same covered parts (the rounds learn it once).
    Relabels ``lab`` in place; returns ({absorbed: kept}, the share)."""
    ids = [c for c in clusters if (lab == c).any()]
    if len(ids) < 2:
        return {}, None
    sampled = []
    covered_parts = [distinct_rows(X, p) for p in covered_parts]
    draw = draw or StableDraw(X)
    for c in ids:
        sampled.append(draw(distinct_rows(X, np.flatnonzero(lab == c)), MAX_MEMBERS))
    covered_rows = np.concatenate(covered_parts) if covered_parts else np.zeros(0, np.int64)
    rows = np.r_[np.concatenate(sampled), covered_rows].astype(np.int64)
    nbrs = (nearest or NearestRows(X, k))(rows)
    # groups: the gap clusters first, then the covered parts; and per covered article (the guard)
    n_gap, n_parts = len(ids), len(covered_parts)
    part_of = np.r_[np.repeat(np.arange(n_gap), [len(s) for s in sampled]),
                    np.repeat(np.arange(n_gap, n_gap + n_parts), [len(p) for p in covered_parts])]
    L = link_matrix(nbrs, part_of, n_gap + n_parts)
    sizes = np.bincount(part_of, minlength=n_gap + n_parts).astype(np.float64)
    if share is None:
        share = covered_share(X, covered_parts, article, k)
    if share is None:
        return {}, None
    to_covered = np.zeros(n_gap)
    if len(covered_rows):   # the guard: each gap cluster's edges to its most linked covered article
        names, art_of = np.unique(np.asarray(article[covered_rows]).astype(str), return_inverse=True)
        group = np.r_[part_of[:len(rows) - len(covered_rows)], art_of + n_gap]
        edges = link_matrix(nbrs, group, n_gap + len(names))
        to_covered = edges[:n_gap, n_gap:].max(axis=1) / (k * sizes[:n_gap])
    return _merge(L[:n_gap, :n_gap], sizes[:n_gap], to_covered, share, ids, lab, passes, rank, k), share


def _merge(L: np.ndarray, sizes: np.ndarray, to_covered: np.ndarray, share: float, ids: list[int],
           lab: np.ndarray, passes: Callable[[np.ndarray], bool], rank: Callable[[int], tuple],
           k: int) -> dict[int, int]:
    """Greedy merging of the gap clusters most linked pair first while the share is above ``share`` and
    above each one's link to any covered article; a merge whose union fails ``passes`` is skipped."""
    W = L + L.T
    np.fill_diagonal(W, 0.0)
    sizes = sizes.copy()

    def candidates(alive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        S = link_share(W, sizes, k)
        S[~alive], S[:, ~alive] = 0.0, 0.0
        return S, np.triu((S > share) & (S > np.maximum.outer(to_covered, to_covered)), 1)

    def absorb(keep: int, gone: int) -> None:
        W[keep] += W[gone]
        W[:, keep] += W[:, gone]
        W[keep, keep] = 0.0
        W[gone], W[:, gone] = 0.0, 0.0
        # the guard of the union: the larger of the two readings (edges to one article, per member)
        to_covered[keep] = max(to_covered[keep], to_covered[gone])
        sizes[keep] += sizes[gone]

    return greedy_merge(ids, lab, passes, rank, candidates, absorb)
