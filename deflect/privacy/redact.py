"""``Redactor``: find personal data in free text and replace it with placeholders such as ``[NAME]``."""
from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from deflect.settings import from_env

from . import lexicon as lx
from .addresses import find_postcodes, find_streets
from .findings import Finding, apply, resolve
from .known import AllowList, find_known
from .labelled import find_birth_dates, find_customer_ids, find_id_numbers, find_secrets
from .names import find_names
from .numbers import PHONE_REGIONS, find_cards, find_emails, find_ibans, find_phones
from .unfinished import find_unfinished


class Redactor:
    """Detects e-mail addresses, phone numbers, IBANs, card numbers, names, postal addresses, customer and
    contract numbers, dates of birth, tax/ID numbers and passwords or PINs in German and English text.

    ``allow``: the company's own numbers, addresses and e-mail addresses, kept verbatim wherever they
    appear (compared after normalising case, whitespace and punctuation; phone numbers by E.164).
    """

    CLEAN_MEMORY = 4096   # texts found free of personal data, remembered (then forgotten all at once)

    def __init__(self, allow: Iterable[str] = (), phone_regions: Iterable[str] = PHONE_REGIONS,
                 patterns: Iterable[str] = ()):
        self.allow = AllowList([allow] if isinstance(allow, str) else allow)
        self.phone_regions = tuple(phone_regions)
        # the team's own number formats (setting privacy_patterns): found wherever they stand, labelled or not
        self.pattern_texts = list(patterns)
        self.patterns = [re.compile(rf"(?<![\w-])(?:{p})(?![\w-])") for p in self.pattern_texts]
        # Texts in which nothing was found: redacting them again (a logged inquiry is redacted by the
        # API and again by the store; a frequent question comes back) costs a dict lookup. Only texts
        # without personal data are kept, so the memory holds none.
        self._clean: dict[str, None] = {}

    def find(self, text: str | None, known: Iterable[str] = ()) -> list[Finding]:
        """Non-overlapping findings in text order. ``known``: exact field values of the ticket (customer
        name, e-mail, phone), removed wherever they occur; for a name also each of its parts."""
        if not text:
            return []
        if isinstance(known, str):
            known = (known,)  # a single value, not its characters
        streets = find_streets(text)
        candidates: list[Finding] = [
            *find_emails(text),
            *find_ibans(text),
            *find_cards(text),
            *find_phones(text, self.phone_regions),
            *find_customer_ids(text),
            *find_birth_dates(text),
            *find_id_numbers(text),
            *find_secrets(text),
            *streets,
            *find_postcodes(text, streets),
            *find_names(text, streets),
            *find_known(text, known),
            *find_unfinished(text),
            *(Finding(m.start(), m.end(), "customer_id", m.group()) for p in self.patterns for m in p.finditer(text)
              if m.end() > m.start()),
        ]
        if self.allow:
            protected = self.allow.protected(text)
            candidates = [f for f in candidates if not self.allow.allows(f, protected)]
        found = resolve(candidates, text)
        # A name found once (in the signature, after "Ich heiße") is the same person where it comes back
        # alone: "Die Zeitung für Wagner … Sabine Wagner".
        names = list(dict.fromkeys(f.text for f in found if f.kind == "name"))   # each name looked for once
        if names:
            again = [Finding(f.start, f.end, "name", f.text) for f in find_known(text, names)
                     if f.text.lower() not in lx.NOT_NAMES]
            if self.allow:
                again = [f for f in again if not self.allow.allows(f, protected)]
            found = resolve(found + again, text)
        return found

    def redact(self, text: str | None, known: Iterable[str] = ()) -> str:
        """``text`` with every finding replaced by its placeholder; ``None`` becomes ``""``."""
        if not text:
            return ""
        if known == () and text in self._clean:
            return text
        redacted = apply(text, self.find(text, known))
        if known == () and redacted == text:
            if len(self._clean) >= self.CLEAN_MEMORY:
                self._clean.clear()
            self._clean[text] = None
        return redacted


@functools.lru_cache(maxsize=1)
def default_redactor() -> Redactor:
    """The process's redactor with the allow-list of the ``privacy_allow`` setting (read once). It is
    stateless after construction, so one shared instance is safe across threads."""
    return Redactor(from_env("privacy_allow"), patterns=from_env("privacy_patterns"))


def redact(text: str | None, known: Iterable[str] = (), allow: Iterable[str] = ()) -> str:
    """``text`` with personal data replaced; ``allow`` adds to the default allow-list (``None`` → ``""``)."""
    allow = (allow,) if isinstance(allow, str) else tuple(allow)
    if allow:
        base = default_redactor()
        return Redactor([*base.allow.entries, *allow], base.phone_regions, base.pattern_texts).redact(text, known)
    return default_redactor().redact(text, known)
