"""Evidence features that are not known for an inquiry (NaN): e.g. how many of its words its article holds,
when the inquiry is in another language than the article. The relevance floor reads such a value as its
column's mean; the answer decision judges such an inquiry by a model fitted without that column
(``Calibrator(optional=...)``), the mean standing in only where it has none."""
from __future__ import annotations

import numpy as np


def known_or_mean(features: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    """``features`` with a value that is not known (NaN) replaced by its column's ``mean`` (default: the mean
    of the known values, 0 where none is known): a missing value then tells the decision nothing."""
    missing = np.isnan(features)
    if not missing.any():
        return features
    if mean is None:
        known = (~missing).sum(axis=0)
        mean = np.where(missing, 0.0, features).sum(axis=0) / np.maximum(known, 1)   # 0 where none is known
    return np.where(missing, mean, features)
