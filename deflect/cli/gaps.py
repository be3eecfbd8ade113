"""`deflect gaps`: the uncovered-topics report and its workflow (plan, dismiss, reopen, show)."""
from __future__ import annotations

import csv
import functools
import io
import json
import sys

import click

from deflect.cli.common import friendly, home_option
from deflect.home import Home

FORMATS = ("table", "json", "csv")
STATUS_CHOICES = ("open", "all", "new", "planned", "covered", "dismissed")


def _statuses(choice: str) -> tuple[str, ...] | None:
    from deflect.gaps import OPEN
    return {"open": OPEN, "all": None}.get(choice, (choice,))


@click.group(invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="Output: a readable table, the JSON report, or one CSV row per topic.")
@click.option("--min-size", type=int, default=None, help="Members a topic needs (default 5).")
@click.option("--status", "status", type=click.Choice(STATUS_CHOICES), default="open", show_default=True,
              help="Which topics to list (open = new and planned).")
@click.option("--period-days", type=int, default=None, help="Length of the trend period (default 30 days).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report to FILE instead of stdout.")
@home_option
@click.pass_context
@friendly
def gaps(ctx, fmt, min_size, status, period_days, output, home):
    """The uncovered-topics report: recurring questions the FAQ does not answer (and the workflow
    to close each gap: `plan`, `dismiss`, `reopen`, `show`)."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"home": home}
        return
    from deflect.deflector import Deflector
    from deflect.embedder import set_threads
    from deflect.gaps import MIN_SIZE, PERIOD_DAYS, build_report
    set_threads(2)
    deflector = Deflector.open(home)
    report = build_report(deflector, min_size=min_size or MIN_SIZE, period_days=period_days or PERIOD_DAYS,
                          statuses=_statuses(status))
    if fmt == "json":
        text = json.dumps(report, ensure_ascii=False, indent=1)
    elif fmt == "csv":
        text = to_csv(report)
    else:
        text = to_table(report)
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text + ("" if text.endswith("\n") else "\n"))
        click.echo(f"wrote {len(report['topics'])} topics to {output}", err=True)
    else:
        click.echo(text)


CSV_FIELDS = ("id", "status", "overdue", "size", "tickets", "inquiries", "label", "suggested_title", "owner",
              "due", "languages", "channels", "first_seen", "last_seen", "this_period", "previous_period",
              "trend", "nearest_article", "nearest_score", "covered_by", "time_to_coverage_days")


def to_csv(report: dict) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for t in report["topics"]:
        src, trend, near = t.get("sources", {}), t.get("trend", {}), t.get("nearest_article") or {}
        w.writerow({
            "id": t["id"], "status": t["status"], "overdue": int(bool(t.get("overdue"))), "size": t["size"],
            "tickets": src.get("ticket", 0), "inquiries": src.get("inquiry", 0), "label": t.get("label"),
            "suggested_title": t.get("suggested_title"), "owner": t.get("owner") or "", "due": t.get("due") or "",
            "languages": " ".join(f"{k}:{v}" for k, v in src.get("languages", {}).items()),
            "channels": " ".join(f"{k}:{v}" for k, v in src.get("channels", {}).items()),
            "first_seen": t.get("first_seen") or "", "last_seen": t.get("last_seen") or "",
            "this_period": trend.get("this_period", ""), "previous_period": trend.get("previous_period", ""),
            "trend": trend.get("direction", ""), "nearest_article": near.get("id", ""),
            "nearest_score": near.get("score", ""), "covered_by": t.get("covered_by") or "",
            "time_to_coverage_days": t.get("time_to_coverage_days") or "",
        })
    return buf.getvalue()


def _cut(text: str, width: int) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= width else text[:width - 1] + "…"


def to_table(report: dict) -> str:
    c = report["counts"]
    lines = [f"{c['items']} items ({c['tickets']} tickets, {c['inquiries']} inquiries): {c['linked']} linked, "
             f"{c['answered']} answered, {c['not_answered']} not answered → {len(report['topics'])} topics "
             f"(min size {report['params']['min_size']})", ""]
    if report["topics"]:
        lines.append(f"{'ID':<7} {'STATUS':<9} {'SIZE':>4} {'T/I':>7} {'TREND':<8} {'NEAREST ARTICLE':<24} "
                     f"TOPIC")
        for t in report["topics"]:
            src = t.get("sources", {})
            near = t.get("nearest_article") or {}
            status = "OVERDUE" if t.get("overdue") else t["status"]
            trend = t.get("trend", {})
            sources = f"{src.get('ticket', 0)}/{src.get('inquiry', 0)}"
            nearest = f"{near['id']} {near['score']:.2f}" if near else "-"
            lines.append(f"{t['id']:<7} {status:<9} {t['size']:>4} {sources:>7} "
                         f"{trend.get('direction', ''):<8} {_cut(nearest, 24):<24} {_cut(t.get('label'), 70)}")
            extra = f"suggested title: {_cut(t.get('suggested_title'), 80)}"
            if t["status"] == "planned":
                extra += f"  · owner {t.get('owner')} due {t.get('due')}" + ("  ← OVERDUE" if t.get("overdue") else "")
            if t["status"] == "covered":
                extra += f"  · covered by {t.get('covered_by')} after {t.get('time_to_coverage_days')} days"
            if t["status"] == "dismissed":
                extra += f"  · dismissed: {_cut(t.get('reason'), 60)}"
            lines.append(" " * 8 + extra)
    else:
        lines.append("No uncovered topics.")
    if report.get("not_found"):
        lines += ["", "Not found although covered (add these phrasings to the article's questions):"]
        for g in report["not_found"][:20]:
            reasons = ", ".join(f"{k} {v}" for k, v in g["reasons"].items())
            lines.append(f"  {g['article_id']:<30} {g['count']:>4} inquiries ({reasons})")
            for p in g["phrasings"][:3]:
                lines.append(f"      “{_cut(p, 90)}”")
    lines += ["", "Plan a topic: deflect gaps plan ID --owner NAME --due YYYY-MM-DD · "
                  "dismiss: deflect gaps dismiss ID --reason TEXT"]
    return "\n".join(lines)


def _sub_home(fn):
    """``--home`` also after the subcommand (``deflect gaps plan G-0001 ... --home DIR``)."""
    @click.option("--home", "sub_home", type=click.Path(file_okay=False), default=None,
                  help="Data folder (default: the group's --home, $DEFLECT_HOME or the current directory).")
    @functools.wraps(fn)
    def wrapper(*args, sub_home=None, **kwargs):
        ctx = click.get_current_context()
        if sub_home:
            ctx.obj = {"home": Home.resolve(sub_home).ensure()}
        return fn(*args, **kwargs)
    return wrapper


def _store(ctx):
    from deflect.store import open_store
    return open_store(ctx.obj["home"].db_path)


def _echo_topic(topic: dict) -> None:
    bits = [f"{topic['id']} is {topic['status']}"]
    if topic["status"] == "planned":
        bits.append(f"owner {topic['owner']}, due {topic['due']}" + (" (OVERDUE)" if topic["overdue"] else ""))
    if topic["status"] == "dismissed":
        bits.append(f"reason: {topic['reason']}")
    click.echo(": ".join(bits[:1]) + ("; " + "; ".join(bits[1:]) if bits[1:] else "") + f" — {topic.get('label')}")


@gaps.command()
@click.argument("topic_id")
@click.option("--owner", required=True, help="Who writes the article.")
@click.option("--due", required=True, help="Due date, YYYY-MM-DD.")
@_sub_home
@click.pass_context
@friendly
def plan(ctx, topic_id, owner, due):
    """Plan an article for topic TOPIC_ID: owner and due date."""
    from deflect.gaps import plan as run
    _echo_topic(run(_store(ctx), topic_id, owner, due))


@gaps.command()
@click.argument("topic_id")
@click.option("--reason", required=True, help="Why no article will be written.")
@_sub_home
@click.pass_context
@friendly
def dismiss(ctx, topic_id, reason):
    """Dismiss topic TOPIC_ID (no article will be written)."""
    from deflect.gaps import dismiss as run
    _echo_topic(run(_store(ctx), topic_id, reason))


@gaps.command()
@click.argument("topic_id")
@_sub_home
@click.pass_context
@friendly
def reopen(ctx, topic_id):
    """Put a covered or dismissed topic back to new."""
    from deflect.gaps import reopen as run
    _echo_topic(run(_store(ctx), topic_id))


@gaps.command()
@click.argument("topic_id")
@_sub_home
@click.pass_context
@friendly
def show(ctx, topic_id):
    """Show one topic (from the last report run) as JSON."""
    from deflect.gaps import get_topic
    click.echo(json.dumps(get_topic(_store(ctx), topic_id), ensure_ascii=False, indent=1))


def main() -> None:  # pragma: no cover - convenience for `python -m deflect.cli.gaps`
    gaps(sys.argv[1:])
