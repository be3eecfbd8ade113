"""On the demo help center (real model): the fix each recurring topic needs, and "not found although
covered" advice that names the article agents use and never lists off-topic questions."""
from __future__ import annotations

import json
import uuid

from deflect.formats import Inquiry


def _report(home, questions: list[str]) -> dict:
    from deflect.deflector import Deflector
    from deflect.gaps.report import stored_report
    from deflect.gaps.runs import run_now

    d = Deflector.open(home)
    for text, s in zip(questions, d.suggest_batch(questions, k=3), strict=True):
        d.store.log_inquiry(Inquiry(uuid.uuid4().hex, text, s.language), s.decision, s.confidence,
                            s.articles[0].id if s.articles else None, channel="widget")
    run_now(d)
    report = stored_report(d.store).to_dict()
    d.close()
    return report


def _topic(report: dict, *words: str) -> dict:
    found = [t for t in report["topics"] if any(w in json.dumps(t["examples"], ensure_ascii=False).lower()
                                                for w in words)]
    assert found, f"no topic about {words}: {[t['suggested_title'] for t in report['topics']]}"
    return max(found, key=lambda t: t["size"])


def test_demo_fix_kinds_and_not_found_advice(demo_home):
    weather, address = "Wie wird das Wetter morgen?", "Ich möchte meine Adresse ändern"
    moved = "Wir ziehen nächsten Monat um, was passiert mit der Zeitung?"
    podcast = "Gibt es die Zeitung als Hörversion oder Podcast?"   # nothing in the help center: no answer
    report = _report(demo_home, [weather, address, moved, "Was ist die Hauptstadt von Frankreich?",
                                 "Wann kommt die Zeitung morgens?", podcast])
    assert _topic(report, "stürzt", "crash")["fix"]["kind"] == "product"
    assert _topic(report, "nass", "soggy")["fix"]["kind"] == "product"
    assert _topic(report, "übernehmen", "verstorben")["fix"]["kind"] == "process"
    puzzles = [t for t in report["topics"] if "rätsel" in json.dumps(t["examples"], ensure_ascii=False).lower()]
    assert puzzles and all(t["fix"]["kind"] == "article" for t in puzzles)
    listed = {p: g["article_id"] for g in report["not_found"] for p in g["phrasings"]}
    assert weather not in listed and "Was ist die Hauptstadt von Frankreich?" not in listed
    assert podcast not in listed    # the engine ranked the carriers' job article first, the neighbourhood nothing
    # the address questions belong to the moving article, never to the e-mail address one: answered with it
    # (the first one holds its words) or listed under it (the second, only suggested it)
    assert listed.get(address, "zustellung-umzug") == "zustellung-umzug"
    assert listed.get(moved) == "zustellung-umzug"
    why = next(w for g in report["not_found"] for w in g["why"] if w["text"] == moved)
    assert why["reason"] in ("doubt", "wording")
    assert sum(report["counts"]["not_found_reasons"].values()) == len(listed)



def test_demo_questions_asked_word_for_word_again_and_again_are_one_topic_each(demo_home):
    # widget traffic: many customers type the very same words; each question has a second phrasing too
    asked = {"puzzle": {"Wo finde ich die Auflösung vom Kreuzworträtsel?": 12, "Rätsel fehlt im E-Paper": 8},
             "app": {"E-Paper App stürzt auf Android ständig ab": 10, "App öffnet nach dem Update nicht mehr": 6}}
    question_of = {text: q for q, phrasings in asked.items() for text in phrasings}
    texts = [text for phrasings in asked.values() for text, times in phrasings.items() for _ in range(times)]
    from deflect.deflector import Deflector
    from deflect.gaps.report import stored_report
    from deflect.gaps.runs import run_now

    d = Deflector.open(demo_home)
    asked_by = {d.store.log_inquiry(Inquiry(uuid.uuid4().hex, text, s.language), s.decision, s.confidence,
                                    s.articles[0].id if s.articles else None, channel="widget"): question_of[text]
                for text, s in zip(texts, d.suggest_batch(texts, k=3), strict=True)}
    run_now(d)
    report = stored_report(d.store).to_dict()
    d.close()
    for question in asked:
        topics = {t["suggested_title"] for t in report["topics"]
                  if any(asked_by.get(m["id"]) == question for m in t["members"])}
        assert len(topics) == 1, f"{question}: {topics}"
    puzzle = next(t for t in report["topics"] if any(asked_by.get(m["id"]) == "puzzle" for m in t["members"]))
    assert sum(asked_by.get(m["id"]) == "puzzle" for m in puzzle["members"]) == 20


def test_questions_of_a_gap_topic_are_not_listed_as_covered_ones_missed(demo_home):
    # the app that no longer opens is the crash topic of the ticket history (a product fault); the login
    # article is the nearest covered material, but the question is that gap's, not the login article's
    crash = ["Die App öffnet nicht mehr", "Die E-Paper-App startet nicht"]
    moved = "Wir ziehen nächsten Monat um, was passiert mit der Zeitung?"
    # covered questions beside a gap topic stay listed ("Abo übernehmen" is one; the gift articles' vote is
    # split over their German and English versions)
    gift, cancel = "Abo an meinen Sohn verschenken", "Ich möchte mein Abo beenden, wie geht das?"
    report = _report(demo_home, [*crash, moved, gift, cancel])
    listed = {p: g["article_id"] for g in report["not_found"] for p in g["phrasings"]}
    assert not set(crash) & set(listed)
    assert listed.get(moved) == "zustellung-umzug"
    assert listed.get(gift) == "abo-geschenkabo"
    assert listed.get(cancel) == "kuendigung-abo"
