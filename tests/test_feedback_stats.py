"""The holdout experiment's interval maths on fixed numbers (Newcombe 1998, Statistics in Medicine 17:873)."""
from __future__ import annotations

import pytest

from deflect.feedback.holdout import summarize
from deflect.feedback.stats import newcombe_difference, sessions_needed, wilson

# every test here runs on both store backends (SQLite, PostgreSQL): see conftest.database
pytestmark = pytest.mark.usefixtures("database")


def test_wilson_interval_matches_the_published_examples():
    assert wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=5e-5)
    assert wilson(10, 10) == pytest.approx((0.7225, 1.0), abs=5e-5)
    assert wilson(0, 0) == (0.0, 1.0)


def test_newcombe_difference_matches_method_10_of_the_paper():
    d, low, high = newcombe_difference(56, 70, 48, 80)
    assert d == pytest.approx(0.2)
    assert (low, high) == pytest.approx((0.0524, 0.3339), abs=5e-5)
    d, low, high = newcombe_difference(9, 10, 3, 10)
    assert (d, low, high) == pytest.approx((0.6, 0.1705, 0.8090), abs=5e-5)


def test_sessions_needed_for_a_precision():
    # 1.96^2 * (0.35 * 0.65 / 0.5 + 0.5 * 0.5 / 0.5) / 0.05^2 = 1467.4
    assert sessions_needed(0.35, 0.5, 0.05, 0.5) == 1468
    # a 5 % holdout needs far more sessions for the same precision
    assert sessions_needed(0.35, 0.5, 0.05, 0.05) > 5 * 1468
    with pytest.raises(ValueError):
        sessions_needed(0.3, 0.5, 0.05, 0.0)


def test_summary_says_what_the_numbers_mean():
    result = summarize((1000, 350), (200, 100), 0.2)   # shown 35 % contacted, held out 50 %
    assert result["difference"]["value"] == pytest.approx(-0.15)
    low, high = result["difference"]["ci95"]
    assert low < -0.15 < high < 0
    assert result["prevented_share"] == pytest.approx(0.3)
    assert "lowered the contact rate by 15.0 points" in result["meaning"]
    assert [n["half_width"] for n in result["sessions_needed"]] == [0.05, 0.02, 0.01]
    off = summarize((10, 3), (0, 0), 0.0)
    assert off["difference"] is None and "off" in off["meaning"]
    unclear = summarize((100, 40), (20, 9), 0.2)
    assert "not distinguishable from no effect" in unclear["meaning"]
    # no contact yet in either group: the sample sizes are still planned, not 0
    early = summarize((40, 0), (10, 0), 0.2)
    assert all(n["sessions"] > 100 for n in early["sessions_needed"])
    # a real null result with many sessions is said as such
    null = summarize((33600, 10080), (8400, 2520), 0.2)
    assert "No measurable effect" in null["meaning"] and "more sessions" not in null["meaning"]
    # switched off after it ran: the held-out sessions of the period are still compared
    after = summarize((1000, 350), (200, 100), 0.0)
    assert "off now" in after["meaning"] and "lowered the contact rate" in after["meaning"]
