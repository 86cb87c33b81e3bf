"""A fail-fast write (the prediction log's uploads) makes one attempt and raises, so the
caller's own retry loop, not the SDK's, decides when to try again and what to report."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import s3fs

from ml import storage


class _Failing(BaseHTTPRequestHandler):
    """An S3 endpoint that answers every request 500 and counts the attempts."""

    protocol_version = "HTTP/1.1"  # answers "Expect: 100-continue" as S3 does
    attempts: ClassVar[list[str]] = []

    def _fail(self) -> None:
        self.attempts.append(self.command)
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = b"<Error><Code>InternalError</Code><Message>down</Message></Error>"
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_PUT = do_GET = do_HEAD = do_POST = _fail

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def failing_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    _Failing.attempts = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # only this test's settings: a profile, token or retry setting another test left in the
    # environment would change what the SDK does (or stop it before it sends anything)
    for name in [n for n in os.environ if n.startswith(("AWS_", "MLFLOW_S3_"))]:
        monkeypatch.delenv(name)
    s3fs.S3FileSystem.clear_instance_cache()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    try:
        yield _Failing.attempts
    finally:
        server.shutdown()


def test_a_fail_fast_write_makes_one_attempt(failing_s3: list[str]) -> None:
    with pytest.raises(Exception):  # noqa: B017 - the SDK's error type varies with the failure
        storage.write_bytes("s3://logs/date=2026-01-01/part.parquet", b"rows", fail_fast=True)
    assert failing_s3 == ["PUT"]


def test_fail_fast_options_are_separate_from_the_default_ones() -> None:
    default = storage.storage_options("s3://logs/x")
    fast = storage.storage_options("s3://logs/x", fail_fast=True)
    assert fast["config_kwargs"]["retries"]["total_max_attempts"] == 1
    assert "retries" not in default.get("config_kwargs", {})
    assert storage.storage_options("file:///tmp/x", fail_fast=True) == {}
