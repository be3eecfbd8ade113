"""One database interface over SQLite (a file, the default) and PostgreSQL (a ``postgresql://`` URL).

The store and every feature speak to ``Database``: ``execute`` with ``?`` (or ``:name``) placeholders,
table operations (``db["t"].insert/upsert_all/update/get/rows_where/delete/count``), ``transaction()``,
``table_names()``, and the few DDL operations migrations use. The SQL itself is written to run on both
(``INSERT ... ON CONFLICT``, ISO-8601 string comparisons, no rowid); what differs between the two engines
(placeholder syntax, column types, how to connect, lock and reconnect) lives here and nowhere else.

PostgreSQL connections are per thread, taken from a small per-process pool and checked before reuse, so a
restarted server is reconnected to; while it cannot be reached every call raises ``StoreUnavailable``
(HTTP 503 with Retry-After).
"""
from __future__ import annotations

import json
import re
import sqlite3
import threading
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
from psycopg.adapt import Loader

from deflect.errors import StoreUnavailable

# What the driver raises for any database error, for a unique or primary key violation, and for a
# statement that could not run now (locked, busy, gone).
DatabaseErrors: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)
IntegrityErrors: tuple[type[Exception], ...] = (sqlite3.IntegrityError, psycopg.IntegrityError)
OperationalErrors: tuple[type[Exception], ...] = (sqlite3.OperationalError, psycopg.OperationalError)

_SQLITE_TYPES = {str: "TEXT", int: "INTEGER", float: "FLOAT", bytes: "BLOB"}
_POSTGRES_TYPES = {str: "TEXT", int: "BIGINT", float: "DOUBLE PRECISION", bytes: "BYTEA"}
RETRY_AFTER_SECONDS = 5


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


_EMPTY_IN = re.compile(r"(?i)\bin\s*\(\s*\)")


@lru_cache(maxsize=2048)
def _postgres_sql(sql: str) -> str:
    """``?`` and ``:name`` placeholders as psycopg's ``%s``/``%(name)s``, literal ``%`` doubled; quoted
    strings and identifiers are left alone. An empty ``in ()`` (SQLite: no value matches) becomes an
    empty subquery, which PostgreSQL accepts with the same meaning, ``not in`` included."""
    sql = _EMPTY_IN.sub("in (select null where false)", sql)
    out, i, n = [], 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"":
            end = sql.find(ch, i + 1)
            while end != -1 and end + 1 < n and sql[end + 1] == ch:   # doubled quote inside
                end = sql.find(ch, end + 2)
            end = n - 1 if end == -1 else end
            out.append(sql[i:end + 1].replace("%", "%%"))
            i = end + 1
        elif ch == "?":
            out.append("%s")
            i += 1
        elif ch == "%":
            out.append("%%")
            i += 1
        elif ch == ":" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_") and sql[i - 1:i] != ":":
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            out.append(f"%({sql[i + 1:j]})s")
            i = j
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class _NumericLoader(Loader):
    """``sum()``/``avg()`` give NUMERIC on PostgreSQL: read it as an int when whole (a count, as SQLite
    gives), else as a float, never as a Decimal the JSON encoder refuses."""

    def load(self, data):
        value = Decimal(bytes(data).decode())
        return int(value) if value == value.to_integral_value() else float(value)


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
                sql += (" GENERATED BY DEFAULT AS IDENTITY" if kind is int and self.db.dialect == "postgresql"
                        else "") + " PRIMARY KEY"
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
        if self.db.dialect == "postgresql":
            self.db.execute(f"ALTER TABLE {quote(self.name)} ADD COLUMN {quote(name)} "
                            "BIGINT GENERATED BY DEFAULT AS IDENTITY")
        else:
            self.add_column(name, int)
            self.db.execute(f"UPDATE {quote(self.name)} SET {quote(name)} = rowid")
            self.db.execute(f"CREATE TRIGGER {quote(f'{self.name}_{name}')} AFTER INSERT ON {quote(self.name)} "
                            f"WHEN NEW.{quote(name)} IS NULL BEGIN UPDATE {quote(self.name)} SET {quote(name)} = "
                            f"NEW.rowid WHERE rowid = NEW.rowid; END")
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


class Database:
    """A connection to the store's database; see the module docstring."""

    dialect: str
    column_types: dict[type, str]

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
    column_types = _SQLITE_TYPES

    def __init__(self, path: str | Path, check_same_thread: bool = True, conn: sqlite3.Connection | None = None):
        """The file at ``path``, through ``conn`` when one is given (already open)."""
        self.path = Path(path)
        if conn is None:
            conn = sqlite3.connect(str(self.path), timeout=30, check_same_thread=check_same_thread)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        self.conn = conn

    def execute(self, sql: str, params: Sequence | Mapping | None = None) -> sqlite3.Cursor:
        return self.conn.execute(sql, params if params is not None else ())

    def executemany(self, sql: str, rows: list[Sequence]) -> None:
        self.conn.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.conn:
            yield

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


class _Pool:
    """Idle PostgreSQL connections of this process, per URL; each is checked before it is reused."""

    def __init__(self, url: str, size: int = 16):
        self.url, self.size, self.lock, self.idle = url, size, threading.Lock(), []

    def take(self) -> psycopg.Connection:
        while True:
            with self.lock:
                conn = self.idle.pop() if self.idle else None
            if conn is None:
                break
            try:   # a restarted server closed it: find out here, not in the caller's statement
                conn.execute("select 1")
                return conn
            except psycopg.Error:
                conn.close()
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            raise unavailable(exc) from exc
        conn.adapters.register_loader("numeric", _NumericLoader)
        return conn

    def give(self, conn: psycopg.Connection) -> None:
        if conn.closed or conn.broken or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.close()
            return
        with self.lock:
            if len(self.idle) < self.size:
                self.idle.append(conn)
                return
        conn.close()


_POOLS: dict[str, _Pool] = {}
_POOLS_LOCK = threading.Lock()
_SHAPES: dict[tuple[str, str], tuple[list[Column], list[str]]] = {}


def release(url: str) -> None:
    """Close this process's idle connections to ``url`` (before the database is dropped)."""
    with _POOLS_LOCK:
        pool = _POOLS.pop(url, None)
    for conn in pool.idle if pool else ():
        conn.close()
    for key in [k for k in _SHAPES if k[0] == url]:
        _SHAPES.pop(key, None)


def unavailable(exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(f"the database cannot be reached: {str(exc).strip().splitlines()[0] if str(exc) else exc}",
                            retry_after=RETRY_AFTER_SECONDS)


class PostgresDatabase(Database):
    dialect = "postgresql"
    column_types = _POSTGRES_TYPES

    def __init__(self, url: str):
        self.url = url
        with _POOLS_LOCK:
            self.pool = _POOLS.setdefault(url, _Pool(url))
        self.local = threading.local()
        self.taken: list[psycopg.Connection] = []
        self.taken_lock = threading.Lock()
        self._connection()   # fail now if the server cannot be reached

    def _connection(self) -> psycopg.Connection:
        conn = getattr(self.local, "conn", None)
        if conn is not None and not conn.broken and not conn.closed:
            return conn
        conn = self.pool.take()
        self.local.conn = conn
        with self.taken_lock:
            self.taken.append(conn)
        return conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except psycopg.OperationalError as exc:
            conn = getattr(self.local, "conn", None)
            if conn is None or conn.broken or conn.closed:   # the server went away: 503, reconnect next time
                self.local.conn = None
                raise unavailable(exc) from exc
            raise

    def execute(self, sql: str, params: Sequence | Mapping | None = None) -> psycopg.Cursor:
        with self._errors():
            conn = self._connection()
            return conn.execute(_postgres_sql(sql), params if params is not None else ())

    def executemany(self, sql: str, rows: list[Sequence]) -> None:
        with self._errors():
            with self._connection().cursor() as cur:
                cur.executemany(_postgres_sql(sql), rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._errors():
            conn = self._connection()
            with conn.transaction():
                yield

    @contextmanager
    def migration_lock(self) -> Iterator[None]:
        with self.transaction():
            self.execute("select pg_advisory_xact_lock(?)", [zlib.crc32(b"deflect migrations")])
            yield

    @contextmanager
    def busy_timeout(self, seconds: float) -> Iterator[None]:
        self.execute(f"set lock_timeout = {max(1, int(seconds * 1000))}")
        try:
            yield
        finally:
            try:
                self.execute("reset lock_timeout")
            except (psycopg.Error, StoreUnavailable):
                pass

    def table_names(self) -> list[str]:
        return [r[0] for r in self.execute("select table_name from information_schema.tables "
                                           "where table_schema = current_schema() order by table_name")]

    def _shape(self, table: str) -> tuple[list[Column], list[str]]:
        key = (self.url, table)
        if key not in _SHAPES:
            columns = [Column(r[0], r[1].upper()) for r in self.execute(
                "select column_name, data_type from information_schema.columns where table_schema = "
                "current_schema() and table_name = ? order by ordinal_position", [table])]
            pks = [r[0] for r in self.execute(
                "select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid and "
                "a.attnum = any(i.indkey) where i.indrelid = cast(? as regclass) and i.indisprimary "
                "order by array_position(i.indkey, a.attnum)", [quote(table)])]
            if not columns:
                return columns, pks
            _SHAPES[key] = (columns, pks)
        return _SHAPES[key]

    def _columns(self, table: str) -> list[Column]:
        return self._shape(table)[0]

    def _pks(self, table: str) -> list[str]:
        return self._shape(table)[1]

    def _forget(self, table: str) -> None:
        _SHAPES.pop((self.url, table), None)

    def close(self) -> None:
        with self.taken_lock:
            taken, self.taken = self.taken, []
        for conn in taken:
            self.pool.give(conn)
        self.local = threading.local()


def connect(location: str | Path, check_same_thread: bool = True) -> Database:
    """The database at ``location``: a ``postgresql://`` URL, else a SQLite file path."""
    if is_url(location):
        return PostgresDatabase(str(location))
    return SQLiteDatabase(location, check_same_thread=check_same_thread)
