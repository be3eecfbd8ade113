"""Reading again the resolved tickets that were edited after deflect imported them.

The backfill walks a help desk's listing by ascending id and reads a ticket once, when it first finds it
resolved. A ticket edited after that -- a customer's follow-up reopened it and an agent answered and closed
it again, an agent linked the article that answered it -- would change in the help desk only (a webhook,
where one is set up, brings such a change at once). So, once a day after the new tickets, the listing is
walked again from its first page, and the resolved tickets edited since the previous walk began are read
again (the store counts one as changed only when something changed). A walk is resumable like the
backfill; a ticket edited while it runs is read by the next one.

The cursor keeps ``checked`` (every resolved ticket as it was at that time is stored), ``begun`` (when the
first walk over all tickets began, until it ends) and ``reread`` (the walk under way: its page, the last id
looked at, when it began and from which time on it reads)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from deflect.clock import iso, parse_time, utcnow
from deflect.connectors.base import resume_page
from deflect.formats import Ticket

REREAD_EVERY = timedelta(days=1)
CLOCK_MARGIN = timedelta(hours=1)   # the help desk's clock and this machine's may differ
KEYS = ("checked", "begun", "reread")


def carried(cursor: dict, now: datetime | None = None) -> dict:
    """The re-read state of ``cursor`` for the cursors of this run's pages (a first walk records when it
    began; so does a cursor of an older release, which knows nothing of it)."""
    kept = {k: cursor[k] for k in KEYS if cursor.get(k)}
    if "checked" not in kept:
        kept.setdefault("begun", iso(now or utcnow()))
    return kept


def walked(cursor: dict) -> dict:
    """The cursor of the page that ends a walk over the new tickets: a first walk's beginning becomes the
    time up to which every resolved ticket is stored."""
    done = dict(cursor)
    begun = done.pop("begun", None)
    if not done.get("checked") and begun:
        done["checked"] = begun
    return done


def reread_pages(cursor: dict, read_page: Callable[[int], list[dict]], per_page: int,
                 edited_at: Callable[[dict], datetime | None], resolved: Callable[[dict], bool],
                 ticket: Callable[[dict], Ticket | None],
                 now: datetime | None = None) -> Iterator[tuple[list[Ticket], dict]]:
    """After the walk over the new tickets ended with ``cursor``: when a day has passed since ``checked``
    (or a walk is under way), the resolved tickets up to the cursor's ``last_id`` edited since then, a page
    at a time with the cursor past that page. ``read_page(n)`` lists by ascending id, ``per_page`` rows a
    full page; ``edited_at(row)`` is when the ticket last changed (None: unknown, read it)."""
    now = now or utcnow()
    state = cursor.get("reread")
    if not state:
        checked = parse_time(cursor.get("checked"))
        if checked is None or now - checked < REREAD_EVERY:
            return
        state = {"page": 1, "last_id": 0, "since": cursor["checked"], "started": iso(now)}
    since = parse_time(state["since"]) - CLOCK_MARGIN
    limit = int(cursor.get("last_id", 0))   # later ones are the new tickets' walk
    last = int(state["last_id"])
    page, rows = resume_page(read_page, int(state["page"]), last)
    while True:
        tickets = []
        for row in sorted(rows, key=lambda r: int(r["id"])):
            remote = int(row["id"])
            if remote <= last or remote > limit:
                continue
            last = remote
            when = edited_at(row)
            if resolved(row) and (when is None or when >= since):
                found = ticket(row)
                if found is not None:
                    tickets.append(found)
        if len(rows) >= per_page and max(int(r["id"]) for r in rows) < limit:
            state = {**state, "page": page + 1, "last_id": last}
            yield tickets, {**cursor, "reread": state}
            page += 1
            rows = read_page(page)
            continue
        done = {k: v for k, v in cursor.items() if k != "reread"}
        yield tickets, {**done, "checked": state["started"]}
        return


def edited_time(row: dict, *fields: str) -> datetime | None:
    """The latest of a row's time ``fields`` (ISO text or seconds since the epoch); None without any."""
    times = []
    for name in fields:
        value = row.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            times.append(datetime.fromtimestamp(value, UTC))
        elif isinstance(value, str) and (moment := parse_time(value)) is not None:
            times.append(moment)
    return max(times) if times else None
