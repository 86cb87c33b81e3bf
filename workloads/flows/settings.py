"""Settings of the pipeline flows (acquisition, processing, training and the gate,
scoring): one model, read from ``PIPELINE_*`` variables, passed whole to each flow.

``python -m workloads.flows.deploy`` reads them once and gives every deployment the
whole model as its ``settings`` parameter, so a run shows what it used; a flow called
without it reads the variables itself. Variables (defaults as ``environments/base.yaml``):

- ``PIPELINE_DATA_URL``: where the data lives (``s3://crm-data``; default a local folder);
- ``PIPELINE_QUALITY_THRESHOLD`` (0.95), ``PIPELINE_TRIALS`` (20);
- ``PIPELINE_REGISTRY__MODEL_NAME``, ``..__CHAMPION_ALIAS``, ``..__CHALLENGER_ALIAS``;
- ``PIPELINE_MARGINS__AUC_OVER_BASELINE`` and the other promotion margins
  (:class:`PromotionMargins`); ``PIPELINE_MARGINS`` may hold them all as JSON.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import SettingsConfigDict

from ml import settings as ml_settings
from workloads.settings import LOCAL_DATA_URL, RegistryNames, WorkloadSettings, load


class PromotionMargins(BaseModel):
    """How much a challenger must beat each reference by on the same out-of-time data:
    ROC-AUC higher by more than ``auc_*``, Brier lower by at least ``brier_*``
    (0 means "no worse"). Each is between 0 and 1."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    auc_over_baseline: float = Field(0.01, ge=0, le=1)
    brier_over_baseline: float = Field(0.001, ge=0, le=1)
    auc_over_champion: float = Field(0.0, ge=0, le=1)
    brier_over_champion: float = Field(0.0, ge=0, le=1)


class PipelineSettings(WorkloadSettings):
    """Everything a pipeline flow needs besides its run's own parameters (month, version,
    source). Raises ``pydantic.ValidationError`` for a value out of range; load it with
    :func:`workloads.settings.load` for an error that names the variable."""

    model_config = SettingsConfigDict(
        env_prefix="PIPELINE_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    data_url: str = LOCAL_DATA_URL
    quality_threshold: float = Field(0.95, ge=0, le=1)
    trials: int = Field(20, ge=1)
    registry: RegistryNames = RegistryNames()
    margins: PromotionMargins = PromotionMargins()

    def for_ml(self) -> ml_settings.PipelineSettings:
        """The settings as ``ml`` takes them; the MLflow experiment is named after the model."""
        registry = self.registry
        return ml_settings.PipelineSettings(
            data_url=self.data_url,
            quality_threshold=self.quality_threshold,
            training=ml_settings.TrainingSettings(trials=self.trials),
            registry=ml_settings.RegistrySettings(
                model_name=registry.model_name,
                champion_alias=registry.champion_alias,
                challenger_alias=registry.challenger_alias,
                experiment=registry.model_name,
            ),
            margins=ml_settings.PromotionMargins(**self.margins.model_dump()),
        )


def resolved(settings: PipelineSettings | None) -> PipelineSettings:
    """``settings`` (a flow's parameter), or the ``PIPELINE_*`` variables' when None.
    Raises :class:`workloads.settings.SettingsError` naming a variable it refuses."""
    return settings if settings is not None else load(PipelineSettings)
