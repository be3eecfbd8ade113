"""The PostgreSQL side of ``deflect.store.database``: psycopg connections, one per thread from a small
per-process pool (checked before reuse, so a restarted server is reconnected to), placeholders in
psycopg's style, and ``StoreUnavailable`` (HTTP 503 with Retry-After) while the server cannot be reached."""
from __future__ import annotations

import os
import re
import threading
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.adapt import Loader

from deflect.errors import DeflectError, StoreUnavailable
from deflect.settings import without_password
from deflect.store.database import Column, Database, quote

RETRY_AFTER_SECONDS = 5


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


class _Pool:
    """Idle PostgreSQL connections of this process, per URL; each is checked before it is reused."""

    def __init__(self, url: str, size: int = 16):
        self.url, self.size, self.lock, self.idle = url, size, threading.Lock(), []
        self.connected = False   # once: a setting that worked and fails now (a rotated password) is an outage

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
        except psycopg.Error as exc:
            raise connect_error(exc, self.url, worked=self.connected) from exc
        self.connected = True
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


def _first_line(exc: BaseException) -> str:
    said = str(exc).strip()
    return said.splitlines()[0] if said else type(exc).__name__


def unavailable(exc: BaseException, url: str | None = None) -> StoreUnavailable:
    return StoreUnavailable(f"the database cannot be reached: {without_password(url, _first_line(exc))}",
                            retry_after=RETRY_AFTER_SECONDS)


# What the server or the driver says when the URL is wrong: retrying does not help, the setting must change.
_SETTING_FAULTS = ("authentication failed", "no password supplied", "does not exist", "permission denied",
                   "invalid connection option", "missing \"=\"", "unexpected spaces", "invalid integer value",
                   "invalid port", "invalid dsn", "invalid uri", "failed to resolve host")


_SETTING_HINT = ("Check DEFLECT_DATABASE_URL: user, password, host, port and database name; write / @ : % and "
                 "spaces in the password as %2F %40 %3A %25 %20.")


# What the driver says when nothing answered at the address (a server still starting, a wrong host or port)
_UNREACHED = ("connection refused", "timeout expired", "no such file or directory", "no route to host",
              "network is unreachable", "could not connect")


def _where(url: str) -> str:
    """Where a database URL points, for a hint: host and port as the URL or PGHOST/PGPORT name them."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        return "the host and port it names"
    host = info.get("host") or os.environ.get("PGHOST") or ""
    port = info.get("port") or os.environ.get("PGPORT") or "5432"
    if "," in host or "," in port:
        return "each host and port it names"
    if not host or host.startswith("/"):
        return f"the local socket{' in ' + host if host else ''} (port {port})"
    return f"host {host}, port {port}"


def connect_error(exc: psycopg.Error, url: str, worked: bool = False) -> DeflectError:
    """A failed connect: the database's setting is wrong (a DeflectError naming what to check), or the
    server is away for now (StoreUnavailable: 503 and a retry). Where the setting ``worked`` before in
    this process (a password rotated, a name server away), a running service answers 503 too, with the
    setting's hint: its clients retry, and it recovers without a restart. The password is never shown."""
    if isinstance(exc, psycopg.ProgrammingError) or any(f in str(exc).lower() for f in _SETTING_FAULTS):
        message = f"cannot connect to {without_password(url)}: {without_password(url, _first_line(exc))}"
        if worked:
            return StoreUnavailable(message, hint=_SETTING_HINT, retry_after=RETRY_AFTER_SECONDS)
        return DeflectError(message, hint=_SETTING_HINT)
    if not worked and any(f in str(exc).lower() for f in _UNREACHED):   # a server starting, or a wrong address
        return StoreUnavailable(f"the database cannot be reached: {without_password(url, _first_line(exc))}",
                                hint=f"Is PostgreSQL running and listening at {_where(url)}? Check the host and "
                                     f"port in DEFLECT_DATABASE_URL; if the server is starting, try again in "
                                     f"{RETRY_AFTER_SECONDS} seconds.", retry_after=RETRY_AFTER_SECONDS)
    return unavailable(exc, url)


def _without_nul(params: Sequence | Mapping) -> Sequence | Mapping:
    """PostgreSQL text holds no NUL character (SQLite does): one typed into the widget would make its row
    impossible to store, and, spooled, every row after it. It is dropped, as it carries nothing."""
    def clean(value: Any) -> Any:
        return value.replace("\x00", "") if isinstance(value, str) and "\x00" in value else value
    if isinstance(params, Mapping):
        return {k: clean(v) for k, v in params.items()}
    return [clean(v) for v in params]


class PostgresDatabase(Database):
    dialect = "postgresql"
    column_types = {str: "TEXT", int: "BIGINT", float: "DOUBLE PRECISION", bytes: "BYTEA"}
    numbered = " GENERATED BY DEFAULT AS IDENTITY"

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
                raise unavailable(exc, self.url) from exc
            raise

    def execute(self, sql: str, params: Sequence | Mapping | None = None) -> psycopg.Cursor:
        with self._errors():
            conn = self._connection()
            return conn.execute(_postgres_sql(sql), _without_nul(params) if params is not None else ())

    def executemany(self, sql: str, rows: list[Sequence]) -> None:
        with self._errors():
            with self._connection().cursor() as cur:
                cur.executemany(_postgres_sql(sql), [_without_nul(r) for r in rows])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._errors():
            conn = self._connection()
            with conn.transaction():
                yield

    def add_sequence(self, table: str, column: str) -> None:
        self.execute(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column)} BIGINT{self.numbered}")

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
