"""The ``deflect`` command line: a thin click layer over the library."""
from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime

import click

from deflect.cli.common import check_labelled, friendly, home_option, open_deflector, open_home_store


@click.group()
@click.option("--env-file", type=click.Path(dir_okay=False), envvar="DEFLECT_ENV_FILE", default=None,
              help="Read DEFLECT_NAME=value settings from this file first (the service's, e.g. "
                   "/etc/deflect/deflect.env), so that a command works on the service's database and home.")
@click.version_option(package_name="deflect")
@click.pass_context
def cli(ctx, env_file):
    """deflect — suggest FAQ articles, know when not to, and report what the FAQ is missing."""
    if env_file:
        from deflect.settings import SettingError, read_env_file
        # `serve` reads the file again on SIGHUP, over the environment as it was before the file
        ctx.obj = {"env_file": env_file, "environ": dict(os.environ)}
        try:
            from_file = read_env_file(env_file)
        except SettingError as exc:
            hint = exc.hint or "the file holds DEFLECT_NAME=value lines."
            raise click.ClickException(f"{exc}\nHint: {hint}") from None
        os.environ.update(from_file)
        ctx.obj["from_file"] = sorted(from_file)   # `deflect settings` says which values the file gave


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--prune", is_flag=True, help="Delete stored articles that are not in the given folders.")
@click.option("--yes", is_flag=True, help="With --prune: delete even more than a fifth of the stored articles.")
@click.option("--dates-to-now", is_flag=True,
              help="Move the tickets' dates by whole weeks so that the newest falls in the last week (weekdays "
                   "and times of day kept): an older export, or the demo, then counts as recent history in "
                   "the report's costs and trends and in the incident baselines.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@home_option
@friendly
def ingest(paths, prune, yes, dates_to_now, quiet, home):
    """Ingest FAQ articles (*.md, folders searched recursively) and ticket exports (*.jsonl, *.csv)."""
    from tqdm import tqdm

    from deflect.clock import utcnow
    from deflect.ingest import ingest as run
    store = open_home_store(home)
    # personal data is redacted from each ticket before it is stored: about a minute per 50,000 tickets
    bar = tqdm(total=0, unit="ticket", desc="storing tickets", disable=quiet, file=sys.stderr, delay=2)

    def stored(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    # a subfolder given with --prune by mistake would delete the rest of the help center
    limit = None if yes else max(2, len(store.article_ids()) // 5)
    report = run(store, paths, prune=prune, recent_as_of=utcnow() if dates_to_now else None, progress=stored,
                 max_prune=limit)
    bar.close()
    if report["weeks_moved"]:
        weeks = report["weeks_moved"]
        click.echo(f"ticket dates moved {weeks} week{'s' if weeks != 1 else ''} forward")
    a, t = report["articles"], report["tickets"]
    if report["article_files"]:   # a ticket export alone says nothing of the articles
        click.echo(f"articles: {a['new']} new, {a['changed']} changed, {a['unchanged']} unchanged"
                   + (f", {a['deleted']} deleted" if a["deleted"] else ""))
    if report["deleted_articles"]:
        shown = report["deleted_articles"][:20]
        more = len(report["deleted_articles"]) - len(shown)
        click.echo("deleted:  " + ", ".join(shown) + (f" and {more} more" if more else ""))
        if report.get("unlinked_tickets"):
            click.echo(f"note: {report['unlinked_tickets']} ticket(s) an agent had linked to a deleted article lost "
                       "the link (put the article back and ingest the export again to restore it)")
    for old, new in report["renamed_articles"].items():
        click.echo(f"renamed:  {old} -> {new} (its ticket links, feedback and votes go with it)")
    if report["not_given"]:
        shown = report["not_given"][:10]
        more = len(report["not_given"]) - len(shown)
        click.echo(f"note: {len(report['not_given'])} stored article(s) are not in the given files and stay: "
                   + ", ".join(shown) + (f" and {more} more" if more else "")
                   + " (--prune with the whole article folder deletes them)")
    click.echo(f"tickets:  {t['new']} new, {t['changed']} changed, {t['unchanged']} unchanged"
               + (f"; {t['erased']} not imported: erased on the customer's request earlier (deflect privacy "
                  "erase)" if t.get("erased") else "")
               + (f"; {t['not_resolved']} not imported: their status says they are not resolved (open, pending, "
                  "spam...); import them again once resolved" if t["not_resolved"] else ""))
    for path, columns in report["unread_columns"].items():
        click.echo(f"note: {path}: columns not read: {', '.join(columns)} (deflect reads id, subject, body, "
                   "resolution, article_id, language, created_at, channel, status and customer_name/_email/_phone); "
                   "rename a column that holds one of these.")
    for note in report["doubtful_articles"][:20]:
        click.echo(f"note: {note}")
    for path in report["unread_files"]:
        click.echo(f"note: {path} was not read: articles are .md, ticket exports .jsonl or .csv")
    for path in report.get("empty_ticket_files", []):
        click.echo(f"note: {path} holds no tickets (an empty file, or a header only): was the export cut short?")
    if t["undated"]:
        click.echo(f"note: {t['undated']} ticket(s) without created_at count as asked on the day they are first "
                   "ingested (the report's trends, costs and incidents); export the creation time if the help "
                   "desk has it.")
    if a["deleted"] or report["renamed_articles"]:
        click.echo("Run `deflect index` to make the changes searchable: until then the service still suggests "
                   "the deleted articles.")
    elif a["new"] or a["changed"] or t["new"] or t["changed"]:
        click.echo("Run `deflect index` to make the changes searchable.")


@cli.command()
@click.argument("text", required=False)
@click.option("--jsonl", is_flag=True, help="Read inquiry lines {id, text, language?} from stdin, "
                                            "write one JSON result per line.")
@click.option("-k", "--top", "k", type=click.IntRange(1, 50), default=3, show_default=True, help="Articles to return.")
@click.option("--language", default=None, help="Language of TEXT (default: detected).")
@click.option("--no-log", is_flag=True, help="Do not log the inquiries for the gap report.")
@home_option
@friendly
def suggest(text, jsonl, k, language, no_log, home):
    """Suggest FAQ articles for TEXT (or for each line of stdin with --jsonl)."""
    from deflect.formats import Inquiry, read_inquiries
    if not jsonl and not text:
        raise click.UsageError("give a TEXT or use --jsonl with inquiry lines on stdin")
    deflector = open_deflector(home, threads=2)
    if jsonl:
        inquiries = read_inquiries(sys.stdin)
        for start in range(0, len(inquiries), 256):
            batch = inquiries[start:start + 256]
            results = deflector.suggest_batch([q.text for q in batch], k=k,
                                              languages=[q.language for q in batch])
            for q, s in zip(batch, results):
                if not no_log:
                    deflector.store.log_inquiry(q, s.decision, s.confidence,
                                                s.articles[0].id if s.articles else None, channel="cli",
                                                vector=s.vector, model=deflector.bundle.model)
                click.echo(json.dumps({"id": q.id, "decision": s.decision, "confidence": s.confidence,
                                       "articles": [{"id": a.id, "title": a.title, "score": a.score}
                                                    for a in s.articles]}, ensure_ascii=False))
        return
    s = deflector.suggest(text, language=language, k=k)
    if not no_log:
        import uuid
        deflector.store.log_inquiry(Inquiry(uuid.uuid4().hex, text, s.language), s.decision, s.confidence,
                                    s.articles[0].id if s.articles else None, channel="cli",
                                    vector=s.vector, model=deflector.bundle.model)
    verdict = {"answer": "ANSWER", "suggest": "SUGGEST (not sure: these articles might help)"}.get(
        s.decision, "NO ANSWER (the FAQ does not seem to cover this)")
    click.echo(f"{verdict}  confidence {s.confidence:.2f}  [{s.language}]")
    for i, a in enumerate(s.articles, 1):
        click.echo(f"  {i}. {a.title}  ({a.id}, score {a.score:.2f})" + (f"  {a.url}" if a.url else ""))


@cli.command(name="eval")
@click.argument("labelled", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@home_option
@friendly
def eval_(labelled, as_json, home):
    """Replay LABELLED inquiries: ranking quality and how much the FAQ would deflect."""
    from deflect.decision.evaluate import evaluate
    from deflect.formats import read_inquiries
    inquiries = read_inquiries(labelled, require_labels=True)
    check_labelled(inquiries, open_home_store(home), labelled)
    deflector = open_deflector(home, threads=2)
    metrics = evaluate(inquiries, deflector.suggest_batch([q.text for q in inquiries], k=3))
    if as_json:
        click.echo(json.dumps(metrics))
        return
    labels = {"top1": "right article first", "top3": "right article in top 3", "mrr": "mean reciprocal rank",
              "auroc": "confidence separates covered/uncovered (AUROC)",
              "deflected": "covered inquiries deflected", "wrong_answer": "covered answered wrongly",
              "answered_uncovered": "uncovered answered anyway", "answer_rate": "answer rate"}
    click.echo(f"{metrics['inquiries']} inquiries ({metrics['covered']} covered, {metrics['uncovered']} not)")
    for key, label in labels.items():
        value = metrics[key]
        click.echo(f"  {label:<50} {'n/a' if value is None else f'{value:.3f}'}")
    fitted_on = ((deflector.store.get_setting("calibration") or {}).get("report") or {}).get("file")
    if fitted_on and fitted_on == click.format_filename(labelled):
        click.echo("note: the decision was fitted on these very questions, so these figures are better than new "
                   "questions will see; evaluate on questions it was not fitted on")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@home_option(create=False)
@friendly
def status(as_json, home):
    """Counts, model, index age and calibration."""
    from deflect.decision.describe import (
        CROSS_COVER,
        calibration_caveat,
        describe_calibration,
        describe_lexical_weights,
        describe_part_weights,
    )
    from deflect.decision.floor import DEFAULT_FLOOR_SHARE
    from deflect.decision.model_choice import SETTING as MODEL_CHOICE
    from deflect.decision.model_choice import describe as describe_choice
    from deflect.errors import IndexMismatchError, IndexMissingError
    from deflect.index.files import verify_index
    from deflect.settings import from_env
    from deflect.store import store_exists
    from deflect.store.labelled import labelled_counts
    from deflect.store.links import link_counts
    if not store_exists(home.database):  # looking must not create a store
        raise click.ClickException(f"no deflect data here ({home.path})\nHint: pass --home DIR (or set "
                                   "DEFLECT_HOME) for an existing data folder, or run `deflect ingest "
                                   "FOLDER` to start one here.")
    store = open_home_store(home)
    info: dict = {"home": str(home.path), "store": store.counts(), "inferred_links": link_counts(store),
                  "labelled_questions": labelled_counts(store)}
    try:
        manifest = verify_index(home.index_dir)
        built = datetime.fromisoformat(manifest["updated_at"])
        info["index"] = {"model": manifest["model"], "dim": manifest["dim"], "counts": manifest["counts"],
                         "type": manifest["index"]["kind"], "built_at": manifest["built_at"],
                         "updated_at": manifest["updated_at"],
                         "age_hours": round((datetime.now(UTC) - built).total_seconds() / 3600, 2)}
        stale = manifest.get("article_hashes") != store.article_hashes()
        info["index"]["stale"] = stale
        info["index"]["tickets_waiting"] = store.db.execute(   # ingested since: not searchable before an update
            "select count(*) from tickets where ingested_at > ?", [manifest["updated_at"]]).fetchone()[0]
    except (IndexMissingError, IndexMismatchError) as exc:
        info["index"] = {"error": str(exc), "missing": isinstance(exc, IndexMissingError)}
    cal = store.get_setting("calibration")
    info["calibration"] = ({k: cal[k] for k in ("source", "threshold", "n_samples", "fitted_at", "wrong_cost")}
                           | {"fitted_on": describe_calibration(cal), "caveat": calibration_caveat(cal),
                              "report": cal.get("report")}) if cal else None
    info["model_choice"] = store.get_setting(MODEL_CHOICE)
    info["part_weights"] = describe_part_weights(cal, info["index"].get("model"))
    info["lexical_weights"] = describe_lexical_weights(cal, from_env("lexical_weight"))
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    s = info["store"]
    click.echo(f"home:        {info['home']}")
    click.echo(f"store:       {s['articles']} articles, {s['tickets']} tickets ({s['tickets_linked']} linked), "
               f"{s['inquiries']} logged inquiries")
    links = info["inferred_links"]
    by_source = ", ".join(f"{n} from {source}" for source, n in links["by_source"].items())
    click.echo(f"inferred:    {links['total']} article links inferred for unlinked tickets"
               + (f" ({by_source}; {links['confident']} confident, used as evidence)" if links["total"] else ""))
    lq = info["labelled_questions"]
    if lq["total"]:
        click.echo(f"labelled:    {lq['current']} labelled questions with their article from {lq['source']}, "
                   "counted as covered by the gap report"
                   + (f" ({lq['total'] - lq['current']} name deleted articles)" if lq["total"] > lq["current"] else ""))
    ix = info["index"]
    if "error" in ix:
        click.echo(f"index:       none ({ix['error']})" if ix["missing"]
                   else f"index:       damaged ({ix['error']}) — run `deflect index` to rebuild it")
    else:
        click.echo(f"index:       {ix['counts']['documents']} documents, model {ix['model']} ({ix['dim']}-dim), "
                   f"{ix['type']}, updated {ix['updated_at']} ({ix['age_hours']} h ago)"
                   + ("  — articles changed since: run `deflect index`" if ix["stale"] else "")
                   + (f"  — {ix['tickets_waiting']} ticket(s) ingested since: run `deflect index`"
                      if ix.get("tickets_waiting") else ""))
    if info["model_choice"]:
        click.echo(f"model:       chosen by --model auto, {describe_choice(info['model_choice'])}")
    click.echo(f"calibration: {describe_calibration(cal)}"
               + (f", threshold {cal['threshold']:.3f}" if cal else ""))
    fitted = (cal or {}).get("report") or {}
    if "answer_rate" in fitted:   # a decision that never answers or never suggests shows here, not only in --json
        floor = fitted.get("suggest_floor")
        if floor is None:   # none fitted: the engine suggests from half the answer threshold (deflect.decision.floor)
            start = DEFAULT_FLOOR_SHARE * cal["threshold"]
            might = f"; \"these articles might help\" from a confidence of {start:.3f} (none fitted: too few questions)"
        elif floor <= 1:
            might = f"; \"these articles might help\" for {fitted.get('suggest_rate', 0):.0%} (relevance from {floor})"
        else:
            might = "; \"these articles might help\": never"
        click.echo(f"             answers {fitted['answer_rate']:.0%} of the questions it was fitted on" + might)
    if info["calibration"] and info["calibration"]["caveat"]:
        click.echo(f"             caution: {info['calibration']['caveat']}")
    if info["part_weights"]:
        click.echo(f"model parts: {info['part_weights']['summary']}")
    click.echo(f"word match:  {info['lexical_weights']['summary']}")
    fitted_report = (info["calibration"] or {}).get("report") or {}
    if "cross_language_cover" in fitted_report:
        click.echo(f"words across languages: {CROSS_COVER[bool(fitted_report['cross_language_cover'])]}")


@cli.command(name="settings")
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
@friendly
def settings_(as_json):
    """Every setting with its current value and where it comes from (environment, --env-file or default)."""
    from deflect.settings import SETTINGS, format_value, load, without_password
    current = load()
    group = click.get_current_context().find_root().obj or {}
    env_file, from_file = group.get("env_file"), set(group.get("from_file", ()))
    rows = [{"name": s.name, "value": current[s.name], "source": current.sources[s.name], "env": s.env}
            for s in SETTINGS]
    for row in rows:
        if row["source"] == "env" and row["env"] in from_file:
            row["source"], row["env_file"] = "env_file", env_file
    for row in rows:
        if row["name"] == "database_url":   # the password stays in the environment
            row["value"] = without_password(row["value"])
        elif row["name"] == "metrics_key" and row["value"]:   # as the password: set, not shown
            row["value"] = "***"
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    shown = [format_value(row["value"]) or "-" for row in rows]
    name_width, value_width = max(len(s.name) for s in SETTINGS), max(len(v) for v in shown)
    for row, value in zip(rows, shown):
        source = {"env": f"from {row['env']}", "env_file": f"from {row['env']} in {row.get('env_file')}"}.get(
            row["source"], f"{row['source']}; {row['env']}")
        click.echo(f"{row['name']:<{name_width}}  {value:<{value_width}}  ({source})")


def _register_extensions() -> None:
    from deflect.cli.build import calibrate, index
    from deflect.cli.connectors import connect, connectors_, sync
    from deflect.cli.feedback import feedback
    from deflect.cli.gaps import gaps
    from deflect.cli.incidents import incidents
    from deflect.cli.privacy import privacy
    from deflect.cli.serve import keys, serve
    from deflect.cli.tenants import tenants
    for command in (index, calibrate, gaps, incidents, privacy, serve, keys, connect, sync, connectors_, feedback,
                    tenants):
        cli.add_command(command)


_register_extensions()


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
