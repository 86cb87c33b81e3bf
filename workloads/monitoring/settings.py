"""Settings of the monitoring flows: one model, read from ``MONITORING_*`` variables,
passed whole to the ``monitoring`` and ``demo-replay`` flows.

``python -m workloads.flows.deploy`` reads them once and gives the deployments the
whole model as their ``settings`` parameter; a flow called without it reads the
variables itself. Variables (defaults as ``environments/base.yaml``):
``MONITORING_DATA_URL``, ``MONITORING_PREDICTIONS_URL`` (the prediction log, e.g.
``s3://prediction-logs``), ``MONITORING_MONITORING_URL`` (results, alerts, trigger and
cool-down state, e.g. ``s3://monitoring``), ``MONITORING_WORKSPACE_URL`` (the Evidently
workspace; default ``<monitoring url>/evidently``), ``MONITORING_REGISTRY__MODEL_NAME``,
``MONITORING_REGISTRY__CHAMPION_ALIAS``, ``MONITORING_WEBHOOK_URL_SECRET``,
``MONITORING_COOLDOWN_DAYS``, ``MONITORING_TRAINING_DEPLOYMENT``,
``MONITORING_LOOKBACK_MONTHS``, ``MONITORING_MIN_LABELLED``,
``MONITORING_MIN_SEGMENT_SIZE``, ``MONITORING_RULES`` (JSON, as ``monitoring.rules``).
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from ml import storage
from workloads.monitoring.triggers import Rule, rules_from
from workloads.settings import LOCAL_DATA_URL, RegistryNames, WorkloadSettings, load

PROJECT = "CRM win probability"
REPLAY_PROJECT = "CRM win probability: replayed months (generated data)"


class ReplayScope(BaseModel):
    """A demo replay's run: generated months, their generated outcomes, and only the
    prediction log rows the replay scored (partitions from ``since``, ids with ``prefix``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    replay_id: str
    outcomes_url: str
    since: str
    prefix: str


class MonitoringSettings(WorkloadSettings):
    """Everything one monitoring run needs besides its month. ``rules`` holds each
    rule's settings by name (``{"drift_share": {"n": 2, "m": 3, "threshold": 0.5}}``;
    a rule or key not given keeps :class:`~workloads.monitoring.triggers.Rule`'s
    default); ``replay`` is set per run by the demo replay.
    Raises ``pydantic.ValidationError`` for rules that do not parse or a lookback
    shorter than a rule's window; :func:`workloads.settings.load` names the variable."""

    model_config = SettingsConfigDict(
        env_prefix="MONITORING_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    data_url: str = LOCAL_DATA_URL
    predictions_url: str = "s3://prediction-logs"
    monitoring_url: str = "s3://monitoring"
    workspace_url: str = ""
    registry: RegistryNames = RegistryNames()
    webhook_url_secret: str = "alert-webhook-url"
    cooldown_days: float = Field(14.0, ge=0)
    training_deployment: str = "training/monthly"
    lookback_months: int = Field(6, ge=1)
    min_labelled: int = Field(50, ge=1)
    min_segment_size: int = Field(30, ge=1)
    rules: dict[str, dict[str, Any]] = Field(default_factory=dict)
    replay: ReplayScope | None = None

    @model_validator(mode="before")
    @classmethod
    def _workspace_beside_results(cls, values: Any) -> Any:
        """The Evidently workspace defaults to ``<monitoring url>/evidently``."""
        if isinstance(values, dict) and not values.get("workspace_url"):
            monitoring_url = (
                values.get("monitoring_url") or cls.model_fields["monitoring_url"].get_default()
            )
            values = {**values, "workspace_url": storage.join(monitoring_url, "evidently")}
        return values

    @field_validator("rules")
    @classmethod
    def _rules_parse(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        rules_from(value)  # raises ValueError naming the rule or key
        return value

    @model_validator(mode="after")
    def _rules_fit_the_lookback(self) -> MonitoringSettings:
        longest = max(r.m for r in self.rule_list)
        if self.lookback_months < longest:
            raise ValueError(
                f"MONITORING_LOOKBACK_MONTHS={self.lookback_months} is shorter than a rule's "
                f"window m={longest}"
            )
        return self

    @property
    def rule_list(self) -> tuple[Rule, ...]:
        """Every rule, in :data:`~workloads.monitoring.triggers.RULES` order.
        Raises ValueError for an unknown rule or key, or n above m."""
        return tuple(rules_from(self.rules))

    @property
    def model_name(self) -> str:
        """The registered model's name."""
        return self.registry.model_name

    @property
    def champion_alias(self) -> str:
        """The alias of the model that serves."""
        return self.registry.champion_alias

    @property
    def project(self) -> str:
        """The Evidently project the run's snapshots go to (the replay's own for a replay)."""
        return PROJECT if self.replay is None else REPLAY_PROJECT

    @property
    def output_url(self) -> str:
        """Where this run's results, alerts and state go: the monitoring URL, or for a
        demo replay ``<monitoring url>/replay/<id>``, so generated months never mix with
        the platform's own (cached references stay shared under the monitoring URL)."""
        if self.replay is None:
            return self.monitoring_url
        return storage.join(self.monitoring_url, "replay", self.replay.replay_id)

    @property
    def state_url(self) -> str:
        """Where the retraining cool-down state is kept."""
        return storage.join(self.output_url, "state", "retraining.json")

    @property
    def triggers_url(self) -> str:
        """Where each rule's firing state is kept."""
        return storage.join(self.output_url, "state", "triggers.json")

    def rule(self, name: str) -> Rule:
        """Rule ``name`` (one of :data:`~workloads.monitoring.triggers.RULES`)."""
        return next(r for r in self.rule_list if r.name == name)


def resolved(settings: MonitoringSettings | None) -> MonitoringSettings:
    """``settings`` (a flow's parameter), or the ``MONITORING_*`` variables' when None.
    Raises :class:`workloads.settings.SettingsError` naming a variable it refuses."""
    return settings if settings is not None else load(MonitoringSettings)


def with_replay(settings: MonitoringSettings, scope: ReplayScope) -> MonitoringSettings:
    """``settings`` for a demo replay's run: its own output folder (see
    :attr:`MonitoringSettings.output_url`) and its own Evidently project."""
    return settings.model_copy(update={"replay": scope})


def secret_value(name: str) -> str | None:
    """The value of platform secret ``name`` from ``OPSCTL_SECRET_<NAME>``, if set."""
    return os.environ.get("OPSCTL_SECRET_" + name.upper().replace("-", "_")) or None
