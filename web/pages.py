"""HTML pages: the demo help center (`/`, articles, contact form), the agent console and the report.

The pages are thin shells: the widget (static/widget.js), agent.js and report.js talk to /api/v1. The
results page (`/search?q=`, where Enter in the widget's search box leads) is rendered here, with the
same three answers as the widget. Articles are rendered from Markdown with raw HTML disabled, so
article text cannot inject markup.
"""
from __future__ import annotations

import uuid
from collections import OrderedDict
from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from markdown_it import MarkdownIt
from markupsafe import Markup

from deflect.clock import parse_time, utcnow
from deflect.engine import Suggestion
from deflect.errors import DeflectError, NotFoundError
from deflect.formats import Article
from deflect.language import detect_language
from deflect.store.feedback import record_contact

from .api.common import K_ARTICLES, articles_json, deflector, log_inquiry
from .console_text import asked_lang, browser_lang, console_lang, console_texts
from .errors import ERROR_PAGE
from .learning import held_out
from .limits import cross_site, over_limit, visible_chars, without_controls
from .state import get_redactor, get_store

bp = Blueprint("pages", __name__, static_folder="static", static_url_path="/static",
               template_folder="templates")

_markdown = MarkdownIt("js-default", {"html": False, "linkify": False})

SITE = "Rheinblick Zeitung"
LANGS = ("de", "en")

# Category of an article: the folder in its help-center URL (/hilfe/<category>/...), else its first tag.
CATEGORIES = {
    "de": OrderedDict([
        ("abo", ("Abo & Angebote", "Varianten, Preise, Probe-, Geschenk- und Studierendenabo")),
        ("zustellung", ("Zustellung", "Zeitung fehlt, Urlaubsservice, Umzug, Zustellzeiten")),
        ("epaper", ("E-Paper", "Anmeldung, Geräte, Offline-Lesen, Archiv und PDF")),
        ("digital", ("Digital & RZ Plus", "Plus-Artikel, Bezahlschranke, Digitalzugang")),
        ("rechnung", ("Rechnung & Zahlung", "Rechnungen, Zahlungsarten, Lastschrift, Erstattung")),
        ("kuendigung", ("Kündigung", "Abo kündigen, Fristen, Widerruf")),
        ("konto", ("Kundenkonto", "Passwort, E-Mail, Kundennummer, Datenschutz")),
        ("anzeigen", ("Anzeigen", "Kleinanzeigen und Traueranzeigen")),
        ("redaktion", ("Redaktion", "Fehler melden, Leserbriefe")),
        ("service", ("Kontakt", "So erreichen Sie den Leserservice")),
    ]),
    "en": OrderedDict([
        ("subscription", ("Subscriptions", "Options, prices, gifts and discounts")),
        ("delivery", ("Delivery & travel", "Holidays, reading from abroad")),
        ("epaper", ("E-paper & digital", "Login, offline reading, English content")),
        ("billing", ("Billing", "Payment methods, invoices, VAT")),
        ("account", ("Account & privacy", "Passwords, your data, cancellation")),
        ("other", ("More help", "Everything else")),
    ]),
}
_EN_TAGS = {
    "subscription": "subscription", "gift": "subscription", "student": "subscription",
    "discount": "subscription", "english": "subscription", "cancellation": "account",
    "vacation": "delivery", "holiday": "delivery", "abroad": "delivery", "international": "delivery",
    "delivery": "delivery", "epaper": "epaper", "e-paper": "epaper", "offline": "epaper",
    "login": "epaper", "digital": "epaper", "payment": "billing", "invoice": "billing", "vat": "billing",
    "billing": "billing",
    "password": "account", "account": "account", "privacy": "account", "gdpr": "account",
}

# The pages' wording: each phrase as (German, English), the order of LANGS.
PHRASES: dict[str, tuple[Any, Any]] = {
    "site": (SITE, SITE),
    "service": ("Leserservice", "Reader service"),
    "help_center": ("Hilfe & Kontakt", "Help & contact"),
    "hero_title": ("Wie können wir Ihnen helfen?", "How can we help?"),
    "hero_lead": (
        "Stellen Sie Ihre Frage – wir zeigen Ihnen passende Antworten, während Sie tippen.",
        "Ask your question – we suggest answers while you type.",
    ),
    "search_label": ("Ihre Frage an den Leserservice", "Your question for the reader service"),
    "search_placeholder": (
        "z. B. „Zeitung kam heute nicht“ oder „Abo kündigen“",
        "e.g. “cancel my subscription” or “e-paper login”",
    ),
    "popular": ("Häufig gesucht", "Popular searches"),
    "popular_items": (
        [("Zeitung nicht erhalten", "zustellung-zeitung-fehlt"), ("Urlaubsservice", "zustellung-urlaubsservice"),
         ("E-Paper-Anmeldung", "epaper-login"), ("Abo kündigen", "kuendigung-abo"),
         ("Rechnung herunterladen", "rechnung-abrufen")],
        [("Cancel subscription", "en-cancel-subscription"), ("Forgot password", "en-password-reset"),
         ("Read offline", "en-offline-reading"), ("Student discount", "en-student-discount"),
         ("Holiday pause", "en-vacation-hold")],
    ),
    "topics": ("Alle Themen", "All topics"),
    "articles": ("Artikel", "articles"),
    "contact_title": ("Keine Antwort gefunden? Schreiben Sie uns.", "No answer found? Write to us."),
    "contact_lead": (
        "Unser Leserservice antwortet werktags innerhalb von 1–2 Tagen. Telefon: 0800 555 0100 (kostenlos), "
        "Mo–Fr 7–18 Uhr.",
        "Our reader service replies within 1–2 working days. Phone: +49 800 555 0100, Mon–Fri 7am–6pm.",
    ),
    "name": ("Ihr Name", "Your name"),
    "email": ("E-Mail-Adresse", "Email address"),
    "customer_no": ("Kundennummer (optional)", "Customer number (optional)"),
    "subject": ("Betreff", "Subject"),
    "message": ("Ihre Nachricht", "Your message"),
    "send": ("Nachricht senden", "Send message"),
    "required": ("Pflichtfeld", "required"),
    "other_lang": ("Help in English", "Hilfe auf Deutsch"),
    "other_lang_code": ("en", "de"),
    "back": ("Zurück zur Hilfe-Übersicht", "Back to the help center"),
    "breadcrumb": ("Hilfe", "Help"),
    "breadcrumb_label": ("Pfadnavigation", "Breadcrumb"),
    "questions": ("Dieser Artikel beantwortet Fragen wie", "This article answers questions like"),
    "still": ("Noch Fragen?", "Still need help?"),
    "still_lead": ("Unser Team hilft Ihnen gern persönlich weiter.", "Our team is happy to help you in person."),
    "to_contact": ("Zum Kontaktformular", "Go to the contact form"),
    "thanks_title": ("Vielen Dank für Ihre Nachricht!", "Thank you for your message!"),
    "thanks_lead": (
        "Dies ist die Demo-Seite von deflect: Die Nachricht wurde nicht verschickt und nicht gespeichert. Im "
        "echten Einsatz landet sie im Helpdesk.",
        "This is deflect's demo page: your message was neither sent nor stored. In a real deployment it goes to "
        "the helpdesk.",
    ),
    "reference": ("Vorgangsnummer (in der Agenten-Konsole: was Sie schon gesucht haben)",
                  "Reference (in the agent console: what you already searched)"),
    "footer": (
        "Rheinblick Medien GmbH · Hafenstraße 12 · Rheinstadt",
        "Rheinblick Medien GmbH · Hafenstraße 12 · Rheinstadt, Germany",
    ),
    "demo_note": (
        "Demo-Hilfecenter eines fiktiven Verlags – betrieben mit deflect.",
        "Demo help center of a fictional publisher – powered by deflect.",
    ),
    "not_found": ("Artikel nicht gefunden", "Article not found"),
    "page_not_found": ("Seite nicht gefunden", "Page not found"),
    "bad_request": ("Diese Anfrage können wir leider nicht bearbeiten", "We cannot handle this request"),
    "server_error": ("Da ist bei uns leider etwas schiefgegangen", "Something went wrong on our side"),
    "error_id": ("Fehlernummer für unser Team", "Error id for our team"),
    "results_title": ("Suchergebnisse", "Search results"),
    "results_for": ("Ihre Frage", "Your question"),
    "answer_title": ("Die Antwort auf Ihre Frage", "The answer to your question"),
    "might_help": ("Vielleicht hilft einer dieser Artikel", "These articles might help"),
    "no_answer": ("Dazu haben wir leider keinen passenden Artikel.", "Sorry, we don't have an article about that."),
    "or_ask": ("Nicht dabei? Unser Team hilft Ihnen gern persönlich weiter.",
               "Not there? Our team is happy to help you in person."),
    "search_short": ("Bitte geben Sie Ihre Frage ein (mindestens 3 Zeichen).",
                     "Please type your question (at least 3 characters)."),
    "search_error": ("Die Suche ist gerade nicht erreichbar. Unser Team hilft Ihnen gern persönlich weiter.",
                     "Search is unavailable right now. Our team is happy to help you in person."),
    "search_busy": ("Gerade kamen sehr viele Suchen von hier. Bitte versuchen Sie es in einer Minute noch einmal "
                    "– oder schreiben Sie uns direkt.", "Many searches came from here just now. Please try again in "
                    "a minute, or write to us directly."),
    "search_button": ("Suchen", "Search"),
    "skip": ("Zum Inhalt springen", "Skip to content"),
}
TEXT = {lang: {key: pair[i] for key, pair in PHRASES.items()} for i, lang in enumerate(LANGS)}
# A team's own pages (the ``site_name`` setting): its name, and words of no one publisher.
TEAM = {
    "de": {"service": "Kundenservice", "search_label": "Ihre Frage an uns",
           "contact_lead": "Unser Team hilft Ihnen gern persönlich weiter.", "footer": "", "demo_note": ""},
    "en": {"service": "Customer service", "search_label": "Your question for us",
           "contact_lead": "Our team is happy to help you in person.", "footer": "", "demo_note": ""},
}


def site_text(lang: str) -> dict:
    """The pages' words in ``lang``: the demo publisher's, or with the ``site_name`` setting the team's
    name and contact words (no demo address, phone number or note)."""
    name = current_app.config.get("SITE_NAME")
    if not name:
        return {**TEXT[lang], "demo_site": True}
    own = current_app.config.get("CONTACT_TEXT")
    return {**TEXT[lang], **TEAM[lang], "site": name, "demo_site": False,
            **({"contact_lead": own} if own else {})}


def contact_link(lang: str, subject: str | None = None) -> str:
    """Where the way to a human leads: the team's contact page (``contact_url``), else this service's page
    with its contact form (the demo's), the question as its subject."""
    own = current_app.config.get("CONTACT_URL")
    if own:
        return own
    return url_for("pages.index", lang=lang, subject=subject or None) + "#kontakt"


@bp.app_context_processor
def _site() -> dict:
    return {"contact_link": contact_link}


def error_page(status: int, error_id: str | None = None) -> tuple[str, int]:
    """A help page's error as a page of the help center, in its language, with the way back and to a
    human (not the framework's English "Not Found")."""
    lang = "en" if request.path.startswith("/help/") else page_lang()
    t = site_text(lang)
    heading = t["page_not_found"] if status == 404 else t["server_error"] if status >= 500 else t["bad_request"]
    return render_template("not_found.html", lang=lang, t=t, heading=heading, error_id=error_id), status


@bp.record_once
def _register_error_page(state) -> None:
    state.app.extensions[ERROR_PAGE] = error_page


def page_lang() -> str:
    """The demo pages' language: ``?lang=``, else the browser's, else German (the demo newspaper's)."""
    g.varies_by_language = True
    return asked_lang() or browser_lang("de")


@bp.after_request
def _vary_by_language(response):
    """A page in the browser's language must not be handed by a cache to a browser of the other one."""
    if g.get("varies_by_language"):
        response.vary.add("Accept-Language")
    return response


def category_of(article: Article) -> str:
    """The help-center section an article belongs to."""
    parts = [p for p in (article.url or "").split("/") if p]
    if article.language == "en":
        for tag in article.tags:
            key = tag.lower().split("-")[0]
            if key in _EN_TAGS:
                return _EN_TAGS[key]
        return "other"
    if len(parts) >= 3 and parts[0] == "hilfe":
        return parts[1]
    if len(parts) == 2 and parts[0] == "hilfe":
        return "service"
    return article.tags[0].lower() if article.tags else "service"


def group_articles(articles: list[Article], lang: str) -> list[dict]:
    """Articles of one language grouped into the help center's sections, in a stable order."""
    known = CATEGORIES[lang]
    groups: dict[str, list[Article]] = {}
    for article in articles:
        if (article.language or "de") != lang:
            continue
        groups.setdefault(category_of(article), []).append(article)
    order = [key for key in known if key in groups] + sorted(k for k in groups if k not in known)
    out = []
    for key in order:
        title, blurb = known.get(key, (key.replace("-", " ").capitalize(), ""))
        items = sorted(groups[key], key=lambda a: a.title.lower())
        out.append({"key": key, "title": title, "blurb": blurb, "articles": items})
    return out


def render_markdown(text: str) -> str:
    """Markdown to HTML with raw HTML disabled (escaped) and unsafe link schemes refused."""
    return _markdown.render(text or "")


@bp.app_template_global()
def article_href(article: Article) -> str:
    """Where the demo help center shows an article."""
    return url_for("pages.article", article_id=article.id)


@bp.route("/")
def index():
    """The demo help center: search box with the widget, article sections, contact form."""
    lang = page_lang()
    articles = get_store().articles()
    ids = {a.id for a in articles}
    popular = [(label, aid) for label, aid in TEXT[lang]["popular_items"] if aid in ids]
    # the results page's way to a human carries the customer's question into the form (?subject=)
    subject = (request.args.get("subject") or "").strip()[:200]
    return render_template("index.html", lang=lang, t=site_text(lang), groups=group_articles(articles, lang),
                           popular=popular, subject=subject)


@bp.route("/articles/<article_id>")
def article(article_id: str):
    try:
        art = get_store().get_article(article_id)
    except NotFoundError:
        lang = page_lang()
        return render_template("not_found.html", lang=lang, t=site_text(lang)), 404
    lang = art.language if art.language in LANGS else "de"
    cat = category_of(art)
    section = CATEGORIES[lang].get(cat, (cat.capitalize(), ""))[0]
    return render_template("article.html", lang=lang, t=site_text(lang), article=art, section=section,
                           body_html=render_markdown(art.body))


@bp.route("/hilfe/<path:rest>")
@bp.route("/help/<path:rest>")
def article_by_url(rest: str):
    """The articles' own help-center URLs (what the API returns as `url`) lead to the article."""
    path = request.path.rstrip("/")
    row = get_store().db.execute("select id from articles where url = ? or url = ?",
                                 [path, path + "/"]).fetchone()
    if row is None:
        lang = "en" if path.startswith("/help/") else "de"
        return render_template("not_found.html", lang=lang, t=site_text(lang)), 404
    return redirect(url_for("pages.article", article_id=row[0]))


@bp.route("/search")
def search():
    """The results page: the widget's three answers for ``q`` (the answer, articles that might help, or
    none) with the way to a human; logged like a widget inquiry."""
    lang = page_lang()
    query = " ".join(without_controls(request.args.get("q") or "").split())[:1000]
    # the widget's session, when it opened the page
    session = without_controls(request.args.get("session") or "").strip()[:128] or None
    # what a foreign page asks unseen (an image pointing here) is answered, but goes into no report
    logged = not cross_site(embedded_only=True)
    found: dict = {"decision": None, "articles": []}
    status = 200
    if visible_chars(query) >= 3:   # as the widget and its API count
        if over_limit("suggest"):   # the widget's limit: the page runs the model and logs an inquiry too
            found, status = {"decision": "busy", "articles": []}, 429   # not an outage: later it works
        elif held_out(session):     # the experiment's control group sees no suggestions here either
            text = get_redactor().redact(query)
            if logged and not _asked_just_now(session, text):
                log_inquiry(text, Suggestion(decision="holdout", confidence=0.0, articles=[],
                                             language=detect_language(text)), "widget", session, request.path)
            found = {"decision": "holdout", "articles": []}
        else:
            found = _search(query, session, logged)
    return render_template("search.html", lang=lang, t=site_text(lang), query=query, **found), status


def _search(query: str, session: str | None, logged: bool = True) -> dict:
    """The suggestion for the results page: decision and the articles to show (snippets as Markup)."""
    text = get_redactor().redact(query)
    try:
        s = deflector().suggest(text, k=K_ARTICLES)
    except DeflectError as exc:
        current_app.logger.warning("deflect: the results page could not search (%s)", exc)
        return {"decision": "error", "articles": []}
    if logged and not _asked_just_now(session, text):
        log_inquiry(text, s, "widget", session, request.path)
    articles = articles_json(s.shown_articles(), text)
    for a in articles:
        a["snippet"] = Markup(a["snippet"])   # HTML-escaped by web.text.snippet, only <mark> added
    return {"decision": s.decision, "articles": articles}


def _asked_just_now(session: str | None, text: str, minutes: int = 30) -> bool:
    """Whether the session's last inquiry was this very question, a little while ago: Enter in the widget's
    box opens this page for the question the widget has just logged, and one question is one inquiry."""
    if not session:
        return False
    try:
        row = get_store().db.execute("select text, created_at from inquiries where session = ? "
                                     "order by created_at desc, seq desc limit 1", [session]).fetchone()
    except Exception:   # noqa: BLE001 -- a store that cannot answer now: log it again rather than lose it
        return False
    if row is None or " ".join((row[0] or "").split()).lower() != " ".join(text.split()).lower():
        return False
    asked = parse_time(row[1])
    return asked is not None and utcnow() - asked <= timedelta(minutes=minutes)


@bp.route("/contact", methods=["GET", "POST"])
def contact():
    """The demo contact form's target: thanks the customer with a ticket reference. It stores no
    message, only that the widget session behind the form (its hidden ``deflect_session`` field)
    contacted support, as a help desk sending the ticket with that session would."""
    lang = request.form.get("lang") if request.method == "POST" else page_lang()
    lang = lang if lang in LANGS else "de"
    if request.method == "GET":
        return redirect(url_for("pages.index", lang=lang) + "#kontakt")
    subject = without_controls(request.form.get("subject") or "").strip()[:200]
    # a flood of posts, or a form on a foreign page, thanks each sender but records no contacts (they
    # count in the holdout experiment)
    session = "" if cross_site() or over_limit("feedback") else \
        without_controls(request.form.get("deflect_session") or "").strip()[:128]
    reference = demo_contact(session)
    return render_template("thanks.html", lang=lang, t=site_text(lang), subject=subject, reference=reference)


def demo_contact(session: str) -> str | None:
    """The demo help desk's ticket reference for a contact from a widget session (None without one)."""
    if not session:
        return None
    reference = "web-" + uuid.uuid4().hex[:8]
    record_contact(get_store(), "form", session=session, ticket_id=reference)
    return reference


@bp.route("/agent")
def agent():
    """Agent console: paste an inquiry, get articles, similar tickets and a cited draft (agent.js)."""
    return console_page("agent.html")


@bp.route("/report")
def report():
    """Content-team report: gaps with plan/dismiss, not-found list, metrics charts, CSV (report.js)."""
    return console_page("report.html")


def console_page(template: str):
    """A console page in the console's language (``console_text``): its words for the template and,
    as JSON in the page, for the scripts; links keep a language chosen with ``?lang=``."""
    lang = console_lang()
    response = current_app.make_response(render_template(template, lang=lang, t=console_texts(lang),
                                                          asked_lang=asked_lang(),
                                                          other_lang=LANGS[1 - LANGS.index(lang)]))
    response.vary.add("Accept-Language")   # a cache must not hand one team's language to the other
    return response
