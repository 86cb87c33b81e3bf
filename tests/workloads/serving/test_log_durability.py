"""No answered prediction is lost, none is logged twice, on real SeaweedFS S3:

- N answered requests, ``kill -9`` of the service process, restart: every one of
  the N request ids is in the bucket, each row exactly once;
- storage down during traffic, then back: every answered row arrives once;
- a graceful stop (SIGTERM) uploads what the spool holds and exits in time;
- two worker processes, one killed mid-way: every answered row once.
"""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import joblib
import pandas as pd
import psutil
import pytest
from fastapi.testclient import TestClient

from tests.conftest import REPO, free_port_base
from tests.workloads.serving.conftest import records
from tests.workloads.serving.seaweed import SeaweedS3
from tests.workloads.serving.test_serving_api import wait_ready
from workloads.serving.app import create_app
from workloads.serving.settings import ServingSettings

pytestmark = pytest.mark.integration
BUCKET = "prediction-logs"
PORT_START = int(os.environ.get("OPSCTL_TEST_PORT_START", "20000"))


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    storage = SeaweedS3(tmp_path_factory.mktemp("seaweed"), free_port_base(PORT_START, size=10))
    storage.start()
    storage.client().create_bucket(Bucket=BUCKET)
    yield storage
    storage.stop()


@pytest.fixture
def bucket(s3):
    """An empty bucket for each test."""
    client = s3.client()
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    return client


def logged(client) -> pd.DataFrame:
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert all(k.startswith("date=") and "/hour=" in k for k in keys), keys
    frames = [pd.read_parquet(io.BytesIO(client.get_object(Bucket=BUCKET, Key=k)["Body"].read()))
              for k in keys]  # fmt: skip
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def wait_for_rows(client, count: int, timeout: float = 90) -> pd.DataFrame:
    deadline = time.monotonic() + timeout
    while True:
        frame = logged(client)
        if len(frame) >= count or time.monotonic() > deadline:
            return frame
        time.sleep(0.5)


def assert_each_row_once(frame: pd.DataFrame, answered: dict[str, int]) -> None:
    """``answered``: request id -> rows sent."""
    assert not frame.duplicated(["request_id", "opportunity_id"]).any(), "a row was logged twice"
    assert frame.groupby("request_id").size().to_dict() == answered


API_KEY = "durability-test-key"
KEY_HEADER = {"X-API-Key": API_KEY}
"""The service as it runs everywhere: it starts only with its key."""


def send(url: str, rows: list[dict], count: int) -> dict[str, int]:
    """``count`` requests from 4 threads, /predict and /invocations in turn, 1 to 5
    rows each; the request ids of those answered 200, with their row counts."""

    def one(i: int) -> tuple[str, int] | None:
        batch = rows[i % 7 : i % 7 + 1 + i % 5]
        path, body = ("/predict", {"opportunities": batch}) if i % 2 else (
            "/invocations", {"dataframe_records": batch})  # fmt: skip
        response = httpx.post(f"{url}{path}", json=body, timeout=30, headers=KEY_HEADER)
        return (
            (response.headers["X-Request-ID"], len(batch)) if response.status_code == 200 else None
        )

    with ThreadPoolExecutor(4) as pool:
        answers = [a for a in pool.map(one, range(count)) if a is not None]
    return dict(answers)


class ServiceProcess:
    """``python -m tests.workloads.serving.serve_file``: the service as a process."""

    def __init__(self, model: Path, env: dict[str, str], port: int, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "tests.workloads.serving.serve_file", str(model),
                   "--port", str(port), "--log-level", "info"]  # fmt: skip
        self.process = subprocess.Popen(
            command, env=env, cwd=REPO, stdout=log.open("ab"), stderr=subprocess.STDOUT
        )
        self.log = log
        STARTED.append(self.process)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the service did not become ready: {log.read_text()[-3000:]}")


STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_service_outlives_its_test():
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
def service_env(s3, tmp_path, trained) -> tuple[Path, dict[str, str]]:
    model = tmp_path / "model.joblib"
    joblib.dump(trained["boosting"].pipeline, model)
    env = {**os.environ, **s3.env(), "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1",
           "SERVING_PREDICTIONS_URL": f"s3://{BUCKET}", "SERVING_SPOOL_DIR": str(tmp_path / "spool"),
           "SERVING_LOG_FLUSH_S": "3600", "SERVING_STOP_TIMEOUT_S": "20",
           "SERVING_API_KEY": API_KEY, "SERVING_WORKERS": "1"}  # fmt: skip
    return model, env


def test_kill_9_then_restart_logs_every_answered_request_once(
    bucket, service_env, eval_inputs, tmp_path
) -> None:
    model, env = service_env
    port = free_port_base(PORT_START + 100, size=1)
    rows = records(eval_inputs.head(12))
    first = ServiceProcess(model, env, port, tmp_path / "first.log")
    answered = send(first.url, rows, 60)
    assert len(answered) == 60
    assert logged(bucket).empty  # nothing uploaded yet: only the spool holds them
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()

    second = ServiceProcess(model, env, port, tmp_path / "second.log")
    frame = wait_for_rows(bucket, sum(answered.values()))
    assert_each_row_once(frame, answered)
    assert set(frame["model_version"]) == {"1"}

    more = send(second.url, rows, 10)
    second.process.send_signal(signal.SIGTERM)  # a graceful stop uploads the rest
    began = time.monotonic()
    # uvicorn re-raises the signal it handled once its graceful shutdown is done
    assert second.process.wait(30) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in second.log.read_text()
    assert time.monotonic() - began < 20, "the stop took longer than SERVING_STOP_TIMEOUT_S"
    assert_each_row_once(logged(bucket), {**answered, **more})
    assert not [p for p in (tmp_path / "spool").iterdir() if p.suffix in (".open", ".ready")]


def _upload_history(caplog: pytest.LogCaptureFixture) -> str:
    """What the prediction log said of its uploads, for a failure's message."""
    return "\n".join(
        f"{r.created:.1f} {r.getMessage()[:300]}"
        for r in caplog.records
        if r.name.endswith("predlog")
    )


def test_storage_down_then_back_loses_and_duplicates_nothing(
    s3, bucket, source, eval_inputs, tmp_path, monkeypatch, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="workloads.serving.predlog")
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    settings = ServingSettings(auth_required=False, predictions_url=f"s3://{BUCKET}", spool_dir=str(tmp_path / "spool"),
                               log_flush_s=0.3)  # fmt: skip
    rows = records(eval_inputs.head(12))
    answered: dict[str, int] = {}

    def post(client: TestClient, i: int) -> None:
        batch = rows[i % 7 : i % 7 + 1 + i % 5]
        response = client.post("/predict", json={"opportunities": batch})
        assert response.status_code == 200
        answered[response.json()["request_id"]] = len(batch)

    with TestClient(create_app(settings, source)) as client:
        wait_ready(client)
        for i in range(15):
            post(client, i)
        wait_for_rows(bucket, sum(answered.values()))
        s3.stop()
        try:
            for i in range(15, 40):
                post(client, i)  # answered while storage is down
            deadline = time.monotonic() + 60
            while client.get("/ready").json()["prediction_log"]["state"] != "behind":
                assert time.monotonic() < deadline, "failed uploads were not reported"
                time.sleep(0.2)
            assert "serving_prediction_log_write_errors_total" in client.get("/metrics").text
        finally:
            s3.start()
        frame = wait_for_rows(bucket, sum(answered.values()), timeout=120)
        # the round that uploaded the last rows clears the failure state when it ends,
        # a moment after the rows are visible in the bucket (each upload fails fast, so
        # a round ends within the client's read timeout)
        deadline = time.monotonic() + 60
        while client.get("/ready").json()["prediction_log"]["state"] != "ok":
            assert time.monotonic() < deadline, (
                f"the log stayed behind after storage came back:\n{_upload_history(caplog)}"
                f"\nweed's log:\n{s3.log_tail()}"
            )
            time.sleep(0.2)
    assert len(answered) == 40
    assert_each_row_once(frame, answered)
    assert_each_row_once(logged(bucket), answered)


def test_two_workers_share_the_spool_and_log_each_row_once(
    bucket, service_env, eval_inputs, tmp_path
) -> None:
    """Two uvicorn workers answer and spool; one is killed with ``kill -9`` mid-way (its
    segments are uploaded by the other); a graceful stop uploads the rest: every
    answered row once, from both workers' segments."""
    model, env = service_env
    port = free_port_base(PORT_START + 120, size=1)
    rows = records(eval_inputs.head(12))
    service = ServiceProcess(model, {**env, "SERVING_WORKERS": "2"}, port, tmp_path / "w.log")
    workers = psutil.Process(service.process.pid).children()
    workers = [w for w in workers if "spawn_main" in " ".join(w.cmdline())]
    assert len(workers) == 2, [w.cmdline() for w in workers]
    answered = send(service.url, rows, 40)
    workers[0].send_signal(signal.SIGKILL)
    answered.update(send(service.url, rows, 20))  # the other worker (and its replacement)
    assert len(answered) == 60
    service.process.send_signal(signal.SIGTERM)
    assert service.process.wait(40) in (0, -signal.SIGTERM)
    frame = logged(bucket)
    assert_each_row_once(frame, answered)
    pids = {o["Key"].rsplit("/", 1)[1].split("-")[1] for o in
            bucket.list_objects_v2(Bucket=BUCKET).get("Contents", [])}  # fmt: skip
    assert {str(w.pid) for w in workers} <= pids, "both workers (one killed) wrote segments"
    assert not [p for p in (tmp_path / "spool").iterdir() if p.suffix in (".open", ".ready")]
