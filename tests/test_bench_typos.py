"""scripts/bench_typos.py: each test question gets one typo, in its longest word, and only there."""
from __future__ import annotations

import json
import random

from scripts.bench_typos import typed_case, with_typo


def test_one_typo_in_the_longest_word_of_each_question(tmp_path):
    rng = random.Random(0)
    for text in ("Wie kann ich mein Abonnement kündigen?", "Zeige alle Erinnerungen für morgen"):
        typed = with_typo(text, rng)
        changed = [(a, b) for a, b in zip(text.split(), typed.split()) if a != b]
        assert len(typed.split()) == len(text.split()) and len(changed) == 1
        word, typo = changed[0]
        assert word.strip("?") == max(text.replace("?", "").split(), key=len) and abs(len(word) - len(typo)) <= 1
        assert typo[0] == word[0] and typo[-1] == word[-1]   # inside the word
    assert with_typo("Hallo du da", rng) == "Hallo du da"      # no word of six letters

    case = tmp_path / "case"
    case.mkdir()
    rows = [{"id": "q-1", "text": "Rechnung herunterladen", "expected_article": "rechnung"}]
    (case / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = typed_case(case, tmp_path / "typed", seed=0)
    typed_rows = [json.loads(line) for line in (out / "test.jsonl").read_text().splitlines()]
    assert typed_rows[0]["id"] == "q-1" and typed_rows[0]["expected_article"] == "rechnung"
    assert typed_rows[0]["text"] != rows[0]["text"] and (case / "test.jsonl").read_text().count("herunterladen") == 1
