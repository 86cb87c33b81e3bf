"""Prometheus metrics of the service, on a registry of its own (one per app), and
the ASGI middleware that counts and times every request."""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class ServingMetrics:
    """Requests, errors, latency, rows scored, the served model and the prediction log."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "serving_requests", "HTTP requests", ["path", "method", "status"], registry=r
        )
        self.errors = Counter(
            "serving_request_errors", "responses with status >= 400", ["path", "status"], registry=r
        )
        self.latency = Histogram(
            "serving_request_duration_seconds",
            "time from request to response",
            ["path"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.rows = Counter("serving_predictions", "rows scored", ["endpoint"], registry=r)
        self.model_version = Gauge(
            "serving_model_version", "served model version (0: none)", ["name", "alias"], registry=r
        )
        self.model_loads = Counter("serving_model_loads", "model versions swapped in", registry=r)
        self.model_errors = Counter(
            "serving_model_check_errors", "failed registry checks or loads", registry=r
        )
        self.log_written = Counter(
            "serving_prediction_log_rows_written", "rows written to the log", registry=r
        )
        self.log_errors = Counter(
            "serving_prediction_log_write_errors", "failed log writes", registry=r
        )
        self.log_dropped = Counter(
            "serving_prediction_log_rows_dropped", "rows dropped over the buffer limit", registry=r
        )
        self.log_buffered = Gauge(
            "serving_prediction_log_buffered_rows", "rows waiting to be written", registry=r
        )


class MetricsMiddleware:
    """Pure ASGI middleware: counts and times requests of ``paths`` (others as ``other``)."""

    def __init__(self, app: ASGIApp, metrics: ServingMetrics, paths: Iterable[str]) -> None:
        self.app, self.metrics, self.paths = app, metrics, frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = [500]

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            path = scope["path"] if scope["path"] in self.paths else "other"
            code = str(status[0])
            self.metrics.requests.labels(path, scope["method"], code).inc()
            if status[0] >= 400:
                self.metrics.errors.labels(path, code).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - began)
