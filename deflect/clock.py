"""Time as deflect stores it: UTC, whole seconds, ISO 8601 (so stored times sort as text)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    """Now, in UTC, without microseconds."""
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime) -> str:
    """``moment`` as stored: UTC ISO 8601 with seconds."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def utcnow_iso() -> str:
    """Now, as stored."""
    return iso(utcnow())


def parse_time(value: str | None) -> datetime | None:
    """A stored or given ISO time (``Z`` allowed; naive means UTC); None when empty or unreadable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class SimulatedClock:
    """A clock that only moves when told (replays and benchmarks): ``now()`` and ``advance()``."""

    def __init__(self, start: datetime):
        self._now = start.astimezone(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now
