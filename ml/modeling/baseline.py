"""A baseline as a servable model: the point-in-time win rate itself.

When no learned model beats the baselines, the honest champion is the best
baseline (``ml.modeling.evaluate.BASELINES``): the historical win rate of all
deals closed before the as-of date, or the sales agent's rate over the deals
closed before it (shrunk toward the historical rate). Both are rates of
observed outcomes, so they are calibrated by construction up to the drift of
the win rate over time.

:func:`baseline_pipeline` returns the same shape as a trained model: the fitted
point-in-time features followed by :class:`RateBaseline`, which reads the
rate's feature column as P(Won). Everything that serves, scores or monitors a
learned model therefore serves, scores and monitors the baseline unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline

from ml.modeling.evaluate import BASELINES

if TYPE_CHECKING:  # training pulls in the tuner; serving a baseline needs none of it
    from ml.modeling.train import TrainingResult

DESCRIPTIONS = {
    "historical_win_rate": "the historical win rate (deals closed before the as-of date)",
    "agent_win_rate": "the sales agent's win rate (deals closed before the as-of date)",
}


class RateBaseline(ClassifierMixin, BaseEstimator):
    """P(Won) = the point-in-time rate in feature column ``column``; nothing is learned.

    ``fit`` only records the classes; ``predict_proba`` returns ``[1 - rate, rate]``.
    """

    def __init__(self, column: str = "hist_global_rate") -> None:
        self.column = column

    def fit(self, X: pd.DataFrame | None = None, y: np.ndarray | None = None) -> RateBaseline:
        """Nothing to learn (the rate is a feature); sets ``classes_`` to ``[0, 1]`` and returns
        ``self``."""
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """``(n, 2)`` probabilities; raises KeyError when ``X`` lacks the rate column."""
        rate = np.clip(np.asarray(X[self.column], dtype=float), 0.0, 1.0)
        return np.column_stack([1.0 - rate, rate])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """``(n,)`` labels: 1 where the rate is at least 0.5, else 0."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def best_baseline(result: TrainingResult) -> str:
    """The better calibrated baseline: the lower Brier score on the out-of-time rows the
    gate judged (nothing is fitted, so choosing between two on them costs no honesty,
    and the choice matches the table a user reads), ties to the historical rate."""
    order = list(BASELINES)
    return min(order, key=lambda n: (result.baselines[n]["brier"], order.index(n)))


def baseline_pipeline(result: TrainingResult, name: str) -> Pipeline:
    """Baseline ``name`` over the fitted features of ``result``: raw rows in, P(Won) out."""
    features = result.pipeline.named_steps["features"]
    return Pipeline([("features", features), ("model", RateBaseline(BASELINES[name]).fit())])
