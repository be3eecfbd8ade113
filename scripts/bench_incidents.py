"""Incident detection on simulated traffic (simulated clock, ``deflect.clock.SimulatedClock``).

    .venv/bin/python -m scripts.bench_incidents [--seeds 20] [--no-write]

Per seed: (1) four weeks of one topic's normal volume (Poisson, daily and weekly rhythm) then a burst
of ``BURST_FACTOR`` times the usual rate (on a weekday, between 9:00 and 15:00); the detector runs
every minute and the delay from the burst's start to the first alarm is measured (at most 10 minutes);
(2) eight weeks of normal traffic only, checked every 5 minutes after the first week: every alarm is a
false one. The result goes into docs/benchmarks.md (section ``incidents``).
"""
from __future__ import annotations

import argparse
import bisect
import math
import random
from datetime import UTC, datetime, timedelta

from deflect.clock import SimulatedClock
from deflect.gaps.incidents import check
from scripts.common import DOCS, replace_section

DAILY = 40.0                # a topic's inquiries on an ordinary weekday
WEEKEND = 0.5               # weekend days have half the volume
BURST_FACTOR = 20.0         # the burst: this many times the usual rate at that hour (an outage)
SMALL_BURST = 10.0          # a smaller one, reported too
START = datetime(2026, 1, 5, tzinfo=UTC)     # a Monday


def rate_per_minute(moment: datetime) -> float:
    """The usual rate: a day-time bell (busiest around 11:00), lower on weekends."""
    hour = moment.hour + moment.minute / 60
    shape = math.exp(-((hour - 11.0) ** 2) / (2 * 3.5 ** 2))
    norm = 3.5 * math.sqrt(2 * math.pi)
    day = DAILY * (WEEKEND if moment.weekday() >= 5 else 1.0)
    return day * shape / norm / 60.0


def traffic(rng: random.Random, start: datetime, end: datetime, factor=lambda m: 1.0) -> list[float]:
    """Inquiry times (epoch seconds, sorted) of a Poisson process with the usual rate times ``factor``."""
    out, t = [], start
    while t < end:
        lam = rate_per_minute(t) * factor(t)
        for _ in range(_poisson(rng, lam)):
            out.append(t.timestamp() + rng.random() * 60)
        t += timedelta(minutes=1)
    return sorted(out)


def _poisson(rng: random.Random, lam: float) -> int:
    k, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def burst_delay(seed: int, factor: float = BURST_FACTOR) -> float | None:
    """Minutes from a burst's start to its first alarm (None: not flagged within two hours)."""
    rng = random.Random(seed)
    burst_at = START + timedelta(days=28 + rng.randint(0, 4), hours=rng.randint(9, 14), minutes=rng.randint(0, 59))
    times = traffic(rng, START, burst_at + timedelta(hours=2),
                    lambda m: factor if m >= burst_at else 1.0)
    clock = SimulatedClock(burst_at - timedelta(minutes=30))
    while clock.now() < burst_at + timedelta(hours=2):
        now = clock.advance(timedelta(minutes=1))
        upto = times[:bisect.bisect_left(times, now.timestamp())]
        if check(upto, now, first_seen=START.timestamp()):
            return (now - burst_at).total_seconds() / 60
    return None


def false_alarms(seed: int, weeks: int = 8) -> tuple[int, int]:
    """(alarms, checks) over ``weeks`` of normal traffic, checked every 5 minutes after the first week."""
    rng = random.Random(10_000 + seed)
    end = START + timedelta(weeks=weeks)
    times = traffic(rng, START, end)
    clock = SimulatedClock(START + timedelta(days=7))
    alarms = checks = 0
    while clock.now() < end:
        now = clock.advance(timedelta(minutes=5))
        upto = times[:bisect.bisect_left(times, now.timestamp())]
        checks += 1
        alarms += check(upto, now, first_seen=START.timestamp()) is not None
    return alarms, checks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    rows = ["| scenario | seeds | result |", "|---|---|---|"]
    for factor in (BURST_FACTOR, SMALL_BURST):
        delays = [burst_delay(s, factor) for s in range(args.seeds)]
        flagged = sorted(d for d in delays if d is not None)
        within = sum(d <= 10 for d in flagged)
        rows.append(f"| burst of {factor:g}× the usual rate after 4 weeks of normal traffic ({DAILY:g} a weekday) | "
                    f"{args.seeds} | flagged within 10 min: {within}/{args.seeds}; delay median "
                    f"{flagged[len(flagged) // 2] if flagged else float('nan'):.0f} min, max "
                    f"{flagged[-1] if flagged else float('nan'):.0f} min |")
    fa = [false_alarms(s) for s in range(args.seeds)]
    alarms, checks = sum(a for a, _ in fa), sum(c for _, c in fa)
    rows.append(f"| 8 weeks of normal traffic, weekly and daily rhythm, checked every 5 min | {args.seeds} | "
                f"false alarms: {alarms} in {checks} checks |")
    block = "\n".join([*rows, "", "Measured by `scripts/bench_incidents.py` (simulated clock, Poisson traffic; "
                        "bursts start on a weekday between 9:00 and 15:00)."])
    print(block)
    if not args.no_write:
        replace_section(DOCS / "benchmarks.md", "incidents", "## Incidents\n\nIncident detection "
                        "(`deflect.gaps.incidents`) on simulated traffic of one topic:\n\n" + block)


if __name__ == "__main__":
    main()
