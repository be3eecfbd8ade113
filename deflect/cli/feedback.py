"""`deflect feedback list` (everything deflect learned from votes, agents' choices and resolved
tickets) and `deflect feedback forget` (undo it). A running service picks the change up at its next
refit (within a minute, or at once with POST /api/v1/learned/refit)."""
from __future__ import annotations

import json

import click

from deflect.cli.common import friendly, home_option, open_existing_store
from deflect.home import Home
from deflect.store.feedback import KIND_WEIGHTS, evidence_rows, forget_evidence
from deflect.text import clip

KINDS = click.Choice(list(KIND_WEIGHTS))


@click.group()
def feedback():
    """What deflect learned from feedback: list it, forget it."""


@feedback.command("list")
@click.option("--article", help="Only evidence for this article.")
@click.option("--session", help="Only evidence from this widget session.")
@click.option("--kind", type=KINDS, help="Only this kind of evidence.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@home_option(create=False)
@friendly
def list_(article: str | None, session: str | None, kind: str | None, limit: int, as_json: bool, home: Home):
    """Learned evidence, newest first: id, kind, weight, article, phrasing (redacted)."""
    store = open_existing_store(home)
    try:
        rows = evidence_rows(store, article_id=article, session=session, kind=kind, limit=limit)
        redact = store.redactor.redact
        for row in rows:
            row["text"] = redact(row["text"] or "")
            if as_json:
                click.echo(json.dumps({k: row[k] for k in ("id", "kind", "weight", "article_id", "text", "session",
                                                            "created_at")}, ensure_ascii=False))
            else:
                click.echo(f"{row['id']}  {row['created_at'][:10]}  {row['kind']:<12} {row['weight']:+.1f}  "
                           f"{row['article_id']:<30} {clip(row['text'], 60)}")
        if not as_json:
            click.echo(f"{len(rows)} item(s)", err=True)
    finally:
        store.close()


@feedback.command()
@click.argument("ids", nargs=-1)
@click.option("--article", help="Forget all evidence for this article.")
@click.option("--session", help="Forget all evidence from this widget session.")
@click.option("--kind", type=KINDS, help="Forget all evidence of this kind (with --article/--session: of those).")
@home_option(create=False)
@friendly
def forget(ids: tuple[str, ...], article: str | None, session: str | None, kind: str | None, home: Home):
    """Forget evidence by id, or all of an article, a session or a kind."""
    if not ids and not (article or session or kind):
        raise click.UsageError("give evidence ids, or --article, --session or --kind")
    store = open_existing_store(home)
    try:
        n = forget_evidence(store, ids=list(ids) or None, article_id=article, session=session, kind=kind)
    finally:
        store.close()
    click.echo(f"forgot {n} item(s); a running service drops them at its next refit")
