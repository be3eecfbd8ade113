"""What happened after each article was suggested (shown to widget sessions as the answer or among the
articles that might help):

- ``shown``: sessions it was shown to;
- ``found_answer``: sessions that voted it helpful;
- ``not_helpful``: sessions that voted it not helpful;
- ``contacted_anyway``: sessions it was suggested to that contacted support afterwards (the contact
  form, or a ticket carrying the session id) about the question it was suggested for;
- ``contacted_after_helpful``: sessions that voted it helpful and contacted support within 7 days after
  the vote, from the same session or as the same customer (when the help desk sends a customer id), about
  that question.

A contact is about the question it names (a "contacted support" event carries its inquiry), else about
the session's last question before it: a customer who found one answer, then asked something else that
had none and wrote to support, did not write because of the first answer.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from deflect.clock import parse_time
from deflect.store import Store

AFTER_HELPFUL_DAYS = 7
# Every contact with its session: direct ones, and those of other sessions of the same customer.
CONTACTS = """
    select i.session as session, f.created_at as at, f.inquiry_id as inquiry
        from feedback f join inquiries i on i.id = f.inquiry_id
        where f.event = 'contacted_support' and i.session is not null
    union all select session, created_at, null from contacts where session is not null
    union all select a.session, b.created_at, null from contacts a join contacts b
        on a.customer = b.customer and a.session is not null and b.id != a.id"""


def article_outcomes(store: Store, days: int = 30, today: date | None = None, limit: int = 50) -> list[dict]:
    """One row per article suggested in the last ``days`` UTC days, most shown first."""
    today = today or datetime.now(UTC).date()
    since = (today - timedelta(days=days - 1)).isoformat()
    until = (today + timedelta(days=1)).isoformat()
    q = store.db.execute
    titles = dict(q("select id, title from articles"))
    rows: dict[str, dict] = {}

    def row(article: str) -> dict:
        return rows.setdefault(article, {"article_id": article, "title": titles.get(article, article), "shown": 0,
                                         "found_answer": 0, "not_helpful": 0, "contacted_anyway": 0,
                                         "contacted_after_helpful": 0})

    window = "i.created_at >= :since and i.created_at < :until and i.channel = 'widget'"
    params = {"since": since, "until": until}
    # Sessions each article was shown to (as the answer or among the articles that might help), and when first;
    # each session's questions in order, with the articles each showed.
    seen: dict[tuple[str, str], str] = {}
    asked: dict[str, list[tuple[str, str, list[str]]]] = {}
    for iid, session, at, decision, first, shown in q(f"""
            select i.id, i.session, i.created_at, i.decision, i.article_id, i.shown from inquiries i
            where {window} and i.session is not null order by i.created_at""", params):
        articles = [] if decision not in ("answer", "suggest") else \
            shown.split(",") if shown else ([first] if decision == "answer" and first else [])
        articles = [a for a in articles if a]
        asked.setdefault(session, []).append((at, iid, articles))
        for article in articles:
            if (article, session) not in seen or at < seen[article, session]:
                seen[article, session] = at
    # Each contact with the articles of the question it was about.
    contacts: dict[str, list[tuple[str, list[str]]]] = {}
    for session, at, inquiry in q(f"select session, at, inquiry from ({CONTACTS}) c"):
        contacts.setdefault(session, []).append((at, _about(asked.get(session, []), at, inquiry)))
    for (article, session), at in seen.items():
        r = row(article)
        r["shown"] += 1
        r["contacted_anyway"] += any(c >= at and article in about for c, about in contacts.get(session, ()))
    for article, event, n in q(f"""
            select coalesce(f.article_id, i.article_id), f.event, count(distinct coalesce(i.session, i.id))
            from feedback f join inquiries i on i.id = f.inquiry_id
            where {window} and f.event in ('helpful', 'not_helpful') group by 1, 2""", params):
        if article:
            row(article)["found_answer" if event == "helpful" else "not_helpful"] = n
    after_helpful: dict[str, set[str]] = {}
    for article, session, voted in q(f"""
            select coalesce(f.article_id, i.article_id), i.session, f.created_at
            from feedback f join inquiries i on i.id = f.inquiry_id
            where {window} and f.event = 'helpful' and i.session is not null""", params):
        voted_at = parse_time(voted)
        for contacted_at, about in contacts.get(session, ()):
            contacted = parse_time(contacted_at)
            if article and voted_at and contacted and voted_at <= contacted <= voted_at + timedelta(
                    days=AFTER_HELPFUL_DAYS) and article in about:
                after_helpful.setdefault(article, set()).add(session)
    for article, sessions in after_helpful.items():
        row(article)["contacted_after_helpful"] = len(sessions)
    return sorted(rows.values(), key=lambda r: (-r["shown"], -r["found_answer"], r["article_id"]))[:limit]


def _about(asked: list[tuple[str, str, list[str]]], at: str, inquiry: str | None) -> list[str]:
    """The articles shown for the question a contact at ``at`` was about: the inquiry it names, else the
    session's last question before it (``asked``: its questions in order, with their articles)."""
    if inquiry is not None:
        named = [articles for _, iid, articles in asked if iid == inquiry]
        if named:
            return named[0]
    before = [articles for asked_at, _, articles in asked if asked_at <= at]
    return before[-1] if before else []
