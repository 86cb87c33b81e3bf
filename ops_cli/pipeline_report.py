"""What a pipeline run did and which model serves now, read from the MLflow registry.

The training flow tags its MLflow runs with ``pipeline_run_id`` (the Prefect
flow run ``opsctl pipeline run`` started; a run that reused a version trained on
the same data, code and settings leaves a run of ``kind`` ``reused`` naming
``model_version`` and ``reused.run_id``) and records the data's lineage as the
``data`` tag (a JSON object: source, version, rows, months, quality score);
model versions carry ``kind`` (``learned`` or ``baseline``), ``family``, the
same ``data`` tag and the gate's ``promotion.reason``. opsctl reads these tags
as data: it never imports the pipeline's code.
"""

from __future__ import annotations

import json
from typing import Any

from ops_cli.errors import OpsError

METRICS = ("roc_auc", "brier", "log_loss", "pr_auc")
BASELINES = ("historical_win_rate", "agent_win_rate")


def lineage(tags: dict[str, str]) -> dict[str, Any] | None:
    """The ``data`` object of a run's or model version's tags (None when not recorded)."""
    try:
        data = json.loads(tags["data"])
    except (KeyError, TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def version_summary(tags: dict[str, str]) -> dict[str, Any]:
    """A model version's kind, family, lineage, decision and the gate's reason."""
    return {
        "kind": tags.get("kind", "learned"),
        "family": tags.get("family"),
        "data": lineage(tags),
        "promotion": tags.get("promotion"),
        "reason": tags.get("promotion.reason"),
    }


def _metrics(values: dict[str, float], prefix: str) -> dict[str, float]:
    return {m: round(values[f"{prefix}{m}"], 4) for m in METRICS if f"{prefix}{m}" in values}


def _training_run(client: Any, pipeline_run_id: str) -> Any | None:
    """The MLflow run that says what a pipeline run trained: its learned model's (not
    the baseline's), or the record of the version it reused (``kind`` = ``reused``)."""
    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        return None
    runs = client.search_runs(
        experiments, filter_string=f"tags.pipeline_run_id = '{pipeline_run_id}'", max_results=10
    )
    for kind in ("learned", "reused"):
        found = [r for r in runs if r.data.tags.get("kind") == kind]
        if found:
            return found[0]
    return None


def _training(client: Any, run: Any, name: str) -> dict[str, Any]:
    """What ``run`` trained; for a reuse, the reused version's own training run's data and
    metrics, with ``reused`` True, the reuse's message and the version's aliases now."""
    reuse = run.data.tags if run.data.tags.get("kind") == "reused" else None
    if reuse is not None:
        run = client.get_run(reuse["reused.run_id"])
    tags, values = run.data.tags, run.data.metrics
    training = {
        "run_id": run.info.run_id,
        "model_version": tags.get("model_version"),
        "family": tags.get("family"),
        "data": lineage(tags),
        "model": _metrics(values, "eval_"),
        "baselines": {b: _metrics(values, f"baseline_{b}_") for b in BASELINES},
        "promoted": tags.get("promotion.decision") == "promoted",
        "reason": tags.get("promotion.reason"),
        "reused": reuse is not None,
    }
    if reuse is not None:
        version = reuse["model_version"]
        training.update(model_version=version, promoted=False, reason=reuse.get("reuse.message"),
                        aliases=sorted(client.get_model_version(name, version).aliases or []))  # fmt: skip
    return training


def serving_now(client: Any, name: str, alias: str) -> dict[str, Any] | None:
    """The version ``alias`` points to, with its kind and lineage; None without one."""
    from mlflow.exceptions import MlflowException

    try:
        version = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None
    return {"name": name, "version": str(version.version), "alias": alias,
            **version_summary(dict(version.tags or {}))}  # fmt: skip


def run_report(tracking_uri: str, name: str, alias: str, pipeline_run_id: str) -> dict[str, Any]:
    """Rows read and quarantined, quality, months, the model's and the baselines' metrics,
    the decision and its reason, and which model serves now. Raises OpsError when MLflow
    cannot be read; ``training`` is None when the run trained nothing, and has
    ``reused`` True (``reason``: what the reuse did) when it reused a version trained
    on the same data, code and settings."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        run = _training_run(client, pipeline_run_id)
        training = _training(client, run, name) if run is not None else None
        serving = serving_now(client, name, alias)
    except MlflowException as exc:
        raise OpsError(f"MLflow at {tracking_uri}: {exc.message}") from None
    return {"training": training, "serving": serving}
