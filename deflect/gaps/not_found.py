"""The "not found although covered" list: inquiries that got no answer or a wrong article although
agents resolved the same kind of question with an existing article, with the reason per phrasing
(``deflect.gaps.why``).

The members of the report's open gap topics are among the neighbours, each topic's voting for itself: an
inquiry whose neighbourhood vote goes mostly to one open topic is asking that gap's question, not a covered
one it missed.

An inquiry is listed for an article only when the evidence says the article answers it: most of the
vote of its nearest linked tickets and article documents goes to that article, and the inquiry is as
close to the article's material as the tickets agents answered with it are (a relevance floor per
article; below it, most of the customer's own words must occur in the article), so off-topic and
out-of-domain inquiries are never listed. For an inquiry the engine left
unanswered (no answer, or only articles that might help), the article it ranked first is the one named
when the neighbourhood supports it: the engine's ranking learnt from the agents' links which article
they use for such a question. Where the engine now ranks another article first (one written since), its
judgement now counts, not what it showed then. Where the engine found nothing relevant (no answer), that article and the
neighbourhood's own choice must together hold most of the vote."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from deflect.gaps.describe import norm
from deflect.gaps.items import ArticleDocs, Item, Judgements
from deflect.gaps.model import NotFound
from deflect.gaps.why import ArticleFacts, explain, missing_words


@dataclass(frozen=True)
class GapVote:
    """A neighbour that is a member of the open gap topic ``topic`` (a cluster of the report)."""
    topic: int


COHESION_PERCENTILE = 25    # the article's floor: this percentile of its linked tickets' closeness to it
MIN_LINKED = 3              # linked tickets an article needs for a floor of its own
FIRST_SUPPORT = 0.25        # the engine's first article needs this share of the winner's vote to be named
WORD_SUPPORT = 0.6          # below the floor, this share of the customer's words must occur in the article


def _floors(V: np.ndarray, linked_rows: np.ndarray, linked_art: np.ndarray, docs: ArticleDocs,
            floor: float) -> dict[str, float]:
    """Per article: how close the tickets agents answered with it are to its documents (a low percentile),
    never below ``floor`` nor above halfway from it to 1."""
    out: dict[str, float] = {}
    if not len(docs.vectors) or not len(linked_rows):
        return out
    ids = np.array(docs.ids, dtype=object)
    for art in set(linked_art):
        rows = linked_rows[linked_art == art]
        own = docs.vectors[ids == art]
        if len(rows) >= MIN_LINKED and len(own):
            closeness = (V[rows] @ own.T).max(axis=1)
            # never above halfway from ``floor`` to 1: near-duplicate tickets must not demand near-duplicates
            out[art] = max(floor, min(float(np.percentile(closeness, COHESION_PERCENTILE)), (1.0 + floor) / 2))
    return out


def not_found(items: list[Item], V: np.ndarray, lab: np.ndarray, in_topic: set[int], judged: Judgements,
              docs: ArticleDocs, k: int = 10, min_votes: float = 0.6, floor: float = 0.5,
              questions: dict[str, set[str]] | None = None, facts: dict[str, ArticleFacts] | None = None,
              created: dict[str, str | None] | None = None, open_topics: set[int] | None = None) -> list[NotFound]:
    """Per article, the inquiries (not in a gap topic) whose nearest linked tickets and article
    documents mostly belong to that article, with the phrasings to add to its questions and why each
    was not found. ``V`` and ``docs.vectors`` lie in one space; ``floor``: the similarity a neighbour
    needs to count at least; ``facts``/``created``: the articles, for the reasons; ``open_topics``: the
    clusters of ``lab`` that are open gap topics (their members vote for their topic)."""
    decision, article = judged.decision, judged.article
    linked = judged.is_("linked")
    gap_rows = np.array([int(lab[i]) in in_topic for i in range(len(items))], bool)
    look = [i for i, it in enumerate(items) if it.source == "inquiry" and not gap_rows[i]
            and (it.logged_decision == "no_answer" or decision[i] == "no_answer"
                 or (it.logged_article and it.logged_article != article[i]))]
    if not look or not (linked.any() or len(docs.vectors)):
        return []
    linked_rows = np.flatnonzero(linked)
    linked_art = np.array([items[i].linked for i in linked_rows], dtype=object)
    # the open gap topics' members are neighbours too, each voting for its topic (see the module's doc)
    voters = np.flatnonzero(np.isin(lab[:len(items)], sorted(open_topics or ())))
    E = np.vstack([V[linked], docs.vectors, V[voters]]) if len(docs.vectors) else np.vstack([V[linked], V[voters]])
    e_art = np.r_[linked_art, np.array(docs.ids, dtype=object),
                  np.array([GapVote(int(lab[r])) for r in voters], dtype=object)]
    floors = _floors(V, linked_rows, linked_art, docs, floor)
    kk = min(k, len(E))
    groups: dict[str, NotFound] = {}
    seen: dict[str, set[str]] = {}
    for start in range(0, len(look), 1024):
        part = np.array(look[start:start + 1024])
        sims = V[part] @ E.T
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        for row, i in enumerate(part):
            it = items[i]
            best = _target(it, sims[row], top[row], e_art, floors, floor, min_votes,
                           decision[i], article[i], docs.titles, facts)
            if best is None:
                continue
            reason = "no_answer" if (it.logged_decision or decision[i]) in ("no_answer", "suggest") else "wrong_article"
            first = it.logged_article or article[i]
            if reason == "wrong_article" and first == best:
                continue
            g = groups.setdefault(best, NotFound(best, docs.titles.get(best, best)))
            g.count += 1
            g.reasons[reason] = g.reasons.get(reason, 0) + 1
            g.inquiries.append(it.id)
            text = norm(it.text)
            known = (questions or {}).get(best, set())
            phrasings = seen.setdefault(best, set())
            if text not in phrasings and text not in known and len(g.phrasings) < 10:
                phrasings.add(text)
                g.phrasings.append(it.text[:300])
                if facts and best in facts:
                    conf = it.logged_confidence if it.logged_confidence is not None else judged.confidence[i]
                    g.why.append(explain(it.text[:300], it.id, it.language, it.created_at, best, first,
                                         conf, facts, created))
    return sorted(groups.values(), key=lambda g: (-g.count, g.article_id))


def _target(it: Item, sims: np.ndarray, nb: np.ndarray, e_art: np.ndarray, floors: dict[str, float],
            floor: float, min_votes: float, decision: str, first: str | None, titles: dict,
            facts: dict[str, ArticleFacts] | None) -> str | None:
    """The article that answers the inquiry by the evidence, or None (off-topic, out of domain, unclear)."""
    w = np.maximum(sims[nb], 0) ** 4
    votes: Counter = Counter()
    gaps: Counter = Counter()   # the votes of open gap topics' members, per topic
    closest: dict[str, float] = {}
    for a, x, s in zip(e_art[nb], w, sims[nb], strict=True):
        if isinstance(a, GapVote):
            gaps[a.topic] += float(x)
            continue
        votes[a] += float(x)
        closest[a] = max(closest.get(a, -1.0), float(s))
    if not votes:
        return None
    best, mass = votes.most_common(1)[0]
    total = sum(votes.values()) + sum(gaps.values())
    if gaps and max(gaps.values()) >= min_votes * total:   # that gap's question
        return None
    # what the engine said when the inquiry was logged, unless it now ranks another article first: the
    # one it showed then may predate the article written since for its question
    moved = first is not None and first != it.logged_article
    engine_first = first if moved else it.logged_article or first
    support = votes.get(engine_first, 0.0) if engine_first else 0.0
    said = decision if moved else it.logged_decision or decision
    # the engine's first article is named when the neighbourhood backs it, and either the engine found it
    # relevant ("suggest") or the neighbourhood is not scattered: a question about nothing in the help
    # center spreads its vote over many articles, and whichever the engine ranked first would be named
    if said in ("no_answer", "suggest") and engine_first and engine_first != best \
            and support >= FIRST_SUPPORT * mass and (said == "suggest" or support + mass >= min_votes * total):
        best, mass = engine_first, support
    elif mass < min_votes * total:
        return None
    if best not in titles or closest.get(best, -1.0) < floor:
        return None
    if closest[best] < floors.get(best, floor):   # less close than what agents answered with it:
        if facts is None or best not in facts or missing_words(it.text, facts[best])[1] > 1 - WORD_SUPPORT:
            return None                            # only its own words can still make it relevant
    return best
