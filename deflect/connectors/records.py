"""What the store keeps about help-desk connections: the connection itself (never its token), the
resumable cursor of each job, the webhook deliveries seen and the internal notes posted.

Tokens and webhook secrets live in a file (mode 0600) or an environment variable; the store records
only where. ``secret`` and ``token`` read them when they are needed and nothing keeps them."""
from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from deflect.clock import utcnow_iso as utcnow
from deflect.errors import InputError, NotFoundError
from deflect.store import Store

KINDS = ("zammad", "chatwoot")
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@dataclass
class Connection:
    """One help desk deflect is connected to."""

    name: str
    kind: str
    url: str
    token_file: str | None = None
    token_env: str | None = None
    secret_file: str | None = None
    secret_env: str | None = None
    options: dict = field(default_factory=dict)   # account_id (Chatwoot), allow_unsigned, ...
    created_at: str | None = None
    last_sync_at: str | None = None
    last_error: str | None = None
    counts: dict = field(default_factory=dict)

    def public(self) -> dict:
        """What may be shown: where the token is kept, never the token."""
        return {"name": self.name, "kind": self.kind, "url": self.url,
                "token": f"file {self.token_file}" if self.token_file else f"env {self.token_env}",
                "last_sync_at": self.last_sync_at, "last_error": self.last_error, "counts": self.counts}


def _read_secret(path: str | None, env: str | None, what: str) -> str | None:
    if path:
        try:
            value = Path(path).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InputError(f"cannot read the {what} file: {exc.strerror}", path) from None
        return value or None
    if env:
        return (os.environ.get(env) or "").strip() or None
    return None


def token(connection: Connection) -> str:
    """The API token, read now from its file or variable."""
    value = _read_secret(connection.token_file, connection.token_env, "token")
    if not value:
        where = connection.token_file or f"${connection.token_env}"
        raise InputError(f"connection {connection.name!r} has no API token in {where}")
    return value


def secret(connection: Connection) -> str | None:
    """The webhook secret (None when the connection has none)."""
    return _read_secret(connection.secret_file, connection.secret_env, "webhook secret")


def check_private_file(path: str) -> None:
    """A token file must exist and be readable by its owner only (mode 0600 or stricter)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError("no such file", str(p))
    if p.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError("the file can be read by other users", str(p),
                         hint=f"Run `chmod 600 {p}`: tokens must be readable by their owner only.")


def _row(c: Connection) -> dict:
    return {"name": c.name, "kind": c.kind, "url": c.url, "token_file": c.token_file, "token_env": c.token_env,
            "secret_file": c.secret_file, "secret_env": c.secret_env, "options": json.dumps(c.options),
            "created_at": c.created_at or utcnow(), "last_sync_at": c.last_sync_at, "last_error": c.last_error,
            "counts": json.dumps(c.counts)}


def _connection(row: dict) -> Connection:
    return Connection(**{**row, "options": json.loads(row["options"] or "{}"),
                         "counts": json.loads(row["counts"] or "{}")})


def save_connection(store: Store, connection: Connection) -> None:
    """Create or replace a connection (its cursors, deliveries and notes stay)."""
    if not NAME.match(connection.name):
        raise InputError(f"connection name {connection.name!r}: use 1-40 lower-case letters, digits, '-' or '_'")
    if connection.kind not in KINDS:
        raise InputError(f"unknown help desk {connection.kind!r}; known: {', '.join(KINDS)}")
    if not connection.url.startswith(("https://", "http://")):
        raise InputError(f"url {connection.url!r} must start with https:// or http://")
    if not (connection.token_file or connection.token_env):
        raise InputError("give the API token's file or environment variable")
    with store.db.transaction():
        store.db["connections"].upsert(_row(connection), pk="name")


def get_connection(store: Store, name: str) -> Connection:
    rows = list(store.db["connections"].rows_where("name = ?", [name]))
    if not rows:
        raise NotFoundError(f"no connection {name!r}", hint="List them with `deflect connectors`.")
    return _connection(rows[0])


def list_connections(store: Store) -> list[Connection]:
    return [_connection(r) for r in store.db["connections"].rows_where(order_by="name")]


def record_sync(store: Store, name: str, counts: dict | None = None, error: str | None = None) -> None:
    """After a sync: its time and counts, or the error that stopped it."""
    values: dict = {"last_error": error}
    if counts is not None:
        values.update(counts=json.dumps(counts), last_sync_at=utcnow())
    with store.db.transaction():
        store.db["connections"].update(name, values)


def load_cursor(store: Store, name: str, job: str) -> dict:
    row = store.db.execute("select cursor from connector_cursors where connection = ? and job = ?",
                           [name, job]).fetchone()
    return json.loads(row[0]) if row else {}


def save_cursor(store: Store, name: str, job: str, cursor: dict) -> None:
    """Write the cursor; call inside the transaction that stored what it points past."""
    store.db["connector_cursors"].upsert({"connection": name, "job": job, "cursor": json.dumps(cursor),
                                          "updated_at": utcnow()}, pk=("connection", "job"))


def claim_delivery(store: Store, name: str, delivery_id: str) -> bool:
    """Record a webhook delivery; False when it was seen before (a retry)."""
    with store.db.transaction():
        cursor = store.db.execute("insert into connector_deliveries (connection, delivery_id, received_at, status) "
                                  "values (?, ?, ?, 'queued') on conflict (connection, delivery_id) do nothing",
                                  [name, delivery_id, utcnow()])
    return cursor.rowcount == 1


def finish_delivery(store: Store, name: str, delivery_id: str, status: str, error: str | None = None) -> None:
    with store.db.transaction():
        store.db.execute("update connector_deliveries set status = ?, error = ? where connection = ? and "
                         "delivery_id = ?", [status, error, name, delivery_id])


def claim_note(store: Store, name: str, remote_ticket: str) -> bool:
    """Reserve the one internal note of a ticket; False when it has one (or one is being posted)."""
    with store.db.transaction():
        cursor = store.db.execute("insert into connector_notes (connection, remote_ticket, status) "
                                  "values (?, ?, 'posting') on conflict (connection, remote_ticket) do nothing",
                                  [name, remote_ticket])
    return cursor.rowcount == 1


def note_posted(store: Store, name: str, remote_ticket: str, note_id: str | None) -> None:
    with store.db.transaction():
        store.db.execute("update connector_notes set status = 'posted', note_id = ?, posted_at = ? "
                         "where connection = ? and remote_ticket = ?", [note_id, utcnow(), name, remote_ticket])


def release_note(store: Store, name: str, remote_ticket: str) -> None:
    """The note could not be posted: free the ticket for the next attempt."""
    with store.db.transaction():
        store.db.execute("delete from connector_notes where connection = ? and remote_ticket = ? and "
                         "status = 'posting'", [name, remote_ticket])


def activity(store: Store, name: str) -> dict[str, int]:
    """Webhook deliveries by status and notes posted, for ``deflect connectors``."""
    q = store.db.execute
    counts = dict(q("select status, count(*) from connector_deliveries where connection = ? group by status",
                    [name]).fetchall())
    counts["notes"] = q("select count(*) from connector_notes where connection = ? and status = 'posted'",
                        [name]).fetchone()[0]
    return counts
