"""Inferred article links for tickets no agent linked (most help-desk exports have no link field).

Two sources, each with a confidence, stored apart from agent-made links (``deflect.store.links``):

- **the resolution**: the agent's reply links the article, names its id or title, or pastes its answer
  text (``deflect.index.resolution_links``). Confident ones (``EVIDENCE_CONFIDENCE``) are evidence in
  the index like agent-made links: ``collect_documents`` seeds their tickets with the article; less sure
  ones leave the ticket undecided (``undecided_tickets``: it does not vote among a query's neighbours).
- **the neighbourhood**: the article labels spread over the nearest-neighbour graph (``deflect.labels``)
  give an unlinked ticket among tickets and documents of one article most of that article's mass; a
  ticket in a cluster of unlinked tickets gets little (a gap, not a link).

Both are redone when a build reads the store (articles or tickets changed) and for tickets added live.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np

from deflect.index.documents import TICKET
from deflect.index.resolution_links import ResolutionMatcher
from deflect.store import Store
from deflect.store.links import NEIGHBOUR_SOURCE, RESOLUTION_SOURCES, replace_links

STATE_KEY = "inferred_links_state"
NEIGHBOUR_MIN = 0.5         # label mass of one article a neighbourhood link needs at least
NEIGHBOUR_MARGIN = 3.0      # ... and this many times the mass of the second article


def _unlinked_tickets(store: Store, ticket_ids: list[str] | None) -> list[tuple[str, str, str]]:
    """(id, resolution, content hash) of the tickets without an agent-made link."""
    sql = "select id, resolution, content_hash from tickets where article_id is null"
    rows = store.db.execute(sql).fetchall()
    if ticket_ids is not None:
        wanted = set(ticket_ids)
        rows = [r for r in rows if r[0] in wanted]
    return [(r[0], r[1] or "", r[2] or "") for r in rows]


def infer_from_resolutions(store: Store, ticket_ids: list[str] | None = None, force: bool = False) -> dict:
    """Infer links from the resolutions of the unlinked tickets (``ticket_ids``: only those; default all,
    skipped when neither articles nor tickets changed since the last time, unless ``force``). Returns
    counts by source."""
    articles = store.articles()
    tickets = _unlinked_tickets(store, ticket_ids)
    state = None
    if ticket_ids is None:
        data = [[a.id, a.title, a.url, a.body] for a in articles] + [[t[0], t[2]] for t in tickets]
        state = hashlib.sha1(json.dumps(data, ensure_ascii=False).encode()).hexdigest()
        if store.get_setting(STATE_KEY) == state and not force:
            return {"skipped": True}
    matcher = ResolutionMatcher(articles)
    rows, counts = [], {}
    for ticket_id, resolution, content_hash in tickets:
        found = matcher.match(resolution)
        if found is None:
            continue
        counts[found.source] = counts.get(found.source, 0) + 1
        rows.append({"ticket_id": ticket_id, "article_id": found.article_id, "confidence": found.confidence,
                     "source": found.source, "evidence": found.evidence[:200], "ticket_hash": content_hash})
    replace_links(store, rows, RESOLUTION_SOURCES, None if ticket_ids is None else [t[0] for t in tickets])
    if state is not None:
        store.set_setting(STATE_KEY, state)
    return counts


def infer_from_neighbours(bundle, store: Store, positions: np.ndarray | None = None) -> int:
    """Infer links from the spread article labels of the unlinked tickets (``positions``: only those)
    that have no link from their resolution; replaces the previous neighbourhood links of the tickets
    looked at. Returns how many were inferred."""
    if positions is None:
        positions = np.flatnonzero((bundle.kind == TICKET) & (bundle.seed < 0))
        looked_at = None
    else:
        positions = positions[(bundle.kind[positions] == TICKET) & (bundle.seed[positions] < 0)]
        looked_at = [str(r) for r in bundle.ref[positions]]
    by_resolution = {r[0] for r in store.db.execute(
        f"select ticket_id from inferred_links where source in ({','.join('?' * len(RESOLUTION_SOURCES))})",
        RESOLUTION_SOURCES)}
    hashes = dict(store.db.execute("select id, content_hash from tickets where article_id is null").fetchall())
    rows = []
    labels = bundle.labels.tocsr()
    for p in positions.tolist():
        ticket_id = str(bundle.ref[p])
        if ticket_id in by_resolution or ticket_id not in hashes:
            continue
        start, end = labels.indptr[p], labels.indptr[p + 1]
        if start == end:
            continue
        mass, cols = labels.data[start:end], labels.indices[start:end]
        order = np.argsort(-mass)
        top = float(mass[order[0]])
        second = float(mass[order[1]]) if len(order) > 1 else 0.0
        if top < NEIGHBOUR_MIN or top < NEIGHBOUR_MARGIN * second:
            continue
        rows.append({"ticket_id": ticket_id, "article_id": bundle.article_ids[int(cols[order[0]])],
                     "confidence": round(min(top, 1.0), 4), "source": NEIGHBOUR_SOURCE,
                     "evidence": f"article mass {top:.2f} among its neighbours (next {second:.2f})",
                     "ticket_hash": hashes[ticket_id]})
    replace_links(store, rows, [NEIGHBOUR_SOURCE], looked_at)
    return len(rows)
