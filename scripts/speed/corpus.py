"""The speed benchmark's corpus: the bench cases' and the demo help center's articles and tickets,
tickets repeated with variations up to N documents, as a deflect home; and the inquiries to time."""
from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from scripts.common import ROOT, make_case, read_jsonl

PREFIX = ["", "Hi, ", "Hello, ", "Hallo, ", "Quick question: ", "Please help: ", "Guten Tag, ", "Hey - "]
SUFFIX = ["", " Thanks.", " Danke!", " asap please", " (sent from my phone)", " Regards", " Vielen Dank.", " ??"]


def base_material(work: Path):
    """Articles and tickets of the bench cases and the demo help center."""
    from deflect.formats import find_files, read_articles
    from deflect.ticket_files import read_tickets
    articles, tickets = [], []
    sources = []
    for case in ("banking77", "xsid_de"):
        out = work / f"case-{case}"
        if not out.exists():
            make_case(case, out, seed=0)
        sources.append((out / "articles", [out / "tickets.jsonl"]))
    faq_articles, faq_tickets = find_files([ROOT / "faq_articles"])
    for folder, ticket_files in sources:
        articles += read_articles(find_files([folder])[0])
        known = {a.id for a in articles}
        for path in ticket_files:
            tickets += read_tickets(path, known)
    articles += read_articles(faq_articles)
    known = {a.id for a in articles}
    for path in faq_tickets:
        tickets += read_tickets(path, known)
    return articles, tickets


def variants(tickets, n: int, start_round: int = 0, tag: str = ""):
    """``n`` tickets: the originals, then copies with a greeting/sign-off (and a number) added."""
    out, r = [], start_round
    while len(out) < n:
        for t in tickets:
            if len(out) >= n:
                break
            if r == 0:
                out.append(t)
                continue
            p, s = PREFIX[r % 8], SUFFIX[(r // 8) % 8] + (f" #{r}" if r >= 64 else "")
            out.append(replace(t, id=f"{t.id}~{tag}{r}", subject=p + t.subject + s, body=p + t.body + s))
        r += 1
    return out


def make_corpus(work: Path, size: int) -> Path:
    """A deflect home with ``size`` documents in its store, and texts.json (deflect's documents)."""
    from deflect.home import Home
    from deflect.index import documents
    from deflect.store import open_store
    home = work / f"corpus-{size}"
    if (home / "texts.json").exists():
        return home
    shutil.rmtree(home, ignore_errors=True)
    Home(home).ensure()
    articles, tickets = base_material(work)
    store = open_store(home / "deflect.db")
    store.upsert_articles(articles)
    n_article_docs = sum(len(documents.article_texts(a)) for a in articles)
    store.upsert_tickets(variants(tickets, size - n_article_docs))
    _, docs = documents.collect_documents(store)
    store.close()
    (home / "texts.json").write_text(json.dumps([d[3] for d in docs], ensure_ascii=False), encoding="utf-8")
    return home


def queries(work: Path, n: int) -> list[str]:
    """Real customer inquiries that are not in the corpus (the cases' test sets), English and German."""
    rows = []
    for case, share in (("banking77", 0.75), ("xsid_de", 0.25)):
        texts = [row["text"] for row in read_jsonl(work / f"case-{case}" / "test.jsonl")]
        rows += texts[: int(n * share)]
    return rows
