"""What every help-desk connector does, and the pieces they share.

A connector reads the help desk's knowledge base and resolved tickets page by page from a cursor
(``ticket_pages``), fetches one ticket's conversation (``fetch_ticket``), checks and reads webhook
deliveries (``verify``, ``delivery_id``, ``event``) and posts an internal note (``post_note``).
Tickets are stored under ``<connection>-<remote id>`` so two help desks never share an id."""
from __future__ import annotations

import hmac
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from deflect.connectors.http import HelpdeskClient, HelpdeskError
from deflect.connectors.records import Connection, token
from deflect.errors import DeflectError
from deflect.formats import Article, Ticket

T = TypeVar("T")
# what reading an answer of another shape raises (a list where an object belongs, a missing key, text
# where a number belongs): the URL points at another service or another API version
SHAPE_FAULTS = (KeyError, IndexError, TypeError, AttributeError, ValueError)
PENDING_MAX = 5000      # tickets not resolved yet, remembered to look at again on later runs
PENDING_CHECKS = 200    # of them, looked at per run
LINKS_MAX_AGE = 600.0   # seconds the map of article links is trusted before it is read again
LINKS_REREAD = 5.0      # at most this often, when a ticket links an article the map does not know yet
_URL = re.compile(r"https?://[^\s<>\"')\]]+")


@dataclass
class Event:
    """What a webhook delivery means for deflect."""

    kind: str                      # "new": a customer opened a ticket; "resolved": it was closed
    remote_id: str                 # the ticket's id in the help desk (Chatwoot: the conversation's display id)
    subject: str = ""
    text: str = ""                 # the customer's words (for "new")
    customer: tuple[str, ...] = ()   # the customer's name and address, removed before anything is stored
    session: str | None = None     # the widget session the contact form sent (custom field deflect_session)


def shape_error(connection: Connection, exc: Exception) -> HelpdeskError:
    """The error for an answer deflect cannot read as the help desk's API."""
    kind = connection.kind.capitalize()
    return HelpdeskError(f"the help desk at {connection.url} answered in a shape that is not {kind}'s API "
                         f"({type(exc).__name__}: {exc})",
                         hint=f"Check that {connection.url} is {kind}'s own address (not a proxy's login page or "
                              f"another service); to change it, connect again: `deflect connect {connection.kind} "
                              f"--name {connection.name} --url URL` with its token options.")


@contextmanager
def answers_of(connection: Connection) -> Iterator[None]:
    """Within the block, an answer of another shape is told as a HelpdeskError naming the address."""
    try:
        yield
    except DeflectError:
        raise
    except SHAPE_FAULTS as exc:
        raise shape_error(connection, exc) from exc


def checked_call(connection: Connection, read: Callable[..., T], *args) -> T:
    """``read(*args)``, with an answer of another shape told as a HelpdeskError."""
    with answers_of(connection):
        return read(*args)


def checked_pages(connection: Connection, pages: Iterable[T]) -> Iterator[T]:
    """The items of a connector's iterator, with an answer of another shape told as a HelpdeskError."""
    with answers_of(connection):
        yield from pages


def resume_page(read_page: Callable[[int], list[dict]], page: int, last_id: int) -> tuple[int, list[dict]]:
    """Where a listing by ascending id resumes, and that page's rows: the page before the cursor's, or
    further back while that page is empty or begins after ``last_id``. Tickets deleted since the last run
    (a retention rule can delete thousands) move the later ones to earlier pages; the steps back double, so
    that is a few requests, and the ones already read are skipped by id."""
    page, step = max(1, page - 1), 1
    rows = read_page(page)
    while page > 1 and (not rows or int(rows[0]["id"]) > last_id):
        page, step = max(1, page - step), step * 2
        rows = read_page(page)
    return page, rows


def note_id(answer: object, what: str) -> str:
    """The id of a note the help desk says it stored; without one the note counts as not posted (a later
    delivery tries again), never as posted."""
    if isinstance(answer, dict) and answer.get("id") is not None:
        return str(answer["id"])
    raise HelpdeskError(f"{what}: the help desk answered without the new note's id, so it is not counted as "
                        "posted")


def session_field(attributes: object) -> str | None:
    """The widget session from a help desk's custom attributes (``deflect_session``), if any."""
    value = attributes.get("deflect_session") if isinstance(attributes, dict) else None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        return None
    return str(value).strip()[:128] or None


def urls_in(text: str) -> list[str]:
    return [u.rstrip(".,;:!?") for u in _URL.findall(text or "")]


def signature_matches(expected_hex: str, header: str | None, prefix: str) -> bool:
    """Constant-time comparison of ``<prefix><hex>`` with the signature the help desk sent."""
    if not header or not header.startswith(prefix):
        return False
    return hmac.compare_digest(expected_hex, header[len(prefix):].strip().lower())


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A request header, whatever its case (werkzeug's headers and plain dicts alike)."""
    value = headers.get(name)
    if value is None:
        lowered = {k.lower(): v for k, v in headers.items()}
        value = lowered.get(name.lower())
    return value


class Connector(ABC):
    """One help desk's API (see the module docstring)."""

    kind = ""

    def __init__(self, connection: Connection, client: HelpdeskClient | None = None):
        self.connection = connection
        self.client = client or HelpdeskClient(connection.url, self.auth_headers(token(connection)))
        self.client.connect_command = f"deflect connect {self.kind} --name {connection.name} --url URL"
        self.client.connection_name = connection.name
        self._links_read_at: float | None = None
        self._unknown_links: set = set()   # links looked for after a read and not found (internal articles)

    def _links_stale(self) -> bool:
        """Whether the article links must be read (again): never read, or older than LINKS_MAX_AGE, so
        that an article published while the service runs is recognised in the webhooks after it."""
        return self._links_read_at is None or time.monotonic() - self._links_read_at > LINKS_MAX_AGE

    def _refresh_if_stale(self) -> None:
        if self._links_stale():
            self._unknown_links = set()
            self._refresh_links()

    def _reread_for(self, missing: set) -> bool:
        """Read the article links again for links the map lacks -- an article published minutes ago --
        unless they were looked for since the last regular read (an internal article, linked on many
        tickets, would else cost a read each), at most every LINKS_REREAD seconds; whether it read."""
        new = missing - self._unknown_links
        if not new or (self._links_read_at is not None and time.monotonic() - self._links_read_at < LINKS_REREAD):
            return False
        self._unknown_links |= new
        self._refresh_links()
        return True

    def _look_again(self, pending: list[str], fetch: Callable[[str], dict | None],
                    state: Callable[[dict], str]) -> tuple[list[Ticket], list[str]]:
        """The remembered open tickets resolved by now, and those to look at again (the ones not looked at
        this time first, so each gets its turn). ``fetch(id)``: the ticket's row (404: deleted);
        ``state(row)``: "resolved", "gone" (it never will be: merged) or anything else (still open)."""
        checked, later = pending[:PENDING_CHECKS], pending[PENDING_CHECKS:]
        tickets = []
        for remote_id in checked:
            try:
                row = fetch(remote_id)
            except HelpdeskError as exc:
                if exc.http_status == 404:
                    continue   # deleted
                raise
            if not row:
                continue
            kind = state(row)
            if kind == "resolved":
                ticket = self._ticket(row)
                if ticket is not None:
                    tickets.append(ticket)
            elif kind != "gone":
                later.append(remote_id)
        return tickets, later

    @abstractmethod
    def _ticket(self, row: dict) -> Ticket | None:
        """A help desk's ticket row as deflect's ticket (None: nothing to learn from)."""

    def _refresh_links(self) -> None:
        for _ in self.articles():   # reading every article records the links and their time
            pass

    def _links_read(self) -> None:
        self._links_read_at = time.monotonic()

    @abstractmethod
    def auth_headers(self, api_token: str) -> dict[str, str]:
        """The headers that carry the API token."""

    def ticket_id(self, remote_id: str | int) -> str:
        return f"{self.connection.name}-{remote_id}"

    # -- backfill ---------------------------------------------------------------------------
    @abstractmethod
    def articles(self) -> Iterator[Article]:
        """The published knowledge-base articles, one per language."""

    @abstractmethod
    def ticket_pages(self, cursor: dict) -> Iterator[tuple[list[Ticket], dict]]:
        """Resolved tickets from ``cursor`` on, a page at a time with the cursor past that page."""

    @abstractmethod
    def fetch_ticket(self, remote_id: str) -> Ticket | None:
        """One resolved ticket with its conversation (None when it holds no customer question)."""

    # -- webhook in, note out ---------------------------------------------------------------
    @abstractmethod
    def verify(self, headers: Mapping[str, str], raw: bytes, secret: str, now: float) -> bool:
        """Whether the delivery's signature over the raw body is right."""

    @abstractmethod
    def delivery_id(self, headers: Mapping[str, str], raw: bytes) -> str:
        """The delivery's id, the same on each retry of it."""

    @abstractmethod
    def event(self, payload: dict) -> Event | None:
        """What the delivery means (None: nothing for deflect)."""

    @abstractmethod
    def post_note(self, remote_id: str, html: str, markdown: str) -> str:
        """Post an internal note (never visible to the customer) on the ticket, as HTML or Markdown,
        whichever the help desk shows; its id (``note_id``)."""
