"""Performance by month of prediction, estimated and realised side by side.

For each month of predictions (rows with ``win_probability`` and ``won``, NaN while the
deal is open):

- ``label_coverage``: the share of the month's scored deals that have closed;
- ``estimated``: CBPE from the probabilities of all the month's deals
  (``workloads.monitoring.estimation``); it exists from the first day;
- ``realised``: ROC-AUC, Brier score, win count, mean prediction against observed win
  rate, and a calibration curve of the deals closed so far; None until at least
  ``min_labelled`` have closed with both outcomes among them.

As the month's deals close, realised figures converge to the estimate when the
probabilities stay calibrated; when they do not, the gap is concept drift.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ml.modeling.evaluate import calibration_points, metrics
from workloads.monitoring.estimation import PerformanceEstimator
from workloads.monitoring.segments import DIMENSIONS


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 6)


def realised(rows: pd.DataFrame, min_labelled: int) -> dict[str, Any] | None:
    """Realised performance of the closed deals among ``rows``, or None when fewer than
    ``min_labelled`` (at least 1) have closed or a single outcome is among them."""
    labelled = rows.dropna(subset=["won"])
    if len(labelled) < max(min_labelled, 1) or labelled["won"].nunique() < 2:
        return None
    y = labelled["won"].to_numpy(dtype=int)
    p = labelled["win_probability"].to_numpy(dtype=float)
    scores = metrics(y, p)
    return {
        "roc_auc": _finite(scores["roc_auc"]),
        "brier": _finite(scores["brier"]),
        "wins": int(y.sum()),
        "expected_wins": _finite(float(p.sum())),
        "mean_prediction": _finite(float(p.mean())),
        "observed_win_rate": _finite(float(y.mean())),
        "calibration": calibration_points(y, p, bins=min(10, max(2, len(y) // 20))),
    }


def coverage(rows: pd.DataFrame) -> tuple[int, float | None]:
    """(closed deals, their share of ``rows``; None for no rows)."""
    labelled = int(rows["won"].notna().sum())
    return labelled, (round(labelled / len(rows), 6) if len(rows) else None)


def month_performance(
    rows: pd.DataFrame, estimator: PerformanceEstimator, min_labelled: int
) -> dict[str, Any]:
    """Estimated and realised performance of one month's predictions and its label coverage."""
    labelled, share = coverage(rows)
    return {
        "predictions": len(rows),
        "labelled": labelled,
        "label_coverage": share,
        "estimated": estimator.estimate(rows["win_probability"]).as_dict(),
        "realised": realised(rows, min_labelled),
    }


def by_month(
    joined: pd.DataFrame, estimator: PerformanceEstimator, min_labelled: int
) -> list[dict[str, Any]]:
    """One entry per ``prediction_month`` of ``joined`` (predictions with ``won``),
    oldest first."""
    if joined.empty:
        return []
    return [
        {"month": month, **month_performance(rows, estimator, min_labelled)}
        for month, rows in sorted(joined.groupby("prediction_month"), key=lambda kv: str(kv[0]))
    ]


def _segment_entry(
    rows: pd.DataFrame, estimator: PerformanceEstimator, min_size: int
) -> dict[str, Any]:
    labelled, share = coverage(rows)
    entry: dict[str, Any] = {
        "rows": len(rows),
        "labelled": labelled,
        "label_coverage": share,
        "too_small": len(rows) < min_size,
        "estimated_brier": None,
        "estimated_roc_auc": None,
        "realised_brier": None,
        "realised_roc_auc": None,
    }
    if entry["too_small"]:
        return entry
    estimate = estimator.estimate(rows["win_probability"], with_band=False)
    entry.update(
        estimated_brier=_finite(estimate.brier), estimated_roc_auc=_finite(estimate.roc_auc)
    )
    closed = rows.dropna(subset=["won"])
    if len(closed) >= min_size and closed["won"].nunique() == 2:
        y, p = closed["won"].to_numpy(dtype=int), closed["win_probability"].to_numpy(dtype=float)
        entry.update(
            realised_brier=_finite(float(np.mean((p - y) ** 2))),
            realised_roc_auc=_finite(float(roc_auc_score(y, p))),
        )
    return entry


def segment_performance(
    joined: pd.DataFrame, estimator: PerformanceEstimator, min_size: int
) -> list[dict[str, Any]]:
    """Per month of prediction and segment (``joined`` carries the segment columns):
    rows, closed deals, label coverage, estimated and realised Brier and ROC-AUC.
    A segment with fewer than ``min_size`` rows is ``too_small`` and has no figures;
    realised figures need ``min_size`` closed deals."""
    found = []
    for month, rows in sorted(joined.groupby("prediction_month"), key=lambda kv: str(kv[0])):
        for dimension in DIMENSIONS:
            for segment, part in sorted(rows.groupby(dimension), key=lambda kv: str(kv[0])):
                found.append(
                    {
                        "month": month,
                        "dimension": dimension,
                        "segment": str(segment),
                        **_segment_entry(part, estimator, min_size),
                    }
                )
    return found
