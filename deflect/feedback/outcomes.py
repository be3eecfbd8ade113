"""What happened after each article was suggested (shown to widget sessions as the answer or among the
articles that might help):

- ``shown``: sessions it was shown to;
- ``found_answer``: sessions that voted it helpful;
- ``not_helpful``: sessions that voted it not helpful;
- ``contacted_anyway``: sessions it was suggested to that contacted support afterwards (the contact
  form, or a ticket carrying the session id);
- ``contacted_after_helpful``: sessions that voted it helpful and contacted support within 7 days after
  the vote, from the same session or as the same customer (when the help desk sends a customer id).
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from deflect.clock import parse_time
from deflect.store import Store

AFTER_HELPFUL_DAYS = 7
# Every contact with its session: direct ones, and those of other sessions of the same customer.
CONTACTS = """
    select i.session as session, f.created_at as at from feedback f join inquiries i on i.id = f.inquiry_id
        where f.event = 'contacted_support' and i.session is not null
    union all select session, created_at from contacts where session is not null
    union all select a.session, b.created_at from contacts a join contacts b
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
    # Sessions each article was shown to (as the answer or among the articles that might help), and when first.
    seen: dict[tuple[str, str], str] = {}
    for session, at, decision, first, shown in q(f"""
            select i.session, i.created_at, i.decision, i.article_id, i.shown from inquiries i
            where {window} and i.decision in ('answer', 'suggest') and i.session is not null""", params):
        articles = shown.split(",") if shown else ([first] if decision == "answer" and first else [])
        for article in filter(None, articles):
            if (article, session) not in seen or at < seen[article, session]:
                seen[article, session] = at
    contacts: dict[str, list[str]] = {}
    for session, at in q(f"select session, at from ({CONTACTS}) c"):
        contacts.setdefault(session, []).append(at)
    for (article, session), at in seen.items():
        r = row(article)
        r["shown"] += 1
        r["contacted_anyway"] += any(c >= at for c in contacts.get(session, ()))
    for article, event, n in q(f"""
            select coalesce(f.article_id, i.article_id), f.event, count(distinct coalesce(i.session, i.id))
            from feedback f join inquiries i on i.id = f.inquiry_id
            where {window} and f.event in ('helpful', 'not_helpful') group by 1, 2""", params):
        if article:
            row(article)["found_answer" if event == "helpful" else "not_helpful"] = n
    after_helpful: dict[str, set[str]] = {}
    for article, session, voted, contacted_at in q(f"""
            with votes as (select coalesce(f.article_id, i.article_id) as a, i.session as s, f.created_at as at
                           from feedback f join inquiries i on i.id = f.inquiry_id
                           where {window} and f.event = 'helpful' and i.session is not null)
            select distinct votes.a, votes.s, votes.at, c.at from votes join ({CONTACTS}) c
                on c.session = votes.s and c.at >= votes.at""", params):
        voted_at, contacted = parse_time(voted), parse_time(contacted_at)
        if article and voted_at and contacted and contacted <= voted_at + timedelta(days=AFTER_HELPFUL_DAYS):
            after_helpful.setdefault(article, set()).add(session)
    for article, sessions in after_helpful.items():
        row(article)["contacted_after_helpful"] = len(sessions)
    return sorted(rows.values(), key=lambda r: (-r["shown"], -r["found_answer"], r["article_id"]))[:limit]
