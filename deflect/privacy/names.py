"""Personal names in German and English customer mail, found by their context.

There is no dictionary of surnames; a name is recognised by where it stands: after a salutation ("Frau
Musterfrau4"), in a greeting line ("Hallo Anna,"), after a sign-off ("Viele Grüße\\nHans Meier"), after an
introduction ("mein Name ist …", "Name: …"), in front of an address, or as a known given name followed by a
surname. Salutations and titles stay in the text ("Herr [NAME]"), so a reply still reads naturally.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from deflect.text import STOP_WORDS

from . import lexicon as lx
from .addresses import is_street_word
from .findings import Finding

_TOKEN = re.compile(r"[ \t]*((?:[A-Z]\.(?=[ \t])|[^\W\d_]+(?:['’-][^\W\d_]+)*\d{0,3})(?![\w'’-]))")
_HOUSE_NUMBER_NEXT = re.compile(r"[ \t]+\d{1,3}[a-zA-Z]?\b")
_TAIL_OK = " \t.!,:;)(-*~–"


def _phrases(words: tuple[str, ...] | frozenset[str]) -> str:
    ordered = sorted(words, key=len, reverse=True)  # longest first: "danke im voraus" before "danke"
    return "|".join(re.escape(w).replace(r"\ ", r"[ \t]+") for w in ordered)


_SALUTATION = re.compile(
    r"(?<![\w.])(?:Herrn?|Frau|Hr\.|Fr\.|Mrs?\.?|Ms\.?|Miss|Mx\.?|Madame|Monsieur|Familie|Fam\.)(?=[ \t])")
_TITLE = re.compile(r"[ \t]+(?:Dr\.?(?:[ ](?:med|rer|nat|phil|jur|dent|vet|h\.[ ]?c|ing|oec)\.)*|Prof\.?"
                    r"|Dipl\.-\w+\.?|Mag\.|Ing\.)(?=[ \t])")
_GREETING = re.compile(rf"(?im)^[ \t]*(?:{_phrases(lx.GREETINGS)})(?:[ \t]+(?:{_phrases(lx.GREETINGS)}))?(?![\w-])")
_SIGNOFF = re.compile(rf"(?i)(?<![\w-])(?:{_phrases(lx.SIGNOFFS + lx.LONE_SIGNOFFS)})(?![\w-])")
_INTRO = re.compile(rf"(?i)(?<![\w-])(?:{_phrases(lx.NAME_INTROS)})(?![\w-])")
_WEAK_INTRO = re.compile(rf"(?i)(?<![\w-])(?:{_phrases(lx.WEAK_INTROS)})(?:[ \t]*:)?(?=[ \t])")
_CUE = re.compile(rf"(?i)(?<![\w-])(?:{_phrases(lx.NAME_LABELS | lx.RELATIONS)})(?![\w-])([ \t]*:)?")
# Compound labels before a colon: "Rechnungsempfänger:", "Karteninhaberin:", "Kundenname:".
_CUE_COMPOUND = re.compile(r"(?i)(?<![\w-])[^\W\d_]+(?:empfänger|inhaber|halter|partner|name)(?:in)?[ \t]*:")
_SIG_PREFIX = re.compile(r"[ \t]*(?:i\.[ ]?A\.|i\.[ ]?V\.|ppa\.|pp\.|Dr\.|Prof\.|Dipl\.-\w+\.)[ \t]*")
_DELIMITER = re.compile(r"[ \t]*(?:--|—|__+)[ \t]*")
_AND = re.compile(r"(?i)[ \t]+(?:und|and|u\.|&)(?=[ \t])")


def _name_word(word: str, lower: str = "no") -> bool:
    """Whether ``word`` can be part of a name; ``lower``: lower-case words "no", "first" (known given
    names only, "hallo anna") or "any" (signature lines, "hans-jürgen pohl")."""
    low = word.lower().rstrip("0123456789")
    if not low or low in lx.NOT_NAMES or low in lx.SALUTATIONS or low in lx.TITLES or low in lx.RELATIONS:
        return False
    if low.endswith(("team", "service", "support", "redaktion", "abteilung", "zeitung", "verlag", "center")):
        return False
    if word[0].isupper():
        return not (word.isupper() and len(word) > 1 and not word.endswith("."))  # "IBAN", "RZ", "EUR"
    return lower == "any" or (lower == "first" and lx.is_first_name(low))


def _run(text: str, pos: int, limit: int = 3, lower: str = "no", particle_start: bool = False
         ) -> list[tuple[int, int]]:
    """Consecutive name-like words from ``pos`` on the same line (particles and initials allowed; a
    particle may open the run only after a salutation: "Herr von Bülow", but not "Grüße von Oma")."""
    words: list[tuple[int, int]] = []
    while (m := _TOKEN.match(text, pos)) is not None:
        words.append((m.start(1), m.end(1)))
        pos = m.end()
        if len(words) > limit + 4:
            break
    out: list[tuple[int, int]] = []
    i = 0
    # after a salutation particles do not count: "Frau Ursula von der Heide" is two names (elsewhere
    # "Patrick von der Schule abholen" is a name and a place)
    while i < len(words) and (sum(text[s:e] not in lx.PARTICLES for s, e in out) if particle_start
                              else len(out)) < limit:
        s, e = words[i]
        word = text[s:e]
        nxt = text[words[i + 1][0]:words[i + 1][1]] if i + 1 < len(words) else ""
        j = i
        while j < len(words) and text[words[j][0]:words[j][1]] in lx.PARTICLES:
            j += 1  # "von der Heide": particles up to the capitalised name
        head = text[words[j][0]:words[j][1]] if j < len(words) else ""
        if j > i and head[:1].isupper() and _name_word(head) and (out or particle_start):
            out.append((s, e))  # "von Bülow", "van der Berg"
        elif len(word) == 2 and word.endswith(".") and nxt and (_name_word(nxt) or len(nxt) == 2):
            out.append((s, e))  # "Hans J. Meier", "A. J. Pemberton"
        elif _name_word(word, lower):
            if _HOUSE_NUMBER_NEXT.match(text, e) or is_street_word(word):
                break  # "… Anneliese Achterberg Ahornweg 5": the street is not part of the name
            out.append((s, e))
        else:
            break
        i += 1
    while out and (text[out[-1][0]:out[-1][1]].lower() in lx.PARTICLES or text[out[-1][1] - 1] == "."):
        out.pop()
    return out


def _span(text: str, run: list[tuple[int, int]]) -> Finding:
    return Finding(run[0][0], run[-1][1], "name", text[run[0][0]:run[-1][1]])


def _at_boundary(text: str, pos: int) -> bool:
    """Whether ``pos`` ends a clause: punctuation, end of line or end of text follows."""
    rest = text[pos:pos + 2].lstrip(" \t")
    return rest == "" or rest[0] in ",.;:!?)\n\r"


def _salutation_names(text: str) -> list[Finding]:
    out = []
    for m in _SALUTATION.finditer(text):
        pos = m.end()
        while (t := _TITLE.match(text, pos)) is not None:
            pos = t.end()
        out += _pick(text, _run(text, pos, particle_start=True))
    return out


# Typed all in lower case, as many search-box questions are: "frau gerlinde schwarzkopf", "herr peter müller
# hier". A lower-case word after "frau" / "herr" is as often a noun or a verb ("frau zahlung fehlgeschlagen",
# "frau liest"; the widget searches with the redacted text), so only a known given name starts a name here,
# with the surname after it. After an article or a possessive "frau" and "herr" are nouns ("meine frau").
_NAME_WORD_LOWER = r"[^\W\d_]{3,}(?:-[^\W\d_]{2,})?"
_SALUTATION_LOWER = re.compile(rf"(?<![\w.-])(?:herrn?|frau)[ \t]+(?:(?:dr|prof)\.?[ \t]+)?({_NAME_WORD_LOWER})"
                               rf"(?:[ \t]+({_NAME_WORD_LOWER}))?(?![\w-])")
_NOUN_BEFORE = frozenset("""meine meiner meinen meinem seine seiner seinen ihre ihrer ihren ihrem deine deiner eure
    euer unsere unserer die der den dem des eine einer einen einem ein keine jede jeder diese dieser jene welche
    neue neuen alte alten junge jungen nette netten""".split())
_NOT_AFTER = frozenset("hier heute gestern morgen nochmal wieder schon gerade".split())


def _lower_salutation_names(text: str) -> list[Finding]:
    """A given name (and the surname after it) after "frau" / "herr" in lower-case text (see above)."""
    out = []
    for m in _SALUTATION_LOWER.finditer(text):
        before = text[max(0, m.start() - 40):m.start()].split()   # the word before, not the whole text
        if before and before[-1].lower().strip(",.;:!?") in _NOUN_BEFORE:
            continue
        given = m.group(1)
        if not given.islower() or not lx.is_first_name(given):
            continue
        surname = m.group(2)
        last = 2 if surname and surname.islower() and surname not in \
            lx.NOT_NAMES | STOP_WORDS | lx.PARTICLES | _NOT_AFTER else 1
        out.append(Finding(m.start(1), m.end(last), "name", text[m.start(1):m.end(last)]))
    return out


def _pick(text: str, run: list[tuple[int, int]]) -> list[Finding]:
    """From a run after a weak cue, keep the surname, or given name + surname when the evidence says so."""
    if not run:
        return []
    first = text[run[0][0]:run[0][1]]
    if first.islower():  # particle: "Herr von Bülow"
        keep = run
    elif lx.is_first_name(first) or (len(run) > 1 and _at_boundary(text, run[1][1])):
        keep = run[:2]  # "Frau Anna Schmidt", "Mr Li Wei)"
        while len(keep) < len(run) and text[keep[-1][0]:keep[-1][1]] in lx.PARTICLES:
            keep = run[:len(keep) + 1]   # "Frau Ursula von der Heide"
    else:
        keep = run[:1]  # "Frau Schmidt Bescheid geben": a German noun may follow
    return [_span(text, keep)]


def _lines(text: str) -> list[tuple[int, int]]:
    out, pos = [], 0
    for line in text.split("\n"):
        out.append((pos, pos + len(line.rstrip("\r"))))
        pos += len(line) + 1
    return out


def _signature_line(text: str, lines: list[tuple[int, int]], index: int, lower: str = "any") -> list[Finding]:
    """The name on the first non-empty line after line ``index`` (a sign-off or "--")."""
    for ls, le in lines[index + 1:index + 4]:
        line = text[ls:le]
        if not line.strip() or _DELIMITER.fullmatch(line):
            continue
        pos = ls
        while (p := _SIG_PREFIX.match(text, pos)) is not None and p.end() > pos:
            pos = p.end()
        run = _run(text, pos, limit=4, lower=lower)
        couple = _AND.match(text, run[-1][1]) if run else None
        if couple:   # "Sabine und Klaus Wagner": both are named
            second = _run(text, couple.end(), limit=4, lower=lower)
            if second and text[second[-1][1]:le].strip(_TAIL_OK) == "":
                return [_span(text, run), _span(text, second)]
        if run and (text[run[-1][1]:le].strip(_TAIL_OK) == "" or text[run[-1][1]:le].lstrip().startswith((",", "|"))):
            return [_span(text, run)]
        return []
    return []


def _signoff_names(text: str, lines: list[tuple[int, int]]) -> list[Finding]:
    out: list[Finding] = []
    for index, (ls, le) in enumerate(lines):
        if _DELIMITER.fullmatch(text[ls:le]):
            out += _signature_line(text, lines, index)
            continue
        for m in _SIGNOFF.finditer(text, ls, le):
            before = text[ls:m.start()]
            clean = (before.strip() == "" or re.search(r"[.!?)\]]\s*$", before) is not None
                     or re.search(r"(?i)(?:\bund|\band|[,&])\s*$", before) is not None)
            p = m.end()
            while p < le and text[p] in " \t,.!:;–-":
                p += 1
            rest = text[p:le]
            if clean and (rest.strip(_TAIL_OK) == "" or (re.match(r"(?i)(?:aus|from)\b", rest) and len(rest) <= 30)):
                out += _signature_line(text, lines, index)
                continue
            if m.group().lower() in lx.LONE_SIGNOFFS or (not clean and not m.group()[0].isupper()):
                continue  # mid-sentence and lower case: "danke für …" is not a sign-off
            run = _run(text, p, lower="first")
            if run and lx.is_first_name(text[run[0][0]:run[0][1]]) and text[run[-1][1]:le].strip(_TAIL_OK):
                run = _run(text, p, limit=2, lower="any")   # "gruß peter müller": a given name, then its surname
            tail = text[run[-1][1]:le] if run else ""
            if run and (tail.strip(_TAIL_OK) == "" or re.match(r"[ \t]*[,|(+\d]", tail)
                        or is_street_word(tail.split()[0] if tail.split() else "")):
                out.append(_span(text, run))
            elif before.strip() == "" and len(rest.split()) <= 5:
                # "Thanks so much,\nGrace", "LG und schönes WE\nMoni": a short closing line; only a line of
                # capitalised names after it counts.
                out += _signature_line(text, lines, index, lower="no")
    return out


def _greeting_names(text: str) -> list[Finding]:
    out = []
    for m in _GREETING.finditer(text):
        pos = m.end()
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if _SALUTATION.match(text, pos):
            continue  # "Hallo Frau Meier": the salutation rule takes it
        run = _run(text, pos, limit=3, lower="first")
        if run and not _at_boundary(text, run[-1][1]) and lx.is_first_name(text[run[0][0]:run[0][1]]):
            run = _run(text, pos, limit=2, lower="any")   # "hallo anna schmidt,": a given name, then its surname
        if run and _at_boundary(text, run[-1][1]):
            out.append(_span(text, run))
    return out


def _intro_names(text: str) -> list[Finding]:
    out = []
    for m in _INTRO.finditer(text):
        # after "ich heiße" / "my name is" a name follows, in lower case too ("ich heiße anna schmidt und …")
        run = _run(text, m.end(), limit=4) or _run(text, m.end(), limit=2, lower="any")
        if run:
            out.append(_span(text, run))
    for m in _WEAK_INTRO.finditer(text):
        run = _run(text, m.end(), limit=3)
        if not run and _run(text, m.end(), limit=1, lower="first"):   # "ich bin anna", "i'm sarah jones"
            run = _run(text, m.end(), limit=2, lower="any")
        # "ich bin Abonnent" is no name; "ich bin Franziska Huber" / "I'm Aidan Byrne" are; "I'm Digital
        # Plus customer" names a plan.
        if run and (lx.is_first_name(text[run[0][0]:run[0][1]]) or len(run) >= 2) \
                and not _ROLE_AFTER.match(text, run[-1][1]):
            out.append(_span(text, run))
    for m in _CUE_COMPOUND.finditer(text):
        if run := _run(text, m.end(), limit=4):
            out.append(_span(text, run))
    for m in _CUE.finditer(text):
        run = _run(text, m.end())
        if m.group(1):  # "Kontoinhaber: Walter Reinholz"
            out += [_span(text, run)] if run else []
        else:  # "meine Tochter Marie"
            out += _pick(text, run)
    return out


_HERE = re.compile(r"(?im)^[ \t]*((?:hallo|hi|hey|moin)[ \t]*,?[ \t]*)?(?=[A-ZÄÖÜ])")


_ROLE_AFTER = re.compile(r"(?i)[ \t]+(?:customer|client|subscriber|user|member|kunde|kundin|abonnent(?:in)?|"
                         r"leser(?:in)?|nutzer(?:in)?|mitglied)\b")
# "Wetter hier ist schlecht": a noun with a verb after "hier" is the sentence's subject, not a name.
_HERE_VERB = re.compile(r"[ \t]+(?:hier|here)[ \t]+(?:ist|sind|war|waren|wird|werden|is|are|was|were)\b", re.I)


def _here_names(text: str) -> list[Finding]:
    """Self-introduction by "<Name> hier" / "<Name> here" at the start of a line ("Jürgen hier – …",
    "Hallo, Meier hier"). Without a greeting the name must start with a known given name, since "Fehler
    hier" or "Keine Daten hier" start the same way."""
    out = []
    for m in _HERE.finditer(text):
        run = _run(text, m.end(), limit=2)
        if run and re.match(r"[ \t]+(?:hier|here)\b", text[run[-1][1]:]) and not _HERE_VERB.match(text, run[-1][1]):
            if m.group(1) or lx.is_first_name(text[run[0][0]:run[0][1]]):
                out.append(_span(text, run))
    return out


def _lexicon_names(text: str) -> list[Finding]:
    """A known given name followed by a capitalised surname: "Petra Neumann" anywhere in the text."""
    out = []
    for m in re.finditer(r"(?<![\w-])[A-ZÄÖÜ][^\W\d_]+(?:-[A-ZÄÖÜ][^\W\d_]+)?(?![\w-])", text):
        first = m.group().lower()
        if lx.is_first_name(first) or all(lx.is_first_name(part) for part in first.split("-")):
            run = _run(text, m.start(), limit=5)   # room for "Anna van der Berg"; at most three are kept
            if len(run) >= 2 and all(text[s].isupper() or text[s:e].islower() for s, e in run):
                # Given name + surname; a third word only after a middle name or an initial
                # ("Anna Maria Schmidt", "James D. Conrey"): in "Martin Garrix Show" or "Derek Watkins
                # Lied" the capitalised word after the surname is a noun.
                second = text[run[1][0]:run[1][1]]
                middle = lx.is_first_name(second) or (len(second) == 2 and second.endswith("."))
                keep = run[:3] if middle else run[:2]
                ext = keep
                while len(ext) < len(run) and text[ext[-1][0]:ext[-1][1]] in lx.PARTICLES:
                    ext = run[:len(ext) + 1]   # "Ursula von der Heide," (not "Patrick von der Schule abholen")
                # German particles are prepositions too, so only at a clause's end; "de", "van", "ten" are not
                foreign = any(text[s:e] in lx.PARTICLES and text[s:e] not in lx.GERMAN_PARTICLES for s, e in ext)
                if ext is not keep and (foreign or _at_boundary(text, ext[-1][1])):
                    keep = ext
                while keep and text[keep[-1][0]:keep[-1][1]] in lx.PARTICLES:
                    keep = keep[:-1]   # "Patrick von": a given name and a preposition, no surname
                if len(keep) >= 2:
                    out.append(_span(text, keep))
    return out


def _address_block_names(text: str, lines: list[tuple[int, int]], streets: list[Finding]) -> list[Finding]:
    """A line of two or three names right before an address ("Hans Meier3, Lindenallee 6" / next line)."""
    out = []
    starts = {f.start for f in streets}
    for index, (ls, le) in enumerate(lines):
        pos = ls + len(text[ls:le]) - len(text[ls:le].lstrip(" \t"))
        run = _run(text, pos, limit=3)
        if len(run) < 2:
            continue
        tail = text[run[-1][1]:le]
        inline = re.match(r"[ \t]*,[ \t]*", tail)
        if inline and run[-1][1] + inline.end() in starts:
            out.append(_span(text, run))
        elif tail.strip() == "" and index + 1 < len(lines):
            nls, nle = lines[index + 1]
            if any(nls <= s < nle for s in starts):
                out.append(_span(text, run))
    return out


def _closing_names(text: str, lines: list[tuple[int, int]]) -> list[Finding]:
    """A name alone on the last line, without a sign-off: "…\\n\\nK. Wagner", "…?\\nMichael"."""
    filled = [(ls, le) for ls, le in lines if text[ls:le].strip()]
    if len(filled) < 2:
        return []
    ls, le = filled[-1]
    pos = ls + len(text[ls:le]) - len(text[ls:le].lstrip(" \t"))
    run = _run(text, pos, limit=3)
    if not run or text[run[-1][1]:le].strip(_TAIL_OK):
        return []
    first = text[run[0][0]:run[0][1]]
    initial = len(first) == 2 and first.endswith(".") and len(run) > 1
    # One word needs to be a known given name; two or three capitalised words count when they follow the
    # body's last sentence directly (not a job title under a signature: "…\nTomasz Wiśniewski\nSenior Buyer").
    after_sentence = text[filled[-2][0]:filled[-2][1]].rstrip().endswith((".", "?", "!", ":"))
    if initial or lx.is_first_name(first) or (len(run) >= 2 and after_sentence):
        return [_span(text, run)]
    return []


def find_names(text: str, streets: Iterable[Finding] = ()) -> list[Finding]:
    """Names by context; ``streets`` (street findings) mark address blocks."""
    lines = _lines(text)
    found = (_salutation_names(text) + _lower_salutation_names(text) + _greeting_names(text)
             + _signoff_names(text, lines) + _intro_names(text)
             + _lexicon_names(text) + _address_block_names(text, lines, list(streets)) + _closing_names(text, lines)
             + _here_names(text))
    return sorted(set(found))
