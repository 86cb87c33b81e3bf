"""Pipeline settings for flows: a parameter wins, then an environment variable, then
the library default.

Variables: ``CRM_DATA_URL`` (e.g. ``s3://crm-data``), ``CRM_MODEL_NAME``,
``CRM_CHAMPION_ALIAS``, ``CRM_CHALLENGER_ALIAS``, ``CRM_EXPERIMENT``,
``CRM_QUALITY_THRESHOLD``, ``CRM_TRIALS``, ``CRM_AUC_MARGIN_BASELINE``,
``CRM_BRIER_MARGIN_BASELINE``, ``CRM_AUC_MARGIN_CHAMPION``, ``CRM_BRIER_MARGIN_CHAMPION``.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from ml.settings import PipelineSettings, PromotionMargins, RegistrySettings, TrainingSettings

_DEFAULT = PipelineSettings()


def _pick(value: Any, variable: str, default: Any, cast=str) -> Any:
    if value is not None:
        return cast(value)
    raw = os.environ.get(variable)
    return cast(raw) if raw not in (None, "") else default


def data_url(value: str | None = None) -> str:
    """Where the data lives: the parameter, ``CRM_DATA_URL``, or a local folder."""
    return _pick(value, "CRM_DATA_URL", _DEFAULT.data_url)


def pipeline_settings(
    *,
    data_url_value: str | None = None,
    model_name: str | None = None,
    champion_alias: str | None = None,
    challenger_alias: str | None = None,
    quality_threshold: float | None = None,
    trials: int | None = None,
    margins: dict[str, float] | None = None,
) -> PipelineSettings:
    """The settings of one run from flow parameters and the environment."""
    reg, m = RegistrySettings(), PromotionMargins()
    margins = margins or {}
    registry = RegistrySettings(
        model_name=_pick(model_name, "CRM_MODEL_NAME", reg.model_name),
        champion_alias=_pick(champion_alias, "CRM_CHAMPION_ALIAS", reg.champion_alias),
        challenger_alias=_pick(challenger_alias, "CRM_CHALLENGER_ALIAS", reg.challenger_alias),
        experiment=_pick(None, "CRM_EXPERIMENT", reg.experiment),
    )
    promotion = PromotionMargins(
        **{
            field: _pick(margins.get(field), f"CRM_{variable}", getattr(m, field), float)
            for field, variable in (
                ("auc_over_baseline", "AUC_MARGIN_BASELINE"),
                ("brier_over_baseline", "BRIER_MARGIN_BASELINE"),
                ("auc_over_champion", "AUC_MARGIN_CHAMPION"),
                ("brier_over_champion", "BRIER_MARGIN_CHAMPION"),
            )
        }
    )
    training = replace(
        TrainingSettings(), trials=_pick(trials, "CRM_TRIALS", TrainingSettings().trials, int)
    )
    return PipelineSettings(
        data_url=data_url(data_url_value),
        quality_threshold=_pick(
            quality_threshold, "CRM_QUALITY_THRESHOLD", _DEFAULT.quality_threshold, float
        ),
        training=training,
        registry=registry,
        margins=promotion,
    )
