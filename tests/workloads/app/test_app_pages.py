"""Every page of the app with its services up (stubs) and down (a clear message)."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from streamlit.testing.v1 import AppTest

from ml import storage
from tests.workloads.app.conftest import DOWN, write_status

PAGE = "from workloads.app.pages.{name} import render\nrender()\n"


def page(name: str) -> AppTest:
    return AppTest.from_string(PAGE.format(name=name), default_timeout=60).run()


def texts(at: AppTest, kind: str) -> str:
    return " ".join(e.value for e in getattr(at, kind))


@pytest.mark.usefixtures("serving_stub")
def test_predict_shows_probability_and_model_version() -> None:
    at = page("predict")
    at.text_input[1].set_value("Anna Alder")
    at.button[0].click().run()
    assert not at.exception
    assert at.metric[0].value == "42.0%"
    assert "v7" in texts(at, "caption")


@pytest.mark.usefixtures("serving_stub")
def test_predict_shows_the_services_refusal() -> None:
    at = page("predict")
    at.text_input[2].set_value("BAD")
    at.button[0].click().run()
    assert "unknown product 'BAD'" in texts(at, "error")


def test_predict_says_when_the_service_is_down(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_SERVING_URL", DOWN)
    at = page("predict")
    assert not at.exception
    assert "prediction service is down" in texts(at, "error")


def test_predict_says_when_the_service_is_not_known(app_env: Path) -> None:
    at = page("predict")
    assert "prediction service is not known" in texts(at, "error")


@pytest.mark.usefixtures("serving_stub")
def test_batch_scores_a_csv_and_reports_bad_rows() -> None:
    csv = (
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date\n"
        "A1,Anna Alder,GTX Basic,Acmecorp,Engaging,2017-11-01\n"
        "A2,Anna Alder,BAD,Acmecorp,Engaging,2017-11-01\n"
        "A3,Anna Alder,GTX Basic,,Engaging,not-a-date\n"
        "A4,Anna Alder,MG Special,,Prospecting,\n"
    )
    at = page("batch")
    at.get("file_uploader")[0].set_value(("deals.csv", csv.encode(), "text/csv")).run()
    assert not at.exception
    assert "2 of 4 rows scored" in texts(at, "success")
    errors = at.dataframe[0].value
    assert list(errors["opportunity_id"]) == ["A2", "A3"]
    assert "unknown product" in errors["error"].iloc[0] and "engage_date" in errors["error"].iloc[1]
    assert at.get("download_button")


@pytest.mark.usefixtures("serving_stub")
def test_batch_names_missing_columns() -> None:
    at = page("batch")
    at.get("file_uploader")[0].set_value(("x.csv", b"opportunity_id\nA1\n", "text/csv")).run()
    assert "missing columns" in texts(at, "error")


def test_batch_says_when_the_service_is_down(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_SERVING_URL", DOWN)
    at = page("batch")
    csv = b"opportunity_id,sales_agent,product,account,deal_stage,engage_date\nA1,a,b,c,Engaging,2017-01-01\n"
    at.get("file_uploader")[0].set_value(("d.csv", csv, "text/csv")).run()
    assert not at.exception
    assert "prediction service is down" in texts(at, "error")


@pytest.fixture
def mlflow_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app_env: Path):
    """A real MLflow server is not needed to read runs: a local store with a champion
    and a challenger, served to the page through a health stub."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("crm", artifact_location=str(tmp_path / "art"))
    client.create_registered_model("crm-win-probability")
    for alias, auc in (("champion", 0.61), ("challenger", 0.63)):
        run = client.create_run(experiment)
        for name, value in (
            ("eval_roc_auc", auc),
            ("eval_brier", 0.21),
            ("baseline_historical_win_rate_roc_auc", 0.5),
            ("baseline_historical_win_rate_brier", 0.23),
        ):
            client.log_metric(run.info.run_id, name, value)
        client.log_dict(
            run.info.run_id,
            {"model": {"predicted": [0.2, 0.5, 0.8], "observed": [0.25, 0.5, 0.7]}},
            "plots/calibration_curve.json",
        )
        client.log_dict(run.info.run_id, {"features": ["product", "sales_agent"]}, "features.json")
        version = client.create_model_version("crm-win-probability", "file:///m", run.info.run_id)
        client.set_registered_model_alias("crm-win-probability", alias, version.version)
    return uri


def test_model_page_shows_champion_and_challenger(
    mlflow_registry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a process-wide default from another test must not matter: the page uses its URL
    mlflow.set_tracking_uri("sqlite:///elsewhere-unused.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_registry)
    monkeypatch.setattr("workloads.app.model_info.check_mlflow", lambda url: None)
    at = page("model")
    assert not at.exception, at.exception
    headers = [h.value for h in at.subheader]
    assert headers == ["champion: version 1", "challenger: version 2"]
    metrics = at.dataframe[0].value
    assert metrics.loc["model", "roc_auc"] == 0.61
    assert "baseline: historical_win_rate" in metrics.index
    assert len(at.get("plotly_chart")) == 2


def test_model_page_says_when_mlflow_is_down(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", DOWN)
    at = page("model")
    assert not at.exception
    assert "MLflow is down" in texts(at, "error")


def _monitoring_results(url: str) -> None:
    for month, share, auc in (("2017-11", 0.2, 0.62), ("2017-12", 0.6, 0.51)):
        storage.write_json(
            storage.join(url, "results", f"{month}.json"),
            {
                "month": month,
                "drift": {"share": share, "prediction_drifted": share > 0.5},
                "thresholds": {"drift_share": 0.5},
                "performance": [{"month": month, "roc_auc": auc, "brier": 0.22, "labelled": 80}],
            },
        )
    storage.write_json(
        storage.join(url, "alerts", "2017-12-x.json"),
        {
            "month": "2017-12",
            "model": "crm v3",
            "raised_at": "2018-01-01T06:00:00+00:00",
            "reasons": ["data drift: share 0.60 >= 0.5"],
            "retraining": {"status": "started", "detail": "training/monthly flow run 1"},
            "webhook": "sent",
        },
    )


def test_monitoring_page_charts_months_and_lists_alerts(
    app_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"file://{tmp_path / 'monitoring'}"
    _monitoring_results(url)
    monkeypatch.setenv("CRM_MONITORING_URL", url)
    at = page("monitoring")
    assert not at.exception
    assert len(at.get("vega_lite_chart")) == 3
    alerts = at.dataframe[-1].value
    assert list(alerts["month"]) == ["2017-12"] and "data drift" in alerts["reasons"].iloc[0]


def test_monitoring_page_without_results_says_so(
    app_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_MONITORING_URL", f"file://{tmp_path / 'empty'}")
    at = page("monitoring")
    assert "No monitoring run yet" in texts(at, "info")


def test_monitoring_page_says_when_storage_is_down(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_MONITORING_URL", "s3://monitoring")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", DOWN)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    at = page("monitoring")
    assert not at.exception
    assert "cannot be read" in texts(at, "error")


def test_platform_page_shows_every_service(app_env: Path) -> None:
    write_status(
        app_env,
        [
            {
                "name": "mlflow",
                "health": "healthy",
                "endpoints": [{"label": "UI", "url": "http://x:1/"}],
            },
            {"name": "serving", "health": "unhealthy", "detail": "exited", "endpoints": []},
        ],
    )
    at = page("platform")
    assert not at.exception
    assert "Not healthy: serving" in texts(at, "warning")
    assert list(at.dataframe[0].value["service"]) == ["mlflow", "serving"]


def test_platform_page_says_when_status_is_unavailable(app_env: Path) -> None:
    at = page("platform")
    assert not at.exception
    assert "platform status is not available" in texts(at, "error")
