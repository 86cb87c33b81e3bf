"""Flow settings: parameter over environment variable over default; which errors retry."""

from __future__ import annotations

import botocore.exceptions
import pytest

from workloads.flows import deploy
from workloads.flows.runtime import _transient
from workloads.flows.settings import pipeline_settings


def test_parameters_override_variables_override_defaults(monkeypatch) -> None:
    monkeypatch.setenv("CRM_DATA_URL", "s3://from-env")
    monkeypatch.setenv("CRM_QUALITY_THRESHOLD", "0.8")
    monkeypatch.setenv("CRM_AUC_MARGIN_BASELINE", "0.05")
    settings = pipeline_settings(quality_threshold=0.9, margins={"brier_over_champion": 0.01})
    assert settings.data_url == "s3://from-env"
    assert settings.quality_threshold == 0.9
    assert settings.margins.auc_over_baseline == 0.05
    assert settings.margins.brier_over_champion == 0.01
    assert pipeline_settings(data_url_value="file:///x").data_url == "file:///x"


def test_only_transient_errors_are_retried() -> None:
    assert _transient(ConnectionError("reset"))
    assert _transient(botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"))
    assert not _transient(FileNotFoundError("raw/latest.json"))
    assert not _transient(ValueError("bad month"))


def test_deploy_rejects_unknown_margin_names() -> None:
    assert deploy.margins_from(["auc_over_baseline=0.02"]) == {"auc_over_baseline": 0.02}
    with pytest.raises(SystemExit, match="allowed"):
        deploy.margins_from(["auc=0.02"])


def test_deployments_schedule_processing_before_training() -> None:
    args = deploy.parse_args(["--data-url", "s3://crm-data"])
    specs = {f"{s['flow'].name}/{s['name']}": s for s in deploy.deployment_specs(args)}
    assert specs["monthly-processing/monthly"]["cron"] == "0 2 1 * *"
    assert specs["training/monthly"]["cron"] == "0 4 1 * *"
    assert specs["crm-pipeline/crm-pipeline"]["parameters"]["data_url"] == "s3://crm-data"
