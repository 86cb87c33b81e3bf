"""Prometheus metrics of the service, on a registry of its own (one per app), and
the ASGI middleware that counts and times every request.

With several worker processes every worker writes its values to files in one
folder (prometheus_client's multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``, set
by the supervising process before the workers start: :func:`prepare_multiprocess`),
and ``/metrics`` from any worker reports what all of them counted
(:func:`exposition`): counters and histograms summed over the workers, those of
workers that died included; gauges by the mode each declares (the largest value
of the live workers, or one series per live worker).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's variable: where every worker writes its metric files."""
MAX_CACHED_LABELS = 1000
_LIVE_FILE = re.compile(r"gauge_live\w+_(\d+)\.db")


def multiprocess_dir() -> Path | None:
    """The folder of the workers' metric files, None in single-process mode."""
    folder = os.environ.get(MULTIPROC_VARIABLE)
    return Path(folder) if folder else None


def prepare_multiprocess(folder: Path) -> None:
    """Empty (or create, 0700) ``folder`` and name it in ``PROMETHEUS_MULTIPROC_DIR``
    for the worker processes started after this. Call it once per service start,
    before any worker starts: files of an earlier run would be added to this one's."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    os.environ[MULTIPROC_VARIABLE] = str(folder)


def forget_dead_workers() -> None:
    """Drop the live-gauge files of worker processes that no longer run (killed ones
    never removed theirs); their counters stay in the sums. No-op in single-process mode."""
    folder = multiprocess_dir()
    if folder is None:
        return
    for path in folder.glob("gauge_live*.db"):
        match = _LIVE_FILE.fullmatch(path.name)
        if match and not _alive(int(match.group(1))):
            multiprocess.mark_process_dead(int(match.group(1)), str(folder))


def worker_exited() -> None:
    """This worker stops: its live gauges leave the exposition (no-op in single-process mode)."""
    folder = multiprocess_dir()
    if folder is not None:
        multiprocess.mark_process_dead(os.getpid(), str(folder))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def exposition(registry: CollectorRegistry) -> bytes:
    """The Prometheus text of ``registry``, or in multiprocess mode of every worker."""
    if multiprocess_dir() is None:
        return generate_latest(registry)
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged)
    return generate_latest(merged)


LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class ServingMetrics:
    """Requests, errors, latency, rows scored, the served model and the prediction log."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[str, str, int, str], tuple[Any, Any, Any]] = {}
        r = self.registry
        # by endpoint and by the model version serving when the request came in
        # ("none" before the first load)
        self.requests = Counter(
            "serving_requests",
            "HTTP requests",
            ["path", "method", "status", "model_version"],
            registry=r,
        )
        self.errors = Counter(
            "serving_request_errors",
            "responses with status >= 400",
            ["path", "status", "model_version"],
            registry=r,
        )
        self.latency = Histogram(
            "serving_request_duration_seconds",
            "time from request to response",
            ["path", "model_version"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.rows = Counter("serving_predictions", "rows scored", ["endpoint"], registry=r)
        self._rows: dict[str, Any] = {}
        self.model_version = Gauge(
            "serving_model_version",
            "served model version (0: none; with several workers the highest they serve)",
            ["name", "alias"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.scorer = Gauge(
            "serving_scorer",
            "1 for the served version's scorer (compiled, fast or pipeline) and compiled runtime",
            ["scorer", "runtime"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.compiled_fallback = Gauge(
            "serving_compiled_fallback",
            "1 while the served version cannot score through its compiled model, or its tree "
            "ensemble through native code (in any worker)",
            registry=r,
            multiprocess_mode="livemax",
        )
        self.worker = Gauge(
            "serving_worker_info",
            "one series per live worker process",
            ["pid"],
            registry=r,
            multiprocess_mode="liveall",
        )
        self.model_loads = Counter("serving_model_loads", "model versions swapped in", registry=r)
        self.model_errors = Counter(
            "serving_model_check_errors", "failed registry checks or loads", registry=r
        )
        self.log_written = Counter(
            "serving_prediction_log_rows_written", "rows uploaded to the log's bucket", registry=r
        )
        self.log_errors = Counter(
            "serving_prediction_log_write_errors", "failed upload rounds", registry=r
        )
        self.log_lost = Counter(
            "serving_prediction_log_rows_lost",
            "answered rows never logged (reason: spool_full, disk; undecodable counts records)",
            ["reason"],
            registry=r,
        )
        # every worker measures the whole spool folder: the largest is the latest
        self.spool_bytes = Gauge(
            "serving_prediction_log_spool_bytes",
            "bytes waiting in the local spool",
            registry=r,
            multiprocess_mode="livemax",
        )
        self.spool_max_bytes = Gauge(
            "serving_prediction_log_spool_max_bytes",
            "the spool's bound",
            registry=r,
            multiprocess_mode="livemax",
        )
        self.spool_syncs = Counter(
            "serving_prediction_log_spool_syncs",
            "fsyncs of the spool; fewer than requests under load (group commit)",
            registry=r,
        )
        self.spool_full = Gauge(
            "serving_prediction_log_spool_full",
            "1 while answered rows cannot be spooled",
            registry=r,
            multiprocess_mode="livemax",
        )

    def count_rows(self, endpoint: str, rows: int) -> None:
        """``rows`` scored on ``endpoint`` (one of the two scoring paths)."""
        child = self._rows.get(endpoint)
        if child is None:  # looking labels up costs more than counting
            child = self._rows[endpoint] = self.rows.labels(endpoint)
        child.inc(rows)

    def count_request(
        self, path: str, method: str, status: int, version: str, seconds: float
    ) -> None:
        """One answered request: counted by status (errors from 400 on) and timed."""
        key = (path, method, status, version)
        children = self._children.get(key)
        if children is None:  # looking labels up costs more than counting
            code = str(status)
            children = (
                self.requests.labels(path, method, code, version),
                self.errors.labels(path, code, version) if status >= 400 else None,
                self.latency.labels(path, version),
            )
            if len(self._children) < MAX_CACHED_LABELS:  # methods come from clients
                self._children[key] = children
        requests, errors, latency = children
        requests.inc()
        if errors is not None:
            errors.inc()
        latency.observe(seconds)


class MetricsMiddleware:
    """Pure ASGI middleware: counts and times requests of ``paths`` (others as ``other``),
    labelled with the model version ``version()`` names when the request came in."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: ServingMetrics,
        paths: Iterable[str],
        version: Callable[[], str] = lambda: "none",
    ) -> None:
        self.app, self.metrics, self.paths = app, metrics, frozenset(paths)
        self.version = version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count each HTTP request with its status and duration, by endpoint and model version."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        version = self.version()
        status = [500]

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            path = scope["path"] if scope["path"] in self.paths else "other"
            seconds = time.perf_counter() - began
            self.metrics.count_request(path, scope["method"], status[0], version, seconds)
