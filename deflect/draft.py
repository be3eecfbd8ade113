"""A draft reply for agents, assembled from the best source; every part cites where it came from.

Parts, in order: a greeting (``template``), then the best article's opening paragraphs as plain
text with a link (``article``) when deflect is confident, else, where the help center allows it
(``draft_ticket``), the most similar resolved ticket's resolution (``ticket``), else a holding reply
(``template``); and a
closing (``template``). The draft is in the ticket's language where that is German or English, else in English
with a check that says so.
"""
from __future__ import annotations

import re
from urllib.parse import urljoin

from deflect.formats import Article
from deflect.language import NAMES
from deflect.privacy import Redactor, default_redactor
from deflect.privacy import lexicon as lx
from deflect.text import markdown_units

# The agent's words about a draft, in the agent's language (the draft itself is in the customer's).
LANGUAGE_NAMES = {"en": {code: names[0] for code, names in NAMES.items()},
                  "de": {code: names[1] for code, names in NAMES.items()}}
CHECK = {"en": "The article is in {article}, the customer wrote in {customer}: translate its answer before sending.",
         "de": "Der Artikel ist auf {article}, der Kunde schrieb auf {customer}: Übersetzen Sie die Antwort vor "
               "dem Senden."}
# a customer writing in a language without templates gets an English draft, which the agent translates whole
CHECK_DRAFT = {"en": "The customer wrote in {customer}: translate this draft before sending.",
               "de": "Der Kunde schrieb auf {customer}: Übersetzen Sie diesen Entwurf vor dem Senden."}
TEMPLATES = {
    "de": {
        "greeting": "Guten Tag,",
        "link": "Ausführliche Informationen finden Sie in unserem Hilfe-Center: {url}",
        "fallback": "vielen Dank für Ihre Nachricht. Wir kümmern uns darum und melden uns so schnell wie "
                    "möglich bei Ihnen.",
        "closing": "Bei weiteren Fragen sind wir gern für Sie da.\n\nFreundliche Grüße\n{signature}",
        "signature": "Ihr Kundenservice",
    },
    "en": {
        "greeting": "Hello,",
        "link": "You can find more details in our help center: {url}",
        "fallback": "Thank you for your message. We are looking into it and will get back to you as soon "
                    "as possible.",
        "closing": "If you have any further questions, we are happy to help.\n\nKind regards\n{signature}",
        "signature": "Your customer service team",
    },
}


def article_excerpt(body: str, max_chars: int = 1200) -> str:
    """The article's opening parts as plain text, as many as fit in ``max_chars`` (the whole answer of
    most articles: an agent shortens a draft more easily than completing it), more where the last one
    is an introduction (``...:``) of what follows; never cut inside a list or table (steps 1-2 of 4 are no
    instructions): ``markdown_units``."""
    chosen: list[str] = []
    total = 0
    for unit in markdown_units(body):
        announced = bool(chosen) and chosen[-1].endswith(":")
        if chosen and not announced and total + len(unit) > max_chars:
            break
        chosen.append(unit)
        total += len(unit)
    while chosen and chosen[-1].endswith(":") and len(chosen) > 1:
        chosen.pop()
    return "\n\n".join(chosen)


# German letters go on in lower case after "Guten Tag," unless the first word is a noun or the polite "Sie"
# ("das tut uns leid", "wir haben ...", but "Sie können ...", "E-Paper ..."): the words that are neither.
_GERMAN_LOWER = frozenset(
    "das der die den dem des dies diese dieser dieses diesen ein eine einen einem einer wir es ich er man bitte so "
    "um wenn falls damit dafür dazu leider gerne gern danke vielen herzlichen hier unter in im mit auf für bei nach "
    "zum zur am an von vom aus sobald da dann ja nein natürlich selbstverständlich auch alle jede jeder jedes kein "
    "keine nur bis ab über seit wie was wo wann warum ob gut schön zunächst zuerst".split())


_LOWER_WORD = re.compile(r"[a-zäöüß]+(?:['’-][a-zäöüß]+)*")   # "we've", "e-mail"; not "iOS", a link, "www.x.de"


def after_greeting(text: str, greeting: str, written: str) -> str:
    """``text`` (written in language ``written``) as the paragraph after the greeting line (in language
    ``greeting``): after "Guten Tag," German goes on in lower case where its first word is no noun nor
    "Sie"; after "Hello," English begins with a capital. Text in the other language stays as written."""
    lead = text[:len(text) - len(text.lstrip())]
    rest = text.lstrip()
    bare = rest.split(maxsplit=1)[0].rstrip(",.!:;") if rest else ""
    if greeting == written == "de" and bare[:1].isupper() and bare.lower() in _GERMAN_LOWER:
        return lead + rest[0].lower() + rest[1:]
    if greeting != "de" and written != "de" and _LOWER_WORD.fullmatch(bare):
        return lead + rest[0].upper() + rest[1:]
    return text


def _template(name: str, text: str) -> dict:
    return {"text": text, "source": {"type": "template", "id": name}}


def absolute_url(url: str | None, base_url: str | None) -> str | None:
    """An article's link as a reader elsewhere (a help desk, an e-mail) can follow it: a path such as
    ``/help/de/kuendigen`` is joined to the help center's address; a full URL stays as it is."""
    if url and base_url:
        return urljoin(base_url.rstrip("/") + "/", url.lstrip("/"))
    return url


def reply_core(text: str) -> str:
    """An agent's reply without its own greeting line and sign-off (the draft has its own): "Guten Tag
    Herr Müller,\n\nwir haben … nachgeliefert.\n\nViele Grüße\nAnna" -> "wir haben … nachgeliefert."."""
    lines = (text or "").strip().split("\n")
    first = lines[0].strip().lower() if lines else ""
    if len(lines) > 1 and first.endswith(",") and first.startswith(lx.GREETINGS):
        lines = lines[1:]
    for i, line in enumerate(lines):
        if i and line.strip().lower().rstrip(",.! ") in lx.SIGNOFFS:
            lines = lines[:i]
            break
    core = "\n".join(lines).strip()
    return core or (text or "").strip()


def draft_ticket(tickets: list[dict], min_score: float | None) -> dict | None:
    """The first similar ticket whose resolution may become the draft: none unless the help center set
    ``draft_ticket_min_score`` (a resolution was written to another customer: "your address is changed
    from 1 August", "credited 4.80 EUR")."""
    if min_score is None:
        return None
    return next((t for t in tickets if t["score"] >= float(min_score) and (t.get("resolution") or "").strip()), None)


def build_draft(language: str, article: Article | None = None, ticket: dict | None = None,
                base_url: str | None = None, signature: str | None = None,
                redactor: Redactor | None = None) -> dict:
    """``{"text", "parts": [{"text", "source": {"type", "id", "title"?, "url"?}}]}``.

    ``article`` is the confident best article (or None); ``ticket`` a similar resolved ticket
    (dict with id, subject, resolution) used when there is no article; its text is redacted (again) with
    ``redactor``, so no other customer's personal data reaches the draft.
    """
    t = TEMPLATES.get(language, TEMPLATES["en"])
    parts = [_template("greeting", t["greeting"])]
    if article is not None:
        url = absolute_url(article.url, base_url)
        text = article_excerpt(article.body) or article.title
        if url:
            text += "\n\n" + t["link"].format(url=url)
        source = {"type": "article", "id": article.id, "title": article.title}
        if url:
            source["url"] = url
        parts.append({"text": text, "source": source})
    elif ticket is not None and (ticket.get("resolution") or "").strip():
        redact = (redactor or default_redactor()).redact
        source = {"type": "ticket", "id": ticket["id"], "title": redact(ticket.get("subject") or "")}
        parts.append({"text": redact(reply_core(ticket["resolution"])), "source": source})
    else:
        parts.append(_template("fallback", t["fallback"]))
    written = article.language if article is not None and article.language else language
    parts[1]["text"] = after_greeting(parts[1]["text"], "de" if language == "de" else "en", written)
    parts.append(_template("closing", t["closing"].format(signature=signature or t["signature"])))
    draft = {"text": "\n\n".join(p["text"] for p in parts), "parts": parts}
    if (article is not None and article.language and article.language != language) or language not in TEMPLATES:
        # the greeting and closing follow the customer, the answer is the article's own text
        draft["check"] = language_check(article.language if article is not None else None, language)
    return draft


def language_check(article_language: str | None, customer_language: str, agent_language: str = "en") -> str:
    """What the agent must do before sending a draft whose article is in another language than the
    customer wrote, or which is in English because there are no templates in the customer's language, in
    ``agent_language``."""
    names = LANGUAGE_NAMES.get(agent_language, LANGUAGE_NAMES["en"])
    if customer_language not in TEMPLATES:
        return CHECK_DRAFT.get(agent_language, CHECK_DRAFT["en"]).format(
            customer=names.get(customer_language, customer_language))
    return CHECK.get(agent_language, CHECK["en"]).format(article=names.get(article_language, article_language),
                                                         customer=names.get(customer_language, customer_language))
