"""The widget's three answers (answer | suggest | no_answer) without the model: the relevance floor, the
API's decision and ``shown``, the results page /search, the metrics and the gap report's reading of
"suggest" inquiries by their feedback."""
from __future__ import annotations

import html
import re
import uuid
from datetime import date

import numpy as np
import pytest
from api_support import make_app

from deflect.decision.calibrator import Calibrator
from deflect.decision.floor import (
    DEFAULT_FLOOR_SHARE,
    MIN_CROSS_LANGUAGE_ROWS,
    RelevanceFloor,
    decide,
    fit_floor,
    relevance,
    shown_count,
)
from deflect.gaps.found import by_feedback, found_articles, turned_away
from deflect.gaps.items import Judgements
from deflect.settings import load
from deflect.store import Store

# every test here runs on both store backends (SQLite, PostgreSQL): see conftest.database
pytestmark = pytest.mark.usefixtures("database")

ANSWERED = "Abo kündigen"                 # every word in the article: the answer
SUGGESTED = "Kündigung Aktien Börse"      # one word of three: not sure, but relevant
UNCOVERED = "Aktien kaufen Börse Depot"   # nothing relevant


# -- the decision ------------------------------------------------------------------------------------
def test_shown_articles_per_decision():
    assert shown_count("answer", [0.9, 0.2, 0.1]) == 1
    assert shown_count("answer", [0.5, 0.45, 0.1]) == 2          # nearly tied: both
    assert shown_count("suggest", [0.4, 0.3, 0.25, 0.2]) == 3    # never more than three
    assert shown_count("suggest", [0.4, 0.1, 0.05]) == 1         # far weaker ones are left out
    assert shown_count("no_answer", [0.9, 0.8]) == 0
    assert shown_count("suggest", []) == 0


def test_decide_answers_suggests_or_says_no():
    assert decide(0.9, 0.8, 0.9, 0.5, True) == "answer"
    assert decide(0.6, 0.8, 0.7, 0.5, True) == "suggest"
    assert decide(0.6, 0.8, 0.3, 0.5, True) == "no_answer"
    assert decide(0.9, 0.8, 0.9, 0.5, False) == "no_answer"


def _calibration_rows(n: int = 200, seed: int = 0):
    """Rows whose first feature says how likely the right article is among the first ones."""
    rng = np.random.default_rng(seed)
    features = rng.random((n, 8))
    expected = ["a" if rng.random() < 0.15 + 0.8 * f else None for f in features[:, 0]]
    ranked = [[("a", 0.6), ("b", 0.5)] if f > 0.3 else [("b", 0.6), ("a", 0.1)] for f in features[:, 0]]
    return features, ranked, expected


def test_the_floor_is_fitted_on_the_calibration_rows_and_kept_with_the_calibration(tmp_path):
    features, ranked, expected = _calibration_rows()
    answered = features[:, 0] > 0.9
    floor = fit_floor(features, ranked, expected, answered)
    assert floor is not None and 0.0 < floor.floor_ < 1.0
    proba = floor.predict_proba(features)
    assert np.corrcoef(proba, features[:, 0])[0, 1] > 0.5   # it learned what makes the right one likely

    cal = Calibrator().fit(features, np.array([e == "a" and r[0][0] == "a" for e, r in zip(expected, ranked)]))
    cal.floor_ = floor
    store = Store(tmp_path / "c.db")
    cal.save(store, "labelled")
    again = Calibrator.load(store)
    assert isinstance(again.floor_, RelevanceFloor) and again.floor_.floor_ == floor.floor_
    assert np.allclose(again.floor_.predict_proba(features), proba)
    # a calibration saved before the floor existed still loads, with the default floor
    data = store.get_setting("calibration")
    data.pop("suggest_floor")
    store.set_setting("calibration", data)
    assert Calibrator.load(store).floor_ is None


def test_a_question_less_similar_than_any_found_one_is_never_suggested(tmp_path):
    """Calibration rows hold only questions of the help center's domain; one about something else
    entirely must not be suggested articles because the model extrapolates."""
    features, ranked, expected = _calibration_rows()
    floor = fit_floor(features, ranked, expected, features[:, 0] > 0.9, similarity_column=6)
    assert floor.min_similarity_ is not None
    odd = features[:1].copy()
    odd[0, 6] = floor.min_similarity_ - 0.01
    assert floor.predict_proba(odd)[0] == 0.0
    # ... unless the confidence itself says the first article is likely right: then it is among those shown
    proba, value = relevance(floor, odd, np.array([0.7]), 0.8)
    assert proba[0] == 0.7 and decide(0.7, 0.8, proba[0], value, True) == "suggest"
    assert relevance(floor, odd, np.array([0.05]), 0.8)[0][0] == 0.05 < value
    store = Store(tmp_path / "c.db")
    cal = Calibrator().fit(features, np.array([e == "a" for e in expected]))
    cal.floor_ = floor
    cal.save(store, "labelled")
    assert Calibrator.load(store).floor_.predict_proba(odd)[0] == 0.0


def test_a_question_in_another_language_than_its_article_has_a_guard_of_its_own(tmp_path):
    """Found cross-language rows are less similar to their article: they get a guard moved by that gap
    (a right English question on a German article is suggested), same-language rows keep theirs; with
    too few such rows, or from a calibration saved before, one guard for all."""
    rng = np.random.default_rng(1)
    n = 400
    features = rng.random((n, 8))
    cross = np.arange(n) % 10 == 0                      # one row in ten asks in another language
    features[:, 6] = np.clip(rng.normal(0.6, 0.05, n) - 0.15 * cross, 0.0, 1.0)
    expected = ["a" if rng.random() < 0.3 + 0.6 * f else None for f in features[:, 0]]
    ranked = [[("a", 0.6), ("b", 0.5)] if f > 0.3 else [("b", 0.6), ("a", 0.1)] for f in features[:, 0]]
    pooled = fit_floor(features, ranked, expected, np.zeros(n, bool), similarity_column=6)
    floor = fit_floor(features, ranked, expected, np.zeros(n, bool), similarity_column=6, cross_language=cross)
    found = np.array([e == "a" and r[0][0] == "a" for e, r in zip(expected, ranked)])
    assert (found & cross).sum() >= MIN_CROSS_LANGUAGE_ROWS and pooled.cross_language_min_similarity_ is None
    assert floor.cross_language_min_similarity_ < floor.min_similarity_ - 0.1   # the gap of 0.15, about
    assert floor.min_similarity_ >= pooled.min_similarity_                    # same-language rows alone
    english = features[:2].copy()
    english[:, 0], english[:, 6] = 0.9, floor.min_similarity_ - 0.05         # likely, but less similar
    assert floor.predict_proba(english)[0] == 0.0                             # in its article's language: kept out
    assert floor.predict_proba(english, np.array([True, False]))[0] > 0.0    # in another: let through
    assert floor.predict_proba(english, np.array([True, False]))[1] == 0.0
    # kept with the calibration; one saved before there was a cross-language guard has one guard for all
    store = Store(tmp_path / "c.db")
    cal = Calibrator().fit(features, found)
    cal.floor_ = floor
    cal.save(store, "labelled")
    assert Calibrator.load(store).floor_.predict_proba(english, np.array([True, False]))[0] > 0.0
    data = store.get_setting("calibration")
    data["suggest_floor"].pop("cross_language_min_similarity")
    store.set_setting("calibration", data)
    assert Calibrator.load(store).floor_.predict_proba(english, np.array([True, True])).tolist() == [0.0, 0.0]
    # too few found cross-language rows: their gap is not known, the pooled guard applies to all
    few = cross & (np.cumsum(found & cross) < MIN_CROSS_LANGUAGE_ROWS)
    assert fit_floor(features, ranked, expected, np.zeros(n, bool), similarity_column=6,
                     cross_language=few).cross_language_min_similarity_ is None


def test_candidates_are_shown_where_the_right_one_is_among_them_two_times_in_five():
    """Up to three titles beside the way to a human cost the customer a moment; a right one among them
    saves a contact: "might help" where the right article is among them at least one time in three."""
    x = np.r_[np.ones(20), np.zeros(20)]           # 20 alike inquiries, 8 with the right article among three
    features = np.c_[x, np.zeros(40)]
    ranked = [[("a", 1.0), ("b", 0.9), ("c", 0.8)]] * 40
    expected = ["a"] * 8 + [None] * 32
    floor = fit_floor(features, ranked, expected, np.zeros(40, bool))
    proba = floor.predict_proba(features)
    assert (proba[:20] >= floor.floor_).all() and (proba[20:] < floor.floor_).all()
    strict = fit_floor(features, ranked, expected, np.zeros(40, bool), cost=1.0)   # one miss weighs one find
    assert (strict.predict_proba(features) < strict.floor_).all()


def test_no_floor_from_too_few_or_one_sided_rows_and_the_default_then():
    features, ranked, expected = _calibration_rows(10)
    assert fit_floor(features, ranked, expected, np.zeros(10, bool)) is None
    features, ranked, _ = _calibration_rows(100)
    assert fit_floor(features, ranked, [None] * 100, np.zeros(100, bool)) is None
    conf = np.array([0.2, 0.5])
    proba, floor = relevance(None, np.zeros((2, 8)), conf, 0.8)
    assert list(proba) == [0.2, 0.5] and floor == DEFAULT_FLOOR_SHARE * 0.8


def test_the_setting_moves_the_floor():
    assert load(env={"DEFLECT_SUGGEST_FLOOR": "0.3"})["suggest_floor"] == 0.3
    assert load(env={})["suggest_floor"] is None
    features, ranked, expected = _calibration_rows()
    floor = fit_floor(features, ranked, expected, np.zeros(len(expected), bool))
    assert relevance(floor, features, features[:, 0], 0.8, override=0.3)[1] == 0.3


# -- the API and the results page ------------------------------------------------------------------
@pytest.fixture()
def client(tmp_path):
    app, fake = make_app(tmp_path)
    fake.suggest_at = 0.3
    return app.test_client(), fake


def test_suggest_says_which_of_the_three_answers_and_how_many_articles_to_show(client):
    client, fake = client
    got = {q: client.post("/api/v1/suggest", json={"text": q, "session": "s"}).get_json()
           for q in (ANSWERED, SUGGESTED, UNCOVERED)}
    assert got[ANSWERED]["decision"] == "answer" and got[ANSWERED]["shown"] in (1, 2)
    assert got[SUGGESTED]["decision"] == "suggest" and 1 <= got[SUGGESTED]["shown"] <= 3
    assert got[SUGGESTED]["articles"][0]["id"] == "kuendigung-abo"
    assert got[UNCOVERED]["decision"] == "no_answer" and got[UNCOVERED]["shown"] == 0
    logged = dict(fake.store.db.execute("select text, decision from inquiries").fetchall())
    assert logged == {ANSWERED: "answer", SUGGESTED: "suggest", UNCOVERED: "no_answer"}


def test_results_page_shows_the_three_answers_with_the_way_to_a_human(client):
    client, fake = client
    page = client.get("/search", query_string={"q": ANSWERED}).get_data(as_text=True)
    assert 'data-decision="answer"' in page and "Die Antwort auf Ihre Frage" in page
    assert "Wie kündige ich mein Abo?" in page and "/articles/kuendigung-abo" in page

    page = client.get("/search", query_string={"q": SUGGESTED}).get_data(as_text=True)
    assert 'data-decision="suggest"' in page and "Vielleicht hilft einer dieser Artikel" in page
    assert page.count('class="result"') <= 3 and "Wie kündige ich mein Abo?" in page
    assert "Zum Kontaktformular" in page and "#kontakt" in page

    page = html.unescape(client.get("/search", query_string={"q": UNCOVERED, "lang": "en"}).get_data(as_text=True))
    assert 'data-decision="no_answer"' in page and "Sorry, we don't have an article about that." in page
    assert 'class="result"' not in page and "Go to the contact form" in page
    assert 'value="Aktien kaufen Börse Depot"' in page   # the question stays in the search box
    # the way to a human takes the question along into the contact form
    contact = re.search(r'href="([^"]*#kontakt)"', page).group(1)
    assert contact.startswith("/?lang=en&subject=Aktien") and contact.endswith("#kontakt")
    form = client.get(contact.split("#")[0]).get_data(as_text=True)
    assert 'id="cf-subject"' in form and 'value="Aktien kaufen Börse Depot"' in html.unescape(form)

    page = client.get("/search?q=ab").get_data(as_text=True)
    assert "mindestens 3 Zeichen" in page and 'class="result"' not in page
    assert "Zum Kontaktformular" in page   # a question too short to search still shows the way to a human
    assert "Zum Kontaktformular" in client.get("/articles/nicht-da").get_data(as_text=True)
    pages = {r[0] for r in fake.store.db.execute("select page from inquiries")}
    assert pages == {"/search"}   # logged like a widget inquiry, the short one not at all
    assert client.get("/search", query_string={"q": "<script>alert(1)</script> Abo"}).status_code == 200


def test_results_page_escapes_the_query_and_marks_only_query_words(client):
    client, _ = client
    page = client.get("/search", query_string={"q": "Abo kündigen <b>x</b>"}).get_data(as_text=True)
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "<mark>" in page


# -- metrics -------------------------------------------------------------------------------------
def _inquiry(store, iid, decision, session=None, created="2026-03-01T09:00:00+00:00", text=None, shown=None):
    store.db["inquiries"].insert({"id": iid, "text": text or iid, "language": "de", "created_at": created,
                                  "decision": decision, "confidence": 0.5, "article_id": None,
                                  "channel": "widget", "session": session, "page": None, "shown": shown})


def _event(store, inquiry_id, event, article_id=None):
    store.db["feedback"].insert({"id": uuid.uuid4().hex, "inquiry_id": inquiry_id, "article_id": article_id,
                                 "event": event, "session": None, "created_at": "2026-03-01T10:00:00+00:00"})


def test_metrics_count_the_three_answers_separately(tmp_path):
    from deflect.web.metrics import compute

    store = Store(tmp_path / "m.db")
    for iid, decision in (("a", "answer"), ("s1", "suggest"), ("s2", "suggest"), ("n", "no_answer")):
        _inquiry(store, iid, decision)
    m = compute(store, days=1, today=date(2026, 3, 1))
    t = m["totals"]
    assert (t["answered"], t["suggested"], t["no_answer"], t["inquiries"]) == (1, 2, 1, 4)
    assert t["suggest_rate"] == 0.5 and t["no_answer_rate"] == 0.25
    assert m["days"][0]["suggested"] == 2



def test_a_stage_typed_on_the_way_to_a_question_deflects_no_session(tmp_path):
    from deflect.web.metrics import compute

    store = Store(tmp_path / "m.db")
    _inquiry(store, "stage", "answer", "S", text="Gibt es", created="2026-03-01T09:00:00+00:00")
    _inquiry(store, "asked", "no_answer", "S", text="Gibt es eine Vorlesefunktion?",
             created="2026-03-01T09:00:05+00:00")
    _inquiry(store, "helped", "answer", "H", text="Abo kündigen")
    t = compute(store, days=1, today=date(2026, 3, 1))["totals"]
    assert (t["inquiries"], t["answered"], t["sessions_with_suggestion"], t["deflected_sessions"]) == (2, 1, 1, 1)


# -- the gap report --------------------------------------------------------------------------------
def test_a_suggest_session_counts_as_found_only_when_its_customer_took_an_article(tmp_path):
    store = Store(tmp_path / "g.db")
    # session S: search-as-you-type logged two stages, the click came on the first
    _inquiry(store, "typed-1", "suggest", "S", text="Ich ziehe um")
    _inquiry(store, "typed-2", "suggest", "S", text="Ich ziehe um, was passiert mit meinem Abo?")
    _event(store, "typed-1", "clicked", "umzug")
    # session T asked two questions: the article found for the first does not answer the second, unless
    # it was shown for it too
    _inquiry(store, "asked-1", "suggest", "T", text="Passwort vergessen")
    _inquiry(store, "asked-2", "suggest", "T", text="Die Zeitung war heute nass")
    _inquiry(store, "asked-3", "suggest", "T", text="Wie komme ich wieder ins Konto?", shown="login,passwort")
    _event(store, "asked-1", "helpful", "passwort")
    _inquiry(store, "voted", "suggest", "V")       # voted helpful
    _event(store, "voted", "helpful", "umzug")
    _inquiry(store, "gave-up", "suggest", "G")     # clicked, then contacted support after all
    _event(store, "gave-up", "clicked", "umzug")
    _event(store, "gave-up", "contacted_support")
    _inquiry(store, "rejected", "suggest", "R")    # clicked, said it did not help
    _event(store, "rejected", "clicked", "umzug")
    _event(store, "rejected", "not_helpful", "umzug")
    _inquiry(store, "ignored", "suggest", "I")     # looked, took nothing
    found = found_articles(store)
    assert found == {"typed-1": "umzug", "typed-2": "umzug", "voted": "umzug", "asked-1": "passwort",
                     "asked-3": "passwort"}

    ids = ["typed-1", "typed-2", "voted", "gave-up", "rejected", "ignored", None, "answered"]
    decision = np.array(["suggest"] * 6 + ["suggest", "answer"], dtype=object)
    article = np.array(["umzug", "other", "umzug", "umzug", "umzug", "umzug", "umzug", "x"], dtype=object)
    changed = np.zeros(len(ids), bool)
    by_feedback(decision, article, changed, ids, found, {"umzug", "other", "x"})
    assert list(decision) == ["answer", "answer", "answer", "no_answer", "no_answer", "no_answer", "no_answer",
                              "answer"]
    assert article[1] == "umzug"   # the article the customer took, not the engine's first one
    assert changed[:7].all() and not changed[7]
    # an article deleted since does not count as found
    decision = np.array(["suggest"], dtype=object)
    by_feedback(decision, np.array(["umzug"], dtype=object), np.zeros(1, bool), ["voted"], found, set())
    assert decision[0] == "no_answer"
    # whom what was shown did not help is gap material however near the engine came to an answer; one
    # who just looked is a near miss
    assert turned_away(store) == {"gave-up", "rejected"}
    judged = Judgements(np.array(["no_answer"] * 3, dtype=object), np.array([0.7, 0.7, 0.3]),
                        np.array(["umzug"] * 3, dtype=object), np.zeros(3, bool), np.array([True, False, False]))
    assert list(judged.unanswered()) == [True, False, True]
