"""Alias moves under concurrent load (no failed request), and the prediction log
after a normal stop (every prediction written, partitioned by date and hour)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd
import pytest
import uvicorn
from fastapi.testclient import TestClient

from tests.conftest import free_port_base
from tests.workloads.serving.conftest import records
from tests.workloads.serving.test_serving_api import wait_ready
from workloads.serving.app import create_app
from workloads.serving.predlog import PredictionLog
from workloads.serving.settings import ServingSettings


class ServerThread:
    """uvicorn serving ``app`` on a free loopback port, in a thread."""

    def __init__(self, app) -> None:
        self.port = free_port_base(start=24000, size=1)
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
    app = create_app(ServingSettings(refresh_s=0.05), source)
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


def read_log(folder: Path) -> pd.DataFrame:
    files = sorted(folder.rglob("*.parquet"))
    return (
        pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        if files
        else pd.DataFrame()
    )


def test_every_prediction_is_logged_by_a_normal_stop(source, eval_inputs, tmp_path) -> None:
    url = (tmp_path / "predictions").as_uri()
    settings = ServingSettings(predictions_url=url, log_flush_rows=10**6, log_flush_s=3600)
    batches = [records(eval_inputs.iloc[i : i + 7]) for i in range(0, 70, 7)]
    ids = []
    with TestClient(create_app(settings, source)) as client:
        wait_ready(client)
        for batch in batches:
            ids.append(client.post("/predict", json={"opportunities": batch}).json()["request_id"])
        client.post("/invocations", json={"dataframe_records": batches[0]})
        assert not list((tmp_path / "predictions").rglob("*.parquet"))  # nothing flushed yet
    logged = read_log(tmp_path / "predictions")
    assert len(logged) == 77
    assert set(ids) <= set(logged["request_id"])
    assert logged["endpoint"].value_counts().to_dict() == {"/predict": 70, "/invocations": 7}
    assert set(logged["model_version"]) == {"1"} and set(logged["model_name"]) == {
        "crm-win-probability"
    }
    expected = {*eval_inputs["opportunity_id"].iloc[:70]}
    assert set(logged["opportunity_id"]) == expected
    assert logged["win_probability"].between(0, 1).all()
    for column in (
        "sales_agent",
        "product",
        "account",
        "deal_stage",
        "engage_date",
        "as_of_date",
        "predicted_at",
    ):
        assert column in logged.columns
    [partition] = {
        p.parent.relative_to(tmp_path / "predictions")
        for p in (tmp_path / "predictions").rglob("*.parquet")
    }
    day, hour = partition.parts
    now = pd.Timestamp.now(tz="UTC")
    assert day.startswith("date=") and hour.startswith("hour=")
    assert pd.Timestamp(day.removeprefix("date=")).date() <= now.date()


def test_the_log_flushes_at_its_size_threshold(source, eval_inputs, tmp_path) -> None:
    url = (tmp_path / "predictions").as_uri()
    settings = ServingSettings(predictions_url=url, log_flush_rows=10, log_flush_s=3600)
    with TestClient(create_app(settings, source)) as client:
        wait_ready(client)
        client.post("/predict", json={"opportunities": records(eval_inputs.head(12))})
        deadline = time.monotonic() + 10
        while not list((tmp_path / "predictions").rglob("*.parquet")):
            assert time.monotonic() < deadline, "the size threshold did not trigger a write"
            time.sleep(0.05)
        assert "serving_prediction_log_rows_written_total 12.0" in client.get("/metrics").text


def test_a_failed_write_keeps_the_rows_for_the_next_attempt(source, eval_inputs, tmp_path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the log folder should be")
    log = PredictionLog(blocker.as_uri(), flush_rows=10**6, flush_s=3600)
    with TestClient(create_app(ServingSettings(), source, log=log)) as client:
        wait_ready(client)
        client.post("/predict", json={"opportunities": records(eval_inputs.head(4))})
        assert log.flush() == 0
        assert log.buffered_rows == 4
        blocker.unlink()
        assert log.flush() == 4
    assert len(read_log(blocker)) == 4


@pytest.mark.parametrize("variable", ["SERVING_MAX_BATCH_ROWS", "SERVING_REFRESH_S"])
def test_settings_name_a_bad_number(variable) -> None:
    with pytest.raises(ValueError, match=variable):
        ServingSettings.from_env({variable: "many"})


def test_settings_from_the_environment() -> None:
    settings = ServingSettings.from_env(
        {"SERVING_MODEL_ALIAS": "challenger", "SERVING_MAX_BATCH_ROWS": "5", "SERVING_API_KEY": ""}
    )
    assert (settings.model_alias, settings.max_batch_rows, settings.api_key) == (
        "challenger",
        5,
        None,
    )
