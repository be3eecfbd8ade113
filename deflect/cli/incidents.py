"""`deflect incidents`: topics whose volume is far above their usual level, and notices for them."""
from __future__ import annotations

import json

import click

from deflect.cli.common import friendly, home_option, open_existing_store, sub_home_option


@click.group(invoke_without_command=True)
@click.option("--check", "check_now", is_flag=True,
              help="Assign new inquiries to topics and check every topic now (needs the index).")
@click.option("--all", "show_all", is_flag=True, help="Closed incidents too.")
@click.option("--json", "as_json", is_flag=True, help="JSON, as GET /api/v1/incidents answers.")
@home_option
@click.pass_context
@friendly
def incidents(ctx, check_now, show_all, as_json, home):
    """The incidents: open ones first, with their topic, counts and notices."""
    ctx.obj = {"home": home}
    if ctx.invoked_subcommand is not None:
        return
    from deflect.gaps.live import open_incidents, watch
    from deflect.settings import from_env
    if check_now:
        from deflect.deflector import Deflector
        from deflect.embedder import set_threads
        set_threads(2)
        watch(Deflector.open(home), hook_url=from_env("incident_hook_url"))
    rows = open_incidents(open_existing_store(home), include_closed=show_all)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not rows:
        click.echo("No incidents.")
    for r in rows:
        click.echo(f"#{r['id']} {r['state']:<6} {r['topic_id']} {r['count']} in the window (usually "
                   f"{r['baseline']:g}), since {r['started_at']} — {r['title'] or r['label'] or ''}")
        for n in r["notices"]:
            click.echo(f"    notice #{n['id']} {n['starts_at']} – {n['ends_at'] or 'while the topic has an incident'}: "
                       f"{json.dumps(n['texts'], ensure_ascii=False)} (seen by {n['sessions_seen']} sessions, "
                       f"{n['sessions_no_contact']} did not contact)")


@incidents.command()
@click.argument("incident_id", type=click.IntRange(1, 2**62))
@click.option("--text", "texts", multiple=True, required=True, metavar="LANG=TEXT",
              help="The notice in one language, e.g. de='Die App stürzt ab, wir arbeiten daran.' (repeatable).")
@click.option("--starts", default=None, help="ISO time it is shown from (default: now; UTC unless an offset is "
                                             "given, e.g. 2026-12-07T18:00+01:00).")
@click.option("--ends", default=None, help="ISO time it ends (default: 12 hours after the topic's last "
                                           "incident closed, or `deflect incidents end-notice`).")
@sub_home_option
@click.pass_context
@friendly
def notice(ctx, incident_id, texts, starts, ends):
    """Publish a notice for incident INCIDENT_ID: the widget shows it to customers asking about it."""
    from deflect.gaps.notices import publish
    pairs = [t.split("=", 1) for t in texts]
    if any(len(p) != 2 for p in pairs):
        raise click.UsageError("write --text LANG=TEXT, e.g. --text de='Bekannte Störung ...'")
    row = publish(open_existing_store(ctx.obj["home"]), incident_id, dict(pairs), starts, ends, by="cli")
    until = row["ends_at"] or ("12 hours after the topic's last incident closed (or `deflect incidents "
                               f"end-notice {row['id']}`)")
    click.echo(f"notice #{row['id']} for incident #{incident_id} from {row['starts_at']} until {until}")


@incidents.command("end-notice")
@click.argument("notice_id", type=click.IntRange(1, 2**62))
@sub_home_option
@click.pass_context
@friendly
def end_notice_command(ctx, notice_id):
    """End notice NOTICE_ID now: customers no longer see it."""
    from deflect.gaps.notices import end_notice
    row = end_notice(open_existing_store(ctx.obj["home"]), notice_id)
    click.echo(f"notice #{notice_id} ended at {row['ends_at']}")
