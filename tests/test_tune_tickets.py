"""scripts.tune_tickets: the held-out folds it writes (the engine runs are covered elsewhere)."""
import json
from pathlib import Path

import pytest

from scripts.tune_tickets import cold_start_cases, fold_cases, missing_article_cases


def _case(tmp_path: Path) -> Path:
    case = tmp_path / "case"
    (case / "articles").mkdir(parents=True)
    tickets = [{"id": f"a{i}", "subject": f"A question {i}", "body": "", "article_id": "faq:a"} for i in range(4)]
    tickets += [{"id": f"b{i}", "subject": f"B question {i}", "body": "", "article_id": "b"} for i in range(2)]
    tickets += [{"id": f"n{i}", "subject": f"unlinked {i}", "body": "", "article_id": None} for i in range(3)]
    (case / "tickets.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tickets))
    return case


def _ids(path: Path) -> set[str]:
    return {json.loads(line)["id"] for line in path.read_text().splitlines()}


def test_cold_start_holds_out_all_linked_tickets_of_one_article(tmp_path):
    folds = cold_start_cases(_case(tmp_path), tmp_path / "work", min_tickets=3)
    assert len(folds) == 1                       # "b" has only 2 linked tickets
    fold = folds[0]
    assert fold.name == "case-cold0-faq_a"       # article ids may hold characters a folder name cannot
    held = [json.loads(line) for line in (fold / "held.jsonl").read_text().splitlines()]
    assert {h["id"] for h in held} == {"a0", "a1", "a2", "a3"}
    assert {h["expected_article"] for h in held} == {"faq:a"}
    assert held[0]["text"] == "A question 0"
    kept = _ids(fold / "tickets.jsonl")
    assert kept == {"b0", "b1", "n0", "n1", "n2"}   # the rest of the history, unlinked tickets included


def test_kfold_covers_every_linked_ticket_once(tmp_path):
    folds = fold_cases(_case(tmp_path), tmp_path / "work", folds=2, limit=100, seed=0)
    held = [_ids(f / "held.jsonl") for f in folds]
    assert set.union(*held) == {"a0", "a1", "a2", "a3", "b0", "b1"} and not held[0] & held[1]
    for f, h in zip(folds, held):
        assert not _ids(f / "tickets.jsonl") & h


def test_cold_start_without_enough_tickets_says_so(tmp_path):
    with pytest.raises(SystemExit, match="no article has 9 linked tickets"):
        cold_start_cases(_case(tmp_path), tmp_path / "work", min_tickets=9)


def test_cold_start_folds_of_lookalike_ids_stay_apart(tmp_path):
    case = _case(tmp_path)
    extra = [{"id": f"c{i}", "subject": f"C question {i}", "body": "", "article_id": "faq_a"} for i in range(3)]
    with open(case / "tickets.jsonl", "a") as fh:
        fh.write("".join(json.dumps(t) + "\n" for t in extra))
    folds = cold_start_cases(case, tmp_path / "work", min_tickets=3)
    assert len({f.name for f in folds}) == 2
    assert sorted(len(_ids(f / "held.jsonl")) for f in folds) == [3, 4]


def _articles(case: Path) -> None:
    (case / "articles" / "faq").mkdir(parents=True)
    (case / "articles" / "faq" / "a.md").write_text("---\nid: faq:a\ntitle: A\n---\nAnswer A.\n")
    (case / "articles" / "b.md").write_text("---\ntitle: B\n---\nAnswer B.\n")
    (case / "dev.jsonl").write_text(json.dumps({"id": "d0", "text": "A?", "expected_article": "faq:a"}) + "\n"
                                    + json.dumps({"id": "d1", "text": "B?", "expected_article": "b"}) + "\n")


def _more_articles(case: Path, names: tuple[str, ...]) -> None:
    """An article per name, with three tickets linked to it."""
    for name in names:
        (case / "articles" / f"{name}.md").write_text(f"---\ntitle: {name.upper()}\n---\nAnswer.\n")
        with open(case / "tickets.jsonl", "a") as fh:
            fh.write("".join(json.dumps({"id": f"{name}{i}", "subject": f"{name} {i}", "body": "",
                                         "article_id": name}) + "\n" for i in range(3)))


def _by_id(path: Path, field: str) -> dict:
    """``field`` of every row of a JSONL file, by id."""
    return {row["id"]: row[field] for row in map(json.loads, path.read_text().splitlines())}


def test_missing_article_leaves_the_article_out_and_unlinks_its_tickets(tmp_path):
    case = _case(tmp_path)
    _articles(case)
    folds = missing_article_cases(case, tmp_path / "work", min_tickets=3)
    assert len(folds) == 1                       # "b" has only 2 linked tickets
    fold = folds[0]
    assert [p.relative_to(fold / "articles").as_posix() for p in (fold / "articles").rglob("*.md")] == ["b.md"]
    tickets = _by_id(fold / "tickets.jsonl", "article_id")
    assert len(tickets) == 9 and {tickets[f"a{i}"] for i in range(4)} == {None} and tickets["b0"] == "b"
    dev = _by_id(fold / "dev.jsonl", "expected_article")
    assert dev == {"d0": None, "d1": "b"}       # asking for the missing article: no article expected
    truth = json.loads((fold / "truth.json").read_text())
    assert truth["missing"] == ["faq:a"] and truth["articles"] == ["b", "faq:a"]
    assert truth["topics"]["a0"] == "faq:a" and "n0" not in truth["topics"]   # unlinked: topic unknown


def test_missing_article_with_unlink_share_knows_every_tickets_topic(tmp_path):
    case = _case(tmp_path)
    _articles(case)
    fold = missing_article_cases(case, tmp_path / "work", min_tickets=3, unlink_share=0.5, seed=1)[0]
    tickets = [json.loads(line) for line in (fold / "tickets.jsonl").read_text().splitlines()]
    assert {t["id"] for t in tickets} == {"a0", "a1", "a2", "a3", "b0", "b1"}   # no unknown topics left
    assert set(json.loads((fold / "truth.json").read_text())["topics"]) == {t["id"] for t in tickets}


def test_missing_article_without_enough_tickets_says_so(tmp_path):
    case = _case(tmp_path)
    _articles(case)
    with pytest.raises(SystemExit, match="no article has 9 linked tickets"):
        missing_article_cases(case, tmp_path / "work", min_tickets=9)


def test_missing_article_folds_can_be_limited_to_a_spread_of_articles(tmp_path):
    case = _case(tmp_path)
    _articles(case)
    _more_articles(case, ("c", "d"))
    folds = missing_article_cases(case, tmp_path / "work", min_tickets=3, limit=2)
    assert [json.loads((f / "truth.json").read_text())["missing"] for f in folds] == [["c"], ["faq:a"]]


def test_missing_articles_together_leave_several_out_per_fold(tmp_path):
    case = _case(tmp_path)
    _articles(case)
    _more_articles(case, ("c", "d"))
    folds = missing_article_cases(case, tmp_path / "work", min_tickets=3, together=2)
    truths = [json.loads((f / "truth.json").read_text()) for f in folds]
    assert [t["missing"] for t in truths] == [["c", "faq:a"], ["d"]]   # grouped across the list
    fold = folds[0]
    assert sorted(p.name for p in (fold / "articles").rglob("*.md")) == ["b.md", "d.md"]
    tickets = _by_id(fold / "tickets.jsonl", "article_id")
    assert {tickets["a0"], tickets["c0"]} == {None} and tickets["d0"] == "d" and tickets["b0"] == "b"
    dev = _by_id(fold / "dev.jsonl", "expected_article")
    assert dev == {"d0": None, "d1": "b"}
