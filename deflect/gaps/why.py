"""Why a covered question was not found: one reason per phrasing of the "not found although covered"
list, with its evidence and the fix.

- ``new``: the article is younger than the inquiry (nothing to fix; shown greyed);
- ``language``: the article has no version in the customer's language (translate it; its
  other-language version is named);
- ``sibling``: another article outranked it (sharpen both; the sibling is named);
- ``wording``: it came first but the customer's words are not in the article nor its questions (add
  the phrasing as a question; the missing words are shown);
- ``doubt``: it came first with the customer's words in it, but below the answer threshold (add the
  phrasing; the confidence is shown).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from deflect.clock import parse_time
from deflect.gaps.model import NotFound, Why
from deflect.language import NAMES, detect_language
from deflect.privacy import PLACEHOLDERS
from deflect.text import STOP_WORDS

REASONS = ("wording", "language", "sibling", "doubt", "new")
MISSING_SHARE = 0.5         # at least this share of the customer's words missing: a wording problem
_WORD = re.compile(r"(?u)[^\W\d_][\w-]{2,}")
_EXTRA_STOP = frozenset("""ich mich mir mein meine meinen meiner bitte gerne kann können möchte moechte will
wie was wo wann warum wieso gibt habe haben hat bin ist sind noch schon auch nicht kein keine immer
the and you your can could would how what where when why have has does with from this that for not
gruß grüße gruss gruesse viele liebe freundlichen regards thanks""".split())


@dataclass
class ArticleFacts:
    """What a reason is read from, per article."""
    title: str
    language: str | None
    created_at: str | None
    stems: set[str]             # word stems of its title, questions and body


def _stems(text: str) -> list[str]:
    out = []
    for w in _WORD.findall(text.lower()):
        if w in STOP_WORDS or w in _EXTRA_STOP:
            continue
        out.append(w[:5])
    return out


def article_facts(articles) -> dict[str, ArticleFacts]:
    """Per article id, its title, language, age and vocabulary."""
    return {a.id: ArticleFacts(a.title, (a.language or "").lower()[:2] or None, getattr(a, "created_at", None),
                               set(_stems(" ".join([a.title, *a.questions, a.body or ""]))))
            for a in articles}


# What redaction left in a text: its placeholders ("[PHONE]") and a label just before one ("Tel. [PHONE]",
# "IBAN: [IBAN]": a word ending in "." or ":", or one of _LABELS), which are no words of the customer's
# question ("Abo kündigen [CUSTOMER-ID]" keeps "kündigen").
_LABELS = r"iban|tel|telefon|phone|fax|handy|mobil|e-?mail|mail|kundennummer|kd-?nr|nr|no|name"
_REDACTED = re.compile(r"(?i:(?:(?:\b[^\W\d_][\w-]*[.:]|\b(?:" + _LABELS + r")\b)[ \t]*)?)\[(?:" + "|".join(
    re.escape(p.strip("[]")) for p in PLACEHOLDERS.values()) + r")\]")


def missing_words(text: str, facts: ArticleFacts) -> tuple[list[str], float]:
    """The customer's content words that the article lacks, and their share of all its content words."""
    text = _REDACTED.sub(" ", text)
    words = [w for w in _WORD.findall(text) if w.lower() not in STOP_WORDS and w.lower() not in _EXTRA_STOP]
    if not words:
        return [], 0.0
    missing = list(dict.fromkeys(w for w in words if w.lower()[:5] not in facts.stems))
    return missing[:8], len([w for w in words if w.lower()[:5] not in facts.stems]) / len(words)


def explain(text: str, inquiry: str, language: str | None, created_at: str | None, target: str,
            first: str | None, confidence: float | None, facts: dict[str, ArticleFacts],
            created: dict[str, str | None] | None = None) -> Why:
    """The reason ``target`` was not found for one phrasing (``first``: the article the engine put
    first, ``confidence``: its confidence then)."""
    art = facts[target]
    born, asked = parse_time((created or {}).get(target) or art.created_at), parse_time(created_at)
    if born and asked and born > asked:
        return Why(text, inquiry, "new", fix="", greyed=True)
    lang = (language or detect_language(text, default="")).lower()[:2]
    if lang and art.language and lang != art.language:
        return Why(text, inquiry, "language", fix=f"Translate “{art.title}” into {NAMES.get(lang, (lang,))[0]}.",
                   twin=target, twin_title=art.title)
    if first and first != target and first in facts:
        return Why(text, inquiry, "sibling", sibling=first, sibling_title=facts[first].title,
                   fix=f"Sharpen the titles and questions of “{art.title}” and “{facts[first].title}”.")
    missing, share = missing_words(text, art)
    if first == target and share < MISSING_SHARE and confidence is not None:
        return Why(text, inquiry, "doubt", fix="Add the phrasing as a question.",
                   confidence=round(float(confidence), 3))
    return Why(text, inquiry, "wording", fix="Add the phrasing as a question.", missing_words=missing,
               confidence=None if confidence is None else round(float(confidence), 3))


def reason_counts(groups: list[NotFound]) -> dict[str, int]:
    """Phrasings per reason over the whole list (every reason present, most first)."""
    counts = Counter(w.reason for g in groups for w in g.why)
    return {r: counts.get(r, 0) for r in sorted(REASONS, key=lambda r: (-counts.get(r, 0), REASONS.index(r)))}
