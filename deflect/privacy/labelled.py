"""Values recognised by their label: customer/contract/order/invoice numbers, dates of birth, tax and ID numbers,
licence plates.

Only the value is reported ("Kundennummer 77773" → "Kundennummer [CUSTOMER-ID]"): the label tells the
reader what was there, which keeps a redacted ticket useful. A number without a label is left alone unless
its format is distinctive and a python-stdnum validator confirms it (US SSN, UK NI number).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from stdnum.de import idnr, stnr
from stdnum.eu import vat
from stdnum.us import ssn

from deflect.text import STOP_WORDS

from .findings import Finding, make

# Between label and value: spaces, ":", "#", "(", "-", or a verb ("Kundennummer lautet 662001"). Each
# repetition starts with a non-space token, so the pattern cannot backtrack badly on long runs of spaces.
_SEP = r"[ \t]*(?:(?:[:#=(]|-(?!\w)|\b(?:lautet|lauten|ist|is|are|was|die|der|the)\b)[ \t]*)*"

# Short forms count as labels only before a long number ("Kd 445566", "Order 112233445"): "Order 3" is not one.
_CUSTOMER_LABEL = (
    r"(?i:\b(?:(?:kunden|vertrags|bestell|auftrags|rechnungs|abo(?:nnement)?s?|mitglieds|konto|buchungs"
    r"|reservierungs|vorgangs)[-\s]?){1,2}(?:nummer|nr\b\.?)|\bkd\.?-?\s?nr\b\.?|\bk\.?-?nr\b\.?"
    r"|\bmandats?-?referenz|\bmandate[ ]reference"
    r"|\b(?:rechnung|bestellung|buchung|auftrag|vertrag|reservierung)[ ](?:nr\b\.?|nummer)"
    r"|\b(?:kd|order|bestellung|booking)\b\.?(?=[ \t]*[:#]?[ \t]*[A-Z]{0,3}-?\d{5})"
    r"|\b(?:customer|cust\.?|account|acct\.?|order|contract|invoice|subscription|subscriber|member(?:ship)?"
    r"|booking|reservation)\s?(?:number|no\b\.?|nr\b\.?|#|id\b)|\border\s?#|\binvoice\s?#)"
)
# "55554", "KD-204711", "RE-2026-0042", "2026/1187", and digit groups written with spaces ("100 234 567",
# "VN 55 123", "2004 5566 77") of two to four digits each, so "Kundennummer 55554 12 Ausgaben" stops after
# 55554.
_CUSTOMER_VALUE = (r"#?((?:[A-Z]{1,5}[- ]?)?(?:\d{2,4}(?:[ ]\d{2,4}){1,3}|\d[\dA-Za-z]*(?:[-/][\dA-Za-z]+)*))"
                   r"(?![\w-])")
_CUSTOMER = re.compile(_CUSTOMER_LABEL + _SEP + _CUSTOMER_VALUE)
# Every business names its numbers its own way ("Abonnentennummer", "Leser-Nr.", "Zählernummer", "policy
# number", "reference no."): any such label counts before a value of at least ``_ANY_LABEL_DIGITS`` digits,
# but for numbers of things, not of people (pages, products, errors, issues) and phones (their own rule).
_NOT_PERSONAL = (r"telefon|handy|mobil|fax|ruf|haus|seite|seiten|artikel|produkt|modell|fehler|version|ausgabe"
                 r"|heft|hotline|service|phone|mobile|cell|telephone|page|item|product|model|error|issue|edition"
                 r"|house|part|serial|street")
# "policy no." needs its dot ("I have no 100000 euros"); a function word is no label ("the number", "die Nr.")
_ANY_LABEL = (rf"(?i:(?<![\w-])(?!(?:{_NOT_PERSONAL})(?:n|s|-)?(?:nummer|nr\b|[ ]))"
              r"(?:([^\W\d_]{3,})-?(?:nummer|nr\b\.?)|([^\W\d_]{3,})[ ](?:number|no\.|nr\b\.?|\#)))")
_ANY_LABEL_DIGITS = 5
_ANY_NUMBERED = re.compile(_ANY_LABEL + _SEP + _CUSTOMER_VALUE)

_MONTHS = (r"(?:jan(?:uar|uary)?|jänner|feb(?:ruar|ruary)?|mär(?:z)?|maerz|mar(?:ch)?|apr(?:il)?|mai|may|"
           r"jun[ei]?|jul[iy]?|aug(?:ust)?|sep(?:t(?:ember)?)?|o[ck]t(?:ober)?|nov(?:ember)?|de[cz](?:ember)?)")
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_DATE = (
    rf"(?i:\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}\.[ ]?\d{{1,2}}\.[ ]?(?:\d{{4}}|\d{{2}})|\d{{1,2}}[/-]\d{{1,2}}[/-]"
    rf"(?:\d{{4}}|\d{{2}})|{_DAY}\.?[ ](?:of[ ])?{_MONTHS}\.?,?[ ]\d{{2,4}}|{_MONTHS}\.?[ ]{_DAY},?[ ]\d{{4}})(?!\d)"
)
_DOB_LABEL = (r"(?i:\bgeboren(?:[ ]am)?|\bgeb\.(?:[ ]?am)?|\bgeburtsdatum|\bgeb\.?-?datum|\bgeburtstag"
              r"|\bborn(?:[ ]on)?|\bd\.?o\.?b\b\.?|\bdate[ ]of[ ]birth|\bbirth[ ]?date|\bbirthday)")
# An optional format hint may stand between label and date: "Geburtsdatum (TT.MM.JJJJ): 09.09.1999".
# ... or a verb: "Mein Geburtstag ist der 12. April 1961", "Geburtsdatum lautet 03.07.1985".
_DOB = re.compile(_DOB_LABEL + r"(?:[ \t]*\([^()\n]{1,20}\))?[ \t]*[:\-–]?[ \t]*"
                  r"(?:(?i:ist|lautet|war|is|was)[ \t]+)?(?:(?i:der|am|the|on)[ \t]+)?(" + _DATE + ")")
_DOB_AFTER = re.compile(r"(?i:\bam[ ])(" + _DATE + r")[ ]geboren\b")


def _plausible_birth_date(value: str) -> bool:
    """Whether ``value`` can be a real date (day/month in either order) between 1900 and this year."""
    numbers = [int(n) for n in re.findall(r"\d+", value)]
    if len(numbers) < 3:  # a month name stands in for one number
        return bool(re.search(r"(19|20)\d\d|\b\d\d$", value))
    if numbers[0] > 31:
        numbers = numbers[::-1]  # ISO: year first
    day, month, year = numbers[0], numbers[1], numbers[2]
    year += 1900 if year < 100 else 0
    for d, m in ((day, month), (month, day)):
        try:
            if 1900 <= date(year, m, d).year <= date.today().year:
                return True
        except ValueError:
            continue
    return False


# A vehicle's plate names its keeper: British "AB12 CDE", German "M-AB 1234" / "B XY 123E", Austrian "W-12345A".
_PLATE_LABEL = (r"(?<![\w-])(?:(?:(?:kfz\.?|pkw|lkw|fahrzeug|auto|wunsch|e)[- ]?|amtliche[sn]?[ ])?kennzeichen"
                r"|nummernschild)"
                r"|licen[cs]e[ ]plate(?:[ ](?:number|no\b\.?))?|number[ ]plate"
                r"|registration[ ](?:number|plate|no\b\.?)|\breg(?:istration)?\.?[ ]no\b\.?")
_PLATE = r"[A-Z]{2}\d{2}[ ]?[A-Z]{3}|[A-ZÄÖÜ]{1,3}[- ]?[A-Z]{1,2}[- ]?[1-9]\d{0,3}[EH]?|[A-Z]{1,2}[- ]\d{1,5}[A-Z]{1,2}"
# A few words after the label a plate follows a ':' or a verb ("Kennzeichen meines Autos ist M AB 1234"),
# or is written as one (with its hyphen, or British): without either, "KW 3" or "RE 2024" there are a
# calendar week and an invoice ("Kennzeichen ändern ab KW 3").
_PLATE_WRITTEN = (r"[A-Z]{2}\d{2}[ ]?[A-Z]{3}|[A-ZÄÖÜ]{1,3}-[A-Z]{1,2}[ -]?[1-9]\d{0,3}[EH]?"
                  r"|[A-Z]{1,2}-\d{1,5}[A-Z]{1,2}")

# What says the value comes now, a few words after its label: a ':' or a verb ("Kennzeichen meines Autos
# ist ...", "Passwort fürs E-Paper lautet ...").
_NAMED = r"(?:[ \t]*[:=][ \t]*|[ \t]+(?i:ist|lautet|war|is|was)[ \t]+)"

# (label, value shape, validator or None). A labelled value is redacted when its shape fits even if a
# checksum fails: a mistyped tax ID is still the customer's tax ID, and the label is strong evidence.
_ID_RULES: list[tuple[str, str, Callable[[str], bool] | None]] = [
    (r"steuer[-\s]?id(?:entifikationsnummer)?(?:[-\s]?nr\b\.?)?|steueridentifikationsnummer|"
     r"identifikationsnummer|\bidnr\b\.?|tax[ ]?id(?:entification)?(?:[ ](?:number|no\b\.?))?|\btin\b",
     r"\d{2,3}(?:[ ]?\d{2,3}){3,4}", idnr.is_valid),
    (r"steuer[-\s]?(?:nummer|nr\b\.?)|\bst\.?-?[ ]?nr\b\.?|\bstnr\b", r"\d{2,5}/\d{3,4}/\d{4,5}|\d{10,13}",
     stnr.is_valid),
    (r"ust[-.\s]?id(?:[-.\s]?nr\b\.?)?|ust[-\s]?idnr|umsatzsteuer[-\s]?(?:id(?:entifikationsnummer)?|nummer)"
     r"|\buid(?:[-\s]?(?:nummer|nr\b\.?))?|vat[ ]?(?:id|number|no\b\.?|reg(?:istration)?[ ](?:number|no\b\.?))",
     r"[A-Z]{2}[ ]?[0-9A-Z]{2,4}(?:[ ]?[0-9A-Z]{2,4}){1,4}", vat.is_valid),
    (r"(?:personal)?ausweis[-\s]?(?:nummer|nr\b\.?)|personalausweis|id[-\s]card[ ](?:number|no\b\.?)",
     r"(?=[A-Z]*\d)[A-Z0-9]{8,10}", None),
    (r"\b(?:reise)?pass[-\s]?(?:nummer|nr\b\.?)|\bpassport(?:[ ](?:number|no\b\.?|#))?",
     r"(?=[A-Z]*\d)[A-Z0-9]{6,10}", None),
    (r"\bssn\b|social[ ]security[ ](?:number|no\b\.?)", r"\d{3}-?\d{2}-?\d{4}", ssn.is_valid),
    (r"sozialversicherungs(?:nummer|nr\b\.?)|\bsv[-\s]?(?:nummer|nr\b\.?)|rentenversicherungs(?:nummer|nr\b\.?)",
     r"\d{2}[ ]?\d{6}[ ]?[A-Z][ ]?\d{3}", None),
    (r"\bni[ ](?:number|no\b\.?)|\bnino\b|national[ ]insurance(?:[ ](?:number|no\b\.?))?",
     r"[A-Z]{2}[ ]?\d{2}[ ]?\d{2}[ ]?\d{2}[ ]?[A-D]", None),
    (r"führerschein[-\s]?(?:nummer|nr\b\.?)|driver'?s?[ ]licen[cs]e(?:[ ](?:number|no\b\.?))?",
     r"(?=[A-Z]*\d)[A-Z0-9]{8,12}", None),
    (_PLATE_LABEL, _PLATE, None),
]
# Where a checksum confirms the value, a few words may stand between label and value ("USt-IdNr. der
# Firma: DE 136 695 976"); without one, the value must follow the label directly -- but for a plate written
# as one ("Kennzeichen des Zustellers: MYK-Z 4711").
_FILLER = r"(?:[ \t]*(?:[^\W\d_]+\.?|\([^()\n]{1,20}\))){0,3}?"
_ID_PATTERNS = [(re.compile(rf"(?i:{label})" + (_FILLER if check in (idnr.is_valid, vat.is_valid, ssn.is_valid) else "")
                            + _SEP + rf"({value})(?![\w-])"), check)
                for label, value, check in _ID_RULES]
_ID_PATTERNS += [(re.compile(rf"(?i:{_PLATE_LABEL}){_FILLER}{_NAMED}({_PLATE})(?![\w-])"), None),
                 (re.compile(rf"(?i:{_PLATE_LABEL}){_FILLER}{_SEP}({_PLATE_WRITTEN})(?![\w-])"), None)]

# Unlabelled, but distinctive and checkable: US SSN "536-90-4399", UK NI number "JG 10 37 95 B".
_SSN_BARE = re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])")
_NINO_BARE = re.compile(r"(?<![\w-])[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][ ]?\d{2}[ ]?\d{2}[ ]?\d{2}[ ]?[A-D](?![\w-])")
_NINO_BAD_PREFIX = {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}


# An order number in the form of the largest online shop, told without a label: "302-1234567-1234567".
_ORDER_BARE = re.compile(r"(?<![\w-])\d{3}-\d{7}-\d{7}(?![\w-])")
# What customers type to prove who they are: a password, PIN or card code after its label. Only a value
# with a digit or a sign counts ("Passwort vergessen", "the password is wrong" are no passwords).
_SECRET = re.compile(
    r"(?i:\b(?:(?:kunden|e-?mail|app|login)?(?:passwort|kennwort)|password|passcode|pw|pin|puk|cvv2?|cvc|"
    r"prüfziffer|pruefziffer|sicherheitscode|security[ ]code|benutzername|username|user[ ]?name|login)\b)"
    # a few words may stand before a ':' or a verb: "Passwort fürs E-Paper ist ...", "PIN meiner Karte lautet ..."
    rf"(?:(?:[ \t]+[^\W\d_][^\s:=\d]*){{0,3}}?{_NAMED}|[ \t]+)"
    r"(\S{3,64}?)[.,;:)]?(?=\s|$)")


_SECRET_SIGN = re.compile(r"[\d#$%&@+=~^§|<>/\\]")   # what a password has and a word has not
_MARKUP = "*_`'\"()[]!?.,:;"


def find_secrets(text: str) -> list[Finding]:
    """Passwords, PINs, card codes and user names after their label ("Passwort: Sommer2024!"); not a word
    in Markdown ("**Passwort vergessen**") nor a placeholder an earlier redaction left ("login is [E-MAIL]")."""
    out = []
    for m in _SECRET.finditer(text):
        value = m.group(1)
        if not value.startswith("[") and _SECRET_SIGN.search(value.strip(_MARKUP)):
            out.append(Finding(m.start(1), m.end(1), "secret", value))
    return out


def find_customer_ids(text: str) -> list[Finding]:
    """Customer, contract, order, invoice, subscription and account numbers after their label."""
    out: list[Finding] = []
    for m in _CUSTOMER.finditer(text):
        value = m.group(1)
        if sum(ch.isdigit() for ch in value) >= 3:
            f = make(text, "customer_id", m.start(1), m.end(1))
            if f is not None:
                out.append(f)
    for m in _ANY_NUMBERED.finditer(text):
        if sum(ch.isdigit() for ch in m.group(3)) >= _ANY_LABEL_DIGITS and (m.group(1) or m.group(2)).lower() \
                not in STOP_WORDS:
            f = make(text, "customer_id", m.start(3), m.end(3))
            if f is not None:
                out.append(f)
    out += [Finding(m.start(), m.end(), "customer_id", m.group()) for m in _ORDER_BARE.finditer(text)]
    return out


def find_birth_dates(text: str) -> list[Finding]:
    """Dates after (or, German, before) a birth label: "geb. 13.04.1970", "DOB 03/12/1985", "am … geboren"."""
    out: list[Finding] = []
    for pattern in (_DOB, _DOB_AFTER):
        for m in pattern.finditer(text):
            if _plausible_birth_date(m.group(1)):
                out.append(Finding(m.start(1), m.end(1), "dob", m.group(1)))
    return out


def find_id_numbers(text: str) -> list[Finding]:
    """Tax IDs, tax and VAT numbers, ID card, passport, social security and driving licence numbers, and
    licence plates."""
    out: list[Finding] = []
    if not any(ch.isdigit() for ch in text):
        return out  # every ID number holds a digit
    for pattern, check in _ID_PATTERNS:
        for m in pattern.finditer(text):
            value = m.group(1)
            if check is vat.is_valid and not check(value):
                continue  # "VAT number" is also said of the amount; only a valid VAT ID is one
            out.append(Finding(m.start(1), m.end(1), "id_number", value))
    for m in _SSN_BARE.finditer(text):
        if ssn.is_valid(m.group()):
            out.append(Finding(m.start(), m.end(), "id_number", m.group()))
    for m in _NINO_BARE.finditer(text):
        if m.group()[:2] not in _NINO_BAD_PREFIX:
            out.append(Finding(m.start(), m.end(), "id_number", m.group()))
    return out
