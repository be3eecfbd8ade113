"""The store: articles, tickets, logged inquiries, settings, caches, in a SQLite file (the default) or
on a PostgreSQL server (``deflect.store.database``).

Schema changes go through named migrations (``MIGRATIONS``), applied once each and recorded in
the ``_migrations`` table. Append new ones at the end; never edit one that has shipped.
"""
from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from deflect.clock import parse_time
from deflect.clock import utcnow_iso as utcnow
from deflect.errors import DeflectError, NotFoundError
from deflect.formats import Article, Inquiry, Ticket
from deflect.privacy import Redactor, default_redactor
from deflect.settings import without_password
from deflect.store.connectors_schema import CONNECTORS_MIGRATIONS
from deflect.store.database import Database, DatabaseErrors, RowNotFound, SQLiteDatabase, is_url
from deflect.store.erased_schema import ERASED_MIGRATIONS
from deflect.store.feedback_schema import FEEDBACK_MIGRATIONS
from deflect.store.gaps import GAPS_MIGRATIONS
from deflect.store.hashing import customer_key, hash_key, one_way_hash
from deflect.store.labelled import LABELLED_MIGRATIONS
from deflect.store.links_schema import LINKS_MIGRATIONS
from deflect.store.order_schema import ORDER_MIGRATIONS
from deflect.store.postgres import PostgresDatabase
from deflect.store.rate_limits_schema import RATE_LIMIT_MIGRATIONS
from deflect.store.service_schema import SERVICE_MIGRATIONS
from deflect.store.why_schema import WHY_MIGRATIONS


def _m001_core(db: Database) -> None:
    db["_migrations"].create({"name": str, "applied_at": str}, pk="name", if_not_exists=True)
    db["articles"].create({
        "id": str, "title": str, "body": str, "language": str, "questions": str, "tags": str,
        "url": str, "source": str, "content_hash": str, "created_at": str, "updated_at": str,
    }, pk="id")
    db["tickets"].create({
        "id": str, "subject": str, "body": str, "resolution": str, "article_id": str,
        "language": str, "created_at": str, "channel": str, "status": str, "source": str,
        "content_hash": str, "ingested_at": str,
    }, pk="id")
    db["tickets"].create_index(["article_id"])
    db["inquiries"].create({
        "id": str, "text": str, "language": str, "created_at": str, "decision": str,
        "confidence": float, "article_id": str, "channel": str, "session": str, "page": str,
    }, pk="id")
    db["inquiries"].create_index(["created_at"])
    db["settings"].create({"key": str, "value": str}, pk="key")
    db["embeddings"].create({"key": str, "vector": bytes}, pk="key")


MIGRATIONS: list[tuple[str, Callable[[Database], None]]] = [
    ("001_core", _m001_core),
    *GAPS_MIGRATIONS,
    *SERVICE_MIGRATIONS,
    *CONNECTORS_MIGRATIONS,
    *LINKS_MIGRATIONS,
    *FEEDBACK_MIGRATIONS,
    *WHY_MIGRATIONS,
    *RATE_LIMIT_MIGRATIONS,
    *ORDER_MIGRATIONS,
    *LABELLED_MIGRATIONS,
    *ERASED_MIGRATIONS,
]


def connect(location: str | Path, check_same_thread: bool = True) -> Database:
    """The database at ``location``: a ``postgresql://`` URL, else a SQLite file path."""
    if is_url(location):
        return PostgresDatabase(str(location))
    return SQLiteDatabase(location, check_same_thread=check_same_thread)


_MIGRATED: set[str] = set()   # PostgreSQL URLs this process has seen fully migrated


class Store:
    """Typed access to one deflect database: a SQLite file path or a ``postgresql://`` URL."""

    def __init__(self, path: str | Path, check_same_thread: bool = True, redactor: Redactor | None = None):
        self.location = str(path) if is_url(path) else Path(path)
        # a SQLite store's file; None on a server
        self.path: Path | None = None if is_url(path) else Path(path)
        self.redactor = redactor or default_redactor()  # everything personal is redacted before it is stored
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.check_same_thread = check_same_thread
        self.db = self._connect()
        if self.path is not None or self.location not in _MIGRATED:
            self.migrate()
            if self.path is None:
                _MIGRATED.add(self.location)

    def _connect(self) -> Database:
        return connect(self.location, check_same_thread=self.check_same_thread)

    def reconnect(self) -> None:
        """Open the database again: a SQLite connection opened while the file was read-only stays
        read-only even after the file is writable again. The old connection is not closed here: a
        thread may still be reading through it; it closes when the last reference goes."""
        self.db = self._connect()

    # -- schema -----------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Apply pending migrations; returns their names."""
        pending = lambda: [(n, fn) for n, fn in MIGRATIONS if n not in done]  # noqa: E731
        done = self._applied()
        newer = sorted(done - {name for name, _ in MIGRATIONS})
        if newer:   # a newer deflect changed this store: this one could misread or damage it
            raise DeflectError(f"this store was changed by a newer deflect (migration {newer[-1]!r} is unknown "
                               "here)", hint="Upgrade deflect to the version that wrote it (docs/deploy.md, "
                                             "Upgrading).")
        if not pending():
            return []
        # One writer at a time: another process may be migrating the same database right now.
        with self.db.migration_lock():
            done = self._applied()
            applied = []
            for name, fn in pending():
                fn(self.db)
                self.db.execute("insert into _migrations (name, applied_at) values (?, ?)", [name, utcnow()])
                applied.append(name)
        return applied

    def _applied(self) -> set[str]:
        if "_migrations" not in self.db.table_names():
            return set()
        return {r[0] for r in self.db.execute("select name from _migrations")}

    def close(self) -> None:
        self.db.close()

    # -- settings ---------------------------------------------------------------------------
    def get_setting(self, key: str, default=None):
        try:
            return json.loads(self.db["settings"].get(key)["value"])
        except RowNotFound:
            return default

    def set_setting(self, key: str, value) -> None:
        self.db["settings"].upsert({"key": key, "value": json.dumps(value)}, pk="key")

    # -- articles ---------------------------------------------------------------------------
    def upsert_articles(self, articles: Iterable[Article]) -> dict[str, list[str]]:
        """Store articles; returns ids by outcome: ``new``, ``changed``, ``unchanged``."""
        outcome: dict[str, list[str]] = {"new": [], "changed": [], "unchanged": []}
        now = utcnow()
        rows = []
        for article in articles:
            old = self.db.execute("select content_hash, created_at from articles where id = ?",
                                  [article.id]).fetchone()
            row = article.to_row()
            if old and old[0] == row["content_hash"]:
                outcome["unchanged"].append(article.id)
                continue
            outcome["changed" if old else "new"].append(article.id)
            row.update(questions=json.dumps(row["questions"], ensure_ascii=False),
                       tags=json.dumps(row["tags"], ensure_ascii=False),
                       created_at=old[1] if old else now, updated_at=now)
            rows.append(row)
        if rows:
            self.db["articles"].upsert_all(rows, pk="id")
        return outcome

    def linked_tickets(self, article_id: str) -> int:
        """How many tickets an agent linked to ``article_id``."""
        return self.db.execute("select count(*) from tickets where article_id = ?", [article_id]).fetchone()[0]

    def delete_article(self, article_id: str, keep_links: bool = False) -> None:
        """Delete an article; tickets that linked it keep their history but lose the link, unless
        ``keep_links`` (an article withdrawn for a while: the link counts again once it is back)."""
        if not self.has_article(article_id):
            raise NotFoundError(f"no article {article_id!r}")
        with self.db.transaction():
            if not keep_links:   # without its hash the export read again restores the link, once the article is back
                self.db.execute("update tickets set article_id = null, content_hash = null where article_id = ?",
                                [article_id])
            self.db.execute("delete from inferred_links where article_id = ?", [article_id])
            self.db["articles"].delete(article_id)

    def move_article_refs(self, old: str, new: str) -> None:
        """What points at article ``old`` -- agents' ticket links, learnt feedback, votes, labelled questions,
        logged answers, the gap topics it covers -- points at ``new`` (the same article under another id);
        a later ticket naming ``old`` links ``new`` (``article_renames``)."""
        with self.db.transaction():
            for table in ("tickets", "evidence", "feedback", "labelled_questions", "inquiries"):
                self.db.execute(f"update {table} set article_id = ? where article_id = ?", [new, old])
            self.db.execute("update gap_topics set covered_by = ? where covered_by = ?", [new, old])
            self.db.execute("update article_renames set new_id = ? where new_id = ?", [new, old])
            self.db["article_renames"].upsert({"old_id": old, "new_id": new, "renamed_at": utcnow()}, pk="old_id")

    def article_renames(self) -> dict[str, str]:
        """Old article id -> the id it was renamed to (``move_article_refs``), for articles still stored."""
        return {r[0]: r[1] for r in self.db.execute(
            "select r.old_id, r.new_id from article_renames r join articles a on a.id = r.new_id "
            "where r.old_id not in (select id from articles)")}

    def has_article(self, article_id: str) -> bool:
        return self.db.execute("select 1 from articles where id = ?", [article_id]).fetchone() is not None

    def article_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("select id from articles")}

    @staticmethod
    def _article(row: dict) -> Article:
        return Article(id=row["id"], title=row["title"], body=row["body"] or "", language=row["language"],
                       questions=json.loads(row["questions"] or "[]"), tags=json.loads(row["tags"] or "[]"),
                       url=row["url"], source=row["source"])

    def get_article(self, article_id: str) -> Article:
        try:
            return self._article(self.db["articles"].get(article_id))
        except RowNotFound:
            raise NotFoundError(f"no article {article_id!r}") from None

    def articles(self) -> list[Article]:
        return [self._article(r) for r in self.db["articles"].rows_where(order_by="id")]

    def article_hashes(self) -> dict[str, str]:
        return dict(self.db.execute("select id, content_hash from articles").fetchall())

    # -- tickets ----------------------------------------------------------------------------
    def upsert_tickets(self, tickets: Iterable[Ticket], progress: Callable[[int], object] | None = None
                       ) -> dict[str, int]:
        """Store tickets (personal data redacted); returns counts ``new``/``changed``/``unchanged`` and
        ``erased``: tickets erased on a customer's request earlier, which are not stored again.
        ``progress`` is called with 1 per ticket redacted (an export of 50,000 tickets takes about a minute)."""
        return self.store_tickets(self.redact_tickets(tickets, progress))

    def redact_tickets(self, tickets: Iterable[Ticket], progress: Callable[[int], object] | None = None
                       ) -> list[tuple[dict, list[str]]]:
        """Each ticket as the row to store (personal data redacted, content hashed) with its customers
        hashed: the slow part of storing, done before a transaction takes the write lock (which would hold
        off every other writer, the widget's searches too, for the minute 50,000 tickets take)."""
        key = hash_key(self)
        prepared = []
        for ticket in tickets:
            row = ticket.to_row()
            for field in ("subject", "body", "resolution"):
                row[field] = self.redactor.redact(row[field], known=ticket.customer)
            row["content_hash"] = _ticket_hash(row)
            prepared.append((row, sorted({one_way_hash(customer_key(ref), key) for ref in ticket.customer_refs})))
            if progress is not None:
                progress(1)
        return prepared

    def store_tickets(self, prepared: list[tuple[dict, list[str]]]) -> dict[str, int]:
        """Write what ``redact_tickets`` prepared: new and changed tickets, and the customers of every
        ticket that names them, in place of those it named before (a ticket handed to another customer must
        not be erased on the first one's request; one stored before they were kept gets them now)."""
        counts = {"new": 0, "changed": 0, "unchanged": 0, "erased": 0}
        now, rows, customers = utcnow(), [], []
        with self.db.transaction():
            gone = self.erased_tickets([row["id"] for row, _ in prepared])   # erased on request: never again
            counts["erased"] = sum(row["id"] in gone for row, _ in prepared)
            prepared = [(row, hashes) for row, hashes in prepared if row["id"] not in gone]
            existing = {r[0]: r[1:] for r in
                        self.db.execute("select id, content_hash, source, ingested_at, created_at from tickets")}
            self.db["ticket_customers"].delete_where_in("ticket_id", [row["id"] for row, hashes in prepared if hashes])
            for row, hashes in prepared:
                customers += [{"ticket_id": row["id"], "customer": h} for h in hashes]
                old_hash, old_source, first_seen, old_time = existing.get(row["id"], (None, None, None, None))
                if old_time != row["created_at"] and _less_precise(row["created_at"], old_time):
                    # the stored time written to the minute or the day only (German CSV exports): it stays
                    row = {**row, "created_at": old_time}
                    row["content_hash"] = _ticket_hash(row)
                # the same export saved under another name or read from another folder changes nothing, nor
                # does its time stored as written by an older release ("2026-03-01 10:00:00 +0100")
                if old_hash == row["content_hash"] or (old_hash and (
                        old_hash == _ticket_hash({**row, "source": old_source}) or (
                            old_time != row["created_at"] and parse_time(old_time) == parse_time(row["created_at"])
                            and old_hash == _ticket_hash({**row, "source": old_source, "created_at": old_time})))):
                    counts["unchanged"] += 1
                    continue
                counts["changed" if row["id"] in existing else "new"] += 1
                # an undated ticket keeps the day deflect first saw it (its date in the gap report)
                rows.append({**row, "ingested_at": first_seen or now})
            if rows:
                self.db["tickets"].upsert_all(rows, pk="id", batch_size=1000)
            if customers:
                self.db["ticket_customers"].insert_all(customers, ignore=True)
        return counts

    def erased_tickets(self, ids: Iterable[str]) -> set[str]:
        """Those of ``ids`` that were erased on a customer's request (``deflect.store.erased_schema``)."""
        ids = list(dict.fromkeys(ids))
        if not ids or self.db.execute("select count(*) from erased_tickets").fetchone()[0] == 0:
            return set()
        key = hash_key(self)
        hashed = {one_way_hash(i, key): i for i in ids}
        found = set()
        names = list(hashed)
        for start in range(0, len(names), 500):
            part = names[start:start + 500]
            found |= {hashed[r[0]] for r in self.db.execute(
                f"select ticket from erased_tickets where ticket in ({','.join('?' * len(part))})", part)}
        return found

    def tickets(self) -> Iterator[dict]:
        yield from self.db["tickets"].rows_where(order_by="id")

    def get_tickets(self, ids: Iterable[str]) -> dict[str, dict]:
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return {r["id"]: r for r in self.db["tickets"].rows_where(f"id in ({marks})", ids)}

    # -- inquiries --------------------------------------------------------------------------
    def write_inquiries(self, rows: list[dict]) -> None:
        """Store inquiry rows (upserted by id, so writing a row twice is harmless)."""
        with self.db.transaction():
            self.db["inquiries"].upsert_all(rows, pk="id")

    def log_inquiry(self, inquiry: Inquiry, decision: str, confidence: float,
                    article_id: str | None, channel: str = "cli", session: str | None = None,
                    page: str | None = None, vector: np.ndarray | None = None, model: str | None = None,
                    ticket_id: str | None = None) -> str:
        """Record an inquiry and what deflect answered; returns its id. With ``vector`` and ``model``
        its embedding is cached, so the gap report does not embed it again; ``ticket_id``: the ticket whose
        text it is (an agent's inquiry), erased with it."""
        row = inquiry_row(inquiry, decision, confidence, article_id, channel, session, page, self.redactor)
        row["ticket_id"] = ticket_id
        if vector is not None and model:
            self.cache_embeddings({self.embedding_key(model, row["text"]): vector})
        self.write_inquiries([row])
        return row["id"]

    @contextmanager
    def busy_timeout(self, seconds: float) -> Iterator[None]:
        """Wait at most ``seconds`` for a lock held by another connection (then the write raises),
        instead of the connection's default."""
        with self.db.busy_timeout(seconds):
            yield

    # -- embedding cache --------------------------------------------------------------------
    @staticmethod
    def embedding_key(model_id: str, text: str) -> str:
        return hashlib.sha1(f"{model_id}\0{text}".encode()).hexdigest()

    def cached_embeddings(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, blob in self.db.execute(f"select key, vector from embeddings where key in ({marks})", chunk):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def cache_embeddings(self, items: dict[str, np.ndarray]) -> None:
        if items:
            self.db["embeddings"].upsert_all(
                ({"key": k, "vector": np.asarray(v, dtype=np.float32).tobytes()} for k, v in items.items()),
                pk="key", batch_size=2000)

    # -- overview ---------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        q = self.db.execute
        return {
            "articles": q("select count(*) from articles").fetchone()[0],
            "tickets": q("select count(*) from tickets").fetchone()[0],
            "tickets_linked": q("select count(*) from tickets where article_id is not null").fetchone()[0],
            "inquiries": q("select count(*) from inquiries").fetchone()[0],
        }


def inquiry_row(inquiry: Inquiry, decision: str, confidence: float, article_id: str | None,
                channel: str = "cli", session: str | None = None, page: str | None = None,
                redactor: Redactor | None = None) -> dict:
    """The stored form of an inquiry and what deflect answered: personal data redacted, the page
    without its query string and fragment (where search terms, e-mails and tokens travel)."""
    redactor = redactor or default_redactor()
    return {
        "id": inquiry.id or uuid.uuid4().hex, "text": redactor.redact(inquiry.text), "language": inquiry.language,
        "created_at": utcnow(), "decision": decision, "confidence": float(confidence),
        "article_id": article_id, "channel": channel, "session": session, "page": page_location(page, redactor),
    }


def page_location(page: str | None, redactor: Redactor | None = None) -> str | None:
    """Scheme, host and path of a page address; credentials, the query string and fragment are dropped."""
    if not page:
        return page
    parts = urlsplit(page.strip())
    host = parts.netloc.rpartition("@")[2]   # "user:password@" is no part of where a page is
    return (redactor or default_redactor()).redact(urlunsplit((parts.scheme, host, parts.path, "", ""))) or None


def store_exists(location: str | Path) -> bool:
    """Whether a deflect store is at ``location`` (a file, or a database that has been migrated), without
    creating one; raises where the store is elsewhere (``_store_elsewhere``)."""
    if not is_url(location):
        _store_elsewhere(Path(location))
        return Path(location).exists()
    db = connect(location)
    try:
        return "_migrations" in db.table_names()
    finally:
        db.close()


def open_store(path: str | Path, check_same_thread: bool = True, redactor: Redactor | None = None) -> Store:
    """Open (and migrate) the store, turning SQLite errors into a DeflectError. A new SQLite file is not
    made beside an index built from a store that is not there (``_store_elsewhere``)."""
    if not is_url(path) and str(path) != ":memory:":
        _store_elsewhere(Path(path))
    try:
        return Store(path, check_same_thread=check_same_thread, redactor=redactor)
    except DatabaseErrors as exc:
        if is_url(path):
            raise DeflectError(f"cannot open the database {without_password(str(path))}: "
                               f"{without_password(str(path), str(exc))}",
                               hint="Check DEFLECT_DATABASE_URL: the server, the role and that it owns the "
                                    "database (createuser deflect --pwprompt && createdb --owner deflect "
                                    "deflect).") from exc
        raise DeflectError(f"cannot open the database {path}: {exc}", hint=_open_hint(Path(path), exc)) from exc


def _open_hint(path: Path, exc: Exception) -> str:
    """What to do about a SQLite file that cannot be opened, by what is wrong with where it lies."""
    folder = path.parent
    if "full" in str(exc) or "disk I/O" in str(exc):
        return f"Is the disk full? `df -h {folder}` tells; free space, then try again."
    if folder.is_dir() and not os.access(folder, os.W_OK):
        return (f"The folder {folder} is not writable for this user: SQLite keeps its journal "
                "(deflect.db-wal) beside the store, even to read it. Give the service's user write access "
                "(systemd: ReadWritePaths=).")
    return "Is it a deflect database? Use --home to point at another folder."


def _store_elsewhere(path: Path) -> None:
    """Refuse to start an empty SQLite store in a home whose index was built from another one: there the
    store is a PostgreSQL database whose URL was not given, and a command would answer from the empty
    file (``privacy erase``: "nothing stored for them" while the data sits in PostgreSQL)."""
    if not path.exists() and (path.parent / "index" / "manifest.json").exists():
        raise DeflectError(f"no store in {path.parent}, but its index was built from one: the data is elsewhere, "
                           "most likely in a PostgreSQL database whose URL was not given",
                           hint="Set DEFLECT_DATABASE_URL, pass --database URL or the service's settings with "
                                "--env-file /etc/deflect/deflect.env; to start over in this folder, delete its "
                                "index/ first.")


def _less_precise(new: str | None, old: str | None) -> bool:
    """Whether time ``new`` is ``old`` given to the minute or to the day only (both stored UTC times)."""
    given, stored = parse_time(new), parse_time(old)
    if given is None or stored is None or given.second or given.microsecond:
        return False
    if given == stored.replace(second=0, microsecond=0):
        return True
    return (given.hour, given.minute) == (0, 0) and given.date() == stored.date()


def _ticket_hash(row: dict) -> str:
    """The content hash of a ticket row as stored (without ``content_hash`` and ``ingested_at``)."""
    return hashlib.sha1(json.dumps({k: v for k, v in row.items() if k not in ("content_hash", "ingested_at")},
                                   sort_keys=True).encode()).hexdigest()
