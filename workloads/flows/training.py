"""Flow: train, evaluate out of time, log to MLflow, register, apply the promotion gate."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from ml import settings as ml_settings
from ml.runs import train_month
from workloads.flows.runtime import month_run_name, rename_run, resolve, storage_task
from workloads.flows.settings import PipelineSettings, resolved


@storage_task
def fit_and_gate(
    version: str,
    month: str,
    settings: ml_settings.PipelineSettings,
    tags: dict[str, str],
    force: bool,
) -> dict[str, Any]:
    """Train, register and gate (see :func:`ml.runs.train_month`); returns its summary."""
    return train_month(
        settings.data_url, version, month, settings, f"training-{month}", tags, force
    )


def run_tags() -> dict[str, str]:
    """The Prefect runs this training belongs to, as MLflow tags: ``pipeline_run_id`` is
    the outermost flow run (what ``opsctl pipeline run`` started), so its report can
    find the MLflow runs of a pipeline run."""
    tags = {}
    if flow_run.id:
        tags["prefect.flow_run_id"] = str(flow_run.id)
        tags["pipeline_run_id"] = str(flow_run.root_flow_run_id or flow_run.id)
    return tags


@flow(name="training", flow_run_name=month_run_name("training"))
def training(
    month: str | None = None,
    version: str | None = None,
    settings: PipelineSettings | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Train on ``month``'s processed tables; the new version becomes the challenger and
    the champion only when the gate passes. States plainly when it is not promoted.

    A version already trained on the same data, code and settings is reused instead
    (nothing trained or registered, the gate not run, every alias kept) and the run
    says so, unless ``force``. Returns :func:`ml.runs.train_month`'s summary
    (``model_name``, ``model_version``, ``promoted``, ``decision``, ``reused``, ...)."""
    chosen = resolved(settings)
    version, month = resolve(chosen.data_url, version, month)
    rename_run(f"training-{month}")
    summary = fit_and_gate(version, month, chosen.for_ml(), run_tags(), force)
    logger = get_run_logger()
    if summary["reused"]:
        logger.info("%s %s", summary["model_name"], summary["decision"])
        return summary
    verdict = "PROMOTED to champion" if summary["promoted"] else "NOT promoted"
    logger.info(
        "%s v%s (%s, trained on %s data %s): out-of-time ROC-AUC %.4f, Brier %.4f; %s: %s",
        summary["model_name"],
        summary["model_version"],
        summary["family"],
        summary["data"]["source"],
        summary["data"]["version"],
        summary["eval"]["roc_auc"],
        summary["eval"]["brier"],
        verdict,
        summary["decision"],
    )
    if summary["baseline_version"]:
        logger.info("champion is now the baseline v%s", summary["baseline_version"])
    return summary
