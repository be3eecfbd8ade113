"""The web service's tables: feedback events (behind the deflection metrics) and API keys (hashed).
Their schema is in ``deflect.store.service_schema``."""
from __future__ import annotations

import hashlib
import secrets
import uuid
import zlib
from datetime import UTC, datetime

from deflect.clock import utcnow_iso
from deflect.errors import InputError, NotFoundError
from deflect.store.core import Store
from deflect.store.database import OperationalErrors, RowNotFound

SCOPES = ("agent", "admin")
EVENTS = ("helpful", "not_helpful", "contacted_support", "clicked")
KEY_PREFIX = "dfk_"


# -- API keys -------------------------------------------------------------------------------
def hash_key(key: str) -> str:
    """sha256 hex digest of a key (keys are random 256-bit tokens, so no salt or KDF is needed)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _public(row: dict) -> dict:
    return {k: row[k] for k in ("id", "name", "scope", "prefix", "created_at", "last_used_at", "revoked_at")}


def create_key(store: Store, name: str, scope: str = "agent") -> tuple[dict, str]:
    """Create a key; returns its record and the key itself (shown once, only its hash is stored)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InputError("a key needs a name of 1 to 100 characters",
                         hint="Use --name, e.g. --name helpdesk.")
    if scope not in SCOPES:
        raise InputError(f"unknown scope {scope!r}", hint="Use 'agent' or 'admin'.")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = {"id": uuid.uuid4().hex[:12], "name": name, "scope": scope, "key_hash": hash_key(key),
           "prefix": key[:len(KEY_PREFIX) + 6], "created_at": utcnow_iso(), "last_used_at": None,
           "revoked_at": None}
    store.db["api_keys"].insert(row)
    return _public(row), key


def list_keys(store: Store, include_revoked: bool = True) -> list[dict]:
    where = None if include_revoked else "revoked_at is null"
    return [_public(r) for r in store.db["api_keys"].rows_where(where, order_by="created_at, seq")]


def revoke_key(store: Store, id_or_name: str) -> list[dict]:
    """Revoke the key with this id, or every active key with this name; returns the revoked keys."""
    rows = list(store.db["api_keys"].rows_where(
        "revoked_at is null and (id = ? or name = ?)", [id_or_name, id_or_name]))
    if not rows:
        raise NotFoundError(f"no active key with id or name {id_or_name!r}",
                            hint="See `deflect keys list` for the ids.")
    now = utcnow_iso()
    with store.db.transaction():
        for row in rows:
            store.db["api_keys"].update(row["id"], {"revoked_at": now})
            row["revoked_at"] = now
    return [_public(r) for r in rows]


def verify_key(store: Store, key: str, touch_after_s: int = 60) -> dict | None:
    """The active key record for ``key``, or None; records the last use (at most once a minute)."""
    if not key or not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    row = store.db.execute(
        "select id, name, scope, prefix, created_at, last_used_at, revoked_at from api_keys "
        "where key_hash = ? and revoked_at is null", [hash_key(key)]).fetchone()
    if row is None:
        return None
    record = dict(zip(("id", "name", "scope", "prefix", "created_at", "last_used_at", "revoked_at"), row,
                      strict=True))
    now = datetime.now(UTC)
    last = record["last_used_at"]
    if last is None or (now - datetime.fromisoformat(last)).total_seconds() >= touch_after_s:
        try:
            with store.db.transaction():
                store.db.execute("update api_keys set last_used_at = ? where id = ?",
                                 [now.replace(microsecond=0).isoformat(), record["id"]])
        except OperationalErrors:  # a busy database must not fail the request
            pass
    return record


# -- feedback -------------------------------------------------------------------------------
def get_inquiry(store: Store, inquiry_id: str) -> dict | None:
    try:
        return store.db["inquiries"].get(inquiry_id)
    except RowNotFound:
        return None


def feedback_row(inquiry_id: str, event: str, article_id: str | None = None, session: str | None = None) -> dict:
    """A feedback event as stored (its inquiry is checked when it is written)."""
    if event not in EVENTS:
        raise InputError(f"unknown event {event!r}", hint="Use one of: " + ", ".join(EVENTS) + ".")
    return {"id": uuid.uuid4().hex, "inquiry_id": inquiry_id, "article_id": article_id, "event": event,
            "session": session, "created_at": utcnow_iso()}


def write_feedback(store: Store, rows: list[dict]) -> int:
    """Store feedback rows (upserted by id) whose inquiry exists; returns how many had none."""
    ids = [r["inquiry_id"] for r in rows]
    marks = ",".join("?" * len(ids))
    known = {r[0] for r in store.db.execute(f"select id from inquiries where id in ({marks})", ids)} if ids else set()
    keep = [r for r in rows if r["inquiry_id"] in known]
    if keep:
        with store.db.transaction():
            store.db["feedback"].upsert_all(keep, pk="id")
    return len(rows) - len(keep)


VOTES = ("helpful", "not_helpful")


def earlier_vote(store: Store, inquiry_id: str, event: str, article_id: str | None) -> tuple[str, str] | None:
    """(id, event) of the vote already given on this suggestion (inquiry and article) when ``event`` is a
    vote: the first one counts. A page shown again (reload, back) offers the buttons again, and one
    customer's "helpful" and "not helpful" on one answer would count as two opinions."""
    if event not in VOTES:
        return None
    if store.db.dialect == "postgresql":   # two requests at once: the second waits for the first's vote
        store.db.execute("select pg_advisory_xact_lock(?)", [zlib.crc32(f"vote:{inquiry_id}".encode())])
    row = store.db.execute("select id, event from feedback where inquiry_id = ? and coalesce(article_id, '') = ? "
                           "and event in ('helpful', 'not_helpful') order by created_at, id limit 1",
                           [inquiry_id, article_id or ""]).fetchone()
    return (row[0], row[1]) if row else None


def record_vote(store: Store, inquiry_id: str, event: str, article_id: str | None = None,
                session: str | None = None) -> tuple[str, tuple[str, str] | None]:
    """``record_feedback``, unless the suggestion has a vote already (``earlier_vote``): (the new event's
    id, None) or (the earlier vote's id, the earlier vote). One transaction, so that two votes sent at once
    (two tabs, a request repeated) are one: SQLite's takes the write lock first, PostgreSQL's a lock on
    the inquiry."""
    with store.db.transaction():
        earlier = earlier_vote(store, inquiry_id, event, article_id)
        if earlier is not None:
            return earlier[0], earlier
        return record_feedback(store, inquiry_id, event, article_id, session), None


def record_feedback(store: Store, inquiry_id: str, event: str, article_id: str | None = None,
                    session: str | None = None) -> str:
    """Store one feedback event for a logged inquiry; returns its id."""
    if event not in EVENTS:
        raise InputError(f"unknown event {event!r}", hint="Use one of: " + ", ".join(EVENTS) + ".")
    inquiry = get_inquiry(store, inquiry_id)
    if inquiry is None:
        raise NotFoundError(f"no inquiry {inquiry_id!r}")
    # a vote counts for an article the suggestion showed (the public endpoint must not fill "found an
    # answer" for any article); rows logged before ``shown`` existed know their first article only
    shown = [a for a in (inquiry.get("shown") or "").split(",") if a] or [inquiry.get("article_id")]
    if article_id is not None and article_id not in shown:
        raise InputError(f"article {article_id!r} was not shown for inquiry {inquiry_id!r}",
                         hint="Send the article_id of one of the articles the suggestion showed, or none.")
    fid = uuid.uuid4().hex
    store.db["feedback"].insert({
        "id": fid, "inquiry_id": inquiry_id, "article_id": article_id, "event": event,
        "session": session or inquiry.get("session"), "created_at": utcnow_iso(),
    })
    return fid
