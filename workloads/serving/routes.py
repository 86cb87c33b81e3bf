"""The HTTP routes. Scoring runs inline on the event loop: a request costs well
under a millisecond of CPU, less than handing it to a thread pool would. The
scoring routes are answered by ``workloads.serving.lane`` (the key (401), the
media type (415), the body's size (413) and its rows (422, 413), then scoring
and spooling the answer to disk before sending it); here they are declared for
the OpenAPI document."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.security import APIKeyHeader
from prometheus_client import CONTENT_TYPE_LATEST

from workloads.serving.bodies import CSV, JSON
from workloads.serving.lane import KEY_REFUSED, NO_MODEL, answer, key_accepted
from workloads.serving.metrics import exposition
from workloads.serving.model import LoadedModel
from workloads.serving.schemas import InvocationsResponse, PredictResponse, VersionResponse
from workloads.serving.service import Service

router = APIRouter()
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="required when configured")


def _service(request: Request) -> Service:
    return request.app.state.service


async def require_key(request: Request, key: str | None = Depends(_api_key)) -> None:
    """401 unless the service has no key or ``X-API-Key`` matches it."""
    if not key_accepted(_service(request), key):
        raise HTTPException(401, KEY_REFUSED)


def _model(service: Service) -> LoadedModel:
    model = service.holder.current
    if model is None:
        raise HTTPException(503, NO_MODEL)
    return model


def _json(body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), media_type="application/json", headers=headers)


def _body_schema(name: str, csv: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {JSON: {"schema": {"$ref": f"#/components/schemas/{name}"}}}
    if csv:
        content[CSV] = {"schema": {"type": "string", "description": "CSV with a header line"}}
    return {"requestBody": {"required": True, "content": content}}


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or invalid X-API-Key"},
    413: {"description": "too many rows, or too many bytes, in one request"},
    415: {"description": "unsupported Content-Type; the message names the supported ones"},
    422: {"description": "invalid input; each problem names its row and field"},
    503: {"description": "no model loaded yet"},
}


@router.post(
    "/predict",
    response_model=PredictResponse,
    responses=_ERRORS,
    openapi_extra=_body_schema("PredictRequest"),
    dependencies=[Depends(require_key)],
)
async def predict(request: Request) -> Response:
    """Win probability of each opportunity, scored by the model the alias points to."""
    return await _answer(request, "/predict")


@router.post(
    "/invocations",
    response_model=InvocationsResponse,
    responses=_ERRORS,
    openapi_extra=_body_schema("InvocationsRequest", csv=True),
    dependencies=[Depends(require_key)],
)
async def invocations(request: Request) -> Response:
    """MLflow's scoring protocol, as MLflow's scoring server reads it for a
    DataFrame model: JSON (``dataframe_split``, ``dataframe_records``,
    ``instances``, ``inputs``) or ``text/csv``; ``{"predictions": [win probability
    per row]}``."""
    return await _answer(request, "/invocations")


async def _answer(request: Request, path: str) -> Response:
    # the scoring lane answers these requests before FastAPI routes them; a route
    # reached another way answers the same through the same code
    result = await answer(
        _service(request), path, {k.lower(): v for k, v in request.headers.items()},
        request.stream(),
    )  # fmt: skip
    headers = {} if result.request_id is None else {"X-Request-ID": result.request_id}
    return Response(result.body, result.status, headers, media_type=JSON)


@router.get("/health")
async def health() -> dict[str, str]:
    """The process answers (a model may still be loading)."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "no model loaded yet"}})
async def ready(request: Request) -> Response:
    """200 once a model is loaded, 503 before. ``problem`` says why the last check of
    the alias failed (no champion yet; the alias lost while the loaded model still
    serves), null otherwise. ``prediction_log.state`` is ``full`` while answered rows
    cannot be logged (they are still answered), ``behind`` while uploads fail, ``ok``
    otherwise (``off`` without a log)."""
    service = _service(request)
    model, problem = service.holder.current, service.refresher.problem
    log = service.log_status()
    if model is None:
        body = {"status": "loading", "problem": problem, "prediction_log": log}
        return Response(orjson.dumps(body), status_code=503, media_type=JSON)
    return _json({"status": "ready", **model.describe(), "problem": problem,
                  "prediction_log": log})  # fmt: skip


@router.get("/version", response_model=VersionResponse, responses={503: _ERRORS[503]})
async def version(request: Request) -> Response:
    """The served model: name, version, alias and when it was loaded."""
    return _json(_model(_service(request)).describe())


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus text format; with several workers, what all of them counted."""
    service = _service(request)
    service.log_status()
    return Response(exposition(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
