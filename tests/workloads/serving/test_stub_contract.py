"""The app tests' stub of the prediction service answers as the service does: for each
request below, the running service (a small real model) and the stub given that model's
agents and products send the same status and, for a refusal, the same document."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.workloads.app.stubs import predict_response, version_response
from tests.workloads.serving.conftest import records
from tests.workloads.serving.test_serving_api import wait_ready
from workloads.serving.app import create_app
from workloads.serving.settings import ServingSettings


@pytest.fixture(scope="module")
def service(trained):
    from tests.workloads.serving.conftest import MemorySource

    source = MemorySource({"1": trained["boosting"].pipeline}, alias_version="1")
    with TestClient(create_app(ServingSettings(auth_required=False), source)) as client:
        wait_ready(client)
        yield client


def _bodies(row: dict) -> dict[str, bytes]:
    def body(*rows: dict) -> bytes:
        return json.dumps({"opportunities": list(rows)}).encode()

    late = {**row, "engage_date": "2017-12-01", "as_of_date": "2017-06-30"}
    return {
        "good rows": body(row, {**row, "opportunity_id": "second", "product": "GTXPro"}),
        "unknown product and agent": body(row, {**row, "product": "BAD", "sales_agent": "Zed"}),
        "engage date after as-of": body(late),
        "not a date": body({**row, "engage_date": "not-a-date"}),
        "missing field": body({k: v for k, v in row.items() if k != "deal_stage"}),
        "empty list": body(),
        "no opportunities": b'{"rows": []}',
        "not JSON": b"{oops",
    }


def test_the_stub_answers_as_the_service_does(service, eval_inputs) -> None:
    row = records(eval_inputs.head(1))[0]
    model = service.app.state.service.holder.current
    for name, data in _bodies(row).items():
        real = service.post("/predict", content=data, headers={"content-type": "application/json"})
        status, stub = predict_response(data, model.known_agents, model.known_products)
        assert status == real.status_code, name
        if status == 200:
            assert set(stub) == set(real.json()), name
            assert [p["opportunity_id"] for p in stub["predictions"]] == [
                p["opportunity_id"] for p in real.json()["predictions"]
            ]
        else:
            assert stub == real.json(), name


def test_the_stubs_version_has_the_keys_of_the_services(service) -> None:
    real = service.get("/version").json()
    assert set(version_response(real)) == set(real)
    assert version_response(real) == real
