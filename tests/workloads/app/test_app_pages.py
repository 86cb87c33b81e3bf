"""Every page of the app with its services up (stubs) and down (a clear message)."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from streamlit.testing.v1 import AppTest
from werkzeug import Request, Response

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
    assert "2 of 4 rows scored" in texts(at, "warning") and not at.success
    errors = at.dataframe[0].value
    assert list(errors["opportunity_id"]) == ["A2", "A3"]
    assert "unknown product" in errors["error"].iloc[0] and "engage_date" in errors["error"].iloc[1]
    assert at.get("download_button")


@pytest.mark.usefixtures("serving_stub")
def test_batch_names_each_refused_row_by_its_line_and_opportunity_id() -> None:
    rows = [f"D{n},Anna Alder,GTX Basic,,Engaging,2017-11-01" for n in range(1, 11)]
    for refused in (2, 6):  # the file's 3rd and 7th rows: the service refuses them
        rows[refused] = f"D{refused + 1},Anna Alder,BAD,,Engaging,2017-11-01"
    csv = "opportunity_id,sales_agent,product,account,deal_stage,engage_date\n"
    at = page("batch")
    upload = ("deals.csv", (csv + "\n".join(rows) + "\n").encode(), "text/csv")
    at.get("file_uploader")[0].set_value(upload).run()
    assert not at.exception
    warning = texts(at, "warning")
    assert "8 of 10 rows scored; 2 could not be: line 4 (D3), line 8 (D7)" in warning
    assert not at.success
    errors = at.dataframe[0].value
    assert list(errors["line"]) == [4, 8] and list(errors["opportunity_id"]) == ["D3", "D7"]
    assert all(e.startswith("product: unknown product 'BAD'; known: ") for e in errors["error"])
    assert len(errors["error"]) == 2
    assert "opportunities" not in " ".join(errors["error"])


def test_the_line_of_a_row_is_its_line_in_the_file() -> None:
    from workloads.app.batch import BatchFileError, read_batch

    csv = (
        b"\xef\xbb\xbfopportunity_id,sales_agent,product,account,deal_stage,engage_date\n"
        b"E1,Anna Alder,GTX Basic,,Engaging,2017-11-01\n"
        b"\n"
        b'E2,Anna Alder,GTX Basic,"Acme\nCorp",Engaging,2017-11-01\n'
        b"E3,Anna Alder,GTX Basic,,Engaging,2017-11-01\n"
    )
    frame = read_batch(csv)
    assert list(frame["opportunity_id"]) == ["E1", "E2", "E3"]
    assert list(frame.index) == [2, 4, 6]  # a blank line and a quoted line break between
    with pytest.raises(BatchFileError, match="no rows under the header"):
        read_batch(csv.splitlines(keepends=True)[0])


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
    assert not at.exception
    assert "prediction service is down" in texts(at, "error")
    assert not at.get("file_uploader")  # nothing to upload to


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


def _result(month: str, share: float, coverage: float, generated: bool = False) -> dict:
    """A result document shaped as the monitoring flow writes it (fields the page reads)."""
    return {
        "month": month,
        "generated": generated,
        "current_rows": 400,
        "drift": {
            "share": share,
            "drifted_columns": ["product"] if share >= 0.5 else [],
            "not_computable": {"deal_stage": "the reference holds a single value (Engaging)"},
            "prediction_drifted": False,
        },
        "settings": {"rules": [{"name": "drift_share", "threshold": 0.5}]},
        "performance": [
            {
                "month": month,
                "predictions": 400,
                "labelled": int(400 * coverage),
                "label_coverage": coverage,
                "estimated": {"roc_auc": 0.6, "roc_auc_band": [0.55, 0.65], "brier": 0.22,
                              "brier_band": [0.21, 0.23], "wins": 250.0},
                "realised": {"roc_auc": 0.61, "brier": 0.221, "wins": 120} if coverage else None,
            }
        ],
        "segments": {
            "min_size": 30,
            "drift": [
                {"dimension": "regional_office", "segment": "East", "rows": 150,
                 "reference_rows": 300, "too_small": False, "share": share,
                 "drifted_columns": ["product"], "flagged": share >= 0.5},
                {"dimension": "manager", "segment": "Ida Knoll", "rows": 12,
                 "reference_rows": 40, "too_small": True, "share": None,
                 "drifted_columns": [], "flagged": False},
            ],
            "performance": [],
        },
        "triggers": [
            {"rule": "drift_share", "n": 2, "m": 3, "window": [month],
             "breached_months": [month] if share >= 0.5 else [], "limit": 0.5,
             "firing": share >= 0.5, "since": month if share >= 0.5 else None},
        ],
    }  # fmt: skip


def _alert(month: str) -> dict:
    return {
        "month": month,
        "model": "crm v3",
        "raised_at": f"{month}-28T06:00:00+00:00",
        "triggers": [
            {"rule": "drift_share", "breached_months": ["2017-11", month],
             "segments": {"regional_office=East": ["2017-11", month]}}
        ],
        "retraining": {"status": "started", "detail": "training/monthly flow run 1",
                       "flow_run_id": "run-1"},
        "webhook": "sent",
        "mlflow": "tagged crm v3",
    }  # fmt: skip


def _monitoring_results(url: str) -> None:
    for month, share, coverage in (("2017-11", 0.6, 0.8), ("2017-12", 0.75, 0.0)):
        storage.write_json(
            storage.join(url, "results", f"{month}.json"), _result(month, share, coverage)
        )
    storage.write_json(storage.join(url, "alerts", "2017-12-x.json"), _alert("2017-12"))


def _replay(url: str) -> None:
    folder = storage.join(url, "replay", "20250101T000000")
    storage.write_json(storage.join(url, "replay", "latest.json"),
                       {"replay_id": "20250101T000000", "generated": True, "status": "finished"})  # fmt: skip
    storage.write_json(
        storage.join(folder, "results", "2018-01.json"), _result("2018-01", 0.0, 0.5, True)
    )


def test_monitoring_page_charts_months_and_lists_alerts(
    app_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"file://{tmp_path / 'monitoring'}"
    _monitoring_results(url)
    monkeypatch.setenv("CRM_MONITORING_URL", url)
    at = page("monitoring")
    assert not at.exception
    assert len(at.get("vega_lite_chart")) == 4  # drift, ROC-AUC, Brier, label coverage
    alerts = at.dataframe[0].value
    assert list(alerts["month"]) == ["2017-12"] and alerts["rules"].iloc[0] == "drift_share"
    assert "regional_office=East" in alerts["segments"].iloc[0]
    assert alerts["training run"].iloc[0] == "run-1"
    segments = at.dataframe[-1].value
    assert "too small to judge" in list(segments["drift share"])
    assert not at.warning, "platform months shown as generated data"


def test_monitoring_page_shows_a_replay_as_generated_data(
    app_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"file://{tmp_path / 'monitoring'}"
    _replay(url)
    monkeypatch.setenv("CRM_MONITORING_URL", url)
    at = page("monitoring")
    assert not at.exception
    assert at.radio[0].value.startswith("Demo replay")  # no platform months yet
    assert "generated data" in texts(at, "warning")
    assert "No alert raised" in texts(at, "success")


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


def _range_answer(request: Request) -> Response:
    """Prometheus' query_range answer (its documented matrix shape): serving only."""
    start = float(request.args["start"])
    values = [[start + 60 * i, str(0.5 + i)] for i in range(3)]
    result = [{"metric": {"job": "serving"}, "values": values}]
    body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    return Response(json.dumps(body), content_type="application/json")


def test_platform_page_plots_the_last_hour_per_service(app_env: Path, httpserver) -> None:
    httpserver.expect_request("/api/v1/query_range").respond_with_handler(_range_answer)
    prometheus = {"label": "Prometheus", "url": httpserver.url_for("/")}
    write_status(
        app_env,
        [
            {"name": "serving", "health": "healthy", "endpoints": []},
            {"name": "metrics", "health": "healthy", "endpoints": [prometheus]},
        ],
    )
    at = page("platform")
    assert not at.exception
    charts = at.get("vega_lite_chart")
    assert len(charts) == 3
    titles = " ".join(m.value for m in at.markdown)
    for title in ("requests per second", "server-error share", "p99 latency (s)"):
        assert title in titles
    queries = [r.args["query"] for r, _ in httpserver.log]
    assert any("histogram_quantile(0.99" in q for q in queries)


def test_platform_page_without_prometheus_says_so(app_env: Path) -> None:
    write_status(app_env, [{"name": "serving", "health": "healthy", "endpoints": []}])
    at = page("platform")
    assert not at.exception
    assert "metrics workload (Prometheus) is not running" in " ".join(i.value for i in at.info)
