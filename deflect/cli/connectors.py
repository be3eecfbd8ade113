"""``deflect connect zammad|chatwoot``, ``deflect sync [NAME]`` and ``deflect connectors``: connect deflect
to a help desk, backfill its knowledge base and resolved tickets, list the connections."""
from __future__ import annotations

import json
import sys

import click

from deflect.cli.common import friendly, home_option, open_existing_store, open_home_store
from deflect.connectors import connector_for
from deflect.connectors.records import (
    Connection,
    activity,
    check_private_file,
    get_connection,
    list_connections,
    save_connection,
)
from deflect.connectors.sync import sync as run_sync
from deflect.errors import InputError


def _token_options(fn):
    fn = click.option("--allow-unsigned", is_flag=True,
                      help="Accept webhooks without a signature (only for help desks too old to sign them).")(fn)
    fn = click.option("--webhook-secret-env", default=None, help="Environment variable with the webhook secret.")(fn)
    fn = click.option("--webhook-secret-file", type=click.Path(dir_okay=False), default=None,
                      help="File (mode 0600) with the secret the help desk signs webhooks with.")(fn)
    fn = click.option("--token-env", default=None, help="Environment variable with the API token.")(fn)
    fn = click.option("--token-file", type=click.Path(dir_okay=False), default=None,
                      help="File (mode 0600) with the API token; it is read when needed, never stored.")(fn)
    fn = click.option("--name", default=None, help="Name of the connection (default: the help desk's kind).")(fn)
    return click.option("--url", required=True, help="The help desk's base URL, e.g. https://support.example.com.")(fn)


def _connect(home, kind: str, options: dict, **given) -> None:
    if bool(given["token_file"]) == bool(given["token_env"]):
        raise click.UsageError("give the API token as --token-file FILE or --token-env VARIABLE (one of them)")
    for path in (given["token_file"], given["webhook_secret_file"]):
        if path:
            check_private_file(path)
    if given["allow_unsigned"]:
        options["allow_unsigned"] = True
    from pathlib import Path
    resolve = lambda p: str(Path(p).expanduser().resolve()) if p else None  # noqa: E731
    connection = Connection(name=given["name"] or kind, kind=kind, url=given["url"].rstrip("/"),
                            token_file=resolve(given["token_file"]), token_env=given["token_env"],
                            secret_file=resolve(given["webhook_secret_file"]), secret_env=given["webhook_secret_env"],
                            options=options)
    store = open_home_store(home)
    save_connection(store, connection)
    click.echo(f"connected {connection.name} ({kind}) at {connection.url}; webhook: POST "
               f"/api/v1/connectors/{connection.name}/webhook; run `deflect sync {connection.name}` to import")
    if not (given["webhook_secret_file"] or given["webhook_secret_env"] or given["allow_unsigned"]):
        click.echo("note: no webhook secret given; webhooks are refused until you connect again with "
                   "--webhook-secret-file", err=True)


@click.group()
def connect():
    """Connect deflect to a help desk (the token stays in its file or variable)."""


@connect.command()
@_token_options
@home_option
@friendly
def zammad(home, **given):
    """Zammad: knowledge base, closed tickets, trigger webhooks, internal notes."""
    _connect(home, "zammad", {}, **given)


@connect.command()
@click.option("--account-id", type=int, required=True, help="The Chatwoot account's id (in its URLs).")
@_token_options
@home_option
@friendly
def chatwoot(home, account_id, **given):
    """Chatwoot: help-center articles, resolved conversations, account webhooks, private notes."""
    _connect(home, "chatwoot", {"account_id": account_id}, **given)


@click.command()
@click.argument("name", required=False)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@home_option
@friendly
def sync(name, quiet, home):
    """Import the knowledge base and resolved tickets of connection NAME (default: every connection).
    Resumes where a stopped sync left off; a second run adds nothing twice. Once a day a sync also reads
    again the resolved tickets changed in the help desk since they were imported."""
    from tqdm import tqdm
    store = open_home_store(home)
    connections = [get_connection(store, name)] if name else list_connections(store)
    if not connections:
        raise InputError("no connections yet", hint="Connect one with `deflect connect zammad|chatwoot ...`.")
    for connection in connections:
        bar = tqdm(unit="ticket", desc=f"{connection.name}", disable=quiet, file=sys.stderr)
        try:
            run = run_sync(store, connector_for(connection), progress=lambda n, _cursor, bar=bar: bar.update(n))
        finally:
            bar.close()
        click.echo(f"{connection.name}: articles {run['articles_new']} new, {run['articles_changed']} changed, "
                   f"{run['articles_deleted']} deleted (no longer published); "
                   f"tickets {run['tickets_new']} new, {run['tickets_changed']} changed, "
                   f"{run['tickets_unchanged']} unchanged"
                   + (f", {run['tickets_erased']} erased on request earlier (not stored)"
                      if run.get("tickets_erased") else "")
                   + f" ({run['pages']} pages, {run['retries']} retried requests)")
        if run["articles_kept"]:
            click.echo(f"Warning: {connection.name} listed no published article; the {run['articles_kept']} stored "
                       "ones are kept. Check that the token may read the knowledge base.", err=True)
    click.echo("Run `deflect index` to make the imported articles and tickets searchable.")


@click.command(name="connectors")
@click.option("--json", "as_json", is_flag=True, help="Print the connections as JSON.")
@home_option
@friendly
def connectors_(as_json, home):
    """The connections: kind, URL, last sync, counts, last error (never a token)."""
    store = open_existing_store(home)
    rows = [c.public() | {"webhooks": activity(store, c.name)} for c in list_connections(store)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no connections; add one with `deflect connect zammad|chatwoot --url URL --token-file FILE`")
    for row in rows:
        counts, hooks = row["counts"], row["webhooks"]
        deliveries = sum(v for k, v in hooks.items() if k != "notes")
        error = f"; last error: {row['last_error']}" if row["last_error"] else ""
        click.echo(f"{row['name']:<12} {row['kind']:<9} {row['url']}  last sync {row['last_sync_at'] or 'never'}; "
                   f"{counts.get('articles', 0)} articles, {counts.get('tickets', 0)} tickets "
                   f"({counts.get('linked', 0)} linked); webhooks {deliveries}, notes {hooks.get('notes', 0)}{error}")
