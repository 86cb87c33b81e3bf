"""Out-of-time metrics and the two baselines every model is compared with.

Baselines, both point-in-time and read from the features:

- ``historical_win_rate``: the win rate of all deals closed before the as-of date;
- ``agent_win_rate``: the sales agent's win rate over deals closed before the as-of
  date, shrunk toward the historical rate (see ``PointInTimeFeatures``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)

BASELINES: dict[str, str] = {
    "historical_win_rate": "hist_global_rate",
    "agent_win_rate": "hist_sales_agent_rate",
}
METRICS = ("roc_auc", "pr_auc", "brier", "log_loss")


def metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """ROC-AUC, PR-AUC, Brier score and log loss of probabilities ``p`` for labels ``y``.

    Ranking metrics are NaN when ``y`` holds a single class.
    """
    y = np.asarray(y, dtype=int)
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    both = len(np.unique(y)) == 2
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else math.nan,
        "pr_auc": float(average_precision_score(y, p)) if both else math.nan,
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "n": float(len(y)),
        "positive_rate": float(y.mean()) if len(y) else math.nan,
        "mean_prediction": float(p.mean()) if len(p) else math.nan,
    }


def baseline_predictions(features: pd.DataFrame) -> dict[str, np.ndarray]:
    """The predictions of each baseline for rows of point-in-time ``features``."""
    return {name: features[column].to_numpy(dtype=float) for name, column in BASELINES.items()}


def calibration_points(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict[str, list[float]]:
    """Observed win rate against mean prediction, in quantile bins."""
    observed, predicted = calibration_curve(y, p, n_bins=bins, strategy="quantile")
    return {"observed": observed.round(6).tolist(), "predicted": predicted.round(6).tolist()}
