"""A small help center built for a test: articles and tickets stored, indexed with the real default model."""
from __future__ import annotations

from pathlib import Path

from deflect.formats import Article, Ticket


def indexed_home(folder: Path, articles: list[Article], tickets: list[Ticket]) -> Path:
    """A deflect home in ``folder`` holding ``articles`` and ``tickets``, indexed; its path."""
    from deflect.embedder import load_embedder
    from deflect.home import Home
    from deflect.index import build as indexer
    from deflect.store import open_store

    home = Home(folder).ensure()
    store = open_store(home.db_path)
    store.upsert_articles(articles)
    store.upsert_tickets(tickets)
    indexer.build(store, load_embedder(), home.index_dir)
    store.close()
    return home.path
