"""Alias moves under concurrent load (no failed request); settings from the environment."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn

from tests.conftest import free_port_base
from tests.workloads.serving.conftest import records
from workloads.serving.app import create_app
from workloads.serving.settings import ServingSettings


class ServerThread:
    """uvicorn serving ``app`` on a free loopback port, in a thread."""

    def __init__(self, app) -> None:
        self.port = free_port_base(
            start=int(os.environ.get("OPSCTL_TEST_PORT_START", "24000")), size=1
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/ready").status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError("the service did not become ready")

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def test_alias_switch_under_concurrent_load_fails_no_request(source, eval_inputs) -> None:
    app = create_app(ServingSettings(auth_required=False, refresh_s=0.05), source)
    rows = records(eval_inputs.head(5))
    seen: list[tuple[int, str]] = []
    stop = threading.Event()

    def hammer(url: str) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            while not stop.is_set():
                response = http.post("/predict", json={"opportunities": rows})
                version = response.json()["model"]["version"] if response.status_code == 200 else ""
                seen.append((response.status_code, version))

    with ServerThread(app) as url, ThreadPoolExecutor(4) as pool:
        workers = [pool.submit(hammer, url) for _ in range(4)]
        time.sleep(0.5)
        source.alias_version = "2"  # the alias moves to the logistic model
        deadline = time.monotonic() + 30
        while httpx.get(f"{url}/version").json()["model_version"] != "2":
            assert time.monotonic() < deadline, "the service did not follow the alias"
            time.sleep(0.02)
        time.sleep(0.5)
        stop.set()
        for worker in workers:
            worker.result()
    statuses = {status for status, _ in seen}
    versions = [version for _, version in seen]
    assert statuses == {200}, f"failed requests: {[s for s in seen if s[0] != 200][:5]}"
    assert {"1", "2"} <= set(versions)
    assert versions[-1] == "2"
    assert source.loads == ["1", "2"]


@pytest.mark.parametrize("variable", ["SERVING_MAX_BATCH_ROWS", "SERVING_REFRESH_S"])
def test_settings_name_a_bad_number(variable) -> None:
    with pytest.raises(ValueError, match=variable):
        ServingSettings.from_env({variable: "many"})


def test_settings_from_the_environment() -> None:
    settings = ServingSettings.from_env(
        {
            "SERVING_MODEL_ALIAS": "challenger",
            "SERVING_MAX_BATCH_ROWS": "5",
            "SERVING_API_KEY": "",
            "SERVING_AUTH_REQUIRED": "false",
        }
    )
    assert (settings.model_alias, settings.max_batch_rows, settings.api_key) == (
        "challenger",
        5,
        None,
    )
    assert settings.body_limit == 5 * 4096


def test_a_prediction_log_needs_a_spool_folder() -> None:
    with pytest.raises(ValueError, match="SERVING_SPOOL_DIR"):
        ServingSettings.from_env({"SERVING_PREDICTIONS_URL": "s3://predictions"})


@pytest.mark.parametrize("variable", ["SERVING_SPOOL_MAX_BYTES", "SERVING_STOP_TIMEOUT_S"])
def test_sizes_and_timeouts_must_be_positive(variable) -> None:
    with pytest.raises(ValueError, match=f"{variable}=.0.: Input should be greater than 0"):
        ServingSettings.from_env({variable: "0"})
