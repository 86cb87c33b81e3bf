"""The prediction log on a local folder: every answered row reaches the bucket
once, partitioned by day and hour in the schema monitoring reads; uploads that
fail or are retried never lose or duplicate a row; a full spool is reported
and still answered."""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from tests.workloads.serving.conftest import records
from tests.workloads.serving.test_serving_api import wait_ready
from workloads.monitoring.logs import read_predictions
from workloads.serving.app import create_app
from workloads.serving.predlog import SCHEMA, LoggedBatch, PredictionLog
from workloads.serving.schemas import Opportunity
from workloads.serving.settings import ServingSettings


def read_log(folder: Path) -> pd.DataFrame:
    files = sorted(folder.rglob("*.parquet"))
    return (
        pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        if files
        else pd.DataFrame()
    )


def settings_for(tmp_path: Path, **changes) -> ServingSettings:
    return ServingSettings(
        auth_required=False,
        predictions_url=(tmp_path / "predictions").as_uri(),
        spool_dir=str(tmp_path / "spool"),
        **changes,
    )


def segments(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "spool"
    return sorted([*folder.glob("*.open"), *folder.glob("*.ready")])


def test_every_prediction_is_logged_by_a_normal_stop(source, eval_inputs, tmp_path) -> None:
    settings = settings_for(tmp_path, log_flush_s=3600)
    batches = [records(eval_inputs.iloc[i : i + 7]) for i in range(0, 70, 7)]
    ids = []
    with TestClient(create_app(settings, source)) as client:
        wait_ready(client)
        for batch in batches:
            ids.append(client.post("/predict", json={"opportunities": batch}).json()["request_id"])
        client.post("/invocations", json={"dataframe_records": batches[0]})
        assert not list((tmp_path / "predictions").rglob("*.parquet"))  # nothing uploaded yet
        assert len(segments(tmp_path)) == 1  # ... but all of it on disk
    assert segments(tmp_path) == []
    logged = read_log(tmp_path / "predictions")
    assert len(logged) == 77
    assert set(ids) <= set(logged["request_id"])
    assert logged["endpoint"].value_counts().to_dict() == {"/predict": 70, "/invocations": 7}
    assert set(logged["model_version"]) == {"1"}
    assert set(logged["model_name"]) == {"crm-win-probability"}
    assert set(logged["opportunity_id"]) == {*eval_inputs["opportunity_id"].iloc[:70]}
    assert logged["win_probability"].between(0, 1).all()
    [file] = (tmp_path / "predictions").rglob("*.parquet")
    assert pq.read_schema(file).remove_metadata() == SCHEMA
    day, hour = file.parent.relative_to(tmp_path / "predictions").parts
    assert day.startswith("date=") and hour.startswith("hour=")
    assert pd.Timestamp(day.removeprefix("date=")).date() <= pd.Timestamp.now(tz="UTC").date()


def test_monitoring_reads_the_log(source, eval_inputs, tmp_path) -> None:
    rows = records(eval_inputs.head(5))
    rows[0] = {**rows[0], "account": None, "engage_date": None, "deal_stage": "Prospecting"}
    with TestClient(create_app(settings_for(tmp_path), source)) as client:
        wait_ready(client)
        expected = client.post("/predict", json={"opportunities": rows}).json()["predictions"]
    month = datetime.now(UTC).strftime("%Y-%m")
    frame = read_predictions((tmp_path / "predictions").as_uri(), [month])
    assert list(frame["opportunity_id"]) == [r["opportunity_id"] for r in rows]
    assert list(frame["win_probability"]) == [p["win_probability"] for p in expected]
    assert pd.isna(frame["engage_date"].iloc[0]) and frame["account"].iloc[0] is None
    assert frame["as_of_date"].iloc[1] == pd.Timestamp(rows[1]["as_of_date"])


def test_the_log_is_uploaded_every_flush_interval(source, eval_inputs, tmp_path) -> None:
    with TestClient(create_app(settings_for(tmp_path, log_flush_s=0.2), source)) as client:
        wait_ready(client)
        client.post("/predict", json={"opportunities": records(eval_inputs.head(12))})
        deadline = time.monotonic() + 10
        written = "serving_prediction_log_rows_written_total 12.0"
        while written not in client.get("/metrics").text:  # counted once the upload is done
            assert time.monotonic() < deadline, "the spool was not uploaded"
            time.sleep(0.05)
        assert len(read_log(tmp_path / "predictions")) == 12
        assert segments(tmp_path) == []


def batch(request_id: str, at: datetime, rows: int = 3) -> LoggedBatch:
    opportunities = [
        Opportunity(
            opportunity_id=f"{request_id}-{i}",
            sales_agent="A",
            product="P",
            deal_stage="Engaging",
            engage_date=date(2017, 1, 2),
        )
        for i in range(rows)
    ]
    return LoggedBatch(request_id, at, "/predict", "m", "1", opportunities,
                       [date(2017, 2, 1)] * rows, np.linspace(0.1, 0.3, rows))  # fmt: skip


def test_a_half_failed_upload_retried_writes_every_row_once(tmp_path) -> None:
    target = tmp_path / "predictions"
    log = PredictionLog(target.as_uri(), tmp_path / "spool", flush_s=3600)
    log.spool.open()  # no uploader thread: this test uploads by hand
    try:
        assert log.record_sync(batch("ten", datetime(2024, 5, 1, 10, 59, tzinfo=UTC)))
        assert log.record_sync(batch("eleven", datetime(2024, 5, 1, 11, 0, tzinfo=UTC)))
        log.spool.seal()
        blocker = target / "date=2024-05-01" / "hour=11"
        blocker.parent.mkdir(parents=True)
        blocker.write_text("a file where the second partition's folder must go")
        with pytest.raises(OSError):
            log.upload()  # hour 10 written, hour 11 failed
        assert len(read_log(target)) == 3 and len(segments(tmp_path)) == 1
        blocker.unlink()
        assert log.upload() == 6
    finally:
        log.spool.close()
    logged = read_log(target)
    assert sorted(logged["opportunity_id"]) == sorted(
        [f"ten-{i}" for i in range(3)] + [f"eleven-{i}" for i in range(3)]
    )
    assert segments(tmp_path) == []


def test_an_upload_repeated_after_a_crash_before_delete_adds_no_row(tmp_path) -> None:
    target = tmp_path / "predictions"
    log = PredictionLog(target.as_uri(), tmp_path / "spool", flush_s=3600)
    log.spool.open()
    try:
        log.record_sync(batch("r", datetime.now(UTC)))
        log.spool.seal()
        [segment] = log.spool.ready()
        kept = segment.read_bytes()
        assert log.upload() == 3
        segment.write_bytes(kept)  # as if the process died between upload and delete
        assert log.upload() == 3
    finally:
        log.spool.close()
    assert len(read_log(target)) == 3


def test_a_full_spool_still_answers_and_says_so(source, eval_inputs, tmp_path, caplog) -> None:
    settings = settings_for(tmp_path, spool_max_bytes=4000, log_flush_s=3600)
    rows = records(eval_inputs.head(5))
    with TestClient(create_app(settings, source)) as client, caplog.at_level(logging.ERROR):
        wait_ready(client)
        statuses = [
            client.post("/predict", json={"opportunities": rows}).status_code for _ in range(6)
        ]
        ready = client.get("/ready").json()
        metrics = client.get("/metrics").text
    assert statuses == [200] * 6
    assert ready["status"] == "ready"
    assert ready["prediction_log"]["state"] == "full"
    lost = ready["prediction_log"]["rows_lost"]
    assert lost > 0 and lost % 5 == 0
    assert f'serving_prediction_log_rows_lost_total{{reason="spool_full"}} {float(lost)}' in metrics
    assert "serving_prediction_log_spool_full 1.0" in metrics
    assert "answered rows NOT logged (spool_full" in caplog.text
    assert len(read_log(tmp_path / "predictions")) == 30 - lost


def test_ready_reports_the_log(source, tmp_path) -> None:
    with TestClient(create_app(settings_for(tmp_path), source)) as client:
        wait_ready(client)
        log = client.get("/ready").json()["prediction_log"]
    assert log == {"state": "ok", "spool_bytes": 0, "spool_max_bytes": 256 << 20, "rows_lost": 0}
    with TestClient(create_app(ServingSettings(auth_required=False), source)) as client:
        wait_ready(client)
        assert client.get("/ready").json()["prediction_log"] == {"state": "off"}


def test_a_record_that_does_not_decode_is_counted_and_the_rest_uploaded(tmp_path) -> None:
    from workloads.serving.predlog import LogCounters, encode
    from workloads.serving.spool import frame

    lost = []
    target = tmp_path / "predictions"
    log = PredictionLog(target.as_uri(), tmp_path / "spool",
                        counters=LogCounters(on_lost=lambda n, why: lost.append((n, why))))  # fmt: skip
    (tmp_path / "spool").mkdir()
    good = [encode(batch(name, datetime.now(UTC))) for name in ("a", "b")]
    segment = tmp_path / "spool" / "20240101T000000-1-deadbeef-000001.ready"
    segment.write_bytes(frame(good[0]) + frame(b'{"not": "a batch"}') + frame(good[1]))
    log.spool.open()
    try:
        assert log.upload() == 6
    finally:
        log.spool.close()
    assert lost == [(1, "undecodable")]
    assert sorted(read_log(target)["request_id"].unique()) == ["a", "b"]
    assert segments(tmp_path) == []


def test_a_value_of_the_wrong_type_leaves_out_only_its_record() -> None:
    from workloads.serving.predlog import encode, to_tables

    good = encode(batch("g", datetime(2024, 5, 1, 10, tzinfo=UTC)))
    wrong = good.replace(b'"win_probability":[0.1', b'"win_probability":["high"')
    assert wrong != good
    tables, bad = to_tables([good, wrong, good])
    assert bad == 1
    [table] = tables.values()
    assert table.num_rows == 6 and table.schema == SCHEMA
