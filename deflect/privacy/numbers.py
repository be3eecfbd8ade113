"""Detectors for self-identifying values: e-mail addresses, phone numbers, IBANs and payment cards.

Candidates are found loosely and then validated by libraries (``phonenumbers``, ``stdnum.iban``,
``stdnum.luhn``), so dates, amounts, article numbers and the like are rejected by checksum or numbering
plan rather than by ever more regular expressions.
"""
from __future__ import annotations

import re

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher
from stdnum import iban as stdnum_iban
from stdnum import luhn

from .findings import Finding, make

PHONE_REGIONS: tuple[str, ...] = ("DE", "AT", "CH", "GB", "US")

EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")
# Written to dodge spam bots: "hans (at) web.de", "hans[at]web[dot]de".
_AT, _DOT = r"[ ]?[(\[{][ ]?at[ ]?[)\]}][ ]?", r"(?:\.|[ ]?[(\[{][ ]?dot[ ]?[)\]}][ ]?)"
EMAIL_SPELLED = re.compile(rf"(?i)(?<![\w.%+-])[\w.%+-]+{_AT}[\w-]+(?:{_DOT}[\w-]+)*{_DOT}[^\W\d_]{{2,}}(?![\w-])")
# Numbers after these labels are codes of things, not phone numbers ("Artikelnummer 0171234567").
_THING_LABEL = re.compile(r"(?i)\b(?:artikel|produkt|gutschein|rätsel|raetsel|serien|ausgabe|seite|item|product|"
                          r"voucher|coupon|serial)\w*[ \t]*(?:nr\.?|nummer|code|no\.?|number|#)?[ \t]*[:#]?[ \t]*$")

# phonenumbers already rejects slash dates and times; these catch what its matcher lets through.
_DATE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\.?")
_DATE_FIRST = re.compile(r"\d{1,2}\.\d{1,2}\.(?:\d{4}|\d{2})(?!\d)")   # "03.11.2025 10:00": a date, then the time
_FRACTION = re.compile(r"(?<![\d.])0\.\d")
_US_SHAPE = re.compile(r"\(?\d{3}\)?[ .-]?\d{3}[ .-]\d{4}")
_CURRENCY = re.compile(r"^\s*(?:€|EUR|Euro|\$|USD|£|GBP|CHF|%)", re.I)
_CURRENCY_BEFORE = re.compile(r"(?:€|EUR|\$|USD|£|GBP|CHF)\s*$", re.I)

_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?=[ -]?[A-Za-z0-9])")
_IBAN_BODY = re.compile(r"(?:[ -]?[A-Za-z0-9]){11,32}")
_IBAN_LABEL = re.compile(r"(?i:\biban)[ \t]*(?:[:=]|-(?!\w)|\b(?:lautet|ist|is)\b)?[ \t]*$")
_CARD = re.compile(r"(?<![\d/-])(?<!\d[.,])\d(?:[ -]?\d){12,18}(?!\d|[.,/-]\d)")


def find_emails(text: str) -> list[Finding]:
    """E-mail addresses (any case), also spelled with (at) and (dot)."""
    return [Finding(m.start(), m.end(), "email", m.group()) for pattern in (EMAIL, EMAIL_SPELLED)
            for m in pattern.finditer(text)]


def _phone_ok(text: str, raw: str, start: int, end: int, number: phonenumbers.PhoneNumber, region: str) -> bool:
    digits = re.sub(r"\D", "", raw)
    if (start and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum()):
        return False  # part of a longer token: "RZ0012345678" is a mandate reference
    if len(digits) < 7 or _DATE.fullmatch(raw) or _DATE_FIRST.match(raw) or _CURRENCY.match(text[end:end + 5]):
        return False
    if "," in raw or _FRACTION.search(raw):
        return False  # "0.867 / 0.50", "12,99": figures in a table, not a phone number
    if _CURRENCY_BEFORE.search(text[max(0, start - 5):start]):
        return False
    if _THING_LABEL.search(text[max(0, start - 30):start]):
        return False
    international = raw.startswith(("+", "00"))
    if international:
        # "+44 7700 900123": a country code is strong evidence even where the numbering plan is unsure.
        return phonenumbers.is_possible_number(number)
    if not phonenumbers.is_valid_number(number):
        return False
    if region == "US":
        # Without "+1" only the usual US shape counts; a bare 10-digit run is more often an order number.
        return bool(_US_SHAPE.fullmatch(raw))
    # In Europe national numbers are written with the trunk prefix (0171 …, (030) …); a number without it
    # is a customer, article or order number, not a phone number.
    return raw.startswith(("0", "(0"))


def find_phones(text: str, regions: tuple[str, ...] = PHONE_REGIONS) -> list[Finding]:
    """Phone numbers valid in one of ``regions`` (or with an explicit international prefix)."""
    seen: dict[tuple[int, int], Finding] = {}
    if sum(ch.isdigit() for ch in text) < 7:
        return []  # the matcher is the slowest detector; most texts hold no number long enough
    for region in regions:
        for m in PhoneNumberMatcher(text, region, leniency=Leniency.POSSIBLE):
            key = (m.start, m.end)
            if key not in seen and _phone_ok(text, m.raw_string, m.start, m.end, m.number, region):
                seen[key] = Finding(m.start, m.end, "phone", m.raw_string)
    return sorted(seen.values())


def phone_key(value: str, regions: tuple[str, ...] = PHONE_REGIONS) -> str | None:
    """E.164 form of a phone number written in any of ``regions`` (``None`` if it is none)."""
    for region in regions:
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def _iban_ok(value: str, labelled: bool) -> bool:
    """A valid IBAN; after an "IBAN" label also one whose only fault is its checksum (a typo in the
    customer's own IBAN is still their IBAN)."""
    if stdnum_iban.is_valid(value):
        return True
    if not labelled:
        return False
    number = stdnum_iban.compact(value)
    if len(number) < 5 or not number.isalnum():
        return False
    # with the right check digits it would be valid: country, length and structure fit
    return stdnum_iban.is_valid(number[:2] + stdnum_iban.calc_check_digits(number) + number[4:])


def find_ibans(text: str) -> list[Finding]:
    """IBANs in any case, grouped by spaces or dashes or not, validated by country length and checksum."""
    out: list[Finding] = []
    pos = 0
    while (m := _IBAN_START.search(text, pos)) is not None:
        body = _IBAN_BODY.match(text, m.end())
        found = None
        if body is not None:
            raw = text[m.start():body.end()]
            labelled = _IBAN_LABEL.search(text, max(0, m.start() - 16), m.start()) is not None
            # The body may run on into the next word ("… 3249 31 BIC"); try the longest valid prefix.
            ends = [i + 1 for i, ch in enumerate(raw) if ch not in " -"]
            for end in reversed(ends):
                if end >= 15 and _iban_ok(raw[:end], labelled):
                    found = Finding(m.start(), m.start() + end, "iban", raw[:end])
                    break
        if found is not None:
            out.append(found)
            pos = found.end
        else:
            pos = m.start() + 1
    return out


def find_cards(text: str) -> list[Finding]:
    """Payment card numbers: 13-19 digits, a card network prefix and a valid Luhn checksum."""
    out: list[Finding] = []
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and len(set(digits)) > 1 and luhn.is_valid(digits):
            f = make(text, "card", m.start(), m.end())
            if f is not None:
                out.append(f)
    return out
