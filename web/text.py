"""Text for API answers: XSS-safe snippets with the query's words marked."""
from __future__ import annotations

import re
from html import escape

from deflect.text import STOP_WORDS

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")


def query_stems(query: str) -> list[str]:
    """Lower-cased word stems of the query worth marking (no stop words, at least 3 letters).

    A crude prefix stem (``kündigen`` -> ``kündi``) so inflected forms (``Kündigung``) match too.
    """
    stems: list[str] = []
    for word in _WORD.findall(query.lower()):
        if len(word) < 3 or word in STOP_WORDS or word.isdigit():
            continue
        stem = word[:max(5, len(word) - 3)] if len(word) > 5 else word
        if stem not in stems:
            stems.append(stem)
    return stems


def _matches(word: str, stems: list[str]) -> str | None:
    lower = word.lower()
    for stem in stems:
        if lower.startswith(stem):
            return stem
    return None


def snippet(text: str, query: str, max_chars: int = 200) -> str:
    """An HTML snippet of ``text`` (plain) around the query's words, each match in ``<mark>``.

    The text is HTML-escaped first and only ``<mark>`` tags are added, so it is safe to insert as HTML.
    The window of ``max_chars`` characters holding the most distinct query words is chosen.
    """
    text = _SPACE.sub(" ", text or "").strip()
    stems = query_stems(query)
    hits: list[tuple[int, str]] = []
    if stems:
        alternatives = "|".join(re.escape(s) for s in sorted(stems, key=len, reverse=True))
        pattern = re.compile(rf"\b(?:{alternatives})\w*", re.IGNORECASE)
        hits = [(m.start(), _matches(m.group(), stems) or "") for m in pattern.finditer(text)][:200]
    start = 0
    if hits and len(text) > max_chars:
        lead = max_chars // 5
        best = (-1, 0)
        for pos, _ in hits:
            lo = max(0, pos - lead)
            found = {s for p, s in hits if lo <= p < lo + max_chars - 1}
            if len(found) > best[0]:
                best = (len(found), lo)
        start = best[1]
        if start > 0:  # begin at a word boundary
            space = text.find(" ", start)
            start = space + 1 if 0 <= space < start + lead else start
    window = text[start:start + max_chars]
    cut = start + max_chars < len(text)
    if cut and " " in window:
        window = window.rsplit(" ", 1)[0]
    parts: list[str] = []
    last = 0
    for match in _WORD.finditer(window):
        parts.append(escape(window[last:match.start()]))
        word = escape(match.group())
        parts.append(f"<mark>{word}</mark>" if stems and _matches(match.group(), stems) else word)
        last = match.end()
    parts.append(escape(window[last:]))
    return ("…" if start > 0 else "") + "".join(parts) + ("…" if cut else "")
