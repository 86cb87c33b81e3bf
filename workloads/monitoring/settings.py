"""Monitoring settings: a flow parameter wins, then an environment variable, then the default.

Variables: ``CRM_DATA_URL``, ``CRM_PREDICTIONS_URL`` (the prediction log, e.g.
``s3://prediction-logs``), ``CRM_MONITORING_URL`` (results, alerts, cool-down state,
e.g. ``s3://monitoring``), ``CRM_EVIDENTLY_WORKSPACE`` (default
``<monitoring url>/evidently``), ``CRM_MODEL_NAME``, ``CRM_CHAMPION_ALIAS``,
``CRM_DRIFT_SHARE_THRESHOLD``, ``CRM_MIN_AUC``, ``CRM_WEBHOOK_URL_SECRET``,
``CRM_COOLDOWN_DAYS``, ``CRM_TRAINING_DEPLOYMENT``.

The defaults equal those of the ``monitoring`` section of ``environments/base.yaml``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ml import storage
from workloads.flows.settings import data_url as resolve_data_url


@dataclass(frozen=True)
class MonitoringSettings:
    """Everything one monitoring run needs besides its month."""

    data_url: str
    predictions_url: str = "s3://prediction-logs"
    monitoring_url: str = "s3://monitoring"
    workspace_url: str = "s3://monitoring/evidently"
    model_name: str = "crm-win-probability"
    champion_alias: str = "champion"
    drift_share_threshold: float = 0.5
    min_auc: float = 0.55
    webhook_url_secret: str = "alert-webhook-url"
    cooldown_days: float = 14.0
    training_deployment: str = "training/monthly"
    lookback_months: int = 6
    min_labelled: int = 50
    project: str = "CRM win probability"

    @property
    def state_url(self) -> str:
        """Where the retraining cool-down state is kept."""
        return storage.join(self.monitoring_url, "state", "retraining.json")


_DEFAULT = MonitoringSettings(data_url="")


def _pick(value: Any, variable: str, default: Any, cast: Any = str) -> Any:
    if value is not None:
        return cast(value)
    raw = os.environ.get(variable)
    return cast(raw) if raw not in (None, "") else default


def monitoring_settings(**values: Any) -> MonitoringSettings:
    """Settings from keyword parameters (None means "not given") and the environment."""
    monitoring_url = _pick(
        values.get("monitoring_url"), "CRM_MONITORING_URL", _DEFAULT.monitoring_url
    )
    return MonitoringSettings(
        data_url=resolve_data_url(values.get("data_url")),
        predictions_url=_pick(
            values.get("predictions_url"), "CRM_PREDICTIONS_URL", _DEFAULT.predictions_url
        ),
        monitoring_url=monitoring_url,
        workspace_url=_pick(
            values.get("workspace_url"),
            "CRM_EVIDENTLY_WORKSPACE",
            storage.join(monitoring_url, "evidently"),
        ),
        model_name=_pick(values.get("model_name"), "CRM_MODEL_NAME", _DEFAULT.model_name),
        champion_alias=_pick(
            values.get("champion_alias"), "CRM_CHAMPION_ALIAS", _DEFAULT.champion_alias
        ),
        drift_share_threshold=_pick(
            values.get("drift_share_threshold"),
            "CRM_DRIFT_SHARE_THRESHOLD",
            _DEFAULT.drift_share_threshold,
            float,
        ),
        min_auc=_pick(values.get("min_auc"), "CRM_MIN_AUC", _DEFAULT.min_auc, float),
        webhook_url_secret=_pick(
            values.get("webhook_url_secret"), "CRM_WEBHOOK_URL_SECRET", _DEFAULT.webhook_url_secret
        ),
        cooldown_days=_pick(
            values.get("cooldown_days"), "CRM_COOLDOWN_DAYS", _DEFAULT.cooldown_days, float
        ),
        training_deployment=_pick(
            values.get("training_deployment"),
            "CRM_TRAINING_DEPLOYMENT",
            _DEFAULT.training_deployment,
        ),
        lookback_months=int(values.get("lookback_months") or _DEFAULT.lookback_months),
        min_labelled=int(values.get("min_labelled") or _DEFAULT.min_labelled),
    )


def secret_value(name: str) -> str | None:
    """The value of platform secret ``name`` from ``OPSCTL_SECRET_<NAME>``, if set."""
    return os.environ.get("OPSCTL_SECRET_" + name.upper().replace("-", "_")) or None
