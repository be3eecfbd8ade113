"""`deflect privacy scan` (what in the store looks personal) and `deflect privacy scrub` (redact it)."""
from __future__ import annotations

import json

import click

from deflect.cli.common import friendly, home_option, open_existing_store
from deflect.home import Home

# Tables and columns scrub rewrites: the customer texts deflect stores, and the copies the votes and the
# gap report keep of them (JSON columns: each text inside; "page": a page address without its query).
SCRUBBED = {"tickets": {"subject": "text", "body": "text", "resolution": "text"},
            "inquiries": {"text": "text", "page": "page"}, "labelled_questions": {"text": "text"},
            "evidence": {"text": "text"},
            "gap_topics": {"label": "text", "title": "text", "representative": "text", "keywords": "json",
                           "report": "json"},
            "gap_report": {"not_found": "json"}}


@click.group()
def privacy():
    """Personal data in the store: audit it, redact it."""


@privacy.command()
@click.option("--json", "as_json", is_flag=True, help="The whole report as JSON.")
@click.option("--examples", default=3, show_default=True, type=click.IntRange(0, 50),
              help="Masked examples per column.")
@click.option("--fail", is_flag=True, help="Exit with status 1 when anything personal is found (for cron and CI).")
@home_option(create=False)
@friendly
def scan(as_json: bool, examples: int, fail: bool, home: Home):
    """Report what looks personal in the store's texts, per table column and kind (examples masked)."""
    from deflect.privacy import scan as run
    store = open_existing_store(home)
    try:
        report = run(store.db, store.redactor, limit_examples=examples)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    elif not report["total"]:
        click.echo("No personal data found.")
    else:
        click.echo(f"{report['total']} finding(s): " + ", ".join(f"{k} {n}" for k, n in report["kinds"].items()))
        _echo_columns(report["columns"])
        click.echo("Redact what is stored with `deflect privacy scrub`.")
    if report["published"] and not as_json:
        click.echo("Not counted: the published articles, the help center's own texts (scrub leaves them as "
                   "written). Its own hotline, addresses and mail domain belong in DEFLECT_PRIVACY_ALLOW; "
                   "anything else here is worth a look:")
        _echo_columns(report["published"])
    if fail and report["total"]:
        raise SystemExit(1)


def _echo_columns(columns: dict) -> None:
    for column, entry in columns.items():
        kinds = ", ".join(f"{k} {n}" for k, n in entry["kinds"].items())
        click.echo(f"  {column}: {entry['rows']} row(s), {kinds}")
        for example in entry["examples"]:
            click.echo(f"    row {example['row']}: {example['kind']} {example['text']}")


@privacy.command()
@click.option("--dry-run", is_flag=True, help="Count the rows that would change; change nothing.")
@home_option(create=False)
@friendly
def scrub(dry_run: bool, home: Home):
    """Redact the stored tickets, inquiries and votes, and the gap report's copies of them, again with the
    current rules and allow-list."""
    store = open_existing_store(home)
    try:
        changed = scrub_store(store, dry_run)
    finally:
        store.close()
    verb = "would change" if dry_run else "changed"
    click.echo(", ".join(f"{table}: {n} row(s) {verb}" for table, n in changed.items()))
    if changed.get("tickets") and not dry_run:
        click.echo("Run `deflect index` to embed the changed tickets and `deflect gaps --rebuild` for the report.")


@privacy.command(short_help="Erase one customer's data on request (GDPR Art. 17).")
@click.option("--session", "sessions", multiple=True, help="A widget session id (the contact form's deflect_session).")
@click.option("--customer", "customers", multiple=True, help="The help desk's customer id, as sent with the ticket.")
@click.option("--ticket", "tickets", multiple=True, help="A ticket id as deflect stores it (e.g. zd-4711).")
@click.option("--dry-run", is_flag=True, help="Count the rows that would go; delete nothing.")
@home_option(create=False)
@friendly
def erase(sessions, customers, tickets, dry_run: bool, home: Home):
    """Erase one customer's data on request (GDPR Art. 17): their searches, votes, contacts and tickets.

    Contacts link a customer's sessions and tickets, so one of them finds the rest. Each option may be
    given several times."""
    from deflect.index.documents import ticket_text
    from deflect.store.erase import erase_customer, find_customer
    if not (sessions or customers or tickets):
        raise click.UsageError("name the customer: --session, --customer or --ticket")
    store = open_existing_store(home)
    try:
        erased = find_customer(store, sessions, customers, tickets)
        counts = erase_customer(store, dry_run=dry_run, erased=erased)
        if not dry_run:
            texts = erased.texts | {ticket_text(row) for row in erased.ticket_rows}
            counts |= _forget_copies(store, home, texts, erased.inquiries, erased.tickets, erased=erased)
    finally:
        store.close()
    found = _rows(counts, "would go" if dry_run else "erased")
    if not found:
        click.echo("Nothing stored for them."
                   + ("\nA customer is known to deflect only where a ticket named them: the tickets API's "
                      "customer_id, an export's customer_id or customer_email column (ingested since this release); "
                      "tickets from connectors and older exports are found by --ticket, widget searches by "
                      "--session." if customers else ""))
    else:
        click.echo(found)
    if found and not dry_run:
        click.echo(_REMAINS + (" The index keeps the erased tickets' vectors until `deflect index --rebuild`."
                               if counts.get("tickets") else ""))


@privacy.command()
@click.option("--older-than", "days", type=click.IntRange(1, 36500), required=True, metavar="DAYS",
              help="Delete what customers did on the help page more than DAYS days ago.")
@click.option("--dry-run", is_flag=True, help="Count the rows that would go; delete nothing.")
@home_option(create=False)
@friendly
def purge(days: int, dry_run: bool, home: Home):
    """Keep the help page's traffic for a retention period only: searches, votes, contacts and sessions
    older than DAYS go (run it daily, e.g. from cron). Tickets stay: the help desk keeps those."""
    from datetime import timedelta

    from deflect.clock import iso, utcnow
    from deflect.store.erase import inquiry_texts_before, old_inquiries, purge_before
    cutoff = iso(utcnow() - timedelta(days=days))
    store = open_existing_store(home)
    try:
        old = old_inquiries(store, cutoff) if not dry_run else []
        texts = inquiry_texts_before(store, cutoff) if not dry_run else set()
        counts = purge_before(store, cutoff, dry_run=dry_run)
        if not dry_run:
            counts |= _forget_copies(store, home, texts, old, (), cutoff=cutoff)
    finally:
        store.close()
    click.echo(_rows(counts, "would go" if dry_run else "deleted") or f"Nothing older than {days} days.")


# What an erasure does not reach: told to the team with every erasure.
_REMAINS = ("Not erased by deflect: the help desk's own copy of their tickets, exports and backups made before "
            "(CSV, Excel, database backups, published index snapshots), and what the customer's own browser keeps "
            "for the open tab.")


def _forget_copies(store, home: Home, texts: set[str], inquiries, tickets, erased=None, cutoff: str | None = None
                   ) -> dict[str, int]:
    """Remove the copies of erased rows: their cached vectors, rows waiting in the spool, the gap report's
    examples and phrasings; then SQLite's journal. Rows per kind of copy."""
    from deflect.embedder import DEFAULT_MODEL
    from deflect.gaps.forget import forget_in_report
    from deflect.store.erase import checkpoint, forget_spooled, forget_vectors
    models = {store.get_setting("model"), DEFAULT_MODEL}
    counts = {"cached vectors": forget_vectors(store, texts, models),
              "spooled rows": forget_spooled(home.spool_file, erased, cutoff),
              "gap topic examples": forget_in_report(store, inquiries, tickets, texts)}
    if not checkpoint(store):
        click.echo("note: the running service holds the database journal open; the deleted rows leave it at "
                   "its next checkpoint (within minutes).")
    return counts


def _rows(counts: dict[str, int], verb: str) -> str:
    """"inquiries: 2 row(s) erased, tickets: 1 row(s) erased" for the tables with rows ("" for none)."""
    return ", ".join(f"{table}: {n} row(s) {verb}" for table, n in counts.items() if n)


def scrub_store(store, dry_run: bool = False) -> dict[str, int]:
    """Rows per table whose texts the store's redactor changes; written back unless ``dry_run``
    (one transaction per table, so a crash leaves each table either scrubbed or as it was)."""
    from deflect.privacy import redact_json
    from deflect.store.core import page_location

    how = {"text": store.redactor.redact, "json": lambda v: redact_json(v, store.redactor),
           "page": lambda v: page_location(v, store.redactor)}
    changed: dict[str, int] = {}
    for table, columns in SCRUBBED.items():
        if table not in store.db.table_names():
            continue
        updates = []
        for row in store.db.query(f'select id, {", ".join(columns)} from "{table}" order by id'):
            new = {c: how[kind](row[c]) for c, kind in columns.items() if row[c]}
            if any(new[c] != row[c] for c in new):
                updates.append((row["id"], new))
        changed[table] = len(updates)
        if updates and not dry_run:
            with store.db.transaction():
                for row_id, values in updates:
                    sets = ", ".join(f"{c} = ?" for c in values)
                    store.db.execute(f'update "{table}" set {sets} where id = ?', [*values.values(), row_id])
    return changed
