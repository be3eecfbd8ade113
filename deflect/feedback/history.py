"""A customer's history across channels: what they did in the widget before a ticket arrived
(searched, was shown, read, voted), so the agent does not ask again. Texts pass the redactor like
everything else shown to agents."""
from __future__ import annotations

from deflect.privacy import Redactor, default_redactor
from deflect.store import Store
from deflect.store.feedback import ticket_sessions
from deflect.text import clip

MAX_STEPS = 30
PHRASES = {
    "en": {"searched": "searched '{text}'", "shown": "was shown '{title}'", "read": "read '{title}'",
           "helpful": "said '{title}' helped", "not_helpful": "said not helpful", "contacted": "contacted support"},
    "de": {"searched": "suchte „{text}“", "shown": "bekam „{title}“ angezeigt", "read": "las „{title}“",
           "helpful": "fand „{title}“ hilfreich", "not_helpful": "fand es nicht hilfreich",
           "contacted": "kontaktierte den Support"},
}


def session_history(store: Store, sessions: list[str], redactor: Redactor | None = None) -> dict:
    """The steps of these widget sessions, oldest first, and a one-line summary."""
    redact = (redactor or default_redactor()).redact
    sessions = [s for s in dict.fromkeys(sessions) if s]
    if not sessions:
        return {"sessions": [], "steps": [], "summary": ""}
    marks = ",".join("?" * len(sessions))
    q = store.db.execute
    titles = dict(q("select id, title from articles"))
    events: list[tuple[str, int, dict]] = []
    for text, decision, article, at in q(f"""
            select text, decision, article_id, created_at from inquiries
            where session in ({marks}) order by created_at, seq""", sessions):
        events.append((at, 0, {"action": "searched", "text": clip(redact(text or ""), 120), "at": at}))
        if decision == "answer" and article:
            events.append((at, 1, {"action": "shown", "article_id": article,
                                   "title": titles.get(article, article), "at": at}))
    for event, article, at, top in q(f"""
            select f.event, f.article_id, f.created_at, i.article_id from feedback f
            join inquiries i on i.id = f.inquiry_id where i.session in ({marks})
            order by f.created_at, f.seq""", sessions):
        action = {"clicked": "read", "contacted_support": "contacted"}.get(event, event)
        article = article or top
        step = {"action": action, "at": at}
        if action != "contacted" and article:
            step.update(article_id=article, title=titles.get(article, article))
        events.append((at, 2, step))
    events.sort(key=lambda e: (e[0], e[1]))
    steps = _collapse([e[2] for e in events])[-MAX_STEPS:]
    return {"sessions": sessions, "steps": steps, "summary": summary(steps)}


def ticket_history(store: Store, ticket_id: str, redactor: Redactor | None = None) -> dict:
    """The history of the sessions a ticket arrived with (directly or as the same customer)."""
    return session_history(store, ticket_sessions(store, ticket_id), redactor)


def _collapse(steps: list[dict]) -> list[dict]:
    """Drop repeats: the same search typed again, the same article shown again right after."""
    out: list[dict] = []
    for step in steps:
        if out and all(out[-1].get(k) == step.get(k) for k in ("action", "text", "article_id")):
            continue
        if step["action"] == "shown" and any(s["action"] == "shown" and s.get("article_id") == step["article_id"]
                                             for s in out[-3:]):
            continue
        out.append(step)
    return out


def summary(steps: list[dict], language: str = "en") -> str:
    """The steps in words: "searched 'Zeitung nass', was shown 'Nasse Zeitung', said not helpful" (in
    ``language``, de or en, for the agent who reads it)."""
    phrases = PHRASES.get(language, PHRASES["en"])
    return ", ".join(phrases[s["action"]].format(text=s.get("text", ""), title=s.get("title", ""))
                     for s in steps if s["action"] in phrases)
