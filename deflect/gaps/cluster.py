"""The clustering estimator: groups the items the engine would not answer and decides which groups
are gaps (average-linkage agglomerative over cosine distance, each cluster tested against its
neighbourhood)."""
from __future__ import annotations

import numpy as np

from deflect.gaps.link_merge import NEIGHBOURS as LINK_NEIGHBOURS
from deflect.gaps.link_merge import covered_share, merge_by_links
from deflect.gaps.merge import calibrated_level, covered_centres, merge_clusters
from deflect.gaps.nearest_rows import NearestRows
from deflect.gaps.neighbourhood import Neighbourhood, StableDraw, centroid, project
from deflect.gaps.word_merge import merge_by_words

MIN_SIZE = 5                # members a recurring topic needs (one-off questions are not topics)
DISTANCE = 0.5              # average-linkage cosine distance at which clusters stop merging (fallback)
EVIDENCE_SHARE = 1.0        # a cluster whose neighbourhood holds more covered material is not a gap (off)
HARD_SHARE = 0.3            # ... nor one with more linked tickets / article documents than this times the
                            # share they have among all items
AUTO_FACTOR = 0.9           # clustering threshold = this times the typical spread of a covered topic
NEIGHBOURS = 10             # neighbours per member for the evidence test
CHUNK = 5000                # the most items one agglomerative run clusters (quadratic memory)
MAX_POOL = 30000            # the evidence test looks for neighbours among at most this many rows ...
REDUCE_DIMS = 256           # ... in a PCA space of this many dimensions when there are more rows
NEAR_FACTOR = 1.5           # neighbours further than this times the threshold do not count as evidence
CALIBRATION_ROWS = 8000     # covered rows the merge pass learns on (all of them on most help desks; the
                            # first pass splits covered questions as it splits gaps only on their full
                            # density; the cap bounds the quadratic clustering)
MERGE_ROUNDS = 10           # rounds of the merge steps at most (a round that merges nothing ends them)
TURNED_AWAY = 0.5           # a cluster at least this much of customers the articles shown did not help is a gap
HYSTERESIS = 1.5            # an existing topic is dropped only when its evidence exceeds the limits this much


class GapReport:
    """Clusters the items the engine would not answer and decides which clusters are gaps.

    scikit-learn conventions: configured in ``__init__``, ``fit`` returns self, learned attributes
    end in ``_``. ``fit`` takes every item (and article document) vector so that each cluster can be
    tested against its neighbourhood: ``candidate`` marks the rows to cluster, ``covered`` the covered
    material (linked tickets, article documents, items the engine answers) with its ``article``, and
    ``hard`` the rows whose article is certain (linked tickets, article documents). Optionally the
    sticky assignment of earlier runs (``labels`` indexing ``centroids``) keeps topics stable.

    ``distance_threshold="auto"`` calibrates the clustering on the hard rows: ``auto_factor`` times
    the typical spread of a covered topic. How far apart two phrasings of one question lie differs a
    lot between domains and models.
    """

    def __init__(self, min_size: int = MIN_SIZE, distance_threshold: float | str = "auto",
                 max_evidence_share: float = EVIDENCE_SHARE, max_hard_share: float = HARD_SHARE,
                 neighbours: int = NEIGHBOURS, chunk_size: int = CHUNK, auto_factor: float = AUTO_FACTOR,
                 max_pool: int = MAX_POOL, reduce_dims: int | None = REDUCE_DIMS, near_factor: float = NEAR_FACTOR,
                 merge: bool = True, random_state: int = 0):
        self.min_size = min_size
        self.distance_threshold = distance_threshold
        self.max_evidence_share = max_evidence_share
        self.max_hard_share = max_hard_share
        self.neighbours = neighbours
        self.chunk_size = chunk_size
        self.auto_factor = auto_factor
        self.max_pool = max_pool
        self.reduce_dims = reduce_dims
        self.near_factor = near_factor
        self.merge = merge
        self.random_state = random_state

    def fit(self, X: np.ndarray, candidate: np.ndarray, covered: np.ndarray, article: np.ndarray | None = None,
            hard: np.ndarray | None = None, labels: np.ndarray | None = None,
            centroids: np.ndarray | None = None, known: dict[int, tuple] | None = None,
            new: np.ndarray | None = None, fixed: np.ndarray | None = None,
            texts: list[str] | None = None, examples: np.ndarray | None = None,
            away: np.ndarray | None = None) -> GapReport:
        """``known[k]``: evidence of old topic k that is still valid (not tested again); ``new``: the
        rows not seen by earlier runs (only they may join old topics; default all); ``fixed``: old
        topics that never merge with another (closed ones); ``texts``: the text of each row (the merge
        pass compares clusters by their words too); ``examples``: hard rows that are labelled questions
        (evidence like linked tickets; the clustering scale and the merge pass do not learn from them);
        ``away``: rows whose customers said the articles shown did not help (a cluster mostly of them is
        a gap whatever covered material lies around it: they were shown it)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        n, dim = X.shape
        self._away = np.zeros(n, bool) if away is None else np.asarray(away, bool)
        candidate = np.asarray(candidate, bool)
        covered = np.asarray(covered, bool)
        hard = covered.copy() if hard is None else np.asarray(hard, bool)
        article = np.full(n, None, dtype=object) if article is None else np.asarray(article, dtype=object)
        # the clustering scale and the merge pass learn from the help center's history only: a labelled
        # file is a hand-picked sample of any size and spread per article (on long answer bodies its
        # questions span the whole article and would widen the scale)
        learn = ~np.asarray(examples, bool) if examples is not None else np.ones(n, bool)
        self._draw = StableDraw(X, self.random_state)
        self.threshold_ = self._threshold(X, hard & learn, article)
        old = np.zeros((0, dim), np.float32) if centroids is None else np.asarray(centroids, np.float32)
        lab = np.full(n, -1, np.int64) if labels is None else np.asarray(labels, np.int64).copy()
        lab[~candidate] = -1
        cents = [centroid(X[lab == k]) if (lab == k).any() else old[k] for k in range(len(old))]
        hood = Neighbourhood(X, covered, hard, article, self._draw, neighbours=self.neighbours,
                              near=1.0 - self.near_factor * self.threshold_, max_pool=self.max_pool,
                              reduce_dims=self.reduce_dims)
        self.projection_ = hood.projection
        # 1. new candidates join the nearest existing topic when they are inside its spread (rows seen
        #    before and left out stay out: they were left out for a reason)
        free = np.flatnonzero(candidate & (lab < 0) & (True if new is None else np.asarray(new, bool)))
        if len(cents) and len(free):
            lab[free] = self._assign(X, free, lab, np.array(cents))
        # 2. the rest is clustered (in chunks when large); only clusters that pass the evidence test
        #    are kept, and a cluster that fails is split along its tree until its parts pass or get small
        #    (the leftovers go round again: without the rows that formed clusters, some of them may now
        #    group -- average linkage depends on what else is there -- and a re-run should find nothing new)
        tested: dict[int, tuple] = dict(known or {})
        self.rejected_ = np.zeros(n, bool)   # candidates found inside a covered region
        for _ in range(3):
            free = np.flatnonzero(candidate & (lab < 0) & ~self.rejected_)
            found, rejected = self._cluster(X, free, hood)
            self.rejected_[rejected] = True
            for members, evidence in found:
                tested[len(cents)] = evidence
                lab[members] = len(cents)
                cents.append(centroid(X[members]))
            if not found:
                break
        k = len(cents)
        self.n_existing_ = len(old)
        self.labels_ = lab
        self.rejected_ &= lab < 0
        self.centroids_ = np.array(cents, np.float32).reshape(k, dim)
        self.sizes_ = np.bincount(lab[lab >= 0], minlength=k)
        # 3. the evidence test for the old topics (they may have become covered)
        evidence = [tested[c] if c in tested else (hood.evidence(np.flatnonzero(lab == c))
                                                    if self.sizes_[c] else (np.nan, np.nan, None))
                    for c in range(k)]
        self.evidence_share_ = np.array([e[0] for e in evidence], float).reshape(k)
        self.hard_share_ = np.array([e[1] for e in evidence], float).reshape(k)
        self.evidence_article_ = np.array([e[2] for e in evidence] + [None], dtype=object)[:k]
        self.is_gap_ = (self.sizes_ >= self.min_size) & np.array(
            [self._passes(e[0], e[1], slack=HYSTERESIS if c < len(old) else 1.0) or self._turned_away(lab == c)
             for c, e in enumerate(evidence)], bool).reshape(k)
        self.merged_: dict[int, int] = {}
        if self.merge:
            self._merge(X, hood, hard, article, len(old), fixed, texts, learn)
        self._shed_covered(X, hood, fixed)
        return self

    def _merge(self, X: np.ndarray, hood: Neighbourhood, hard: np.ndarray, article: np.ndarray, n_old: int,
               fixed: np.ndarray | None, texts: list[str] | None, learn: np.ndarray) -> None:
        """The second pass (``merge``): gap clusters that are one question become one. An old topic keeps
        its id before a new cluster, the larger before the smaller. It learns how far one question
        splits from the covered rows in ``learn`` only."""
        fixed = np.zeros(n_old, bool) if fixed is None else np.asarray(fixed, bool)
        gaps = [c for c in np.flatnonzero(self.is_gap_) if not (c < len(fixed) and fixed[c])]
        if len(gaps) < 2:
            return
        def passes(rows: np.ndarray) -> bool:
            evidence = hood.evidence(rows)
            return self._passes(evidence[0], evidence[1])

        def rank(c: int) -> tuple:
            return (c < n_old, int(self.sizes_[c]), -c)

        parts = self._covered_parts(X, hard & learn, article)
        self.merge_level_ = calibrated_level(X, parts, article)
        if self.merge_level_ is None:
            # too few linked tickets and article documents per article to tell: the items the engine
            # answers show it (inquiries like the gap material; their spread is wider than a ticket
            # history's, so where the history can tell, it does: two close gaps stay apart)
            parts = self._covered_parts(X, hood.covered & learn, article)
            self.merge_level_ = calibrated_level(X, parts, article)
        centres = covered_centres(X, hard, article)
        nearest = NearestRows(X, LINK_NEIGHBOURS)   # kept across the rounds: most rows keep their nearest
        share = covered_share(X, parts, article, LINK_NEIGHBOURS)   # the covered parts do not change
        # the three steps again and again until a round merges nothing: a merged cluster has other links,
        # another centre and other words than its parts, so it may merge on; run once, a re-run starting
        # from the stored topics would merge them (and their ids would go)
        for self.merge_rounds_ in range(1, MERGE_ROUNDS + 1):
            before = len(self.merged_)
            # first by the company the members keep (families of phrasings of one question), then by
            # centres (one question in two languages or wordings whose members are not each other's
            # neighbours), last by centre and words (sub-questions of one subject)
            merged, self.link_share_ = merge_by_links(X, self.labels_, self._unmerged(gaps), parts, article,
                                                      passes, rank, self._draw, nearest=nearest,
                                                      share=share)
            self._fold(merged)
            self._fold(merge_clusters(X, self.labels_, self._unmerged(gaps), centres, passes, rank,
                                      covered_rows=X[hard], level=self.merge_level_))
            if texts is not None:
                merged, self.word_rule_ = merge_by_words(X, texts, self.labels_, self._unmerged(gaps), hard,
                                                         article, parts, passes, rank)
                self._fold(merged)
            if len(self.merged_) == before:
                break
        for gone in self.merged_:
            self.is_gap_[gone], self.sizes_[gone] = False, 0
        for keep in set(self.merged_.values()):
            rows = np.flatnonzero(self.labels_ == keep)
            self.sizes_[keep] = len(rows)
            self.centroids_[keep] = centroid(X[rows])
            share, hard_share, art = hood.evidence(rows)   # neighbours are cached: cheap
            self.evidence_share_[keep], self.hard_share_[keep] = share, hard_share
            self.evidence_article_[keep] = art

    def _unmerged(self, clusters: list[int]) -> list[int]:
        """The ``clusters`` no merge has absorbed yet."""
        return [int(c) for c in clusters if int(c) not in self.merged_]

    def _fold(self, later: dict[int, int]) -> None:
        """Add the merges of a later merge step to ``merged_`` (a cluster absorbed by one that merged on
        points to where that one went)."""
        for gone, keep in later.items():
            self.merged_[gone] = keep
        for gone, keep in list(self.merged_.items()):
            while keep in later:
                keep = later[keep]
            self.merged_[gone] = keep

    def _covered_parts(self, X: np.ndarray, covered: np.ndarray, article: np.ndarray) -> list[np.ndarray]:
        """The first pass's clusters of the ``covered`` rows with an article (linked tickets and article
        documents, or these and the items the engine answers; a sample of at most ``CALIBRATION_ROWS``):
        what one covered question looks like after the first pass."""
        rows = np.flatnonzero(covered & np.array([a is not None for a in article], bool).reshape(len(article)))
        if len(rows) > CALIBRATION_ROWS:
            rows = self._draw(rows, CALIBRATION_ROWS)
        if len(rows) < 2:
            return []
        from scipy.cluster.hierarchy import fcluster

        cut = fcluster(_linkage(X[rows]), self.threshold_, criterion="distance")
        parts = [rows[cut == c] for c in np.unique(cut)]
        return [p for p in parts if len(p) >= self.min_size]

    def _shed_covered(self, X: np.ndarray, hood: Neighbourhood, fixed: np.ndarray | None) -> None:
        """Each gap topic without the branches of its members' tree that are covered material: while one of
        the two branches fails the evidence test on its own and the other passes, the topic is the passing
        one (unanswered questions of a covered article, glued to a gap beside it, would else make the topic
        read as two questions). The branches cut lie in a covered region; ``shed_`` remembers the topic
        they were cut from, so that a re-run starts from the topic the merge pass saw (cut first, its
        centre would have moved away from the covered material and merge further). After the merge pass;
        closed topics keep their members."""
        self.shed_ = np.full(len(self.labels_), -1, np.int64)
        for c in np.flatnonzero(self.is_gap_):
            if fixed is not None and c < len(fixed) and fixed[c]:
                continue
            rows = np.flatnonzero(self.labels_ == c)
            if len(rows) <= self.min_size or len(rows) > self.chunk_size:
                continue
            children, n = _linkage(X[rows])[:, :2].astype(np.int64), len(rows)
            node, keep = 2 * n - 2, rows
            while node >= n:
                tested = [(b, rows[_leaves(children, b, n)]) for b in children[node - n]]
                tested = [(b, members, hood.evidence(members)) for b, members in tested]
                passing = [t for t in tested if self._passes(t[2][0], t[2][1]) or self._turned_away(t[1])]
                if len(passing) != 1 or len(passing[0][1]) < self.min_size:
                    break
                node, keep, evidence = passing[0]
            if len(keep) == len(rows):
                continue
            cut = np.setdiff1d(rows, keep)
            self.labels_[cut], self.shed_[cut], self.rejected_[cut] = -1, c, True
            self.sizes_[c] = len(keep)
            self.centroids_[c] = centroid(X[keep])
            self.evidence_share_[c], self.hard_share_[c], self.evidence_article_[c] = evidence

    def fit_empty(self) -> GapReport:
        """The fitted state for no items at all: no clusters."""
        self.labels_, self.sizes_ = np.zeros(0, np.int64), np.zeros(0, np.int64)
        self.shed_ = np.zeros(0, np.int64)
        self.is_gap_, self.evidence_share_, self.hard_share_ = np.zeros(0, bool), np.zeros(0), np.zeros(0)
        self.threshold_ = DISTANCE if self.distance_threshold == "auto" else float(self.distance_threshold)
        self.evidence_article_, self.centroids_, self.n_existing_ = np.zeros(0, object), np.zeros((0, 1)), 0
        self.rejected_ = np.zeros(0, bool)
        return self

    def project(self, X: np.ndarray) -> np.ndarray:
        """Vectors in the space the evidence test searches (reduced for large inputs, normalised)."""
        return project(X, getattr(self, "projection_", None))

    def _passes(self, share: float, hard_share: float, slack: float = 1.0) -> bool:
        """The evidence test; ``slack`` > 1 lets an existing topic stay until it clearly fails."""
        if np.isnan(share) or np.isnan(hard_share):
            return False
        return share <= self.max_evidence_share * slack and hard_share <= self.max_hard_share * slack

    def _turned_away(self, members: np.ndarray) -> bool:
        """Whether most of ``members`` (indexes or a mask) are customers the articles shown did not help."""
        away = getattr(self, "_away", None)
        picked = away[members] if away is not None and len(away) else np.zeros(0, bool)
        return bool(len(picked)) and float(picked.mean()) >= TURNED_AWAY

    def _threshold(self, X: np.ndarray, hard: np.ndarray, article: np.ndarray) -> float:
        """The clustering threshold: given, or ``auto_factor`` times the typical spread of a covered
        topic -- the median over articles of the mean cosine distance between two of its linked
        tickets / article documents. (Phrasings of one question lie much further apart in some
        domains and models than in others; the covered topics show how far.)"""
        if self.distance_threshold != "auto":
            return float(self.distance_threshold)
        rows = np.flatnonzero(hard)
        by_article: dict[str, list[int]] = {}
        for r in rows:
            if article[r] is not None:
                by_article.setdefault(str(article[r]), []).append(int(r))
        spreads = []
        for members in by_article.values():
            if len(members) < 3:
                continue
            members = self._draw(np.array(members, np.int64), 200)
            V = X[members]
            S = V @ V.T
            m = len(members)
            spreads.append(1.0 - (S.sum() - np.trace(S)) / (m * (m - 1)))
        if len(spreads) < 3:
            return DISTANCE
        self.topic_spread_ = float(np.median(spreads))
        return round(float(np.clip(self.auto_factor * self.topic_spread_, 0.2, 0.8)), 4)

    def _cutoffs(self, X: np.ndarray, lab: np.ndarray, cents: np.ndarray) -> np.ndarray:
        """Per topic: the similarity to its (normalised) centroid a row needs to join -- the average-
        linkage rule: its mean similarity to the members, ``x . mean``, must reach ``1 - threshold``."""
        floor = 1.0 - self.threshold_
        cut = np.full(len(cents), floor, np.float32)
        for c in range(len(cents)):
            members = np.flatnonzero(lab == c)
            if len(members) >= 2:
                spread = float(np.linalg.norm(X[members].mean(axis=0)))
                cut[c] = min(0.999, floor / max(spread, 1e-6))
        return cut

    def _assign(self, X: np.ndarray, rows: np.ndarray, lab: np.ndarray, cents: np.ndarray) -> np.ndarray:
        cut = self._cutoffs(X, lab, cents)
        out = np.full(len(rows), -1, np.int64)
        for start in range(0, len(rows), 8192):
            part = rows[start:start + 8192]
            sims = X[part] @ cents.T
            best = sims.argmax(axis=1)
            ok = sims[np.arange(len(part)), best] >= cut[best]
            out[start:start + 8192] = np.where(ok, best, -1)
        return out

    def _cluster(self, X: np.ndarray, rows: np.ndarray,
                 hood: Neighbourhood) -> tuple[list[tuple[np.ndarray, tuple]], np.ndarray]:
        """Gap clusters among ``rows`` (with their evidence) and the rows found inside a covered region:
        agglomerative on at most ``chunk_size`` rows at a time; with more, a sample is clustered, the
        rest joins its clusters (or is dropped with the clusters that failed), and what is left goes
        round again."""
        pending = np.asarray(rows, np.int64)
        found: list[tuple[np.ndarray, tuple]] = []
        rejected: list[np.ndarray] = [np.zeros(0, np.int64)]
        for _ in range(20):
            if len(pending) < self.min_size:
                break
            final = len(pending) <= self.chunk_size
            sample = pending if final else hood.draw(pending, self.chunk_size)
            kept, dropped, out = self._select(X, sample, hood)
            rejected.append(out)
            if final:
                found += kept
                break
            groups = [g for g, _ in kept] + dropped
            if not groups:
                break
            cents = np.array([centroid(X[g]) for g in groups])
            glab = np.full(len(X), -1, np.int64)
            for i, g in enumerate(groups):
                glab[g] = i
            rest = np.setdiff1d(pending, np.concatenate(groups))
            assigned = self._assign(X, rest, glab, cents) if len(rest) else np.zeros(0, np.int64)
            for i, (g, evidence) in enumerate(kept):
                found.append((np.sort(np.r_[g, rest[assigned == i]]), evidence))
            rejected.append(rest[assigned >= len(kept)])   # joined a cluster that failed
            left = rest[assigned < 0]
            if len(left) >= len(pending) - self.min_size:  # no progress
                break
            pending = left
        return found, np.unique(np.concatenate(rejected))

    def _select(self, X: np.ndarray, rows: np.ndarray,
                hood: Neighbourhood) -> tuple[list[tuple[np.ndarray, tuple]], list[np.ndarray], np.ndarray]:
        """Cut the average-linkage tree of ``rows`` at the threshold; keep the clusters that pass the
        evidence test, split the others along the tree. Returns (kept clusters with their evidence,
        dropped clusters, rejected rows: inside a covered region)."""
        if len(rows) < 2:
            return [], [], np.zeros(0, np.int64)
        tree = _linkage(X[rows])
        n = len(rows)
        children = tree[:, :2].astype(np.int64)
        height = tree[:, 2]
        size = tree[:, 3].astype(np.int64)

        def leaves(node: int) -> np.ndarray:
            return rows[_leaves(children, node, n)]

        def count(node: int) -> int:
            return 1 if node < n else int(size[node - n])

        tops, stack = [], [2 * n - 2]
        while stack:  # the maximal subtrees merged below the threshold
            v = stack.pop()
            if v < n or height[v - n] <= self.threshold_:
                tops.append(v)
            else:
                stack.extend(children[v - n])
        kept, dropped, failed = [], [], []
        stack = [v for v in tops if count(v) >= self.min_size]
        while stack:
            v = stack.pop()
            members = leaves(v)
            parts = [c for c in (children[v - n] if v >= n else []) if count(c) >= self.min_size]
            evidence = hood.evidence(members)
            if self._passes(evidence[0], evidence[1]) or self._turned_away(members):
                kept.append((np.sort(members), evidence))
                continue
            failed.append(members)
            if parts:
                stack.extend(parts)
            else:
                dropped.append(np.sort(members))
        if not failed:
            return kept, dropped, np.zeros(0, np.int64)
        in_kept = np.concatenate([g for g, _ in kept]) if kept else np.zeros(0, np.int64)
        return kept, dropped, np.setdiff1d(np.concatenate(failed), in_kept)   # rows only in failed clusters


def _leaves(children: np.ndarray, node: int, n: int) -> np.ndarray:
    """The leaf positions under ``node`` of a linkage tree over ``n`` rows."""
    out, stack = [], [node]
    while stack:
        v = stack.pop()
        if v < n:
            out.append(v)
        else:
            stack.extend(children[v - n])
    return np.array(out, np.int64)


def _linkage(V: np.ndarray) -> np.ndarray:
    """Average-linkage tree over cosine distances (distances by BLAS, far faster than pdist)."""
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    D = V @ V.T
    np.subtract(1.0, D, out=D)
    np.clip(D, 0.0, 2.0, out=D)
    np.fill_diagonal(D, 0.0)
    return linkage(squareform(D, checks=False).astype(np.float64), method="average")
