"""Incidents: a topic whose volume in the last minutes or hours is far above its usual level.

The usual level of a window (the last 5, 10 and 30 minutes, hour, three hours) is read from the count in
the same window at the same time of day on earlier days of the same kind (weekdays with weekdays,
weekends with weekends) over the last weeks: the median, raised by the scaled median absolute
deviation (a topic whose volume varies a lot needs more to alarm). A window is an incident when its
count is at least ``MIN_COUNT`` (no alarm for small counts), at least ``RATIO`` times the usual level,
and so high that a Poisson count at the usual level reaches it with a probability below ``P_ALARM``
(checked every few minutes over months, that keeps false alarms rare).
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from scipy.stats import poisson

WINDOWS = (timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=30), timedelta(hours=1), timedelta(hours=3))
LOOKBACK_DAYS = 56          # eight weeks of history at most
MIN_DAYS = 7                # fewer comparable days than this: no usual level, no alarm
MIN_COUNT = 6
RATIO = 3.0
P_ALARM = 1e-7
FLOOR_LEVEL = 0.5           # the usual level of a window is never taken to be lower than this


@dataclass
class Alarm:
    """One window far above its usual level."""
    window_minutes: int
    count: int
    baseline: float
    spread: float
    score: float            # -log10 of the chance of such a count at the usual level
    started_at: datetime    # the first inquiry of the window


def _weekend(moment: datetime) -> bool:
    return moment.weekday() >= 5


def _count(times: list[float], start: float, end: float) -> int:
    """Inquiries in ``(start, end]`` (one that arrived this very second counts now)."""
    return bisect.bisect_right(times, end) - bisect.bisect_right(times, start)


def check(times: list[float], now: datetime, first_seen: float | None = None) -> Alarm | None:
    """The strongest alarm of a topic now (``times``: its inquiries' epoch seconds, sorted;
    ``first_seen``: when its history starts, if before its first inquiry: a topic that was not asked about
    while inquiries were logged had a usual level of none)."""
    if not times:
        return None
    t = now.timestamp()
    start_of_history = times[0] if first_seen is None else min(times[0], first_seen)
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
        spread = 1.4826 * float(np.median(np.abs(np.array(samples) - base)))
        level = max(base + spread, FLOOR_LEVEL)
        if count < RATIO * level:
            continue
        chance = float(poisson.sf(count - 1, level))
        score = 99.0 if chance <= 0 else -float(np.log10(chance))
        if chance <= P_ALARM and (best is None or score > best.score):
            first = times[bisect.bisect_right(times, t - w)]
            best = Alarm(int(w // 60), count, round(base, 2), round(spread, 2), round(score, 2),
                         datetime.fromtimestamp(first, now.tzinfo))
    return best

