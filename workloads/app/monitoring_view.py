"""Monitoring results as the Monitoring page charts them, from monitoring storage."""

from __future__ import annotations

from typing import Any

import pandas as pd

from workloads.monitoring.results import read_alerts, read_results


def drift_by_month(results: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per monitored month: drift share and whether the prediction drifted."""
    rows = [
        {
            "month": r["month"],
            "drift share": r["drift"]["share"],
            "prediction drift": r["drift"]["prediction_drifted"],
            "threshold": r.get("thresholds", {}).get("drift_share"),
        }
        for r in results
        if r.get("drift")
    ]
    return pd.DataFrame(rows)


def performance_by_month(results: list[dict[str, Any]]) -> pd.DataFrame:
    """Realised performance per month of prediction, from the newest result that has it
    (later runs know more closed deals)."""
    latest: dict[str, dict[str, Any]] = {}
    for result in results:
        for month in result.get("performance", []):
            latest[month["month"]] = month
    rows = [
        {
            "month": m,
            "ROC-AUC": v.get("roc_auc"),
            "Brier": v.get("brier"),
            "mean prediction": v.get("mean_prediction"),
            "observed win rate": v.get("observed_win_rate"),
            "closed deals": v.get("labelled"),
            "predictions": v.get("predictions"),
        }
        for m, v in sorted(latest.items())
    ]
    return pd.DataFrame(rows)


def load(monitoring_url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(results oldest first, alerts newest first)."""
    return read_results(monitoring_url), read_alerts(monitoring_url)
