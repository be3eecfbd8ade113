"""Exact values the caller already knows: the ticket's own fields (``known``) and the company's own
contact data that must stay (``AllowList``)."""
from __future__ import annotations

import re
from collections.abc import Iterable

from stdnum import iban as stdnum_iban
from stdnum import luhn

from . import lexicon as lx
from .findings import Finding
from .numbers import EMAIL, phone_key

_SEPARATORS = r"[\s./()\-–]*"


def _digits_pattern(value: str) -> str:
    """Match ``value``'s letters and digits with any separators between them ("0176/99887766")."""
    chars = [re.escape(ch) for ch in value if ch.isalnum()]
    return _SEPARATORS.join(chars)


# A German letter as a customer without it types it ("Jürgen Müller" -> "juergen mueller", "Jurgen Muller").
_SPELLED = {"ä": "(?:ä|ae|a)", "ö": "(?:ö|oe|o)", "ü": "(?:ü|ue|u)", "ß": "(?:ß|ss)"}


def _spelling(word: str) -> str:
    return "".join(_SPELLED.get(c.lower(), re.escape(c)) for c in word)


def _words_pattern(value: str) -> str:
    """Match ``value``'s words with any whitespace or light punctuation between them, umlauts also as
    they are typed without them."""
    return r"[\s,.\-]+".join(_spelling(w) for w in re.findall(r"[^\s,]+", value))


def classify(value: str) -> str:
    """The kind of a known field value: e-mail, IBAN, card, phone, customer ID, address or name."""
    compact = re.sub(r"[\s./()\-]", "", value)
    if EMAIL.fullmatch(value.strip()):
        return "email"
    if stdnum_iban.is_valid(value):
        return "iban"
    if compact.isdigit() and 13 <= len(compact) <= 19 and luhn.is_valid(compact):
        return "card"
    if compact.lstrip("+").isdigit() and len(compact) >= 6 and phone_key(value):
        return "phone"
    if any(ch.isdigit() for ch in value):
        letters = sum(ch.isalpha() for ch in value)
        return "address" if letters >= 4 and " " in value.strip() else "customer_id"
    return "name"


def _name_parts(name: str) -> list[str]:
    """The words of a name that identify the person on their own ("Meier" of "Hans Meier")."""
    parts = []
    for word in re.findall(r"[^\W_][\w'’-]*", name):
        low = word.lower().rstrip(".")
        if len(low) >= 2 and low not in lx.PARTICLES and low not in lx.SALUTATIONS and low not in lx.TITLES:
            parts.append(word)
    return parts


def find_known(text: str, known: Iterable[str]) -> list[Finding]:
    """Occurrences of the ticket's own field values, and of each part of a known name."""
    out: list[Finding] = []
    for value in known:
        value = (value or "").strip()
        if len(value) < 2:
            continue
        kind = classify(value)
        if kind in ("phone", "iban", "card", "customer_id"):
            pattern = rf"(?<![\w+]){_digits_pattern(value)}(?!\w)"
        else:
            pattern = rf"(?<![\w.-]){_words_pattern(value)}(?![\w-])"
        for m in re.finditer(pattern, text, re.I):
            out.append(Finding(m.start(), m.end(), kind, m.group()))
        if kind == "name":
            for part in _name_parts(value):
                # Parts are matched only where capitalised as a name is: the part "Post" of "Hans Post"
                # must not take the word "post". The whole name matches in any case (above).
                for m in re.finditer(rf"(?<![\w-]){_spelling(part)}(?![\w-])", text, re.I):
                    if m.group()[0].isupper() or lx.is_first_name(text[m.start():m.end()]):
                        out.append(Finding(m.start(), m.end(), "name", m.group()))
    return out


def _normal(value: str) -> str:
    return re.sub(r"[\W_]+", "", value.lower())


class AllowList:
    """The company's own numbers, addresses and e-mail addresses: findings on them are kept verbatim.

    Values are compared after normalisation (case, whitespace and punctuation; phone numbers as E.164, so
    "0800 123 456 7" also allows "+49 800 1234567"). Comma- or line-separated parts of an entry
    ("Pressehausweg 1, 56068 Koblenz") are allowed on their own too; an entry "@example.org" allows every
    e-mail address of that domain.
    """

    def __init__(self, entries: Iterable[str] = ()):
        self.entries = [e.strip() for e in entries if e and e.strip()]
        # "@rheinblick.example": every address of the company's own mail domain.
        self._domains = tuple(e.lower() for e in self.entries if e.startswith("@") and "." in e)
        values = {e for e in self.entries if not e.startswith("@")}
        for entry in self.entries:
            values.update(p.strip() for p in re.split(r"[,;\n]", entry) if len(_normal(p)) >= 5)
        self._normal = {_normal(v) for v in values}
        self._phones = {k for v in values if (k := phone_key(v)) is not None and sum(c.isdigit() for c in v) >= 6}
        patterns = []
        for v in sorted(values, key=len, reverse=True):
            body = _digits_pattern(v) if classify(v) in ("phone", "customer_id") else _words_pattern(v)
            patterns.append(rf"(?<![\w]){body}(?!\w)")
        self._pattern = re.compile("|".join(patterns), re.I) if patterns else None

    def __bool__(self) -> bool:
        return bool(self.entries)

    def protected(self, text: str) -> list[tuple[int, int]]:
        """Spans of ``text`` that are allowed values."""
        if self._pattern is None:
            return []
        return [(m.start(), m.end()) for m in self._pattern.finditer(text)]

    def allows(self, finding: Finding, protected: list[tuple[int, int]]) -> bool:
        """Whether ``finding`` is (part of) an allowed value and must stay."""
        if any(finding.start < e and s < finding.end for s, e in protected):
            return True
        if _normal(finding.text) in self._normal:
            return True
        if finding.kind == "email" and finding.text.lower().endswith(self._domains):
            return True
        return finding.kind == "phone" and phone_key(finding.text) in self._phones
