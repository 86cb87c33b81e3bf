"""The service's moving parts in one object: settings, the served model and its
refresher, the prediction log and the metrics. The app's lifespan starts and
stops it; the routes read it from ``app.state.service``."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from workloads.serving.inputs import Batch
from workloads.serving.logs import current_request_id, new_request_id
from workloads.serving.metrics import ServingMetrics
from workloads.serving.model import LoadedModel, ModelHolder, ModelSource, Refresher
from workloads.serving.predlog import LogCounters, LoggedBatch, PredictionLog
from workloads.serving.settings import ServingSettings


class Service:
    """Everything a request needs besides its body."""

    def __init__(
        self, settings: ServingSettings, source: ModelSource, log: PredictionLog | None = None
    ) -> None:
        self.settings = settings
        self.metrics = ServingMetrics()
        self._scorer_labels: tuple[str, str] | None = None
        self.holder = ModelHolder()
        self.refresher = Refresher(
            source,
            self.holder,
            settings.refresh_s,
            on_change=self._model_changed,
            on_error=lambda exc: self.metrics.model_errors.inc(),
        )
        self.metrics.model_version.labels(source.name, source.alias).set(0)
        self.metrics.worker.labels(str(os.getpid())).set(1)
        self.log = log if log is not None else self._log_from(settings)
        if self.log is not None:
            self.log.counters = LogCounters(
                on_write=self.metrics.log_written.inc,
                on_error=lambda exc: self.metrics.log_errors.inc(),
                on_lost=lambda rows, reason: self.metrics.log_lost.labels(reason).inc(rows),
                on_sync=self.metrics.spool_syncs.inc,
            )

    @staticmethod
    def _log_from(settings: ServingSettings) -> PredictionLog | None:
        if not settings.predictions_url or not settings.spool_dir:
            return None
        return PredictionLog(
            settings.predictions_url,
            Path(settings.spool_dir),
            max_bytes=settings.spool_max_bytes,
            flush_s=settings.log_flush_s,
            fsync=settings.spool_fsync,
        )

    def _model_changed(self, model: LoadedModel) -> None:
        self.metrics.model_loads.inc()
        version = float(model.version) if model.version.isdigit() else 0.0
        self.metrics.model_version.labels(model.name, model.alias).set(version)
        compiled = model.scorer.compiled
        labels = (model.scorer.kind, compiled.get("runtime") or "none")
        if self._scorer_labels is not None and self._scorer_labels != labels:
            # set to 0, not removed: with several workers the value lives in a file
            self.metrics.scorer.labels(*self._scorer_labels).set(0)
        self.metrics.scorer.labels(*labels).set(1)
        self._scorer_labels = labels
        fallback = not compiled.get("used") or compiled.get("problem")
        self.metrics.compiled_fallback.set(1 if fallback else 0)

    def served_version(self) -> str:
        """The version serving now, for the request metrics; ``none`` before the first."""
        model = self.holder.current
        return model.version if model is not None else "none"

    def start(self) -> None:
        """Start following the alias, and uploading the prediction log (what earlier
        runs left in the spool first)."""
        self.refresher.start()
        if self.log is not None:
            self.log.start()

    def stop(self) -> None:
        """Stop following the alias; upload what the spool holds, within the stop budget."""
        self.refresher.stop()
        if self.log is not None:
            self.log.stop(self.settings.drain_s)

    async def record(
        self, endpoint: str, model: LoadedModel, batch: Batch, probabilities: np.ndarray
    ) -> str:
        """Count one scored request and spool it (acknowledged by the spool when this
        returns: written, and synced too with the ``always`` policy);
        returns its request id (the one its log lines carry)."""
        request_id = current_request_id() or new_request_id()
        self.metrics.count_rows(endpoint, len(batch.rows))
        if self.log is not None:
            logged = LoggedBatch(
                request_id,
                datetime.now(UTC),
                endpoint,
                model.name,
                model.version,
                batch.rows,
                batch.as_of,
                probabilities,
            )
            await self.log.record(logged)
        return request_id

    def log_status(self) -> dict[str, Any]:
        """The prediction log's state (``off`` without a log); updates its gauges."""
        if self.log is None:
            return {"state": "off"}
        status = self.log.status()
        self.metrics.spool_bytes.set(status["spool_bytes"])
        self.metrics.spool_max_bytes.set(status["spool_max_bytes"])
        self.metrics.spool_full.set(1 if status["state"] == "full" else 0)
        return status
