"""Spread article labels from linked documents to unlinked tickets over the k-nearest-neighbour graph.

Article titles, question variants and bodies, and tickets an agent linked to an article, are labelled.
Tickets answered without a link are not: they may belong to an article (agents forget to link) or to a
topic no article covers. Label spreading decides which: an unlinked ticket among linked neighbours
receives their article's mass; one in a cluster of unlinked tickets receives little — what is left
(``1 - row sum``) is the evidence of a gap.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

ALPHA = 0.7   # share of the label mass kept per hop through an unlabelled document
NEIGHBOURS = 10           # k of the label-spreading graph and of query-time voting
TEMPERATURE = 0.05        # sharpness of similarity weights
SPREAD_ITERATIONS = 10
PRUNE = 0.01              # label mass below this is dropped after each hop (keeps the matrix sparse)


def neighbour_weights(scores: np.ndarray, temperature: float = TEMPERATURE) -> np.ndarray:
    """Similarity scores (n, k) to positive weights; sharper for a lower temperature."""
    return np.exp((scores - 1.0) / temperature).astype(np.float32)


def row_weights(neighbours: np.ndarray, scores: np.ndarray, temperature: float = TEMPERATURE) -> np.ndarray:
    """(n, k) weights of each row's neighbours summing to 1 per row; 0 where there is no neighbour (-1)."""
    weights = np.where(neighbours >= 0, neighbour_weights(scores, temperature), 0.0)
    totals = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)


def neighbour_graph(neighbours: np.ndarray, scores: np.ndarray, n: int,
                    temperature: float = TEMPERATURE) -> sparse.csr_matrix:
    """The rows' neighbours (positions, -1 = none) and similarities as a (rows, n) sparse matrix of
    ``row_weights``."""
    valid = (neighbours >= 0).ravel()
    weights = row_weights(neighbours, scores, temperature).ravel()[valid]
    rows = np.repeat(np.arange(len(neighbours)), neighbours.shape[1])[valid]
    return sparse.csr_matrix((weights.astype(np.float32), (rows, neighbours.ravel()[valid])),
                             shape=(len(neighbours), n))


def _prune(labels: sparse.csr_matrix, prune: float) -> sparse.csr_matrix:
    if prune:
        labels.data[labels.data < prune] = 0
        labels.eliminate_zeros()
    return labels


def spread_labels(neighbours: np.ndarray, scores: np.ndarray, seeds: np.ndarray, n_labels: int,
                  temperature: float = TEMPERATURE, iterations: int = SPREAD_ITERATIONS, prune: float = PRUNE,
                  alpha: float = ALPHA) -> sparse.csr_matrix:
    """Soft article labels for every document.

    neighbours: (n, k) document positions (-1 = none), self excluded; scores: their similarities;
    seeds: (n,) article index of labelled documents, -1 for unlabelled. Each hop through an
    unlabelled document keeps only ``alpha`` of the mass, so a cluster of unlinked tickets that is
    merely connected to an article at its edge does not inherit it. Returns a CSR matrix
    (n, n_labels) whose rows sum to at most 1.
    """
    n = len(neighbours)
    graph = neighbour_graph(neighbours, scores, n, temperature)
    labelled = seeds >= 0
    seed_matrix = sparse.csr_matrix((np.ones(labelled.sum(), np.float32),
                                     (np.flatnonzero(labelled), seeds[labelled])), shape=(n, n_labels))
    keep_seeds = sparse.diags(labelled.astype(np.float32))
    free = sparse.diags((~labelled).astype(np.float32))
    labels = seed_matrix
    for _ in range(iterations):
        labels = _prune((keep_seeds @ seed_matrix + alpha * (free @ (graph @ labels))).tocsr(), prune)
    return labels.astype(np.float32)


def spread_into(labels: sparse.csr_matrix, positions: np.ndarray, graph: sparse.csr_matrix,
                iterations: int = SPREAD_ITERATIONS, prune: float = PRUNE,
                alpha: float = ALPHA) -> sparse.csr_matrix:
    """``labels`` with labels for the new unlabelled rows ``positions`` (empty so far) spread from their
    neighbours (``graph``: (len(positions), n), see ``neighbour_graph``); every other row stays fixed.
    The iteration of ``spread_labels`` restricted to the new rows."""
    free = sparse.csr_matrix((np.ones(len(positions), np.float32), (np.arange(len(positions)), positions)),
                             shape=(len(positions), labels.shape[0]))
    from_fixed = (graph @ labels).tocsr()     # rows of `positions` in labels are empty
    among = (graph @ free.T).tocsr()          # weights between the new rows themselves
    new = sparse.csr_matrix((len(positions), labels.shape[1]), dtype=np.float32)
    for _ in range(iterations):
        new = _prune((alpha * (from_fixed + among @ new)).tocsr(), prune)
    return (labels + free.T @ new).astype(np.float32).tocsr()


def hard_labels(labels: sparse.csr_matrix, none_label: int, min_mass: float = 0.5) -> np.ndarray:
    """Most likely article per row, or ``none_label`` where less than ``min_mass`` reached it."""
    mass = np.asarray(labels.sum(axis=1)).ravel()
    best = np.asarray(labels.argmax(axis=1)).ravel()
    return np.where(mass >= min_mass, best, none_label)
