"""The served model: resolved from the registry alias, loaded, swapped atomically.

A :class:`ModelSource` answers three questions: which version the alias points
to now, the fitted pipeline of a version (with its compiled model when it was
logged with one: ``ml.modeling.compiled.Served``), and the version's registry tags (what
kind of model it is, the lineage of the data it was trained on).
:class:`ModelHolder` keeps the current :class:`LoadedModel`; a request reads
``holder.current`` once and uses that object to the end, so a swap (one
attribute assignment) never fails an in-flight request. :class:`Refresher`
checks the alias every ``refresh_s`` seconds in a background thread and loads a
new version before swapping it in; a failed check or load keeps the current
model and is counted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sklearn.pipeline import Pipeline

from ml.modeling.compiled import Served
from ml.modeling.lineage import BASELINE_MESSAGE, lineage_from_tags
from workloads.serving.scorer import PipelineScorer, build_scorer

log = logging.getLogger(__name__)


class ModelSource(Protocol):
    """Where models come from (the MLflow registry, or a test double)."""

    name: str
    alias: str

    def resolve(self) -> str:
        """The version the alias points to now; raises when it cannot tell."""
        ...

    def load(self, version: str) -> Pipeline | Served:
        """The fitted pipeline of ``version``, with its compiled model if it has one."""
        ...

    def tags(self, version: str) -> dict[str, str]:
        """The registry tags of ``version`` (``kind``, ``family``, ``data``, ...)."""
        ...


class RegistrySource:
    """A registered MLflow model followed through one alias (``MLFLOW_TRACKING_URI``)."""

    def __init__(self, name: str, alias: str) -> None:
        self.name, self.alias = name, alias

    def resolve(self) -> str:
        """The version the alias points to now (MLflow's ``get_model_version_by_alias``); raises
        ``MlflowException`` when the model or alias does not exist."""
        from mlflow import MlflowClient

        return str(MlflowClient().get_model_version_by_alias(self.name, self.alias).version)

    def load(self, version: str) -> Served:
        """The fitted pipeline of ``version`` (``models:/<name>/<version>``), with its compiled
        model when it has one."""
        from ml.modeling.pyfunc import load_served

        return load_served(f"models:/{self.name}/{version}")

    def tags(self, version: str) -> dict[str, str]:
        """The registry tags of ``version`` (``kind``, ``family``, ``data``, ...)."""
        from mlflow import MlflowClient

        return dict(MlflowClient().get_model_version(self.name, version).tags or {})


@dataclass(frozen=True)
class LoadedModel:
    """One model version, ready to score."""

    name: str
    version: str
    alias: str
    loaded_at: datetime
    scorer: PipelineScorer
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def known_agents(self) -> frozenset[str]:
        """The sales agents the model's features know."""
        return self.scorer.features.known_agents

    @property
    def known_products(self) -> frozenset[str]:
        """The products the model's features know (and the misspellings they correct)."""
        return self.scorer.features.known_products

    @property
    def kind(self) -> str:
        """``learned``, or ``baseline`` for a baseline served as the champion."""
        return self.tags.get("kind", "learned")

    def describe(self) -> dict[str, Any]:
        """What ``GET /version`` answers (``workloads.serving.schemas.VersionResponse``)."""
        return {
            "model_name": self.name,
            "model_version": self.version,
            "alias": self.alias,
            "loaded_at": self.loaded_at.isoformat(timespec="seconds"),
            "scorer": self.scorer.kind,
            "compiled": self.scorer.compiled,
            "kind": self.kind,
            "family": self.tags.get("family"),
            "data": lineage_from_tags(self.tags),
            "note": BASELINE_MESSAGE if self.kind == "baseline" else None,
            "promotion_reason": self.tags.get("promotion.reason"),
        }


class ModelHolder:
    """The current model (``None`` until the first load)."""

    def __init__(self) -> None:
        self.current: LoadedModel | None = None


class Refresher:
    """Keeps ``holder`` on the version ``source``'s alias points to.

    ``on_change(model)`` runs after each swap; ``on_error(exc)`` after each
    failed check or load. ``check()`` does one round synchronously.

    ``problem`` says why the last check failed (None after a good one); the log
    says it once per change of state (no champion yet, a version that cannot be
    loaded, the alias lost while a model serves, a model served again), not at
    every check: a service waiting for its first champion checks every 2 s.
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
        self.problem: str | None = None
        self._state: str | None = None  # the state the log last reported
        self._stop = threading.Event()
        self.first_check = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """Load and swap in the alias's version if it changed; True when swapped."""
        current, version = self.holder.current, None
        try:
            version = self.source.resolve()
            if current is not None and current.version == version:
                self._report("serving", None)
                return False
            loaded = self.source.load(version)
            model = LoadedModel(
                self.source.name,
                version,
                self.source.alias,
                datetime.now(UTC),
                build_scorer(loaded),
                self.source.tags(version),
            )
        except Exception as exc:  # the registry may be down: keep serving what we have
            self._failed(exc, current, version)
            self.on_error(exc)
            return False
        self.holder.current = model
        self._state, self.problem = "serving", None
        runtime = model.scorer.compiled.get("runtime")
        log.info("serving %s version %s (%s scorer%s)", model.name, version, model.scorer.kind,
                 f", {runtime}" if runtime else "")  # fmt: skip
        self.on_change(model)
        return True

    def _failed(self, exc: Exception, current: LoadedModel | None, version: str | None) -> None:
        where = f"{self.source.name}@{self.source.alias}"
        serving = f"still serving version {current.version}" if current else "no model served"
        if version is None:
            state = "lost" if current else "no champion"
            what = f"{where} cannot be resolved" if current else f"no champion yet: {where}"
            message = f"{what} ({exc}); {serving}"
        else:
            state = f"unloadable {version}"
            message = f"version {version} of {where} cannot be loaded ({exc}); {serving}"
        self._report(state, message)

    def _report(self, state: str, problem: str | None) -> None:
        """Record the outcome of a check; log it only when the state changed."""
        self.problem = problem
        if state == self._state:
            if problem:
                log.debug("model check: %s", problem)
            return
        before, self._state = self._state, state
        if problem:
            log.warning("%s (said once until this changes; /ready shows it)", problem)
        elif before is not None:
            current = self.holder.current
            log.info("%s@%s resolves again: serving version %s", self.source.name,
                     self.source.alias, current.version if current else "?")  # fmt: skip

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
            self.first_check.set()
            wait = self.refresh_s if self.holder.current is not None else min(self.refresh_s, 2.0)
            self._stop.wait(wait)
