"""A stub of the prediction service on pytest-httpserver: a fake model behind the real
service's request handling.

``/predict`` parses and checks the body with the service's own functions
(``workloads.serving.bodies`` and ``workloads.serving.inputs``), so a refused request gets
exactly the status and document the service sends (422: ``message`` and ``detail``, one
item per problem with ``loc``, ``msg``, ``type``, ``row`` and ``field``). Only the model is
fake: it knows the agents and products it is given (by default :data:`AGENTS` and the
dataset's products) and answers 0.42 for every row it takes. Both answers are validated
against the service's response schemas, and
``tests/workloads/serving/test_stub_contract.py`` checks the stub against the running
service."""

from __future__ import annotations

import json
from collections.abc import Iterable

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from ml.data import schema as s
from ml.features.transformer import PRODUCT_FIXES
from workloads.serving.bodies import parse_json
from workloads.serving.inputs import InputError, check_size, problem, validate_rows
from workloads.serving.schemas import PredictResponse, VersionResponse
from workloads.serving.settings import ServingSettings

VERSION = {
    "model_name": "crm-win-probability",
    "model_version": "7",
    "alias": "champion",
    "loaded_at": "2018-01-01T00:00:00+00:00",
    "scorer": "compiled",
    "compiled": {"used": True, "runtime": "treelite", "made_at": "training"},
    "kind": "learned",
    "family": "boosting",
}
AGENTS = frozenset({"Anna Alder", "Boris Brand"})
"""The agents the stub's model knows unless it is given others."""
PRODUCTS = frozenset(name for name, _series, _price in s.PRODUCT_CATALOG) | frozenset(PRODUCT_FIXES)
"""The products a model fitted on the dataset knows, its quirky spellings included."""
MAX_ROWS = ServingSettings(auth_required=False).max_batch_rows


def predict_response(
    data: bytes, agents: frozenset[str], products: frozenset[str] = PRODUCTS
) -> tuple[int, dict]:
    """(status, document) the service answers to ``POST /predict`` with body ``data``
    when its model knows ``agents`` and ``products`` and scores every row 0.42."""
    try:
        document = parse_json(data)
        if not isinstance(document, dict) or "opportunities" not in document:
            raise InputError(422, [problem(["body", "opportunities"], "Field required", "missing")])
        where = ["body", "opportunities"]
        records = check_size(document["opportunities"], where, MAX_ROWS)
        batch = validate_rows(records, where, agents, products)
    except InputError as error:
        return error.status, error.body()
    body = {
        "request_id": "stub-1",
        "model": {"name": VERSION["model_name"], "version": VERSION["model_version"]},
        "predictions": [
            {"opportunity_id": i, "win_probability": 0.42} for i in batch.opportunity_ids
        ],
    }
    return 200, PredictResponse.model_validate(body).model_dump(mode="json")


def version_response(version: dict) -> dict:
    """``version`` as ``GET /version`` sends it: every key of the schema, null when unset,
    except inside ``compiled``, which carries only the keys that apply."""
    answer = VersionResponse.model_validate(version).model_dump(mode="json")
    answer["compiled"] = {k: v for k, v in answer["compiled"].items() if v is not None}
    return answer


def serve_stub(
    server: HTTPServer, version: dict | None = None, agents: Iterable[str] | None = None
) -> str:
    """Install the stub's handlers on ``server``; returns its base URL. ``version`` is
    what ``/version`` answers; ``agents``, when given, the only agents its model knows."""
    known = frozenset(agents) if agents is not None else AGENTS
    server.expect_request("/version", method="GET").respond_with_json(
        version_response(version or VERSION)
    )

    def _predict(request: Request) -> Response:
        status, body = predict_response(request.get_data(), known)
        return Response(json.dumps(body), status, mimetype="application/json")

    server.expect_request("/predict", method="POST").respond_with_handler(_predict)
    return server.url_for("/").rstrip("/")
