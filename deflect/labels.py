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


def neighbour_weights(scores: np.ndarray, temperature: float) -> np.ndarray:
    """Similarity scores (n, k) to positive weights; sharper for a lower temperature."""
    return np.exp((scores - 1.0) / temperature).astype(np.float32)


def spread_labels(neighbours: np.ndarray, scores: np.ndarray, seeds: np.ndarray, n_labels: int,
                  temperature: float = 0.05, iterations: int = 10, prune: float = 0.01,
                  alpha: float = ALPHA) -> sparse.csr_matrix:
    """Soft article labels for every document.

    neighbours: (n, k) document positions (-1 = none), self excluded; scores: their similarities;
    seeds: (n,) article index of labelled documents, -1 for unlabelled. Each hop through an
    unlabelled document keeps only ``alpha`` of the mass, so a cluster of unlinked tickets that is
    merely connected to an article at its edge does not inherit it. Returns a CSR matrix
    (n, n_labels) whose rows sum to at most 1.
    """
    n, k = neighbours.shape
    valid = neighbours >= 0
    weights = np.where(valid, neighbour_weights(scores, temperature), 0.0)
    totals = weights.sum(axis=1, keepdims=True)
    weights = np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)
    rows = np.repeat(np.arange(n), k)[valid.ravel()]
    graph = sparse.csr_matrix((weights.ravel()[valid.ravel()], (rows, neighbours.ravel()[valid.ravel()])),
                              shape=(n, n))
    labelled = seeds >= 0
    seed_matrix = sparse.csr_matrix((np.ones(labelled.sum(), np.float32),
                                     (np.flatnonzero(labelled), seeds[labelled])), shape=(n, n_labels))
    keep_seeds = sparse.diags(labelled.astype(np.float32))
    free = sparse.diags((~labelled).astype(np.float32))
    labels = seed_matrix
    for _ in range(iterations):
        labels = (keep_seeds @ seed_matrix + alpha * (free @ (graph @ labels))).tocsr()
        if prune:
            labels.data[labels.data < prune] = 0
            labels.eliminate_zeros()
    return labels.astype(np.float32)


def hard_labels(labels: sparse.csr_matrix, none_label: int, min_mass: float = 0.5) -> np.ndarray:
    """Most likely article per row, or ``none_label`` where less than ``min_mass`` reached it."""
    mass = np.asarray(labels.sum(axis=1)).ravel()
    best = np.asarray(labels.argmax(axis=1)).ravel()
    return np.where(mass >= min_mass, best, none_label)
