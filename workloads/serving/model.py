"""The served model: resolved from the registry alias, loaded, swapped atomically.

A :class:`ModelSource` answers two questions: which version the alias points
to now, and the fitted pipeline of a version. :class:`ModelHolder` keeps the
current :class:`LoadedModel`; a request reads ``holder.current`` once and uses
that object to the end, so a swap (one attribute assignment) never fails an
in-flight request. :class:`Refresher` checks the alias every ``refresh_s``
seconds in a background thread and loads a new version before swapping it in;
a failed check or load keeps the current model and is counted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sklearn.pipeline import Pipeline

from workloads.serving.scorer import PipelineScorer, build_scorer

log = logging.getLogger(__name__)


class ModelSource(Protocol):
    """Where models come from (the MLflow registry, or a test double)."""

    name: str
    alias: str

    def resolve(self) -> str:
        """The version the alias points to now; raises when it cannot tell."""
        ...

    def load(self, version: str) -> Pipeline:
        """The fitted pipeline of ``version``."""
        ...


class RegistrySource:
    """A registered MLflow model followed through one alias (``MLFLOW_TRACKING_URI``)."""

    def __init__(self, name: str, alias: str) -> None:
        self.name, self.alias = name, alias

    def resolve(self) -> str:
        from mlflow import MlflowClient

        return str(MlflowClient().get_model_version_by_alias(self.name, self.alias).version)

    def load(self, version: str) -> Pipeline:
        import mlflow.sklearn

        return mlflow.sklearn.load_model(f"models:/{self.name}/{version}")


@dataclass(frozen=True)
class LoadedModel:
    """One model version, ready to score."""

    name: str
    version: str
    alias: str
    loaded_at: datetime
    scorer: PipelineScorer

    @property
    def known_agents(self) -> frozenset[str]:
        return self.scorer.features.known_agents

    @property
    def known_products(self) -> frozenset[str]:
        return self.scorer.features.known_products

    def describe(self) -> dict[str, str]:
        return {
            "model_name": self.name,
            "model_version": self.version,
            "alias": self.alias,
            "loaded_at": self.loaded_at.isoformat(timespec="seconds"),
            "scorer": self.scorer.kind,
        }


class ModelHolder:
    """The current model (``None`` until the first load)."""

    def __init__(self) -> None:
        self.current: LoadedModel | None = None


class Refresher:
    """Keeps ``holder`` on the version ``source``'s alias points to.

    ``on_change(model)`` runs after each swap; ``on_error(exc)`` after each
    failed check or load. ``check()`` does one round synchronously.
    """

    def __init__(
        self,
        source: ModelSource,
        holder: ModelHolder,
        refresh_s: float,
        on_change: Callable[[LoadedModel], None] = lambda model: None,
        on_error: Callable[[Exception], None] = lambda exc: None,
    ) -> None:
        self.source, self.holder, self.refresh_s = source, holder, refresh_s
        self.on_change, self.on_error = on_change, on_error
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """Load and swap in the alias's version if it changed; True when swapped."""
        try:
            version = self.source.resolve()
            current = self.holder.current
            if current is not None and current.version == version:
                return False
            pipeline = self.source.load(version)
            model = LoadedModel(
                self.source.name,
                version,
                self.source.alias,
                datetime.now(UTC),
                build_scorer(pipeline),
            )
        except Exception as exc:  # the registry may be down: keep serving what we have
            log.warning("model check of %s@%s failed: %s", self.source.name, self.source.alias, exc)
            self.on_error(exc)
            return False
        self.holder.current = model
        log.info("serving %s version %s (%s scorer)", model.name, version, model.scorer.kind)
        self.on_change(model)
        return True

    def start(self) -> None:
        """Check now, then every ``refresh_s`` seconds, in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="model-refresher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop checking; returns at once if never started."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.check()
            wait = self.refresh_s if self.holder.current is not None else min(self.refresh_s, 2.0)
            self._stop.wait(wait)
