"""Flow: train, evaluate out of time, log to MLflow, register, apply the promotion gate."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from ml.runs import train_month
from ml.settings import PipelineSettings
from workloads.flows.runtime import month_run_name, rename_run, resolve, storage_task
from workloads.flows.settings import pipeline_settings


@storage_task
def fit_and_gate(version: str, month: str, settings: PipelineSettings) -> dict[str, Any]:
    return train_month(settings.data_url, version, month, settings, f"training-{month}")


@flow(name="training", flow_run_name=month_run_name("training"))
def training(
    month: str | None = None,
    version: str | None = None,
    data_url: str | None = None,
    model_name: str | None = None,
    champion_alias: str | None = None,
    challenger_alias: str | None = None,
    trials: int | None = None,
    margins: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Train on ``month``'s processed tables; the new version becomes the challenger and
    the champion only when the gate passes. States plainly when it is not promoted."""
    settings = pipeline_settings(
        data_url_value=data_url,
        model_name=model_name,
        champion_alias=champion_alias,
        challenger_alias=challenger_alias,
        trials=trials,
        margins=margins,
    )
    version, month = resolve(settings.data_url, version, month)
    rename_run(f"training-{month}")
    summary = fit_and_gate(version, month, settings)
    logger = get_run_logger()
    verdict = "PROMOTED to champion" if summary["promoted"] else "NOT promoted"
    logger.info(
        "%s v%s (%s): out-of-time ROC-AUC %.4f, Brier %.4f; %s: %s",
        summary["model_name"],
        summary["model_version"],
        summary["family"],
        summary["eval"]["roc_auc"],
        summary["eval"]["brier"],
        verdict,
        summary["decision"],
    )
    return summary
