"""The monitoring flow end to end on generated data: a real champion in MLflow, a
temporary Prefect API with the platform's deployments, a webhook on pytest-httpserver."""

from __future__ import annotations

import json

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from pytest_httpserver import HTTPServer

from ml import storage
from tests.workloads.monitoring.conftest import (
    MONTH,
    land_drifted_data,
    scored_rows,
    write_prediction_log,
)
from workloads.flows.monitoring import monitoring
from workloads.monitoring.results import read_alerts, read_results

pytestmark = pytest.mark.usefixtures("prefect_api")


def training_runs() -> list:
    """Flow runs of the training deployment."""
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["monthly"])),
        )


def _training_run_ids() -> set[str]:
    return {str(r.id) for r in training_runs() if r.name and "monitoring" not in r.name}


def run_monitoring(data: dict[str, str], webhook: str, **overrides) -> dict:
    return monitoring(
        month=MONTH,
        data_url=data["data_url"],
        predictions_url=data["predictions_url"],
        monitoring_url=data["monitoring_url"],
        model_name="crm-test",
        webhook_url_secret="test-alert-webhook",
        training_deployment="training/monthly",
        **overrides,
    )


@pytest.fixture
def webhook(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    monkeypatch.setenv("OPSCTL_SECRET_TEST_ALERT_WEBHOOK", httpserver.url_for("/hook"))
    return httpserver


def test_drift_raises_an_alert_and_starts_one_training_run(
    platform_data: dict[str, str], webhook: HTTPServer
) -> None:
    drifted = land_drifted_data(platform_data["data_url"], drift=1.0)
    months = platform_data["eval_months"]
    rows = scored_rows(platform_data["data_url"], drifted, platform_data["month"], months)
    write_prediction_log(platform_data["predictions_url"], rows)
    before = _training_run_ids()

    result = run_monitoring(platform_data, webhook.url_for("/hook"))

    assert result["breaches"], result
    assert "product" in result["drift"]["drifted_columns"]
    bodies = [json.loads(request.get_data()) for request, _ in webhook.log]
    assert len(bodies) == 1 and set(bodies[0]) == {"text"}
    assert "breached its thresholds" in bodies[0]["text"] and MONTH in bodies[0]["text"]
    started = _training_run_ids() - before
    assert result["alert"]["retraining"]["status"] == "started"
    assert started == {result["alert"]["retraining"]["flow_run_id"]}
    assert read_alerts(platform_data["monitoring_url"])[0]["month"] == MONTH
    assert read_results(platform_data["monitoring_url"])[0]["snapshots"]

    again = run_monitoring(platform_data, webhook.url_for("/hook"))

    assert again["alert"]["retraining"]["status"] == "suppressed"
    assert "cool-down until" in again["alert"]["retraining"]["detail"]
    assert _training_run_ids() - before == started, "the cool-down let a second run start"
    assert len(webhook.log) == 2, "the alert itself still reaches the webhook"


def test_no_drift_raises_nothing(platform_data: dict[str, str], webhook: HTTPServer) -> None:
    rows = scored_rows(
        platform_data["data_url"],
        platform_data["version"],
        platform_data["month"],
        platform_data["eval_months"],
    ).sample(frac=0.5, random_state=0)
    write_prediction_log(platform_data["predictions_url"], rows)
    before = _training_run_ids()

    result = run_monitoring(platform_data, webhook.url_for("/hook"))

    assert result["breaches"] == [], result["breaches"]
    assert result["alert"] is None
    assert result["drift"]["drifted_columns"] == []
    month = next(p for p in result["performance"] if p["month"] == MONTH)
    assert month["labelled"] == month["predictions"] > 0 and month["roc_auc"] > 0.5
    assert webhook.log == []
    assert _training_run_ids() == before
    assert not storage.exists(storage.join(platform_data["monitoring_url"], "state"))
