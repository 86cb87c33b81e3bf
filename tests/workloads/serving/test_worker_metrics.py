"""With two worker processes, ``/metrics`` from either counts every request both
answered (prometheus_client's multiprocess mode), not only its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import joblib
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REPO, free_port_base
from tests.workloads.serving.conftest import records
from workloads.serving.spool import read_segment

PORT_START = int(os.environ.get("OPSCTL_TEST_PORT_START", "20000"))
API_KEY = "worker-metrics-key"


@pytest.fixture
def two_workers(trained, tmp_path):
    """The service (``serve_file``) with two workers and a file prediction log; its URL."""
    model = tmp_path / "model.joblib"
    joblib.dump(trained["logistic"].pipeline, model)
    port = free_port_base(PORT_START + 140, size=1)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1",
           "SERVING_PREDICTIONS_URL": (tmp_path / "log").as_uri(),
           "SERVING_SPOOL_DIR": str(tmp_path / "spool"), "SERVING_LOG_FLUSH_S": "3600",
           "SERVING_API_KEY": API_KEY, "SERVING_WORKERS": "2",
           "SERVING_METRICS_DIR": str(tmp_path / "metrics")}  # fmt: skip
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_1.db").write_bytes(b"left by an earlier run")
    command = [sys.executable, "-m", "tests.workloads.serving.serve_file", str(model),
               "--port", str(port), "--log-level", "warning"]  # fmt: skip
    log = tmp_path / "service.log"
    process = subprocess.Popen(command, env=env, cwd=REPO, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240  # two workers import and load on a busy machine
        while not _ready(url):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        yield url, tmp_path / "spool"
        process.send_signal(signal.SIGTERM)
        assert process.wait(40) in (0, -signal.SIGTERM), log.read_text()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _answered_by(spool: Path) -> Counter[str]:
    """Spooled requests by the pid of the worker that answered them (each worker
    writes its own segments, ``<stamp>-<pid>-<token>-<seq>``)."""
    counts: Counter[str] = Counter()
    for path in spool.iterdir():
        if path.suffix in (".open", ".ready"):
            counts[path.name.split("-")[1]] += len(read_segment(path)[0])
    return counts


def _metric(text: str, name: str, **labels: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def test_metrics_of_either_worker_count_the_requests_of_both(two_workers, eval_inputs) -> None:
    url, spool = two_workers
    body = {"opportunities": records(eval_inputs.dropna().head(1))}

    def one(_i: int) -> int:  # a connection of its own: either worker may take it
        return httpx.post(f"{url}/predict", json=body, headers={"X-API-Key": API_KEY}).status_code

    sent = 0
    with ThreadPoolExecutor(8) as pool:
        while len(_answered_by(spool)) < 2 and sent < 800:
            assert set(pool.map(one, range(16))) == {200}
            sent += 16
    answered = _answered_by(spool)
    assert len(answered) == 2 and sum(answered.values()) == sent, answered
    # each worker answered fewer than all: a count of all proves the sum
    for _ in range(6):
        text = httpx.get(f"{url}/metrics").text
        assert _metric(text, "serving_requests_total", path="/predict", status="200") == sent
        assert _metric(text, "serving_predictions_total", endpoint="/predict") == sent
        workers = {s.labels["pid"] for f in text_string_to_metric_families(text)
                   for s in f.samples if s.name == "serving_worker_info"}  # fmt: skip
        assert workers == set(answered), text
