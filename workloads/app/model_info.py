"""The registry's champion and challenger as the Model page shows them, read from MLflow:
metrics against the baselines, the calibration curve and the features.

MLflow is probed with a short timeout first, and its client's retries are turned
down, so a stopped server gives a message within seconds rather than a long hang.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

METRICS = ("roc_auc", "brier", "pr_auc", "log_loss")
BASELINES = ("historical_win_rate", "agent_win_rate")


class MlflowDown(RuntimeError):
    """MLflow does not answer."""


@dataclass
class ModelView:
    """One aliased model version and what its training run logged."""

    alias: str
    version: str
    run_id: str
    metrics: dict[str, dict[str, float]]
    calibration: dict[str, dict[str, list[float]]] | None = None
    features: list[str] = field(default_factory=list)
    importance: dict[str, float] | None = None
    tags: dict[str, str] = field(default_factory=dict)


def check_mlflow(url: str, timeout_s: float = 3.0) -> None:
    """Raises MlflowDown unless MLflow at ``url`` answers its health check."""
    try:
        response = httpx.get(f"{url.rstrip('/')}/health", timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise MlflowDown(f"MLflow at {url} is unreachable: {exc}") from None
    if response.status_code != 200:
        raise MlflowDown(f"MLflow at {url} answered {response.status_code}")


def metric_table(run_metrics: dict[str, float]) -> dict[str, dict[str, float]]:
    """``{"model": {...}, "baseline: historical_win_rate": {...}, ...}`` from a run's metrics."""
    rows = {"model": {m: run_metrics[f"eval_{m}"] for m in METRICS if f"eval_{m}" in run_metrics}}
    for name in BASELINES:
        values = {m: run_metrics.get(f"baseline_{name}_{m}") for m in METRICS}
        rows[f"baseline: {name}"] = {m: v for m, v in values.items() if v is not None}
    return {name: values for name, values in rows.items() if values}


def _artifact(client: Any, run_id: str, path: str) -> Any:
    """A JSON artifact of ``run_id`` read through ``client`` (so through its tracking
    server, never the process-wide default), or None when the run did not log it."""
    with tempfile.TemporaryDirectory() as folder:
        try:
            local = client.download_artifacts(run_id, path, folder)
        except Exception:  # an artifact a run did not log is simply absent
            return None
        return json.loads(Path(local).read_text(encoding="utf-8"))


def _view(client: Any, alias: str, version: Any) -> ModelView:
    """What ``version`` says of itself; a version registered without a training run
    here (a promoted copy) has its tags, and no metrics or run artifacts."""
    run_id = version.run_id or ""
    if not run_id:
        return ModelView(alias, str(version.version), "", {}, tags=dict(version.tags or {}))
    run = client.get_run(run_id)
    features = _artifact(client, run_id, "features.json") or {}
    return ModelView(
        alias=alias,
        version=str(version.version),
        run_id=run_id,
        metrics=metric_table(run.data.metrics),
        calibration=_artifact(client, run_id, "plots/calibration_curve.json"),
        features=list(features.get("features", [])),
        importance=_artifact(client, run_id, "feature_importance.json"),
        tags=dict(version.tags or {}),
    )


def load_model_views(url: str, model_name: str, aliases: tuple[str, ...]) -> list[ModelView]:
    """The versions holding ``aliases`` (missing aliases are skipped); raises MlflowDown."""
    check_mlflow(url)
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=url, registry_uri=url)
    views = []
    for alias in aliases:
        try:
            version = client.get_model_version_by_alias(model_name, alias)
        except MlflowException:
            continue
        views.append(_view(client, alias, version))
    return views
