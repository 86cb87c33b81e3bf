"""The HTTP routes. Scoring runs inline on the event loop: a request costs well
under a millisecond of CPU, less than handing it to a thread pool would."""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.security import APIKeyHeader
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from workloads.serving.inputs import (
    InputError,
    check_size,
    parse_json,
    split_records,
    validate_rows,
)
from workloads.serving.model import LoadedModel
from workloads.serving.schemas import InvocationsResponse, PredictResponse, VersionResponse
from workloads.serving.service import Service

router = APIRouter()
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="required when configured")


def _service(request: Request) -> Service:
    return request.app.state.service


async def require_key(request: Request, key: str | None = Depends(_api_key)) -> None:
    """401 unless the service has no key or ``X-API-Key`` matches it."""
    expected = _service(request).settings.api_key
    if expected and not (key and hmac.compare_digest(key.encode(), expected.encode())):
        raise HTTPException(401, "missing or invalid X-API-Key header")


def _model(service: Service) -> LoadedModel:
    model = service.holder.current
    if model is None:
        raise HTTPException(503, "no model loaded yet")
    return model


def _json(body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), media_type="application/json", headers=headers)


def _body_schema(name: str) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{name}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_ERRORS = {
    401: {"description": "missing or invalid X-API-Key"},
    413: {"description": "too many rows in one request"},
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
    service = _service(request)
    model = _model(service)
    document = parse_json(await request.body())
    if not isinstance(document, dict) or "opportunities" not in document:
        raise InputError(422, [{"loc": ["body", "opportunities"], "msg": "Field required",
                                "type": "missing", "row": None, "field": "opportunities"}])  # fmt: skip
    where = ["body", "opportunities"]
    records = check_size(document["opportunities"], where, service.settings.max_batch_rows)
    batch = validate_rows(records, where, model.known_agents, model.known_products)
    probabilities = model.scorer.predict(batch.raw, batch.opportunity_ids)
    request_id = service.record("/predict", model, batch, probabilities)
    predictions = [
        {"opportunity_id": i, "win_probability": float(p)}
        for i, p in zip(batch.opportunity_ids, probabilities, strict=True)
    ]
    body = {
        "request_id": request_id,
        "model": {"name": model.name, "version": model.version},
        "predictions": predictions,
    }
    return _json(body, {"X-Request-ID": request_id})


@router.post(
    "/invocations",
    response_model=InvocationsResponse,
    responses=_ERRORS,
    openapi_extra=_body_schema("InvocationsRequest"),
    dependencies=[Depends(require_key)],
)
async def invocations(request: Request) -> Response:
    """MLflow's scoring protocol (``dataframe_split`` or ``dataframe_records``):
    ``{"predictions": [win probability per row]}``."""
    service = _service(request)
    model = _model(service)
    document = parse_json(await request.body())
    limit = service.settings.max_batch_rows
    if isinstance(document, dict) and "dataframe_split" in document:
        records, where = (
            split_records(document["dataframe_split"], limit),
            ["body", "dataframe_split", "data"],
        )
    elif isinstance(document, dict) and "dataframe_records" in document:
        where = ["body", "dataframe_records"]
        records = check_size(document["dataframe_records"], where, limit)
    else:
        msg = "expected a JSON object with 'dataframe_split' or 'dataframe_records'"
        raise InputError(
            422, [{"loc": ["body"], "msg": msg, "type": "format", "row": None, "field": None}]
        )
    batch = validate_rows(records, where, model.known_agents, model.known_products)
    probabilities = model.scorer.predict(batch.raw, batch.opportunity_ids)
    request_id = service.record("/invocations", model, batch, probabilities)
    return _json({"predictions": probabilities.tolist()}, {"X-Request-ID": request_id})


@router.get("/health")
async def health() -> dict[str, str]:
    """The process answers (a model may still be loading)."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "no model loaded yet"}})
async def ready(request: Request) -> Response:
    """200 once a model is loaded, 503 before."""
    model = _service(request).holder.current
    if model is None:
        return Response(
            orjson.dumps({"status": "loading"}), status_code=503, media_type="application/json"
        )
    return _json({"status": "ready", **model.describe()})


@router.get("/version", response_model=VersionResponse, responses={503: _ERRORS[503]})
async def version(request: Request) -> Response:
    """The served model: name, version, alias and when it was loaded."""
    return _json(_model(_service(request)).describe())


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus text format."""
    service = _service(request)
    if service.log is not None:
        service.metrics.log_buffered.set(service.log.buffered_rows)
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
