"""The prediction log: every answered row, spooled on local disk before the answer
is sent, then written to object storage as parquet.

Layout: ``<url>/date=YYYY-MM-DD/hour=HH/<segment>.parquet`` (UTC, by the time of
the request), with the columns of :data:`SCHEMA`: one per input field plus
``request_id``, ``predicted_at``, ``model_name``, ``model_version``,
``endpoint`` and ``win_probability``.

Each answered batch is written to the spool (:mod:`workloads.serving.spool`)
before the response goes out (and synced to disk within a second, or before
the response with the spool's ``always`` policy). A background thread seals the
open segment every ``flush_s`` seconds and uploads sealed segments; an object's
name is its segment's name, so an upload retried after a failure (or after a
crash between upload and delete) replaces the same objects with the same rows
and never duplicates one. A segment is deleted only after every one of its
objects was written; on start the segments of dead processes are uploaded too.

When the spool is full, predictions are still answered; their rows are counted
as lost (``on_lost``), logged, and shown by :meth:`PredictionLog.status`.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from ml import storage
from workloads.serving.schemas import Opportunity
from workloads.serving.spool import Spool, SpoolError, SpoolFull, read_segment

log = logging.getLogger(__name__)
FIELDS = ("opportunity_id", "sales_agent", "product", "account", "deal_stage", "engage_date")
SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("predicted_at", pa.timestamp("ns", tz="UTC")),
        ("endpoint", pa.string()),
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        *((name, pa.date32() if name == "engage_date" else pa.string()) for name in FIELDS),
        ("as_of_date", pa.date32()),
        ("win_probability", pa.float64()),
    ]
)
"""The columns of every prediction log file (monitoring reads them)."""
LOST_REPORT_S = 60.0


@dataclass(frozen=True)
class LoggedBatch:
    """One request's rows and probabilities."""

    request_id: str
    at: datetime
    endpoint: str
    model_name: str
    model_version: str
    rows: list[Opportunity]
    as_of: list[date]
    probabilities: np.ndarray


def encode(batch: LoggedBatch) -> bytes:
    """``batch`` as one spool record (JSON: columns of the rows, dates as ISO text)."""
    columns = {name: [getattr(r, name) for r in batch.rows] for name in FIELDS}
    columns["as_of_date"] = batch.as_of
    document = {
        "request_id": batch.request_id,
        "at": batch.at,
        "endpoint": batch.endpoint,
        "model": [batch.model_name, batch.model_version],
        "rows": columns,
        "win_probability": batch.probabilities,
    }
    return orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY)


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _columns(record: bytes) -> tuple[str, dict[str, list[Any]]]:
    """One spool record as its ``date=.../hour=..`` partition and its columns;
    raises (ValueError, KeyError, TypeError) when it does not decode."""
    batch = orjson.loads(record)
    at = datetime.fromisoformat(batch["at"])
    size = len(batch["win_probability"])
    columns: dict[str, list[Any]] = {
        "request_id": [batch["request_id"]] * size,
        "predicted_at": [at] * size,
        "endpoint": [batch["endpoint"]] * size,
        "model_name": [batch["model"][0]] * size,
        "model_version": [batch["model"][1]] * size,
    }
    for name in (*FIELDS, "as_of_date"):
        values = batch["rows"][name]
        if len(values) != size:
            raise ValueError(f"{name}: {len(values)} values for {size} rows")
        columns[name] = [_day(v) for v in values] if name.endswith("_date") else values
    columns["win_probability"] = batch["win_probability"]
    return at.strftime("date=%Y-%m-%d/hour=%H"), columns


def _table(columns: list[dict[str, list[Any]]]) -> pa.Table:
    merged: dict[str, list[Any]] = {name: [] for name in SCHEMA.names}
    for part in columns:
        for name, values in part.items():
            merged[name] += values
    return pa.table(merged, schema=SCHEMA)


_UNDECODABLE = (ValueError, KeyError, TypeError, IndexError, pa.ArrowException)


def to_tables(records: list[bytes]) -> tuple[dict[str, pa.Table], int]:
    """Spool records as one table (:data:`SCHEMA`) per partition, and the number of
    records that did not decode (left out, never retried forever)."""
    parts: dict[str, list[dict[str, list[Any]]]] = {}
    bad = 0
    for record in records:
        try:
            partition, columns = _columns(record)
        except _UNDECODABLE:
            bad += 1
            continue
        parts.setdefault(partition, []).append(columns)
    tables = {}
    for partition, batches in sorted(parts.items()):
        try:
            tables[partition] = _table(batches)
        except _UNDECODABLE:  # a value of the wrong type: find its record, keep the rest
            good = []
            for part in batches:
                try:
                    good.append(_table([part]))
                except _UNDECODABLE:
                    bad += 1
            if good:
                tables[partition] = pa.concat_tables(good)
    return tables, bad


def parquet_bytes(table: pa.Table) -> bytes:
    """``table`` as the bytes of a Parquet file."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


@dataclass
class LogCounters:
    """What the log reports to its owner (the service's metrics)."""

    on_write: Callable[[int], None] = lambda rows: None
    on_error: Callable[[Exception], None] = lambda exc: None
    on_lost: Callable[[int, str], None] = lambda rows, reason: None
    on_sync: Callable[[], None] = lambda: None


@dataclass
class _LostReport:
    rows: int = 0
    since_report: int = 0
    reported_at: float = 0.0
    full: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class PredictionLog:
    """Answered predictions -> local spool -> parquet objects under ``url``.

    ``spool_dir``: the spool's folder (the environment's state folder locally,
    the allocation's data folder in a cluster); ``max_bytes`` bounds it;
    ``flush_s``: the longest a row waits in the spool while storage is up;
    ``fsync``: the spool's policy (``workloads.serving.spool``).
    """

    def __init__(
        self,
        url: str,
        spool_dir: Path,
        *,
        max_bytes: int = 256 << 20,
        flush_s: float = 10.0,
        segment_bytes: int = 8 << 20,
        counters: LogCounters | None = None,
        fsync: str = "everysec",
    ) -> None:
        self.url, self.flush_s = url, flush_s
        self.counters = counters or LogCounters()
        self.spool = Spool(
            spool_dir,
            max_bytes,
            segment_bytes,
            on_sync=lambda: self.counters.on_sync(),
            fsync=fsync,
        )
        self._lost = _LostReport()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0
        self.uploaded_rows = 0

    # -- requests -----------------------------------------------------------------

    async def record(self, batch: LoggedBatch) -> bool:
        """Spool ``batch`` and return once it is on disk; False (rows counted as
        lost, never raised) when the spool is full or the disk fails."""
        ticket = self._append(batch)
        if ticket is None:
            return False
        try:
            await self.spool.wait_async(ticket)
        except SpoolError as exc:
            self._count_lost(len(batch.rows), "disk", exc)
            return False
        return True

    def record_sync(self, batch: LoggedBatch) -> bool:
        """:meth:`record` for callers outside an event loop."""
        ticket = self._append(batch)
        if ticket is None:
            return False
        try:
            self.spool.wait(ticket)
        except SpoolError as exc:
            self._count_lost(len(batch.rows), "disk", exc)
            return False
        return True

    def _append(self, batch: LoggedBatch) -> int | None:
        try:
            ticket = self.spool.append(encode(batch))
        except SpoolFull as exc:
            self._count_lost(len(batch.rows), "spool_full", exc)
            return None
        except SpoolError as exc:
            self._count_lost(len(batch.rows), "disk", exc)
            return None
        if self._lost.full:
            self._room_again()
        return ticket

    def _count_lost(self, rows: int, reason: str, exc: Exception) -> None:
        self.counters.on_lost(rows, reason)
        lost = self._lost
        with lost.lock:
            lost.rows += rows
            lost.since_report += rows
            lost.full = lost.full or reason == "spool_full"
            due = time.monotonic() - lost.reported_at >= LOST_REPORT_S
            if due:
                lost.reported_at, count = time.monotonic(), lost.since_report
                lost.since_report = 0
        if due:
            log.error("prediction log: %d answered rows NOT logged (%s: %s); %d lost since start",
                      count, reason, exc, lost.rows)  # fmt: skip

    def _room_again(self) -> None:
        with self._lost.lock:
            self._lost.full, unreported = False, self._lost.since_report
            self._lost.since_report = 0
        log.warning("prediction log: the spool has room again; %d more rows were lost while "
                    "it was full (%d since start)", unreported, self._lost.rows)  # fmt: skip

    def status(self) -> dict[str, Any]:
        """``state`` (``ok``, ``full``, ``behind`` when uploads fail), spool bytes,
        its bound and the rows lost since start."""
        used, limit = self.spool.used_bytes, self.spool.max_bytes
        full = self._lost.full or used >= limit
        state = "full" if full else ("behind" if self._failures else "ok")
        return {"state": state, "spool_bytes": used, "spool_max_bytes": limit,
                "rows_lost": self._lost.rows}  # fmt: skip

    # -- uploads ------------------------------------------------------------------

    def upload(self) -> int:
        """Seal the open segment if it is ``flush_s`` old, upload every sealed one this
        process may take; returns the rows written. Raises on the first failure
        (what is not uploaded stays in the spool)."""
        if self.spool.open_age() >= self.flush_s:
            self.spool.seal()
        rows = 0
        try:
            for path in self.spool.ready():
                rows += self._upload(path)
        finally:
            self.spool.measure()
        return rows

    def _upload(self, path: Path) -> int:
        try:
            records, _whole = read_segment(path)
        except FileNotFoundError:  # another process took it away
            return 0
        tables, bad = to_tables(records)
        if bad:
            log.error("prediction log: %d records of %s do not decode; left out", bad, path.name)
            self.counters.on_lost(bad, "undecodable")
        stem = path.name.removesuffix(path.suffix)
        for partition, table in tables.items():
            # fail fast: the upload loop retries with its own backoff and reports
            # "behind" meanwhile; the SDK's retries would hide an outage for minutes
            storage.write_bytes(
                storage.join(self.url, partition, f"{stem}.parquet"),
                parquet_bytes(table),
                fail_fast=True,
            )
        self.spool.delete(path)
        rows = sum(t.num_rows for t in tables.values())
        self.uploaded_rows += rows
        self.counters.on_write(rows)
        return rows

    def _cycle(self) -> None:
        try:
            self.upload()
        except Exception as exc:  # storage may be down for a while: keep the segments
            self._failures += 1
            if self._failures == 1 or self._failures % 10 == 0:
                log.warning("prediction log upload to %s failed (%d in a row): %s",
                            self.url, self._failures, exc)  # fmt: skip
            self.counters.on_error(exc)
            return
        if self._failures:
            log.info("prediction log uploads to %s work again", self.url)
        self._failures = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self._cycle()
            # retry sooner after a failure; otherwise look again within a second
            delay = min(2.0 ** min(self._failures, 5), 30.0) if self._failures else 1.0
            self._stop.wait(min(delay, self.flush_s))

    def start(self) -> None:
        """Open the spool and start uploading, beginning with what earlier runs left."""
        self.spool.open()
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    def stop(self, budget_s: float = 10.0) -> None:
        """Stop uploading, seal, then upload what is left within ``budget_s`` seconds
        in all; whatever is still spooled then is uploaded by the next start."""
        if self._thread is None:
            return
        deadline = time.monotonic() + budget_s
        self._stop.set()
        self._thread.join(budget_s)
        self.spool.seal()
        drain = threading.Thread(target=self._drain, name="prediction-log-drain", daemon=True)
        drain.start()
        drain.join(max(0.0, deadline - time.monotonic()))
        if drain.is_alive():
            log.error("prediction log: upload at stop did not finish in %.0f s; the spool keeps "
                      "the rest for the next start", budget_s)  # fmt: skip
            return
        self.spool.close()

    def _drain(self) -> None:
        try:
            for path in self.spool.ready():
                self._upload(path)
        except Exception as exc:
            log.error("prediction log upload at stop failed (%s); the spool keeps the rest", exc)
