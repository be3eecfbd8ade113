"""The holdout experiment's result: contact rates of shown and held-out widget sessions.

A widget session is in the "holdout" arm (no suggestions: the widget is a plain contact form) or the
"shown" arm, drawn at its first inquiry (``deflect.store.feedback.assign_arm``). A session *contacted*
support when the contact form was sent from it (``contacted_support``), or a ticket arrived through the
API or a connector carrying its session id. Comparing whole arms (not only sessions that saw an
answer) measures what the suggestions change: the difference of the contact rates is the share of
sessions whose contact the widget prevented (negative: fewer contacts with suggestions).
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from deflect.feedback.stats import newcombe_difference, sessions_needed, wilson
from deflect.store import Store

CONTACTED = """
    select i.session from feedback f join inquiries i on i.id = f.inquiry_id
    where f.event = 'contacted_support' and i.session is not null
    union select session from contacts where session is not null"""
PRECISIONS = (0.05, 0.02, 0.01)   # half-widths of the interval the sample-size table is given for
NO_EFFECT = 0.02   # an interval around 0 no wider than this either way: "no measurable effect", not "more sessions"


def arm_counts(store: Store, since: str, until: str) -> dict[str, tuple[int, int]]:
    """(sessions, sessions that contacted) per arm for sessions assigned in [since, until)."""
    counts = {"shown": (0, 0), "holdout": (0, 0)}
    for arm, n, contacted in store.db.execute(f"""
            select arm, count(*), sum(case when session in ({CONTACTED}) then 1 else 0 end) from widget_sessions
            where assigned_at >= ? and assigned_at < ? group by arm""", [since, until]):
        counts[arm] = (n, contacted or 0)
    return counts


def summarize(shown: tuple[int, int], held: tuple[int, int], share: float) -> dict:
    """Rates, the difference with its 95 % interval, sessions needed, and what it means in words."""
    (n1, k1), (n2, k2) = shown, held
    out: dict = {
        "holdout_share": share,
        "shown": _arm(n1, k1), "holdout": _arm(n2, k2),
        "difference": None, "prevented_share": None, "sessions_needed": [], "meaning": "",
    }
    if n1 and n2:
        d, low, high = newcombe_difference(k1, n1, k2, n2)
        out["difference"] = {"value": round(d, 4), "ci95": [round(low, 4), round(high, 4)]}
        p2 = k2 / n2
        if p2 > 0:
            out["prevented_share"] = round(-d / p2, 4)
        if 0 < share < 1:
            # planned with the "plus four" rates: no contact yet (0 %) would otherwise need 0 sessions
            plan1, plan2 = (k1 + 2) / (n1 + 4), (k2 + 2) / (n2 + 4)
            out["sessions_needed"] = [{"half_width": h, "sessions": sessions_needed(plan1, plan2, h, share)}
                                      for h in PRECISIONS]
    out["meaning"] = meaning(out)
    return out


def _arm(n: int, k: int) -> dict:
    low, high = wilson(k, n)
    return {"sessions": n, "contacted": k, "contact_rate": round(k / n, 4) if n else None,
            "ci95": [round(low, 4), round(high, 4)] if n else None}


def meaning(result: dict) -> str:
    """One paragraph for a reader who is not a statistician."""
    shown, held, diff = result["shown"], result["holdout"], result["difference"]
    off = not result["holdout_share"]
    if off and diff is None:
        return ("The holdout experiment is off (DEFLECT_HOLDOUT): every session gets suggestions, so there "
                "is no control group and no measured effect of deflect on contacts.")
    if diff is None:
        return ("Not enough sessions in both groups yet: the comparison starts once shown and held-out "
                "sessions both exist.")
    low, high = diff["ci95"]
    pts = lambda x: f"{_tenths(abs(x) * 100)} points"  # noqa: E731
    text = ("The holdout experiment is off now (DEFLECT_HOLDOUT); these are the sessions of the period held "
            "out while it ran. " if off else "")
    text += (f"Of {held['sessions']} sessions without suggestions, {_tenths(held['contact_rate'] * 100)}% contacted "
             f"support; of {shown['sessions']} that get suggestions, {_tenths(shown['contact_rate'] * 100)}%. ")
    if high < 0:
        text += (f"Suggestions lowered the contact rate by {pts(diff['value'])} (95 % interval: between "
                 f"{pts(high)} and {pts(low)}): that many contacts in a hundred sessions did not happen "
                 "because of deflect.")
    elif low > 0:
        text += (f"With suggestions the contact rate is {pts(diff['value'])} higher (95 % interval "
                 f"{pts(low)} to {pts(high)}): the suggestions do not prevent contacts.")
    elif max(-low, high) <= NO_EFFECT:
        text += (f"No measurable effect on contacts: the 95 % interval ({_tenths(low * 100, True)} to "
                 f"{_tenths(high * 100, True)} points) rules out that suggestions changed the contact rate by "
                 f"more than {pts(max(-low, high))} either way.")
    else:
        text += (f"The difference ({_tenths(diff['value'] * 100, True)} points, 95 % interval "
                 f"{_tenths(low * 100, True)} to {_tenths(high * 100, True)}) is not distinguishable from no effect "
                 "yet; more sessions are needed (see sessions_needed).")
    return text


def holdout_report(store: Store, share: float, days: int = 30, today: date | None = None) -> dict:
    """The experiment over the last ``days`` UTC days (sessions by the day they were assigned)."""
    today = today or datetime.now(UTC).date()
    since = (today - timedelta(days=days - 1)).isoformat()
    until = (today + timedelta(days=1)).isoformat()
    counts = arm_counts(store, since, until)
    return summarize(counts["shown"], counts["holdout"], share)


def _tenths(x: float, sign: bool = False) -> str:
    """``x`` to one decimal, a half rounded away from zero as the report page rounds it (the figures are
    already rounded to four decimals: 44.65 is shown 44.7 in both places, not 44.6 in one)."""
    value = Decimal(repr(x)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{value:+}" if sign else f"{value}"
