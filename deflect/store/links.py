"""Reading and writing the inferred article links (table ``inferred_links``, see ``links_schema``)."""
from __future__ import annotations

from collections.abc import Iterable

from deflect.clock import utcnow_iso as utcnow

EVIDENCE_CONFIDENCE = 0.8   # inferred links at least this sure count as evidence, like agent-made ones
RESOLUTION_SOURCES = ("url", "id", "title", "text")
NEIGHBOUR_SOURCE = "neighbours"


def inferred_links(store, min_confidence: float = 0.0, sources: Iterable[str] | None = None,
                   ticket_ids: Iterable[str] | None = None) -> dict[str, dict]:
    """Inferred links by ticket id: ``{"article_id", "confidence", "source", "evidence", "ticket_hash"}``,
    only for tickets that still have no agent-made link and articles that still exist."""
    sql = ("select l.ticket_id, l.article_id, l.confidence, l.source, l.evidence, l.ticket_hash "
           "from inferred_links l join tickets t on t.id = l.ticket_id join articles a on a.id = l.article_id "
           "where t.article_id is null and l.confidence >= ?")
    args: list = [min_confidence]
    if sources is not None:
        sources = list(sources)
        sql += f" and l.source in ({','.join('?' * len(sources))})"
        args += sources
    out = {}
    wanted = None if ticket_ids is None else set(ticket_ids)
    for r in store.db.execute(sql, args):
        if wanted is None or r[0] in wanted:
            out[r[0]] = {"article_id": r[1], "confidence": r[2], "source": r[3], "evidence": r[4],
                         "ticket_hash": r[5]}
    return out


def evidence_links(store) -> dict[str, str]:
    """Ticket id -> article id of the inferred links from the resolution that count as evidence in the
    index (neighbourhood links are evidence there already: they come from the spread labels)."""
    return {t: r["article_id"] for t, r in
            inferred_links(store, EVIDENCE_CONFIDENCE, RESOLUTION_SOURCES).items()}


def replace_links(store, rows: list[dict], sources: Iterable[str], ticket_ids: Iterable[str] | None = None) -> None:
    """Replace the inferred links of ``sources`` (for ``ticket_ids``, default all tickets) by ``rows``."""
    sources = list(sources)
    marks = ",".join("?" * len(sources))
    now = utcnow()
    with store.db.transaction():
        if ticket_ids is None:
            store.db.execute(f"delete from inferred_links where source in ({marks})", sources)
        else:
            ids = list(ticket_ids)
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                store.db.execute(f"delete from inferred_links where source in ({marks}) and ticket_id in "
                                 f"({','.join('?' * len(chunk))})", [*sources, *chunk])
        if rows:
            store.db["inferred_links"].upsert_all([{**r, "inferred_at": now} for r in rows], pk="ticket_id",
                                                  batch_size=1000)


def link_counts(store) -> dict[str, int]:
    """Inferred links by source (counting only those that still apply), and how many count as evidence."""
    counts: dict[str, int] = {}
    evidence = 0
    for row in inferred_links(store).values():
        counts[row["source"]] = counts.get(row["source"], 0) + 1
        evidence += row["confidence"] >= EVIDENCE_CONFIDENCE
    return {"by_source": dict(sorted(counts.items())), "total": sum(counts.values()), "confident": evidence}


def covering_links(store) -> dict[str, str]:
    """Ticket id -> article id of the inferred links that say the ticket's question has an article (no
    gap material): confident ones from the resolution, and every neighbourhood link (inferred only where
    one article holds most of the ticket's neighbourhood)."""
    return {t: r["article_id"] for t, r in inferred_links(store).items()
            if r["confidence"] >= EVIDENCE_CONFIDENCE or r["source"] == NEIGHBOUR_SOURCE}


def undecided_tickets(store) -> set[str]:
    """Ids of the tickets whose article is plausible but not known: an inferred link from the resolution
    below ``EVIDENCE_CONFIDENCE``. Neither evidence for that article nor for a question without one
    (a gap): they do not vote among a query's neighbours (``deflect.neighbours``)."""
    return {t for t, r in inferred_links(store, sources=RESOLUTION_SOURCES).items()
            if r["confidence"] < EVIDENCE_CONFIDENCE}
