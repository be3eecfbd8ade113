"""`deflect gaps`: the uncovered-topics report and its workflow (plan, dismiss, reopen, show)."""
from __future__ import annotations

import json
import sys

import click

from deflect.cli.common import friendly, home_option, open_existing_store, sub_home_option
from deflect.home import Home

FORMATS = ("table", "json", "csv", "xlsx")
STATUS_CHOICES = ("open", "all", "new", "planned", "covered", "dismissed")


def _statuses(choice: str) -> tuple[str, ...] | None:
    from deflect.gaps.model import OPEN
    return {"open": OPEN, "all": None}.get(choice, (choice,))


@click.group(invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="Output: a readable table, the JSON report, one CSV row per topic, or those rows as an "
                   "Excel workbook (needs --output or a redirected stdout).")
@click.option("--rebuild", is_flag=True,
              help="Build the report now (judge new items, cluster, store it) instead of reading the stored one.")
@click.option("--min-size", type=int, default=None,
              help="With --rebuild: members a topic needs (default: the last report's, else 5).")
@click.option("--status", "status", type=click.Choice(STATUS_CHOICES), default="open", show_default=True,
              help="Which topics to list (open = new and planned).")
@click.option("--period-days", type=int, default=None,
              help="With --rebuild: length of the trend period (default: the last report's, else 30 days).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report to FILE instead of stdout.")
@home_option
@click.pass_context
@friendly
def gaps(ctx, fmt, rebuild, min_size, status, period_days, output, home):
    """The uncovered-topics report: recurring questions the FAQ does not answer (and the workflow
    to close each gap: `plan`, `dismiss`, `reopen`, `show`).

    Reads the report stored by the last run (`deflect index`, article pushes and the API build it
    too); --rebuild builds it now. Without any stored report, the first one is built now."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"home": home}
        return
    from deflect.gaps.report import stored_report
    if (min_size or period_days) and not rebuild:
        raise click.UsageError("--min-size and --period-days are options of a run: add --rebuild")
    if fmt == "xlsx" and not output and sys.stdout.isatty():
        raise click.UsageError("an Excel workbook is not for the terminal: add --output gaps.xlsx")
    store = open_existing_store(home)
    report = None if rebuild else stored_report(store, _statuses(status))
    if report is None:
        if not rebuild:
            click.echo("No gap report stored yet: building it now (`deflect gaps --rebuild` builds it again).",
                       err=True)
        _rebuild(home, min_size, period_days)
        report = stored_report(store, _statuses(status))
    from deflect.gaps.render import to_csv, to_json, to_table, to_xlsx
    if fmt == "xlsx":
        _write_bytes(to_xlsx(report), output, len(report.topics))
        return
    text = {"json": to_json, "csv": to_csv}.get(fmt, to_table)(report)
    if output:
        _write_bytes((text + ("" if text.endswith("\n") else "\n")).encode("utf-8"), output, len(report.topics))
    else:
        click.echo(text)


def _write_bytes(data: bytes, output: str | None, topics: int) -> None:
    if output:
        try:
            with open(output, "wb") as f:
                f.write(data)
        except OSError as exc:   # the report itself is stored: writing it again is all it takes
            raise click.ClickException(f"cannot write {output}: {exc.strerror}\nHint: name a file in a folder "
                                       "that exists and is writable; `deflect gaps -o FILE` writes the stored "
                                       "report again.") from exc
        click.echo(f"wrote {topics} topics to {output}", err=True)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def _rebuild(home: Home, min_size: int | None, period_days: int | None) -> None:
    from deflect.deflector import Deflector
    from deflect.embedder import set_threads
    from deflect.gaps.model import RunOptions
    from deflect.gaps.runs import run_now
    set_threads(2)
    run_now(Deflector.open(home), RunOptions(min_size=min_size, period_days=period_days), trigger="cli")


def _store(ctx):
    return open_existing_store(ctx.obj["home"])


def _echo_topic(topic) -> None:
    bits = [f"{topic.id} is {topic.status}"]
    if topic.status == "planned":
        bits.append(f"owner {topic.owner}, due {topic.due}" + (" (OVERDUE)" if topic.overdue else ""))
    if topic.status == "dismissed":
        bits.append(f"reason: {topic.reason}")
    click.echo(": ".join(bits[:1]) + ("; " + "; ".join(bits[1:]) if bits[1:] else "") + f" — {topic.label}")


def _note_merge(store, topic_id: str) -> None:
    """Say so when ``topic_id`` was merged into another topic (the command acts on that one)."""
    from deflect.gaps.workflow import merged_into
    target = merged_into(store, topic_id)
    if target:
        click.echo(f"{topic_id.strip().upper()} was merged into {target} (one question): showing {target}.",
                   err=True)


@gaps.command()
@click.argument("topic_id")
@click.option("--owner", default=None,
              help="Who writes the fix (default: DEFLECT_OWNER_ARTICLE, _PRODUCT or _PROCESS for the topic's fix).")
@click.option("--due", required=True, help="Due date, YYYY-MM-DD or DD.MM.YYYY.")
@click.option("--force", is_flag=True, help="Accept a due date in the past.")
@sub_home_option
@click.pass_context
@friendly
def plan(ctx, topic_id, owner, due, force):
    """Plan the fix of topic TOPIC_ID: owner and due date."""
    from deflect.gaps.workflow import parse_due
    from deflect.gaps.workflow import plan as run
    store = _store(ctx)
    _note_merge(store, topic_id)
    _echo_topic(run(store, topic_id, owner or _default_owner(store, topic_id), parse_due(due, german=True),
                    force=force))


def _default_owner(store, topic_id: str) -> str:
    """The owner set for the topic's kind of fix (DEFLECT_OWNER_<KIND>); a usage error without one."""
    from deflect.gaps.fix_kind import default_owner
    from deflect.gaps.workflow import get_topic
    fix = get_topic(store, topic_id).fix
    owner = default_owner(fix.kind) if fix else None
    if not owner:
        setting = f"DEFLECT_OWNER_{fix.kind.upper()}" if fix else "DEFLECT_OWNER_ARTICLE"
        raise click.UsageError(f"give --owner NAME: {topic_id.strip().upper()} has no default owner ({setting} is "
                               "not set)")
    return owner


@gaps.command()
@click.argument("topic_id")
@click.option("--reason", required=True, help="Why no article will be written.")
@sub_home_option
@click.pass_context
@friendly
def dismiss(ctx, topic_id, reason):
    """Dismiss topic TOPIC_ID (no article will be written)."""
    from deflect.gaps.workflow import dismiss as run
    store = _store(ctx)
    _note_merge(store, topic_id)
    _echo_topic(run(store, topic_id, reason))


@gaps.command()
@click.argument("topic_id")
@sub_home_option
@click.pass_context
@friendly
def reopen(ctx, topic_id):
    """Put a covered or dismissed topic back to new."""
    from deflect.gaps.workflow import reopen as run
    store = _store(ctx)
    _note_merge(store, topic_id)
    _echo_topic(run(store, topic_id))


@gaps.command()
@click.argument("topic_id")
@sub_home_option
@click.pass_context
@friendly
def show(ctx, topic_id):
    """Show one topic (from the last report run) as JSON; a merged topic's id shows the topic it is
    part of now (and says so)."""
    from deflect.gaps.workflow import get_topic
    store = _store(ctx)
    _note_merge(store, topic_id)
    click.echo(json.dumps(get_topic(store, topic_id).to_dict(), ensure_ascii=False, indent=1))


@gaps.command()
@click.argument("topic_id")
@click.argument("kind", type=click.Choice(("article", "product", "process", "auto")))
@sub_home_option
@click.pass_context
@friendly
def kind(ctx, topic_id, kind):
    """Set the fix of topic TOPIC_ID: article, product (a defect or outage), process (a self-service
    function), or auto (the classifier's again at the next run). It sticks to the topic."""
    from deflect.gaps.fix_kind import set_kind
    fix = set_kind(_store(ctx), topic_id, None if kind == "auto" else kind, by="cli")
    if fix is None:
        click.echo(f"{topic_id}: the classifier's kind again from the next report run")
    else:
        click.echo(f"{topic_id}: fix {fix.kind} ({fix.source})" + (f", owner {fix.owner}" if fix.owner else ""))


def main() -> None:  # pragma: no cover - convenience for `python -m deflect.cli.gaps`
    gaps(sys.argv[1:])
