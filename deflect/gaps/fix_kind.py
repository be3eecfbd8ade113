"""Which fix a recurring topic needs: ``article`` (a question with a stable answer), ``product`` (a
defect or outage: crashes, "geht nicht seit", error messages, damaged deliveries, spikes) or
``process`` (only an agent can do it now: refunds, transfers, changes to an account; the fix is a
self-service function).

The kind is read from the members' own words (German and English patterns), from what agents did
(a ticket's resolution: "intern umgeschrieben", "refunded", "forwarded to the app team"), and from
the topic's volume (a sudden rise -- an open incident -- is a symptom of a defect, not of a missing article;
a topic that grew over the last month only confirms a defect its words suggest, as every new question
grows too). The team can override the kind; the override sticks to the topic id across report runs.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass

from deflect.clock import utcnow_iso
from deflect.errors import InputError, NotFoundError
from deflect.gaps.model import Fix, Topic
from deflect.gaps.workflow import record_event
from deflect.settings import from_env

KINDS = ("article", "product", "process")
_I = re.IGNORECASE

# What customers write when something is broken (defect, outage, damaged delivery).
PRODUCT_TEXT = re.compile(
    r"\b(?:abst[üu]rz\w*|st[üu]rzt\w*(?:\s+\w+){0,3}\s+ab|crash\w*|absturz|h[äa]ngt sich auf|freez\w*|"
    r"geht (?:gar )?nicht(?: mehr)?|funktioniert (?:gar )?nicht(?: mehr)?|klappt nicht mehr|"
    r"l[äa]dt nicht|[öo]ffnet (?:sich )?(?:nicht|nicht mehr)|startet nicht|schlie[ßs]t sich|"
    r"won'?t (?:open|start|load)|does(?:n'?t| not) (?:work|open|load)|not working|stopped working|keeps stopping|"
    r"fehlermeldung|error(?: message)?|fehler(?:code)?|bug|st[öo]rung|ausfall|outage|is down|"
    r"seit (?:dem )?(?:update|gestern|heute|tagen|wochen)|since (?:the )?(?:update|yesterday)|"
    r"nass\w*|durchn[äa]sst|aufgeweicht|pf[üu]tze|wet|soggy|besch[äa]digt|zerrissen|kaputt|damaged|torn)\b", _I)
# What customers ask of an agent because they cannot do it themselves.
PROCESS_TEXT = re.compile(
    r"\b(?:[üu]bernehmen|[üu]bertrag\w*|umschreib\w*|umgeschrieben|verstorben\w*|todesfall|sterbeurkunde|"
    r"passed away|deceased|death|take over|transfer\w*|erstatt\w*|r[üu]ckerstatt\w*|refund\w*|"
    r"storn\w*|doppelt abgebucht|charged twice|vertragspartner|inhaber\w*|vollmacht)\b", _I)
# What agents did that only an agent can do now.
PROCESS_RESOLUTION = re.compile(
    r"\b(?:intern umgeschrieben|umgeschrieben|[üu]bertragen|[üu]bertragung|manuell|vertragspartner|"
    r"erstattet|storniert|im system (?:ge[äa]ndert|eingetragen)|transferred|refunded|manual(?:ly)?)\b", _I)
# How customers ask a question that has a stable answer.
ARTICLE_TEXT = re.compile(
    r"(?:^|[.!?]\s+)(?:wo (?:finde|ist|sind|gibt)|wie (?:kann|k[öo]nnen|geht|funktioniert|bekomme)|gibt es|"
    r"kann ich|k[öo]nnen sie|welche|was kostet|where (?:is|are|can|do)|how (?:do|can|much)|can i|is there|"
    r"what|which)\b", _I)

PRIOR = {"article": 0.25, "product": 0.0, "process": 0.0}   # a plain question is the default
SPIKE_WEIGHT = 0.3          # an incident, or a month's rise beside defect words, counts this much for product
MIN_SHARE = 0.2             # members a pattern must cover to count at all


@dataclass
class MemberText:
    """What the classifier reads of one member: the customer's words and (tickets) the resolution."""
    text: str
    resolution: str = ""


def classify(members: list[MemberText], spike: bool = False, rising: bool = False) -> Fix:
    """The fix kind of a topic from its members' words, what agents did, and its volume: a ``spike`` (an
    open incident), or ``rising`` over the last period (counted only beside words of a defect)."""
    n = max(1, len(members))
    hits = {kind: 0 for kind in KINDS}
    words: dict[str, Counter] = {kind: Counter() for kind in KINDS}
    for m in members:
        for kind, found in (("product", PRODUCT_TEXT.findall(m.text)),
                            ("process", PROCESS_TEXT.findall(m.text) + PROCESS_RESOLUTION.findall(m.resolution)),
                            ("article", ARTICLE_TEXT.findall(m.text))):
            found = [w.strip(" .!?").lower() for w in found if w.strip(" .!?")]
            if found:
                hits[kind] += 1
                words[kind].update(set(found))
    scores = {}
    for kind in KINDS:
        share = hits[kind] / n
        weight = 0.5 if kind == "article" else 1.0    # question words occur in any kind of request
        scores[kind] = PRIOR[kind] + (weight * share if share >= MIN_SHARE else 0.0)
    rose = rising and not spike and hits["product"] / n >= MIN_SHARE
    if spike or rose:
        scores["product"] += SPIKE_WEIGHT
    kind = max(KINDS, key=lambda k: (scores[k], -KINDS.index(k)))
    evidence = [w for w, _ in words[kind].most_common(5)]
    if kind == "product" and (spike or rose):
        evidence.append("spike" if spike else "rising")
    confidence = scores[kind] / sum(scores.values()) if sum(scores.values()) else 0.0
    return Fix(kind=kind, confidence=round(confidence, 3), evidence=evidence, source="auto",
               owner=default_owner(kind))


def default_owner(kind: str) -> str | None:
    """The owner planning pre-fills for a topic of ``kind`` (settings owner_article/product/process)."""
    return from_env(f"owner_{kind}")


def override(store, topic_id: str) -> dict | None:
    row = store.db.execute("select kind, by, note, at from topic_fix_kinds where topic_id = ?", [topic_id]).fetchone()
    return dict(zip(("kind", "by", "note", "at"), row, strict=True)) if row else None


def team_fix(kind: str, auto: Fix | None) -> Fix:
    """The fix the team set (keeping what the classifier had seen as evidence)."""
    return Fix(kind=kind, confidence=1.0, evidence=list(auto.evidence) if auto and auto.kind == kind else [],
               source="team", owner=default_owner(kind))


def topic_members(store, topic: Topic, texts: dict[str, str]) -> list[MemberText]:
    """The members of ``topic`` as the classifier reads them (``texts``: item key -> text)."""
    tickets = store.get_tickets([m.id for m in topic.members if m.source == "ticket"])
    return [MemberText(texts.get(f"{m.source}:{m.id}", ""),
                       (tickets.get(m.id) or {}).get("resolution") or "" if m.source == "ticket" else "")
            for m in topic.members]


def attach_fixes(store, entries: dict[str, Topic], texts: dict[str, str], spiking: set[str]) -> None:
    """Give every report entry its fix: the team's kind where it set one, else the classifier's."""
    for topic_id, entry in entries.items():
        auto = classify(topic_members(store, entry, texts), spike=topic_id in spiking, rising=_rising(entry))
        team = override(store, topic_id)
        entry.fix = team_fix(team["kind"], auto) if team else auto


def _rising(entry: Topic) -> bool:
    """A topic that at least tripled from one period to the next (and is not tiny)."""
    t = entry.trend
    return bool(t and t.this_period >= 10 and t.this_period >= 3 * max(1, t.previous_period))


def set_kind(store, topic_id: str, kind: str | None, by: str = "team", note: str = "") -> Fix | None:
    """The team's override of a topic's kind (None: back to the classifier's at the next run). Updates
    the stored report entry at once; returns the topic's fix now."""
    row = store.db.execute("select id, report from gap_topics where upper(id) = upper(?)",
                           [(topic_id or "").strip()]).fetchone()
    if row is None:
        raise NotFoundError(f"no topic {topic_id} (run `deflect gaps` to list topics)")
    topic_id, report = row
    if kind is not None and kind not in KINDS:
        raise InputError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
    entry = json.loads(report or "{}")
    auto = Fix(**entry["fix"]) if entry.get("fix") else None
    at = utcnow_iso()
    with store.db.transaction():
        if kind is None:
            store.db.execute("delete from topic_fix_kinds where topic_id = ?", [topic_id])
            fix = auto if auto and auto.source == "auto" else None
        else:
            store.db["topic_fix_kinds"].upsert({"topic_id": topic_id, "kind": kind, "by": by, "note": note,
                                                "at": at}, pk="topic_id")
            fix = team_fix(kind, auto)
        if fix is not None and report:
            entry["fix"] = fix.to_dict()
            store.db.execute("update gap_topics set report = ? where id = ?",
                             [json.dumps(entry, ensure_ascii=False), topic_id])
        record_event(store, topic_id, "fix_kind", {"kind": kind, "by": by}, at)
    return fix
