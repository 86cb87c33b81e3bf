"""Settings of the pipeline as the library takes them.

The platform's choices (registry names, promotion margins, trials, quality gate, where
the data lives) have no default here: the caller passes them (the flows build them
from ``workloads.flows.settings.PipelineSettings``, whose defaults equal
``environments/base.yaml``). Only how a search runs has library defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PromotionMargins:
    """How much a challenger must beat each reference by on the same out-of-time data.

    ROC-AUC must exceed the reference's by more than ``auc_*``; the Brier score
    must be lower by at least ``brier_*`` (0 means "no worse").
    """

    auc_over_baseline: float
    brier_over_baseline: float
    auc_over_champion: float
    brier_over_champion: float


@dataclass(frozen=True)
class TrainingSettings:
    """How models are searched, validated and evaluated."""

    trials: int
    eval_months: int = 3
    val_months: int = 2
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

    model_name: str
    champion_alias: str
    challenger_alias: str
    experiment: str


@dataclass(frozen=True)
class PipelineSettings:
    """Everything a pipeline run needs besides its data."""

    data_url: str
    quality_threshold: float
    training: TrainingSettings
    registry: RegistrySettings
    margins: PromotionMargins
