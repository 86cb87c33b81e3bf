"""The FastAPI application: routes, error handlers, metrics middleware, lifespan.

``create_app(settings, source)`` builds one; its lifespan starts the model
refresher (and waits, at most ``FIRST_CHECK_WAIT_S``, for its first check) and the prediction log (which first uploads what earlier runs left in
the spool), and on shutdown uploads what the spool holds, within
``settings.drain_s``; what is left then waits in the spool for the next start.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic.json_schema import models_json_schema

from workloads.serving.features import FastFeatures
from workloads.serving.inputs import InputError
from workloads.serving.lane import ScoringLane, ServingApp
from workloads.serving.logs import RequestIdMiddleware
from workloads.serving.metrics import MetricsMiddleware, forget_dead_workers, worker_exited
from workloads.serving.model import ModelSource
from workloads.serving.predlog import PredictionLog
from workloads.serving.routes import router
from workloads.serving.schemas import InvocationsRequest, PredictRequest
from workloads.serving.service import Service
from workloads.serving.settings import ServingSettings

FIRST_CHECK_WAIT_S = 30.0
"""The longest start waits for the first model (the registry may be slow or down)."""
PATHS = ("/predict", "/invocations", "/health", "/ready", "/version", "/metrics")


def create_app(
    settings: ServingSettings, source: ModelSource, log: PredictionLog | None = None
) -> FastAPI:
    """The service for ``source``'s model; ``log`` overrides the one from ``settings``."""
    service = Service(settings, source, log)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        forget_dead_workers()  # a worker started after one died: its live gauges go
        service.start()
        # a worker takes requests once its first check is done (a model loaded, or
        # none to load), so that a sibling's answer is never "no model loaded yet"
        await asyncio.to_thread(service.refresher.first_check.wait, FIRST_CHECK_WAIT_S)
        try:
            yield
        finally:
            await asyncio.to_thread(service.stop)
            worker_exited()

    app = ServingApp(
        title="CRM win-probability prediction service",
        version="1",
        summary="Scores open opportunities with the model the registry alias points to.",
        lifespan=lifespan,
    )
    app.state.service = service
    app.include_router(router)
    app.add_exception_handler(InputError, _input_error)
    app.add_middleware(
        MetricsMiddleware, metrics=service.metrics, paths=PATHS, version=service.served_version
    )
    app.add_middleware(RequestIdMiddleware)  # every log line of a request has it
    # in front of it all: the scoring requests are answered before FastAPI runs (lane.py)
    app.lane = ScoringLane(service)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


async def _input_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InputError)
    return JSONResponse(exc.body(), status_code=exc.status)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document plus the request bodies the routes read themselves, its
    examples taken from the model being served (see :func:`with_model_examples`)."""
    model = app.state.service.holder.current
    return with_model_examples(_base_openapi(app), model.scorer.features if model else None)


def with_model_examples(schema: dict[str, Any], features: FastFeatures | None) -> dict[str, Any]:
    """``schema`` with the ``Opportunity`` examples of ``sales_agent``, ``product`` and
    ``account`` replaced by values ``features`` (the served model's) know, so that the
    example in ``/docs`` is scored instead of refused as an unknown agent; unchanged
    without a model or for a value it knows none of."""
    if features is None:
        return schema
    known = {"sales_agent": features.known_agents, "product": features.known_products,
             "account": frozenset(a for a in features.accounts if isinstance(a, str))}  # fmt: skip
    fields = schema["components"]["schemas"]["Opportunity"]["properties"]
    for name, values in known.items():
        if values and not set(fields[name].get("examples", [])) <= values:
            fields[name]["examples"] = [min(values)]
    return schema


def _base_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes
    )
    _, extra = models_json_schema(
        [(PredictRequest, "validation"), (InvocationsRequest, "validation")],
        ref_template="#/components/schemas/{model}",
    )
    schema.setdefault("components", {}).setdefault("schemas", {}).update(extra["$defs"])
    app.openapi_schema = schema
    return schema
