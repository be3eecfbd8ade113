"""The learned boost and its guards: caps per session and client, a minimum of distinct sessions,
decay, and "not helpful" lowering an article."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from deflect.index.learned import LearnedBoost, LearningParams

ARTICLES = ["right", "wrong"]
NOW = datetime(2026, 1, 10, tzinfo=UTC)


def unit(*xs: float) -> np.ndarray:
    v = np.array(xs, np.float32)
    return v / np.linalg.norm(v)


QUERY = unit(1, 0, 0)
NEAR = unit(1, 0.05, 0)       # a phrasing very like the query
FAR = unit(0, 1, 0)


def rows(n: int, article: str, weight: float = 1.0, sessions: int | None = None, clients: int | None = None,
         age_days: float = 0.0) -> list[dict]:
    at = (NOW - timedelta(days=age_days)).isoformat()
    return [{"id": f"{article}-{weight}-{i}", "article_id": article, "weight": weight,
             "session": f"s{i % (sessions or n)}", "client": f"c{i % (clients or n)}", "created_at": at}
            for i in range(n)]


def boost(evidence: list[dict], vectors: np.ndarray | None = None, **params) -> dict[str, float]:
    vectors = vectors if vectors is not None else np.stack([NEAR] * len(evidence))
    learned = LearnedBoost.build(evidence, vectors, LearningParams(**params), now=NOW)
    return dict(zip(ARTICLES, learned.boost(QUERY[None, :], ARTICLES)[0].tolist()))


def test_helpful_votes_from_enough_sessions_raise_the_article():
    b = boost(rows(10, "right"))
    assert b["right"] == pytest.approx(0.3 * np.tanh(10 * 0.98 / 3), rel=0.05) and b["wrong"] == 0


def test_not_helpful_lowers_it():
    assert boost(rows(10, "wrong", weight=-1.0))["wrong"] < -0.2


def test_a_flood_from_few_sessions_moves_nothing():
    # 500 votes from 5 sessions (5 clients): below the minimum of distinct sessions
    assert boost(rows(500, "wrong", sessions=5, clients=5)) == {"right": 0.0, "wrong": 0.0}


def test_one_session_and_one_client_are_capped():
    one_session = boost(rows(100, "wrong", sessions=1), min_sessions=1)["wrong"]
    assert one_session == pytest.approx(0.3 * np.tanh(1.0 * 0.98 / 3), rel=0.05)  # 100 votes count as one
    one_client = boost(rows(100, "wrong", clients=1), min_sessions=1)["wrong"]
    assert one_client == pytest.approx(0.3 * np.tanh(3.0 * 0.98 / 3), rel=0.05)  # client cap 3


def test_far_phrasings_do_not_count_and_old_evidence_decays():
    assert boost(rows(10, "right"), np.stack([FAR] * 10)) == {"right": 0.0, "wrong": 0.0}
    fresh = boost(rows(10, "right"))["right"]
    old = boost(rows(10, "right", age_days=180))["right"]
    assert 0 < old < fresh
    assert old == pytest.approx(0.3 * np.tanh(10 * 0.98 * 0.25 / 3), rel=0.05)   # two half-lives


def log_odds(evidence: list[dict], article: str = "right", **params) -> float:
    learned = LearnedBoost.build(evidence, np.stack([NEAR] * len(evidence)), LearningParams(**params), now=NOW)
    return float(learned.log_odds(QUERY[None, :], ARTICLES, np.array([ARTICLES.index(article)]))[0])


def test_votes_of_enough_sessions_move_the_confidence_of_the_first_article_by_bayes_rule():
    near = (0.05 ** 2 + 1) ** -0.5   # cosine of NEAR and QUERY
    nearness = (near - 0.65) / 0.35
    # each helpful vote multiplies the odds by (1 - 0.25) / 0.25 = 3, weighted by nearness
    assert log_odds(rows(10, "right")) == pytest.approx(10 * nearness * np.log(3), rel=1e-4)
    # ten helpful and eight not helpful: the net two votes count
    mixed = rows(10, "right") + [dict(r, id=f"n{i}", session=f"t{i}", client=f"d{i}")
                                 for i, r in enumerate(rows(8, "right", weight=-1.0))]
    assert log_odds(mixed) == pytest.approx(2 * nearness * np.log(3), rel=1e-4)
    assert log_odds(rows(10, "wrong", weight=-1.0), "wrong") == pytest.approx(-10 * nearness * np.log(3), rel=1e-4)


def test_a_flood_from_few_sessions_does_not_move_the_confidence():
    assert log_odds(rows(500, "wrong", sessions=5, clients=5), "wrong") == 0.0
    assert log_odds(rows(7, "right")) == 0.0   # below the minimum of distinct sessions (8)


def test_helpful_votes_for_another_article_near_it_count_against_the_first():
    near = (0.05 ** 2 + 1) ** -0.5
    nearness = (near - 0.65) / 0.35
    # similar phrasings found their answer in "wrong" ten times: "right" is less likely right here
    assert log_odds(rows(10, "wrong")) == pytest.approx(-10 * nearness * np.log(3), rel=1e-4)


def test_lowering_needs_three_agreeing_sessions_raising_still_eight():
    # three customers (three sessions and addresses) said the article did not help: it is lowered ...
    assert boost(rows(3, "wrong", weight=-1.0))["wrong"] < -0.5
    # ... two cannot, and three saying it helped cannot raise it
    assert boost(rows(2, "wrong", weight=-1.0))["wrong"] == 0.0
    assert boost(rows(3, "right")) == {"right": 0.0, "wrong": 0.0}
    # one session or one address voting many times is still one voice
    assert boost(rows(30, "wrong", weight=-1.0, sessions=1))["wrong"] == 0.0
    assert boost(rows(30, "wrong", weight=-1.0, clients=1))["wrong"] == 0.0


def test_a_lowering_can_take_an_article_out_of_first_place_a_raise_stays_small():
    down = boost(rows(30, "wrong", weight=-1.0))["wrong"]
    up = boost(rows(30, "right"))["right"]
    assert down == pytest.approx(-1.0 * np.tanh(30 * 0.98 / 3), rel=0.05)   # max_drop 1.0
    assert up == pytest.approx(0.3 * np.tanh(30 * 0.98 / 3), rel=0.05)     # max_boost 0.3


def test_three_sessions_saying_not_helpful_lower_the_confidence_of_the_first_article():
    near = (0.05 ** 2 + 1) ** -0.5
    nearness = (near - 0.65) / 0.35
    assert log_odds(rows(3, "wrong", weight=-1.0), "wrong") == pytest.approx(-3 * nearness * np.log(3), rel=1e-4)
    assert log_odds(rows(2, "wrong", weight=-1.0), "wrong") == 0.0


def test_one_address_opening_many_sessions_is_one_voice():
    assert boost(rows(30, "right", clients=1)) == {"right": 0.0, "wrong": 0.0}


def agent_choices(n: int, article: str, agents: int) -> list[dict]:
    """``n`` agents' choices of ``article`` (weight 2, one inquiry each), spread over ``agents`` agents."""
    return [dict(r, kind="agent_choice", weight=2.0, session=f"agent-choice:{i}", client=f"agent:{i % agents}")
            for i, r in enumerate(rows(n, article))]


def test_one_agent_alone_cannot_move_an_article_two_agreeing_agents_can():
    assert boost(agent_choices(50, "wrong", agents=1)) == {"right": 0.0, "wrong": 0.0}
    assert log_odds(agent_choices(50, "wrong", agents=1), "wrong") == 0.0
    two = boost(agent_choices(2, "right", agents=2))["right"]
    assert two == pytest.approx(0.3 * np.tanh(2 * 2.0 * 0.98 / 3), rel=0.05)   # two inquiries, far fewer than 8
    assert log_odds(agent_choices(2, "right", agents=2), "right") > np.log(3)
    many = boost(agent_choices(100, "right", agents=2))["right"]
    assert many == pytest.approx(0.3 * np.tanh(2 * 3.0 / 3), rel=0.01)   # each agent capped at 3 there


def test_resolved_tickets_count_per_ticket_and_customer_floods_stay_powerless():
    resolved = [dict(r, kind="resolved", weight=2.0, client=f"ticket:{i // 5}") for i, r in enumerate(rows(5, "right"))]
    assert boost(resolved)["right"] == 0.0                 # one ticket with five searches: one voice
    flood = rows(500, "wrong", sessions=5, clients=5)
    assert boost(flood + agent_choices(1, "right", agents=1)) == {"right": 0.0, "wrong": 0.0}


def test_an_agents_choice_and_the_ticket_of_the_same_customer_are_one_voice():
    choice = [dict(r, kind="agent_choice", weight=2.0, session="customer-1", client="agent:a")
              for r in rows(1, "wrong")]
    ticket = [dict(r, id="t", kind="resolved", weight=2.0, session="customer-1", client="ticket:9")
              for r in rows(1, "wrong")]
    assert boost(choice + ticket) == {"right": 0.0, "wrong": 0.0}
    other = [dict(r, id="t2", kind="resolved", weight=2.0, session="customer-2", client="ticket:10")
             for r in rows(1, "wrong")]
    assert boost(choice + ticket + other)["wrong"] > 0.0      # a second customer's case: two voices


def test_votes_move_the_confidence_without_overflow_at_the_ends(recwarn):
    from deflect.index.learned import with_votes
    got = with_votes(np.array([0.5, 1.0, 0.0, 0.9], np.float32), np.array([np.log(3), -5000.0, 5000.0, 0.0]))
    assert got[0] == pytest.approx(0.75) and got[3] == pytest.approx(0.9)
    assert got[1] < 1e-6 and got[2] > 1 - 1e-6 and np.isfinite(got).all()
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]



def test_voices_count_the_distinct_customers_near_a_query_per_direction():
    evidence = rows(10, "right", sessions=4) + rows(6, "wrong", weight=-1.0, clients=2)
    far = rows(5, "right")
    for r in far:
        r["session"] = "far-" + r["session"]
    vectors = np.stack([NEAR] * 16 + [FAR] * 5)
    learned = LearnedBoost.build(evidence + far, vectors, LearningParams(), now=NOW)
    up, down = learned.voices(QUERY, ARTICLES)
    # 4 sessions for "right" (the far ones do not count); 6 sessions against "wrong", but from 2 addresses
    assert up.tolist() == [4, 0] and down.tolist() == [0, 2]


def test_votes_against_the_answer_leave_no_might_help_made_of_its_share(demo_deflector, monkeypatch):
    """Customers said the confident answer is wrong: what made "the right one is among those shown" likely
    was that answer, so the others are not shown as "might help" on its account."""
    import numpy as np

    class Against:
        def __len__(self):
            return 1

        def boost(self, vectors, ids):   # no move of the ranking: only the votes on the first article
            return 0.0

        def log_odds(self, vectors, ids, firsts):
            return np.full(len(vectors), -12.0)

    question = "Wie kündige ich mein Zeitungsabo?"
    before = demo_deflector.suggest(question)
    assert before.decision == "answer" and before.confidence > 0.8
    monkeypatch.setattr(demo_deflector, "learned", Against())
    after = demo_deflector.suggest_batch([question])[0]
    assert after.confidence < 0.01 and after.decision == "no_answer"
