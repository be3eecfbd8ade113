"""Postal addresses: street + house number, and postcode + town (Germany, Austria, Switzerland, UK, US).

Each part is reported as its own ``address`` finding ("Lindenallee 6", "80331 München"), so the separator
between them stays and the placeholder covers exactly the personal part.
"""
from __future__ import annotations

import re

from stdnum.at import postleitzahl as at_postcode

from . import lexicon as lx
from .findings import Finding, make

_L = r"[^\W\d_]"                                   # any letter, umlauts included
_WORD = rf"{_L}+(?:['’.-]{_L}+)*\.?"               # "Karl-Marx-Str.", "Queen's"
# A house number, not the start of a list or range ("Seite 3 und 4", "Gebiete 56 bis 57").
# Austrian addresses add stair and door: "Mariahilfer Straße 12/3/14".
_HOUSE = (r"\d{1,3}(?:\s?[a-zA-Z](?![\w]))?(?:\s?[-–/]\s?\d{1,4}[a-zA-Z]?){0,3}(?![\d.,/]\d|\w)"
          r"(?![ ](?:und|bis|oder|and|or|to)[ ]\d)")

# German style: up to four words, then the house number ("Heinrich-Heine-Allee 5", "Am Markt 3").
_DE_STREET = re.compile(rf"(?<![\w-])((?:{_WORD}[ ]){{0,3}}{_WORD})(?:[ ]|(?<=\.)(?=\d))({_HOUSE})")   # "Hauptstr.12"
_PO_BOX = re.compile(r"(?i:\bpostfach|\bp\.?\s?o\.?\s?box)[ \t]*:?[ \t]*(\d{1,6}(?:[ ]\d{2,4}){0,3})(?!\d)")
# English style: house number first ("221B Baker Street", "Flat 3, 27 Victoria Road").
_EN_SUFFIX = "|".join(re.escape(w.capitalize()) + ("" if w.endswith(".") else r"\b")
                      for w in sorted(lx.EN_STREET_WORDS, key=len, reverse=True))
_EN_STREET = re.compile(
    rf"(?<![\w-])(?:(?i:flat|apt\.?|apartment|unit|suite)[ ]\w{{1,4}},?[ ])?\d{{1,5}}[A-Za-z]?[ ]"
    rf"(?:(?:[A-Z]{_L}*(?:['’]{_L}+)?|\d{{1,3}}(?:st|nd|rd|th))[ ]){{1,3}}(?:{_EN_SUFFIX})"
    r"(?:[ ](?:NW|NE|SW|SE|N|S|E|W)\b)?")

_TOWN_WORD = rf"{_L}[\w'’-]*"
_TOWN = (rf"(?:(?:Bad|Sankt|St\.|Hansestadt)[ ])?{_TOWN_WORD}"
         rf"(?:[ ](?:am|an[ ]der|im|in[ ]der|ob[ ]der|bei|vor[ ]der)[ ]{_TOWN_WORD}|[ ]a\.[ ]?M\.)?"
         r"(?:[ ]?\([^()\n]{2,25}\))?")
_DE_POSTCODE = re.compile(rf"(?<![\w.,/-])(?:(D|A|CH)-[ ]?)?(\d{{4,5}})[ ]+({_TOWN})")
_UK_POSTCODE = re.compile(
    r"(?<![\w-])(?:([A-Z][a-z]+(?:[ -][A-Z][a-z]+)*),?[ ])?([A-Z]{1,2}\d[A-Z\d]?[ ]?\d[A-Z]{2})(?![\w])")
_EIRCODE = re.compile(r"(?<![\w-])([A-Z][a-z]+),?[ ]([AC-FHKNPRTV-Y]\d{2}|D6W)[ ]?[0-9AC-FHKNPRTV-Y]{4}(?![\w])")
_US_CITY = re.compile(r"(?<![\w-])((?:[A-Z][a-z]+[ ]){0,2}[A-Z][a-z]+),[ ]?([A-Z]{2})[ ]+(\d{5}(?:-\d{4})?)(?!\d)")


def _suffix(word: str) -> str | None:
    """``"compound"`` for "Lindenallee"/"Hauptstr.", ``"bare"`` for "Straße"/"Wall", else ``None``."""
    low = word.lower()
    if low in lx.NOT_STREET_NAMES:
        return None
    for suffix in lx.STRONG_STREET_SUFFIXES:
        if low.endswith(suffix):
            return "compound" if len(low) > len(suffix) + 1 else "bare"
    if not word[0].isupper():
        return None
    for suffix in lx.WEAK_STREET_SUFFIXES:
        if low.endswith(suffix):
            # "Achterberg" alone is a surname as often as a street; only in front of a number is it one.
            return "compound" if len(low) > len(suffix) + 1 else "bare"
    return None


def _street_start(words: list[str]) -> int | None:
    """Index of the first word of the street named by the end of ``words``, or ``None``."""
    lowered = [w.lower() for w in words]
    # "Am Markt", "An der Alster", "Unter den Linden": a prefix, then one or two capitalised words.
    for i in range(len(words) - 1):
        for prefix in lx.STREET_PREFIXES:
            parts = prefix.split()
            j = i + len(parts)
            if lowered[i:j] == parts and words[i][0].isupper() and 0 < len(words) - j <= 2:
                rest = words[j:]
                # Street names after a prefix are short ("Am Markt", "An der Alster"); a long word
                # is a noun of the sentence ("In den Postleitzahlgebieten 56 und 57").
                if all(w[0].isupper() and w.lower() not in lx.NOT_STREET_WORDS and len(w) <= 14 for w in rest):
                    return i
    kind = _suffix(words[-1])
    if kind == "compound":
        if not words[-1][0].isupper() and words[-1].lower().endswith(lx.WEAK_STREET_SUFFIXES):
            return None
        return len(words) - 1
    if kind == "bare" and len(words) > 1 and words[-2][0].isupper() and lowered[-2] not in lx.NOT_NAMES:
        return len(words) - 2  # "Berliner Straße", "Neuer Wall"
    return None


def _de_streets(text: str) -> list[Finding]:
    out: list[Finding] = []
    for m in _DE_STREET.finditer(text):
        words = m.group(1).split(" ")
        i = _street_start(words)
        if i is not None:
            start = m.start(1) + len(" ".join(words[:i])) + (1 if i else 0)
            f = make(text, "address", start, m.end())
            if f is not None:
                out.append(f)
    return out


def _en_streets(text: str) -> list[Finding]:
    return [f for m in _EN_STREET.finditer(text) if (f := make(text, "address", m.start(), m.end())) is not None]


def find_streets(text: str) -> list[Finding]:
    """Street + house number, German ("Lindenallee 6", "Am Markt 3") and English ("221B Baker Street"), and
    a post office box's number ("Postfach 10 12 34")."""
    boxes = [Finding(m.start(1), m.end(1), "address", m.group(1)) for m in _PO_BOX.finditer(text)]
    return _de_streets(text) + _en_streets(text) + boxes


def _town_plausible(text: str, m: re.Match, streets: list[Finding]) -> bool:
    prefix, code, town = m.group(1), m.group(2), m.group(3)
    first = town.split()[0].lower().rstrip(".,")
    if first in lx.NOT_TOWNS or first in lx.NOT_NAMES and first not in lx.CITIES:
        return False
    if prefix and (prefix == "D") != (len(code) == 5):
        return False  # "D-" goes with five digits, "A-" and "CH-" with four
    if len(code) == 4:
        # Austria has 4-digit postcodes (checked against the postal register in python-stdnum); Swiss
        # ones need the "CH-" prefix or a known town, since 4-digit numbers are often years or amounts.
        if prefix == "CH":
            return True
        if at_postcode.is_valid(code):
            location = str((at_postcode.info(code) or {}).get("location", "")).lower()
            if prefix == "A" or (location and location.split()[0].startswith(first[:4])):
                return True
        return prefix is None and first in lx.CITIES
    if prefix in ("D", None) and code[:2] == "00":
        return False
    if prefix or first in lx.CITIES:
        return True
    if not town[0].isupper() and not any(0 <= m.start() - s.end <= 3 for s in streets):
        return False
    before = text[max(0, m.start() - 40):m.start()]
    after = text[m.end():m.end() + 2]
    near_street = any(0 <= m.start() - s.end <= 40 for s in streets)
    at_boundary = after == "" or after[0] in ",.;:)\n\r!?" or after.startswith(" (")
    cue = re.search(r"(?i)\b(?:in|nach|aus|plz|postleitzahl|wohnort|ort)[: ]*$", before) is not None
    line_start = re.search(r"(?:^|\n)[ \t]*$", before) is not None
    return near_street or cue or (at_boundary and (line_start or before.rstrip().endswith(",")))


def find_postcodes(text: str, streets: list[Finding] | None = None) -> list[Finding]:
    """Postcode + town: "80331 München", "D-79098 Freiburg", "London SW1A 1AA", "Springfield, IL 62704"."""
    streets = find_streets(text) if streets is None else streets
    out: list[Finding] = []
    for m in _DE_POSTCODE.finditer(text):
        if _town_plausible(text, m, streets):
            f = make(text, "address", m.start(), m.end())
            if f is not None:
                out.append(f)
    for m in _UK_POSTCODE.finditer(text):
        # A bare postcode-shaped token ("A9 2BC") needs a town before it to count.
        start = m.start(1) if m.group(1) else m.start(2)
        if m.group(1) and m.group(1).lower() not in lx.NOT_NAMES:
            out.append(Finding(start, m.end(), "address", text[start:m.end()]))
        elif not m.group(1) and " " in m.group(2):
            out.append(Finding(m.start(2), m.end(), "address", m.group(2)))
    for m in _EIRCODE.finditer(text):
        out.append(Finding(m.start(), m.end(), "address", m.group()))
    for m in _US_CITY.finditer(text):
        if m.group(2).lower() in lx.US_STATES:
            out.append(Finding(m.start(), m.end(), "address", m.group()))
    return out


def find_addresses(text: str) -> list[Finding]:
    """All street and postcode/town findings in ``text``."""
    streets = find_streets(text)
    return streets + find_postcodes(text, streets)


def is_street_word(word: str) -> bool:
    """Whether ``word`` looks like a German street name on its own ("Ahornweg", "Hauptstr.")."""
    return word.lower().endswith(lx.STRONG_STREET_SUFFIXES)
