"""How close a typed question must be to join an existing topic, when the topic was formed by tickets.

A new item joins the nearest existing topic when its similarity to the topic's centre reaches the cut of
average linkage (``GapReport._cutoffs``). A topic formed by help-desk tickets has that cut from its
tickets: a subject, a body with greeting and details. A question typed into the widget ("Kreuzworträtsel
fehlt") says the same in a few words and lies further from such a centre than any of the tickets, so it
never joined, and the topic's cost left out the customers who asked on the help page. The covered articles
show how much further: against the centre of an article's linked tickets, its title and questions (and the
typed inquiries answered with it) reach a certain share of the similarity its tickets reach (each against
the centre of the others). The cut for a typed question is lowered by that share, in proportion to the
topic's ticket members; where the tickets are as short as the questions, the share is about 1 and nothing
changes.
"""
from __future__ import annotations

import numpy as np

MIN_TICKETS = 5             # linked tickets an article needs to show the share
MIN_ARTICLES = 3            # articles that must show it (else the cut stays as it is)
LOWEST_SHARE = 0.5          # the cut is never lowered further than this


def short_text_share(X: np.ndarray, covered: np.ndarray, short: np.ndarray, article: np.ndarray) -> float:
    """The median, over covered articles with ``MIN_TICKETS`` long rows and a short one, of the median
    similarity of its short rows to the centre of its long rows divided by that of its long rows (each to
    the centre of the others). 1.0 where fewer than ``MIN_ARTICLES`` articles show it."""
    groups: dict[str, list[int]] = {}
    for r in np.flatnonzero(covered):
        if article[r] is not None:
            groups.setdefault(str(article[r]), []).append(int(r))
    shares = []
    for rows in groups.values():
        rows = np.array(rows)
        long_rows, short_rows = rows[~short[rows]], rows[short[rows]]
        m = len(long_rows)
        if m < MIN_TICKETS or not len(short_rows):
            continue
        total = X[long_rows].sum(axis=0)
        own = float(np.median(np.einsum("ij,ij->i", X[long_rows], total[None, :] - X[long_rows]) / (m - 1)))
        typed = float(np.median(X[short_rows] @ (total / m)))
        if own > 0:
            shares.append(typed / own)
    if len(shares) < MIN_ARTICLES:
        return 1.0
    return float(np.clip(np.median(shares), LOWEST_SHARE, 1.0))


def typed_cutoffs(cut: np.ndarray, lab: np.ndarray, short: np.ndarray, share: float) -> np.ndarray:
    """Per topic: the cut for a short row, ``cut`` lowered by ``share`` in proportion to the topic's long
    members (a topic of typed questions keeps its own cut)."""
    out = cut.copy()
    for c in range(len(cut)):
        members = lab == c
        if members.any():
            long_part = 1.0 - float(short[members].mean())
            out[c] = cut[c] * (1.0 - (1.0 - share) * long_part)
    return out
