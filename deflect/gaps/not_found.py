"""The "not found although covered" list: inquiries that got no answer or a wrong article although
agents resolved the same kind of ticket with an existing article."""
from __future__ import annotations

from collections import Counter

import numpy as np

from deflect.gaps.describe import norm
from deflect.gaps.items import ArticleDocs, Item, Judgements
from deflect.gaps.model import NotFound


def not_found(items: list[Item], V: np.ndarray, lab: np.ndarray, in_topic: set[int], judged: Judgements,
              docs: ArticleDocs, k: int = 10, min_votes: float = 0.6, floor: float = 0.5,
              questions: dict[str, set[str]] | None = None) -> list[NotFound]:
    """Per article, the inquiries (not in a gap topic) whose nearest linked tickets and article
    documents mostly belong to that article, with the phrasings to add to its questions. ``V`` and
    ``docs.vectors`` lie in one space; ``floor``: the similarity a neighbour needs to count."""
    decision, article = judged.decision, judged.article
    linked = judged.is_("linked")
    gap_rows = np.array([int(lab[i]) in in_topic for i in range(len(items))], bool)
    look = [i for i, it in enumerate(items) if it.source == "inquiry" and not gap_rows[i]
            and (it.logged_decision == "no_answer" or decision[i] == "no_answer"
                 or (it.logged_article and it.logged_article != article[i]))]
    if not look or not (linked.any() or len(docs.vectors)):
        return []
    E = np.vstack([V[linked], docs.vectors]) if len(docs.vectors) else V[linked]
    e_art = np.r_[np.array([items[i].linked for i in np.flatnonzero(linked)], dtype=object),
                  np.array(docs.ids, dtype=object)]
    kk = min(k, len(E))
    groups: dict[str, NotFound] = {}
    seen: dict[str, set[str]] = {}
    for start in range(0, len(look), 1024):
        part = np.array(look[start:start + 1024])
        sims = V[part] @ E.T
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        for row, i in enumerate(part):
            nb = top[row]
            w = np.maximum(sims[row, nb], 0) ** 4
            votes: Counter = Counter()
            for a, x in zip(e_art[nb], w, strict=False):
                votes[a] += float(x)
            if not votes:
                continue
            best, mass = votes.most_common(1)[0]
            it = items[i]
            if mass < min_votes * sum(votes.values()) or best not in docs.titles:
                continue
            if max(float(x) for a, x in zip(e_art[nb], sims[row, nb], strict=True) if a == best) < floor:
                continue  # nothing the agents answered with that article is as close as a topic's members
            reason = "no_answer" if (it.logged_decision or decision[i]) in ("no_answer", "suggest") else "wrong_article"
            if reason == "wrong_article" and (it.logged_article or article[i]) == best:
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
    return sorted(groups.values(), key=lambda g: (-g.count, g.article_id))
