"""The variables that carry an environment's settings to the pipeline and monitoring
flows: the one mapping from opsctl's config to the workloads' settings models.

opsctl never imports the workloads, so it cannot build their models itself: it sets
``PIPELINE_*`` and ``MONITORING_*`` variables on ``python -m workloads.flows.deploy``,
which reads them into ``workloads.flows.settings.PipelineSettings`` and
``workloads.monitoring.settings.MonitoringSettings`` and hands each flow its model
whole. (The prediction service and the app get theirs from the catalog's ``env``.)
``tests/workloads/test_settings_contract.py`` checks that every variable set here is a
field of the model and that every field is either set here or the workload's own.
"""

from __future__ import annotations

import json

from ops_cli.config.models import EnvironmentConfig


def _registry(prefix: str, config: EnvironmentConfig) -> dict[str, str]:
    names = config.registry.model_dump()
    return {f"{prefix}REGISTRY__{key.upper()}": str(value) for key, value in names.items()}


def pipeline_variables(config: EnvironmentConfig) -> dict[str, str]:
    """``PIPELINE_*`` variables: the data bucket, quality gate, trials, registry names and
    promotion margins of ``config``, by variable name."""
    pipeline = config.pipeline
    return {
        "PIPELINE_DATA_URL": f"s3://{config.storage.buckets.data}",
        "PIPELINE_QUALITY_THRESHOLD": str(pipeline.quality_threshold),
        "PIPELINE_TRIALS": str(pipeline.trials),
        **_registry("PIPELINE_", config),
        **{
            f"PIPELINE_MARGINS__{name.upper()}": str(value)
            for name, value in pipeline.margins.model_dump().items()
        },
    }


def monitoring_variables(config: EnvironmentConfig) -> dict[str, str]:
    """``MONITORING_*`` variables: the buckets, registry names and the ``monitoring``
    section of ``config`` (its rules as JSON), by variable name."""
    buckets, monitoring = config.storage.buckets, config.monitoring
    return {
        "MONITORING_DATA_URL": f"s3://{buckets.data}",
        "MONITORING_PREDICTIONS_URL": f"s3://{buckets.predictions}",
        "MONITORING_MONITORING_URL": f"s3://{buckets.monitoring}",
        **_registry("MONITORING_", config),
        "MONITORING_WEBHOOK_URL_SECRET": monitoring.webhook_url_secret,
        "MONITORING_COOLDOWN_DAYS": str(monitoring.cooldown_days),
        "MONITORING_MIN_SEGMENT_SIZE": str(monitoring.min_segment_size),
        "MONITORING_RULES": json.dumps(monitoring.rules.model_dump()),
    }


def flow_variables(config: EnvironmentConfig) -> dict[str, str]:
    """Every variable ``python -m workloads.flows.deploy`` reads its settings from."""
    return {**pipeline_variables(config), **monitoring_variables(config)}
