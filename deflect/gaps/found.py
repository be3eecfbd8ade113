"""What customers found among the articles they were shown: a "these articles might help" (``suggest``)
inquiry counts for the gap report as answered when its customer took one of them (clicked it or said it
helped), and as not answered otherwise."""
from __future__ import annotations

import numpy as np

from deflect.text import folded

FOUND = ("clicked", "helpful")
SESSION = "coalesce(i.session, 'inquiry:' || i.id)"   # an inquiry without a session is a session of its own


def found_articles(store) -> dict[str, str]:
    """Per inquiry id: the article its customer found, judged by the feedback of the inquiry's session: the
    last one clicked or voted helpful, unless the session voted it not helpful or contacted support after
    all. It counts for the inquiry the click or vote came on and for the session's inquiries that asked the
    same: typed on the way to it (search-as-you-type logs every stage; one text begins with the other) or
    shown that article. A session may ask two questions; the article found for one answers not the other."""
    taken: dict[str, list[tuple[str, str]]] = {}   # per session: (the inquiry it came on, the article), in order
    rejected: set[tuple[str, str]] = set()
    contacted: set[str] = set()
    for session, iid, event, article in store.db.execute(f"""
            select {SESSION}, i.id, f.event, f.article_id
            from feedback f join inquiries i on i.id = f.inquiry_id order by f.created_at, f.seq"""):
        if event in FOUND and article:
            taken.setdefault(session, []).append((iid, article))
        elif event == "not_helpful" and article:
            rejected.add((session, article))
        elif event == "contacted_support":
            contacted.add(session)
    if not taken:
        return {}
    sessions: dict[str, list[str]] = {}   # the inquiries of the sessions that found an article
    typed: dict[str, str] = {}
    shown: dict[str, set[str]] = {}
    for iid, session, text, listed in store.db.execute(f"""
            select i.id, {SESSION}, i.text, i.shown from inquiries i where {SESSION} in (
                select {SESSION} from feedback f join inquiries i on i.id = f.inquiry_id
                where f.event in ({", ".join(f"'{e}'" for e in FOUND)}))"""):
        sessions.setdefault(session, []).append(iid)
        typed[iid] = folded(text or "")
        shown[iid] = set((listed or "").split(",")) - {""}
    out = {}
    for session, found in taken.items():
        if session in contacted:
            continue
        found = [(on, article) for on, article in found if (session, article) not in rejected]
        for iid in sessions.get(session, ()):
            for on, article in reversed(found):
                if iid == on or article in shown[iid] or _typed_on_the_way(typed[iid], typed[on]):
                    out[iid] = article
                    break
    return out


def turned_away(store) -> set[str]:
    """Ids of the inquiries whose session said an article shown did not help or contacted support anyway:
    what was shown did not answer them, however near the engine's confidence came to an answer."""
    return {r[0] for r in store.db.execute(f"""
        select i.id from inquiries i where {SESSION} in (
            select {SESSION} from feedback f join inquiries i on i.id = f.inquiry_id
            where f.event in ('not_helpful', 'contacted_support'))""")}


def _typed_on_the_way(a: str, b: str) -> bool:
    """Two stages of one search-as-you-type question: one text begins with the other."""
    return bool(a and b) and (a.startswith(b) or b.startswith(a))


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
