"""`deflect tenants create/list`: the help centers of a multi-tenant instance (`deflect serve --tenants DIR`).

A tenant is a deflect home inside the tenants folder; every other command acts on one with
``--home DIR/NAME`` (ingest, index, calibrate, keys, gaps, ...).
"""
from __future__ import annotations

import json

import click

from deflect.cli.common import friendly, open_home_store


def tenants_option(fn):
    """``--tenants DIR`` (default: the ``tenants`` setting, ``$DEFLECT_TENANTS``)."""
    return click.option("--tenants", "folder", type=click.Path(file_okay=False), default=None,
                        help="Folder of help centers (default: $DEFLECT_TENANTS).")(fn)


def _folder(folder: str | None) -> str:
    from deflect.settings import from_env
    chosen = folder or from_env("tenants")
    if not chosen:
        raise click.UsageError("which tenants folder? Pass --tenants DIR or set DEFLECT_TENANTS.")
    return chosen


@click.group()
def tenants():
    """Several help centers in one instance: each is a deflect home in the tenants folder, served
    under /t/<name>/ by `deflect serve --tenants DIR`."""


@tenants.command("create")
@click.argument("name")
@tenants_option
@friendly
def tenants_create(name, folder):
    """Create help center NAME (lowercase letters, digits, hyphens): its home with an empty store."""
    from pathlib import Path

    from deflect.settings import from_env
    from deflect.tenants import is_home, tenant_home
    if from_env("database_url"):
        # each help center keeps its own home's store: under the URL its articles would go into the shared
        # database, and `deflect serve --tenants` refuses that database
        raise click.ClickException("help centers keep their own store in their home, and DEFLECT_DATABASE_URL is "
                                   "set\nHint: unset DEFLECT_DATABASE_URL for `deflect tenants` and the commands "
                                   "on a help center's home.")
    root = Path(_folder(folder)).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    home = tenant_home(root, name)
    if is_home(home.path):
        raise click.ClickException(f"help center {name!r} exists already ({home.path})")
    open_home_store(home.ensure()).close()
    click.echo(f"created help center {name!r} in {home.path}")
    click.echo(f"next: deflect ingest --home {home.path} ARTICLES/ && deflect index --home {home.path} && "
               f"deflect calibrate --home {home.path}; it is served at /t/{name}/", err=True)


@tenants.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the help centers as JSON.")
@tenants_option
@friendly
def tenants_list(as_json, folder):
    """The help centers of the tenants folder: counts, model and index age."""
    from deflect.errors import ConflictError
    from deflect.index.files import read_manifest
    from deflect.tenants import find_tenants, unusable_note
    rows = []
    unusable: list = []
    found = find_tenants(_folder(folder), unusable)
    for entry in unusable:
        click.echo(f"note: {unusable_note(entry)}; rename it or move it out of the folder.", err=True)
    for name, home in found.items():
        store = open_home_store(home)
        try:
            counts = store.counts()
        finally:
            store.close()
        try:
            manifest = read_manifest(home.index_dir)
        except ConflictError:   # missing or damaged: `deflect status --home` says which
            manifest = None
        rows.append({"name": name, "home": str(home.path), "url": f"/t/{name}/",
                     "articles": counts["articles"], "tickets": counts["tickets"],
                     "model": manifest.get("model") if manifest else None,
                     "index_updated_at": manifest.get("updated_at") if manifest else None})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no help centers; create one with `deflect tenants create NAME --tenants DIR`")
        return
    for r in rows:
        index = f"index {r['model']} updated {r['index_updated_at']}" if r["model"] else "no index yet"
        click.echo(f"{r['name']:<24} {r['articles']:>5} articles {r['tickets']:>6} tickets  {index}  {r['url']}")
