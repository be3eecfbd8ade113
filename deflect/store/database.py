"""One database interface over SQLite (a file, the default) and PostgreSQL (a ``postgresql://`` URL).

The store and every feature speak to ``Database``: ``execute`` with ``?`` (or ``:name``) placeholders,
table operations (``db["t"].insert/upsert_all/update/get/rows_where/delete/count``), ``transaction()``,
``table_names()``, and the few DDL operations migrations use. The SQL itself is written to run on both
(``INSERT ... ON CONFLICT``, ISO-8601 string comparisons, no rowid); what differs between the two engines
(placeholder syntax, column types, how to connect, lock and reconnect) lives here and nowhere else.

The PostgreSQL connections live in ``deflect.store.postgres``; ``deflect.store.core.connect`` opens either.
"""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import psycopg

# What the driver raises for any database error, for a unique or primary key violation, and for a
# statement that could not run now (locked, busy, gone).
DatabaseErrors: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)
IntegrityErrors: tuple[type[Exception], ...] = (sqlite3.IntegrityError, psycopg.IntegrityError)
OperationalErrors: tuple[type[Exception], ...] = (sqlite3.OperationalError, psycopg.OperationalError)


class RowNotFound(KeyError):
    """``Table.get``/``update`` found no row with that primary key."""


class Column(NamedTuple):
    name: str
    type: str


def is_url(location: str | Path) -> bool:
    """Whether a store location names a PostgreSQL server rather than a SQLite file."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _stored(value: Any) -> Any:
    """Lists and dicts are kept as JSON text (as sqlite-utils did)."""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=repr)
    return value


class Table:
    """One table: the row operations the store uses (the sqlite-utils names)."""

    def __init__(self, db: Database, name: str):
        self.db, self.name = db, name

    # -- schema -----------------------------------------------------------------------------
    @property
    def columns(self) -> list[Column]:
        return self.db._columns(self.name)

    @property
    def pks(self) -> list[str]:
        return self.db._pks(self.name)

    def exists(self) -> bool:
        return self.name in self.db.table_names()

    def create(self, columns: Mapping[str, type], pk: str | Sequence[str], if_not_exists: bool = False) -> None:
        """``CREATE TABLE`` with portable column types; a single int primary key numbers new rows itself."""
        keys = [pk] if isinstance(pk, str) else list(pk)
        types = self.db.column_types
        parts = []
        for name, kind in columns.items():
            sql = f"{quote(name)} {types[kind]}"
            if keys == [name]:
                sql += (self.db.numbered if kind is int else "") + " PRIMARY KEY"
            parts.append(sql)
        if len(keys) > 1:
            parts.append(f"PRIMARY KEY ({', '.join(quote(k) for k in keys)})")
        guard = "IF NOT EXISTS " if if_not_exists else ""
        self.db.execute(f"CREATE TABLE {guard}{quote(self.name)} ({', '.join(parts)})")
        self.db._forget(self.name)

    def create_index(self, columns: Sequence[str], unique: bool = False, if_not_exists: bool = False) -> None:
        name = f"idx_{self.name}_{'_'.join(columns)}"
        self.db.execute(f"CREATE {'UNIQUE ' if unique else ''}INDEX {'IF NOT EXISTS ' if if_not_exists else ''}"
                        f"{quote(name)} ON {quote(self.name)} ({', '.join(quote(c) for c in columns)})")

    def add_column(self, name: str, kind: type) -> None:
        self.db.execute(f"ALTER TABLE {quote(self.name)} ADD COLUMN {quote(name)} {self.db.column_types[kind]}")
        self.db._forget(self.name)

    def add_sequence(self, name: str) -> None:
        """A column the database numbers in insertion order (what SQLite's rowid gave): rows already
        there get their order, every new row the next number; an upsert that updates keeps it."""
        self.db.add_sequence(self.name, name)
        self.db._forget(self.name)

    # -- rows -------------------------------------------------------------------------------
    def _key(self, pk_value: Any) -> tuple[str, list]:
        keys = self.pks
        values = list(pk_value) if isinstance(pk_value, (tuple, list)) else [pk_value]
        return " and ".join(f"{quote(k)} = ?" for k in keys), values

    def get(self, pk_value: Any) -> dict:
        where, values = self._key(pk_value)
        rows = list(self.rows_where(where, values))
        if not rows:
            raise RowNotFound(pk_value)
        return rows[0]

    def rows_where(self, where: str | None = None, params: Sequence | Mapping | None = None,
                   order_by: str | None = None, limit: int | None = None) -> Iterator[dict]:
        sql = f"select * from {quote(self.name)}"
        if where:
            sql += f" where {where}"
        if order_by:
            sql += f" order by {order_by}"
        if limit is not None:
            sql += f" limit {int(limit)}"
        yield from self.db.query(sql, params)

    @property
    def rows(self) -> Iterator[dict]:
        return self.rows_where()

    @property
    def count(self) -> int:
        return self.db.execute(f"select count(*) from {quote(self.name)}").fetchone()[0]

    def insert(self, row: Mapping[str, Any], pk: Any = None, replace: bool = False, ignore: bool = False) -> Table:
        """Insert one row (a duplicate key raises, unless ``replace`` or ``ignore`` it); ``last_pk`` is its
        primary key, numbered or given."""
        if replace or ignore:
            self.insert_all([row], pk=pk, replace=replace, ignore=ignore)
            return self
        keys = self.pks
        cols = list(row)
        returning = f" returning {quote(keys[0])}" if len(keys) == 1 else ""
        with self.db.transaction():
            cur = self.db.execute(f"insert into {quote(self.name)} ({', '.join(quote(c) for c in cols)}) "
                                  f"values ({', '.join('?' * len(cols))}){returning}",
                                  [_stored(row[c]) for c in cols])
            self.last_pk = cur.fetchone()[0] if returning else tuple(row[k] for k in keys)
        return self

    def insert_all(self, rows: Iterable[Mapping[str, Any]], pk: Any = None, batch_size: int = 500,
                   replace: bool = False, ignore: bool = False) -> None:
        """Insert rows; a duplicate key raises, or replaces the row (``replace``) or keeps it (``ignore``)."""
        conflict = "update" if replace else "nothing" if ignore else None
        self._write(rows, conflict=conflict, pk=pk, batch_size=batch_size)

    def upsert(self, row: Mapping[str, Any], pk: Any = None) -> None:
        self._write([row], conflict="update", pk=pk)

    def upsert_all(self, rows: Iterable[Mapping[str, Any]], pk: Any = None, batch_size: int = 500) -> None:
        """Insert rows, or update the given columns of the rows whose key exists (others kept)."""
        self._write(rows, conflict="update", pk=pk, batch_size=batch_size)

    def _write(self, rows: Iterable[Mapping[str, Any]], conflict: str | None, pk: Any = None,
               batch_size: int = 500) -> None:
        keys = ([pk] if isinstance(pk, str) else list(pk)) if pk else self.pks
        batch: list[Mapping[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= batch_size:
                self._write_batch(batch, conflict, keys)
                batch = []
        if batch:
            self._write_batch(batch, conflict, keys)

    def _write_batch(self, rows: list[Mapping[str, Any]], conflict: str | None, keys: list[str]) -> None:
        cols = list(dict.fromkeys(c for row in rows for c in row))
        sql = (f"insert into {quote(self.name)} ({', '.join(quote(c) for c in cols)}) "
               f"values ({', '.join('?' * len(cols))})")
        if conflict:
            rest = [c for c in cols if c not in keys] if conflict == "update" else []
            target = ", ".join(quote(k) for k in keys)
            sql += (f" on conflict ({target}) do update set " + ", ".join(f"{quote(c)} = excluded.{quote(c)}"
                                                                          for c in rest)
                    if rest else f" on conflict ({target}) do nothing")
        with self.db.transaction():
            self.db.executemany(sql, [[_stored(row.get(c)) for c in cols] for row in rows])

    def update(self, pk_value: Any, updates: Mapping[str, Any]) -> Table:
        if updates:
            where, values = self._key(pk_value)
            sets = ", ".join(f"{quote(c)} = ?" for c in updates)
            with self.db.transaction():
                cur = self.db.execute(f"update {quote(self.name)} set {sets} where {where}",
                                      [*(_stored(v) for v in updates.values()), *values])
            if cur.rowcount == 0:
                raise RowNotFound(pk_value)
        return self

    def delete(self, pk_value: Any) -> None:
        where, values = self._key(pk_value)
        with self.db.transaction():
            self.db.execute(f"delete from {quote(self.name)} where {where}", values)

    def delete_where_in(self, column: str, values: Sequence[Any], chunk: int = 500) -> int:
        """Delete the rows whose ``column`` is one of ``values`` (in chunks: a statement takes only so many
        parameters); returns how many went."""
        gone = 0
        with self.db.transaction():
            for start in range(0, len(values), chunk):
                part = list(values[start:start + chunk])
                gone += self.db.execute(f"delete from {quote(self.name)} where {quote(column)} in "
                                        f"({','.join('?' * len(part))})", part).rowcount
        return gone


class Database:
    """A connection to the store's database; see the module docstring."""

    dialect: str
    column_types: dict[type, str]   # the column type of each Python type
    numbered: str                   # what makes an integer primary key number new rows itself

    def __getitem__(self, name: str) -> Table:
        return Table(self, name)

    def execute(self, sql: str, params: Sequence | Mapping | None = None):
        raise NotImplementedError

    def executemany(self, sql: str, rows: list[Sequence]) -> None:
        raise NotImplementedError

    def query(self, sql: str, params: Sequence | Mapping | None = None) -> Iterator[dict]:
        """Rows as dicts."""
        cur = self.execute(sql, params)
        names = [d[0] for d in cur.description or ()]
        for row in cur:
            yield dict(zip(names, row))

    def add_sequence(self, table: str, column: str) -> None:
        """See ``Table.add_sequence``."""
        raise NotImplementedError

    def transaction(self):
        """A context manager: everything inside commits together, or nothing on an exception."""
        raise NotImplementedError

    def migration_lock(self):
        """A transaction that holds the database's migration lock (one migrating process at a time)."""
        raise NotImplementedError

    def busy_timeout(self, seconds: float):
        """A context manager: wait at most ``seconds`` for another connection's lock, then raise."""
        raise NotImplementedError

    def table_names(self) -> list[str]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # table shape, cached per process per database (migrations forget what they change)
    def _columns(self, table: str) -> list[Column]:
        raise NotImplementedError

    def _pks(self, table: str) -> list[str]:
        raise NotImplementedError

    def _forget(self, table: str) -> None:
        pass


class SQLiteDatabase(Database):
    dialect = "sqlite"
    column_types = {str: "TEXT", int: "INTEGER", float: "FLOAT", bytes: "BLOB"}
    numbered = ""   # an INTEGER PRIMARY KEY is the rowid

    def __init__(self, path: str | Path, check_same_thread: bool = True, conn: sqlite3.Connection | None = None):
        """The file at ``path``, through ``conn`` when one is given (already open)."""
        self.path = Path(path)
        if conn is None:
            new = str(self.path) != ":memory:" and not self.path.exists()
            conn = sqlite3.connect(str(self.path), timeout=30, check_same_thread=check_same_thread)
            # customers' (redacted) texts: for the service's user only, whatever the umask (a store made
            # by an older release, or copied back from a backup, is tightened too)
            if new or (self.path.exists() and self.path.stat().st_mode & 0o077
                       and self.path.stat().st_uid == os.getuid()):
                with contextlib.suppress(OSError):   # a read-only file system keeps its modes
                    os.chmod(self.path, 0o600)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        self.conn = conn
        self._depth = 0   # transactions open on this connection (inner ones are savepoints)

    def execute(self, sql: str, params: Sequence | Mapping | None = None) -> sqlite3.Cursor:
        return self.conn.execute(sql, params if params is not None else ())

    def executemany(self, sql: str, rows: list[Sequence]) -> None:
        self.conn.executemany(sql, rows)

    def add_sequence(self, table: str, column: str) -> None:
        self.execute(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column)} INTEGER")
        self.execute(f"UPDATE {quote(table)} SET {quote(column)} = rowid")
        self.execute(f"CREATE TRIGGER {quote(f'{table}_{column}')} AFTER INSERT ON {quote(table)} "
                     f"WHEN NEW.{quote(column)} IS NULL BEGIN UPDATE {quote(table)} SET {quote(column)} = "
                     "NEW.rowid WHERE rowid = NEW.rowid; END")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        # an inner block is a savepoint of the outer transaction: with the connection as the context
        # manager each block committed on leaving it, so a failure after a batch left the batch stored
        if self._depth:
            name = f"deflect_{self._depth}"
            self.conn.execute(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield
            except BaseException:
                if self.conn.in_transaction:   # a full disk or an I/O error has rolled it all back already
                    self.conn.execute(f"ROLLBACK TO {name}")
                    self.conn.execute(f"RELEASE {name}")
                raise
            else:
                self.conn.execute(f"RELEASE {name}")
            finally:
                self._depth -= 1
            return
        # IMMEDIATE: a block that reads first and writes later takes the write lock at its start; begun
        # deferred, another connection's commit in between made its first write fail at once ("database
        # is locked", the busy timeout never waited)
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self.conn.rollback()
            raise
        else:
            self.conn.commit()
        finally:
            self._depth = 0

    @contextmanager
    def migration_lock(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    @contextmanager
    def busy_timeout(self, seconds: float) -> Iterator[None]:
        previous = self.conn.execute("pragma busy_timeout").fetchone()[0]
        self.conn.execute(f"pragma busy_timeout = {int(seconds * 1000)}")
        try:
            yield
        finally:
            self.conn.execute(f"pragma busy_timeout = {int(previous)}")

    def table_names(self) -> list[str]:
        return [r[0] for r in self.conn.execute("select name from sqlite_master where type = 'table'")]

    def _columns(self, table: str) -> list[Column]:
        return [Column(r[1], r[2]) for r in self.conn.execute(f"pragma table_info({quote(table)})")]

    def _pks(self, table: str) -> list[str]:
        info = sorted((r[5], r[1]) for r in self.conn.execute(f"pragma table_info({quote(table)})") if r[5])
        return [name for _, name in info] or ["rowid"]

    def close(self) -> None:
        self.conn.close()
