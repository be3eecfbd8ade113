"""The benchmark's bounded deflection: the most any threshold deflects while wrong answers and answered
questions without an article stay within the issue's bounds."""
from __future__ import annotations

import numpy as np

from scripts.bench_quality import deflected_at_bounds, verdict


def test_answering_stops_where_the_second_question_without_an_article_would_be_answered():
    # 20 covered inquiries at 0.99, 0.98, ... (the 11th ranked wrong), 10 without an article at 0.955, 0.855, ...
    conf = np.r_[0.99 - 0.01 * np.arange(20), 0.955 - 0.1 * np.arange(10)]
    first = np.r_[np.ones(10, bool), False, np.ones(9, bool), np.zeros(10, bool)]
    cov = np.r_[np.ones(20, bool), np.zeros(10, bool)]
    # down to 0.86: one of ten without an article answered (0.10), one wrong answer (0.05), 13 right = 0.65
    assert deflected_at_bounds(conf, first, cov) == 13 / 20


def test_ties_are_answered_alike_and_nothing_within_the_bounds_gives_zero():
    conf = np.array([0.9, 0.9, 0.5])
    first = np.array([True, False, True])
    cov = np.array([True, True, True])
    # every threshold that answers anything answers the tie: a third of the covered ones wrongly
    assert deflected_at_bounds(conf, first, cov) == 0.0


def test_both_readings_of_the_best_peer_are_judged():
    deflect = {"top1": 0.85, "deflected": 0.65, "wrong_answer": 0.02, "answered_uncovered": 0.05,
               "topics_per_gap": 1.0, "false_gaps": 0.0}
    bold = {"top1": 0.80, "deflected": 0.70, "wrong_answer": 0.12}      # deflects most, answers wrongly often
    careful = {"top1": 0.82, "deflected": 0.60, "wrong_answer": 0.04}
    assert verdict(deflect, "xsid_de-none", [bold, careful], within_bound=False) == "MISSED: deflected >= 0.7"
    assert verdict(deflect, "xsid_de-none", [bold, careful], within_bound=True) == "met"
    # no peer within the bound: no deflection target under that reading, top1 still against the best peer
    assert verdict({**deflect, "top1": 0.81}, "xsid_de-none", [bold], within_bound=True) == "MISSED: top1 >= 0.82"
