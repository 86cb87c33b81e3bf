"""Delayed labels: deals close weeks after they were scored. Past predictions are
joined with the outcomes known now (by opportunity id) and scored by month of
prediction: ROC-AUC, Brier score and calibration."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import pandas as pd

from ml.data import schema as s
from ml.data.acquire import latest_version, read_raw
from ml.modeling.evaluate import calibration_points, metrics


def known_outcomes(data_url: str) -> pd.DataFrame:
    """``opportunity_id``, ``won`` (0/1) and ``close_date`` of every deal closed in the
    latest acquired data."""
    files, _ = read_raw(data_url, latest_version(data_url))
    deals = pd.read_csv(
        io.BytesIO(files[f"{s.PIPELINE}.csv"]),
        usecols=["opportunity_id", "deal_stage", "close_date"],
        parse_dates=["close_date"],
        date_format="%Y-%m-%d",
    )
    closed = deals[deals["deal_stage"].isin(s.CLOSED_STAGES)]
    return pd.DataFrame(
        {
            "opportunity_id": closed["opportunity_id"].astype(str),
            "won": closed["deal_stage"].eq(s.WON).astype(int),
            "close_date": closed["close_date"],
        }
    ).drop_duplicates("opportunity_id")


def with_outcomes(predictions: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Predictions with ``won`` where the deal has closed since (NaN while open)."""
    keyed = predictions.assign(opportunity_id=predictions["opportunity_id"].astype(str))
    return keyed.merge(outcomes, on="opportunity_id", how="left")


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 6)


def month_performance(rows: pd.DataFrame, min_labelled: int) -> dict[str, Any]:
    """Realised performance of one month's predictions (``win_probability``, ``won``).

    Metrics are None when fewer than ``min_labelled`` deals have closed or one class
    is missing; ``labelled`` says how many have.
    """
    labelled = rows.dropna(subset=["won"])
    result: dict[str, Any] = {
        "predictions": len(rows),
        "labelled": len(labelled),
        "roc_auc": None,
        "brier": None,
        "mean_prediction": _finite(rows["win_probability"].mean()) if len(rows) else None,
        "observed_win_rate": None,
        "calibration": None,
    }
    if len(labelled) < max(min_labelled, 1) or labelled["won"].nunique() < 2:
        return result
    y = labelled["won"].to_numpy(dtype=int)
    p = labelled["win_probability"].to_numpy(dtype=float)
    scores = metrics(y, p)
    result.update(
        roc_auc=_finite(scores["roc_auc"]),
        brier=_finite(scores["brier"]),
        observed_win_rate=_finite(float(np.mean(y))),
        calibration=calibration_points(y, p, bins=min(10, max(2, len(y) // 20))),
    )
    return result


def performance_by_month(
    predictions: pd.DataFrame, outcomes: pd.DataFrame, min_labelled: int
) -> list[dict[str, Any]]:
    """One entry per month of prediction, oldest first (see :func:`month_performance`)."""
    if predictions.empty:
        return []
    joined = with_outcomes(predictions, outcomes)
    return [
        {"month": month, **month_performance(rows, min_labelled)}
        for month, rows in sorted(joined.groupby("prediction_month"), key=lambda kv: kv[0])
    ]
