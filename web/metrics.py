"""Deflection metrics from logged inquiries and feedback events.

Definitions (per UTC day of the inquiry, and as totals over the whole window):

- **inquiries**: logged inquiries (channel ``widget`` unless another channel is asked for), without the
  stages of a question its customer typed on (search-as-you-type logs each pause; a later inquiry of the
  session begins with a stage's text, ``deflect.gaps.items.typed_on``).
- **sessions**: distinct sessions among them; an inquiry logged without a session counts as a session
  of its own.
- **answered** / **suggested** / **no_answer**: inquiries whose decision was ``answer`` (a confident
  article), ``suggest`` (not sure: articles that might help, beside the way to a human) / ``no_answer``.
- **helpful** / **not_helpful**: "did this help?" votes on those inquiries, counted once per
  suggestion (inquiry and article); **contacted_support**: "contacted support after all" events.
- **held_out**: inquiries of the holdout experiment's control group (shown no suggestion).
- **deflection rate** = sessions that saw at least one suggestion (an inquiry with decision
  ``answer``), did not contact support (no ``contacted_support`` event for any of the session's
  inquiries, and no contact recorded for the session: the contact form, a ticket sent with the session,
  at any time) and did not say that nothing helped (a "not helpful" vote and no "helpful" one) / sessions
  that saw at least one suggestion.
- **helpful rate** = helpful / (helpful + not_helpful).
- **no-answer rate** = no_answer inquiries / inquiries shown suggestions (not held out); **suggest rate** =
  suggested inquiries / the same.

A rate is ``null`` when its denominator is 0. ``top_unanswered`` lists the most frequent
``no_answer`` texts in the window (case and surrounding space ignored), most frequent first, without the
stages.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from deflect.gaps.items import typed_on
from deflect.store import Store

SESSION = "coalesce(i.session, 'inquiry:' || i.id)"
DECISIONS = {"answer": "answered", "suggest": "suggested", "no_answer": "no_answer", "holdout": "held_out"}


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _empty(day: str | None = None) -> dict:
    row = {"inquiries": 0, "sessions": 0, "answered": 0, "suggested": 0, "no_answer": 0, "held_out": 0,
           "helpful": 0, "not_helpful": 0,
           "contacted_support": 0, "sessions_with_suggestion": 0, "deflected_sessions": 0}
    return {"date": day, **row} if day is not None else row


def _finish(row: dict) -> dict:
    row["deflection_rate"] = _rate(row["deflected_sessions"], row["sessions_with_suggestion"])
    row["helpful_rate"] = _rate(row["helpful"], row["helpful"] + row["not_helpful"])
    row["no_answer_rate"] = _rate(row["no_answer"], row["inquiries"] - row["held_out"])
    row["suggest_rate"] = _rate(row["suggested"], row["inquiries"] - row["held_out"])
    return row


def compute(store: Store, days: int = 30, channel: str | None = "widget", top: int = 10,
            today: date | None = None) -> dict:
    """Metrics for the last ``days`` UTC days (today included); ``channel=None`` counts every channel."""
    today = today or datetime.now(UTC).date()
    first = today - timedelta(days=days - 1)
    since, until = first.isoformat(), (today + timedelta(days=1)).isoformat()
    where = "i.created_at >= :since and i.created_at < :until"
    if channel:
        where += " and i.channel = :channel"
    params = {"since": since, "until": until, "channel": channel}
    q = store.db.execute

    per_day = {(first + timedelta(days=n)).isoformat(): _empty((first + timedelta(days=n)).isoformat())
               for n in range(days)}
    totals = _empty()

    # Inquiries (the stages of a question its customer typed on left out), decisions and sessions.
    rows = q(f"""
            select i.created_at, i.decision, {SESSION}, i.text, i.session from inquiries i
            where {where} order by i.created_at, i.seq""", params).fetchall()
    stages = typed_on([r[3] or "" for r in rows], [r[4] for r in rows])
    asked = [r for r, stage in zip(rows, stages, strict=True) if not stage]
    sessions: dict[str | None, set[str]] = {}   # per day (None: the whole window)
    for at, decision, session, _, _ in asked:
        day = at[:10]
        if day not in per_day:
            continue
        for key, row in ((day, per_day[day]), (None, totals)):
            row["inquiries"] += 1
            if decision in DECISIONS:
                row[DECISIONS[decision]] += 1
            sessions.setdefault(key, set()).add(session)
    for key, seen in sessions.items():
        (totals if key is None else per_day[key])["sessions"] = len(seen)

    # Feedback events, by the day of the inquiry they belong to (votes once per suggestion).
    events = f"""
            select substr(i.created_at, 1, 10) as day, f.event,
                   count(distinct f.inquiry_id || '|' || coalesce(f.article_id, '')) as votes,
                   count(*) as n
            from feedback f join inquiries i on i.id = f.inquiry_id where {where} group by day, f.event"""
    for day, event, votes, count in q(events, params):
        value = votes if event in ("helpful", "not_helpful") else count
        if event in ("helpful", "not_helpful", "contacted_support") and day in per_day:
            per_day[day][event] += value
    for event, votes, count in q(f"""
            select f.event, count(distinct f.inquiry_id || '|' || coalesce(f.article_id, '')), count(*)
            from feedback f join inquiries i on i.id = f.inquiry_id
            where {where} group by f.event""", params):
        if event in ("helpful", "not_helpful", "contacted_support"):
            totals[event] += votes if event in ("helpful", "not_helpful") else count

    # Deflection: sessions that saw an answer (to a question, not to a stage typed on the way to it), and
    # those of them that did not contact support nor say that no answer helped them: a customer who
    # voted "not helpful" and left was not helped, whether or not they wrote to support later.
    not_deflected = {r[0] for r in q(f"""
            select distinct {SESSION} from feedback f join inquiries i on i.id = f.inquiry_id
            where f.event = 'contacted_support'
            union select session from contacts where session is not null
            union select {SESSION} from feedback f join inquiries i on i.id = f.inquiry_id
            group by {SESSION} having sum(case when f.event = 'not_helpful' then 1 else 0 end) > 0
               and sum(case when f.event = 'helpful' then 1 else 0 end) = 0""")}
    answered: dict[str | None, set[str]] = {}   # per day (None: the whole window)
    for at, decision, session, _, _ in asked:
        if decision == "answer" and at[:10] in per_day:
            answered.setdefault(at[:10], set()).add(session)
            answered.setdefault(None, set()).add(session)
    for key, saw in answered.items():
        (totals if key is None else per_day[key]).update(sessions_with_suggestion=len(saw),
                                                         deflected_sessions=len(saw - not_deflected))

    return {
        "from": since, "to": today.isoformat(), "channel": channel or "all",
        "days": [_finish(row) for row in per_day.values()],
        "totals": _finish(totals),
        "top_unanswered": _top_unanswered(asked, top),
    }


def _top_unanswered(asked: list[tuple], top: int) -> list[dict]:
    """The most frequent ``no_answer`` texts among the ``asked`` rows (created_at, decision, _, text, _; the
    stages left out), case and surrounding space ignored, the latest wording shown."""
    counts: dict[str, list] = {}
    for at, decision, _, text, _ in asked:
        if decision == "no_answer" and text and text.strip():
            seen = counts.setdefault(text.strip().lower(), [0, "", ""])
            seen[0] += 1
            if at >= seen[1]:
                seen[1], seen[2] = at, text
    ranked = sorted(counts.values(), key=lambda c: (c[0], c[1]), reverse=True)[:top]
    return [{"text": text, "count": n} for n, _, text in ranked]
