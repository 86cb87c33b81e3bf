"""The service's moving parts in one object: settings, the served model and its
refresher, the prediction log and the metrics. The app's lifespan starts and
stops it; the routes read it from ``app.state.service``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np

from workloads.serving.inputs import Batch
from workloads.serving.metrics import ServingMetrics
from workloads.serving.model import LoadedModel, ModelHolder, ModelSource, Refresher
from workloads.serving.predlog import LoggedBatch, PredictionLog
from workloads.serving.settings import ServingSettings


class Service:
    """Everything a request needs besides its body."""

    def __init__(
        self, settings: ServingSettings, source: ModelSource, log: PredictionLog | None = None
    ) -> None:
        self.settings = settings
        self.metrics = ServingMetrics()
        self.holder = ModelHolder()
        self.refresher = Refresher(
            source,
            self.holder,
            settings.refresh_s,
            on_change=self._model_changed,
            on_error=lambda exc: self.metrics.model_errors.inc(),
        )
        self.metrics.model_version.labels(source.name, source.alias).set(0)
        self.log = log if log is not None else self._log_from(settings)

    def _log_from(self, settings: ServingSettings) -> PredictionLog | None:
        if not settings.predictions_url:
            return None
        m = self.metrics
        return PredictionLog(
            settings.predictions_url,
            flush_rows=settings.log_flush_rows,
            flush_s=settings.log_flush_s,
            on_write=m.log_written.inc,
            on_error=lambda exc: m.log_errors.inc(),
            on_drop=m.log_dropped.inc,
        )

    def _model_changed(self, model: LoadedModel) -> None:
        self.metrics.model_loads.inc()
        version = float(model.version) if model.version.isdigit() else 0.0
        self.metrics.model_version.labels(model.name, model.alias).set(version)

    def start(self) -> None:
        """Start following the alias and writing the prediction log."""
        self.refresher.start()
        if self.log is not None:
            self.log.start()

    def stop(self) -> None:
        """Stop following the alias; write every buffered prediction."""
        self.refresher.stop()
        if self.log is not None:
            self.log.stop()

    def record(
        self, endpoint: str, model: LoadedModel, batch: Batch, probabilities: np.ndarray
    ) -> str:
        """Count and log one scored request; returns its request id."""
        request_id = uuid.uuid4().hex
        self.metrics.rows.labels(endpoint).inc(len(batch.rows))
        if self.log is not None:
            self.log.record(
                LoggedBatch(
                    request_id,
                    datetime.now(UTC),
                    endpoint,
                    model.name,
                    model.version,
                    batch.rows,
                    batch.as_of,
                    probabilities,
                )
            )
        return request_id
