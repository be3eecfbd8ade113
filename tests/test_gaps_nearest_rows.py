"""The nearest rows the link merge reads, kept from one merge round to the next: a row set that
changes between calls (clusters that merged draw other members) gives the nearest rows a fresh
comparison of all rows gives."""
from __future__ import annotations

import numpy as np
import pytest

from deflect.gaps.nearest_rows import NearestRows, nearest_rows


def unit_rows(rng: np.random.Generator, n: int, dim: int = 16) -> np.ndarray:
    X = rng.normal(size=(n, dim)).astype(np.float32)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def same_as_brute_force(X: np.ndarray, rows: np.ndarray, got: np.ndarray, k: int) -> bool:
    """Whether ``got`` (positions in ``rows``) are each row's ``k`` most similar other rows: the same
    similarities as comparing all rows (two rows as similar as each other to the last bit may swap)."""
    S = X[rows] @ X[rows].T
    np.fill_diagonal(S, -np.inf)
    want = -np.sort(-S, axis=1)[:, :k]
    have = -np.sort(-np.take_along_axis(S, got, axis=1), axis=1)
    own = (got == np.arange(len(rows))[:, None]).any()
    return got.shape == (len(rows), k) and not own and np.allclose(have, want, rtol=0, atol=1e-6)


def test_rows_that_leave_and_come_between_calls_give_the_fresh_answer():
    rng = np.random.default_rng(0)
    X = unit_rows(rng, 2000)
    nearest = NearestRows(X, 10, spare=5)
    rows = rng.choice(len(X), 800, replace=False)
    for step in range(8):
        assert same_as_brute_force(X, rows, nearest(rows), 10), step
        # a merge round: some rows leave (a merged cluster draws other members), others come in
        rows = np.delete(rows, rng.choice(len(rows), int(rng.integers(0, len(rows) // 3)), replace=False))
        rest = np.setdiff1d(np.arange(len(X)), rows)
        rows = rng.permutation(np.r_[rows, rng.choice(rest, int(rng.integers(0, 300)), replace=False)])


def test_a_row_whose_nearest_rows_all_left_is_compared_again():
    rng = np.random.default_rng(1)
    X = unit_rows(rng, 300)
    rows = np.arange(200)
    nearest = NearestRows(X, 5, spare=5)
    first = nearest(rows)
    gone = set(rows[first[0]].tolist())
    rows = np.array([r for r in rows if r not in gone] + list(range(200, 300)))
    again = nearest(rows)
    assert not gone & set(rows[again[0]].tolist())
    assert same_as_brute_force(X, rows, again, 5)


def test_small_sets_and_repeated_rows():
    X = unit_rows(np.random.default_rng(2), 10)
    assert nearest_rows(X, np.array([3]), 10).shape == (1, 0)
    assert sorted(nearest_rows(X, np.array([3, 4, 5]), 10)[0].tolist()) == [1, 2]
    with pytest.raises(ValueError):
        nearest_rows(X, np.array([3, 3, 4]), 2)
