"""The agent console's and the content report's words, in English and German: the templates read them as
``t.key``, the scripts as ``C.t("key", {name: value})`` from the JSON the page carries. The language is
``?lang=`` where given (the links of the page keep it), else the browser's (Accept-Language), else English.
Texts the API writes (error messages, a holdout's meaning, a customer history's summary) stay as it sends them."""
from __future__ import annotations

from flask import request

from deflect.language import NAMES

LANGS = ("en", "de")

# key: (English, German); {name} is filled in by the script
TEXTS: dict[str, tuple[str, str]] = {
    # -- every console page -------------------------------------------------------------------
    "skip": ("Skip to content", "Zum Inhalt springen"),
    "nav": ("Main", "Hauptnavigation"),
    "nav_demo": ("Help center demo", "Hilfe-Center (Demo)"),
    "nav_agent": ("Agent console", "Agentenkonsole"),
    "nav_report": ("Content report", "Inhaltsbericht"),
    "other_lang": ("Deutsch", "English"),
    "api_key": ("API key", "API-Schlüssel"),
    "save": ("Save", "Speichern"),
    "key_saved": ("saved", "gespeichert"),
    "key_cleared": ("cleared", "entfernt"),
    "key_refused": (" – enter a valid API key above.", " – Bitte geben Sie oben einen gültigen API-Schlüssel ein."),
    # -- agent console ------------------------------------------------------------------------
    "agent_intro": ("Paste a customer's inquiry: deflect finds the help articles and similar resolved tickets, and "
                    "drafts a reply that cites its sources.",
                    "Fügen Sie die Anfrage eines Kunden ein: deflect findet die passenden Hilfeartikel und ähnliche "
                    "gelöste Tickets und entwirft eine Antwort, die ihre Quellen nennt."),
    "subject": ("Subject", "Betreff"),
    "message": ("Message", "Nachricht"),
    "ticket_field": ("Ticket (optional: shows what the customer already did in the widget)",
                     "Ticket-/Vorgangsnummer (optional: zeigt, was der Kunde schon im Widget getan hat)"),
    "ticket_placeholder": ("the help desk's ticket id", "die Ticket-ID im Helpdesk"),
    "language": ("Language", "Sprache"),
    "detect": ("detect", "automatisch erkennen"),
    "german": ("German", "Deutsch"),
    "english": ("English", "Englisch"),
    "suggest": ("Suggest", "Antwort vorschlagen"),
    "draft_title": ("Draft reply", "Antwortentwurf"),
    "draft_text": ("Draft reply text", "Text des Antwortentwurfs"),
    "draft_check": ("The article is in {article}, the customer wrote in {customer}: translate its answer before "
                    "sending.",
                    "Der Artikel ist auf {article}, der Kunde schrieb auf {customer}: Übersetzen Sie die Antwort vor "
                    "dem Senden."),
    "draft_check_other": ("The customer wrote in {customer}: translate this draft before sending.",
                          "Der Kunde schrieb auf {customer}: Übersetzen Sie diesen Entwurf vor dem Senden."),
    "copy_draft": ("Copy draft", "Entwurf kopieren"),
    "sources": ("Sources", "Quellen"),
    "history_title": ("What the customer already did", "Bisherige Schritte des Kunden im Widget"),
    "known_incident": ("Known issue (incident notice):", "Bekannte Störung (Hinweis an Kunden):"),
    "articles_title": ("Help articles", "Hilfeartikel"),
    "tickets_title": ("Similar resolved tickets", "Ähnliche gelöste Tickets"),
    "decision_answer": ("confident answer", "eindeutige Antwort"),
    "decision_suggest": ("not sure: articles that might help", "unsicher: Artikel, die helfen könnten"),
    "decision_no_answer": ("no confident article", "kein passender Artikel"),
    "source_article": ("Article: {title}", "Artikel: {title}"),
    "source_ticket": ("Resolved ticket {id}", "Gelöstes Ticket {id}"),
    "source_template": ("Template: {id}", "Textbaustein: {id}"),
    "source_template_text": ("text", "Text"),
    "template_greeting": ("greeting", "Anrede"),
    "template_closing": ("closing", "Grußformel"),
    "template_fallback": ("standard reply", "Standardantwort"),
    "no_articles": ("No articles.", "Keine Artikel."),
    "no_tickets": ("No similar tickets.", "Keine ähnlichen Tickets."),
    "similarity": ("similarity", "Ähnlichkeit"),
    "no_subject": ("(no subject)", "(kein Betreff)"),
    "resolution": ("Resolution: ", "Lösung: "),
    "linked_article": ("Linked article: {id}", "Verknüpfter Artikel: {id}"),
    "inferred_article": ("Inferred article: {id} (inferred from {source}, confidence {confidence}; no agent linked it)",
                         "Abgeleiteter Artikel: {id} (abgeleitet aus {source}, Konfidenz {confidence}; nicht von "
                         "einem Agenten verknüpft)"),
    "inferred_neighbours": ("the similar tickets", "ähnlichen Tickets"),
    "inferred_url": ("the article's link in the resolution", "dem Link auf den Artikel in der Lösung"),
    "inferred_id": ("the article's id in the resolution", "der Artikel-ID in der Lösung"),
    "inferred_title": ("the article's title in the resolution", "dem Artikeltitel in der Lösung"),
    "inferred_text": ("the article's text pasted into the resolution", "dem in die Lösung kopierten Artikeltext"),
    "step_searched": ("searched", "Gesucht:"),
    "step_shown": ("was shown", "Angezeigt:"),
    "step_read": ("read", "Gelesen:"),
    "step_helpful": ("said helpful:", "Als hilfreich bewertet:"),
    "step_not_helpful": ("said not helpful", "Als nicht hilfreich bewertet"),
    "step_contacted": ("contacted support", "Support kontaktiert"),
    "no_history": ("No widget activity is known for this ticket (it came without a widget session).",
                   "Zu diesem Ticket ist keine Aktivität im Widget bekannt (es kam ohne Widget-Sitzung)."),
    "use_article": ("Use this article", "Diesen Artikel verwenden"),
    "chosen": ("Chosen", "Gewählt"),
    "paste_first": ("Paste the customer's message first.", "Fügen Sie zuerst die Nachricht des Kunden ein."),
    "searching": ("Searching…", "Suche läuft…"),
    "copied": ("Copied to the clipboard.", "In die Zwischenablage kopiert."),
    "press_copy": ("Press Ctrl+C to copy.", "Drücken Sie Strg+C, um zu kopieren."),
    # -- content report: page -----------------------------------------------------------------
    "report_intro": ("What customers ask that the help center does not answer yet, and how well it deflects.",
                     "Welche Fragen das Hilfe-Center noch nicht beantwortet – und wie viele Anfragen es schon "
                     "abfängt."),
    "period": ("Period (days in UTC)", "Zeitraum (Tage in UTC)"),
    "days_7": ("7 days", "7 Tage"),
    "days_30": ("30 days", "30 Tage"),
    "days_90": ("90 days", "90 Tage"),
    "reload": ("Reload", "Neu laden"),
    "export_csv": ("Export CSV", "CSV exportieren"),
    "export_xlsx": ("Export Excel", "Excel exportieren"),
    "export_xlsx_title": ("The same rows as an Excel workbook: opens in columns whatever Excel's language",
                          "Dieselben Zeilen als Excel-Arbeitsmappe: öffnet sich in Spalten, gleich in welcher "
                          "Sprache Excel läuft"),
    "incidents_title": ("Live incidents", "Aktuelle Störungen"),
    "incidents_intro": ("Topics asked about far more often right now than usual. Publish a notice: the help page "
                        "shows it to customers asking about it.",
                        "Themen, nach denen gerade viel öfter gefragt wird als sonst. Veröffentlichen Sie einen "
                        "Hinweis: Die Hilfeseite zeigt ihn Kunden, die danach fragen."),
    "deflection_title": ("Deflection", "Self-Service"),
    "chart_volume": ("Inquiries per day (UTC)", "Anfragen pro Tag (UTC)"),
    "legend_answered": ("answered", "beantwortet"),
    "legend_suggest": ("might help", "könnte helfen"),
    "legend_none": ("no answer", "keine Antwort"),
    "deflection_rate": ("Deflection rate", "Self-Service-Quote"),
    "helpful_rate": ("Helpful rate", "Anteil „hilfreich“"),
    "kinds_title": ("Which fix", "Welche Maßnahme"),
    "kinds_intro": ("Open topics by the fix they need: an FAQ article, a product repair (defect, outage), or a "
                    "self-service process (what only agents can do now). Change the kind if it is wrong; it sticks "
                    "to the topic.",
                    "Offene Themen nach der Maßnahme, die sie brauchen: ein FAQ-Artikel, ein Produktfehler, der "
                    "behoben werden muss (Fehler, Ausfall), oder eine Self-Service-Funktion (was heute nur Agenten "
                    "können). Ändern Sie die Art, wenn sie falsch ist; sie bleibt beim Thema."),
    "gaps_title": ("Uncovered topics", "Themen ohne Artikel"),
    "costliest_first": ("overdue first, then the costliest", "überfällige zuerst, dann die mit den meisten Kunden"),
    "show": ("Show", "Anzeigen"),
    "filter_open": ("new and planned", "neu und geplant"),
    "filter_all": ("all", "alle"),
    "col_topic": ("Topic", "Thema"),
    "col_customers": ("Customers (30 days)", "Kunden (30 Tage)"),
    "col_customers_title": ("Inquiries and tickets of the last 30 days; weekly volume over 12 weeks",
                            "Anfragen und Tickets der letzten 30 Tage; Wochenvolumen über 12 Wochen"),
    "col_size": ("Size", "Größe"),
    "col_trend": ("Trend", "Trend"),
    "col_sources": ("Sources", "Quellen"),
    "col_nearest": ("Nearest article", "Ähnlichster Artikel"),
    "col_title": ("Suggested title", "Titelvorschlag"),
    "col_status": ("Status", "Status"),
    "col_owner": ("Owner / due", "Zuständig / Frist"),
    "col_actions": ("Actions", "Aktionen"),
    "nf_title": ("Not found although covered", "Nicht gefunden, obwohl ein Artikel existiert"),
    "nf_intro": ("Customers got no (or a wrong) answer, but agents solved the same question with an existing "
                 "article: add these phrasings to the article's questions.",
                 "Kunden bekamen keine (oder eine falsche) Antwort, aber Agenten haben dieselbe Frage mit einem "
                 "vorhandenen Artikel gelöst: Nehmen Sie diese Formulierungen in die Fragen des Artikels auf."),
    "unanswered_title": ("Top inquiries without answer", "Häufigste Anfragen ohne Antwort"),
    "experiment_title": ("Did deflect prevent contacts? (holdout experiment, last {days} days)",
                         "Hat deflect Kontakte verhindert? (Holdout-Experiment, letzte {days} Tage)"),
    "experiment_intro": ("With DEFLECT_HOLDOUT a random share of widget sessions gets no suggestions. Comparing how "
                         "often those sessions and the others contacted support measures what the suggestions change "
                         "— the deflection rate alone cannot.",
                         "Mit DEFLECT_HOLDOUT bekommt ein zufälliger Teil der Widget-Sitzungen keine Vorschläge. Der "
                         "Vergleich, wie oft diese und die übrigen Sitzungen den Support kontaktierten, misst, was "
                         "die Vorschläge bewirken — die Self-Service-Quote allein kann das nicht."),
    "outcomes_title": ("Outcome per article", "Ergebnis je Artikel"),
    "col_article": ("Article", "Artikel"),
    "col_shown": ("Shown", "Angezeigt"),
    "col_found": ("Found an answer", "Antwort gefunden"),
    "col_not_helpful": ("Not helpful", "Nicht hilfreich"),
    "col_contacted": ("Contacted anyway", "Trotzdem kontaktiert"),
    "col_contacted_again": ("Contacted again ≤ 7 days after “helpful”", "Erneut kontaktiert ≤ 7 Tage nach „hilfreich“"),
    "plan_title": ("Plan an article", "Artikel planen"),
    "owner": ("Owner", "Zuständig"),
    "due_date": ("Due date", "Fällig am"),
    "cancel": ("Cancel", "Abbrechen"),
    "plan": ("Plan", "Planen"),
    "replan": ("Re-plan", "Neu planen"),
    "plan_anyway": ("Plan anyway", "Trotzdem planen"),
    "dismiss_title": ("Dismiss topic", "Thema verwerfen"),
    "reason": ("Reason", "Grund"),
    "reason_placeholder": ("e.g. handled by the sales team", "z. B. übernimmt der Vertrieb"),
    "dismiss": ("Dismiss", "Verwerfen"),
    "reopen": ("Reopen", "Wieder öffnen"),
    # -- content report: script ---------------------------------------------------------------
    "no_data": ("No data in this period yet.", "Noch keine Daten in diesem Zeitraum."),
    "volume_label": ("Inquiries per day: {total} in {days} days", "Anfragen pro Tag: {total} in {days} Tagen"),
    "volume_held_out": ("; {held} more of the holdout's control group, shown nothing, are not drawn",
                        "; dazu {held} der Kontrollgruppe (ohne Vorschläge), nicht gezeichnet"),
    "volume_day": ("{date}: {answered} answered, {suggested} with articles that might help, {none} without answer",
                   "{date}: {answered} beantwortet, {suggested} mit Artikeln, die helfen könnten, {none} ohne Antwort"),
    "rate_label": ("{what} per day: latest {latest}, average {average}",
                   "{what} pro Tag: zuletzt {latest}, im Mittel {average}"),
    "kpi_deflection_note": ("sessions with an answer, no contact with support and no “not helpful”",
                            "Sitzungen mit Antwort, ohne Support-Kontakt und ohne „nicht hilfreich“"),
    "kpi_helpful_note": ("{yes} yes · {no} no", "{yes} ja · {no} nein"),
    "kpi_no_answer": ("No-answer rate", "Anteil ohne Antwort"),
    "kpi_no_answer_note": ("{none} of {inquiries} inquiries", "{none} von {inquiries} Anfragen"),
    "kpi_inquiries": ("Inquiries", "Anfragen"),
    "kpi_sessions": ("{sessions} sessions", "{sessions} Sitzungen"),
    "kpi_contacted": ("Contacted support", "Support kontaktiert"),
    "kpi_contacted_note": ("from a widget search, whatever it showed",
                           "nach einer Widget-Suche (unabhängig vom Ergebnis)"),
    "kpi_suggest": ("Suggest rate", "Vorschlagsquote"),
    "kpi_suggest_note": ("{suggested} not sure: articles that might help", "{suggested} mit unsicheren Vorschlägen"),
    "times_asked": ("times asked", "so oft gefragt"),
    "nothing_unanswered": ("Nothing unanswered in this period.", "Nichts blieb in diesem Zeitraum unbeantwortet."),
    "trend_vs": ("{now} vs {before}", "{now} ggü. {before}"),
    "trend_title": ("{direction}: {now} in the last {days} days, {before} in the period before",
                    "{direction}: {now} in den letzten {days} Tagen, {before} im Zeitraum davor"),
    "trend_rising": ("rising", "steigend"),
    "trend_new": ("new", "neu"),
    "trend_falling": ("falling", "fallend"),
    "trend_steady": ("steady", "gleichbleibend"),
    "one_ticket": ("1 ticket", "1 Ticket"),
    "n_tickets": ("{n} tickets", "{n} Tickets"),
    "one_inquiry": ("1 inquiry", "1 Anfrage"),
    "n_inquiries": ("{n} inquiries", "{n} Anfragen"),
    "weekly_label": ("Weekly volume, last {weeks} weeks (oldest first): {values}",
                     "Wochenvolumen der letzten {weeks} Wochen (älteste zuerst): {values}"),
    "customers_title": ("customers in the last {days} days", "Kunden in den letzten {days} Tagen"),
    "cost_parts": ("{inquiries} inq. · {tickets} tickets", "{inquiries} Anfr. · {tickets} Tickets"),
    "languages": ("languages: {list}", "Sprachen: {list}"),
    **{f"lang_{code}": names for code, names in NAMES.items()},
    "channel_email": ("e-mail", "E-Mail"),
    "channel_contact_form": ("contact form", "Kontaktformular"),
    "channel_phone": ("phone", "Telefon"),
    "channel_chat": ("chat", "Chat"),
    "channel_widget": ("widget", "Widget"),
    "channel_agent": ("agent console", "Agentenkonsole"),
    "example_ticket": ("ticket", "Ticket"),
    "example_inquiry": ("inquiry", "Anfrage"),
    "status_new": ("new", "neu"),
    "status_planned": ("planned", "geplant"),
    "status_covered": ("covered", "abgedeckt"),
    "status_dismissed": ("dismissed", "verworfen"),
    "overdue": ("overdue", "überfällig"),
    "covered_by": ("by {article}", "durch {article}"),
    "due": ("due {date}", "fällig am {date}"),
    "plan_label": ("Plan {id}: {label}", "{id} planen: {label}"),
    "dismiss_label": ("Dismiss {id}: {label}", "{id} verwerfen: {label}"),
    "reopen_label": ("Reopen {id}: {label}", "{id} wieder öffnen: {label}"),
    "not_loaded": ("Not loaded.", "Nicht geladen."),
    "no_topics": ("No topics with this status.", "Keine Themen mit diesem Status."),
    "no_report": ("No gap report yet.", "Noch kein Bericht."),
    "no_report_building": ("No gap report yet: it is being built…", "Noch kein Bericht: Er wird gerade erstellt…"),
    "nothing_not_found": ("Nothing here: every covered question was found.",
                          "Nichts hier: Jede abgedeckte Frage wurde gefunden."),
    "topic_now": ("Topic {id} is now {status}.", "Thema {id} ist jetzt {status}."),
    "topic_reopened": ("Topic {id} is open again.", "Thema {id} ist wieder offen."),
    "past_due": ("The due date {date} is in the past: the topic will be overdue at once. Press “Plan anyway” to "
                 "confirm, or pick a later date.",
                 "Das Fälligkeitsdatum {date} liegt in der Vergangenheit: Das Thema ist sofort überfällig. Klicken "
                 "Sie auf „Trotzdem planen“, um es zu bestätigen, oder wählen Sie ein späteres Datum."),
    "enter_admin_key": ("Enter an admin API key above (deflect keys create --name me --scope admin).",
                        "Geben Sie oben einen Admin-API-Schlüssel ein (deflect keys create --name redaktion --scope "
                        "admin)."),
    "loading": ("Loading…", "Wird geladen…"),
    "metrics_failed": ("metrics: {error}", "Kennzahlen: {error}"),
    "gaps_failed": ("gaps: {error}", "Themen: {error}"),
    "rebuild": ("Build again", "Neu erstellen"),
    "rebuild_title": ("Build the report of uncovered topics again from today's inquiries and tickets (it is built "
                      "again after each index build)",
                      "Den Bericht der Themen ohne Artikel aus den heutigen Anfragen und Tickets neu erstellen (das "
                      "geschieht auch nach jedem Indexaufbau)"),
    "report_of": ("Report of {time} UTC", "Bericht vom {time} UTC"),
    "report_building": ("a new report is being built…", "ein neuer Bericht wird erstellt…"),
    "run_failed": ("the last run failed: {error}", "der letzte Lauf ist fehlgeschlagen: {error}"),
    # -- content report: incidents, fixes, why not found -------------------------------------
    "kind_article": ("FAQ article", "FAQ-Artikel"),
    "kind_product": ("Product repair", "Produktfehler beheben"),
    "kind_process": ("Self-service process", "Self-Service-Funktion"),
    "incident_count": ("{count} (usually {baseline})", "{count} (sonst {baseline})"),
    "incident_since": ("since {time} UTC", "seit {time} UTC"),
    "incident_fix": (" · fix: {kind}", " · Maßnahme: {kind}"),
    "notice_line": ("Notice: {texts} — seen by {seen} sessions, {no_contact} did not contact",
                    "Hinweis: {texts} — gesehen von {seen} Sitzungen, {no_contact} ohne Kontakt"),
    "notice_de": ("Notice in German", "Hinweis auf Deutsch"),
    "notice_en": ("Notice in English", "Hinweis auf Englisch"),
    "notice_ends": ("Ends at", "Endet am"),
    "publish_notice": ("Publish notice", "Hinweis veröffentlichen"),
    "end_notice": ("End notice", "Hinweis beenden"),
    "notice_ended": ("ended {time} UTC", "beendet {time} UTC"),
    "no_incidents": ("No live incidents.", "Keine aktuellen Störungen."),
    "set_by_team": ("set by the team", "vom Team gesetzt"),
    "kind_confidence": ("confidence {pct}%", "Konfidenz {pct} %"),
    "kind_owner": (" · owner {owner}", " · zuständig: {owner}"),
    "kind_of": ("Fix kind of {id}", "Art der Maßnahme für {id}"),
    "why_not_found": ("Why not found: {parts}", "Warum nicht gefunden: {parts}"),
    "reason_wording": ("wording", "Wortwahl"),
    "reason_language": ("language", "Sprache"),
    "reason_sibling": ("sibling", "Nachbarartikel"),
    "reason_doubt": ("doubt", "Unsicherheit"),
    "reason_new": ("new", "neu"),
    "why_wording": ("missing: {words}", "fehlende Wörter: {words}"),
    "why_language": ("only in another language: {title}", "nur in einer anderen Sprache: {title}"),
    "why_sibling": ("outranked by {title}", "verdrängt von {title}"),
    "why_doubt": ("confidence {pct}%", "Konfidenz {pct} %"),
    "why_new": ("the article is newer than the question", "der Artikel ist neuer als die Frage"),
    # -- content report: holdout experiment ---------------------------------------------------
    "rate_of": ("{rate} of {sessions} sessions (95 % CI {low}–{high})",
                "{rate} von {sessions} Sitzungen (95-%-Konfidenzintervall {low}–{high})"),
    "rate_shown": ("Contact rate of the sessions that get suggestions (not held out)",
                   "Kontaktquote der Sitzungen, die Vorschläge bekommen (nicht zurückgehalten)"),
    "rate_holdout": ("Contact rate without (held out)", "Kontaktquote ohne Vorschläge (Kontrollgruppe)"),
    "difference": ("Difference (shown − held out)", "Unterschied (mit − ohne Vorschläge)"),
    "difference_value": ("{value} points (95 % CI {low} to {high})",
                         "{value} Prozentpunkte (95-%-Konfidenzintervall {low} bis {high})"),
    "sessions_needed": ("Sessions needed", "Benötigte Sitzungen"),
    "sessions_needed_value": ("±{points} points: {sessions}", "±{points} Prozentpunkte: {sessions}"),
    "sessions_needed_value_one": ("±{points} point: {sessions}", "±{points} Prozentpunkt: {sessions}"),
    "no_suggestions": ("No suggestions yet.", "Noch keine Vorschläge."),
}


def asked_lang() -> str | None:
    """The language ``?lang=`` asks for, where it is one of the console's."""
    asked = (request.args.get("lang") or "").strip().lower()
    return asked if asked in LANGS else None


def browser_lang(default: str) -> str:
    """The first of the browser's languages (Accept-Language, best first) that is one of ours, by its
    primary tag: "en-GB, de;q=0.5" is English (an exact-match rule picks "de" there), "fr" none."""
    for value, _quality in request.accept_languages:
        primary = value.split("-")[0].split("_")[0].lower()
        if primary in LANGS:
            return primary
    return default


def console_lang() -> str:
    """The console's language for this request: ``?lang=``, else the browser's, else English."""
    return asked_lang() or browser_lang("en")


def console_texts(lang: str) -> dict[str, str]:
    """Every console text in ``lang``."""
    column = LANGS.index(lang)
    return {key: pair[column] for key, pair in TEXTS.items()}
