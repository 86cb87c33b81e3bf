"""Flow: monthly monitoring of the champion (see ``workloads.monitoring``).

Drift of the month's scored opportunities against the champion's training reference
(overall and per regional office, manager and product series), performance of the last
months' predictions estimated from their probabilities (CBPE) and realised as their
deals close, with each month's label coverage; Evidently snapshots in the workspace;
the N-of-M rules' verdicts, and when a rule starts firing an alert (log, webhook,
MLflow tag on the champion's version, app) plus a run of the training deployment, at
most once per cool-down.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from ml import storage
from ml.snapshots import month_end
from workloads.flows.runtime import RETRY_DELAYS, month_run_name, rename_run, retry_on_transient
from workloads.monitoring import alerts, monthly, outcomes, reports, results
from workloads.monitoring.estimation import PerformanceEstimator
from workloads.monitoring.logs import read_predictions
from workloads.monitoring.reference import Reference, champion_reference
from workloads.monitoring.settings import (
    MonitoringSettings,
    ReplayScope,
    resolved,
    secret_value,
    with_replay,
)
from workloads.monitoring.triggers import Trigger, next_state

_RETRY: dict[str, Any] = {
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
    """The champion's training reference (see :func:`champion_reference`)."""
    return champion_reference(
        settings.data_url, settings.monitoring_url, settings.model_name, settings.champion_alias
    )


@task(**_RETRY)
def load_predictions(settings: MonitoringSettings, months: list[str]) -> pd.DataFrame:
    """The prediction log's rows of ``months`` (the replay's alone for a replay)."""
    scope = settings.replay
    if scope is None:
        return read_predictions(settings.predictions_url, months)
    return read_predictions(settings.predictions_url, months, scope.since, scope.prefix)


@task(**_RETRY)
def load_outcomes(settings: MonitoringSettings, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """The deals' outcomes known at ``as_of`` (all known now when None)."""
    scope = settings.replay
    return outcomes.known_outcomes(settings.data_url, scope.outcomes_url if scope else None, as_of)


@task(**_RETRY)
def load_earlier(settings: MonitoringSettings, months: list[str]) -> dict[str, dict[str, Any]]:
    """Stored results of ``months`` (those that exist)."""
    found = {m: results.read_result(settings.output_url, m) for m in months}
    return {m: r for m, r in found.items() if r}


@task(cache_policy=NO_CACHE)
def measure(
    settings: MonitoringSettings,
    month: str,
    predictions: pd.DataFrame,
    known: pd.DataFrame,
    reference: Reference,
) -> monthly.MonthFigures:
    """The month's drift and estimated and realised performance figures."""
    estimator = PerformanceEstimator(reference.rows)
    return monthly.analyse(settings, month, predictions, known, reference, estimator)


@task(**_RETRY)
def save_snapshots(
    settings: MonitoringSettings,
    month: str,
    figures: monthly.MonthFigures,
    predictions: pd.DataFrame,
    known: pd.DataFrame,
    labels_as_of: str,
) -> list[str]:
    """Store the month's Evidently snapshots; returns their names."""
    runs: dict[str, Any] = {}
    if figures.drift is not None:
        runs[f"drift {month}"] = figures.drift.snapshot
    for m, rows in monthly.performance_frames(predictions, known, settings.min_labelled).items():
        runs[f"performance {m} (labels as of {labels_as_of})"] = reports.performance_report(
            rows, month_end(m)
        )
    description = (
        "Replayed months: generated data scored by the prediction service"
        if settings.replay
        else "Monthly drift and realised performance of the champion model"
    )
    return reports.save_snapshots(settings.workspace_url, settings.project, runs, description)


@task(cache_policy=NO_CACHE)
def raise_alert(
    settings: MonitoringSettings, month: str, reference: Reference, fired: list[Trigger]
) -> dict[str, Any]:
    """Alert on the rules that started firing (log, webhook, MLflow tag, retraining); returns the alert."""
    logger = get_run_logger()
    model = f"{reference.model_name} v{reference.model_version}"
    retraining = alerts.trigger_retraining(settings, month, alerts.run_training_deployment)
    text = alerts.alert_text(month, model, fired, retraining, generated=settings.replay is not None)
    logger.warning(text)
    alert = {
        "month": month,
        "model": model,
        "model_name": reference.model_name,
        "model_version": reference.model_version,
        "generated": settings.replay is not None,
        "raised_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "triggers": [t.as_dict() for t in fired],
        "retraining": retraining,
        "text": text,
    }
    alert["webhook"] = alerts.send_webhook(secret_value(settings.webhook_url_secret), text)
    alert["mlflow"] = alerts.tag_champion(reference.model_name, reference.model_version, alert)
    logger.info(
        "webhook %s: %s; MLflow: %s", settings.webhook_url_secret, alert["webhook"], alert["mlflow"]
    )
    alerts.record_alert(settings, alert)
    return alert


@flow(name="monitoring", flow_run_name=month_run_name("monitoring"))
def monitoring(
    month: str | None = None,
    labels_as_of: str | None = None,
    replay: ReplayScope | None = None,
    settings: MonitoringSettings | None = None,
) -> dict[str, Any]:
    """Monitor ``month`` (default: the previous calendar month) with the outcomes known
    on ``labels_as_of`` (default: all known now); returns the result document also stored
    at ``<output url>/results/<month>.json``. ``replay`` scopes the run to a demo
    replay's generated months (see ``workloads.monitoring.settings.ReplayScope``);
    ``settings`` default to the ``MONITORING_*`` variables'."""
    settings = resolved(settings)
    if replay is not None:
        settings = with_replay(settings, replay)
    month = month or previous_month()
    month_end(month)  # a malformed month fails here, before any work
    as_of = pd.Timestamp(labels_as_of) if labels_as_of else None
    rename_run(f"monitoring-{month}" + ("-replay" if settings.replay else ""))
    months = lookback(month, settings.lookback_months)
    reference = load_reference(settings)
    predictions = load_predictions(settings, months)
    known = load_outcomes(settings, as_of)
    figures = measure(settings, month, predictions, known, reference)
    labels_date = (as_of or pd.Timestamp.now(tz=UTC)).date().isoformat()
    snapshots = save_snapshots(settings, month, figures, predictions, known, labels_date)
    earlier = load_earlier(settings, months[:-1])
    state = results.read_json_or(settings.triggers_url, {})
    verdicts, triggers = monthly.judge(settings, month, months, figures, earlier, state)
    fired = [t for t in triggers if t.fired]
    alert = raise_alert(settings, month, reference, fired) if fired else None
    storage.write_json(settings.triggers_url, next_state(triggers))
    result = _document(settings, month, labels_date, reference, predictions, figures)
    result.update(rules=verdicts, triggers=[t.as_dict() for t in triggers], alert=alert,
                  snapshots=snapshots, finished_at=datetime.now(UTC).isoformat(timespec="seconds"))  # fmt: skip
    result = monthly.jsonable(result)
    results.write_results(settings.output_url, result)
    _log_summary(result)
    return result


def _document(
    settings: MonitoringSettings,
    month: str,
    labels_date: str,
    reference: Reference,
    predictions: pd.DataFrame,
    figures: monthly.MonthFigures,
) -> dict[str, Any]:
    current = (
        predictions[predictions["prediction_month"] == month] if len(predictions) else predictions
    )
    return {
        "month": month,
        "generated": settings.replay is not None,
        "replay": settings.replay.replay_id if settings.replay else None,
        "model": {"name": reference.model_name, "version": reference.model_version},
        "labels_as_of": labels_date,
        "reference": figures.reference,
        "current_rows": len(current),
        "drift": figures.drift.as_dict() if figures.drift else None,
        "performance": figures.performance,
        "segments": {
            "min_size": settings.min_segment_size,
            "drift": figures.segment_drift,
            "performance": figures.segment_performance,
        },
        "settings": {
            "rules": [r.__dict__ for r in settings.rule_list],
            "cooldown_days": settings.cooldown_days,
            "lookback_months": settings.lookback_months,
        },
    }


def _log_summary(result: dict[str, Any]) -> None:
    logger = get_run_logger()
    drift = result["drift"]
    if drift is None:
        logger.info("%s: no predictions logged; drift not measured", result["month"])
    else:
        logger.info(
            "%s: %d predictions, drift share %s (%s), not computable: %s",
            result["month"],
            result["current_rows"],
            drift["share"],
            ", ".join(drift["drifted_columns"]) or "no column drifted",
            ", ".join(drift["not_computable"]) or "none",
        )
    firing = [t["rule"] for t in result["triggers"] if t["firing"]]
    logger.info("%s: rules firing: %s", result["month"], ", ".join(firing) or "none")
