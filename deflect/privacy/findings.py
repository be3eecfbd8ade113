"""What a detector reports (``Finding``), the placeholders, and how overlapping findings are resolved."""
from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass

PLACEHOLDERS: dict[str, str] = {
    "email": "[E-MAIL]",
    "phone": "[PHONE]",
    "iban": "[IBAN]",
    "card": "[CARD]",
    "name": "[NAME]",
    "address": "[ADDRESS]",
    "customer_id": "[CUSTOMER-ID]",
    "dob": "[DOB]",
    "id_number": "[ID-NUMBER]",
    "secret": "[SECRET]",
}
KINDS: tuple[str, ...] = tuple(PLACEHOLDERS)
_PLACEHOLDER = re.compile(r"[ \t]*(?:" + "|".join(re.escape(p) for p in PLACEHOLDERS.values()) + r")")


def without_placeholders(text: str) -> str:
    """``text`` with the redaction placeholders taken out: they say nothing about the question, and
    as words shared by many texts ("[NAME]" in every signature) they would pull unrelated texts together."""
    return _PLACEHOLDER.sub("", text)

# When findings of different kinds overlap, the more specific evidence wins: a checksum-validated or
# labelled value beats a shape-only guess. E.g. "DOB 03/12/1985" is a date of birth, not a phone number,
# and "Kundennummer 2026-448812" is a customer number even though it also parses as a US phone number.
PRIORITY: dict[str, int] = {
    "email": 90,
    "iban": 85,
    "card": 80,
    "id_number": 75,
    "dob": 70,
    "customer_id": 65,
    "secret": 60,
    "phone": 50,
    "address": 40,
    "name": 30,
}


@dataclass(frozen=True, order=True)
class Finding:
    """One piece of personal data: ``text`` is ``original[start:end]``."""

    start: int
    end: int
    kind: str
    text: str

    @property
    def placeholder(self) -> str:
        return PLACEHOLDERS[self.kind]


def make(text: str, kind: str, start: int, end: int) -> Finding | None:
    """A finding for ``text[start:end]`` with surrounding whitespace and stray punctuation trimmed."""
    while start < end and (text[start].isspace() or text[start] in ",;:"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"):
        end -= 1
    return Finding(start, end, kind, text[start:end]) if end > start else None


def _merge_same_kind(findings: list[Finding], text: str) -> list[Finding]:
    # Two detectors (or a known field and a salutation rule) may see overlapping parts of the same
    # name or number; their union is the thing to remove, so nothing of it leaks.
    by_kind: dict[str, list[Finding]] = {}
    for f in findings:
        by_kind.setdefault(f.kind, []).append(f)
    merged: list[Finding] = []
    for kind, items in sorted(by_kind.items()):
        items.sort()
        cur = items[0]
        for f in items[1:]:
            if f.start < cur.end:
                end = max(cur.end, f.end)
                cur = Finding(cur.start, end, kind, text[cur.start:end])
            else:
                merged.append(cur)
                cur = f
        merged.append(cur)
    return merged


def _pieces(f: Finding, taken: list[Finding], text: str) -> list[Finding]:
    """The parts of ``f`` not covered by ``taken`` that still hold something worth removing."""
    spans = [(f.start, f.end)]
    for t in taken:
        spans = [piece for s, e in spans
                 for piece in ((s, min(e, t.start)), (max(s, t.end), e)) if piece[0] < piece[1]]
    if spans == [(f.start, f.end)]:
        return [f]
    out = []
    for s, e in spans:
        piece = make(text, f.kind, s, e)
        if piece is not None and sum(ch.isalnum() for ch in piece.text) >= 2:
            out.append(piece)
    return out


def resolve(findings: Iterable[Finding], text: str) -> list[Finding]:
    """Non-overlapping findings in text order; deterministic for any input order.

    Same-kind overlaps are merged. Across kinds the higher ``PRIORITY`` wins (then the longer span, then
    the earlier one); the loser keeps only its uncovered remainder, so a name half-covered by an address
    does not leak its other half.
    """
    items = _merge_same_kind(list(findings), text)
    items.sort(key=lambda f: (-PRIORITY[f.kind], -(f.end - f.start), f.start, f.kind))
    taken: list[Finding] = []   # disjoint, in text order: only those around a finding can overlap it
    starts: list[int] = []
    for f in items:
        lo = max(bisect.bisect_right(starts, f.start) - 1, 0)
        for piece in _pieces(f, taken[lo:bisect.bisect_left(starts, f.end)], text):
            at = bisect.bisect_left(starts, piece.start)
            taken.insert(at, piece)
            starts.insert(at, piece.start)
    return taken


def apply(text: str, findings: Iterable[Finding]) -> str:
    """``text`` with each (non-overlapping) finding replaced by its placeholder."""
    out: list[str] = []
    pos = 0
    for f in sorted(findings):
        out.append(text[pos:f.start])
        out.append(f.placeholder)
        pos = f.end
    out.append(text[pos:])
    return "".join(out)
