"""What deflect learned from feedback, as a bounded boost per (neighbourhood, article).

Every piece of evidence is a phrasing (its embedding), an article and a signed weight (helpful, an
agent's choice, a ticket resolved with the article: positive; not helpful, or passed over for an article
shown below it that was voted helpful: negative). For an inquiry,
the evidence whose phrasing is within ``similarity`` of it counts, the nearer the more; an article's
score rises by at most ``max_boost * tanh(net / scale)`` of its summed weight and falls by at most
``max_drop * tanh(net / scale)``, so it is bounded whatever the amount of evidence. For the answer
decision the same evidence about the first article is a log-likelihood ratio added to the calibrated
confidence's log-odds (``log_odds``). The guards, so that one session or one client cannot move an
article:

- each session's weight for an article is capped (``session_cap``), and each client's (``client_cap``);
- an article is raised only where at least ``min_sessions`` distinct sessions (customers' votes: from
  as many distinct clients) said it helped in the inquiry's neighbourhood, and lowered only where
  ``min_sessions_down`` said it did not (each direction on its own: a few sessions flooding one
  direction cannot borrow the support of honest votes the other way);
- weights decay with age (``half_life_days``).

Staff evidence (``STAFF_KINDS``: an agent's choice in the agent console, a ticket resolved with an
article) counts by its own rule. Its source is authenticated and accountable: an agent's choice comes
with the agent's own key, a resolved ticket is a closed case in the help desk's record, and neither can
be sent by a customer. The voice is the agent (the key) or the resolved ticket, not the address: an
article is raised on staff evidence where at least ``min_staff_voices`` distinct voices (two: one agent
alone never moves an article, two agreeing do) chose it in the inquiry's neighbourhood for as many distinct
customers (an agent's choice for an inquiry and the ticket it became are one case), and each voice's
near-weighted weight for an article is capped there (``staff_cap``), so one busy agent counts as one
voice however many tickets they close. Eight distinct customers, the customer rule, could never gather
around a rare phrasing from the help desk: each customer who writes in is one ticket, and most
phrasings are asked a few times a month. A wrong choice by one agent is bounded by the cap and needs a
second voice to count at all; customer floods stay as powerless as before (staff evidence can only come
through an agent's key).

The guards scale with the harm a direction can do. Raising can put a wrong article in front of every
customer who asks like this, as a confident answer: that needs many independent voices. Lowering only
takes an article out of first place: the next candidate must still earn the answer with its own
retrieval evidence (and its own votes), so the worst it does is a suggestion instead of an answer. A
phrasing seldom asked gathers few votes, so lowering needs fewer sessions (still more than one session
or one client), and it is allowed to move an article behind the next one (``max_drop``, about a first
article's whole ranking score) where a raise stays small.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

STAFF_KINDS = ("agent_choice", "resolved")   # evidence kinds that come from the help desk, not a customer


@dataclass(frozen=True)
class LearningParams:
    similarity: float = 0.65      # evidence this similar to an inquiry (cosine) or more counts for it
    min_sessions: int = 8         # distinct sessions that must agree in a neighbourhood to raise an article
    min_sessions_down: int = 3    # ... to lower one (it never puts an article in front of a customer)
    session_cap: float = 1.0      # most weight one session gives one article
    client_cap: float = 3.0       # most weight one client (address) gives one article
    half_life_days: float = 90.0  # evidence counts half after this many days
    max_boost: float = 0.3        # the largest raise of an article's ranking score
    max_drop: float = 1.0         # the largest lowering: about a first article's whole score (median 1.25)
    scale: float = 3.0            # net weight at which a change reaches 76 % of its bound
    vote_error: float = 0.25      # how often a vote is taken to be mistaken (random, careless or false)
    min_staff_voices: int = 2     # distinct agents (or resolved tickets) that must agree to raise an article
    staff_cap: float = 3.0        # most near-weighted weight one agent (or ticket) gives one article there


class LearnedBoost:
    """Evidence ready to score: unit vectors, article ids, capped and decayed signed weights, and who
    gave it (sessions, and the client each counts as, see ``build``; without clients each session is
    its own)."""

    def __init__(self, vectors: np.ndarray, articles: list[str], weights: np.ndarray, sessions: list[str],
                 params: LearningParams, clients: list[str] | None = None, staff: np.ndarray | None = None):
        self.vectors = np.ascontiguousarray(vectors, np.float32).reshape(len(articles), -1)
        self.articles = list(articles)
        self.weights = np.asarray(weights, np.float32)
        self.params = params
        codes: dict[str, int] = {}
        self.sessions = np.array([codes.setdefault(s, len(codes)) for s in sessions], np.int64)
        self._n_sessions = max(1, len(codes))
        codes = {}
        self.clients = np.array([codes.setdefault(c, len(codes)) for c in (clients or sessions)], np.int64)
        self._n_clients = max(1, len(codes))
        self.staff = np.zeros(len(self.articles), bool) if staff is None else np.asarray(staff, bool)

    def __len__(self) -> int:
        return len(self.articles)

    @classmethod
    def build(cls, rows: list[dict], vectors: np.ndarray, params: LearningParams | None = None,
              now: datetime | None = None) -> LearnedBoost:
        """From evidence rows (``article_id``, ``weight``, ``session``, ``client``, ``created_at``, ``id``)
        and their phrasings' vectors: decay, then the caps per session and per client."""
        params = params or LearningParams()
        now = now or datetime.now(UTC)
        weights = np.array([float(r["weight"]) for r in rows], np.float32)
        for i, row in enumerate(rows):
            age = (now - datetime.fromisoformat(row["created_at"])).total_seconds() / 86400.0
            weights[i] *= 0.5 ** (max(0.0, age) / params.half_life_days)
        sessions = [r.get("session") or f"evidence:{r['id']}" for r in rows]
        clients = [r.get("client") or f"evidence:{r['id']}" for r in rows]
        staff = np.array([r.get("kind") in STAFF_KINDS for r in rows], bool)
        articles = [r["article_id"] for r in rows]
        # customers' votes: capped per session and per address, everywhere; staff evidence is capped per
        # voice (agent or ticket) where it is used, around each inquiry (``_staff_side``)
        own = weights
        for owners, cap in ((sessions, params.session_cap), (clients, params.client_cap)):
            weights = _capped(weights, [f"{o}\0{a}" for o, a in zip(owners, articles)], cap)
        weights = np.where(staff, own, weights).astype(np.float32)
        return cls(vectors, articles, weights, sessions, params, clients, staff)

    def _near(self, queries: np.ndarray) -> np.ndarray:
        """(n, len(self)): how near each piece of evidence is to each query, 0 (too far) to 1 (the same)."""
        p = self.params
        return np.clip((queries @ self.vectors.T - p.similarity) / (1.0 - p.similarity), 0.0, 1.0)

    def _sides(self, near: np.ndarray, cols: np.ndarray, n_articles: int) -> tuple[np.ndarray, np.ndarray]:
        """For one query's ``near`` row: the near-weighted mass of evidence for (``up``) and against
        (``down``) each article column, each counted only where enough distinct voices stand behind it.
        Customers' votes count per direction on their own, a voice being a session and no more than its
        distinct clients (one address opening many sessions is one voice); staff evidence adds to ``up``
        by its own rule (``_staff_side``)."""
        p = self.params
        hit = np.flatnonzero((near > 0) & (cols >= 0))
        customer, staff = hit[~self.staff[hit]], hit[self.staff[hit]]
        sides = []
        for side, needed in ((customer[self.weights[customer] > 0], p.min_sessions),
                             (customer[self.weights[customer] < 0], p.min_sessions_down)):
            if not len(side):
                sides.append(np.zeros(n_articles))
                continue
            support = self._customer_voices(cols, side, n_articles)
            mass = np.bincount(cols[side], weights=near[side] * np.abs(self.weights[side]), minlength=n_articles)
            sides.append(np.where(support >= needed, mass, 0.0))
        up, down = sides
        return up + self._staff_side(near, cols, staff[self.weights[staff] > 0], n_articles), down

    def _staff_side(self, near: np.ndarray, cols: np.ndarray, side: np.ndarray, n_articles: int) -> np.ndarray:
        """Staff evidence for each article column: each voice's (agent's or ticket's) near-weighted weight
        capped at ``staff_cap``, counted where ``min_staff_voices`` distinct voices agree."""
        if not len(side):
            return np.zeros(n_articles)
        p = self.params
        pairs = cols[side] * self._n_clients + self.clients[side]
        keys, inverse = np.unique(pairs, return_inverse=True)
        per_voice = np.minimum(np.bincount(inverse, weights=near[side] * self.weights[side]), p.staff_cap)
        mass = np.bincount(keys // self._n_clients, weights=per_voice, minlength=n_articles)
        # distinct voices, and no more than the distinct customers (sessions) they speak about: an agent's
        # choice for an inquiry and the ticket that inquiry became are one customer's case, one voice
        support = np.minimum(np.bincount(keys // self._n_clients, minlength=n_articles),
                             _distinct(cols[side], self.sessions[side], self._n_sessions, n_articles))
        return np.where(support >= p.min_staff_voices, mass, 0.0)

    def _columns(self, article_ids: list[str]) -> np.ndarray:
        column = {a: i for i, a in enumerate(article_ids)}
        return np.array([column.get(a, -1) for a in self.articles], np.int64)

    def boost(self, queries: np.ndarray, article_ids: list[str]) -> np.ndarray:
        """(n, len(article_ids)): the change of each article's score for each query vector."""
        out = np.zeros((len(queries), len(article_ids)), np.float32)
        if not len(self) or not len(article_ids):
            return out
        cols, p = self._columns(article_ids), self.params
        near = self._near(queries)
        for q in range(len(queries)):
            up, down = self._sides(near[q], cols, len(article_ids))
            net = up - down
            out[q] = np.where(net > 0, p.max_boost, p.max_drop) * np.tanh(net / p.scale)
        return out

    def log_odds(self, queries: np.ndarray, article_ids: list[str], first: np.ndarray) -> np.ndarray:
        """For each query, what the votes near it say about its first article (column ``first[i]``) being
        right, as a log-likelihood ratio to add to the log-odds of the calibrated confidence.

        A vote on a first-listed article is a direct observation of what the calibrated confidence
        estimates from retrieval evidence: whether that article is right for a phrasing like this. Taking
        a customer's vote to be mistaken with probability ``vote_error``, each helpful vote multiplies the
        odds that the article is right by ``(1 - vote_error) / vote_error`` and each "not helpful" divides
        them (Bayes' rule, votes of distinct sessions independent); so does each helpful vote for another
        article near it, since a phrasing like this one then had another right answer (where similar
        phrasings ask for different articles their votes cancel out). The votes count as in ``boost``:
        capped per session and client, decayed, weighted by nearness, and each direction only where enough
        distinct sessions voted that way (``min_sessions`` for, ``min_sessions_down`` against the first
        article), so a flood from a few sessions for an article says nothing; staff evidence counts as in
        ``boost`` too (capped per agent, from ``min_staff_voices`` agents)."""
        out = np.zeros(len(queries), np.float64)
        if not len(self) or not len(article_ids):
            return out
        cols, p = self._columns(article_ids), self.params
        per_vote = np.log((1.0 - p.vote_error) / p.vote_error)
        near = self._near(queries)
        for q in range(len(queries)):
            a = int(first[q])
            up, down = self._sides(near[q], cols, len(article_ids))
            net = up[a] - down[a] - (up.sum() - up[a])
            out[q] = per_vote * net
        return out

    def voices(self, query: np.ndarray, article_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """For one query vector: per article, the distinct customers' voices (sessions, no more than their
        distinct clients) whose votes near it said it helped, and those that said it did not; what
        ``min_sessions`` and ``min_sessions_down`` are compared with (staff evidence not counted)."""
        n = len(article_ids)
        if not len(self) or not n:
            return np.zeros(n, np.int64), np.zeros(n, np.int64)
        cols = self._columns(article_ids)
        hit = np.flatnonzero((self._near(query[None, :])[0] > 0) & (cols >= 0) & ~self.staff)
        return (self._customer_voices(cols, hit[self.weights[hit] > 0], n),
                self._customer_voices(cols, hit[self.weights[hit] < 0], n))

    def _customer_voices(self, cols: np.ndarray, side: np.ndarray, n_articles: int) -> np.ndarray:
        """Per article column: the distinct customers' voices among the evidence rows ``side``, a voice
        being a session and no more than their distinct clients (one address opening many sessions is one)."""
        return np.minimum(_distinct(cols[side], self.sessions[side], self._n_sessions, n_articles),
                          _distinct(cols[side], self.clients[side], self._n_clients, n_articles))

    def explain(self, query: np.ndarray, article_ids: list[str]) -> dict[str, float]:
        """The non-zero boosts for one query vector, by article id."""
        row = self.boost(query[None, :], article_ids)[0]
        return {a: round(float(v), 4) for a, v in zip(article_ids, row) if v}


def with_votes(confidence: np.ndarray, votes: np.ndarray) -> np.ndarray:
    """The confidence after the votes: ``votes`` (``LearnedBoost.log_odds``) added to its log-odds. In
    float64 and as tanh, so that a confidence of 0 or 1 and any number of votes stay finite and quiet."""
    prior = np.clip(np.asarray(confidence, np.float64), 1e-9, 1 - 1e-9)
    return 0.5 * (1.0 + np.tanh((np.log(prior) - np.log1p(-prior) + np.asarray(votes, np.float64)) / 2))


def _distinct(cols: np.ndarray, owners: np.ndarray, n_owners: int, n_articles: int) -> np.ndarray:
    """Per article column: how many distinct owners (session or client codes) gave evidence."""
    pairs = np.unique(cols * n_owners + owners)
    return np.bincount(pairs // n_owners, minlength=n_articles)


def _capped(weights: np.ndarray, groups: list[str], cap: float) -> np.ndarray:
    """Weights scaled down per group so that each group's absolute total is at most ``cap``."""
    totals: dict[str, float] = {}
    for g, w in zip(groups, np.abs(weights)):
        totals[g] = totals.get(g, 0.0) + float(w)
    scale = np.array([min(1.0, cap / totals[g]) if totals[g] > 0 else 1.0 for g in groups], np.float32)
    return weights * scale
