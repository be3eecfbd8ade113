"""The speed benchmark's incremental updates: one changed article in the serving process and through
the CLI, and a day's new tickets through the CLI, on a copy of the largest corpus."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from scripts.common import run_deflect
from scripts.speed.corpus import base_material, variants
from scripts.speed.workers import ENV, run_worker


def cli(args: list[str], home: Path) -> tuple[float, str]:
    """Seconds and output of ``deflect ARGS`` on ``home`` in a fresh process (start-up included)."""
    t = time.perf_counter()
    out = run_deflect(args, home, env=ENV)
    return time.perf_counter() - t, out


def incremental(work: Path, home: Path, size: int) -> dict:
    """On a copy of the largest deflect home: one changed article in process and through the CLI,
    and a day's new tickets through the CLI."""
    copy = work / f"incremental-{size}"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(home, copy, ignore=shutil.ignore_patterns("texts.json"))
    result: dict = {"documents": size}
    result["in_process"] = run_worker("upsert", home=copy)
    # one changed article through the CLI (ingest the Markdown file, then `deflect index`)
    from deflect.store import open_store
    store = open_store(copy / "deflect.db")
    article = sorted(store.articles(), key=lambda a: a.id)[1]
    store.close()
    md = copy / "changed.md"
    md.write_text(f"---\nid: {article.id}\ntitle: {json.dumps(article.title)}\nlanguage: {article.language}\n"
                  f"questions:\n" + "".join(f"  - {json.dumps(q)}\n" for q in article.questions)
                  + "  - \"How do I get the new form for this?\"\n---\n" + article.body + "\n\nNew form.\n",
                  encoding="utf-8")
    t_ingest, _ = cli(["ingest", str(md)], copy)
    t_index, out = cli(["index", "--model", "minilm", "--quiet"], copy)
    manifest = json.loads((copy / "index" / "manifest.json").read_text())
    result["cli_article"] = {"ingest_s": round(t_ingest, 2), "index_s": round(t_index, 2),
                             "update": manifest.get("last_update"), "output": out.strip().splitlines()[0]}
    # the day's new tickets
    _, tickets = base_material(work)
    day = variants(tickets, 1000, start_round=500, tag="day")
    path = copy / "day.jsonl"
    path.write_text("".join(json.dumps({"id": t.id, "subject": t.subject, "body": t.body,
                                        "resolution": t.resolution, "article_id": t.article_id,
                                        "language": t.language}) + "\n" for t in day), encoding="utf-8")
    t_ingest, _ = cli(["ingest", str(path)], copy)
    t_index, out = cli(["index", "--model", "minilm", "--quiet"], copy)
    manifest = json.loads((copy / "index" / "manifest.json").read_text())
    result["cli_tickets"] = {"tickets": len(day), "ingest_s": round(t_ingest, 2), "index_s": round(t_index, 2),
                             "update": manifest.get("last_update"), "output": out.strip().splitlines()[0]}
    shutil.rmtree(copy, ignore_errors=True)
    return result
