"""Read a help desk's ticket export (JSONL or CSV) into tickets.

The whole file is read before anything is stored, and every row that cannot be read is reported at once
(its line and what is wrong), so that a team fixes an export of thousands of rows in one pass.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

from deflect.errors import InputError
from deflect.formats import CUSTOMER_FIELDS, TICKET_FIELDS, Ticket, parse_ticket, read_text
from deflect.text import SPACE

CSV_SEPARATORS = (",", ";", "\t")   # the first of those the header holds most of separates the columns
# Fields a ticket export may carry that deflect reads elsewhere (the tickets API's contact fields).
CONTACT_FIELDS = ("session", "customer_id")
SHOWN_PROBLEMS = 10   # rows named in the error; the rest are counted

Row = tuple[int, "dict | InputError"]


def _json_lines(path: Path) -> Iterator[Row]:
    for n, line in enumerate(read_text(path).split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield n, InputError(f"not valid JSON ({exc.msg})", str(path), n)
            continue
        yield n, obj if isinstance(obj, dict) else InputError("each line must be a JSON object", str(path), n)


def _csv_rows(path: Path) -> Iterator[Row]:
    """Each row as a dict, or the InputError that refuses it; a broken header or quoting ends the file."""
    text = read_text(path)
    # the header's separator: Excel in a German locale saves ';' where others write ','
    header = text.split("\n", 1)[0]
    separator = max(CSV_SEPARATORS, key=header.count)
    # strict: a quote left open must not swallow the rows after it into one field.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    start = 1
    try:
        columns = next(reader, [])
        missing = [c for c in ("id", "body") if c not in columns and not (c == "body" and "description" in columns)]
        if missing:
            raise InputError(f"CSV header has no {' or '.join(repr(c) for c in missing)} column", str(path), 1,
                             hint="The first row names the columns: id,subject,body,resolution,article_id,...")
        twice = sorted({c for c in columns if c and columns.count(c) > 1})
        if twice:
            raise InputError(f"CSV header names the column {twice[0]!r} twice", str(path), 1,
                             hint="Rename or remove one of them: only one value per field can be kept.")
        start = reader.line_num + 1
        for values in reader:
            if any(v.strip(SPACE) for v in values):   # rows of separators only (Excel's ;;;) are no tickets
                # a row with fewer values is a row broken by an unquoted line break: its rest would
                # become a ticket of its own
                if len(values) > len(columns):
                    yield start, InputError(f"{len(values) - len(columns)} more value(s) than the header has "
                                            "columns", str(path), start,
                                            hint=f"Quote values that contain the separator {separator!r}.")
                elif len(values) < len(columns):
                    yield start, InputError(f"{len(columns) - len(values)} value(s) fewer than the header has "
                                            "columns", str(path), start,
                                            hint="Quote values that contain a line break (\"...\"), or add the "
                                                 f"missing separators {separator!r}.")
                else:
                    yield start, {k: (v if v != "" else None) for k, v in zip(columns, values, strict=True) if k}
            start = reader.line_num + 1
    except csv.Error as exc:
        yield start, InputError(f"broken CSV in the row starting here ({exc})", str(path), start,
                                hint="Check for a quote that is opened but not closed.")


def refuse(problems: list[InputError]) -> None:
    """Raise one InputError for all ``problems`` of a file: the first with its hint, then each further
    row's line and message (up to SHOWN_PROBLEMS), then how many more."""
    first = problems[0]
    if len(problems) == 1:
        raise first
    shown = problems[1:SHOWN_PROBLEMS]
    lines = "".join(f"\n  line {p.line}: {p.detail}" for p in shown)
    rest = len(problems) - 1 - len(shown)
    raise InputError(f"{first.detail}\n{len(problems) - 1} more row(s) cannot be read:{lines}"
                     + (f"\n  and {rest} more" if rest else ""), first.path, first.line, hint=first.hint)


def read_tickets(path: Path, known_articles: set[str] | None = None, unread: set[str] | None = None) -> list[Ticket]:
    """Parse a JSONL or CSV ticket export; ``known_articles`` checks each ``article_id``; the names of the
    columns deflect does not read are added to ``unread`` (a "description" or "articleid" would be lost
    without a word). Raises one InputError naming every row that cannot be read."""
    rows = _csv_rows(path) if path.suffix.lower() == ".csv" else _json_lines(path)
    tickets: list[Ticket] = []
    problems: list[InputError] = []
    seen: dict[str, int] = {}
    known_fields = {*TICKET_FIELDS, *CUSTOMER_FIELDS, *CONTACT_FIELDS}
    for n, obj in rows:
        if isinstance(obj, InputError):
            problems.append(obj)
            continue
        if unread is not None:
            unread.update(k for k, v in obj.items() if k not in known_fields and v not in (None, "")
                          and not (k == "description" and "body" not in obj))
        try:
            ticket = parse_ticket(obj, str(path), n, known_articles, export=True)
        except InputError as exc:
            problems.append(exc)
            continue
        if ticket.id in seen:
            problems.append(InputError(f"duplicate ticket id {ticket.id!r} (first on line {seen[ticket.id]})",
                                       str(path), n))
            continue
        seen[ticket.id] = n
        tickets.append(ticket)
    if problems:
        refuse(problems)
    return tickets
