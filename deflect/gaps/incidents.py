"""Incidents: a topic whose volume in the last minutes or hours is far above its usual level.

The usual level of a window (the last 15 minutes, hour, three hours) is the count in the same window
at the same time of day on earlier days of the same kind (weekdays with weekdays, weekends with
weekends) over the last weeks: its median, and the median absolute deviation (scaled) as the robust
spread, never below the Poisson spread of the median. A window is an incident when its count is at
least ``MIN_COUNT`` (no alarm for small counts), at least ``RATIO`` times the usual level, and
``Z`` spreads above it.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

WINDOWS = (timedelta(minutes=15), timedelta(hours=1), timedelta(hours=3))
LOOKBACK_DAYS = 56          # eight weeks of history at most
MIN_DAYS = 7                # fewer comparable days than this: no usual level, no alarm
MIN_COUNT = 8
RATIO = 3.0
Z = 6.0


@dataclass
class Alarm:
    """One window far above its usual level."""
    window_minutes: int
    count: int
    baseline: float
    spread: float
    score: float
    started_at: datetime    # the first inquiry of the window


def _weekend(moment: datetime) -> bool:
    return moment.weekday() >= 5


def _count(times: list[float], start: float, end: float) -> int:
    return bisect.bisect_left(times, end) - bisect.bisect_left(times, start)


def check(times: list[float], now: datetime, first_seen: float | None = None) -> Alarm | None:
    """The strongest alarm of a topic now (``times``: its inquiries' epoch seconds, sorted;
    ``first_seen``: when its history starts, default its first inquiry)."""
    if not times:
        return None
    t = now.timestamp()
    start_of_history = times[0] if first_seen is None else first_seen
    best: Alarm | None = None
    for window in WINDOWS:
        w = window.total_seconds()
        count = _count(times, t - w, t)
        if count < MIN_COUNT:
            continue
        samples = []
        for d in range(1, LOOKBACK_DAYS + 1):
            then = now - timedelta(days=d)
            if then.timestamp() - w < start_of_history:
                break
            if _weekend(then) == _weekend(now):
                samples.append(_count(times, then.timestamp() - w, then.timestamp()))
        if len(samples) < MIN_DAYS:
            continue
        base = float(np.median(samples))
        spread = max(1.4826 * float(np.median(np.abs(np.array(samples) - base))), float(np.sqrt(max(base, 1.0))))
        score = (count - base) / spread
        if count >= RATIO * max(base, 1.0) and score >= Z and (best is None or score > best.score):
            first = times[bisect.bisect_left(times, t - w)]
            best = Alarm(int(w // 60), count, round(base, 2), round(spread, 2), round(score, 2),
                         datetime.fromtimestamp(first, now.tzinfo))
    return best

