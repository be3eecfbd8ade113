"""Text helpers shared by the engine and the service."""
from __future__ import annotations

import re

from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False}).enable("table")
_SPACE = re.compile(r"\s+")


def markdown_to_text(markdown: str) -> str:
    """Plain text of a Markdown document (paragraphs joined by blank lines, markup removed)."""
    parts: list[str] = []
    for token in _md.parse(markdown or ""):
        if token.type == "inline" and token.children is not None:
            words = [" " if c.type in ("softbreak", "hardbreak") else c.content
                     for c in token.children if c.type in ("text", "code_inline", "softbreak", "hardbreak")]
            text = "".join(words).strip()
            if text:
                parts.append(text)
        elif token.type in ("fence", "code_block"):
            parts.append(token.content.strip())
    return "\n\n".join(parts)


def clip(text: str, max_chars: int) -> str:
    """Whitespace-normalised text cut at a word boundary."""
    text = _SPACE.sub(" ", text).strip()
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars].rsplit(" ", 1)[0]
    return cut + "…"
