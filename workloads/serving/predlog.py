"""The prediction log: every scored row, written to object storage as parquet.

Layout: ``<url>/date=YYYY-MM-DD/hour=HH/<uuid>.parquet`` (UTC, by the time of
the request), one column per input field plus ``request_id``, ``predicted_at``,
``model_name``, ``model_version``, ``endpoint`` and ``win_probability``.

Requests only append to an in-memory buffer. A background thread writes it
when ``flush_rows`` rows are waiting or ``flush_s`` seconds have passed;
:meth:`PredictionLog.stop` writes whatever is left, so a normal stop loses
nothing. A failed write keeps the rows for the next attempt; beyond
``max_rows`` buffered rows the oldest are dropped and counted.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from ml import storage
from workloads.serving.schemas import Opportunity

log = logging.getLogger(__name__)
FIELDS = ("opportunity_id", "sales_agent", "product", "account", "deal_stage", "engage_date")


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


def to_frame(batches: list[LoggedBatch]) -> pd.DataFrame:
    """The rows of ``batches`` as one table (see the module docstring for columns)."""
    sizes = [len(b.rows) for b in batches]
    columns: dict[str, object] = {
        "request_id": np.repeat([b.request_id for b in batches], sizes),
        "predicted_at": pd.to_datetime(np.repeat([b.at for b in batches], sizes), utc=True),
        "endpoint": np.repeat([b.endpoint for b in batches], sizes),
        "model_name": np.repeat([b.model_name for b in batches], sizes),
        "model_version": np.repeat([b.model_version for b in batches], sizes),
    }
    for field in FIELDS:
        columns[field] = [getattr(r, field) for b in batches for r in b.rows]
    columns["as_of_date"] = [d for b in batches for d in b.as_of]
    columns["win_probability"] = np.concatenate([b.probabilities for b in batches])
    return pd.DataFrame(columns)


class PredictionLog:
    """Buffered, partitioned parquet writer under ``url`` (``s3://`` or ``file://``)."""

    def __init__(
        self,
        url: str,
        flush_rows: int = 5000,
        flush_s: float = 10.0,
        max_rows: int = 1_000_000,
        on_write: Callable[[int], None] = lambda rows: None,
        on_error: Callable[[Exception], None] = lambda exc: None,
        on_drop: Callable[[int], None] = lambda rows: None,
    ) -> None:
        self.url, self.flush_rows, self.flush_s, self.max_rows = url, flush_rows, flush_s, max_rows
        self.on_write, self.on_error, self.on_drop = on_write, on_error, on_drop
        self._batches: list[LoggedBatch] = []
        self._rows = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def buffered_rows(self) -> int:
        return self._rows

    def record(self, batch: LoggedBatch) -> None:
        """Queue ``batch``; wakes the writer when the size threshold is reached."""
        with self._lock:
            self._batches.append(batch)
            self._rows += len(batch.rows)
            full = self._rows >= self.flush_rows
        if full:
            self._wake.set()

    def flush(self) -> int:
        """Write everything buffered now; returns the rows written (0 on failure,
        the rows then stay buffered)."""
        with self._lock:
            batches, self._batches, self._rows = self._batches, [], 0
        if not batches:
            return 0
        try:
            written = self._write(to_frame(batches))
        except Exception as exc:  # storage may be unreachable for a while: keep the rows
            log.warning("prediction log write to %s failed: %s", self.url, exc)
            self._requeue(batches)
            self.on_error(exc)
            return 0
        self.on_write(written)
        return written

    def _write(self, frame: pd.DataFrame) -> int:
        hours = frame["predicted_at"].dt.strftime("date=%Y-%m-%d/hour=%H")
        for partition, part in frame.groupby(hours, sort=True):
            name = f"{uuid.uuid4().hex}.parquet"
            storage.write_parquet(storage.join(self.url, str(partition), name), part)
        return len(frame)

    def _requeue(self, batches: list[LoggedBatch]) -> None:
        with self._lock:
            self._batches[:0] = batches
            self._rows += sum(len(b.rows) for b in batches)
            dropped = 0
            while self._rows > self.max_rows and self._batches:
                oldest = self._batches.pop(0)
                self._rows -= len(oldest.rows)
                dropped += len(oldest.rows)
        if dropped:
            log.error("prediction log over %d buffered rows: dropped %d", self.max_rows, dropped)
            self.on_drop(dropped)

    def start(self) -> None:
        """Start the background writer."""
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    def stop(self, attempts: int = 3) -> None:
        """Stop the writer, then write what is left (up to ``attempts`` tries)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        for _ in range(attempts):
            self.flush()
            if not self._rows:
                return
        log.error("prediction log: %d rows could not be written at stop", self._rows)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.flush_s)
            self._wake.clear()
            if not self._stopping.is_set():
                self.flush()
