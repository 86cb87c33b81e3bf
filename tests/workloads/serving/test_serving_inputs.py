"""No input gets a 5xx: oversized bodies get 413 before they are read whole,
unsupported media types 415 naming the supported ones, control characters in
identifiers 422; MLflow's request variants (fixtures under
``fixtures/mlflow-request-variants``) are scored as MLflow's scoring server
reads them; and a property-based run over the service's own OpenAPI document
finds no 5xx."""

from __future__ import annotations

import json
import select
import socket
from pathlib import Path

import pandas as pd
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from ml.features import INPUT_COLUMNS
from tests.workloads.serving.conftest import MemorySource, records
from tests.workloads.serving.test_serving_alias_and_log import ServerThread
from tests.workloads.serving.test_serving_api import wait_ready
from workloads.serving.app import create_app
from workloads.serving.settings import ServingSettings

VARIANTS = Path(__file__).parent / "fixtures" / "mlflow-request-variants"
JSON = {"Content-Type": "application/json"}


SOURCE = MemorySource({}, alias_version="1")
APP = create_app(ServingSettings(auth_required=False, max_batch_rows=50), SOURCE)
"""One app for the module; its model arrives with the session's trained models."""


@pytest.fixture(scope="module")
def client(trained):
    SOURCE.versions["1"] = trained["boosting"].pipeline
    with TestClient(APP) as client:
        wait_ready(client)
        yield client


@pytest.fixture
def rows(eval_inputs) -> list[dict]:
    return records(eval_inputs.head(3))


# -- size -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(client):
    """The same app on a loopback port: what a client sees over a real socket."""
    with ServerThread(client.app) as url:
        yield url


def post_raw(url: str, headers: str, chunks: int) -> tuple[str, int]:
    """POST over a raw socket, sending up to ``chunks`` chunks of 64 KiB until the
    server answers; its status line and the chunks sent before the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(f"POST /predict HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n".encode())
        sent = 0
        while sent < chunks and not select.select([sock], [], [], 0.01)[0]:
            try:
                sock.sendall(b"10000\r\n" + b" " * 65536 + b"\r\n")
            except OSError:  # the server answered and closed
                break
            sent += 1
        return sock.makefile("rb").readline().decode().strip(), sent


def test_a_body_over_the_limit_gets_413_before_it_is_read(server) -> None:
    chunked = "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
    status, sent = post_raw(server, chunked, chunks=1000)
    assert status == "HTTP/1.1 413 Request Entity Too Large"
    assert sent < 400, "the server answered only after most of a 64 MiB body"
    declared = "Content-Type: application/json\r\nContent-Length: 999999999\r\n"
    status, sent = post_raw(server, declared, chunks=0)
    assert status.endswith(" 413 Request Entity Too Large")


def test_413_names_the_limit(client) -> None:
    response = client.post("/predict", content=b" " * 204801, headers=JSON)
    assert response.status_code == 413
    assert "exceeds the limit of 204800 bytes" in response.json()["message"]


def test_the_largest_allowed_batch_fits_the_default_limit(client, eval_inputs) -> None:
    rows = records(eval_inputs.head(50))
    for i, row in enumerate(rows):
        row["opportunity_id"] = f"{i:03d}".ljust(256, "o")
        row["account"] = "an account unseen in training ".ljust(256, "a")
    body = json.dumps({"opportunities": rows}, indent=4).encode()
    assert len(body) > 50 * 600
    response = client.post("/predict", content=body, headers=JSON)
    assert response.status_code == 200, response.text


# -- media types -------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
     "application/json; charset=latin-1", "application/json; format=pandas-split"],
)  # fmt: skip
def test_unsupported_media_types_get_415_naming_the_supported(client, rows, content_type) -> None:
    body = json.dumps({"opportunities": rows}).encode()
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = client.post("/predict", content=body, headers=headers)
    assert response.status_code == 415, response.text
    assert "application/json" in response.json()["message"]
    assert response.json()["detail"][0]["loc"] == ["header", "content-type"]
    invocations = client.post("/invocations", content=body, headers=headers)
    assert invocations.status_code == 415
    assert "application/json, text/csv" in invocations.json()["message"]


def test_json_with_a_utf8_charset_is_accepted(client, rows) -> None:
    body = json.dumps({"opportunities": rows}).encode()
    headers = {"Content-Type": "Application/JSON; charset=UTF-8"}
    assert client.post("/predict", content=body, headers=headers).status_code == 200


# -- identifiers and shapes --------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("opportunity_id", "AB\x00CD"), ("sales_agent", "\x1b[31mred"), ("account", "line\nbreak"),
     ("product", "GTX\x7fPro"), ("opportunity_id", "C1\x85control")],
)  # fmt: skip
def test_control_characters_in_identifiers_get_422(client, rows, field, value) -> None:
    response = client.post("/predict", json={"opportunities": [rows[0], {**rows[1], field: value}]})
    assert response.status_code == 422, response.text
    problem = response.json()["detail"][0]
    assert (problem["row"], problem["field"]) == (1, field)
    assert "control characters" in problem["msg"]


def test_a_lone_surrogate_gets_422(client, rows) -> None:
    # orjson refuses the escape; the standard library's reader (kept for NaN) takes it
    body = json.dumps({"opportunities": [{**rows[0], "opportunity_id": "\ud800"}]}).encode()
    response = client.post("/predict", content=body, headers=JSON)
    assert response.status_code == 422, response.text
    problem = response.json()["detail"][0]
    assert (problem["row"], problem["field"]) == (0, "opportunity_id")


@pytest.mark.parametrize(
    ("columns", "loc"),
    [([["opportunity_id"], "sales_agent"], ["columns", 0]), (["a", {"b": 1}], ["columns", 1]),
     (["a", "a"], ["columns"]), ("opportunity_id", ["columns"])],
    ids=["list", "object", "repeated", "not-a-list"],
)  # fmt: skip
def test_dataframe_split_columns_that_are_not_names_get_422(client, columns, loc) -> None:
    split = {"dataframe_split": {"columns": columns, "data": [[1, 2]]}}
    response = client.post("/invocations", json=split)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "dataframe_split", *loc]


@pytest.mark.parametrize(
    "payload",
    [{"instances": [1, 2]}, {"inputs": {"opportunity_id": ["a", "b"], "product": ["x"]}},
     {"inputs": {}}, {"instances": "rows"}, {"dataframe_records": [[1, 2]]}, [1, 2], "text"],
)  # fmt: skip
def test_malformed_mlflow_bodies_get_422(client, payload) -> None:
    assert client.post("/invocations", json=payload).status_code == 422


def test_a_deeply_nested_body_gets_422(client) -> None:
    body = b'{"opportunities": ' + b"[" * 100_000 + b"]" * 100_000 + b", NaN: 1}"
    response = client.post("/predict", content=body, headers=JSON)
    assert response.status_code in (413, 422)
    small = b'{"dataframe_records": ' + b"[" * 5_000 + b"]" * 5_000 + b", NaN: 1}"
    assert client.post("/invocations", content=small, headers=JSON).status_code == 422


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)


@given(columns=st.lists(JSON_VALUES, min_size=1, max_size=8), rows=st.integers(1, 3))
@settings(max_examples=60, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))  # fmt: skip
def test_any_json_as_dataframe_split_columns_gets_no_server_error(client, columns, rows) -> None:
    split = {"dataframe_split": {"columns": columns, "data": [list(range(len(columns)))] * rows}}
    assert client.post("/invocations", json=split).status_code < 500


@given(content_type=st.binary(max_size=40).filter(lambda b: not {10, 13, 0} & set(b)))
@settings(max_examples=60, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))  # fmt: skip
def test_any_content_type_gets_no_server_error(client, content_type) -> None:
    headers = {"Content-Type": content_type}
    assert client.post("/invocations", content=b"{}", headers=headers).status_code < 500


# -- MLflow's request variants -------------------------------------------------------------


def known_names(eval_inputs: pd.DataFrame) -> dict[str, str]:
    """The fixtures' made-up names -> names the test model knows."""
    row = eval_inputs.dropna().iloc[0]
    return {"Anna Lowe": row["sales_agent"], "Acmecorp": row["account"]}


def variant(name: str, eval_inputs: pd.DataFrame) -> bytes:
    text = (VARIANTS / name).read_text()
    for made_up, known in known_names(eval_inputs).items():
        text = text.replace(made_up, known)
    return text.encode()


def expected(pipeline, eval_inputs: pd.DataFrame, opportunity_id: str, account) -> float:
    names = known_names(eval_inputs)
    row = {
        "opportunity_id": opportunity_id, "sales_agent": names["Anna Lowe"], "product": "GTX Pro",
        "account": account, "deal_stage": "Engaging",
        "engage_date": pd.Timestamp("2017-09-02"), "as_of_date": pd.Timestamp("2017-09-30"),
    }  # fmt: skip
    frame = pd.DataFrame([row])[list(INPUT_COLUMNS)]
    frame["account"] = frame["account"].astype(object)
    return float(pipeline.predict_proba(frame)[0, 1])


@pytest.mark.parametrize(
    ("fixture", "content_type", "opportunity_id", "account_known"),
    [("instances.json", "application/json", "QX31DD4D", True),
     ("inputs.json", "application/json", "QX31DD4D", True),
     ("records.csv", "text/csv", "QX31DD4D", True),
     ("nan_token.json", "application/json", "QX21CC3C", False)],
    ids=["instances", "inputs", "csv", "nan-token"],
)  # fmt: skip
def test_mlflow_request_variants_are_scored_as_mlflow_scores_them(
    client, trained, eval_inputs, fixture, content_type, opportunity_id, account_known
) -> None:
    body = variant(fixture, eval_inputs)
    response = client.post("/invocations", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 200, response.text
    account = known_names(eval_inputs)["Acmecorp"] if account_known else None
    right = expected(trained["boosting"].pipeline, eval_inputs, opportunity_id, account)
    assert response.json()["predictions"] == pytest.approx([right], abs=1e-9)


def test_csv_empty_cells_and_na_tokens_are_missing(client, trained, eval_inputs) -> None:
    body = variant("records.csv", eval_inputs).decode()
    header, line = body.strip().splitlines()
    known_account = known_names(eval_inputs)["Acmecorp"]
    rows = [line.replace(known_account, ""), line.replace(known_account, "NA")]
    response = client.post(
        "/invocations", content="\n".join([header, *rows]), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    right = expected(trained["boosting"].pipeline, eval_inputs, "QX31DD4D", None)
    assert response.json()["predictions"] == pytest.approx([right, right], abs=1e-9)


# -- property-based: the service's own OpenAPI document ---------------------------------


FUZZ_SOURCE = MemorySource({}, alias_version="1")
FUZZ_APP = create_app(ServingSettings(auth_required=False, max_batch_rows=50), FUZZ_SOURCE)
schema = schemathesis.openapi.from_dict(FUZZ_APP.openapi())
# calls go to the app in process (schemathesis runs its lifespan once, until exit)
schema.app = FUZZ_APP


@pytest.fixture(scope="module")
def fuzz_model(trained) -> None:
    FUZZ_SOURCE.versions["1"] = trained["boosting"].pipeline
    assert FUZZ_APP.state.service.refresher.check()


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_gets_a_server_error(case, fuzz_model) -> None:
    case.call_and_validate(checks=[not_a_server_error])
