"""Ingest articles and ticket exports into the store: validate everything first, then write."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from deflect.formats import find_files, read_articles, read_tickets
from deflect.store import Store


def ingest(store: Store, paths: Iterable[str | Path], prune: bool = False) -> dict:
    """Read article folders/files and ticket files (by extension) and store them.

    All input is parsed and checked before anything is written, and the write is one transaction:
    a bad file leaves the store as it was. With ``prune``, stored articles that are not in the
    given folders are deleted. Returns counts per outcome.
    """
    article_files, ticket_files = find_files(paths)
    articles = read_articles(article_files)
    known = store.article_ids() | {a.id for a in articles}
    if prune:
        known = {a.id for a in articles}
    tickets = []
    seen: dict[str, str] = {}
    for path in ticket_files:
        for ticket in read_tickets(path, known):
            if ticket.id in seen:
                from deflect.errors import InputError
                raise InputError(f"duplicate ticket id {ticket.id!r} (also in {seen[ticket.id]})",
                                 str(path), ticket.line)
            seen[ticket.id] = str(path)
            tickets.append(ticket)
    report = {"article_files": len(article_files), "ticket_files": len(ticket_files)}
    with store.db.transaction():
        arts = store.upsert_articles(articles)
        pruned = []
        if prune:
            pruned = sorted(store.article_ids() - {a.id for a in articles})
            for article_id in pruned:
                store.delete_article(article_id)
        ticket_counts = store.upsert_tickets(tickets)
    report["articles"] = {k: len(v) for k, v in arts.items()} | {"deleted": len(pruned)}
    report["tickets"] = ticket_counts
    return report
