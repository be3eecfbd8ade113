"""Merging gap clusters that are one question by the words their members use as well as by their
centres. (It runs after the link merge and the centre merge.)

On fine-grained help desks one question is asked as several sub-questions ("where is the top-up
verification code", "why must a top-up be verified", "how do I verify a top-up"): each is a tight family
of its own, the families keep no company with each other, and their centres lie as close to other
questions as to each other. What they share is the subject's words. Two clusters are compared by the
mean of two similarities: of their centres, and of their words (TF-IDF over the clusters' texts, each
cluster one document). A pair merges when it is more alike than a level and than either cluster is to
any covered article read the same way (its linked tickets and article documents), less a margin: a
sub-question nearer to an existing article than to its sister family is left alone, and so are two
different questions that share a subject word but each sit closer to a covered article on that subject.
Level and margin are learnt on the covered topics treated as gaps (each part compared with every article
but its own): the pair that splits them least without gluing articles together. The merged cluster must
still pass the evidence test. Help desks with too few covered parts to learn from merge nothing here.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from deflect.gaps.merge import greedy_merge
from deflect.text import STOP_WORDS

WORDS = 0.5                 # the weight of word likeness beside centre likeness
MAX_DOC_FREQUENCY = 0.5     # words in more of the documents than this share say nothing about a subject
MIN_GROUP = 3               # linked tickets / article documents a covered article needs to count
LOST = 0.1                  # the share of covered articles the learnt rule may lose to glued groups
PURE = 0.7                  # the share of a group its majority article needs to count as found
MIN_PARTS = 20             # covered parts the merge rule needs to be learnt (fewer: no merging by words)
MARGINS = (0.0, 0.02, 0.04, 0.06, 0.08, 0.1)  # how much less alike than to a covered article a pair may be
WORD = re.compile(r"(?u)\b[^\W\d_][\w'-]+\b")


def _word_counts(docs: list[str]):
    """(the vectoriser, term counts per document as a sparse matrix, idf per term), or None without
    usable words."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    stop = sorted(set(ENGLISH_STOP_WORDS) | STOP_WORDS)
    vec = CountVectorizer(token_pattern=WORD.pattern, stop_words=stop, lowercase=True,
                          max_df=MAX_DOC_FREQUENCY if len(docs) >= 4 else 1.0)
    try:
        counts = vec.fit_transform(docs).tocsr().astype(np.float64)
    except ValueError:  # empty vocabulary
        return None
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = np.log((1 + len(docs)) / (1 + df)) + 1.0
    return vec, counts, idf


def _tfidf(counts, idf: np.ndarray):
    """Sublinear TF-IDF rows of ``counts``, each of unit length (a sparse matrix)."""
    from sklearn.preprocessing import normalize

    tf = counts.copy()
    tf.data = 1.0 + np.log(tf.data)
    return normalize(tf.multiply(idf[None, :]).tocsr())


def _with_row(M, i: int, row):
    """CSR matrix ``M`` with row ``i`` replaced by the one-row CSR ``row`` (a LIL round trip per merge
    costs far more)."""
    from scipy.sparse import csr_matrix

    start, end = M.indptr[i], M.indptr[i + 1]
    indptr = M.indptr.copy()
    indptr[i + 1:] += row.nnz - (end - start)
    return csr_matrix((np.concatenate([M.data[:start], row.data, M.data[end:]]),
                       np.concatenate([M.indices[:start], row.indices, M.indices[end:]]), indptr), shape=M.shape)


def _combine(counts, sums: np.ndarray, C: np.ndarray, idf: np.ndarray, keep: int, gone: int):
    """Cluster ``gone`` joins ``keep``: its word counts (rows of a CSR matrix) and vector sum are added,
    ``keep``'s centre in ``C`` is renewed; returns (the counts with ``keep``'s row renewed, ``keep``'s new
    TF-IDF row). The counts' rows must have their terms in column order (so the sum has them too)."""
    row = counts[keep] + counts[gone]
    sums[keep] += sums[gone]
    C[keep] = sums[keep] / max(float(np.linalg.norm(sums[keep])), 1e-12)
    tfidf = _tfidf(row, idf)
    tfidf.sort_indices()   # likeness sums over the row's terms in order
    return _with_row(counts, keep, row), tfidf


def _alike(Ta, Ca: np.ndarray, Tb, Cb: np.ndarray) -> np.ndarray:
    """Likeness of each ``a`` to each ``b``: the weighted mean of word (TF-IDF rows ``T``) and centre
    (unit rows ``C``) similarity."""
    return WORDS * np.asarray((Ta @ Tb.T).todense()) + (1 - WORDS) * (Ca @ Cb.T)


def reading(groups: list[dict[str, int] | None]) -> tuple[float, float]:
    """How a report of these groups (per group: article -> rows) would read: (the share of articles
    that are the pure majority of a group -- found --, groups per found article -- splits)."""
    hits: dict[str, int] = {}
    names = set()
    for g in groups:
        if not g:
            continue
        names |= set(g)
        top = max(g, key=g.get)
        if g[top] >= PURE * sum(g.values()):
            hits[top] = hits.get(top, 0) + 1
    return len(hits) / max(len(names), 1), sum(hits.values()) / max(len(hits), 1)


def _greedy(S: np.ndarray, near: np.ndarray, margin: float, counts, T, C: np.ndarray, sums: np.ndarray,
            idf: np.ndarray, groups: list[dict[str, int] | None]) -> list[tuple[float, float, float]]:
    """Merge covered parts most alike pair first among the pairs more alike than either part is to any
    other covered article less ``margin``: per merge (its likeness, then the ``reading`` of the groups)."""
    S, near, sums, C = S.copy(), near.copy(), sums.copy(), C.copy()
    groups = [dict(g) if g else None for g in groups]
    alive = np.ones(len(S), bool)
    out = []
    while True:
        allowed = np.where(S > np.maximum.outer(near, near) - margin, S, -np.inf)
        a, b = divmod(int(np.argmax(allowed)), len(S))
        if not np.isfinite(allowed[a, b]):
            return out
        for art, c in groups[b].items():
            groups[a][art] = groups[a].get(art, 0) + c
        groups[b], alive[b] = None, False
        out.append((float(S[a, b]), *reading(groups)))
        counts, row_a = _combine(counts, sums, C, idf, a, b)
        T = _with_row(T, a, row_a)
        row = _alike(row_a, C[a:a + 1], T, C).ravel()
        row[~alive] = -np.inf
        row[a] = -np.inf
        S[a], S[:, a] = row, row
        S[b], S[:, b] = -np.inf, -np.inf
        near[a] = max(near[a], near[b])


def learnt_rule(X: np.ndarray, texts: Sequence[str], parts: list[np.ndarray], article: np.ndarray, vec,
                idf: np.ndarray, covered: dict[str, tuple]) -> tuple[float, float] | None:
    """(level, margin): gap clusters merge when they are more alike than ``level`` and than either is to
    any covered article less ``margin``. Learnt from the covered topics as if each were a gap: ``parts``
    are the first pass's clusters of covered rows, each compared with the covered articles but its own
    (``covered``: article -> its TF-IDF row and centre), merged most alike pair first; the margin and
    level whose grouping splits the articles least (groups per article found) without losing an article
    win (a report is read like that: one topic per question, no question glued into another). None with
    too few parts or articles to tell."""
    labels = [np.asarray(article[p]).astype(str) for p in parts]
    if len(parts) < MIN_PARTS or len({a for lab in labels for a in lab}) < 3 or len(covered) < 2:
        return None
    counts = vec.transform([" ".join(texts[r] for r in p) for p in parts]).tocsr().astype(np.float64)
    T = _tfidf(counts, idf)
    counts.sort_indices()
    sums = np.array([X[p].sum(axis=0) for p in parts], np.float64)
    C = (sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    S = _alike(T, C, T, C)
    np.fill_diagonal(S, -np.inf)
    from scipy.sparse import vstack

    names = list(covered)
    T_cov = vstack([covered[a][0] for a in names]).tocsr()
    C_cov = np.array([covered[a][1] for a in names], np.float32)
    to_cov = _alike(T, C, T_cov, C_cov)
    groups: list[dict[str, int] | None] = []
    total: dict[str, int] = {}
    for i, lab in enumerate(labels):
        arts, n = np.unique(lab, return_counts=True)
        groups.append({str(a): int(c) for a, c in zip(arts, n, strict=True)})
        for a, c in zip(arts, n, strict=True):
            total[str(a)] = total.get(str(a), 0) + int(c)
        own = {str(a) for a in arts}
        to_cov[i, [j for j, a in enumerate(names) if a in own]] = -np.inf   # as if its article were missing
    near = to_cov.max(axis=1)
    near[~np.isfinite(near)] = -1.0
    found0, splits0 = reading(groups)
    best = (splits0, 1.01, 0.0)   # (splits, level, margin); merging nothing
    for margin in MARGINS:
        merges = _greedy(S, near, margin, counts, T, C, sums, idf, groups)
        for i, (_, found, splits) in enumerate(merges):
            if found >= found0 - LOST and splits < best[0]:   # fewer splits, hardly an article lost
                nxt = merges[i + 1][0] if i + 1 < len(merges) else merges[i][0] / 2
                best = (splits, (merges[i][0] + min(merges[i][0], nxt)) / 2, margin)
    return best[1], best[2]


def merge_by_words(X: np.ndarray, texts: Sequence[str], lab: np.ndarray, clusters: list[int], hard: np.ndarray,
                   article: np.ndarray, parts: list[np.ndarray], passes: Callable[[np.ndarray], bool],
                   rank: Callable[[int], tuple]) -> tuple[dict[int, int], float | None]:
    """Merge the gap ``clusters`` (labels in ``lab``) that are one question by centre and words (``texts``:
    one per row of ``X``), most alike pair first, while a pair is more alike than either cluster is to
    any covered article (``hard`` rows with their ``article``). ``passes`` tests a merged member set,
    ``rank`` orders clusters by which keeps its id (highest wins). Relabels ``lab`` in place and returns
    {absorbed cluster: the cluster it went into}."""
    ids = [c for c in clusters if (lab == c).any()]
    if len(ids) < 2:
        return {}, None
    members = [np.flatnonzero(lab == c) for c in ids]
    groups: dict[str, list[int]] = {}
    for r in np.flatnonzero(hard):
        if article[r] is not None:
            groups.setdefault(str(article[r]), []).append(int(r))
    covered = [np.array(rows) for rows in groups.values() if len(rows) >= MIN_GROUP]
    found = _word_counts([" ".join(texts[r] for r in rows) for rows in [*members, *covered]])
    if found is None:
        return {}, None
    vec, counts, idf = found
    n_gap = len(ids)
    gap_counts = counts[:n_gap]
    gap_counts.sort_indices()
    T = _tfidf(counts, idf)
    sums = np.array([X[m].sum(axis=0) for m in [*members, *covered]], np.float64)
    C = (sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    cov_names = [str(article[rows[0]]) for rows in covered]
    rule = learnt_rule(X, texts, parts, article, vec, idf,
                       {a: (T[n_gap + i], C[n_gap + i]) for i, a in enumerate(cov_names)})
    if rule is None:
        return {}, None
    level, margin = rule
    S = _alike(T[:n_gap], C[:n_gap], T[:n_gap], C[:n_gap])
    # each cluster's likeness to its most alike covered article (learnt_rule needs two, so there are)
    near = _alike(T[:n_gap], C[:n_gap], T[n_gap:], C[n_gap:]).max(axis=1)

    def candidates(alive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ok = (S > np.maximum(np.maximum.outer(near, near) - margin, level)) & np.outer(alive, alive)
        np.fill_diagonal(ok, False)
        return S, np.triu(ok, 1)

    def absorb(keep: int, gone: int) -> None:
        nonlocal T, gap_counts
        gap_counts, row_keep = _combine(gap_counts, sums, C, idf, keep, gone)
        T = _with_row(T, keep, row_keep)
        row = _alike(row_keep, C[keep:keep + 1], T[:n_gap], C[:n_gap]).ravel()
        S[keep], S[:, keep] = row, row
        near[keep] = max(near[keep], near[gone])   # as in the learnt rule

    return greedy_merge(ids, lab, passes, rank, candidates, absorb), rule
