"""The link merge of the gap report: clusters whose members are each other's nearest neighbours are
one question, at the share of neighbour links learnt from the covered topics."""
from __future__ import annotations

import numpy as np

from deflect.gaps import link_merge
from deflect.gaps.link_merge import learnt_share, link_matrix, merge_by_links
from deflect.gaps.nearest_rows import NearestRows, nearest_rows

DIM = 32


def question(rng: np.random.Generator, start: np.ndarray, end: np.ndarray, n: int = 20) -> np.ndarray:
    """One question asked in phrasings that run from one wording (``start``) to another (``end``):
    the first pass cuts it into two families, the members where they meet are neighbours."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    V = (1 - t) * start + t * end + rng.normal(0, 0.02, (n, DIM))
    return V / np.linalg.norm(V, axis=1, keepdims=True)


def data(rng: np.random.Generator, n_covered: int = 4) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Rows of ``n_covered`` covered questions and two uncovered ones, each split in two halves.
    The uncovered questions are the last 40 rows. Returns (X, article per row, covered halves)."""
    axes = np.eye(DIM)
    blocks, article, parts = [], [], []
    for q in range(n_covered + 2):
        start, end = axes[q] + 0.8 * axes[16 + 2 * q], axes[q] + 0.8 * axes[17 + 2 * q]
        rows = question(rng, start, end)
        first = sum(len(b) for b in blocks)
        blocks.append(rows)
        covered = q < n_covered
        article += [f"a{q}" if covered else None] * len(rows)
        halves = [np.arange(first, first + 10), np.arange(first + 10, first + 20)]
        if covered:
            parts += halves
    return np.vstack(blocks).astype(np.float32), np.array(article, dtype=object), parts


def test_the_share_is_learnt_between_one_question_and_two():
    X, article, parts = data(np.random.default_rng(0))
    rows = np.concatenate(parts)
    group = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    L = link_matrix(nearest_rows(X, rows, 10), group, len(parts))
    share = learnt_share(L, np.bincount(group).astype(float), [article[p] for p in parts], 10)
    assert share is not None and 0.0 < share < 1.0
    sister = (L[0, 1] + L[1, 0]) / (10 * 10)            # the two halves of one covered question
    assert sister > share
    assert learnt_share(L[:2, :2], np.array([10.0, 10.0]), [article[p] for p in parts[:2]], 10) is None


def test_halves_of_one_uncovered_question_merge_and_two_questions_stay_apart():
    X, article, parts = data(np.random.default_rng(1))
    lab = np.full(len(X), -1, np.int64)
    n = len(X)
    for c, rows in enumerate([np.arange(n - 40, n - 30), np.arange(n - 30, n - 20),
                              np.arange(n - 20, n - 10), np.arange(n - 10, n)]):
        lab[rows] = c
    merged, share = merge_by_links(X, lab, [0, 1, 2, 3], parts, article, lambda rows: True,
                                   lambda c: (int((lab == c).sum()), -c))
    assert share is not None
    assert merged == {1: 0, 3: 2}
    assert set(lab[n - 40:n - 20]) == {0} and set(lab[n - 20:]) == {2}



def test_a_phrasing_asked_word_for_word_many_times_keeps_its_family_company():
    X, article, parts = data(np.random.default_rng(1))
    n = len(X)
    halves = [np.arange(n - 40, n - 30), np.arange(n - 30, n - 20), np.arange(n - 20, n - 10), np.arange(n - 10, n)]
    # in each family one phrasing was typed by ten more customers: copies, each other's nearest rows
    copies = np.vstack([np.repeat(X[h[5]][None], 10, axis=0) for h in halves])
    X = np.vstack([X, copies]).astype(np.float32)
    article = np.r_[article, np.full(len(copies), None, dtype=object)]
    lab = np.full(len(X), -1, np.int64)
    for c, rows in enumerate(halves):
        lab[rows] = c
        lab[n + 10 * c:n + 10 * (c + 1)] = c
    merged, _ = merge_by_links(X, lab, [0, 1, 2, 3], parts, article, lambda rows: True,
                               lambda c: (int((lab == c).sum()), -c))
    assert merged == {1: 0, 3: 2}

def test_a_merge_the_evidence_test_refuses_does_not_happen():
    X, article, parts = data(np.random.default_rng(1))
    lab = np.full(len(X), -1, np.int64)
    n = len(X)
    lab[n - 40:n - 30], lab[n - 30:n - 20] = 0, 1
    merged, _ = merge_by_links(X, lab, [0, 1], parts, article, lambda rows: False, lambda c: (-c,))
    assert merged == {} and set(lab[n - 30:n - 20]) == {1}


def test_nearest_rows_kept_across_rounds_follow_the_merged_clusters(monkeypatch):
    monkeypatch.setattr(link_merge, "MAX_MEMBERS", 6)   # a merged cluster draws other members
    X, article, parts = data(np.random.default_rng(1))
    n = len(X)
    lab = np.full(n, -1, np.int64)
    for c, start in enumerate(range(n - 40, n, 10)):
        lab[start:start + 10] = c
    rank = lambda c: (int((lab == c).sum()), -c)  # noqa: E731
    kept = NearestRows(X, 10)
    first, _ = merge_by_links(X, lab, [0, 1, 2, 3], parts, article, lambda rows: True, rank, nearest=kept)
    assert first == {1: 0, 3: 2}
    seen = kept._rows.copy()
    again_kept = merge_by_links(X, lab.copy(), [0, 2], parts, article, lambda rows: True, rank, nearest=kept)
    again_fresh = merge_by_links(X, lab.copy(), [0, 2], parts, article, lambda rows: True, rank)
    assert again_kept == again_fresh
    rows = kept._rows
    assert set(rows.tolist()) != set(seen.tolist())     # the merged clusters' members were drawn again
    fresh = nearest_rows(X, rows, 10)
    assert [set(g.tolist()) for g in kept(rows)] == [set(g.tolist()) for g in fresh]

def test_the_learnt_share_does_not_depend_on_the_gap_material_around_covered_questions():
    # gap rows among the covered rows would take their neighbour places (and so move what is learnt
    # from how covered questions split); the share is learnt on the covered rows alone
    rng = np.random.default_rng(1)
    X, article, parts = data(rng)
    n = len(X)
    lab = np.full(n, -1, np.int64)
    lab[n - 40:n - 20], lab[n - 20:] = 0, 1
    _, alone = merge_by_links(X, lab, [0, 1], parts, article, lambda rows: True, lambda c: (-c,))
    near = X[np.concatenate(parts[:4])] + rng.normal(0, 0.01, (40, DIM))   # gap rows among two covered questions
    X2 = np.vstack([X, near / np.linalg.norm(near, axis=1, keepdims=True)]).astype(np.float32)
    lab2 = np.r_[lab, np.full(40, 2)]
    article2 = np.r_[article, np.full(40, None, dtype=object)]
    _, among = merge_by_links(X2, lab2, [0, 1, 2], parts, article2, lambda rows: True, lambda c: (-c,))
    assert alone is not None and among == alone
