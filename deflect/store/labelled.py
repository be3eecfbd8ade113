"""The help center's labelled questions: the inquiries of the last calibration file that name their
article (``deflect calibrate FILE``), redacted, as the team labelled them. The gap report counts them as
covered material beside the linked tickets: the team's own word that such a question has an article.
They never enter the index (they are no resolved tickets to show agents), so ranking stays as it is.

The migration is registered in ``deflect.store.MIGRATIONS``.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable

from deflect.clock import utcnow_iso
from deflect.formats import Inquiry
from deflect.store.database import Database


def m_labelled_001(db: Database) -> None:
    db["labelled_questions"].create({
        "id": str, "text": str, "language": str, "article_id": str, "source": str, "added_at": str,
    }, pk="id")
    db["labelled_questions"].create_index(["article_id"])


LABELLED_MIGRATIONS = [("labelled_001_questions", m_labelled_001)]


def keep_labelled(store, inquiries: Iterable[Inquiry], source: str | None) -> int:
    """Replace the stored labelled questions with the covered ones of ``inquiries`` (a calibration file
    named ``source``); questions without an article, or naming one the store lacks, are not kept.
    Returns how many were kept. One transaction: a failure keeps the earlier file's questions."""
    known = store.article_ids()
    rows: dict[str, dict] = {}
    now = utcnow_iso()
    for q in inquiries:
        if not q.expected_article or q.expected_article not in known or not (q.text or "").strip():
            continue
        text = store.redactor.redact(q.text.strip())
        key = q.id or hashlib.sha1(f"{text}\0{q.expected_article}".encode()).hexdigest()[:16]
        rows[key] = {"id": key, "text": text, "language": q.language, "article_id": q.expected_article,
                     "source": source, "added_at": now}
    with store.db.transaction():
        store.db.execute("delete from labelled_questions")
        if rows:
            store.db["labelled_questions"].insert_all(list(rows.values()))
    return len(rows)


def labelled_questions(store) -> list[dict]:
    """The stored labelled questions whose article still exists (id, text, language, article_id)."""
    return [dict(zip(("id", "text", "language", "article_id"), r, strict=True)) for r in store.db.execute(
        "select q.id, q.text, q.language, q.article_id from labelled_questions q "
        "join articles a on a.id = q.article_id order by q.id")]


def labelled_counts(store) -> dict:
    """How many labelled questions are stored, how many still name an existing article, and their file."""
    total, source = store.db.execute("select count(*), max(source) from labelled_questions").fetchone()
    current = store.db.execute("select count(*) from labelled_questions q "
                               "join articles a on a.id = q.article_id").fetchone()[0]
    return {"total": int(total or 0), "current": int(current or 0), "source": source}
