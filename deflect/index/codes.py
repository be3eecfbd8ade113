"""Codes in texts: error, product and tariff codes such as "E-409", "XL-24" or "P17".

The models read a code's digits as any number: "Was bedeutet Fehler E-409?" lay nearer to the E-402
article's question "Was bedeutet E-402?" than to the article titled "E-409: Anschluss gesperrt", and was
answered with E-402 at confidence 0.8. A code names one thing exactly, so an article whose texts hold a
code the inquiry names is ranked as if the inquiry were one of its own questions (``CODE_BONUS`` in the
engine). A code is a few letters and at least two digits, written together or with a hyphen; times
("8am"), decades ("70er") and words with a number ("24-Yard-Line") are none.
"""
from __future__ import annotations

import re

_CODE = re.compile(r"(?<![\w-])([A-Za-z]{1,4})-?(\d{2,6}[A-Za-z]?)(?![\w-])")
_NOT_CODES = {"am", "pm", "h", "min", "std", "kw", "cw", "no", "nr", "ca", "bis", "ab", "um", "vom", "the", "de", "en"}


def codes(text: str) -> frozenset[str]:
    """The codes ``text`` names, folded ("e-409", "E409" -> "E409")."""
    if not text or not any(ch.isdigit() for ch in text):
        return frozenset()
    return frozenset((m.group(1) + m.group(2)).upper() for m in _CODE.finditer(text)
                     if m.group(1).lower() not in _NOT_CODES)
