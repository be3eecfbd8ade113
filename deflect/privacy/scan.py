"""Audit a deflect database for personal data left in its text columns (``deflect privacy scan``).

The report counts findings per ``table.column`` and per kind and lists the affected row ids, with a few
masked examples ("Hans M***") so an operator can judge the finds without the report itself leaking them.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from .redact import Redactor, default_redactor

# Tables that hold no customer text (or only hashes and vectors).
INTERNAL_TABLES = frozenset({"_migrations", "embeddings", "settings", "api_keys"})
# The help center's own published texts: its hotline, addresses and mail domain are no customer's data.
# Their finds are reported apart (``published``), not counted, since scrub leaves articles as written.
PUBLISHED_TABLES = frozenset({"articles"})
# The free-text columns of the known tables; ``None``: every TEXT column. The team's own words about a
# topic (its owner, a dismissal's reason, the plan history) are not customer texts.
KNOWN_COLUMNS: dict[str, tuple[str, ...] | None] = {
    "tickets": ("subject", "body", "resolution"),
    "inquiries": ("text", "page"),
    "labelled_questions": ("text",),
    "gap_topics": ("label", "title", "keywords", "representative", "report", "members"),
    "gap_events": (),
}
# In other tables, columns with these names hold ids, hashes, timestamps and enums, not free text.
_TECHNICAL = re.compile(
    r"(?i)^(?:id|key|rowid|hash|uuid|.*_id|.*_key|.*_hash|.*_at|.*_on|language|lang|status|decision|channel|scope"
    r"|prefix|fingerprint|source|event|action|kind|type|state|created|updated|date|vector|centroid)$")


def redact_json(text: str, redactor: Redactor) -> str:
    """A JSON column (a gap topic's report entry, the not-found list) with every customer text in it
    redacted; ids, times and other technical fields (by key name) and the structure stay. Text that is
    not JSON is redacted as text."""
    try:
        data = json.loads(text)
    except ValueError:
        return redactor.redact(text)

    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if isinstance(value, str) and not _TECHNICAL.match(key):
            return redactor.redact(value)
        return value

    cleaned = walk(data)
    return text if cleaned == data else json.dumps(cleaned, ensure_ascii=False)


def free_texts(text: str) -> list[str]:
    """The customer texts of a column value: in a JSON column (as ``redact_json`` reads it) its texts only,
    so that numbers of the structure (a share of 0.0925351582119538) are not read as phone numbers."""
    try:
        data = json.loads(text) if text[:1] in "[{" else None
    except ValueError:
        data = None
    if not isinstance(data, (dict, list)):
        return [text]
    found: list[str] = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and not _TECHNICAL.match(key):
            found.append(value)

    walk(data)
    return found


def mask(text: str, kind: str) -> str:
    """A recognisable but harmless stand-in: "Hans M***", "a***@w***.de", "55***"."""
    if kind == "email" and "@" in text:
        local, _, domain = text.partition("@")
        host, _, tld = domain.rpartition(".")
        return f"{local[:1]}***@{host[:1]}***.{tld}" if host else f"{local[:1]}***@***"
    if kind == "name":
        words = text.split()
        return " ".join([*words[:-1], words[-1][:1] + "***"]) if len(words) > 1 else text[:1] + "***"
    keep = 1 if len(text) <= 4 else 2
    return text[:keep] + "***"


def _columns(db: Any, table: str) -> list[str]:
    text_columns = [c.name for c in db[table].columns if (c.type or "").upper() == "TEXT"]
    if table in KNOWN_COLUMNS:
        wanted = KNOWN_COLUMNS[table]
        return text_columns if wanted is None else [c for c in wanted if c in text_columns]
    return [c for c in text_columns if not _TECHNICAL.match(c)]


def _tables(db: Any) -> list[str]:
    return [t for t in db.table_names()
            if t not in INTERNAL_TABLES and not re.search(r"_fts(?:_\w+)?$", t) and not t.startswith("sqlite_")]


def _row_id(row: dict, pks: list[str]) -> object:
    return row[pks[0]] if len(pks) == 1 else [row[k] for k in pks]


def scan(db: Any, redactor: Redactor | None = None, limit_examples: int = 3) -> dict:
    """Count personal data per ``table.column`` and per kind across the database's text columns.

    Returns ``{"tables": {table: {"rows", "rows_with_findings", "columns"}}, "columns": {"table.column":
    {"findings", "rows", "kinds", "examples", "row_ids"}}, "kinds": {kind: n}, "total": n, "published":
    {"table.column": ...}}``: the published articles' finds apart, in neither ``kinds`` nor ``total``.
    """
    redactor = redactor or default_redactor()
    report: dict = {"tables": {}, "columns": {}, "kinds": {}, "total": 0, "published": {}}
    kinds_total: Counter[str] = Counter()
    for table in _tables(db):
        columns = _columns(db, table)
        if not columns:
            continue
        pks = db[table].pks
        key_sql = ", ".join(f'"{k}"' for k in pks)
        sql = f'select {key_sql}, {", ".join(chr(34) + c + chr(34) for c in columns)} from "{table}" order by {key_sql}'
        stats = {c: {"findings": 0, "rows": 0, "kinds": Counter(), "examples": [], "row_ids": []} for c in columns}
        rows = flagged = 0
        for row in db.query(sql):
            rows += 1
            hit = False
            for column in columns:
                value = row[column]
                if not isinstance(value, str) or not value.strip():
                    continue
                findings = [f for part in free_texts(value) for f in redactor.find(part)]
                if not findings:
                    continue
                hit = True
                entry = stats[column]
                row_id = _row_id(row, pks)
                entry["findings"] += len(findings)
                entry["rows"] += 1
                entry["row_ids"].append(row_id)
                entry["kinds"].update(f.kind for f in findings)
                for f in findings:
                    example = {"row": row_id, "kind": f.kind, "text": mask(f.text, f.kind)}
                    if len(entry["examples"]) < limit_examples and example not in entry["examples"]:
                        entry["examples"].append(example)
            flagged += hit
        report["tables"][table] = {"rows": rows, "rows_with_findings": flagged, "columns": columns}
        for column, entry in stats.items():
            if entry["findings"]:
                published = table in PUBLISHED_TABLES
                if not published:
                    kinds_total.update(entry["kinds"])
                entry["kinds"] = dict(sorted(entry["kinds"].items()))
                report["published" if published else "columns"][f"{table}.{column}"] = entry
    report["kinds"] = dict(sorted(kinds_total.items()))
    report["total"] = sum(kinds_total.values())
    return report
