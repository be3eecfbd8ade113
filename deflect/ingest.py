"""Ingest articles and ticket exports into the store: validate everything first, then write."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path

from deflect.clock import iso, parse_time
from deflect.errors import InputError
from deflect.formats import Ticket, find_files, read_article, read_articles
from deflect.store import Store
from deflect.ticket_files import read_tickets

WEEK = timedelta(days=7)


def move_to_recent(tickets: list[Ticket], now: datetime) -> int:
    """Move every dated ticket by the same whole number of weeks so that the newest falls in the week
    before ``now``; returns the weeks moved. Whole weeks keep each ticket's weekday and time of day, which
    the incident baselines compare (an older export, or the demo, then reads as recent history)."""
    times = [parse_time(t.created_at) for t in tickets]
    newest = max((m for m in times if m), default=None)
    if newest is None or newest > now:
        return 0
    weeks = (now - newest) // WEEK
    for ticket, moment in zip(tickets, times, strict=True):
        if moment is not None:
            ticket.created_at = iso(moment + weeks * WEEK)
    return weeks


# Files in an ingested folder that look like data deflect does not read (an export saved in another form).
DATA_SUFFIXES = {".json", ".ndjson", ".tsv", ".txt", ".xlsx", ".xls", ".ods", ".xml", ".html", ".htm"}


def unread_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files in the given folders that look like data but are neither articles nor ticket exports."""
    return [q for raw in paths if Path(raw).is_dir() for q in sorted(Path(raw).rglob("*"))
            if q.is_file() and q.suffix.lower() in DATA_SUFFIXES]


def ingest(store: Store, paths: Iterable[str | Path], prune: bool = False, recent_as_of: datetime | None = None,
           progress: Callable[[int, int], object] | None = None, max_prune: int | None = None) -> dict:
    """Read article folders/files and ticket files (by extension) and store them.

    All input is parsed and checked before anything is written, and the write is one transaction:
    a bad file leaves the store as it was. With ``prune``, stored articles that are not in the
    given folders are deleted (more than ``max_prune`` of them is refused: a subfolder given by mistake);
    one whose id changed (same title and language, or same body, as a new one) hands its ticket links,
    learnt feedback and votes to the new id. Tickets whose status says they are not resolved are counted, not
    stored (``Ticket.resolved``). With ``recent_as_of``, the tickets' dates are moved to end in the week
    before it (``move_to_recent``). ``progress(done, total)`` follows the tickets while they are redacted
    and stored. Returns counts per outcome.
    """
    paths = list(paths)
    article_files, ticket_files = find_files(paths)
    if prune and not article_files:
        raise InputError("--prune deletes every stored article that is not among the given ones, and no "
                         "article files (.md) were given", hint="Give the article folder as well (deflect ingest "
                         "faq/ --prune), or leave out --prune to add tickets.")
    articles = read_articles(article_files)
    refuse_ids_of_other_files(store, articles)
    stored_ids = store.article_ids()
    known = stored_ids | {a.id for a in articles}
    gone = sorted(stored_ids - {a.id for a in articles})
    renamed = renamed_articles(store, gone, [a for a in articles if a.id not in stored_ids]) if prune else {}
    if prune:
        known = {a.id for a in articles}
    # an export naming an old id links the new one, renamed now or by an earlier --prune
    given = {a.id for a in articles}
    aliases = {old: new for old, new in {**store.article_renames(), **renamed}.items()
               if new in known and old not in given}
    known |= set(aliases)
    if prune:
        deleted = len(gone) - len(renamed)
        if max_prune is not None and deleted > max_prune:
            raise InputError(f"--prune would delete {deleted} of the {len(stored_ids)} stored articles (those not "
                             f"in {', '.join(str(p) for p in paths)})",
                             hint="Give the whole article folder, or add --yes to delete them.")
    tickets = []
    seen: dict[str, str] = {}
    unread: dict[str, list[str]] = {}
    empty = []
    for path in ticket_files:
        columns: set[str] = set()
        before = len(tickets)
        for ticket in read_tickets(path, known, columns):
            if ticket.id in seen:
                raise InputError(f"duplicate ticket id {ticket.id!r} (also in {seen[ticket.id]})",
                                 str(path), ticket.line)
            seen[ticket.id] = str(path)
            tickets.append(ticket)
        if columns:
            unread[str(path)] = sorted(columns)
        if len(tickets) == before:
            empty.append(str(path))
    for ticket in tickets:
        ticket.article_id = aliases.get(ticket.article_id, ticket.article_id)
    open_tickets = [t for t in tickets if not t.resolved]
    tickets = [t for t in tickets if t.resolved]
    weeks = move_to_recent(tickets, recent_as_of) if recent_as_of else 0
    report = {"article_files": len(article_files), "ticket_files": len(ticket_files)}
    done = 0

    def stored(n: int) -> None:
        nonlocal done
        done += n
        progress(done, len(tickets))

    # redacted before the transaction: it holds the write lock, and the service's writes wait for it
    prepared = store.redact_tickets(tickets, progress=stored if progress else None)
    with store.db.transaction():
        arts = store.upsert_articles(articles)
        pruned, unlinked = [], {}
        if prune:
            pruned = [article_id for article_id in gone if article_id not in renamed]
            for old, new in renamed.items():
                store.move_article_refs(old, new)
                store.delete_article(old)
            unlinked = {article_id: store.linked_tickets(article_id) for article_id in pruned}
            for article_id in pruned:
                store.delete_article(article_id)
        ticket_counts = store.store_tickets(prepared)
    report["articles"] = {k: len(v) for k, v in arts.items()} | {"deleted": len(pruned)}
    report["deleted_articles"] = pruned
    report["unlinked_tickets"] = sum(unlinked.values())
    report["renamed_articles"] = renamed
    report["doubtful_articles"] = doubtful_articles(articles)
    # a single file given is no claim to be all articles; a folder is
    report["not_given"] = gone if article_files and not prune and any(Path(p).is_dir() for p in paths) else []
    report["unread_columns"] = unread
    report["unread_files"] = [str(p) for p in unread_files(paths)]
    report["empty_ticket_files"] = empty
    report["tickets"] = ticket_counts | {"not_resolved": len(open_tickets),
                                         "undated": sum(t.created_at is None for t in tickets)}
    report["weeks_moved"] = weeks
    return report


def refuse_ids_of_other_files(store: Store, articles: list) -> None:
    """Refuse an article whose id a stored article of another file has, while that file still gives it: the
    later ingest would silently replace the other article. A file moved or renamed is no such clash."""
    sources = dict(store.db.execute("select id, source from articles").fetchall())
    for article in articles:
        old = sources.get(article.id)
        if not old or not article.source or old == article.source:
            continue
        old_path, new_path = Path(old), Path(article.source)
        if not old_path.is_file() or (new_path.exists() and old_path.resolve() == new_path.resolve()):
            continue
        try:
            still = read_article(old_path).id == article.id
        except InputError:
            continue
        if still:
            raise InputError(f"article id {article.id!r} is also the id of {old}, stored before; this file would "
                             "replace that article", article.source, 1,
                             hint="Give one of the two articles another 'id' in its front matter (or, to move the "
                                  "article here, delete or rename the other file first).")


def renamed_articles(store: Store, gone: list[str], new: list) -> dict[str, str]:
    """Stored articles about to be pruned that come back under a new id: the old id -> the new one, where
    exactly one new article has the old one's title and language, or its body."""
    def keys(title: str, language: str | None, body: str) -> list[tuple]:
        same_body = [("body", body.strip())] if body.strip() else []
        return [("title", (title or "").strip().casefold(), language), *same_body]

    found: dict[tuple, list[str]] = {}
    for article in new:
        for key in keys(article.title, article.language, article.body):
            found.setdefault(key, []).append(article.id)
    renamed: dict[str, str] = {}
    for old in gone:
        row = store.db.execute("select title, language, body from articles where id = ?", [old]).fetchone()
        matches = {m for key in keys(row[0], row[1], row[2] or "") if len(found.get(key, [])) == 1
                   for m in found[key]}
        if len(matches) == 1 and (target := matches.pop()) not in renamed.values():
            renamed[old] = target
    return renamed


def doubtful_articles(articles: list) -> list[str]:
    """What a content team would want to know of the articles just read: those without an answer body (a
    customer who opens one finds only its title) and those that repeat another's title and body (the
    widget would show both)."""
    notes = [f"{a.id} has no answer body: its page shows only the title" for a in articles if not a.body.strip()]
    first: dict[tuple, str] = {}
    for a in articles:
        key = (a.title.strip().casefold(), a.body.strip(), a.language)
        if key in first and a.body.strip():
            notes.append(f"{a.id} repeats {first[key]} (same title and body): customers would be shown both")
        first.setdefault(key, a.id)
    return notes
