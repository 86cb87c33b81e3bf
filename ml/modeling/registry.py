"""Register a trained model, give it the challenger alias, and apply the promotion gate."""

from __future__ import annotations

import mlflow
import numpy as np
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ml.modeling.evaluate import metrics
from ml.modeling.promotion import Decision, decide
from ml.modeling.train import TrainingResult
from ml.settings import PipelineSettings


def _champion_metrics(
    client: MlflowClient, result: TrainingResult, settings: PipelineSettings
) -> tuple[dict[str, float] | None, str | None, list[str]]:
    """The current champion scored on the challenger's evaluation rows, if there is one."""
    name, alias = settings.registry.model_name, settings.registry.champion_alias
    try:
        version = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None, None, [f"no '{alias}' yet"]
    try:
        model = mlflow.sklearn.load_model(f"models:/{name}@{alias}")
        p = np.asarray(model.predict_proba(result.eval_inputs))[:, 1]
    except Exception as exc:  # any failure to load or score is reported, not fatal
        return None, version.version, [f"champion v{version.version} could not be scored: {exc}"]
    return metrics(result.eval_labels, p), version.version, []


def register_and_gate(
    result: TrainingResult, model_uri: str, run_id: str, settings: PipelineSettings
) -> tuple[str, Decision]:
    """Register ``model_uri`` as a new version with the challenger alias; promote it to
    champion when the gate passes. The decision is logged to run ``run_id``.

    Returns (new version, decision).
    """
    client = MlflowClient()
    reg = settings.registry
    champion, champion_version, notes = _champion_metrics(client, result, settings)
    version = mlflow.register_model(model_uri, reg.model_name).version
    client.set_registered_model_alias(reg.model_name, reg.challenger_alias, version)
    decision = decide(
        result.eval_metrics,
        result.baselines,
        champion,
        settings.margins,
        champion_version=champion_version,
        notes=notes,
    )
    if decision.promote:
        client.set_registered_model_alias(reg.model_name, reg.champion_alias, version)
    _log_decision(client, run_id, reg.model_name, version, decision, champion)
    return version, decision


def _log_decision(
    client: MlflowClient,
    run_id: str,
    name: str,
    version: str,
    decision: Decision,
    champion: dict[str, float] | None,
) -> None:
    verdict = "promoted" if decision.promote else "not promoted"
    client.log_dict(run_id, decision.as_dict(), "promotion.json")
    client.set_tag(run_id, "promotion.decision", verdict)
    client.set_tag(run_id, "promotion.reason", decision.reason[:5000])
    client.set_tag(run_id, "model_version", version)
    client.log_metric(run_id, "promoted", float(decision.promote))
    for key, value in (champion or {}).items():
        if np.isfinite(value):
            client.log_metric(run_id, f"champion_eval_{key}", float(value))
    client.set_model_version_tag(name, version, "promotion", verdict)
    client.set_model_version_tag(
        name, version, "eval_roc_auc", f"{decision.challenger['roc_auc']:.4f}"
    )
    client.set_model_version_tag(name, version, "eval_brier", f"{decision.challenger['brier']:.4f}")
