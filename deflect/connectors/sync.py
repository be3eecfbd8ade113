"""Backfill: a help desk's knowledge base and resolved tickets into the store, resumable.

Each page of tickets is stored in one transaction together with the cursor past it, so a sync that
stops (an error, Ctrl-C, a killed process) resumes after the last page it stored and imports no ticket
twice; re-running a finished sync reads only what came after. Tickets go to the store (``deflect index``
makes them searchable); the webhook adds the ones closed from now on through the engine at once.

The knowledge base is read whole on every run, so an article the help desk no longer publishes (archived,
unpublished, deleted) is deleted from the store too: customers must not be sent to it. A help desk that
lists no published article at all while the store holds some is more likely a token that lost its
permission than a knowledge base emptied at once; those articles are kept and the run says so."""
from __future__ import annotations

from collections.abc import Callable

from deflect.connectors.base import Connector, checked_pages
from deflect.connectors.records import load_cursor, record_sync, save_cursor
from deflect.store import Store

JOB = "tickets"


def connection_totals(store: Store, name: str) -> dict[str, int]:
    """What the store holds from one connection: articles, tickets, tickets linked to an article."""
    prefix = [len(name) + 1, f"{name}-"]   # compared as it is: "_" and "%" in a name are no wildcards
    q = store.db.execute
    return {"articles": q("select count(*) from articles where substr(id, 1, ?) = ?", prefix).fetchone()[0],
            "tickets": q("select count(*) from tickets where substr(id, 1, ?) = ?", prefix).fetchone()[0],
            "linked": q("select count(*) from tickets where substr(id, 1, ?) = ? and article_id is not null",
                        prefix).fetchone()[0]}


def stored_articles(store: Store, name: str) -> set[str]:
    """The ids of the stored articles that came from connection ``name``."""
    return {r[0] for r in store.db.execute("select id from articles where substr(source, 1, ?) = ?",
                                           [len(name) + 1, f"{name}:"])}


def sync(store: Store, connector: Connector, progress: Callable[[int, dict], None] | None = None) -> dict:
    """Import the knowledge base, then the resolved tickets from the stored cursor on; ``progress(n,
    cursor)`` after each stored page. Returns this run's counts; the connection records them, or the
    error that stopped the run."""
    name = connector.connection.name
    run = {"articles_new": 0, "articles_changed": 0, "articles_deleted": 0, "articles_kept": 0, "tickets_new": 0,
           "tickets_changed": 0, "tickets_unchanged": 0, "tickets_erased": 0, "pages": 0}
    try:
        articles = list(checked_pages(connector.connection, connector.articles()))
        with store.db.transaction():
            outcome = store.upsert_articles(articles)
            run["articles_new"], run["articles_changed"] = len(outcome["new"]), len(outcome["changed"])
            unlisted = sorted(stored_articles(store, name) - {a.id for a in articles})
            if articles:
                for article_id in unlisted:   # tickets keep their link: it counts again once it is back
                    store.delete_article(article_id, keep_links=True)
                run["articles_deleted"] = len(unlisted)
            else:
                run["articles_kept"] = len(unlisted)
        pages = connector.ticket_pages(load_cursor(store, name, JOB))
        for tickets, cursor in checked_pages(connector.connection, pages):
            prepared = store.redact_tickets(tickets)   # before the transaction takes the write lock
            with store.db.transaction():
                counts = store.store_tickets(prepared)
                save_cursor(store, name, JOB, cursor)
            for key, value in counts.items():
                run[f"tickets_{key}"] += value
            run["pages"] += 1
            if progress is not None:
                progress(len(tickets), cursor)
    except BaseException as exc:
        record_sync(store, name, error=str(exc) or type(exc).__name__)
        raise
    run["retries"] = connector.client.retries
    record_sync(store, name, counts={**connection_totals(store, name), "last_run": run})
    return run
