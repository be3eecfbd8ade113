"""deflect's input formats: Markdown FAQ articles, tickets (one row of an export or an API body; the export
files are read in ``ticket_files``), inquiry sets (JSONL).

Every reader validates the whole input and raises :class:`InputError` naming the file and line
of the problem, so callers can refuse a batch before anything is stored.
"""
from __future__ import annotations

import contextlib
import difflib
import functools
import hashlib
import html
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import frontmatter
import yaml

from deflect.clock import iso, parse_time
from deflect.errors import InputError
from deflect.html_text import html_to_text, looks_like_html, markdown_without_html
from deflect.language import detect_language
from deflect.text import SPACE, without_invisible

ARTICLE_SUFFIXES = {".md", ".markdown"}
TICKET_SUFFIXES = {".jsonl", ".csv"}
TICKET_FIELDS = ("id", "subject", "body", "resolution", "article_id", "language",
                 "created_at", "channel", "status")
CUSTOMER_FIELDS = ("customer_name", "customer_email", "customer_phone")
_LANG = re.compile(r"^[A-Za-z]{2}$")
_LOCALE = re.compile(r"([A-Za-z]{2})[-_][A-Za-z0-9]{2,8}")   # de-DE, de_AT, en-GB, es-419
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?")   # or a date
DAY_FIRST_DATE = r"(\d{1,2})\.(\d{1,2})\.(\d{4})"   # 31.12.2025, as German exports and people write a date
_DAY_FIRST = re.compile(DAY_FIRST_DATE + r"(?:[ ,T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
# The article ids the API takes in its paths: Latin letters (with accents: kündigung.md gives the id
# kündigung), digits, '.', '_', '-'. Spelled out as ranges: JSON Schema patterns read \w as ASCII only.
_ID_CHAR = "0-9A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
ARTICLE_ID_PATTERN = f"^[{_ID_CHAR}][{_ID_CHAR}._-]{{0,127}}$"
ARTICLE_ID = re.compile(ARTICLE_ID_PATTERN)
# The ticket ids the API takes (any help desk's): up to TICKET_ID_MAX characters, no control characters.
TICKET_ID_MAX = 200
TICKET_ID_PATTERN = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
TICKET_ID = re.compile(TICKET_ID_PATTERN)
_FRONT_MATTER_FENCE = re.compile(r"-{3,}\s*")   # the line that opens and closes the front matter
FRONT_MATTER_HINT = "Check quoting: values with ':' need quotes."
UTF8_HINT = "Save the file as UTF-8 (Excel: 'CSV UTF-8'; or iconv -f cp1252 -t utf-8 IN > OUT)."
INQUIRY_LINE_HINT = 'One JSON object per line: {"id": ..., "text": ..., "expected_article": an article id or null}.'


@dataclass
class Article:
    """One FAQ article: front matter plus the Markdown body (the answer)."""

    id: str
    title: str
    body: str
    language: str
    questions: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    url: str | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        # from any source (a file, the API, a help desk's knowledge base): only what a reader sees
        self.title, self.body = without_invisible(self.title), without_invisible(self.body)
        self.questions = [without_invisible(q) for q in self.questions]

    @property
    def content_hash(self) -> str:
        data = json.dumps([self.title, self.body, self.language, self.questions, self.tags, self.url],
                          ensure_ascii=False)
        return hashlib.sha1(data.encode("utf-8")).hexdigest()

    def to_row(self) -> dict:
        row = asdict(self)
        row["content_hash"] = self.content_hash
        return row


# Help desks' names (Zammad, Zendesk, Chatwoot, FreeScout; German ones) for a ticket that is not resolved:
# it has no answer yet, so it is a contact, never evidence nor a "similar resolved ticket"; any other
# status, or none, reads as resolved, since exports are of resolved tickets.
NOT_RESOLVED = frozenset({"new", "open", "opened", "active", "pending", "pending reminder", "pending close",
                          "hold", "on hold", "on-hold", "waiting", "snoozed", "reopened", "spam", "merged",
                          "removed", "deleted", "neu", "offen", "in bearbeitung", "wartend", "warten",
                          "erinnerung", "zurückgestellt"})


@dataclass
class Ticket:
    """One resolved ticket from the helpdesk export."""

    id: str
    subject: str
    body: str
    resolution: str
    article_id: str | None
    language: str
    created_at: str | None = None
    channel: str | None = None
    status: str | None = None
    source: str | None = None
    line: int | None = None
    # The customer's own name, e-mail and phone as the export gives them: removed from the ticket's
    # text before it is stored, and never stored themselves.
    customer: tuple[str, ...] = ()
    # Who the customer is (the help desk's customer id, the e-mail address): stored only hashed, so that an
    # erasure by either finds the ticket.
    customer_refs: tuple[str, ...] = ()

    @property
    def resolved(self) -> bool:
        """False where the status names a ticket still open (or spam, merged away): ``NOT_RESOLVED``."""
        return " ".join((self.status or "").casefold().replace("_", " ").split()) not in NOT_RESOLVED

    @property
    def text(self) -> str:
        """The customer's words: subject and body, without repeating a body that equals the subject."""
        subject, body = self.subject.strip(), self.body.strip()
        if not subject or body.startswith(subject):
            return body or subject
        return f"{subject}\n{body}" if body else subject

    def to_row(self) -> dict:
        row = asdict(self)
        row.pop("line")
        row.pop("customer")
        row.pop("customer_refs")
        return row


@dataclass
class Inquiry:
    """A customer question; ``expected_article`` is set in labelled sets (None = not covered)."""

    id: str
    text: str
    language: str | None = None
    expected_article: str | None = None
    labelled: bool = False


def url_problem(url: str) -> str | None:
    """Why an article's ``url`` cannot be linked from the help page, or None. A site path must not
    start with ``//`` or ``/\\``: browsers read both as another host (``/\\evil.example/phish``)."""
    if any(ord(ch) <= 32 or ord(ch) == 127 for ch in url):  # spaces and control characters
        return "'url' must be a path starting with '/' or an http(s) URL, without spaces"
    if url.startswith(("https://", "http://")):
        return None
    if not url.startswith("/") or url[1:2] in ("/", "\\"):
        return "'url' must be a path starting with '/' or an http(s) URL"
    return None


def _str_list(value, path: str, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise InputError(f"'{name}' must be a list of strings", path, 1)
    return [str(v).strip() for v in value if str(v).strip()]


def _language(value, text: str, path: str, line: int | None, regional: bool = True) -> str:
    """An ISO 639-1 code (detected from ``text`` when missing); with ``regional`` a locale as CMS and help
    desk exports write it (de-DE, de_AT, en-GB) gives its language."""
    if value is None or value == "":
        return detect_language(text)
    lang = str(value).strip(SPACE)
    locale = _LOCALE.fullmatch(lang) if regional else None
    if locale:
        lang = locale.group(1)
    if not _LANG.match(lang):
        raise InputError(f"language {value!r} is not an ISO 639-1 code such as 'de' or 'en'", path, line,
                         hint="A locale such as de-DE is read in export files; the API takes the two letters.")
    return lang.lower()


def front_matter_problem(text: str, exc: yaml.YAMLError) -> tuple[str, int]:
    """What YAML could not read in the front matter of ``text``, and the 1-based line of the file to fix.
    YAML notices an unclosed quote or bracket only where the front matter ends; the construct it was
    reading (``context_mark``) starts on the line to fix. Its lines count from the opening '---'."""
    opening = next((n for n, line in enumerate(text.splitlines(), 1) if _FRONT_MATTER_FENCE.fullmatch(line)), 1)
    mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    return problem + (f" ({context})" if context else ""), opening + mark.line if mark is not None else 1


def read_article(path: Path) -> Article:
    """Parse one Markdown article with YAML front matter."""
    try:
        text = path.read_text(encoding="utf-8-sig")   # Windows editors save a byte-order mark first
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", str(path)) from exc
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        problem, line = front_matter_problem(text, exc)
        raise InputError(f"invalid YAML front matter: {problem}", str(path), line, hint=FRONT_MATTER_HINT) from exc
    meta = post.metadata
    if not isinstance(meta, dict):
        raise InputError("front matter must be a YAML mapping", str(path), 1)
    title = meta.get("title")
    if not isinstance(title, (str, int, float)) or not str(title).strip():
        raise InputError("missing 'title' in front matter", str(path), 1,
                         hint="Every article needs a title: line between the --- markers.")
    if len(title_text(str(title))) > TITLE_MAX:
        raise InputError(f"the title is longer than {TITLE_MAX} characters", str(path), 1,
                         hint="A title is the question the article answers; put the rest into the body.")
    # one spelling of "ü": a file name from macOS or a zip decomposes it, a ticket's article_id does not
    article_id = unicodedata.normalize("NFC", str(meta.get("id") or path.stem).strip())
    if not article_id:
        raise InputError("empty 'id'", str(path), 1)
    if "/" in article_id or "\\" in article_id or any(ord(c) < 32 or c in '<>"' for c in article_id) \
            or not article_id.strip("."):
        raise InputError(f"the article id {article_id!r} holds a slash, a control character or <, >, \" or is "
                         "only dots: its page /articles/<id> could not be linked", str(path), 1,
                         hint="Set id: in the front matter to letters, digits, '.', '_' or '-'.")
    url = meta.get("url")
    if url is not None and (not isinstance(url, str) or url_problem(url.strip())):
        raise InputError(url_problem(str(url).strip()) or "'url' must be text", str(path), 1)
    return Article(
        id=article_id,
        title=title_text(str(title)),
        body=markdown_without_html(post.content.strip()),
        language=_language(meta.get("language"), f"{title} {post.content[:500]}", str(path), 1),
        questions=_str_list(meta.get("questions"), str(path), "questions"),
        tags=_str_list(meta.get("tags"), str(path), "tags"),
        url=url.strip() if url else None,
        source=str(path),
    )


TITLE_MAX = 300   # as the API takes them
# A character reference with its closing ";" ("Sport&regionales" is no "&reg;", though HTML would read it so).
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def title_text(title: str) -> str:
    """An article's title as readers see it: no HTML tags, and its entities ("f&uuml;r", "&amp;", "&shy;")
    as the characters they stand for."""
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), markdown_without_html(title.strip())).strip()


def find_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Path]]:
    """Split paths (files or folders, searched recursively) into article and ticket files."""
    articles: list[Path] = []
    tickets: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise InputError("no such file or folder", str(p))
        candidates = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for q in candidates:
            suffix = q.suffix.lower()
            if suffix in ARTICLE_SUFFIXES:
                if q.name.lower() != "readme.md" or not p.is_dir():
                    articles.append(q)
            elif suffix in TICKET_SUFFIXES:
                tickets.append(q)
            elif not p.is_dir():
                raise InputError("unknown file type (expected .md, .jsonl or .csv)", str(q))
    return articles, tickets


def read_articles(files: Iterable[Path]) -> list[Article]:
    """Parse articles, refusing duplicate ids across files."""
    seen: dict[str, Article] = {}
    for path in files:
        article = read_article(path)
        if article.id in seen:
            raise InputError(f"duplicate article id {article.id!r} (also in {seen[article.id].source})",
                             str(path), 1, hint="Give each article a unique 'id' in its front matter.")
        seen[article.id] = article
    return list(seen.values())


def _not_utf8(path: Path, exc: UnicodeDecodeError, data: bytes) -> InputError:
    line = data[:exc.start].count(b"\n") + 1
    return InputError("not UTF-8 text", str(path), line, hint=UTF8_HINT)


def read_text(path: Path) -> str:
    """A file's text (UTF-8, a BOM dropped); other bytes are refused with their line."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc, data) from None


def _opt_str(value, name: str = "value", where: str = "<input>", line: int | None = None) -> str | None:
    """A text field: None or blank -> None; numbers become text; lists and objects are refused."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InputError(f"'{name}' must be text, not {type(value).__name__}", where, line)
    value = str(value).strip(SPACE)
    return value or None


def _field(obj: dict, name: str, where: str, line: int) -> str | None:
    return _opt_str(obj.get(name), name, where, line)


def _created_at(value: str | None, where: str, line: int | None, export: bool) -> str | None:
    """A ticket's time, refused when unreadable: it would leave the ticket out of every time window of the
    report (costs, trends, incidents) unseen. Through the API an RFC 3339 date-time or a date, as documented;
    in an ``export`` file also ISO 8601 with a space or without an offset, and ``DD.MM.YYYY[ HH:MM[:SS]]``
    as German exports write it. Stored in UTC (``deflect.clock.iso``); a time without an offset counts as
    UTC, as everywhere in deflect."""
    if value is None:
        return None
    if (export or _RFC3339.fullmatch(value)) and (moment := parse_time(value)) is not None:
        return iso(moment)   # stored as every time is: UTC, so that times compare and sort as text
    german = _DAY_FIRST.fullmatch(value) if export else None
    if german:
        day, month, year, hour, minute, second = (int(g) if g else 0 for g in german.groups())
        with contextlib.suppress(ValueError):
            return iso(datetime(year, month, day, hour, minute, second, tzinfo=UTC))
    forms = "2025-12-31T14:05:00+01:00 (ISO 8601) or 31.12.2025 14:05" if export else \
        "2025-12-31T14:05:00+01:00 or 2025-12-31 (RFC 3339)"
    raise InputError(f"created_at {value!r}: not a date and time in a form deflect reads", where, line,
                     hint=f"Write it as {forms}.")


def _plain(text: str) -> str:
    """A text field as text: help desks export e-mail bodies as HTML (``<p>``, ``&nbsp;``), in which
    personal data is not found and which agents would read as markup; the message a reply quotes and its
    signature block are left out, as the connectors do."""
    return without_invisible(html_to_text(text, reply=True) if looks_like_html(text) else text)


def parse_ticket(obj: dict, where: str = "<input>", line: int | None = None,
                 known_articles: set[str] | None = None, export: bool = False) -> Ticket:
    """Validate one ticket object (a JSONL line, a CSV row, an API body); ``known_articles`` checks its
    ``article_id``; ``export``: from a file, whose times may be written as help desks export them.
    Raises InputError naming ``where`` and ``line``."""
    field_of = functools.partial(_field, obj, where=where, line=line)
    tid = field_of("id")
    if tid is None:
        raise InputError("ticket without 'id'", where, line)
    subject = _plain(field_of("subject") or "")
    # Zendesk's ticket exports name the customer's first message "description"
    body = _plain(field_of("body") or (field_of("description") if export and "body" not in obj else None) or "")
    if not subject and not body:
        raise InputError(f"ticket {tid!r} has neither 'subject' nor 'body'", where, line)
    article_id = field_of("article_id")
    article_id = unicodedata.normalize("NFC", article_id) if article_id else article_id
    if article_id is not None and known_articles is not None and article_id not in known_articles:
        raise InputError(f"ticket {tid!r} links unknown article_id {article_id!r}", where, line,
                         hint="Ingest the article first, or set article_id to null.")
    return Ticket(
        id=tid, subject=subject, body=body,
        resolution=_plain(field_of("resolution") or ""),
        article_id=article_id,
        language=_language(obj.get("language"), f"{subject} {body}", where, line, regional=export),
        created_at=_created_at(field_of("created_at"), where, line, export),
        channel=field_of("channel"),
        status=field_of("status"),
        source=where, line=line,
        customer=tuple(v for v in map(field_of, CUSTOMER_FIELDS) if v),
        customer_refs=tuple(v for v in (_customer_ref(obj), field_of("customer_email")) if v),
    )


def _customer_ref(obj: dict) -> str | None:
    """The help desk's ``customer_id``, text or a number (the tickets API checks it where it is wrong)."""
    value = obj.get("customer_id")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value).strip(SPACE) or None


def parse_inquiry(obj: dict, where: str = "<input>", line: int | None = None,
                  auto_id: str | None = None) -> Inquiry:
    """Validate one inquiry object ``{id?, text, language?, expected_article?}``."""
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InputError("inquiry without 'text'", where, line)
    iid = _opt_str(obj.get("id")) or auto_id
    if iid is None:
        raise InputError("inquiry without 'id'", where, line)
    lang = obj.get("language")
    return Inquiry(
        id=iid, text=text.strip(),
        language=_language(lang, text, where, line) if lang else None,
        expected_article=_opt_str(obj.get("expected_article"), "expected_article", where, line),
        labelled="expected_article" in obj,
    )


def check_expected_articles(inquiries: Iterable[Inquiry], articles: Iterable[str], where: str) -> None:
    """Refuse labelled inquiries that expect an article the help center does not have (a typo in the id,
    or an article deleted since labelling): each would count as a question its article can never answer."""
    known = set(articles)
    unknown = [q for q in inquiries if q.expected_article is not None and q.expected_article not in known]
    if not unknown:
        return

    def named(q: Inquiry) -> str:
        near = difflib.get_close_matches(q.expected_article, known, n=1)
        return f"{q.id} -> {q.expected_article!r}" + (f" (did you mean {near[0]!r}?)" if near else "")

    shown = "; ".join(named(q) for q in unknown[:3]) + (f"; and {len(unknown) - 3} more" if len(unknown) > 3 else "")
    many = "inquiries expect" if len(unknown) > 1 else "inquiry expects"
    raise InputError(f"{len(unknown)} labelled {many} an article the help center does not have: {shown}",
                     where, hint="Correct the article ids in the file, or ingest those articles first.")


def _utf8_lines(stream: IO[str], where: str) -> Iterator[tuple[int, str]]:
    """(1-based number, text) of each line; bad bytes are refused with their line, whether the stream
    fails on them or (stdin) decodes them to lone surrogates."""
    lines, n = iter(stream), 0
    while True:
        try:
            line = next(lines)
            line.encode("utf-8")
        except StopIteration:
            return
        except (UnicodeDecodeError, UnicodeEncodeError) as exc:
            raise InputError("not UTF-8 text", where, n + 1, hint=UTF8_HINT) from exc
        n += 1
        yield n, line


def read_inquiries(source: str | Path | IO[str], require_labels: bool = False) -> list[Inquiry]:
    """Parse inquiry lines (JSONL) from a path or an open text stream."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise InputError("no such file", str(path))
        stream: IO[str] = io.StringIO(read_text(path))   # exact line of bad bytes; a BOM is no JSON
        where = str(path)
    else:
        stream, where = source, "<stdin>"
    inquiries: list[Inquiry] = []
    seen_ids: dict[str, int] = {}
    seen_texts: dict[str, tuple[int, str | None]] = {}
    with stream if isinstance(source, (str, Path)) else contextlib.nullcontext(stream):
        for n, line in _utf8_lines(stream, where):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"not valid JSON ({exc.msg})", where, n, hint=INQUIRY_LINE_HINT) from exc
            if not isinstance(obj, dict):
                raise InputError("each line must be a JSON object", where, n)
            inquiry = parse_inquiry(obj, where, n, auto_id=f"line-{n}")
            if require_labels:
                _check_label(inquiry, obj, where, n, seen_ids, seen_texts)
            inquiries.append(inquiry)
    return inquiries


def _check_label(inquiry: Inquiry, obj: dict, where: str, line: int, ids: dict[str, int],
                 texts: dict[str, tuple[int, str | None]]) -> None:
    """A labelled line must say its article (null: none), once per id, and the same for the same text: a
    blank label (a row not reviewed yet) would count as "no article", a repeated id drops a row, and two
    labels for one text teach the decision both."""
    if not inquiry.labelled:
        raise InputError("labelled set needs 'expected_article' (null when not covered)", where, line)
    if isinstance(obj.get("expected_article"), str) and not inquiry.expected_article:
        raise InputError("'expected_article' is blank", where, line,
                         hint="Write the article's id, or null for a question no article answers.")
    if inquiry.id in ids:
        raise InputError(f"duplicate id {inquiry.id!r} (first on line {ids[inquiry.id]})", where, line)
    ids[inquiry.id] = line
    key = " ".join(inquiry.text.casefold().split())
    if key in texts and texts[key][1] != inquiry.expected_article:
        raise InputError(f"the same question is labelled {texts[key][1]!r} on line {texts[key][0]} and "
                         f"{inquiry.expected_article!r} here", where, line, hint="Keep one of the two labels.")
    texts.setdefault(key, (line, inquiry.expected_article))
