"""Text helpers shared by the engine and the service."""
from __future__ import annotations

import hashlib
import re

from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False}).enable("table")
_SPACE = re.compile(r"\s+")
# What counts as blank around an input field: the JSON whitespace characters. The ticket formats and the
# API trim these; the OpenAPI document's patterns are written from the same characters (SPACE_CLASS), so a
# value is blank for all of them or for none.
SPACE = " \t\n\r"
SPACE_CLASS = SPACE.encode("unicode_escape").decode()  # " \\t\\n\\r", for a regex character class
# What nobody types and the API refuses (control characters; PostgreSQL cannot store NUL), and characters
# that take no room (zero-width spaces, direction marks): a text of those only is empty. Regex classes,
# written as escapes so that the OpenAPI document's patterns say the same.
CONTROL_CLASS = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f"
INVISIBLE_CLASS = "\\u00ad\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff"
# Soft hyphens from a CMS ("Ab&shy;stell&shy;genehmigung"), zero-width spaces and direction marks pasted
# with a question, control characters in a file (a terminal's escape codes): none is a letter of any word,
# but each splits or changes the word for the models and the word match.
_UNSEEN = re.compile(f"[{CONTROL_CLASS}\\x80-\\x9f{INVISIBLE_CLASS}]")


def without_invisible(text: str) -> str:
    """``text`` without control characters (tabs and line breaks stay) and characters that take no room."""
    return _UNSEEN.sub("", text) if text else text


# Text typed with caps lock on ("RECHNUNG HERUNTERLADEN", "ZEITUNG NICHT GEKOMMEN") is read by the models as
# a string of acronyms: the demo's billing question found nothing that way and its article at 1.00 as
# "Rechnung Herunterladen". Where most words are shouted, each shouted word is read capitalised; a single
# word only from SHOUTED_WORD letters on ("UMZUG"), so "PDF" or "IBAN" alone stay as they are.
_WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*")
SHOUTED_SHARE = 0.6
SHOUTED_WORD = 5


def unshouted(text: str) -> str:
    """``text`` with its words capitalised where it is written in capitals (see above); else unchanged."""
    if not text or not any(ch.isupper() for ch in text):
        return text
    words = [m for m in _WORD.finditer(text) if len(m.group()) >= 2]
    shouted = [m for m in words if m.group().isupper()]
    if not shouted or len(shouted) < SHOUTED_SHARE * len(words) or (
            len(words) == 1 and len(words[0].group()) < SHOUTED_WORD):
        return text
    out, pos = [], 0
    for m in shouted:
        out += [text[pos:m.start()], m.group().capitalize()]
        pos = m.end()
    return "".join(out) + text[pos:]

# Words that say nothing about what a customer asks (German and English), left out of keywords and
# of the words marked in snippets.
STOP_WORDS = frozenset("""
aber about alle allem allen aller alles als also am an and ander andere anderem anderen anderer anderes are
auch auf aus been bei bin bis bist bitte but can could da damit danke dann das dass dear dein deine deinem
deinen deiner dem den denn der des dich did die dies diese diesem diesen dieser dieses dir doch does dort du
durch ein eine einem einen einer eines er es etwas euch euer eure for from für gegen gerne gibt guten hab habe
haben hallo has hat hatte have hello how hätte ich ihm ihn ihnen ihr ihre ihrem ihren ihrer im in ist ja jetzt
kann kein keine keinem keinen keiner können könnte leider man mein meine meinem meinen meiner mich mir mit
muss möchte möchten nach nicht noch not nun nur ob oder ohne our please schon sein seine seinem seinen seiner
sich sie sind so soll sollte tag thank thanks that the this um und uns unser unsere unter viel vom von vor wann war
waren warum was weil welche welcher welches wenn wer werde werden what when where which why wie wieder will wir wird
with wo would wurde würde you your zu zum zur zwar über""".split())


def markdown_to_text(markdown: str) -> str:
    """Plain text of a Markdown document (paragraphs joined by blank lines, markup removed): the text
    that is embedded for search, so a change here changes every index."""
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


def _readable_inline(token) -> str:
    out = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif child.type == "image":
            out.append(child.content)
    return _SPACE.sub(" ", "".join(out)).strip()


def markdown_blocks(markdown: str) -> list[str]:
    """Readable plain-text blocks of a Markdown document, for people (agent drafts, article text in
    API answers): paragraphs, headings, list items ("- ", "1. "), table rows (cells joined by " | ")
    and code blocks; markup removed."""
    return _parts(markdown, grouped=False)


def markdown_units(markdown: str) -> list[str]:
    """The top-level parts of a Markdown document as plain text: a paragraph or heading, a whole list
    (items numbered as written, nested ones indented, an item's further paragraphs under it), a whole
    table (a row per line), a code block. An excerpt made of them never stops inside a list of steps."""
    return _parts(markdown, grouped=True)


def _parts(markdown: str, grouped: bool) -> list[str]:
    """``markdown_units`` (``grouped``), else ``markdown_blocks``: each line a part of its own."""
    units: list[str] = []
    lines: list[str] = []
    ordered: list[bool] = []
    prefix: str | None = None
    cells: list[str] | None = None

    def flush() -> None:
        if lines:
            units.append("\n".join(lines))
            lines.clear()

    for token in _md.parse(markdown or ""):
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            ordered.append(kind == "ordered_list_open")
        elif kind in ("bullet_list_close", "ordered_list_close"):
            ordered.pop()
            if not ordered:
                flush()
        elif kind == "list_item_open":
            prefix = f"{token.info}. " if ordered and ordered[-1] and token.info else "- "
        elif kind == "table_close":
            flush()
        elif kind == "tr_open":
            cells = []
        elif kind == "tr_close":
            if cells:
                lines.append(" | ".join(cells))
            cells = None
        elif kind == "inline":
            text = _readable_inline(token)
            if cells is not None:
                cells.append(text)
            elif text and ordered:
                indent = "   " * (len(ordered) - 1) if grouped else ""
                lines.append(indent + (prefix or ("   " if grouped else "")) + text)
                prefix = None
            elif text:
                lines.append(text)
                flush()
        elif kind in ("fence", "code_block") and token.content.strip():
            flush()
            units.append(token.content.strip())
        if not grouped:
            flush()
    flush()
    return units


def plain_text(markdown: str) -> str:
    """The readable blocks of a Markdown document, joined by blank lines."""
    return "\n\n".join(markdown_blocks(markdown))


def clip(text: str, max_chars: int) -> str:
    """Whitespace-normalised text cut at a word boundary."""
    text = _SPACE.sub(" ", text).strip()
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars].rsplit(" ", 1)[0]
    return cut + "…"


def text_hash(text: str) -> str:
    """A short stable key for a text (16 hex digits of its SHA-1): caches and change detection."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def folded(text: str) -> str:
    """``text`` in lower case with each run of white space one space: how two typings compare."""
    return " ".join(text.lower().split())
