"""The weight of the word-match (lexical) evidence per query language.

The weights are learnt per help center and query language from its judged questions when it is
calibrated (``deflect.decision.lexical_choice``) and saved with its calibration; a query language with no
learnt weight gets the ``lexical_weight`` setting (default 0). A query with weight 0 gets no word-match
evidence at all: its lexical scores are not computed.
"""
from __future__ import annotations

import numpy as np

from deflect.index.part_weights import query_language

LexicalWeights = dict[str, float]   # query language -> weight of the word-match evidence
GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0)   # weights tried when learning them


def query_weights(texts: list[str], weights: LexicalWeights | None, default: float) -> np.ndarray:
    """(n,) the word-match weight of each query: its language's learnt weight, else ``default``."""
    weights = weights or {}
    if not weights:
        return np.full(len(texts), float(default), np.float32)
    return np.array([weights.get(query_language(t), default) for t in texts], np.float32)
