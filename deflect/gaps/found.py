"""What customers found among the articles they were shown: a "these articles might help" (``suggest``)
inquiry counts for the gap report as answered when its customer took one of them (clicked it or said it
helped), and as not answered otherwise."""
from __future__ import annotations

import numpy as np

FOUND = ("clicked", "helpful")


def found_articles(store) -> dict[str, str]:
    """Per inquiry id: the article its customer found, judged by the feedback of the inquiry's session (a
    search-as-you-type session logs several inquiries, the click may come on any of them): the last one
    clicked or voted helpful, unless the session voted it not helpful or contacted support after all."""
    sessions: dict[str, list[str]] = {}
    for iid, session in store.db.execute("select id, coalesce(session, 'inquiry:' || id) from inquiries"):
        sessions.setdefault(session, []).append(iid)
    taken: dict[str, str] = {}
    rejected: set[tuple[str, str]] = set()
    contacted: set[str] = set()
    for session, event, article in store.db.execute("""
            select coalesce(i.session, 'inquiry:' || i.id), f.event, f.article_id
            from feedback f join inquiries i on i.id = f.inquiry_id order by f.created_at, f.seq"""):
        if event in FOUND and article:
            taken[session] = article
        elif event == "not_helpful" and article:
            rejected.add((session, article))
        elif event == "contacted_support":
            contacted.add(session)
    out = {}
    for session, article in taken.items():
        if session not in contacted and (session, article) not in rejected:
            out.update(dict.fromkeys(sessions.get(session, ()), article))
    return out


def by_feedback(decision: np.ndarray, article: np.ndarray, changed: np.ndarray, ids: list[str | None],
                found: dict[str, str], articles: set[str]) -> None:
    """Turn the engine's ``suggest`` judgements into answered or not (in place): an inquiry (``ids[i]``,
    None for tickets) whose customer found an existing article is answered with it, whatever the
    engine would say below a confident answer; any other ``suggest`` is not answered."""
    for i, iid in enumerate(ids):
        if decision[i] not in ("suggest", "no_answer"):
            continue
        took = found.get(iid) if iid is not None else None
        new = ("answer", took) if took in articles else ("no_answer", article[i])
        if (decision[i], article[i]) != new:
            decision[i], article[i] = new
            changed[i] = True
