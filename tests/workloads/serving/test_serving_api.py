"""The HTTP contract: predictions, MLflow formats, bad input, auth, health, metrics."""

from __future__ import annotations

import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.workloads.serving.conftest import TREES_RUNTIME, records
from workloads.serving.app import create_app
from workloads.serving.settings import ServingSettings

KEY = "k3y-for-tests"


def wait_ready(client: TestClient, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while client.get("/ready").status_code != 200:
        assert time.monotonic() < deadline, "no model loaded"
        time.sleep(0.05)


@pytest.fixture
def client(source):
    with TestClient(
        create_app(ServingSettings(auth_required=False, max_batch_rows=50), source)
    ) as client:
        wait_ready(client)
        yield client


@pytest.fixture
def rows(eval_inputs) -> list[dict]:
    return records(eval_inputs.head(20))


def test_single_prediction_matches_the_registered_pipeline(
    client, rows, trained, eval_inputs
) -> None:
    response = client.post("/predict", json={"opportunities": rows[:1]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"request_id", "model", "predictions"}
    assert body["model"] == {"name": "crm-win-probability", "version": "1"}
    assert response.headers["X-Request-ID"] == body["request_id"]
    expected = trained["boosting"].pipeline.predict_proba(eval_inputs.head(1))[0, 1]
    [prediction] = body["predictions"]
    assert prediction["opportunity_id"] == rows[0]["opportunity_id"]
    assert prediction["win_probability"] == pytest.approx(expected, abs=1e-9)


def test_batch_prediction_keeps_order(client, rows, trained, eval_inputs) -> None:
    body = client.post("/predict", json={"opportunities": rows}).json()
    assert [p["opportunity_id"] for p in body["predictions"]] == [r["opportunity_id"] for r in rows]
    expected = trained["boosting"].pipeline.predict_proba(eval_inputs.head(20))[:, 1]
    got = [p["win_probability"] for p in body["predictions"]]
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_as_of_date_defaults_to_today_and_nulls_are_accepted(client, rows) -> None:
    row = {**rows[0], "account": None, "engage_date": None, "deal_stage": "Prospecting"}
    del row["as_of_date"]
    response = client.post("/predict", json={"opportunities": [row]})
    assert response.status_code == 200, response.text
    assert 0.0 <= response.json()["predictions"][0]["win_probability"] <= 1.0


def test_the_quirky_product_name_is_accepted(client, rows) -> None:
    gtx_pro = {**rows[0], "product": "GTX Pro"}
    quirk = {**rows[0], "product": "GTXPro"}
    body = client.post("/predict", json={"opportunities": [gtx_pro, quirk]}).json()
    first, second = (p["win_probability"] for p in body["predictions"])
    assert first == second


@pytest.mark.parametrize(
    ("change", "row", "field"),
    [
        ({"sales_agent": None}, 1, "sales_agent"),
        ({"opportunity_id": 17}, 1, "opportunity_id"),
        ({"engage_date": "2017-13-40"}, 1, "engage_date"),
        ({"as_of_date": "0001-01-01"}, 1, "as_of_date"),
        ({"deal_stage": "Closing"}, 1, "deal_stage"),
        ({"sales_agent": "Nobody Known"}, 1, "sales_agent"),
        ({"product": "GTX Ultra"}, 1, "product"),
        ({"engage_date": "2017-06-01", "as_of_date": "2017-05-31"}, 1, "engage_date"),
    ],
    ids=[
        "null",
        "mistyped",
        "bad-date",
        "ancient-date",
        "bad-stage",
        "unknown-agent",
        "unknown-product",
        "order",
    ],
)
def test_bad_rows_get_422_naming_row_and_field(client, rows, change, row, field) -> None:
    body = [rows[0], {**rows[1], **change}]
    response = client.post("/predict", json={"opportunities": body})
    assert response.status_code == 422, response.text
    problem = response.json()["detail"][0]
    assert (problem["row"], problem["field"]) == (row, field)
    assert problem["loc"] == ["body", "opportunities", row, field]
    assert f"opportunities.{row}.{field}" in response.json()["message"]


def test_a_missing_field_is_named(client, rows) -> None:
    row = dict(rows[0])
    del row["product"]
    problem = client.post("/predict", json={"opportunities": [row]}).json()["detail"][0]
    assert (problem["row"], problem["field"], problem["type"]) == (0, "product", "missing")


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"opportunities": []}, "opportunities"), ({}, "opportunities"),
     ({"opportunities": "x"}, "opportunities"), (b"{not json", None)],
    ids=["empty", "absent", "not-a-list", "not-json"],
)  # fmt: skip
def test_malformed_bodies_get_422(client, payload, field) -> None:
    if isinstance(payload, bytes):
        response = client.post(
            "/predict", content=payload, headers={"Content-Type": "application/json"}
        )
    else:
        response = client.post("/predict", json=payload)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == field


def test_a_batch_over_the_limit_gets_413(client, eval_inputs) -> None:
    response = client.post("/predict", json={"opportunities": records(eval_inputs.head(51))})
    assert response.status_code == 413
    assert "51 rows exceed the limit of 50" in response.json()["message"]


def test_invocations_accepts_both_mlflow_formats(client, rows) -> None:
    expected = [
        p["win_probability"]
        for p in client.post("/predict", json={"opportunities": rows}).json()["predictions"]
    ]
    columns = list(rows[0])
    split = {
        "dataframe_split": {"columns": columns, "data": [[r[c] for c in columns] for r in rows]}
    }
    for payload in (split, {"dataframe_records": rows}):
        response = client.post("/invocations", json=payload)
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == pytest.approx(expected, abs=1e-12)


def test_invocations_errors_name_row_and_field(client, rows) -> None:
    bad = [rows[0], {**rows[1], "product": "GTX Ultra"}]
    problem = client.post("/invocations", json={"dataframe_records": bad}).json()["detail"][0]
    assert problem["loc"] == ["body", "dataframe_records", 1, "product"]
    columns = list(rows[0])
    split = {"dataframe_split": {"columns": columns, "data": [[1] * len(columns)]}}
    problem = client.post("/invocations", json=split).json()["detail"][0]
    assert problem["loc"][:4] == ["body", "dataframe_split", "data", 0]
    response = client.post("/invocations", json={"rows": rows})
    assert response.status_code == 422
    message = response.json()["message"]
    assert "exactly one of dataframe_split, dataframe_records, instances, inputs" in message
    both = client.post("/invocations", json={"instances": rows, "dataframe_records": rows})
    assert both.status_code == 422
    assert "got dataframe_records, instances" in both.json()["message"]


def test_auth_when_a_key_is_configured(source, rows) -> None:
    app = create_app(ServingSettings(api_key=KEY), source)
    with TestClient(app) as client:
        wait_ready(client)
        payload = {"opportunities": rows[:1]}
        assert client.post("/predict", json=payload).status_code == 401
        assert (
            client.post("/predict", json=payload, headers={"X-API-Key": "wrong"}).status_code == 401
        )
        assert client.post("/invocations", json={"dataframe_records": rows[:1]}).status_code == 401
        assert client.post("/predict", json=payload, headers={"X-API-Key": KEY}).status_code == 200
        assert client.get("/health").status_code == 200
        assert client.get("/version").status_code == 200


def test_with_auth_turned_off_no_key_is_asked(client, rows) -> None:
    """Only an explicit ``SERVING_AUTH_REQUIRED=false`` (auth.required: false) gets here."""
    assert client.post("/predict", json={"opportunities": rows[:1]}).status_code == 200


def test_version_health_and_ready(client) -> None:
    version = client.get("/version").json()
    assert {"model_name", "model_version", "alias", "loaded_at"} <= set(version)
    assert (version["model_version"], version["alias"], version["scorer"]) == (
        "1",
        "champion",
        "compiled",
    )
    assert version["compiled"]["used"] and version["compiled"]["runtime"] == TREES_RUNTIME
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json()["status"] == "ready"


def test_not_ready_until_a_model_loads(source, rows) -> None:
    source.alias_version = "missing"  # the registry cannot give this version
    with TestClient(create_app(ServingSettings(auth_required=False), source)) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 503
        assert client.get("/version").status_code == 503
        assert client.post("/predict", json={"opportunities": rows[:1]}).status_code == 503


def test_metrics_count_requests_errors_latency_and_version(client, rows) -> None:
    client.post("/predict", json={"opportunities": rows[:3]})
    client.post("/predict", json={"opportunities": []})
    text = client.get("/metrics").text
    # by endpoint and by the model version that answered
    assert (
        'serving_requests_total{method="POST",model_version="1",path="/predict",status="200"} 1.0'
    ) in text
    assert (
        'serving_request_errors_total{model_version="1",path="/predict",status="422"} 1.0' in text
    )
    assert (
        'serving_request_duration_seconds_bucket{le="0.005",model_version="1",path="/predict"}'
        in text
    )
    assert 'serving_predictions_total{endpoint="/predict"} 3.0' in text
    assert 'serving_model_version{alias="champion",name="crm-win-probability"} 1.0' in text


def test_openapi_documents_the_request_bodies(client) -> None:
    document = client.get("/openapi.json").json()
    body = document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"] == "#/components/schemas/PredictRequest"
    schemas = document["components"]["schemas"]
    assert {"PredictRequest", "Opportunity", "InvocationsRequest", "PredictResponse"} <= set(
        schemas
    )
    assert "X-API-Key" in str(document["components"]["securitySchemes"])


def test_the_stages_are_the_dataset_stages() -> None:
    from typing import get_args

    from ml.data import schema
    from workloads.serving.schemas import Stage

    assert set(get_args(Stage)) == set(schema.STAGES)


def test_the_documented_example_is_scored_by_the_served_model(client) -> None:
    """The example ``/docs`` offers names an agent, product and account the served model
    knows (the model trained on generated data knows none of the original files' names),
    so trying it out gets a prediction, not 422."""
    document = client.get("/openapi.json").json()
    fields = document["components"]["schemas"]["Opportunity"]["properties"]
    example = {name: field["examples"][0] for name, field in fields.items()}
    response = client.post("/predict", json={"opportunities": [example]})
    assert response.status_code == 200, response.text
