"""Values not (yet) whole: an e-mail address, IBAN or card number cut off or mistyped.

The widget asks while the customer types, and each pause logs what was typed so far, so
"Antwort bitte an renate.krueger@t-onl" and "Meine IBAN ist DE89 3704 0044" reach the store. No
validator accepts such a value, and the detectors of whole values (``numbers``) rightly insist on one.
These shapes are told by what no other text has: an "@" right after a word, an IBAN country code with
check digits and a long run of digits after a word of banking ("IBAN", "Konto", "Lastschrift": without one,
"CH12-3456-7890" is as likely an error code and "GB12 3456 7890" a parcel's), a long number right after the
word for a payment card.
"""
from __future__ import annotations

import functools
import re
import string

from .findings import Finding, make

_EMAIL_PART = re.compile(r"(?<![\w.%+-])[\w.%+-]*[^\W\d_][\w.%+-]*@[\w-]*(?:\.[\w-]+)*")
_IBAN_PART = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})\d{2}((?:[ -]?[A-Za-z0-9]){8,30})(?![A-Za-z0-9])")
_BANKING = re.compile(r"(?i:\b(?:iban|konto\w*|bankverbindung|lastschrift\w*|überweisung|ueberweisung|sepa"
                      r"|bank\s?details|account|direct\s?debit)\b)")
BANKING_BEFORE = 40        # characters before an IBAN in which its banking word stands
MIN_IBAN_DIGITS = 8        # after the check digits: fewer are an article or plan code's
_CARD_PART = re.compile(
    r"(?i:\b(?:kredit|debit|bank|ec|giro)?-?karte(?:n(?:nummer|nr\.?))?|\b(?:credit|debit)?[ ]?card(?:[ ]number)?"
    r"|\bvisa|\bmastercard|\bamex)\b[ \t]*(?:[:#]|\b(?:ist|lautet|is|nr\.?|no\.?|number)\b)?[ \t]*"
    r"(\d(?:[ -]?\d){9,18})(?![\d])")   # ten digits or more: "Visa 2024-03-12" is a date


@functools.cache
def iban_lengths() -> dict[str, int]:
    """The length of a whole IBAN per country code it can start with (python-stdnum's registry)."""
    from stdnum import numdb

    db = numdb.get("iban")
    out = {}
    for cc in (a + b for a in string.ascii_uppercase for b in string.ascii_uppercase):
        info = db.info(cc + "00")
        if info and info[0][1].get("bban"):
            out[cc] = 4 + sum(int(n) for n in re.findall(r"(\d+)!?[nac]", info[0][1]["bban"]))
    return out


def _iban_part(m: re.Match) -> tuple[int, int] | None:
    """Where an IBAN cut off while typed lies in ``m``: groups up to the last one with a digit, shorter than
    the country's IBAN (a whole one with a wrong checksum is some other reference) and with enough digits."""
    country = m.group(1)
    length = iban_lengths().get(country.upper())
    if length is None or not (country.isupper() or country.islower()) or \
            not _BANKING.search(m.string, max(0, m.start() - BANKING_BEFORE), m.start()):
        return None
    last_digit = max((i for i, ch in enumerate(m.group(2)) if ch.isdigit()), default=-1)
    end = m.start(2) + last_digit + 1
    value = re.sub(r"[ -]", "", m.string[m.start():end])
    if len(value) >= length or sum(ch.isdigit() for ch in value[4:]) < MIN_IBAN_DIGITS:
        return None
    return m.start(), end


def find_unfinished(text: str) -> list[Finding]:
    """E-mail addresses, IBANs and card numbers typed in part (or mistyped): see the module docstring."""
    out = [Finding(m.start(), m.end(), "email", m.group()) for m in _EMAIL_PART.finditer(text)] if "@" in text else []
    if sum(ch.isdigit() for ch in text) < MIN_IBAN_DIGITS:
        return out
    for m in _IBAN_PART.finditer(text):
        span = _iban_part(m)
        if span is not None:
            out.append(Finding(span[0], span[1], "iban", text[span[0]:span[1]]))
    for m in _CARD_PART.finditer(text):
        f = make(text, "card", m.start(1), m.end(1))
        if f is not None:
            out.append(f)
    return out
