"""The monitoring flow end to end on generated data: a real champion in MLflow, a
temporary Prefect API with the platform's deployments, a webhook on pytest-httpserver."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from pytest_httpserver import HTTPServer

from ml import storage
from tests.workloads.monitoring.conftest import land_drifted_data, scored_rows, write_prediction_log
from workloads.flows.monitoring import monitoring
from workloads.monitoring.results import read_alerts, read_results
from workloads.monitoring.settings import MonitoringSettings
from workloads.settings import RegistryNames

pytestmark = pytest.mark.usefixtures("prefect_api")
FIELD_CASE = Path(__file__).parent / "fixtures" / "drift-empty-column"


def _training_run_ids() -> set[str]:
    """Flow runs of the training deployment (``training/monthly``)."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["monthly"])),
        )
    return {str(r.id) for r in runs if r.name and "monitoring" not in r.name}


def run_monitoring(data: dict[str, str], month: str) -> dict:
    """The flow with its settings given whole, as the deployment gives them."""
    settings = MonitoringSettings(
        data_url=data["data_url"],
        predictions_url=data["predictions_url"],
        monitoring_url=data["monitoring_url"],
        registry=RegistryNames(model_name="crm-test"),
        webhook_url_secret="test-alert-webhook",
        training_deployment="training/monthly",
    )
    return monitoring(month=month, settings=settings)


@pytest.fixture
def webhook(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    monkeypatch.setenv("OPSCTL_SECRET_TEST_ALERT_WEBHOOK", httpserver.url_for("/hook"))
    return httpserver


def _fired(result: dict) -> list[str]:
    return [t["rule"] for t in result["triggers"] if t["fired"]]


def test_drift_in_two_months_of_three_fires_once(
    platform_data: dict[str, str], webhook: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    drifted = land_drifted_data(platform_data["data_url"], drift=1.0)
    rows = scored_rows(
        platform_data["data_url"], drifted, platform_data["month"], platform_data["eval_months"]
    )
    for month in ("2018-01", "2018-02", "2018-03"):
        write_prediction_log(platform_data["predictions_url"], rows, month)
    before = _training_run_ids()

    first = run_monitoring(platform_data, "2018-01")

    assert "product" in first["drift"]["drifted_columns"]
    drift_rule = next(t for t in first["triggers"] if t["rule"] == "drift_share")
    assert drift_rule["breached_months"] == ["2018-01"] and not drift_rule["firing"]
    assert first["alert"] is None and webhook.log == []
    assert _training_run_ids() == before, "one breached month started a retraining"

    second = run_monitoring(platform_data, "2018-02")

    assert "drift_share" in _fired(second)
    bodies = [json.loads(request.get_data()) for request, _ in webhook.log]
    assert len(bodies) == 1 and set(bodies[0]) == {"text"}  # Slack-compatible
    assert "rule drift_share" in bodies[0]["text"] and "2018-01: " in bodies[0]["text"]
    started = _training_run_ids() - before
    assert second["alert"]["retraining"]["status"] == "started"
    assert started == {second["alert"]["retraining"]["flow_run_id"]}
    tags = MlflowClient().get_model_version("crm-test", second["model"]["version"]).tags
    assert tags["monitoring.alert_month"] == "2018-02"
    assert "drift_share" in tags["monitoring.alert_rules"]
    assert read_alerts(platform_data["monitoring_url"])[0]["month"] == "2018-02"
    assert read_results(platform_data["monitoring_url"])[-1]["snapshots"]

    third = run_monitoring(platform_data, "2018-03")

    assert next(t for t in third["triggers"] if t["rule"] == "drift_share")["firing"]
    assert third["alert"] is None, "a rule that keeps firing alerted again"
    assert _training_run_ids() - before == started
    assert len(webhook.log) == 1
    _page_shows_the_alert(platform_data["monitoring_url"], monkeypatch)


def _page_shows_the_alert(monitoring_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's Monitoring page renders what the flow wrote."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CRM_MONITORING_URL", monitoring_url)
    monkeypatch.setenv("CRM_EVIDENTLY_URL", "http://127.0.0.1:9")
    at = AppTest.from_string(
        "from workloads.app.pages.monitoring import render\nrender()\n", default_timeout=60
    ).run()
    assert not at.exception, at.exception
    alerts = at.dataframe[0].value
    assert list(alerts["month"]) == ["2018-02"] and "drift_share" in alerts["rules"].iloc[0]


def test_no_drift_raises_nothing_and_estimates_hold(
    platform_data: dict[str, str], webhook: HTTPServer
) -> None:
    rows = scored_rows(
        platform_data["data_url"],
        platform_data["version"],
        platform_data["month"],
        platform_data["eval_months"],
    )
    write_prediction_log(
        platform_data["predictions_url"], rows.sample(frac=0.5, random_state=1), "2018-02"
    )
    before = _training_run_ids()

    result = run_monitoring(platform_data, "2018-02")

    assert not [t for t in result["triggers"] if t["firing"]], result["triggers"]
    assert result["alert"] is None and result["drift"]["share"] < 0.5
    month = next(p for p in result["performance"] if p["month"] == "2018-02")
    assert month["label_coverage"] == 1.0
    realised, estimated = month["realised"], month["estimated"]
    low, high = estimated["brier_band"]
    assert low <= realised["brier"] <= high
    low, high = estimated["wins_band"]
    assert low <= realised["wins"] <= high
    assert webhook.log == []
    assert _training_run_ids() == before
    assert storage.read_json(
        storage.join(platform_data["monitoring_url"], "state", "triggers.json")
    ) == {
        name: {"firing": False, "since": None}
        for name in ("drift_share", "estimated_brier", "realised_brier")
    }


def test_a_month_with_an_empty_column_completes(
    platform_data: dict[str, str], webhook: HTTPServer
) -> None:
    """Field case drift-empty-column: every scored deal was Prospecting, so days_open is
    empty; the training reference holds only Engaging deals."""
    frame = pd.read_csv(FIELD_CASE / "current_month_predictions.csv")
    day = storage.join(platform_data["predictions_url"], "date=2017-10-31", "part-0.parquet")
    storage.write_parquet(day, frame)

    result = run_monitoring(platform_data, "2017-10")

    drift = result["drift"]
    assert set(drift["not_computable"]) == {"days_open", "deal_stage"}
    assert "empty in the current month" in drift["not_computable"]["days_open"]
    assert "single value (Engaging)" in drift["not_computable"]["deal_stage"]
    assert "deal_stage" not in drift["drifted_columns"]
    assert set(drift["column_scores"]) == {"sales_agent", "product", "account"}
    assert drift["share"] is not None and drift["prediction_score"] is not None
    assert result["current_rows"] == 6
    assert read_results(platform_data["monitoring_url"])[0]["month"] == "2017-10"
