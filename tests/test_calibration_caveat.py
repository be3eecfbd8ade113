"""The warning `deflect calibrate` and `deflect status` give when a labelled file is too small to lean on."""
from __future__ import annotations

from deflect.decision.describe import FEW_COVERED, FEW_UNCOVERED, calibration_caveat


def _labelled(covered: int, uncovered: int) -> dict:
    return {"source": "labelled", "n_samples": covered + uncovered,
            "report": {"samples": covered + uncovered, "covered": covered}}


def test_a_small_labelled_file_is_named_with_its_counts():
    said = calibration_caveat(_labelled(14, 10))
    assert said is not None and "(14 with an article, 10 without;" in said
    assert calibration_caveat(_labelled(FEW_COVERED, FEW_UNCOVERED - 1)) is not None


def test_enough_labels_or_another_source_give_no_warning():
    assert calibration_caveat(_labelled(171, 150)) is None
    assert calibration_caveat(_labelled(FEW_COVERED, FEW_UNCOVERED)) is None
    assert calibration_caveat({"source": "tickets", "report": {"samples": 10, "covered": 5}}) is None
    assert calibration_caveat(None) is None
