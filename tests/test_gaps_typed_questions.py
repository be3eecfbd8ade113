"""On the demo help center (real model): questions typed into the widget join the topic that their
subject's help-desk tickets formed, so the topic counts those customers too; none joins another subject's."""
from __future__ import annotations

import json
import uuid

import numpy as np

from deflect.formats import Inquiry
from deflect.gaps.join_cut import short_text_share, typed_cutoffs

ASKED = {   # a word of the topic's tickets -> widget questions of that subject
    "rätsel": ["Kreuzworträtsel ist weg", "Wo finde ich das Rätsel in der App?", "Rätselseite fehlt seit Montag"],
    "stürzt": ["Die App stürzt ständig ab"],
    "übernehmen": ["Mein Abo soll meine Tochter übernehmen"],
}


def _topic(report: dict, word: str) -> dict:
    found = [t for t in report["topics"] if word in json.dumps(t["examples"], ensure_ascii=False).lower()]
    assert found, f"no topic about {word}: {[t['suggested_title'] for t in report['topics']]}"
    return max(found, key=lambda t: t["size"])


def test_widget_questions_join_the_topic_their_tickets_formed(demo_home):
    from deflect.deflector import Deflector
    from deflect.gaps.report import stored_report
    from deflect.gaps.runs import run_now

    d = Deflector.open(demo_home)
    try:
        run_now(d)   # the first report: the ticket history's topics
        before = stored_report(d.store).to_dict()
        ids = {}
        for questions in ASKED.values():
            for text, s in zip(questions, d.suggest_batch(questions, k=3), strict=True):
                assert s.decision != "answer", text
                ids[text] = uuid.uuid4().hex
                d.store.log_inquiry(Inquiry(ids[text], text, s.language), s.decision, s.confidence,
                                    s.articles[0].id if s.articles else None, channel="widget")
        run_now(d)
        after = stored_report(d.store).to_dict()
    finally:
        d.close()
    for word, questions in ASKED.items():
        old, new = _topic(before, word), _topic(after, word)
        assert new["id"] == old["id"]
        members = {m["id"] for m in new["members"]}
        assert {ids[q] for q in questions} <= members, word
        others = {ids[q] for w, qs in ASKED.items() if w != word for q in qs}
        assert not members & others
        assert new["cost"]["customers"] >= old["cost"]["customers"] + len(questions)


def test_the_typed_cut_follows_what_the_covered_articles_show():
    rng = np.random.default_rng(0)
    dim, X, article, short = 32, [], [], []
    for a in range(4):
        centre = np.eye(dim)[a]
        for _ in range(8):   # tickets: close to their centre
            X.append(centre + 0.3 * rng.normal(size=dim) / np.sqrt(dim))
            article.append(f"a{a}")
            short.append(False)
        for _ in range(3):   # typed questions: further from it
            X.append(centre + 1.0 * rng.normal(size=dim) / np.sqrt(dim))
            article.append(f"a{a}")
            short.append(True)
    X = np.array(X, np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    article, short = np.array(article, dtype=object), np.array(short)
    share = short_text_share(X, np.ones(len(X), bool), short, article)
    assert 0.5 <= share < 0.95
    # too few articles show it: the cut stays
    assert short_text_share(X[:22], np.ones(22, bool), short[:22], article[:22]) == 1.0
    # tickets as short as the questions: nothing changes
    assert short_text_share(X, np.ones(len(X), bool), np.zeros(len(X), bool), article) == 1.0
    # the cut is lowered in proportion to a topic's ticket members; a topic of typed questions keeps its own
    lab = np.array([0, 0, 0, 0, 1, 1])
    typed = typed_cutoffs(np.array([0.6, 0.6]), lab, np.array([False, False, True, True, True, True]), 0.7)
    assert np.allclose(typed, [0.6 * (1 - 0.3 * 0.5), 0.6])
