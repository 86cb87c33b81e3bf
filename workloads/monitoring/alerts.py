"""Alerts and the cooled-down retraining trigger.

An alert is raised when a rule starts firing (``workloads.monitoring.triggers``). It
goes to the run's log; to the webhook named by the ``webhook_url_secret`` setting as
Slack-compatible JSON ``{"text": ...}`` when that secret is set; as tags on the
champion's model version in MLflow (``monitoring.alert``, ``monitoring.alert_month``,
``monitoring.alert_rules``); and to monitoring storage, where the app lists it. Then the
training deployment is run unless monitoring started one less than ``cooldown_days``
ago (the time of the last start is kept in storage, so it holds across runs and workers).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ml import storage
from workloads.monitoring.settings import MonitoringSettings
from workloads.monitoring.triggers import Trigger

GENERATED = "replayed months: generated data, not the CRM's"


def alert_text(
    month: str,
    model: str,
    fired: list[Trigger],
    retraining: dict[str, Any],
    generated: bool = False,
) -> str:
    """The alert as one message for people: which rules, months and segments."""
    title = f"CRM model monitoring {month}: {model}: {len(fired)} rule(s) started firing"
    lines = [title + (f" ({GENERATED})" if generated else "")]
    lines += [f"- {trigger.describe()}" for trigger in fired]
    lines.append(f"retraining: {retraining['status']} ({retraining['detail']})")
    return "\n".join(lines)


def tag_champion(model_name: str, version: str, alert: dict[str, Any]) -> str:
    """Tag model version ``version`` with the alert (MLflow from ``MLFLOW_TRACKING_URI``
    and its standard credential variables); returns what happened, never raises."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    tags = {
        "monitoring.alert": alert["text"][:4900],  # MLflow caps tag values at 5,000 characters
        "monitoring.alert_month": alert["month"],
        "monitoring.alert_rules": ",".join(t["rule"] for t in alert["triggers"]),
        "monitoring.alert_at": alert["raised_at"],
    }
    try:
        client = MlflowClient()
        for key, value in tags.items():
            client.set_model_version_tag(model_name, version, key, value)
    except (MlflowException, OSError) as exc:
        return f"failed: {type(exc).__name__}: {exc}"
    return f"tagged {model_name} v{version}"


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
    return str(flow_run.id)  # type: ignore[union-attr]  # called from sync code: not a coroutine


def record_alert(settings: MonitoringSettings, alert: dict[str, Any]) -> str:
    """Keep ``alert`` in monitoring storage for the app; returns its URL."""
    stamp = alert["raised_at"].replace(":", "").replace("+", "Z")
    url = storage.join(settings.output_url, "alerts", f"{alert['month']}-{stamp}.json")
    storage.write_json(url, alert)
    return url
