"""The report as text: a readable table, one CSV row (or workbook row) per topic, JSON."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime

from deflect.gaps.model import Report, Topic
from deflect.xlsx import to_xlsx as workbook

CSV_FIELDS = ("id", "status", "overdue", "size", "tickets", "inquiries", "label", "suggested_title", "owner",
              "due", "languages", "channels", "first_seen", "last_seen", "this_period", "previous_period",
              "trend", "nearest_article", "nearest_score", "covered_by", "time_to_coverage_days", "customers_30d",
              "weekly", "fix", "reason", "nearest_title", "examples")
# The workbook a German content team opens: its header row and the workflow's words in German.
GERMAN_HEADERS = {
    "id": "Thema", "status": "Status", "overdue": "überfällig", "size": "Größe", "tickets": "Tickets",
    "inquiries": "Anfragen", "label": "Stichworte", "suggested_title": "Titelvorschlag", "owner": "Zuständig",
    "due": "Frist", "languages": "Sprachen", "channels": "Kanäle", "first_seen": "zuerst gesehen",
    "last_seen": "zuletzt gesehen", "this_period": "dieser Zeitraum", "previous_period": "Zeitraum davor",
    "trend": "Trend", "nearest_article": "ähnlichster Artikel (ID)", "nearest_score": "Ähnlichkeit",
    "covered_by": "abgedeckt durch", "time_to_coverage_days": "Tage bis abgedeckt",
    "customers_30d": "Kunden (30 Tage)", "weekly": "pro Woche", "fix": "Maßnahme", "reason": "Grund",
    "nearest_title": "ähnlichster Artikel", "examples": "Beispielfragen",
}
GERMAN_VALUES = {
    "status": {"new": "neu", "planned": "geplant", "covered": "abgedeckt", "dismissed": "verworfen"},
    "trend": {"rising": "steigend", "new": "neu", "falling": "fallend", "steady": "gleichbleibend"},
    "fix": {"article": "FAQ-Artikel", "product": "Produktfehler beheben", "process": "Self-Service-Funktion"},
}


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=1)


# A cell a spreadsheet would run as a formula (customer text such as "=HYPERLINK(...)") gets a leading '.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


# Excel with a German locale splits a .csv file on ";" whatever its quotes: each part of a text between
# semicolons opens a cell of its own there.
_PART_FORMULA = re.compile(r";(\s*)(?=[=+\-@\t\r])")


def safe_cell(value):
    """``value`` as a spreadsheet shows it, never as a formula it runs (nor any part of it that a
    semicolon-splitting spreadsheet makes a cell)."""
    if not isinstance(value, str):
        return value
    value = _PART_FORMULA.sub(lambda m: ";" + m.group(1) + "'", value)
    if value.startswith(_FORMULA) and not _NUMBER.match(value):
        return "'" + value
    return value


def _csv_row(t: Topic) -> dict:
    src, trend, near = t.sources, t.trend, t.nearest_article
    return {
        "id": t.id, "status": t.status, "overdue": int(t.overdue), "size": t.size,
        "tickets": src.ticket if src else 0, "inquiries": src.inquiry if src else 0, "label": t.label,
        "suggested_title": t.suggested_title, "owner": t.owner or "", "due": t.due or "",
        "languages": " ".join(f"{k}:{v}" for k, v in (src.languages if src else {}).items()),
        "channels": " ".join(f"{k}:{v}" for k, v in (src.channels if src else {}).items()),
        "first_seen": t.first_seen or "", "last_seen": t.last_seen or "",
        "this_period": trend.this_period if trend else "",
        "previous_period": trend.previous_period if trend else "",
        "trend": trend.direction if trend else "", "nearest_article": near.id if near else "",
        "nearest_score": near.score if near else "", "covered_by": t.covered_by or "",
        "time_to_coverage_days": "" if t.time_to_coverage_days is None else t.time_to_coverage_days,
        "customers_30d": t.cost.customers if t.cost else "", "weekly": " ".join(map(str, t.weekly)),
        "fix": t.fix.kind if t.fix else "", "reason": t.reason or "",
        "nearest_title": near.title if near else "", "examples": " | ".join(e.text for e in t.examples[:3]),
    }


def to_csv(report: Report) -> str:
    """One row per topic; cells that look like spreadsheet formulas are defused."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for t in report.topics:
        w.writerow({key: safe_cell(value) for key, value in _csv_row(t).items()})
    return buf.getvalue()


def to_xlsx(report: Report, language: str = "en") -> bytes:
    """The CSV's rows as an Excel workbook: opens in columns whatever the reader's locale; its header row
    and the workflow's words (status, trend, fix) in ``language`` (en or de)."""
    german = language == "de"

    def cells(t: Topic) -> list:
        row = _csv_row(t)
        if german:
            for key, words in GERMAN_VALUES.items():
                row[key] = words.get(row[key], row[key])
        row["overdue"] = ("ja" if german else "yes") if t.overdue else ("nein" if german else "no")
        for key in ("due", "first_seen", "last_seen"):   # dates the reader can sort and filter as dates
            row[key] = _when(row[key])
        return [row[key] for key in CSV_FIELDS]

    headers = [GERMAN_HEADERS[key] for key in CSV_FIELDS] if german else CSV_FIELDS
    return workbook(headers, (cells(t) for t in report.topics), sheet="Themen ohne Artikel" if german else "Gap report")


def _when(value: str):
    """A stored date (YYYY-MM-DD) or time (ISO 8601) as a date or datetime; anything else as it is."""
    if not value:
        return value
    try:
        return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    except ValueError:
        return value


def _cut(text: str | None, width: int) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= width else text[:width - 1] + "…"


def _why_line(w) -> str:
    """One phrasing's reason and its evidence, short."""
    detail = {"wording": lambda: "missing: " + ", ".join(w.missing_words[:5]),
              "language": lambda: f"only in another language: {w.twin}",
              "sibling": lambda: f"outranked by {w.sibling}",
              "doubt": lambda: f"confidence {w.confidence:.2f}" if w.confidence is not None else "",
              "new": lambda: "article is newer than the inquiry"}[w.reason]()
    return f"{w.reason}: {detail}" if detail else w.reason


def to_table(report: Report) -> str:
    c = report.counts
    lines = [f"{c.items} items ({c.tickets} tickets, {c.inquiries} inquiries): {c.linked} linked, "
             f"{c.answered} answered, {c.not_answered} not answered → {len(report.topics)} topics "
             f"(min size {report.params.min_size}; report of {report.generated_at})", ""]
    if report.topics:
        lines.append(f"{'ID':<7} {'STATUS':<9} {'SIZE':>4} {'T/I':>7} {'TREND':<8} {'NEAREST ARTICLE':<24} "
                     f"TOPIC")
        for t in report.topics:
            near = t.nearest_article
            status = "OVERDUE" if t.overdue else t.status
            sources = f"{t.sources.ticket}/{t.sources.inquiry}" if t.sources else "0/0"
            nearest = f"{near.id} {near.score:.2f}" if near else "-"
            lines.append(f"{t.id:<7} {status:<9} {t.size:>4} {sources:>7} "
                         f"{t.trend.direction if t.trend else '':<8} {_cut(nearest, 24):<24} {_cut(t.label, 70)}")
            extra = f"suggested title: {_cut(t.suggested_title, 80)}"
            if t.status == "planned":
                extra += f"  · owner {t.owner} due {t.due}" + ("  ← OVERDUE" if t.overdue else "")
            if t.status == "covered":
                extra += f"  · covered by {t.covered_by} after {t.time_to_coverage_days} days"
            if t.status == "dismissed":
                extra += f"  · dismissed: {_cut(t.reason, 60)}"
            lines.append(" " * 8 + extra)
            if t.fix:
                who = f", owner {t.fix.owner}" if t.fix.owner else ""
                lines.append(" " * 8 + f"fix: {t.fix.kind} ({t.fix.source}, {t.fix.confidence:.2f}{who})"
                             + (f" — {', '.join(t.fix.evidence[:5])}" if t.fix.evidence else ""))
    else:
        lines.append("No uncovered topics.")
    if report.not_found:
        why_counts = ", ".join(f"{k} {v}" for k, v in (c.not_found_reasons or {}).items() if v)
        lines += ["", "Not found although covered" + (f" — why: {why_counts}" if why_counts else "") + ":"]
        for g in report.not_found[:20]:
            reasons = ", ".join(f"{k} {v}" for k, v in g.reasons.items())
            lines.append(f"  {g.article_id:<30} {g.count:>4} inquiries ({reasons})")
            why = {w.text: w for w in g.why}
            for p in g.phrasings[:3]:
                lines.append(f"      “{_cut(p, 90)}”" + (f"  [{_why_line(why[p[:300]])}]" if p[:300] in why else ""))
    lines += ["", "Plan a topic: deflect gaps plan ID --owner NAME --due YYYY-MM-DD · "
                  "dismiss: deflect gaps dismiss ID --reason TEXT"]
    return "\n".join(lines)
