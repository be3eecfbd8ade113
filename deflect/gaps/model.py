"""The gap report's typed objects: what a run produces, what the store keeps and what the API sends.

Each is a dataclass whose ``to_dict`` gives its JSON; ``json_schema`` derives the JSON schema of a
dataclass from its fields and their types (the OpenAPI document uses it), and ``from_dict`` reads the
JSON back (the stored report).
"""
from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Literal

Status = Literal["new", "planned", "covered", "dismissed"]
STATUSES: tuple[str, ...] = typing.get_args(Status)
OPEN = ("new", "planned")
# The fields of a Topic that its stored row holds (the workflow state), not the report entry.
WORKFLOW = ("status", "owner", "due", "reason", "overdue", "created_at", "planned_at", "covered_at", "covered_by",
            "time_to_coverage_days", "dismissed_at")


def _doc(text: str, default=dataclasses.MISSING, factory=dataclasses.MISSING):
    """A field with a description for the JSON schema."""
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata={"doc": text})
    return field(default=default, metadata={"doc": text})


def _plain(value):
    if dataclasses.is_dataclass(value):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class _Json:
    """``to_dict``: the JSON of the fields, nested objects included."""

    __slots__ = ()

    def to_dict(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclass(slots=True)
class Member:
    source: Literal["ticket", "inquiry"]
    id: str

    def to_dict(self) -> dict:   # a topic has many members: the fast way
        return {"source": self.source, "id": self.id}


@dataclass(slots=True)
class Example(_Json):
    source: Literal["ticket", "inquiry"]
    id: str
    text: str = _doc("The ticket's subject line and the first sentence of its body (an inquiry: its first "
                     "sentence).", "")


@dataclass(slots=True)
class Sources(_Json):
    ticket: int = _doc("Members that are resolved tickets.", 0)
    inquiry: int = _doc("Members that are logged inquiries.", 0)
    channels: dict[str, int] = _doc("Members per channel, most first.", factory=dict)
    languages: dict[str, int] = _doc("Members per language, most first.", factory=dict)


@dataclass(slots=True)
class Trend(_Json):
    this_period: int = _doc("Members created in the last period_days days.", 0)
    previous_period: int = _doc("Members created in the period before.", 0)
    direction: Literal["new", "rising", "falling", "steady"] = "steady"
    period_days: int = 30


@dataclass(slots=True)
class Cost(_Json):
    """How many customers a topic cost lately: each inquiry and ticket is one who did not find an answer (the
    inquiries of one widget session, and a ticket sent with it, are one customer)."""
    customers: int = _doc("Customers of the last ``days`` days: inquiries and tickets, a widget session once.", 0)
    inquiries: int = 0
    tickets: int = 0
    days: int = 30


@dataclass(slots=True)
class NearestArticle(_Json):
    id: str
    title: str
    score: float = _doc("Cosine similarity of the article's nearest document to the topic's centre.", 0.0)


@dataclass(slots=True)
class Evidence(_Json):
    """What the evidence test found (kept so that an unchanged topic is not tested again)."""
    share: float
    hard_share: float
    article: str | None
    fingerprint: str
    tested_size: int


FixKind = Literal["article", "product", "process"]


@dataclass(slots=True)
class Fix(_Json):
    """Which fix a recurring topic needs: an FAQ article, a product repair (defect, outage), or a
    self-service function for what only an agent can do now (refunds, changes to an account)."""
    kind: FixKind = "article"
    confidence: float = _doc("How sure the classifier is (0-1); 1.0 when the team set the kind.", 0.0)
    evidence: list[str] = _doc("The words and signals the kind was read from.", factory=list)
    source: Literal["auto", "team"] = _doc("auto: classified; team: set by the team (sticks to the topic).",
                                           "auto")
    owner: str | None = _doc("The kind's default owner (setting owner_<kind>): pre-fills planning.", None)


@dataclass(slots=True)
class Topic(_Json):
    """One uncovered topic: what the last run found, and its workflow state now."""
    id: str = _doc("Stable topic id (G-0001, never reused).")
    label: str | None = _doc("Distinctive keywords and what the most representative member is about.", None)
    size: int = _doc("Members (tickets and inquiries).", 0)
    status: Status = _doc("Workflow: new -> planned -> covered | dismissed.", "new")
    keywords: list[str] = field(default_factory=list)
    representative: str | None = _doc("The member nearest to the topic's centre.", None)
    suggested_title: str | None = _doc("An article title taken from the representative member.", None)
    language: str | None = _doc("The members' most common language.", None)
    sources: Sources | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    trend: Trend | None = None
    weekly: list[int] = _doc("Members per week over the last 12 weeks, oldest first (the last week ends "
                             "when the report was built).", factory=list)
    cost: Cost | None = _doc("Customers the topic cost in the last 30 days (the report ranks by it).", None)
    examples: list[Example] = _doc("Up to five members that say different things, most representative first.",
                                   factory=list)
    nearest_article: NearestArticle | None = None
    answered_with: dict[str, int] = _doc("Articles the engine answered members with (up to 3).", factory=dict)
    members: list[Member] = field(default_factory=list)
    evidence_share: float | None = _doc("Share of covered material among the members' neighbours.", None)
    evidence: Evidence | None = None
    fix: Fix | None = None
    owner: str | None = None
    due: str | None = _doc("Due date of a planned article, YYYY-MM-DD.", None)
    reason: str | None = _doc("Why the topic was dismissed.", None)
    overdue: bool = _doc("Planned and past its due date.", False)
    created_at: str | None = None
    planned_at: str | None = None
    covered_at: str | None = None
    covered_by: str | None = _doc("The article that covers the topic.", None)
    time_to_coverage_days: float | None = None
    dismissed_at: str | None = None

    def entry_json(self) -> tuple[str, str]:
        """The report entry as stored: (its JSON without members and workflow state, the members' JSON)."""
        entry = self.to_dict()
        members = entry.pop("members")
        for name in WORKFLOW:
            entry.pop(name)
        return json.dumps(entry, ensure_ascii=False), json.dumps(members, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict) -> Topic:
        def obj(kind, value):
            return kind(**value) if value else None
        names = {f.name for f in dataclasses.fields(cls)}
        plain = {k: v for k, v in data.items() if k in names}
        return cls(**{**plain,
                      "sources": obj(Sources, data.get("sources")), "trend": obj(Trend, data.get("trend")),
                      "cost": obj(Cost, data.get("cost")), "weekly": list(data.get("weekly") or []),
                      "examples": [Example(**e) for e in data.get("examples") or []],
                      "nearest_article": obj(NearestArticle, data.get("nearest_article")),
                      "members": [Member(m["source"], m["id"]) for m in data.get("members") or []],
                      "evidence": obj(Evidence, data.get("evidence")),
                      "fix": obj(Fix, data.get("fix")),
                      "keywords": list(data.get("keywords") or []),
                      "answered_with": dict(data.get("answered_with") or {})})


WhyReason = Literal["wording", "language", "sibling", "doubt", "new"]


@dataclass(slots=True)
class Why(_Json):
    """Why one phrasing did not find its article, and the fix."""
    text: str
    inquiry: str
    reason: WhyReason
    fix: str = _doc("What to do about it (nothing for new).", "")
    missing_words: list[str] = _doc("wording: the customer's words the article and its questions lack.",
                                    factory=list)
    twin: str | None = _doc("language: the article's version in another language (its id).", None)
    twin_title: str | None = None
    sibling: str | None = _doc("sibling: the article that outranked it (its id).", None)
    sibling_title: str | None = None
    confidence: float | None = _doc("doubt: the confidence of the first (right) article.", None)
    greyed: bool = _doc("new: the article is younger than the inquiry; nothing to fix.", False)


@dataclass(slots=True)
class NotFound(_Json):
    """Inquiries that got no (or a wrong) answer although agents resolved such questions with an article."""
    article_id: str
    title: str
    count: int = _doc("Inquiries in this group.", 0)
    reasons: dict[str, int] = _doc("Inquiries per reason: no_answer, wrong_article.", factory=dict)
    inquiries: list[str] = _doc("The inquiries' ids.", factory=list)
    phrasings: list[str] = _doc("Phrasings to add to the article's questions (up to 10).", factory=list)
    why: list[Why] = _doc("Per phrasing: why the article was not found, with its evidence.", factory=list)

    @classmethod
    def from_dict(cls, data: dict) -> NotFound:
        return cls(**{**data, "why": [Why(**w) for w in data.get("why") or []]})


@dataclass(slots=True)
class Params(_Json):
    min_size: int = _doc("Members a topic needs.")
    period_days: int = _doc("Length of the trend period.")
    distance_threshold: float = _doc("Cosine distance at which clusters stop merging.")
    max_evidence_share: float = 1.0
    near_miss: float = _doc("Unanswered items at least this likely right are no gap material.", 0.5)


@dataclass(slots=True)
class Counts(_Json):
    items: int = 0
    tickets: int = 0
    inquiries: int = 0
    linked: int = 0
    answered: int = 0
    not_answered: int = 0
    judged_now: int = 0
    in_covered_regions: int = 0
    labelled: int = _doc("Labelled questions of the last calibration file, counted as covered material.", 0)
    topics: int = _doc("Topics listed (with the status asked for).", 0)
    not_found_reasons: dict[str, int] = _doc("Phrasings of the not-found list per reason (wording, language, "
                                             "sibling, doubt, new).", factory=dict)


@dataclass(slots=True)
class RunOptions(_Json):
    """What a run is asked for; a run without them takes the last report's (else the defaults)."""
    min_size: int | None = None
    period_days: int | None = None


@dataclass(slots=True)
class Run(_Json):
    """One build of the stored report."""
    id: int
    state: Literal["running", "done", "failed"]
    trigger: str = _doc("What started it: api, cli, index, article.", "api")
    options: RunOptions = field(default_factory=RunOptions)
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None


@dataclass(slots=True)
class Report(_Json):
    """The report: when it was built, with what, what it found, and the topics listed."""
    generated_at: str | None = _doc("When the stored report was built (null: never).", None)
    params: Params | None = None
    counts: Counts | None = None
    topics: list[Topic] = field(default_factory=list)
    not_found: list[NotFound] = field(default_factory=list)
    run: Run | None = _doc("The latest run (it may still be running).", None)


# -- the JSON schema of these types -----------------------------------------------------------------
_SCALARS = {str: {"type": "string"}, int: {"type": "integer"}, float: {"type": "number"},
            bool: {"type": "boolean"}, type(None): {"type": "null"}}


def _schema(tp, ref) -> dict:
    origin = typing.get_origin(tp)
    if tp in _SCALARS:
        return dict(_SCALARS[tp])
    if dataclasses.is_dataclass(tp):
        return ref(tp)
    if origin is Literal:
        return {"type": "string", "enum": list(typing.get_args(tp))}
    if origin is list:
        return {"type": "array", "items": _schema(typing.get_args(tp)[0], ref)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema(typing.get_args(tp)[1], ref)}
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        simple = [a for a in args if a in _SCALARS]
        if len(simple) == len(args):
            return {"type": [_SCALARS[a]["type"] for a in args]}
        return {"oneOf": [_schema(a, ref) for a in args]}
    raise TypeError(f"no JSON schema for {tp!r}")


def json_schema(cls: type, ref=None) -> dict:
    """The JSON schema of dataclass ``cls``: every field a property (all present in its JSON), no
    others. ``ref(type)`` gives the schema used for a nested dataclass (default: its own, inline)."""
    ref = ref or (lambda t: json_schema(t, ref))
    hints = typing.get_type_hints(cls)
    props = {}
    for f in dataclasses.fields(cls):
        prop = _schema(hints[f.name], ref)
        if f.metadata.get("doc"):
            prop = {**prop, "description": f.metadata["doc"]}
        props[f.name] = prop
    schema = {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}
    if cls.__doc__ and not cls.__doc__.startswith(f"{cls.__name__}("):
        schema["description"] = cls.__doc__.strip()
    return schema


def nested_types(cls: type) -> list[type]:
    """``cls`` and every dataclass its fields use, each once."""
    out: list[type] = []

    def visit(tp) -> None:
        if dataclasses.is_dataclass(tp):
            if tp in out:
                return
            out.append(tp)
            for hint in typing.get_type_hints(tp).values():
                visit(hint)
        for arg in typing.get_args(tp):
            visit(arg)
    visit(cls)
    return out
