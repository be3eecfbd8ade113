"""The uncovered-topics report: which recurring customer questions the FAQ does not answer, and the
workflow that closes each gap.

Sources are the resolved tickets and the logged inquiries. Each is judged by the engine's calibrated
decision (a ticket without itself: leave-one-out; an inquiry logged since the articles and the
calibration last changed keeps the decision it got); a ticket an agent linked to an article is covered.

The items the engine would not answer are clustered -- except near misses, which it judged more likely
right than wrong (confidence at least ``NEAR_MISS``; the answer threshold usually lies higher, as a wrong
answer costs more than no answer): they are covered questions it did not dare to answer, material for the
"not found although covered" list, not for a new article. The clustering is average-linkage
agglomerative over cosine distance -- unless nearly all items are English, in the multilingual part of
the vectors (``gap_space``: an English-only part of the model would split a topic by language) -- cut at
a threshold calibrated on the covered topics (``auto_factor`` times the typical spread of the linked
tickets and questions of one article: how far apart two phrasings of one question lie differs a lot
between domains and models). Each cluster is then tested as a whole
against its neighbourhood: where the members' nearest neighbours hold linked tickets and article
documents at anything like their share overall, the cluster lies inside a covered region -- the FAQ has
the answer, the engine just missed these phrasings -- and it is split along its tree until its parts pass
or become too small. Clusters of at least ``min_size`` that pass are the gap topics; unanswered inquiries whose
neighbours agents resolved with one article make the "not found although covered" list. Large inputs
are clustered in chunks (a sample is clustered, the rest joins by the same average-linkage rule) and
searched in a reduced space.

Topics keep a stable id (``G-0001``, never reused): items stay in the topic they were put in, new
items join the nearest topic when they are close enough, and only the rest is clustered again.
Workflow: ``new -> planned (owner, due) -> covered | dismissed``; ``check_coverage`` (called after
every index build or article upsert) marks open topics whose members the engine now answers.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from deflect.errors import DeflectError, InputError, NotFoundError
from deflect.language import detect_language

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
EVIDENCE_SAMPLE = 100       # members whose neighbours are looked at per test
HYSTERESIS = 1.5            # an existing topic is dropped only when its evidence exceeds the limits this much
REUSE_SIMILARITY = 0.9      # a new cluster this close to an inactive old topic takes its id
COVER_SHARE = 0.5           # share of members the engine must answer for a topic to count as covered
NEAR_MISS = 0.5             # an unanswered item whose first article is at least this likely right is no gap
PERIOD_DAYS = 30
ENGLISH_DESK = 0.9          # a help desk with this share of English items clusters in the whole vectors
REGION = "~"                # gap_items.topic_id of a candidate found inside a covered region
STATUSES = ("new", "planned", "covered", "dismissed")
OPEN = ("new", "planned")

_DE_STOP = set("""aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes
auch auf aus bei bin bis bist bitte da damit dann das dass dein deine deinem deinen deiner dem den denn der
des dich die dies diese diesem diesen dieser dieses dir doch dort du durch ein eine einem einen einer eines
er es etwas euch euer eure für gegen gibt hab habe haben hat hatte hätte ich ihm ihn ihnen ihr ihre ihrem
ihren ihrer im in ist ja jetzt kann kein keine keinem keinen keiner können könnte man mein meine meinem
meinen meiner mich mir mit muss nach nicht noch nun nur ob oder ohne schon sein seine seinem seinen seiner
sich sie sind so soll sollte über um und uns unser unsere unter viel vom von vor war waren was weil wenn
wer werde werden wie wieder will wir wird wo wurde würde zu zum zur zwar hallo danke guten tag leider
gerne warum wann welche welcher welches""".split())
_WORD = re.compile(r"(?u)\b[^\W\d_][\w'-]+\b")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


# -- the clustering estimator --------------------------------------------------------------------
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
                 random_state: int = 0):
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
        self.random_state = random_state

    def fit(self, X: np.ndarray, candidate: np.ndarray, covered: np.ndarray, article: np.ndarray | None = None,
            hard: np.ndarray | None = None, labels: np.ndarray | None = None,
            centroids: np.ndarray | None = None, known: dict[int, tuple] | None = None,
            new: np.ndarray | None = None) -> GapReport:
        """``known[k]``: evidence of old topic k that is still valid (not tested again); ``new``: the
        rows not seen by earlier runs (only they may join old topics; default all)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        n, dim = X.shape
        candidate = np.asarray(candidate, bool)
        covered = np.asarray(covered, bool)
        hard = covered.copy() if hard is None else np.asarray(hard, bool)
        article = np.full(n, None, dtype=object) if article is None else np.asarray(article, dtype=object)
        self.threshold_ = self._threshold(X, hard, article)
        old = np.zeros((0, dim), np.float32) if centroids is None else np.asarray(centroids, np.float32)
        lab = np.full(n, -1, np.int64) if labels is None else np.asarray(labels, np.int64).copy()
        lab[~candidate] = -1
        cents = [_centroid(X[lab == k]) if (lab == k).any() else old[k] for k in range(len(old))]
        rng = np.random.default_rng(self.random_state)
        hood = _Neighbourhood(X, covered, hard, article, rng, neighbours=self.neighbours,
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
                cents.append(_centroid(X[members]))
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
            [self._passes(e[0], e[1], slack=HYSTERESIS if c < len(old) else 1.0) for c, e in enumerate(evidence)],
            bool).reshape(k)
        return self

    def project(self, X: np.ndarray) -> np.ndarray:
        """Vectors in the space the evidence test searches (reduced for large inputs, normalised)."""
        return _project(X, getattr(self, "projection_", None))

    def _passes(self, share: float, hard_share: float, slack: float = 1.0) -> bool:
        """The evidence test; ``slack`` > 1 lets an existing topic stay until it clearly fails."""
        if np.isnan(share) or np.isnan(hard_share):
            return False
        return share <= self.max_evidence_share * slack and hard_share <= self.max_hard_share * slack

    def _threshold(self, X: np.ndarray, hard: np.ndarray, article: np.ndarray) -> float:
        """The clustering threshold: given, or ``auto_factor`` times the typical spread of a covered
        topic -- the median over articles of the mean cosine distance between two of its linked
        tickets / article documents. (Phrasings of one question lie much further apart in some
        domains and models than in others; the covered topics show how far.)"""
        if self.distance_threshold != "auto":
            return float(self.distance_threshold)
        rng = np.random.default_rng(self.random_state)
        rows = np.flatnonzero(hard)
        by_article: dict[str, list[int]] = {}
        for r in rows:
            if article[r] is not None:
                by_article.setdefault(str(article[r]), []).append(int(r))
        spreads = []
        for members in by_article.values():
            if len(members) < 3:
                continue
            if len(members) > 200:
                members = list(rng.choice(members, 200, replace=False))
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
                 hood: _Neighbourhood) -> tuple[list[tuple[np.ndarray, tuple]], np.ndarray]:
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
            sample = pending if final else np.sort(hood.rng.choice(pending, self.chunk_size, replace=False))
            kept, dropped, out = self._select(X, sample, hood)
            rejected.append(out)
            if final:
                found += kept
                break
            groups = [g for g, _ in kept] + dropped
            if not groups:
                break
            cents = np.array([_centroid(X[g]) for g in groups])
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
                hood: _Neighbourhood) -> tuple[list[tuple[np.ndarray, tuple]], list[np.ndarray], np.ndarray]:
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
            out, stack = [], [node]
            while stack:
                v = stack.pop()
                if v < n:
                    out.append(v)
                else:
                    stack.extend(children[v - n])
            return rows[np.array(out, np.int64)]

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
            if self._passes(evidence[0], evidence[1]):
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


class _Neighbourhood:
    """What the evidence test searches during one fit: every row, or a uniform sample of large inputs
    (a cluster's own members are always searched too), in a PCA space of ``reduce_dims`` for large
    inputs (neighbour search is the report's main cost). Neighbours are cached per row."""

    def __init__(self, X: np.ndarray, covered: np.ndarray, hard: np.ndarray, article: np.ndarray,
                 rng: np.random.Generator, *, neighbours: int, near: float, max_pool: int,
                 reduce_dims: int | None):
        n, dim = X.shape
        self.rng = rng
        pool = np.arange(n) if n <= max_pool else np.sort(rng.choice(n, max_pool, replace=False))
        self.projection = None
        if reduce_dims and n > max_pool and dim > reduce_dims:
            # the dominant subspace (uncentred, so cosine similarities keep their meaning), from the
            # second-moment matrix of a sample: exact for the sample, far cheaper than an SVD of it
            sample = X[rng.choice(n, min(n, 20000), replace=False)].astype(np.float64)
            _, vecs = np.linalg.eigh(sample.T @ sample)
            self.projection = np.ascontiguousarray(vecs[:, ::-1][:, :reduce_dims], dtype=np.float32)
        self.Xr = _project(X, self.projection)
        self.pool, self.Xp = pool, np.ascontiguousarray(self.Xr[pool])
        self.in_pool = np.zeros(n, bool)
        self.in_pool[pool] = True
        self.pos = np.full(n, -1, np.int64)
        self.pos[pool] = np.arange(len(pool))
        self.covered, self.hard, self.article = covered, hard, article
        self.base = max(float(hard[pool].mean()), 1e-6)
        self.k = min(neighbours, len(pool) - 1)
        # only neighbours about as close as a topic's members count (far rows are another region);
        # cosine similarity in the reduced space is a little higher, which errs on the safe side
        self.near = near
        self._knn: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _pool_neighbours(self, rows: np.ndarray) -> None:
        """Cache the nearest pool rows (similarities, row indexes; nearest first) of ``rows``."""
        k = self.k
        todo = np.array([r for r in rows if int(r) not in self._knn], np.int64)
        for start in range(0, len(todo), 512):
            part = todo[start:start + 512]
            sims = self.Xr[part] @ self.Xp.T
            own = self.pos[part]
            hit = own >= 0
            sims[np.flatnonzero(hit), own[hit]] = -np.inf
            if k <= 0:
                top = np.zeros((len(part), 0), np.int64)
            else:
                top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
                order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1)
                top = np.take_along_axis(top, order, axis=1)
            top_sims = np.take_along_axis(sims, top, axis=1)
            for j, r in enumerate(part):
                self._knn[int(r)] = (top_sims[j], self.pool[top[j]])

    def evidence(self, members: np.ndarray) -> tuple[float, float, str | None]:
        """(share of covered material, share of linked tickets/article documents relative to their
        share overall, the article most of that material belongs to) among the members' neighbours."""
        size = len(members)
        if size == 0:
            return np.nan, np.nan, None
        sample = self.rng.choice(members, EVIDENCE_SAMPLE, replace=False) if size > EVIDENCE_SAMPLE else members
        self._pool_neighbours(sample)
        k = self.k
        outside = members[~self.in_pool[members]]
        if len(outside):  # members the pool sample missed are neighbours too
            own = self.Xr[sample] @ self.Xr[outside].T
            own[sample[:, None] == outside[None, :]] = -np.inf
        nbrs = np.zeros((len(sample), k), np.int64)
        near = np.zeros((len(sample), k), bool)
        for j, r in enumerate(sample):
            sims, idx = self._knn[int(r)]
            if len(outside):
                sims, idx = np.r_[sims, own[j]], np.r_[idx, outside]
                order = np.argsort(-sims)[:k]
                sims, idx = sims[order], idx[order]
            m = min(k, len(idx))
            nbrs[j, :m], near[j, :m] = idx[:m], sims[:m] >= self.near
        if not near.any():  # nothing around at all: an isolated topic
            return 0.0, 0.0, None
        ev = self.covered[nbrs] & near
        votes = Counter(a for a in self.article[nbrs[ev]] if a)
        return (float(ev.sum() / near.sum()), float((self.hard[nbrs] & near).sum() / near.sum()) / self.base,
                votes.most_common(1)[0][0] if votes else None)


def _project(X: np.ndarray, projection: np.ndarray | None) -> np.ndarray:
    if projection is None:
        return np.asarray(X, np.float32)
    Xr = np.asarray(X, np.float32) @ projection
    return Xr / np.maximum(np.linalg.norm(Xr, axis=1, keepdims=True), 1e-12)


def _stored_centroid(row: dict, dim: int) -> np.ndarray:
    """A topic's saved centroid; zeros when there is none or it was saved in another space (another
    model, or a report from before the gap space): the topic's current members give it again."""
    blob = row.get("centroid")
    vec = np.frombuffer(blob, np.float32) if blob else np.zeros(0, np.float32)
    return vec if len(vec) == dim else np.zeros(dim, np.float32)


def _centroid(V: np.ndarray) -> np.ndarray:
    c = V.mean(axis=0)
    return (c / max(float(np.linalg.norm(c)), 1e-12)).astype(np.float32)


def _linkage(V: np.ndarray) -> np.ndarray:
    """Average-linkage tree over cosine distances (distances by BLAS, far faster than pdist)."""
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    D = V @ V.T
    np.subtract(1.0, D, out=D)
    np.clip(D, 0.0, 2.0, out=D)
    np.fill_diagonal(D, 0.0)
    return linkage(squareform(D, checks=False).astype(np.float64), method="average")


# -- items: what the report is built from ----------------------------------------------------------
@dataclass
class Item:
    key: str
    source: str                     # "ticket" | "inquiry"
    id: str
    text: str
    language: str | None
    channel: str | None
    created_at: str | None
    linked: str | None = None       # a ticket's linked article
    logged_decision: str | None = None
    logged_article: str | None = None
    logged_confidence: float | None = None
    subject: str | None = None      # a ticket's subject line (``text`` runs subject and body together)


def load_items(store) -> list[Item]:
    """Every resolved ticket and logged inquiry in the store."""
    from deflect.index.documents import ticket_text

    items = []
    for r in store.db.execute("select id, subject, body, article_id, language, created_at, ingested_at, "
                              "channel from tickets order by rowid"):
        text = ticket_text({"subject": r[1], "body": r[2]})
        if text:
            items.append(Item(f"ticket:{r[0]}", "ticket", r[0], text, r[4], r[7], r[5] or r[6], linked=r[3],
                              subject=(r[1] or "").strip() or None))
    for r in store.db.execute("select id, text, language, created_at, channel, decision, article_id, "
                              "confidence from inquiries order by created_at, rowid"):
        if r[1] and r[1].strip():
            items.append(Item(f"inquiry:{r[0]}", "inquiry", r[0], r[1].strip(), r[2], r[4], r[3],
                              logged_decision=r[5], logged_article=r[6], logged_confidence=r[7]))
    return items


def english_share(items: list[Item]) -> float | None:
    """Share of the items in English (their language, else a guess; undecided ones do not count)."""
    langs = [(it.language or detect_language(it.text, default="")).lower()[:2] for it in items]
    known = [lang for lang in langs if lang]
    return sum(lang == "en" for lang in known) / len(known) if known else None


def gap_space(deflector, *matrices: np.ndarray, english: float | None = None) -> list[np.ndarray]:
    """The vectors the report clusters and compares. On an English help desk (``english``, the share
    of English items, at least ``ENGLISH_DESK``) the whole vectors. Otherwise only the columns of the
    model's parts that know more than English (``embedder.multilingual_columns``), normalised again:
    an English-only part (MiniLM in the default ensemble) puts any two English texts nearer than an
    English and a German phrasing of one question, and any two German texts near each other, which
    splits topics by language and merges German questions that share a word."""
    from deflect.embedder import multilingual_columns

    model = _model_name(deflector)
    dim = next((m.shape[1] for m in matrices if m.ndim == 2 and len(m)), None)
    if not model or dim is None or (english is not None and english >= ENGLISH_DESK):
        return list(matrices)
    cols = multilingual_columns(str(model), dim)
    if len(cols) == dim:
        return list(matrices)
    out = []
    for m in matrices:
        if m.ndim != 2 or m.shape[1] != dim:
            out.append(m)
            continue
        part = np.ascontiguousarray(m[:, cols], dtype=np.float32)
        out.append(part / np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-12))
    return out


def _model_name(deflector) -> str | None:
    """The embedding model of the index (or, without one, the model the store was set up with)."""
    return getattr(getattr(deflector, "bundle", None), "model", None) or deflector.store.get_setting("model")


def fingerprint(deflector) -> str:
    """What the engine's judgements depend on: model, articles, calibration."""
    store = deflector.store
    cal = store.get_setting("calibration") or {}
    data = [_model_name(deflector), sorted(store.article_hashes().items()), cal.get("threshold"), cal.get("fitted_at")]
    return hashlib.sha1(json.dumps(data, default=str).encode()).hexdigest()[:16]


def _cached_rows(store, keys: list[str] | None = None) -> dict[str, dict]:
    cols = "key, text_hash, vector, fingerprint, decision, confidence, article_id, topic_id"
    if keys is None:
        cur = store.db.execute(f"select {cols} from gap_items")
        return {r[0]: dict(zip(cols.split(", "), r, strict=False)) for r in cur}
    out = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        cur = store.db.execute(f"select {cols} from gap_items where key in ({','.join('?' * len(chunk))})", chunk)
        out.update({r[0]: dict(zip(cols.split(", "), r, strict=False)) for r in cur})
    return out


def _vectors(deflector, items: list[Item], cached: dict[str, dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Item vectors: from the index (tickets), the store's embedding cache (shared with the engine),
    the gap cache, or embedded now (and put into the embedding cache). Returns (vectors, rows not seen
    by an earlier run, rows whose vector only the gap cache can keep: the model is unknown)."""
    store = deflector.store
    hashes = [_text_hash(it.text) for it in items]
    seen = np.array([bool(cached.get(it.key)) and cached[it.key]["text_hash"] == h for it, h in zip(items, hashes,
                                                                                                   strict=True)],
                    bool).reshape(len(items))
    out: list[np.ndarray | None] = [None] * len(items)
    bundle = getattr(deflector, "bundle", None)
    model = _model_name(deflector)
    if bundle is not None and hasattr(bundle, "load_embeddings"):
        from deflect.index.documents import TICKET
        from deflect.index.documents import text_hash as _hash
        emb = bundle.load_embeddings(deflector.home.index_dir)
        if emb is not None:
            pos = {str(r): p for p, (r, k) in enumerate(zip(bundle.ref, bundle.kind, strict=True)) if k == TICKET}
            for i, it in enumerate(items):
                p = pos.get(it.id) if it.source == "ticket" else None
                if p is not None and bundle.hashes[p] == _hash(it.text):
                    out[i] = np.asarray(emb[p], dtype=np.float32)
    for i, it in enumerate(items):
        row = cached.get(it.key)
        if out[i] is None and seen[i] and row["vector"]:
            out[i] = np.frombuffer(row["vector"], dtype=np.float32)
    todo = [i for i, v in enumerate(out) if v is None]
    if todo and model:
        keys = [store.embedding_key(model, items[i].text) for i in todo]
        found = store.cached_embeddings(keys)
        for i, key in zip(todo, keys, strict=True):
            if key in found:
                out[i] = found[key]
        todo = [i for i, v in enumerate(out) if v is None]
    for start in range(0, len(todo), 512):
        part = todo[start:start + 512]
        vecs = np.asarray(deflector.embed([items[i].text for i in part]), np.float32)
        for i, v in zip(part, vecs, strict=True):
            out[i] = v
        if model:
            store.cache_embeddings({store.embedding_key(model, items[i].text): v for i, v in zip(part, vecs,
                                                                                                strict=True)})
    keep = np.full(len(items), not model, bool)
    if not items:
        return np.zeros((0, 1), np.float32), ~seen, keep
    V = np.vstack([np.asarray(v, np.float32) for v in out])
    V /= np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-12)
    return V, ~seen, keep


def _judge(deflector, items: list[Item], V: np.ndarray, rows: np.ndarray) -> list[tuple[str, float, str | None]]:
    """The engine's decision for ``rows`` of items (tickets without themselves)."""
    out = []
    for start in range(0, len(rows), 2048):
        part = rows[start:start + 2048]
        texts = [items[i].text for i in part]
        exclude = [items[i].id if items[i].source == "ticket" else None for i in part]
        for s in deflector.suggest_batch(texts, k=1, exclude_tickets=exclude, vectors=V[part]):
            out.append((s.decision, float(s.confidence), s.articles[0].id if s.articles else None))
    return out


def _judgements(deflector, items: list[Item], V: np.ndarray, cached: dict[str, dict], fp: str,
                articles: set[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(decision, confidence, article, changed) per item; re-judges only what the cache lacks."""
    n = len(items)
    decision = np.empty(n, dtype=object)
    confidence = np.zeros(n)
    article = np.full(n, None, dtype=object)
    changed = np.zeros(n, bool)
    todo = []
    since = _judged_since(deflector)
    for i, it in enumerate(items):
        if it.linked and it.linked in articles:
            decision[i], confidence[i], article[i] = "linked", 1.0, it.linked
            row = cached.get(it.key)
            changed[i] = not row or row["decision"] != "linked" or row["article_id"] != it.linked
            continue
        row = cached.get(it.key)
        if row and row["fingerprint"] == fp and row["text_hash"] == _text_hash(it.text) and row["decision"] in (
                "answer", "no_answer"):
            decision[i], confidence[i], article[i] = row["decision"], row["confidence"] or 0.0, row["article_id"]
        elif _logged_is_current(it, since, articles):
            # what the customer got when it was logged, with today's index and calibration
            decision[i], confidence[i], article[i] = it.logged_decision, it.logged_confidence or 0.0, it.logged_article
            changed[i] = True
        else:
            todo.append(i)
    if todo:
        rows = np.array(todo)
        for i, (d, c, a) in zip(rows, _judge(deflector, items, V, rows), strict=False):
            decision[i], confidence[i], article[i] = d, c, a
            changed[i] = True
    return decision, confidence, article, changed


def _judged_since(deflector) -> datetime | None:
    """Since when the engine decides as it does today: the last article change or calibration.
    (Index rebuilds that only add tickets barely move the decision and are not counted.)"""
    store = deflector.store
    cal = store.get_setting("calibration") or {}
    last_article = store.db.execute("select max(updated_at) from articles").fetchone()[0]
    times = [t for t in (_parse_time(last_article), _parse_time(cal.get("fitted_at"))) if t]
    if not times or getattr(deflector, "bundle", None) is None:
        return None
    return max(times)


def _logged_is_current(item: Item, since: datetime | None, articles: set[str]) -> bool:
    if since is None or item.source != "inquiry" or item.logged_decision not in ("answer", "no_answer"):
        return False
    if item.logged_decision == "answer" and item.logged_article not in articles:
        return False
    logged = _parse_time(item.created_at)
    return logged is not None and logged > since   # same second: unknown order, judge again


def _article_docs(deflector) -> tuple[np.ndarray, list[str], dict[str, str]]:
    """Vectors of the article documents (titles, questions, bodies), their article ids, and titles."""
    store = deflector.store
    titles = {r[0]: r[1] for r in store.db.execute("select id, title from articles")}
    bundle = getattr(deflector, "bundle", None)
    if bundle is not None and getattr(bundle, "article_vectors", None) is not None:
        positions = bundle.article_positions
        vecs = np.asarray(bundle.article_vectors, np.float32)
        ids = [bundle.article_ids[s] for s in bundle.seed[positions]]
        if len(ids) == len(vecs):
            keep = [i for i, a in enumerate(ids) if a in titles]
            return vecs[keep], [ids[i] for i in keep], titles
    docs, ids = [], []
    for a in store.articles():
        for text in [a.title, *a.questions]:
            docs.append(text)
            ids.append(a.id)
    vecs = deflector.embed(docs) if docs else np.zeros((0, 1), np.float32)
    return np.asarray(vecs, np.float32), ids, titles


# -- the report ------------------------------------------------------------------------------------
def build_report(deflector, min_size: int = MIN_SIZE, period_days: int = PERIOD_DAYS,
                 statuses: tuple[str, ...] | None = OPEN, now: datetime | None = None,
                 estimator: GapReport | None = None, persist: bool = True) -> dict:
    """Judge new items, cluster, keep topic ids stable, persist, and return the JSON-able report:
    ``{"generated_at", "params", "counts", "topics": [...], "not_found": [...]}``.
    ``statuses`` selects the topics listed (None: all)."""
    if min_size < 2:
        raise InputError(f"min_size must be at least 2 (got {min_size})")
    store = deflector.store
    now = now or utcnow()
    est = estimator or GapReport(min_size=min_size)
    min_size = est.min_size
    items = load_items(store)
    fp = fingerprint(deflector)
    cached = _cached_rows(store)
    articles = store.article_ids()
    V, fresh, keep = _vectors(deflector, items, cached)
    decision, confidence, article, changed = _judgements(deflector, items, V, cached, fp, articles)
    A, a_ids, titles = _article_docs(deflector)
    Vg, Ag = gap_space(deflector, V, A, english=english_share(items))
    topics = {r["id"]: r for r in store.db["gap_topics"].rows} if "gap_topics" in store.db.table_names() else {}
    n = len(items)
    candidate = np.array([d == "no_answer" for d in decision], bool) & (confidence < NEAR_MISS)
    # sticky membership: items stay in their topic; covered/dismissed topics keep theirs for good
    tid_of = [cached.get(it.key, {}).get("topic_id") for it in items]
    old_ids = sorted(topics)
    index_of = {t: k for k, t in enumerate(old_ids)}
    labels = np.array([index_of.get(t, -1) if t else -1 for t in tid_of], np.int64)
    closed = np.array([bool(t) and topics.get(t, {}).get("status") in ("covered", "dismissed") for t in tid_of])
    # candidates an earlier run found inside a covered region stay there while nothing changed
    settled = np.array([t == REGION and not (changed[i] or fresh[i]) for i, t in enumerate(tid_of)], bool)
    cand = (candidate & ~settled) | closed
    dim = Vg.shape[1] if n else (Ag.shape[1] if len(Ag) else 1)
    centroids = np.array([_stored_centroid(topics[t], dim) for t in old_ids], np.float32).reshape(len(old_ids), dim)
    X = np.vstack([Vg, Ag]) if n and len(Ag) else (Vg if n else Ag)
    pad = len(X) - n
    ev = np.r_[np.array([d in ("linked", "answer") for d in decision], bool), np.ones(pad, bool)]
    hard = np.r_[np.array([d == "linked" for d in decision], bool), np.ones(pad, bool)]
    ev_art = np.r_[article, np.array(a_ids, dtype=object)] if pad else article
    lab0 = np.r_[labels, np.full(pad, -1)]
    cand_all = np.r_[cand, np.zeros(pad, bool)]
    # evidence of old topics stays valid while the engine judges the same and the topic has not grown much
    known = {}
    for k, t in enumerate(old_ids):
        prev = json.loads(topics[t]["report"] or "{}").get("evidence") or {}
        if prev.get("fingerprint") == fp and prev.get("tested_size", 0) >= 0.8 * int((labels == k).sum()):
            known[k] = (prev["share"], prev["hard_share"], prev.get("article"), prev["tested_size"])
    if n:
        est.fit(X, cand_all, ev, ev_art, hard=hard, labels=lab0, centroids=centroids if len(old_ids) else None,
                known={k: v[:3] for k, v in known.items()}, new=np.r_[fresh | changed, np.zeros(pad, bool)])
        lab = est.labels_[:n]
    else:
        est.labels_, est.sizes_ = np.zeros(0, np.int64), np.zeros(0, np.int64)
        est.is_gap_, est.evidence_share_, est.hard_share_ = np.zeros(0, bool), np.zeros(0), np.zeros(0)
        est.threshold_ = DISTANCE if est.distance_threshold == "auto" else float(est.distance_threshold)
        est.evidence_article_, est.centroids_, est.n_existing_ = np.zeros(0, object), np.zeros((0, 1)), 0
        est.rejected_ = np.zeros(0, bool)
        lab = est.labels_
    # map clusters to topic ids
    ids: dict[int, str] = {}
    active: set[str] = set()
    next_id = int(store.get_setting("gaps_next_id", 1))
    for k, t in enumerate(old_ids):
        status = topics[t]["status"]
        if status in ("covered", "dismissed", "planned") or (est.sizes_[k] > 0 and est.is_gap_[k]):
            ids[k] = t
            if status in OPEN and est.sizes_[k] > 0:
                active.add(t)
    released = {k for k, t in enumerate(old_ids) if k not in ids}
    inactive = [t for t in old_ids if topics[t]["status"] == "new" and t not in active]
    for k in range(est.n_existing_, len(est.sizes_)):
        if not est.is_gap_[k]:
            continue
        reuse = None
        if inactive:
            sims = [float(est.centroids_[k] @ _stored_centroid(topics[t], len(est.centroids_[k])))
                    if topics[t]["centroid"] else -1.0 for t in inactive]
            j = int(np.argmax(sims))
            if sims[j] >= REUSE_SIMILARITY:
                reuse = inactive.pop(j)
        if reuse is None:
            reuse = f"G-{next_id:04d}"
            next_id += 1
        ids[k] = reuse
        active.add(reuse)
    topic_of = [ids.get(int(k)) if k >= 0 and int(k) not in released else None for k in lab]
    for i in np.flatnonzero(settled | est.rejected_[:n]):
        topic_of[i] = topic_of[i] or REGION
    report_topics = []
    texts = [it.text for it in items]
    keywords = _keywords(texts, lab, [k for k in ids if est.sizes_[k] > 0])
    members_of: dict[str, list[int]] = {}
    for i, t in enumerate(topic_of):
        if t and t != REGION:
            members_of.setdefault(t, []).append(i)
    entries: dict[str, dict] = {}
    for k, t in ids.items():
        rows = members_of.get(t, [])
        if not rows:
            continue
        entries[t] = _topic_entry(t, topics.get(t), rows, items, Vg, est.centroids_[k], keywords.get(k, []),
                                  Ag, a_ids, titles, now, period_days, decision, article)
        share, hard_share = float(est.evidence_share_[k]), float(est.hard_share_[k])
        entries[t]["evidence_share"] = None if np.isnan(share) else round(share, 3)
        entries[t]["evidence"] = None if np.isnan(hard_share) else {
            "share": share, "hard_share": hard_share, "article": est.evidence_article_[k], "fingerprint": fp,
            "tested_size": known[k][3] if k in known else len(rows)}
    in_topic = {k for k, t in ids.items() if (topics.get(t) or {}).get("status", "new") != "covered"}
    questions = {a.id: {_norm(q) for q in [a.title, *a.questions]} for a in store.articles()}
    Vs, As = Vg, Ag
    if n and getattr(est, "projection_", None) is not None:  # large inputs: search in the reduced space
        Vs, As = est.project(Vg), (est.project(Ag) if len(Ag) else Ag)
    not_found = _not_found(items, Vs, lab, in_topic, decision, article, titles, As, a_ids,
                           floor=1.0 - est.threshold_, questions=questions)
    if persist:
        _persist(store, items, V, fresh, keep, decision, confidence, article, changed, fp, topic_of, tid_of,
                 entries, topics, active, ids, est, now, next_id)
        topics = {r["id"]: r for r in store.db["gap_topics"].rows}
    listed = []
    for t, entry in entries.items():
        status = (topics.get(t) or {}).get("status", "new")
        if statuses is not None and status not in statuses:
            continue
        if status == "new" and entry["size"] < min_size:
            continue
        listed.append(_with_workflow(entry, topics.get(t), now))
    # planned topics with no current members (e.g. items pruned) still show, from their last report
    for t, row in topics.items():
        if t in entries or (statuses is not None and row["status"] not in statuses):
            continue
        if row["status"] == "planned" or statuses is None or row["status"] in ("covered", "dismissed"):
            if row.get("report"):
                listed.append(_with_workflow(json.loads(row["report"]), row, now))
    listed.sort(key=lambda e: (not e.get("overdue", False), -e["size"], e["id"]))
    report_topics = listed
    counts = {
        "items": n, "tickets": sum(it.source == "ticket" for it in items),
        "inquiries": sum(it.source == "inquiry" for it in items),
        "linked": int(sum(d == "linked" for d in decision)),
        "answered": int(sum(d == "answer" for d in decision)),
        "not_answered": int(candidate.sum()), "judged_now": int(changed.sum()),
        "in_covered_regions": sum(t == REGION for t in topic_of),
        "topics": len(report_topics),
    }
    return {"generated_at": _iso(now), "params": {"min_size": min_size, "period_days": period_days,
                                                  "distance_threshold": est.threshold_,
                                                  "max_evidence_share": est.max_evidence_share,
                                                  "near_miss": NEAR_MISS},
            "counts": counts, "topics": report_topics, "not_found": not_found}


def _keywords(texts: list[str], lab: np.ndarray, clusters: list[int], top: int = 4) -> dict[int, list[str]]:
    """Distinctive words per cluster: mean TF-IDF in the cluster minus the mean over all texts."""
    if not clusters:
        return {}
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    rows = np.flatnonzero(np.isin(lab, clusters))
    rng = np.random.default_rng(0)
    others = np.setdiff1d(np.arange(len(texts)), rows)
    if len(others) > 20000:
        others = rng.choice(others, 20000, replace=False)
    pool = np.r_[rows, others]
    stop = sorted(set(ENGLISH_STOP_WORDS) | _DE_STOP)
    vec = TfidfVectorizer(token_pattern=_WORD.pattern, stop_words=stop, min_df=2, sublinear_tf=True,
                          max_features=50000)
    try:
        M = vec.fit_transform([texts[i] for i in pool])
    except ValueError:  # empty vocabulary
        return {}
    vocab = np.array(vec.get_feature_names_out())
    background = np.asarray(M.mean(axis=0)).ravel()
    where = {int(r): j for j, r in enumerate(pool)}
    out = {}
    for c in clusters:
        sel = [where[i] for i in np.flatnonzero(lab == c) if i in where]
        if not sel:
            continue
        score = np.asarray(M[sel].mean(axis=0)).ravel() - background
        order = np.argsort(-score)[:top]
        out[c] = [str(vocab[j]) for j in order if score[j] > 0]
    return out


_QUESTION_START = re.compile(r"^(how|what|why|when|where|which|who|can|could|do|does|did|is|are|will|would|"
                             r"should|may|wie|was|warum|wann|wo|welche[rsmn]?|wer|kann|können|könnte|muss|"
                             r"darf|ist|sind|gibt|habe|hat|wird|werde)\b", re.IGNORECASE)


_HELLO = r"hi|hello|hallo|hey|moin|servus|guten (?:morgen|tag|abend)|good (?:morning|afternoon|evening)"
_ADDRESS = r"liebe[sr]? [^,.!?:]{0,40}|sehr geehrte[rs]? [^,.!?:]{0,60}|dear [^,.!?:]{0,40}|to whom it may concern"
_GREETING = re.compile(rf"^(?:{_HELLO}|{_ADDRESS})[,!.:]?$", re.IGNORECASE)            # a line of its own
_GREETING_START = re.compile(rf"^(?:(?:{_HELLO})[,!.:]?|(?:{_ADDRESS})[,!.:])\s+", re.IGNORECASE)


def headline(text: str) -> str:
    """What a ticket or inquiry is about, in one line: the first sentence of its first line that is
    not a greeting (a ticket's subject comes first), at most about 90 characters."""
    lines = [re.sub(r"\s+", " ", line).strip().strip("\"'") for line in text.splitlines()]
    lines = [line for line in lines if line and not _GREETING.match(line)]
    first = lines[0] if lines else ""
    first = _GREETING_START.sub("", first)
    sentences = [x for x in re.split(r"(?<=[.!?])\s+", first) if len(x.split()) >= 2]
    first = sentences[0] if sentences else first
    first = first.rstrip(" .!?")
    if len(first) > 90:
        first = first[:90].rsplit(" ", 1)[0] + "…"
    return first


def _about(item: Item) -> str:
    """The text a headline is taken from: a ticket's subject first if it has a few words; a one-word
    subject ("Kreuzworträtsel") says less than the body's first sentence."""
    subject = item.subject or ""
    if len(subject.split()) >= 2:
        return f"{subject}\n{item.text}"
    if subject and item.text.startswith(subject):
        return item.text[len(subject):].strip() or item.text
    return item.text


def suggest_title(question: str, language: str | None) -> str:
    """An article title from the most representative customer question (no language model)."""
    first = headline(question)
    if not first:
        return "FAQ"
    first = first[0].upper() + first[1:]
    if _QUESTION_START.match(first):
        return first + "?"
    return f"Hilfe: {first}" if (language or "") == "de" else f"Help: {first}"


def _topic_entry(tid: str, row: dict | None, rows: list[int], items: list[Item], V: np.ndarray,
                 centroid: np.ndarray, keywords: list[str], A: np.ndarray, a_ids: list[str],
                 titles: dict[str, str], now: datetime, period_days: int, decision, article) -> dict:
    members = [items[i] for i in rows]
    sims = V[rows] @ centroid
    order = np.argsort(-sims)
    languages = Counter((m.language or detect_language(m.text)) for m in members)
    language = languages.most_common(1)[0][0]
    first = members[int(order[0])]
    rep = first.text
    about = _about(first)
    examples, seen = [], set()
    for j in order:
        t = members[int(j)].text
        norm = re.sub(r"\W+", " ", t.lower()).strip()
        if norm in seen:
            continue
        seen.add(norm)
        examples.append({"source": members[int(j)].source, "id": members[int(j)].id, "text": t[:300]})
        if len(examples) == 5:
            break
    times = [t for t in (_parse_time(m.created_at) for m in members) if t]
    start = now - timedelta(days=period_days)
    this = sum(start < t <= now for t in times)
    prev = sum(start - timedelta(days=period_days) < t <= start for t in times)
    direction = ("new" if prev == 0 and this > 0 else "rising" if this > 1.25 * prev else
                 "falling" if this < 0.8 * prev else "steady")
    nearest = None
    if len(A):
        s = A @ centroid
        j = int(np.argmax(s))
        nearest = {"id": a_ids[j], "title": titles.get(a_ids[j], a_ids[j]), "score": round(float(s[j]), 4)}
    answered = Counter(article[i] for i in rows if decision[i] == "answer" and article[i])
    label_kw = ", ".join(keywords[:3])
    head = headline(about) or rep
    label = f"{label_kw}: {head}" if label_kw else head
    if len(label) > 120:
        label = label[:119].rsplit(" ", 1)[0] + "…"
    return {
        "id": tid, "label": label, "keywords": keywords, "representative": rep,
        "suggested_title": suggest_title(about, language), "language": language, "size": len(members),
        "sources": {"ticket": sum(m.source == "ticket" for m in members),
                    "inquiry": sum(m.source == "inquiry" for m in members),
                    "channels": dict(Counter(m.channel or "unknown" for m in members).most_common()),
                    "languages": dict(languages.most_common())},
        "first_seen": _iso(min(times)) if times else None, "last_seen": _iso(max(times)) if times else None,
        "trend": {"this_period": this, "previous_period": prev, "direction": direction,
                  "period_days": period_days},
        "examples": examples, "nearest_article": nearest,
        "answered_with": dict(answered.most_common(3)),
        "members": [{"source": m.source, "id": m.id} for m in members],
        "status": (row or {}).get("status", "new"),
    }


def _with_workflow(entry: dict, row: dict | None, now: datetime) -> dict:
    row = row or {}
    entry = dict(entry)
    status = row.get("status") or entry.get("status") or "new"
    due = row.get("due")
    entry.update({
        "status": status, "owner": row.get("owner"), "due": due, "reason": row.get("reason"),
        "overdue": bool(status == "planned" and due and due < now.date().isoformat()),
        "created_at": row.get("created_at"), "planned_at": row.get("planned_at"),
        "covered_at": row.get("covered_at"), "covered_by": row.get("covered_by"),
        "time_to_coverage_days": row.get("time_to_coverage_days"), "dismissed_at": row.get("dismissed_at"),
    })
    return entry


def _not_found(items: list[Item], V: np.ndarray, lab: np.ndarray, in_topic: set[int], decision, article,
               titles: dict[str, str], A: np.ndarray, a_ids: list[str], k: int = 10,
               min_votes: float = 0.6, floor: float = 0.5,
               questions: dict[str, set[str]] | None = None) -> list[dict]:
    """Inquiries that got no answer or a wrong article although agents resolved the same kind of
    ticket with an existing article: grouped per article, with the phrasings to add to its questions."""
    linked = np.array([d == "linked" for d in decision], bool)
    gap_rows = np.array([int(lab[i]) in in_topic for i in range(len(items))], bool)
    look = [i for i, it in enumerate(items) if it.source == "inquiry" and not gap_rows[i]
            and (it.logged_decision == "no_answer" or decision[i] == "no_answer"
                 or (it.logged_article and it.logged_article != article[i]))]
    if not look or not (linked.any() or len(A)):
        return []
    E = np.vstack([V[linked], A]) if len(A) else V[linked]
    e_art = np.r_[np.array([items[i].linked for i in np.flatnonzero(linked)], dtype=object),
                  np.array(a_ids, dtype=object)]
    kk = min(k, len(E))
    groups: dict[str, dict] = {}
    for start in range(0, len(look), 1024):
        part = np.array(look[start:start + 1024])
        sims = V[part] @ E.T
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        for row, i in enumerate(part):
            nb = top[row]
            w = np.maximum(sims[row, nb], 0) ** 4
            votes: Counter = Counter()
            for a, x in zip(e_art[nb], w, strict=False):
                votes[a] += float(x)
            if not votes:
                continue
            best, mass = votes.most_common(1)[0]
            it = items[i]
            if mass < min_votes * sum(votes.values()) or best not in titles:
                continue
            if max(float(x) for a, x in zip(e_art[nb], sims[row, nb], strict=True) if a == best) < floor:
                continue  # nothing the agents answered with that article is as close as a topic's members
            reason = "no_answer" if (it.logged_decision or decision[i]) == "no_answer" else "wrong_article"
            if reason == "wrong_article" and (it.logged_article or article[i]) == best:
                continue
            g = groups.setdefault(best, {"article_id": best, "title": titles.get(best, best), "count": 0,
                                         "reasons": Counter(), "inquiries": [], "phrasings": [], "_seen": set()})
            g["count"] += 1
            g["reasons"][reason] += 1
            g["inquiries"].append(it.id)
            norm = _norm(it.text)
            known = (questions or {}).get(best, set())
            if norm not in g["_seen"] and norm not in known and len(g["phrasings"]) < 10:
                g["_seen"].add(norm)
                g["phrasings"].append(it.text[:300])
    out = []
    for g in sorted(groups.values(), key=lambda g: (-g["count"], g["article_id"])):
        g.pop("_seen")
        g["reasons"] = dict(g["reasons"])
        out.append(g)
    return out


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def _persist(store, items, V, fresh, keep, decision, confidence, article, changed, fp, topic_of, tid_of, entries,
             topics, active, ids, est, now, next_id) -> None:
    stamp = _iso(now)
    rows = []
    for i, it in enumerate(items):
        if not (fresh[i] or changed[i] or topic_of[i] != tid_of[i]):
            continue
        rows.append({"key": it.key, "source": it.source, "item_id": it.id, "text_hash": _text_hash(it.text),
                     "vector": np.asarray(V[i], np.float32).tobytes() if keep[i] else None, "fingerprint": fp,
                     "decision": decision[i], "confidence": float(confidence[i]), "article_id": article[i],
                     "topic_id": topic_of[i], "updated_at": stamp})
    with store.db.conn:
        if rows:
            store.db["gap_items"].upsert_all(rows, pk="key", batch_size=1000)
        keys = {it.key for it in items}
        gone = [r[0] for r in store.db.execute("select key from gap_items") if r[0] not in keys]
        for start in range(0, len(gone), 500):
            chunk = gone[start:start + 500]
            store.db.execute(f"delete from gap_items where key in ({','.join('?' * len(chunk))})", chunk)
        store.db.execute("update gap_topics set active = 0")
        centroid_of = {t: est.centroids_[k] for k, t in ids.items()}
        for t, entry in entries.items():
            old = topics.get(t)
            row = {"id": t, "active": int(t in active), "label": entry["label"],
                   "title": entry["suggested_title"], "keywords": json.dumps(entry["keywords"], ensure_ascii=False),
                   "representative": entry["representative"], "language": entry["language"],
                   "size": entry["size"], "centroid": np.asarray(centroid_of[t], np.float32).tobytes(),
                   "report": json.dumps(entry, ensure_ascii=False), "updated_at": stamp,
                   "first_seen": entry["first_seen"], "last_seen": entry["last_seen"]}
            if old is None:
                row.update(status="new", created_at=stamp)
                store.db["gap_topics"].insert(row, pk="id")
                _event(store, t, "created", {"size": entry["size"]}, stamp)
            else:
                store.db["gap_topics"].update(t, row)
        store.set_setting("gaps_next_id", next_id)


def _event(store, topic_id: str, action: str, detail: dict, at: str) -> None:
    store.db["gap_events"].insert({"topic_id": topic_id, "at": at, "action": action,
                                   "detail": json.dumps(detail, ensure_ascii=False)})


# -- workflow --------------------------------------------------------------------------------------
def _row(store, topic_id: str) -> dict:
    topic_id = (topic_id or "").strip()
    row = None
    if "gap_topics" in store.db.table_names():
        row = store.db.execute("select * from gap_topics where id = ? collate nocase", [topic_id]).fetchone()
    if row is None:
        raise NotFoundError(f"no topic {topic_id} (run `deflect gaps` to list topics)",
                            hint="Topic ids look like G-0001; `deflect gaps --status all` lists every topic.")
    cols = [c.name for c in store.db["gap_topics"].columns]
    return dict(zip(cols, row, strict=False))


def _public(row: dict, now: datetime | None = None) -> dict:
    now = now or utcnow()
    entry = json.loads(row["report"]) if row.get("report") else {"id": row["id"], "label": row.get("label"),
                                                                 "size": row.get("size") or 0, "members": []}
    return _with_workflow(entry, row, now)


def get_topic(store, topic_id: str) -> dict:
    """One topic with its last report entry and workflow state; NotFoundError if unknown."""
    return _public(_row(store, topic_id))


def list_topics(store, statuses: tuple[str, ...] | None = None, now: datetime | None = None) -> list[dict]:
    """Stored topics (without re-running the report), overdue first, then by size."""
    if "gap_topics" not in store.db.table_names():
        return []
    out = [_public(r, now) for r in store.db["gap_topics"].rows if statuses is None or r["status"] in statuses]
    return sorted(out, key=lambda e: (not e["overdue"], -(e.get("size") or 0), e["id"]))


def parse_due(value: str) -> date:
    """A due date YYYY-MM-DD; InputError otherwise."""
    try:
        return date.fromisoformat(str(value).strip())
    except (TypeError, ValueError):
        raise InputError(f"due date {value!r} is not a date of the form YYYY-MM-DD",
                         hint="For example --due 2025-07-31.") from None


class TopicStateError(DeflectError):
    """The topic's status does not allow this step (e.g. planning a dismissed topic)."""

    status = 409


def _transition(store, topic_id: str, action: str, allowed: tuple[str, ...], changes: dict,
                detail: dict, now: datetime | None) -> dict:
    row = _row(store, topic_id)
    if row["status"] not in allowed:
        raise TopicStateError(f"topic {row['id']} is {row['status']}; cannot {action} it",
                           hint="`deflect gaps reopen ID` puts a covered or dismissed topic back to new."
                           if row["status"] in ("covered", "dismissed") else None)
    stamp = _iso(now or utcnow())
    with store.db.conn:
        store.db["gap_topics"].update(row["id"], {**changes, "updated_at": stamp})
        _event(store, row["id"], action, {"from": row["status"], **detail}, stamp)
    return get_topic(store, row["id"])


def plan(store, topic_id: str, owner: str, due: str | date, now: datetime | None = None) -> dict:
    """new|planned -> planned: someone will write the article by ``due``."""
    owner = (owner or "").strip()
    if not owner:
        raise InputError("a planned topic needs an owner", hint="Pass --owner NAME.")
    due_date = due if isinstance(due, date) else parse_due(due)
    stamp = _iso(now or utcnow())
    row = _row(store, topic_id)
    planned_at = row["planned_at"] if row["status"] == "planned" and row["planned_at"] else stamp
    return _transition(store, topic_id, "plan", ("new", "planned"),
                       {"status": "planned", "owner": owner, "due": due_date.isoformat(), "planned_at": planned_at},
                       {"owner": owner, "due": due_date.isoformat()}, now)


def dismiss(store, topic_id: str, reason: str, now: datetime | None = None) -> dict:
    """new|planned -> dismissed (with the reason why no article will be written)."""
    reason = (reason or "").strip()
    if not reason:
        raise InputError("dismissing a topic needs a reason", hint="Pass --reason TEXT.")
    return _transition(store, topic_id, "dismiss", ("new", "planned"),
                       {"status": "dismissed", "reason": reason, "dismissed_at": _iso(now or utcnow())},
                       {"reason": reason}, now)


def reopen(store, topic_id: str, now: datetime | None = None) -> dict:
    """covered|dismissed -> new."""
    return _transition(store, topic_id, "reopen", ("covered", "dismissed"),
                       {"status": "new", "reason": None, "dismissed_at": None, "covered_at": None,
                        "covered_by": None, "time_to_coverage_days": None, "owner": None, "due": None,
                        "planned_at": None}, {}, now)


def has_open_topics(store) -> bool:
    """Whether any topic is new or planned (cheap: lets callers skip loading the engine)."""
    if "gap_topics" not in store.db.table_names():
        return False
    return store.db.execute("select 1 from gap_topics where status in ('new', 'planned') limit 1").fetchone() \
        is not None


def check_coverage(deflector, now: datetime | None = None, share: float = COVER_SHARE) -> list[str]:
    """Mark open topics covered when the engine now answers their members with an article (or an
    article lies inside the topic). Call after every index build and article upsert; returns the ids."""
    store = deflector.store
    if "gap_topics" not in store.db.table_names():
        return []
    open_topics = [r for r in store.db["gap_topics"].rows_where("status in ('new', 'planned')")]
    if not open_topics:
        return []
    now = now or utcnow()
    fp = fingerprint(deflector)
    articles = store.article_ids()
    A, a_ids, titles = _article_docs(deflector)
    covered = []
    all_items = {it.key: it for it in load_items(store)}
    english = english_share(list(all_items.values()))
    Ag = gap_space(deflector, A, english=english)[0]
    for row in open_topics:
        keys = [r[0] for r in store.db.execute("select key from gap_items where topic_id = ?", [row["id"]])]
        if not keys:
            continue
        cached = _cached_rows(store, keys)
        items = [all_items[k] for k in keys if k in all_items]
        if not items:
            continue
        V, _, _ = _vectors(deflector, items, cached)
        decision, confidence, article, changed = _judgements(deflector, items, V, cached, fp, articles)
        V = gap_space(deflector, V, english=english)[0]
        answered = Counter(article[i] for i in range(len(items)) if decision[i] in ("answer", "linked")
                           and article[i] in articles)
        by = None
        if answered and sum(answered.values()) >= share * len(items):
            by = answered.most_common(1)[0][0]
        elif len(A):
            # an article whose own documents sit inside the topic covers it, even before re-indexing
            centroid = V.mean(axis=0)
            centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
            radius = float(np.median(V @ centroid))
            s = Ag @ centroid
            j = int(np.argmax(s))
            if s[j] >= radius:
                by = a_ids[j]
        stamp = _iso(now)
        with store.db.conn:
            for i, it in enumerate(items):
                if changed[i]:
                    store.db["gap_items"].update(it.key, {"fingerprint": fp, "decision": decision[i],
                                                          "confidence": float(confidence[i]),
                                                          "article_id": article[i], "updated_at": stamp})
            if by is None:
                continue
            since = _parse_time(row["planned_at"]) or _parse_time(row["created_at"]) or now
            days = round((now - since).total_seconds() / 86400, 2)
            store.db["gap_topics"].update(row["id"], {"status": "covered", "covered_by": by, "covered_at": stamp,
                                                      "time_to_coverage_days": days, "updated_at": stamp})
            _event(store, row["id"], "covered", {"from": row["status"], "article_id": by, "days": days}, stamp)
        covered.append(row["id"])
    return covered


def overdue_topics(store, now: datetime | None = None) -> list[dict]:
    """Planned topics whose due date has passed."""
    return [t for t in list_topics(store, ("planned",), now) if t["overdue"]]


__all__ = ["GapReport", "TopicStateError", "build_report", "check_coverage", "has_open_topics", "plan", "dismiss",
           "reopen", "get_topic", "list_topics", "overdue_topics", "parse_due", "suggest_title", "fingerprint",
           "load_items", "MIN_SIZE", "STATUSES", "OPEN"]
