"""One month's monitoring as plain functions over frames: drift, segments, estimated and
realised performance, then the rules' verdicts and triggers. The Prefect flow
(``workloads.flows.monitoring``) loads the inputs, calls these, and acts on the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ml.snapshots import month_end
from workloads.monitoring import performance, reports, segments
from workloads.monitoring.columns import monitored_frame
from workloads.monitoring.estimation import PerformanceEstimator
from workloads.monitoring.outcomes import with_outcomes
from workloads.monitoring.reference import Reference
from workloads.monitoring.settings import MonitoringSettings
from workloads.monitoring.triggers import Trigger, evaluate
from workloads.monitoring.verdicts import all_verdicts


@dataclass(frozen=True)
class MonthFigures:
    """What one run measured: drift of the month (None without predictions), segment
    drift, and performance by month of prediction (overall and per segment)."""

    drift: reports.DriftResult | None
    segment_drift: list[dict[str, Any]]
    performance: list[dict[str, Any]]
    segment_performance: list[dict[str, Any]]
    reference: dict[str, Any]


def reference_summary(reference: Reference, estimator: PerformanceEstimator) -> dict[str, Any]:
    """Rows, realised Brier (the Brier rules' base), mean prediction and win rate of the
    reference."""
    rows = reference.rows
    return {
        "rows": len(rows),
        "brier": round(estimator.reference_brier, 6),
        "mean_prediction": round(float(rows["win_probability"].mean()), 6),
        "win_rate": round(float(rows["won"].mean()), 6),
        "data_version": reference.data_version,
        "data_month": reference.data_month,
    }


def analyse(
    settings: MonitoringSettings,
    month: str,
    predictions: pd.DataFrame,
    known: pd.DataFrame,
    reference: Reference,
    estimator: PerformanceEstimator,
) -> MonthFigures:
    """Figures of ``month`` from the lookback's ``predictions`` (with ``prediction_month``)
    and the outcomes ``known`` so far."""
    drift_rule = settings.rule("drift_share")
    summary = reference_summary(reference, estimator)
    if predictions.empty:
        return MonthFigures(None, [], [], [], summary)
    labelled = reference.lookup.label(predictions)
    current = labelled[labelled["prediction_month"] == month]
    drift = None
    segment_drift: list[dict[str, Any]] = []
    if len(current):
        now, before = monitored_frame(current), monitored_frame(reference.rows)
        drift = reports.drift_report(now, before, month_end(month), drift_rule.threshold)
        segment_drift = segments.segment_drift(
            now, before, drift_rule.threshold, settings.min_segment_size
        )
    joined = with_outcomes(labelled, known)
    return MonthFigures(
        drift=drift,
        segment_drift=segment_drift,
        performance=performance.by_month(joined, estimator, settings.min_labelled),
        segment_performance=performance.segment_performance(
            joined, estimator, settings.min_segment_size
        ),
        reference=summary,
    )


def performance_frames(
    predictions: pd.DataFrame, known: pd.DataFrame, min_labelled: int
) -> dict[str, pd.DataFrame]:
    """Per month of prediction, the rows (with ``won``) that have enough closed deals of
    both outcomes for a classification report."""
    if predictions.empty:
        return {}
    joined = with_outcomes(predictions, known)
    found = {}
    for m, rows in joined.groupby("prediction_month"):
        closed = rows.dropna(subset=["won"])
        if len(closed) >= min_labelled and closed["won"].nunique() == 2:
            found[str(m)] = rows
    return found


def judge(
    settings: MonitoringSettings,
    month: str,
    months: list[str],
    figures: MonthFigures,
    earlier: dict[str, dict[str, Any]],
    state: dict[str, Any],
) -> tuple[dict[str, list[dict[str, Any]]], list[Trigger]]:
    """Every enabled rule's verdicts over ``months`` and its trigger given its last
    ``state``; ``earlier`` holds the stored results of the months before ``month``."""
    current = {
        "drift": figures.drift.as_dict() if figures.drift else None,
        "segments": {"drift": figures.segment_drift},
    }
    verdicts = all_verdicts(
        list(settings.rule_list),
        months,
        {**earlier, month: current},
        figures.performance,
        figures.segment_performance,
        figures.reference["brier"],
    )
    triggers = [
        evaluate(settings.rule(name), found, state.get(name)) for name, found in verdicts.items()
    ]
    as_dicts = {name: [v.__dict__ for v in found] for name, found in verdicts.items()}
    return as_dicts, triggers


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars turned into Python numbers (for JSON documents)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
