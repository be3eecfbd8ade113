"""The merge of gap clusters by centre and words: sub-questions of one subject merge, other subjects
stay apart, and the rule is learnt from the covered topics."""
import numpy as np

from deflect.gaps.word_merge import learnt_rule, merge_by_words, reading

DIM = 64
SUBJECTS = ["refund", "parcel", "invoice", "voucher", "subscription", "newsletter", "address", "payment",
            "delivery", "account", "printer", "warranty"]
ASKS = ["where can I find my {} please", "why do you need my {} now"]


def family(rng, n, text):
    """``n`` rows of one family of phrasings: its own direction (families lie apart), its text."""
    direction = rng.normal(size=DIM)
    rows = direction + 0.3 * rng.normal(size=(n, DIM))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32), [text] * n


def data(gap_subjects):
    rng = np.random.default_rng(0)
    blocks, texts, article, parts = [], [], [], []
    for subject in SUBJECTS:          # covered: every article asked as two sub-questions
        for ask in ASKS:
            V, T = family(rng, 8, ask.format(subject))
            parts.append(np.arange(len(texts), len(texts) + 8))
            blocks.append(V), texts.extend(T), article.extend([subject] * 8)
    gaps = []
    for subject in gap_subjects:      # uncovered: the same, as gap clusters
        for ask in ASKS:
            V, T = family(rng, 8, ask.format(subject))
            gaps.append(np.arange(len(texts), len(texts) + 8))
            blocks.append(V), texts.extend(T), article.extend([None] * 8)
    X = np.vstack(blocks)
    hard = np.array([a is not None for a in article])
    lab = np.full(len(X), -1, np.int64)
    for c, rows in enumerate(gaps):
        lab[rows] = c
    return X, texts, np.array(article, dtype=object), hard, parts, lab


def test_sub_questions_of_one_subject_merge_and_other_subjects_stay_apart():
    X, texts, article, hard, parts, lab = data(["password", "coupon"])
    merged, rule = merge_by_words(X, texts, lab, [0, 1, 2, 3], hard, article, parts, lambda rows: True,
                                  lambda c: (-c,))
    assert rule is not None
    assert merged == {1: 0, 3: 2}
    assert set(lab[lab >= 0]) == {0, 2}


def test_a_merge_the_evidence_test_refuses_does_not_happen():
    X, texts, article, hard, parts, lab = data(["password"])
    merged, _ = merge_by_words(X, texts, lab, [0, 1], hard, article, parts, lambda rows: False, lambda c: (-c,))
    assert merged == {} and set(lab[lab >= 0]) == {0, 1}


def test_too_few_covered_parts_merge_nothing():
    X, texts, article, hard, parts, lab = data(["password"])
    merged, rule = merge_by_words(X, texts, lab, [0, 1], hard, article, parts[:6], lambda rows: True,
                                  lambda c: (-c,))
    assert merged == {} and rule is None


def test_reading_counts_found_articles_and_their_splits():
    groups = [{"a": 8}, {"a": 7, "b": 1}, {"b": 4, "c": 4}, None]
    assert reading(groups) == (1 / 3, 2.0)        # only a is the pure majority of a group, twice
    assert learnt_rule(np.zeros((0, DIM)), [], [], np.zeros(0, object), None, None, []) is None
