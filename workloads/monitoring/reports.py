"""Evidently reports of one monitoring run and their snapshots in the Evidently workspace.

Drift compares the month's scored opportunities with the champion's reference on
the monitored columns (below) and the predicted probability. Performance reports
carry the realised classification quality of a month of predictions once labels exist.
The workspace is a folder or an ``s3://`` URL; the Evidently UI serves the same one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from workloads.monitoring.columns import (
    CATEGORICAL,
    NUMERICAL,
    PREDICTION,
    TARGET,
    computable_columns,
    monitored_frame,
)


@dataclass(frozen=True)
class DriftResult:
    """What the drift report found, and its Evidently snapshot.

    ``share`` is the share of drifted columns among those that could be judged
    (None when none could); ``not_computable`` names the others with the reason.
    """

    share: float | None
    drifted: list[str]
    scores: dict[str, float]
    not_computable: dict[str, str]
    prediction_drifted: bool
    prediction_score: float | None
    snapshot: Any = field(repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """The result as stored: ``share`` (rounded), ``drifted_columns``, ``column_scores``,
        ``not_computable``, ``prediction_drifted``, ``prediction_score``."""
        return {
            "share": None if self.share is None else round(self.share, 6),
            "drifted_columns": self.drifted,
            "column_scores": self.scores,
            "not_computable": self.not_computable,
            "prediction_drifted": self.prediction_drifted,
            "prediction_score": self.prediction_score,
        }


def _definition(columns: list[str], with_target: bool):
    from evidently import BinaryClassification, DataDefinition

    classification = (
        [BinaryClassification(target=TARGET, prediction_probas=PREDICTION)] if with_target else None
    )
    return DataDefinition(
        categorical_columns=[c for c in CATEGORICAL if c in columns],
        numerical_columns=[*(c for c in NUMERICAL if c in columns), PREDICTION],
        classification=classification,
    )


def _dataset(frame: pd.DataFrame, columns: list[str], with_target: bool = False):
    from evidently import Dataset

    selected = [*columns, PREDICTION] + ([TARGET] if with_target else [])
    return Dataset.from_pandas(frame[selected], data_definition=_definition(columns, with_target))


def _metrics(snapshot: Any) -> list[tuple[str, dict[str, Any], Any]]:
    """(metric type, config, value) of every metric of ``snapshot``."""
    found = []
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config") or {}
        found.append((str(config.get("type", "")).rsplit(":", 1)[-1], config, metric["value"]))
    return found


def _beyond(config: dict[str, Any], value: float) -> bool:
    """Whether a ValueDrift score means drift: p-values below, distances above the threshold."""
    limit = float(config.get("threshold", 0.05))
    return value < limit if "p_value" in str(config.get("method", "")) else value >= limit


def drift_report(
    now: pd.DataFrame, before: pd.DataFrame, month_end: pd.Timestamp, threshold: float
) -> DriftResult:
    """Data drift of the monitored columns that can be judged and drift of the predicted
    probability, between two monitored frames (``columns.monitored_frame``) of the month
    and of the reference.

    Never fails for an empty or constant column: it is reported as not computable.
    """
    from evidently import Report
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset

    columns, skipped = computable_columns(now, before)
    metrics: list[Any] = [ValueDrift(column=PREDICTION)]
    if columns:
        metrics.insert(0, DataDriftPreset(columns=columns, drift_share=threshold))
    snapshot = Report(metrics).run(
        _dataset(now, columns), _dataset(before, columns), timestamp=month_end
    )
    found = _metrics(snapshot)
    count = next((v for kind, c, v in found if kind == "DriftedColumnsCount"), None)
    drift = {c["column"]: (c, float(v)) for kind, c, v in found if kind == "ValueDrift"}
    prediction_config, prediction_score = drift[PREDICTION]
    return DriftResult(
        share=float(count["share"]) if count is not None else None,
        drifted=[col for col in columns if col in drift and _beyond(*drift[col])],
        scores={col: round(drift[col][1], 6) for col in columns if col in drift},
        not_computable=skipped,
        prediction_drifted=_beyond(prediction_config, prediction_score),
        prediction_score=round(prediction_score, 6),
        snapshot=snapshot,
    )


def performance_report(rows: pd.DataFrame, month_end: pd.Timestamp) -> Any:
    """An Evidently classification report of labelled predictions of one month."""
    from evidently import Report
    from evidently.presets import ClassificationPreset

    labelled = monitored_frame(rows.dropna(subset=[TARGET]))
    labelled[TARGET] = labelled[TARGET].astype(int)
    return Report([ClassificationPreset()]).run(
        _dataset(labelled, [], with_target=True), None, timestamp=month_end
    )


def _s3_endpoint_for_fsspec(url: str) -> None:
    """The workspace is read through fsspec/botocore, which read ``AWS_ENDPOINT_URL_S3``;
    the platform's processes may only carry ``MLFLOW_S3_ENDPOINT_URL``."""
    endpoint = os.environ.get("MLFLOW_S3_ENDPOINT_URL")
    if url.startswith("s3://") and endpoint and not os.environ.get("AWS_ENDPOINT_URL_S3"):
        os.environ["AWS_ENDPOINT_URL_S3"] = endpoint


def save_snapshots(
    workspace_url: str, project_name: str, runs: dict[str, Any], description: str
) -> list[str]:
    """Add each snapshot of ``runs`` (name -> snapshot) to project ``project_name``
    (created with ``description`` when missing); returns the snapshot ids."""
    from evidently.ui.workspace import Workspace

    _s3_endpoint_for_fsspec(workspace_url)
    workspace = Workspace(workspace_url)
    found = workspace.search_project(project_name)
    project = found[0] if found else workspace.create_project(project_name)
    if not found:
        project.description = description
        project.save()
    return [str(workspace.add_run(project.id, snap, name=name).id) for name, snap in runs.items()]
