"""Breaches, alerts and the cooled-down retraining trigger.

A run breaches when any of these holds:

- the share of drifted monitored columns reaches ``drift_share_threshold``;
- the predicted probability drifted from the reference;
- a month of predictions with at least ``min_labelled`` closed deals has a realised
  ROC-AUC below ``min_auc``.

On a breach the alert goes to the log and, when the webhook secret is set, to the
webhook as Slack-compatible JSON ``{"text": ...}``; then the training deployment is
run unless a retraining was started less than ``cooldown_days`` ago (the time of the
last start is kept in storage, so it holds across runs and workers).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ml import storage
from workloads.monitoring.settings import MonitoringSettings


def breaches(
    drift: dict[str, Any] | None, performance: list[dict[str, Any]], settings: MonitoringSettings
) -> list[str]:
    """Why this run breaches its thresholds, one sentence each (empty: no breach)."""
    reasons = []
    if drift and drift["share"] >= settings.drift_share_threshold:
        reasons.append(
            f"data drift: {len(drift['drifted_columns'])} monitored columns drifted "
            f"({', '.join(drift['drifted_columns'])}), share {drift['share']:.2f} "
            f">= {settings.drift_share_threshold}"
        )
    if drift and drift["prediction_drifted"]:
        reasons.append(
            f"prediction drift: win_probability moved from the reference "
            f"(score {drift['prediction_score']})"
        )
    for month in performance:
        auc = month.get("roc_auc")
        if auc is not None and auc < settings.min_auc:
            reasons.append(
                f"realised ROC-AUC {auc:.3f} of {month['month']} predictions "
                f"({month['labelled']} closed deals) < {settings.min_auc}"
            )
    return reasons


def alert_text(month: str, model: str, reasons: list[str], retraining: dict[str, Any]) -> str:
    """The alert as one message for people."""
    lines = [f"CRM model monitoring {month}: {model} breached its thresholds"]
    lines += [f"- {reason}" for reason in reasons]
    lines.append(f"retraining: {retraining['status']} ({retraining['detail']})")
    return "\n".join(lines)


def send_webhook(url: str | None, text: str, timeout_s: float = 10.0) -> str:
    """POST ``{"text": text}`` to ``url``; returns what happened, never raises."""
    if not url:
        return "not sent: no webhook URL configured"
    try:
        response = httpx.post(url, json={"text": text}, timeout=timeout_s)
    except httpx.HTTPError as exc:
        return f"failed: {type(exc).__name__}: {exc}"
    if response.status_code >= 400:
        return f"failed: HTTP {response.status_code}"
    return "sent"


def last_retraining(settings: MonitoringSettings) -> dict[str, Any] | None:
    """The cool-down state: when monitoring last started a retraining, or None."""
    if not storage.exists(settings.state_url):
        return None
    return storage.read_json(settings.state_url)


def cooldown_until(state: dict[str, Any] | None, days: float) -> datetime | None:
    """When the cool-down started by ``state`` ends, or None when there is none."""
    if not state:
        return None
    return datetime.fromisoformat(state["started_at"]) + timedelta(days=days)


def trigger_retraining(
    settings: MonitoringSettings,
    month: str,
    run: Callable[[str], str],
    now: datetime | None = None,
) -> dict[str, Any]:
    """Start the training deployment through ``run`` (deployment name -> flow run id)
    unless the cool-down holds; records the start in storage."""
    now = now or datetime.now(UTC)
    until = cooldown_until(last_retraining(settings), settings.cooldown_days)
    if until and now < until:
        return {
            "status": "suppressed",
            "detail": f"cool-down until {until.isoformat(timespec='seconds')}",
        }
    flow_run_id = run(settings.training_deployment)
    state = {
        "started_at": now.isoformat(timespec="seconds"),
        "flow_run_id": flow_run_id,
        "deployment": settings.training_deployment,
        "month": month,
    }
    storage.write_json(settings.state_url, state)
    return {
        "status": "started",
        "detail": f"{settings.training_deployment} flow run {flow_run_id}",
        "flow_run_id": flow_run_id,
    }


def run_training_deployment(name: str) -> str:
    """Create a run of deployment ``name`` through the Prefect API, without waiting;
    returns its flow run id."""
    from prefect.deployments import run_deployment

    flow_run = run_deployment(name=name, timeout=0, as_subflow=False, tags=["monitoring"])
    return str(flow_run.id)


def record_alert(settings: MonitoringSettings, alert: dict[str, Any]) -> str:
    """Keep ``alert`` in monitoring storage for the app; returns its URL."""
    stamp = alert["raised_at"].replace(":", "").replace("+", "Z")
    url = storage.join(settings.monitoring_url, "alerts", f"{alert['month']}-{stamp}.json")
    storage.write_json(url, alert)
    return url
