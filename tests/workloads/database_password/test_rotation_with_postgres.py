"""The whole rotation, with real processes and a PostgreSQL that checks passwords.

The entrypoint reads the password from a Secrets Manager answered in its
documented JSON protocol by a test server, and runs a probe that connects the
way MLflow (psycopg2) and Prefect server (asyncpg) do. Then the password is
rotated as RDS does it (the role's password changes, the secret gets a new
version): the watcher stops the service, and the entrypoint run again (as
Nomad restarts the task) connects with the new password. What Nomad itself
does on the task's exit is not shown here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from tests.conftest import REPO, free_port_base
from tests.workloads.database_password.scram_postgres import (
    ScramPostgres,
    scram_postgres,
    why_not_available,
)
from tests.workloads.database_password.test_secret_contract import ARN, secret_answer

PROBE = Path(__file__).with_name("pg_probe.py")
OK = {"psycopg2": "platform", "asyncpg": "platform"}

pytestmark = pytest.mark.skipif(why_not_available() is not None, reason=str(why_not_available()))


@pytest.fixture(scope="module")
def postgres() -> Iterator[ScramPostgres]:
    port = free_port_base(int(os.environ.get("OPSCTL_TEST_PORT_START", "20000")), size=1)
    with scram_postgres(port) as server:
        server.execute("CREATE ROLE platform LOGIN PASSWORD 'first:pass\\word'")
        server.execute("CREATE DATABASE mlflow OWNER platform")
        yield server


def records(out: Path) -> list[dict]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def wait_for(predicate, what: str, process: subprocess.Popen, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            _out, err = process.communicate(timeout=10)
            pytest.fail(f"no {what} (exit {process.returncode}); stderr:\n{err[-3000:]}")
        time.sleep(0.1)


def start(command: list[str], server: HTTPServer, tmp_path: Path) -> subprocess.Popen:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": server.url_for("/"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)


def test_a_rotated_password_restarts_the_service_with_the_new_one(
    postgres: ScramPostgres, httpserver: HTTPServer, tmp_path: Path
) -> None:
    current = {"version": "v1", "password": "first:pass\\word"}
    httpserver.expect_request("/", method="POST").respond_with_handler(
        lambda _r: Response(json.dumps(secret_answer(current["version"], current["password"])))
    )
    entrypoint = [
        sys.executable, "-m", "workloads.database_password", "--secret-arn", ARN,
        "--check-every-s", "0.5", "--stop-grace-s", "5", "--",
        sys.executable, str(PROBE), str(postgres.port),
    ]  # fmt: skip

    # without the entrypoint the server refuses: the password really is checked
    bare = tmp_path / "bare.jsonl"
    probe = start([sys.executable, str(PROBE), str(postgres.port), str(bare)], httpserver, tmp_path)
    wait_for(lambda: records(bare), "the bare probe", probe)
    probe.terminate()
    probe.wait(timeout=10)
    assert records(bare)[0]["psycopg2"].startswith("error")
    assert records(bare)[0]["asyncpg"].startswith("error")

    first = tmp_path / "first.jsonl"
    service = start([*entrypoint, str(first)], httpserver, tmp_path)
    wait_for(
        lambda: any(r.get("psycopg2") == "platform" for r in records(first)), "connection", service
    )
    assert {k: records(first)[0][k] for k in OK} == OK
    assert records(first)[0]["pid"] == service.pid  # the service replaced the entrypoint

    # RDS rotates: the role's password changes, then the secret's current version
    postgres.execute("ALTER ROLE platform PASSWORD 'second@pass%word'")
    current.update(version="v2", password="second@pass%word")

    service.wait(timeout=20)  # the watcher stopped it
    assert records(first)[-1] == {"terminated": True}  # gracefully, by SIGTERM
    assert "RDS rotated it (secret version v1 -> v2)" in (
        service.stderr.read() if service.stderr else ""
    )

    # Nomad restarts the task: the entrypoint reads the new password
    second = tmp_path / "second.jsonl"
    again = start([*entrypoint, str(second)], httpserver, tmp_path)
    try:
        wait_for(lambda: records(second), "restarted service", again)
        assert {k: records(second)[0][k] for k in OK} == OK
    finally:
        again.terminate()
        again.wait(timeout=10)


def test_an_unreadable_secret_fails_the_start(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/", method="POST").respond_with_data(
        json.dumps({"__type": "AccessDeniedException", "message": "no"}),
        status=400,
        content_type="application/x-amz-json-1.1",
    )
    command = [
        sys.executable, "-m", "workloads.database_password", "--secret-arn", ARN, "--",
        sys.executable, "-c", "print('started')",
    ]  # fmt: skip

    result = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=60,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path),
             "AWS_ENDPOINT_URL_SECRETS_MANAGER": httpserver.url_for("/"),
             "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t",
             "AWS_EC2_METADATA_DISABLED": "true"},
    )  # fmt: skip

    assert result.returncode == 1
    assert "started" not in result.stdout
    assert "AccessDeniedException" in result.stderr and ARN in result.stderr
