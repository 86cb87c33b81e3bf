"""The scoring endpoints, ``POST /predict`` and ``POST /invocations``, answered by
:class:`ScoringLane` in front of the FastAPI app (:class:`ServingApp`).

A single-row request costs the service less to score than FastAPI costs to route
it (request objects, dependency resolution, a response object, its middleware
layers each wrapping ``send``, a telemetry check reading the environment), so
these two requests skip that machinery; every other request goes on to FastAPI.
:func:`answer` is the whole of a scoring request, in the order the routes
document it: the API key (401), a loaded model (503), the media type (415), the
body's size (413), its rows (422, 413), then scoring and spooling (written to the
prediction log's spool before the answer is sent). The FastAPI
routes of ``workloads.serving.routes`` describe the same endpoints in the OpenAPI
document and answer through :func:`answer` too. The lane gives each request its
id (``workloads.serving.logs``) and counts and times it as
``workloads.serving.metrics.MetricsMiddleware`` does; an unexpected error is
answered 500 and raised on to the server, which logs it with its traceback.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from fastapi import FastAPI
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from workloads.serving.bodies import CSV, JSON, media_type, parse_csv, parse_json, read_body
from workloads.serving.inputs import (
    Batch,
    InputError,
    check_size,
    invocation_records,
    problem,
    validate_rows,
)
from workloads.serving.logs import REQUEST_ID, new_request_id
from workloads.serving.model import LoadedModel
from workloads.serving.service import Service

SCORING = frozenset({"/predict", "/invocations"})
_JSON_HEADER = (b"content-type", b"application/json")


@dataclass(frozen=True)
class Answer:
    """A response: status, JSON body, the request id header on a scored answer."""

    status: int
    body: bytes
    request_id: str | None = None

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The ASGI response headers: JSON, its length, the request id when scored."""
        headers = [_JSON_HEADER, (b"content-length", str(len(self.body)).encode())]
        if self.request_id is not None:
            headers.append((b"x-request-id", self.request_id.encode()))
        return headers


class _Refused(Exception):
    """An answer FastAPI's HTTPException would give: ``{"detail": message}``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


KEY_REFUSED = "missing or invalid X-API-Key header"
NO_MODEL = "no model loaded yet"


def key_accepted(service: Service, key: str | None) -> bool:
    """Whether ``key`` (the ``X-API-Key`` header, None when absent) may call the
    service: True when it has no key, else only for an equal key (constant time)."""
    expected = service.settings.api_key
    return not expected or bool(key and hmac.compare_digest(key.encode(), expected.encode()))


def _check_key(service: Service, key: str | None) -> None:
    if not key_accepted(service, key):
        raise _Refused(401, KEY_REFUSED)


def _model(service: Service) -> LoadedModel:
    model = service.holder.current
    if model is None:
        raise _Refused(503, NO_MODEL)
    return model


async def answer(
    service: Service, path: str, headers: Mapping[str, str], chunks: AsyncIterator[bytes]
) -> Answer:
    """The answer to a scoring request on ``path`` (``/predict`` or ``/invocations``);
    ``headers`` by lower-case name, ``chunks``: the body as it arrives."""
    try:
        _check_key(service, headers.get("x-api-key"))
        model = _model(service)
        kind = media_type(
            headers.get("content-type"), (JSON,) if path == "/predict" else (JSON, CSV)
        )
        body = await read_body(headers.get("content-length"), chunks, service.settings.body_limit)
        limit = service.settings.max_batch_rows
        if path == "/predict":
            records, where = _predict_records(parse_json(body), limit)
        elif kind == CSV:
            where = ["body"]
            records = check_size(parse_csv(body), where, limit)
        else:
            records, where = invocation_records(parse_json(body), limit)
        batch = validate_rows(records, where, model.known_agents, model.known_products)
        probabilities = model.scorer.predict(batch.raw, batch.opportunity_ids)
        request_id = await service.record(path, model, batch, probabilities)
    except InputError as exc:
        return Answer(exc.status, orjson.dumps(exc.body()))
    except _Refused as exc:
        return Answer(exc.status, orjson.dumps({"detail": exc.detail}))
    if path == "/predict":
        document: dict[str, Any] = _predict_body(request_id, model, batch, probabilities)
    else:
        document = {"predictions": probabilities.tolist()}
    return Answer(200, orjson.dumps(document), request_id)


def _predict_records(document: Any, limit: int) -> tuple[list[Any], list[Any]]:
    where: list[Any] = ["body", "opportunities"]
    if not isinstance(document, dict) or "opportunities" not in document:
        raise InputError(422, [problem(where, "Field required", "missing")])
    return check_size(document["opportunities"], where, limit), where


def _predict_body(
    request_id: str, model: LoadedModel, batch: Batch, probabilities: np.ndarray
) -> dict[str, Any]:
    predictions = [
        {"opportunity_id": i, "win_probability": p}
        for i, p in zip(batch.opportunity_ids, probabilities.tolist(), strict=True)
    ]
    return {
        "request_id": request_id,
        "model": {"name": model.name, "version": model.version},
        "predictions": predictions,
    }


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


class ScoringLane:
    """Answers ``POST`` on the scoring paths with :func:`answer` (see the module
    docstring), in front of the whole FastAPI app: :class:`ServingApp` hands it
    the requests it :meth:`takes`."""

    def __init__(self, service: Service) -> None:
        self.service = service

    @staticmethod
    def takes(scope: Scope) -> bool:
        """Whether ``scope`` is a scoring request (``POST /predict`` or ``/invocations``)."""
        return scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in SCORING

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a scoring request, counted and timed. An unexpected error is
        answered 500 (plain text, as Starlette answers it) and raised on to the
        server, which logs it with its traceback and the request id."""
        REQUEST_ID.set(new_request_id())
        began, version, status = time.perf_counter(), self.service.served_version(), 500
        started = False
        try:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                       for k, v in scope["headers"]}  # fmt: skip
            result = await answer(self.service, scope["path"], headers, _chunks(receive))
            status = result.status
            started = True
            await send(
                {"type": "http.response.start", "status": status, "headers": result.headers()}
            )
            await send({"type": "http.response.body", "body": result.body})
        except Exception:
            if not started:
                await send({"type": "http.response.start", "status": 500,
                            "headers": _ERROR_HEADERS})  # fmt: skip
                await send({"type": "http.response.body", "body": _ERROR_BODY})
            raise
        finally:
            self.service.metrics.count_request(
                scope["path"], "POST", status, version, time.perf_counter() - began
            )


_ERROR_BODY = b"Internal Server Error"
_ERROR_HEADERS = [(b"content-type", b"text/plain; charset=utf-8"),
                  (b"content-length", str(len(_ERROR_BODY)).encode())]  # fmt: skip


class ServingApp(FastAPI):
    """The FastAPI app with :class:`ScoringLane` in front: a scoring request is
    answered before FastAPI's own machinery (its middleware stack, routing,
    request and response objects) runs; every other request, and the lifespan,
    go to FastAPI. ``lane`` is set by ``workloads.serving.app.create_app``."""

    lane: ScoringLane | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point: the lane for scoring requests, FastAPI for the rest."""
        if self.lane is not None and self.lane.takes(scope):
            await self.lane(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
