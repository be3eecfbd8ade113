"""Webhook deliveries from the help desks: checked on the request, worked off by a worker thread.

``receive`` verifies the signature over the raw bytes (a bad or missing one: ``SignatureError``,
nothing stored), records the delivery id (a retry of a delivery is recognised and dropped) and queues
what it means; the webhook answers at once (Chatwoot waits 5 s, Zammad retries slow answers). One
worker thread per process then adds a resolved ticket through the engine (searchable at once) or posts
the one internal note of a new ticket. When the help desk fails a request without doing it (down, 500,
rate-limited), the delivery is tried again later (``RETRY_DELAYS``): the help desk does not send it
again, as the webhook was answered. A delivery accepted but not yet worked off when the process stops
is lost (its id is recorded as ``queued`` or ``retrying``): the help desk is not asked again."""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from deflect.connectors import connector_for
from deflect.connectors.base import Connector, Event, checked_call
from deflect.connectors.http import HelpdeskError
from deflect.connectors.note import NoteOptions, compose_note
from deflect.connectors.records import (
    Connection,
    claim_delivery,
    claim_note,
    finish_delivery,
    get_connection,
    note_posted,
    release_note,
    secret,
)
from deflect.engine import Engine
from deflect.errors import ClientError
from deflect.feedback.history import session_history
from deflect.feedback.learning import learn_from_ticket
from deflect.privacy import Redactor
from deflect.store import Store
from deflect.store.feedback import record_contact, ticket_sessions

log = logging.getLogger(__name__)
RETRY_DELAYS = (10.0, 60.0, 300.0)   # seconds before the second, third and fourth try of a failed delivery


class SignatureError(ClientError):
    """The delivery's signature is missing or wrong."""

    status = 401


@dataclass
class Job:
    connection: str
    delivery_id: str
    event: Event
    attempt: int = 1


class Inbox:
    """The webhook inbox of one process (see the module docstring). ``open_store`` opens a store for
    the worker thread; ``write_lock`` is held while the engine's index changes."""

    def __init__(self, engine: Engine, open_store: Callable[[], Store], options: NoteOptions,
                 redactor: Redactor | None = None, write_lock: threading.Lock | None = None,
                 clock: Callable[[], float] = time.time):
        self.engine, self.open_store, self.options, self.redactor = engine, open_store, options, redactor
        self.write_lock = write_lock or threading.Lock()
        self.clock = clock
        self._connectors: dict[str, tuple[dict, Connector]] = {}
        self._connectors_lock = threading.Lock()
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._pending = 0
        self.retry_delays = RETRY_DELAYS
        self._idle = threading.Condition()
        self._thread = threading.Thread(target=self._work, name="deflect-connector-inbox", daemon=True)
        self._thread.start()

    def connector(self, connection: Connection) -> Connector:
        """The connection's connector, made again when the connection changed."""
        key = vars(connection) | {"last_sync_at": None, "last_error": None, "counts": None}
        with self._connectors_lock:
            known = self._connectors.get(connection.name)
            if known is None or known[0] != key:
                known = (key, connector_for(connection))
                self._connectors[connection.name] = known
            return known[1]

    # -- on the request thread --------------------------------------------------------------
    def receive(self, store: Store, name: str, headers: Mapping[str, str], raw: bytes) -> str:
        """Check and queue one delivery: ``queued``, ``duplicate`` or ``ignored``."""
        connection = get_connection(store, name)
        key = secret(connection)
        connector = self.connector(connection)
        if key:
            if not connector.verify(headers, raw, key, self.clock()):
                raise SignatureError("bad or missing webhook signature")
        elif not connection.options.get("allow_unsigned"):
            raise SignatureError(f"connection {name!r} has no webhook secret to check the signature with",
                                 hint="Set one with `deflect connect ... --webhook-secret-file FILE`.")
        try:
            payload = json.loads(raw)
        except ValueError:
            raise ClientError("the webhook body is not JSON") from None
        if not isinstance(payload, dict):
            raise ClientError("the webhook body must be a JSON object")
        delivery = connector.delivery_id(headers, raw)
        if not claim_delivery(store, name, delivery):
            return "duplicate"
        event = connector.event(payload)
        if event is None:
            finish_delivery(store, name, delivery, "ignored")
            return "ignored"
        with self._idle:
            self._pending += 1
        self._queue.put(Job(name, delivery, event))
        return "queued"

    def _later(self, delay: float, job: Job) -> None:
        """Queue ``job`` again after ``delay`` seconds; it counts as pending until then."""
        with self._idle:
            self._pending += 1
        timer = threading.Timer(delay, self._queue.put, [job])
        timer.daemon = True
        timer.start()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every queued delivery is worked off; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    # -- on the worker thread ---------------------------------------------------------------
    def _work(self) -> None:
        store: Store | None = None
        while True:
            job = self._queue.get()
            if job is None:
                break
            try:
                store = store or self.open_store()
                status = self._handle(store, job)
                finish_delivery(store, job.connection, job.delivery_id, status)
            except Exception as exc:   # one bad delivery must not stop the worker
                again = isinstance(exc, HelpdeskError) and exc.retryable and job.attempt <= len(self.retry_delays)
                log.warning("deflect: webhook delivery %s of %s failed%s: %s", job.delivery_id, job.connection,
                            " (tried again later)" if again else "", exc)
                try:
                    if store is not None:
                        finish_delivery(store, job.connection, job.delivery_id, "retrying" if again else "failed",
                                        str(exc)[:500])
                except Exception:  # noqa: BLE001 - the store itself is failing; the log has it
                    store = None
                if again:
                    self._later(self.retry_delays[job.attempt - 1], replace(job, attempt=job.attempt + 1))
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()
        if store is not None:
            store.close()

    def _handle(self, store: Store, job: Job) -> str:
        connector = self.connector(get_connection(store, job.connection))
        event = job.event
        if event.kind == "resolved":
            ticket = checked_call(connector.connection, connector.fetch_ticket, event.remote_id)
            if ticket is None:
                return "ignored"
            with self.write_lock:
                self.engine.add_tickets([ticket])
            learn_from_ticket(store, ticket.article_id, ticket_sessions(store, ticket.id), ticket.id)
            return "done"
        if event.session:
            record_contact(store, "connector", session=event.session, ticket_id=connector.ticket_id(event.remote_id),
                           known=tuple(event.customer))
        if not claim_note(store, job.connection, event.remote_id):
            return "already_noted"
        try:
            history = session_history(store, [event.session], self.redactor) if event.session else None
            note = compose_note(self.engine, event.subject, event.text, self.options, event.customer, self.redactor,
                                history=history, ticket_id=connector.ticket_id(event.remote_id))
            note_id = checked_call(connector.connection, connector.post_note, event.remote_id, note.html,
                                   note.markdown)
        except BaseException:
            release_note(store, job.connection, event.remote_id)
            raise
        note_posted(store, job.connection, event.remote_id, note_id)
        return "done"
