"""The warnings `deflect calibrate` and `deflect status` give: a labelled file too small to lean on, a
decision fitted by an older release."""
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


def test_a_calibration_from_an_older_release_asks_to_be_fitted_again():
    # an older release weighed fewer kinds of evidence: its decision still answers, but worse
    from deflect.engine import FEATURES

    said = calibration_caveat({"source": "tickets", "coef": [0.1] * (len(FEATURES) - 1)})
    assert said is not None and "older release" in said and "deflect calibrate" in said
    assert calibration_caveat({"source": "tickets", "coef": [0.1] * len(FEATURES)}) is None


def test_status_says_how_often_the_decision_answers_and_suggests(demo_home):
    # a decision that never answers, or never shows "these articles might help", shows in the plain status
    from click.testing import CliRunner

    from deflect.cli import cli

    out = CliRunner().invoke(cli, ["status", "--home", str(demo_home)]).output
    assert "answers " in out and "of the questions it was fitted on" in out and "might help\" for" in out
