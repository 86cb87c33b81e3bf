"""Settings of the pipeline, with defaults; flows fill them from parameters or env vars."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PromotionMargins:
    """How much a challenger must beat each reference by on the same out-of-time data.

    ROC-AUC must exceed the reference's by more than ``auc_*``; the Brier score
    must be lower by at least ``brier_*`` (0 means "no worse").
    """

    auc_over_baseline: float = 0.01
    brier_over_baseline: float = 0.001
    auc_over_champion: float = 0.0
    brier_over_champion: float = 0.0


@dataclass(frozen=True)
class TrainingSettings:
    """How models are searched, validated and evaluated."""

    eval_months: int = 3
    val_months: int = 2
    trials: int = 20
    seed: int = 42
    families: tuple[str, ...] = ("logistic", "boosting")
    calibration: str = "sigmoid"
    timeout_s: float | None = None
    max_tuning_rows: int = 200_000
    # OpenMP threads for model fitting; more threads than free cores makes
    # gradient boosting many times slower on a shared machine
    threads: int = 1


@dataclass(frozen=True)
class RegistrySettings:
    """Model registry names."""

    model_name: str = "crm-win-probability"
    champion_alias: str = "champion"
    challenger_alias: str = "challenger"
    experiment: str = "crm-win-probability"


@dataclass(frozen=True)
class PipelineSettings:
    """Everything a pipeline run needs besides its data."""

    data_url: str = "file://./.data/crm-data"
    quality_threshold: float = 0.95
    training: TrainingSettings = field(default_factory=TrainingSettings)
    registry: RegistrySettings = field(default_factory=RegistrySettings)
    margins: PromotionMargins = field(default_factory=PromotionMargins)
