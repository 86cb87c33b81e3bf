"""A stub of the prediction service on pytest-httpserver, answering the serving contract:
``/version``, and ``/predict`` with 422 for a row whose product is ``BAD``."""

from __future__ import annotations

import json

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

VERSION = {
    "model_name": "crm-win-probability",
    "model_version": "7",
    "alias": "champion",
    "loaded_at": "2018-01-01T00:00:00Z",
}


def _predict(request: Request) -> Response:
    rows = json.loads(request.get_data())["opportunities"]
    for index, row in enumerate(rows):
        if row.get("product") == "BAD":
            detail = f"opportunities[{index}].product: unknown product 'BAD'"
            return Response(json.dumps({"detail": detail}), 422, mimetype="application/json")
    body = {
        "request_id": "stub-1",
        "model": {"name": VERSION["model_name"], "version": VERSION["model_version"]},
        "predictions": [
            {"opportunity_id": r["opportunity_id"], "win_probability": 0.42} for r in rows
        ],
    }
    return Response(json.dumps(body), 200, mimetype="application/json")


def serve_stub(server: HTTPServer) -> str:
    """Install the stub's handlers on ``server``; returns its base URL."""
    server.expect_request("/version", method="GET").respond_with_json(VERSION)
    server.expect_request("/predict", method="POST").respond_with_handler(_predict)
    return server.url_for("/").rstrip("/")
