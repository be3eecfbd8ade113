"""Interval maths for proportions: Wilson score intervals, Newcombe's interval for a difference of two
proportions (method 10 of Newcombe 1998), and the sample size for a wanted precision."""
from __future__ import annotations

import math

Z95 = 1.959963984540054   # the normal quantile of a two-sided 95 % interval


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of ``successes / n``; (0, 1) for n = 0."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    den = 1 + z * z / n
    return max(0.0, (centre - spread) / den), min(1.0, (centre + spread) / den)


def newcombe_difference(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """``p1 - p2`` with its interval from the two Wilson intervals (Newcombe's hybrid score method)."""
    p1 = k1 / n1 if n1 else 0.0
    p2 = k2 / n2 if n2 else 0.0
    l1, u1 = wilson(k1, n1, z)
    l2, u2 = wilson(k2, n2, z)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, max(-1.0, low), min(1.0, high)


def sessions_needed(p1: float, p2: float, half_width: float, holdout_share: float, z: float = Z95) -> int:
    """Sessions in all (both arms) for a 95 % interval of ``p1 - p2`` about ``± half_width`` wide, when a
    share ``holdout_share`` of them is held out (normal approximation: var = p1 q1 / n1 + p2 q2 / n2)."""
    if not 0 < holdout_share < 1 or half_width <= 0:
        raise ValueError("holdout_share must be between 0 and 1 and half_width positive")
    shown, held = 1 - holdout_share, holdout_share
    variance_per_session = p1 * (1 - p1) / shown + p2 * (1 - p2) / held
    return math.ceil(z * z * variance_per_session / (half_width * half_width))
