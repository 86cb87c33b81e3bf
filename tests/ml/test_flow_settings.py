"""Flow settings: a parameter wins, then the variables, then the model's defaults;
deploy hands every flow the whole model; which errors retry."""

from __future__ import annotations

import os
import subprocess
import sys

import botocore.exceptions

from tests.conftest import REPO
from workloads.flows import deploy
from workloads.flows.runtime import _transient
from workloads.flows.settings import PipelineSettings, resolved
from workloads.monitoring.settings import MonitoringSettings
from workloads.settings import load


def test_parameters_override_variables_override_defaults(monkeypatch) -> None:
    monkeypatch.setenv("PIPELINE_DATA_URL", "s3://from-env")
    monkeypatch.setenv("PIPELINE_QUALITY_THRESHOLD", "0.8")
    monkeypatch.setenv("PIPELINE_MARGINS__AUC_OVER_BASELINE", "0.05")
    settings = resolved(None)
    assert settings.data_url == "s3://from-env"
    assert settings.quality_threshold == 0.8
    assert settings.margins.auc_over_baseline == 0.05
    assert settings.margins.brier_over_baseline == PipelineSettings().margins.brier_over_baseline
    given = PipelineSettings(quality_threshold=0.9)
    assert resolved(given) is given and given.quality_threshold == 0.9
    assert load(PipelineSettings, {}, data_url="file:///x").data_url == "file:///x"


def test_only_transient_errors_are_retried() -> None:
    assert _transient(ConnectionError("reset"))
    assert _transient(botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"))
    assert not _transient(FileNotFoundError("raw/latest.json"))
    assert not _transient(ValueError("bad month"))


def test_every_deployment_gets_the_whole_settings() -> None:
    args = deploy.parse_args(["--source", "synthetic", "--rows", "9000"])
    pipeline = load(PipelineSettings, {"PIPELINE_DATA_URL": "s3://crm-data"})
    monitoring = load(MonitoringSettings, {"MONITORING_COOLDOWN_DAYS": "3"})
    specs = {
        f"{s['flow'].name}/{s['name']}": s
        for s in deploy.deployment_specs(args, pipeline, monitoring)
    }
    assert specs["monthly-processing/monthly"]["cron"] == "0 2 1 * *"
    assert specs["training/monthly"]["cron"] == "0 4 1 * *"
    assert specs["crm-pipeline/crm-pipeline"]["parameters"] == {
        "source": "synthetic",
        "rows": 9000,
        "settings": pipeline,
    }
    for name in (
        "acquisition/acquisition",
        "monthly-processing/monthly",
        "training/monthly",
        "batch-scoring/monthly",
    ):
        assert specs[name]["parameters"]["settings"] is pipeline, name
    for name in ("monitoring/monthly", "demo-replay/replay"):
        assert specs[name]["parameters"] == {"settings": monitoring}, name


def test_settings_round_trip_as_deployment_parameters() -> None:
    """Prefect stores a deployment's parameters as JSON and validates them back into the
    flow's parameter type: nothing is lost on the way."""
    pipeline = load(PipelineSettings, {"PIPELINE_MARGINS__AUC_OVER_CHAMPION": "0.02"})
    assert PipelineSettings.model_validate_json(pipeline.model_dump_json()) == pipeline
    monitoring = load(MonitoringSettings, {"MONITORING_RULES": '{"drift_share": {"n": 1}}'})
    assert MonitoringSettings.model_validate_json(monitoring.model_dump_json()) == monitoring


def test_deploy_names_a_bad_variable_without_a_traceback() -> None:
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "MONITORING_"))
    }
    done = subprocess.run(
        [sys.executable, "-m", "workloads.flows.deploy", "--source", "synthetic", "--rows", "9000"],
        env={**environ, "PIPELINE_TRIALS": "many", "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 2
    assert "PIPELINE_TRIALS='many'" in done.stderr and "integer" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
