"""The deflection engine's neighbour search: the index documents nearest to an inquiry that may vote for
an article, and the resolved tickets shown beside a suggestion.

Who does not vote: a ticket whose article is plausible but not known (``deflect.store.links.undecided_tickets``:
neither evidence for that article nor for a question without one), and the documents a caller excludes
(a ticket judged as if it were a new inquiry must not find itself).
"""
from __future__ import annotations

import numpy as np

from deflect.engine import TicketHit
from deflect.index import part_weights as parts
from deflect.index.bundle import IndexBundle
from deflect.index.documents import TICKET
from deflect.labels import NEIGHBOURS
from deflect.store import Store
from deflect.store.links import undecided_tickets

# A similar ticket is shown to an agent beside the inquiry (console, API, help-desk note): an export's
# 20 MB log pasted into one body went out whole with every lookup it came up in.
SHOWN_CHARS = 5000

Exclusions = list[int | np.ndarray | None]   # per query: a document position, an array of them, or none


class Neighbourhood:
    """The voting neighbours and similar tickets of queries over one index bundle (rebuilt with it)."""

    def __init__(self, bundle: IndexBundle, store: Store):
        self.bundle = bundle
        self.store = store
        tickets = np.flatnonzero(bundle.kind == TICKET)
        self.ticket_positions: dict[str, int] = dict(zip(bundle.ref[tickets].tolist(), tickets.tolist()))
        self.undecided = np.zeros(len(bundle.kind), bool)
        self.undecided[[self.ticket_positions[t] for t in undecided_tickets(store)
                        if t in self.ticket_positions]] = True

    def positions(self, tickets: list[str | None]) -> Exclusions:
        """The index position of each ticket id (None where it has none): what ``voters`` excludes."""
        return [self.ticket_positions.get(t) if t else None for t in tickets]

    def voters(self, vectors: np.ndarray, exclude: Exclusions | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(similarities, positions), each (n, ``NEIGHBOURS``): the nearest documents per query, without
        undecided tickets and without ``exclude[i]`` for query i; -1 / -1.0 pad rows with fewer.
        Similarities of queries with weighted model parts are the weighted means of the cosines."""
        b = self.bundle
        dropped = [np.atleast_1d(np.asarray(e if e is not None else [], np.int64)) for e in exclude] \
            if exclude is not None else None
        undecided = self.undecided if len(self.undecided) == len(b.kind) else np.zeros(len(b.kind), bool)
        abstaining = min(int(undecided.sum()), 2 * NEIGHBOURS)   # room for voters behind undecided tickets
        k = NEIGHBOURS + (max(map(len, dropped), default=0) if dropped else 0) + abstaining
        sims, nbrs = b.vectors.search(vectors, k)
        scale = parts.similarity_scale(vectors)
        if scale is not None:
            sims = np.where(nbrs >= 0, sims * scale[:, None], sims)
        if abstaining:
            hit = (nbrs >= 0) & undecided[np.maximum(nbrs, 0)]
            nbrs[hit], sims[hit] = -1, -1.0
        if dropped is not None:
            for i, positions in enumerate(dropped):
                if len(positions):
                    hit = np.isin(nbrs[i], positions)
                    nbrs[i, hit], sims[i, hit] = -1, -1.0
        if dropped is not None or abstaining:
            order = np.argsort(nbrs < 0, axis=1, kind="stable")[:, :NEIGHBOURS]
            nbrs, sims = np.take_along_axis(nbrs, order, 1), np.take_along_axis(sims, order, 1)
        return sims, nbrs

    def similar_tickets(self, vector: np.ndarray, limit: int, exclude: str | None) -> list[TicketHit]:
        """The ``limit`` most similar resolved tickets (articles' own documents and ticket ``exclude``
        skipped), with their texts from the store."""
        if limit <= 0:
            return []
        b = self.bundle
        sims, nbrs = b.vectors.search(vector[None, :], min(len(b.kind), NEIGHBOURS + 10 * limit))
        picked = [(str(b.ref[p]), float(s)) for p, s in zip(nbrs[0], sims[0])
                  if p >= 0 and b.kind[p] == TICKET and b.ref[p] != exclude][:limit]
        rows = self.store.get_tickets(t for t, _ in picked)
        return [TicketHit(t, round(s, 4), shortened(rows[t]["subject"]), shortened(rows[t]["body"]),
                          shortened(rows[t]["resolution"]), rows[t]["article_id"], rows[t]["language"])
                for t, s in picked if t in rows]


def shortened(text: str | None, max_chars: int = SHOWN_CHARS) -> str:
    """``text`` ("" for None) cut after ``max_chars`` at a word boundary, its line breaks kept, with "…"."""
    text = text or ""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    return (cut.rsplit(None, 1)[0] if " " in cut[-200:] or "\n" in cut[-200:] else cut).rstrip() + " …"
