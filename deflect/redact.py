"""Remove personal data (e-mail addresses, phone numbers, IBANs, card numbers) from free text."""
from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
PHONE = re.compile(r"(?<![\w+])(?:\+|00|\(0)?\d[\d ()/.-]{6,}\d(?!\w)")

PLACEHOLDERS = {"email": "[E-MAIL]", "iban": "[IBAN]", "card": "[CARD]", "phone": "[PHONE]"}


def _luhn_ok(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for i, ch in enumerate(digits):
        d = int(ch)
        if i % 2 == parity:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group())
    return PLACEHOLDERS["card"] if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group()


def _phone(match: re.Match) -> str:
    text = match.group()
    digits = re.sub(r"\D", "", text)
    # Dates (12.03.2026), amounts and short numbers are not phone numbers.
    if len(digits) < 7 or re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{2,4}", text):
        return text
    if not text.startswith(("+", "0", "(0")):  # phone numbers are written with +49, 0049 or 0…
        return text
    return PLACEHOLDERS["phone"]


def redact(text: str | None) -> str:
    """Return ``text`` with personal data replaced by placeholders such as ``[E-MAIL]``."""
    if not text:
        return text or ""
    text = EMAIL.sub(PLACEHOLDERS["email"], text)
    text = IBAN.sub(PLACEHOLDERS["iban"], text)
    text = CARD.sub(_card, text)
    return PHONE.sub(_phone, text)
