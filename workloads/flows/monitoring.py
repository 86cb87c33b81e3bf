"""Flow: monthly monitoring of the champion (see ``workloads.monitoring``).

Drift of the month's scored opportunities against the champion's training
reference, realised performance of the last months' predictions as their deals
close, Evidently snapshots in the workspace, and on a breach an alert (log and
webhook) plus a run of the training deployment, at most once per cool-down.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from ml.snapshots import month_end
from workloads.flows.runtime import RETRY_DELAYS, month_run_name, rename_run, retry_on_transient
from workloads.monitoring import alerts, outcomes, reports, results
from workloads.monitoring.logs import read_predictions
from workloads.monitoring.reference import Reference, champion_reference
from workloads.monitoring.settings import MonitoringSettings, monitoring_settings, secret_value

_RETRY = {
    "cache_policy": NO_CACHE,  # inputs are frames and settings: nothing worth caching
    "retries": len(RETRY_DELAYS),
    "retry_delay_seconds": RETRY_DELAYS,
    "retry_condition_fn": retry_on_transient,
}


def previous_month(now: datetime | None = None) -> str:
    """The calendar month before ``now`` (UTC), as ``YYYY-MM``."""
    now = now or datetime.now(UTC)
    return (pd.Timestamp(now.date()).to_period("M") - 1).strftime("%Y-%m")


def lookback(month: str, months: int) -> list[str]:
    """``months`` months ending with ``month``, oldest first."""
    end = pd.Period(month, freq="M")
    return [(end - i).strftime("%Y-%m") for i in range(months - 1, -1, -1)]


@task(**_RETRY)
def load_reference(settings: MonitoringSettings) -> Reference:
    return champion_reference(
        settings.data_url, settings.monitoring_url, settings.model_name, settings.champion_alias
    )


@task(**_RETRY)
def load_predictions(settings: MonitoringSettings, months: list[str]) -> pd.DataFrame:
    return read_predictions(settings.predictions_url, months)


@task(**_RETRY)
def load_outcomes(settings: MonitoringSettings) -> pd.DataFrame:
    return outcomes.known_outcomes(settings.data_url)


@task(cache_policy=NO_CACHE)
def measure_drift(
    current: pd.DataFrame, reference: Reference, month: str, threshold: float
) -> reports.DriftResult | None:
    if current.empty:
        return None
    return reports.drift_report(current, reference.rows, month_end(month), threshold)


@task(**_RETRY)
def save_snapshots(
    settings: MonitoringSettings,
    month: str,
    drift: reports.DriftResult | None,
    past: pd.DataFrame,
    known: pd.DataFrame,
) -> list[str]:
    runs: dict[str, Any] = {}
    if drift is not None:
        runs[f"drift {month}"] = drift.snapshot
    joined = outcomes.with_outcomes(past, known) if not past.empty else past
    for m, rows in joined.groupby("prediction_month") if not joined.empty else []:
        labelled = rows.dropna(subset=["won"])
        if len(labelled) >= settings.min_labelled and labelled["won"].nunique() == 2:
            runs[f"performance {m} (labels as of {month})"] = reports.performance_report(
                rows, month_end(m)
            )
    return reports.save_snapshots(settings.workspace_url, settings.project, runs)


@task(cache_policy=NO_CACHE)
def raise_alert(
    settings: MonitoringSettings, month: str, model: str, reasons: list[str]
) -> dict[str, Any]:
    logger = get_run_logger()
    retraining = alerts.trigger_retraining(settings, month, alerts.run_training_deployment)
    text = alerts.alert_text(month, model, reasons, retraining)
    logger.warning(text)
    webhook = alerts.send_webhook(secret_value(settings.webhook_url_secret), text)
    logger.info("webhook %s: %s", settings.webhook_url_secret, webhook)
    alert = {
        "month": month,
        "model": model,
        "raised_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "reasons": reasons,
        "retraining": retraining,
        "webhook": webhook,
        "text": text,
    }
    alerts.record_alert(settings, alert)
    return alert


@flow(name="monitoring", flow_run_name=month_run_name("monitoring"))
def monitoring(
    month: str | None = None,
    data_url: str | None = None,
    predictions_url: str | None = None,
    monitoring_url: str | None = None,
    workspace_url: str | None = None,
    model_name: str | None = None,
    champion_alias: str | None = None,
    drift_share_threshold: float | None = None,
    min_auc: float | None = None,
    webhook_url_secret: str | None = None,
    cooldown_days: float | None = None,
    training_deployment: str | None = None,
    lookback_months: int | None = None,
    min_labelled: int | None = None,
) -> dict[str, Any]:
    """Monitor ``month`` (default: the previous calendar month); returns the result
    document also stored at ``<monitoring url>/results/<month>.json``."""
    settings = monitoring_settings(**{k: v for k, v in locals().items() if k != "month"})
    month = month or previous_month()
    month_end(month)  # a malformed month fails here, before any work
    rename_run(f"monitoring-{month}")
    reference = load_reference(settings)
    model = f"{reference.model_name} v{reference.model_version}"
    current = load_predictions(settings, [month])
    past = load_predictions(settings, lookback(month, settings.lookback_months))
    known = load_outcomes(settings)
    drift = measure_drift(current, reference, month, settings.drift_share_threshold)
    performance = outcomes.performance_by_month(past, known, settings.min_labelled)
    snapshots = save_snapshots(settings, month, drift, past, known)
    drift_summary = drift.as_dict() if drift else None
    reasons = alerts.breaches(drift_summary, performance, settings)
    alert = raise_alert(settings, month, model, reasons) if reasons else None
    result = {
        "month": month,
        "model": {"name": reference.model_name, "version": reference.model_version},
        "reference_rows": len(reference.rows),
        "current_rows": len(current),
        "drift": drift_summary,
        "performance": performance,
        "thresholds": {
            "drift_share": settings.drift_share_threshold,
            "min_auc": settings.min_auc,
            "cooldown_days": settings.cooldown_days,
        },
        "breaches": reasons,
        "alert": alert,
        "snapshots": snapshots,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    results.write_results(settings.monitoring_url, result)
    _log_summary(result)
    return result


def _log_summary(result: dict[str, Any]) -> None:
    logger = get_run_logger()
    drift = result["drift"]
    if drift is None:
        logger.info("%s: no predictions logged; drift not measured", result["month"])
    else:
        logger.info(
            "%s: %d predictions, drift share %.2f, prediction drift %s",
            result["month"],
            result["current_rows"],
            drift["share"],
            drift["prediction_drifted"],
        )
    logger.info("%s: %s", result["month"], "; ".join(result["breaches"]) or "no breach")
