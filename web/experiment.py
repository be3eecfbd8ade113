"""The measured effect of deflect for ``GET /api/v1/metrics`` and the report: the holdout experiment
(``deflect.feedback.holdout``) and what happened after each article was suggested
(``deflect.feedback.outcomes``)."""
from __future__ import annotations

from flask import current_app

from deflect.feedback.holdout import holdout_report
from deflect.feedback.outcomes import article_outcomes
from deflect.store import Store


def experiment_metrics(store: Store, days: int) -> dict:
    """``holdout`` and ``outcomes`` over the last ``days`` days."""
    share = float(current_app.config.get("HOLDOUT") or 0.0)
    return {"holdout": holdout_report(store, share, days=days), "outcomes": article_outcomes(store, days=days)}
