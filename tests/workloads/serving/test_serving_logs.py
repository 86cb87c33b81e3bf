"""The service's log under uvicorn: one line per event, each with its request id."""

from __future__ import annotations

import io
import logging
import re
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from tests.conftest import free_port_base
from tests.workloads.serving.conftest import records
from workloads.serving.app import create_app
from workloads.serving.logs import OneLineFormatter, configure
from workloads.serving.settings import ServingSettings

REQUEST_ID = re.compile(r" request_id=(\S+) ")


@pytest.fixture
def log_stream(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What the service writes to stderr once :func:`configure` has run."""
    loggers = [logging.getLogger(n) for n in ("", "uvicorn", "uvicorn.error", "uvicorn.access")]
    saved = [(lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    configure("info")
    yield stream
    logging.captureWarnings(False)
    for lg, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        lg.handlers, lg.level, lg.propagate = handlers, level, propagate


def serve(app, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    """The app under uvicorn, configured as ``python -m workloads.serving`` runs it."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info",
                            log_config=None, access_log=False)  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                return server, thread
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the service never became ready"
        time.sleep(0.1)


def test_every_line_has_the_request_id_and_a_traceback_stays_on_its_line(
    source, eval_inputs, log_stream: io.StringIO
) -> None:
    app = create_app(ServingSettings(auth_required=False), source)

    @app.get("/fails")
    async def fails() -> None:
        logging.getLogger("workloads.serving.routes").warning("about to fail")
        raise RuntimeError("boom\nsecond line of the message")

    port = free_port_base(start=27100, size=1)
    server, thread = serve(app, port)
    try:
        predicted = httpx.post(f"http://127.0.0.1:{port}/predict",
                               json={"opportunities": records(eval_inputs.head(2))})  # fmt: skip
        failed = httpx.get(f"http://127.0.0.1:{port}/fails")
    finally:
        server.should_exit = True
        thread.join(timeout=30)

    assert predicted.status_code == 200 and failed.status_code == 500
    lines = log_stream.getvalue().splitlines()
    assert lines and all(REQUEST_ID.search(line) for line in lines), lines
    loaded = next(line for line in lines if "serving crm-win-probability version 1" in line)
    assert " request_id=- " in loaded  # the refresher works outside any request
    about, error = (
        next(line for line in lines if marker in line)
        for marker in ("about to fail", "Exception in ASGI application")
    )
    ids = {REQUEST_ID.search(line).group(1) for line in (about, error)}  # type: ignore[union-attr]
    assert len(ids) == 1 and re.fullmatch(r"[0-9a-f]{32}", ids.pop())
    assert "Traceback" in error and "RuntimeError: boom\\nsecond line of the message" in error
    assert predicted.headers["X-Request-ID"] != REQUEST_ID.search(about).group(1)  # type: ignore[union-attr]


def test_one_line_formatter_escapes_line_breaks() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "a\nb\r", None, None)
    record.request_id = "-"
    assert OneLineFormatter("%(message)s").format(record) == "a\\nb\\r"


def test_a_scoring_request_that_fails_unexpectedly_gets_500_and_one_logged_traceback(
    source, eval_inputs, log_stream
) -> None:
    app = create_app(ServingSettings(auth_required=False), source)
    port = free_port_base(start=27110, size=1)
    server, thread = serve(app, port)
    try:
        scorer = app.state.service.holder.current.scorer

        def broken(*_args: object) -> None:
            raise RuntimeError("scorer broke")

        scorer.predict = broken
        failed = httpx.post(f"http://127.0.0.1:{port}/predict",
                            json={"opportunities": records(eval_inputs.head(1))})  # fmt: skip
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        server.should_exit = True
        thread.join(timeout=30)

    assert failed.status_code == 500 and failed.text == "Internal Server Error"
    errors = [line for line in log_stream.getvalue().splitlines() if "scorer broke" in line]
    assert len(errors) == 1 and "Traceback" in errors[0], errors
    assert re.fullmatch(r"[0-9a-f]{32}", REQUEST_ID.search(errors[0]).group(1))  # type: ignore[union-attr]
    assert re.search(r'serving_requests_total\{[^}]*path="/predict"[^}]*status="500"', metrics)
