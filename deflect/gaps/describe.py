"""Words for a topic: its keywords, a one-line headline, a suggested article title, and the topic
entry of the report (members, examples, sources, trend, nearest article)."""
from __future__ import annotations

import re
import zlib
from collections import Counter
from datetime import datetime, timedelta

import numpy as np

from deflect.clock import iso, parse_time
from deflect.gaps.items import Customers, Item
from deflect.gaps.model import Cost, Example, Member, NearestArticle, Sources, Topic, Trend
from deflect.language import detect_language
from deflect.text import STOP_WORDS

_WORD = re.compile(r"(?u)\b[^\W\d_][\w'-]+\b")
EXAMPLES = 5                # examples per topic
EXAMPLE_WIDTH = 200         # characters of an example's first sentence
DUPLICATE_WORDS = 0.7       # word overlap (Jaccard) from which two examples say the same
DUPLICATE_SIMILARITY = 0.95  # ... or cosine similarity of their vectors
WEEKS = 12                  # weeks of volume a topic shows (its sparkline)
COST_DAYS = 30              # a topic's cost: its members of these last days


def keywords(texts: list[str], lab: np.ndarray, clusters: list[int], top: int = 4) -> dict[int, list[str]]:
    """Distinctive words per cluster: mean TF-IDF in the cluster minus the mean over all texts."""
    if not clusters:
        return {}
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    rows = np.flatnonzero(np.isin(lab, clusters))
    others = np.setdiff1d(np.arange(len(texts)), rows)
    if len(others) > 20000:   # a sample chosen by the texts, so the items' order does not change the keywords
        others = np.sort(others[np.argsort([zlib.crc32(texts[i].encode()) for i in others], kind="stable")[:20000]])
    pool = np.r_[rows, others]
    stop = sorted(set(ENGLISH_STOP_WORDS) | STOP_WORDS)
    vec = TfidfVectorizer(token_pattern=_WORD.pattern, stop_words=stop, min_df=2, sublinear_tf=True,
                          max_features=50000)
    try:
        M = vec.fit_transform([texts[i] for i in pool])
    except ValueError:  # empty vocabulary
        return {}
    vocab = np.array(vec.get_feature_names_out())
    background = np.asarray(M.mean(axis=0)).ravel()
    where = {int(r): j for j, r in enumerate(pool)}
    out = {}
    for c in clusters:
        sel = [where[i] for i in np.flatnonzero(lab == c) if i in where]
        if not sel:
            continue
        score = np.asarray(M[sel].mean(axis=0)).ravel() - background
        order = np.argsort(-score)[:top]
        out[c] = [str(vocab[j]) for j in order if score[j] > 0]
    return out


_QUESTION_START = re.compile(r"^(how|what|why|when|where|which|who|can|could|do|does|did|is|are|will|would|"
                             r"should|may|wie|was|warum|wann|wo|welche[rsmn]?|wer|kann|können|könnte|muss|"
                             r"darf|ist|sind|gibt|habe|hat|wird|werde)\b", re.IGNORECASE)


_HELLO = (r"(?:hi|hello|hallo|hey) (?:there|zusammen|all|everyone|team)|hi|hello|hallo|hey|moin|servus|"
          r"guten (?:morgen|tag|abend)|good (?:morning|afternoon|evening)")
_ADDRESS = r"liebe[sr]? [^,.!?:]{0,40}|sehr geehrte[rs]? [^,.!?:]{0,60}|dear [^,.!?:]{0,40}|to whom it may concern"
_GREETING = re.compile(rf"^(?:{_HELLO}|{_ADDRESS})[,!.:]?$", re.IGNORECASE)            # a line of its own
_GREETING_START = re.compile(rf"^(?:(?:{_HELLO})[,!.:]?|(?:{_ADDRESS})[,!.:])\s+", re.IGNORECASE)


def headline(text: str, width: int = 90, end: bool = False) -> str:
    """What a ticket or inquiry is about, in one line: the first sentence of its first line that is
    not a greeting (a ticket's subject comes first), at most about ``width`` characters (``end``: with
    its closing punctuation)."""
    lines = [re.sub(r"\s+", " ", line).strip().strip("\"'") for line in text.splitlines()]
    lines = [line for line in lines if line and not _GREETING.match(line)]
    first = lines[0] if lines else ""
    first = _GREETING_START.sub("", first)
    sentences = [x for x in re.split(r"(?<=[.!?])\s+", first) if len(x.split()) >= 2]
    first = sentences[0] if sentences else first
    first = first.rstrip(" ") if end else first.rstrip(" .!?")
    if len(first) > width:
        first = first[:width].rsplit(" ", 1)[0] + "…"
    return first


def about(item: Item) -> str:
    """The text a headline is taken from: a ticket's subject first if it has a few words; a one-word
    subject ("Kreuzworträtsel") says less than the body's first sentence."""
    subject = item.subject or ""
    if len(subject.split()) >= 2:
        return f"{subject}\n{item.text}"
    if subject and item.text.startswith(subject):
        return item.text[len(subject):].strip() or item.text
    return item.text


def example_parts(item: Item) -> tuple[str, str]:
    """A member as the report shows it: (its subject line, the first sentence of its body); no subject
    when there is none or the body starts with it."""
    subject = re.sub(r"\s+", " ", item.subject or "").strip()
    body = item.text[len(item.subject):] if item.subject and item.text.startswith(item.subject) else item.text
    first = headline(body, EXAMPLE_WIDTH, end=True)
    first = first[:1].upper() + first[1:]
    if not subject or norm(first).startswith(norm(subject)):
        return "", first or headline(item.text, EXAMPLE_WIDTH, end=True)
    return subject[:EXAMPLE_WIDTH], first


def example_text(parts: tuple[str, str]) -> str:
    return " — ".join(p for p in parts if p)


def near_duplicate(a: str, b: str) -> bool:
    """Whether two texts say the same with small changes (numbers, a greeting, a word or two)."""
    wa, wb = set(_WORD.findall(a.lower())), set(_WORD.findall(b.lower()))
    if not wa or not wb:
        return norm(a) == norm(b)
    return len(wa & wb) / len(wa | wb) >= DUPLICATE_WORDS


def suggest_title(question: str, language: str | None) -> str:
    """An article title from the most representative customer question (no language model)."""
    first = headline(question)
    if not first:
        return "FAQ"
    first = first[0].upper() + first[1:]
    if _QUESTION_START.match(first):
        return first + "?"
    return f"Hilfe: {first}" if (language or "") == "de" else f"Help: {first}"




def topic_label(words: list[str], head: str) -> str:
    """A topic's label: its first keywords, then its headline, in at most 120 characters."""
    label = f"{', '.join(words[:3])}: {head}" if words else head
    return label if len(label) <= 120 else label[:119].rsplit(" ", 1)[0] + "…"


def topic_entry(tid: str, status: str, rows: list[int], items: list[Item], V: np.ndarray, centre: np.ndarray,
                words: list[str], docs, now: datetime, period_days: int, judged) -> Topic:
    """The report entry of topic ``tid`` whose members are ``rows`` of the items (``V``: their vectors
    in the gap space, ``centre`` the topic's centroid there; ``docs``: the article documents, in that
    space too)."""
    members = [items[i] for i in rows]
    sims = V[rows] @ centre
    order = np.argsort(-sims)
    spoken = [m.language or detect_language(m.text) for m in members]
    languages = Counter(spoken)
    language = languages.most_common(1)[0][0]
    # the title and headline come from the most central member in the topic's majority language
    first = members[int(next(j for j in order if spoken[int(j)] == language))]
    subject = about(first)
    examples: list[Example] = []
    shown: list[tuple[int, tuple[str, str]]] = []
    for j in order:
        m = members[int(j)]
        parts = example_parts(m)
        # near-duplicates: the same words give or take a few, the same first sentence, or nearly the same vector
        if any(near_duplicate(example_text(parts), example_text(p)) or (parts[1] and near_duplicate(parts[1], p[1]))
               for _, p in shown) or \
                (shown and float(np.max(V[[rows[k] for k, _ in shown]] @ V[rows[int(j)]])) >= DUPLICATE_SIMILARITY):
            continue
        examples.append(Example(m.source, m.id, example_text(parts)))
        shown.append((int(j), parts))
        if len(examples) == EXAMPLES:
            break
    nearest = None
    if len(docs.vectors):
        s = docs.vectors @ centre
        j = int(np.argmax(s))
        nearest = NearestArticle(docs.ids[j], docs.titles.get(docs.ids[j], docs.ids[j]), round(float(s[j]), 4))
    answered = Counter(judged.article[i] for i in rows if judged.decision[i] == "answer" and judged.article[i])
    times = [t for t in (parse_time(m.created_at) for m in members) if t]
    head = headline(subject) or first.text
    return Topic(
        id=tid, label=topic_label(words, head), keywords=words, representative=first.text,
        suggested_title=suggest_title(subject, language), language=language, size=len(members),
        sources=Sources(ticket=sum(m.source == "ticket" for m in members),
                        inquiry=sum(m.source == "inquiry" for m in members),
                        channels=dict(Counter(m.channel or "unknown" for m in members).most_common()),
                        languages=dict(languages.most_common())),
        first_seen=iso(min(times)) if times else None, last_seen=iso(max(times)) if times else None,
        trend=trend(times, now, period_days), weekly=weekly(times, now), cost=cost(members, now),
        examples=examples, nearest_article=nearest,
        answered_with=dict(answered.most_common(3)), members=[Member(m.source, m.id) for m in members],
        status=status)


def trend(times: list[datetime], now: datetime, period_days: int) -> Trend:
    """Members in the last ``period_days`` against the period before."""
    start = now - timedelta(days=period_days)
    this = sum(start < t <= now for t in times)
    prev = sum(start - timedelta(days=period_days) < t <= start for t in times)
    direction = ("new" if prev == 0 and this > 0 else "rising" if this > 1.25 * prev else
                 "falling" if this < 0.8 * prev else "steady")
    return Trend(this_period=this, previous_period=prev, direction=direction, period_days=period_days)


def weekly(times: list[datetime], now: datetime, weeks: int = WEEKS) -> list[int]:
    """Members per week over the last ``weeks`` weeks, oldest first (the last week ends now)."""
    out = [0] * weeks
    for t in times:
        age = (now - t).days // 7
        if 0 <= age < weeks and t <= now:
            out[weeks - 1 - age] += 1
    return out


def cost(members: list[Item], now: datetime, days: int = COST_DAYS) -> Cost:
    """The customers a topic cost in the last ``days`` days: its inquiries and tickets created then, a widget
    session once (a customer who asked twice, or asked and then wrote the ticket, is one customer)."""
    start = now - timedelta(days=days)
    recent = [m for m in members if (t := parse_time(m.created_at)) and start < t <= now
              and not (m.channel == "agent" and not m.ticket and not m.session)]   # an agent's own lookup
    inquiries = sum(m.source == "inquiry" for m in recent)
    who = Customers()
    customers = {who.of(m.key, m.session, m.client, m.ticket) for m in sorted(recent, key=lambda m: m.created_at or "")}
    return Cost(customers=len(customers), inquiries=inquiries, tickets=len(recent) - inquiries, days=days)


def norm(text: str) -> str:
    """A text without case and punctuation (to tell phrasings apart)."""
    return re.sub(r"\W+", " ", text.lower()).strip()
