"""Settings of the prediction service: one model, read from ``SERVING_*`` variables
(empty values count as unset; a refused value stops the service with one line naming
the variable).

``SERVING_MODEL_NAME`` / ``SERVING_MODEL_ALIAS``: the registered model and the
alias to follow (default ``registry`` of ``environments/base.yaml``);
``MLFLOW_TRACKING_URI`` is read by MLflow itself.
``SERVING_API_KEY``: ``/predict`` and ``/invocations`` require it in the
``X-API-Key`` header. ``SERVING_AUTH_REQUIRED`` (``true`` unless set to
``false``): the service fails closed, it refuses to start without a key unless
told in so many words that it serves without authentication.
``SERVING_MAX_BATCH_ROWS`` (1000): rows per request; ``SERVING_MAX_BODY_BYTES``
(unset: 4 KiB per allowed row, three times what a row with every identifier
at its longest takes as JSON): a larger body gets 413 before it is read whole.
``SERVING_REFRESH_S`` (30): how often the alias is checked.
``SERVING_WORKERS`` (unset: the cores the process may run on): uvicorn worker
processes; each loads the model, follows the alias and spools its own segments.
``SERVING_METRICS_DIR``: with several workers, the folder where each writes its
metrics for ``/metrics`` to sum (emptied at every start; unset: a temporary
folder, removed at exit).

The prediction log: ``SERVING_PREDICTIONS_URL`` (``s3://bucket`` or
``file:///path``; unset: no log) and ``SERVING_SPOOL_DIR``, the local folder
where answered predictions wait until they are uploaded (required with a log);
``SERVING_SPOOL_FSYNC``: ``everysec`` (default: a row is written before its
answer, which a crash of the service cannot undo, and synced to disk within a
second) or ``always`` (synced before its answer: a machine crash loses nothing
either, at a cost in throughput; see ``workloads.serving.spool``);
``SERVING_SPOOL_MAX_BYTES`` (256 MiB) bounds it;
``SERVING_LOG_FLUSH_S`` (10): the longest a row waits there while storage is up.

``SERVING_STOP_TIMEOUT_S`` (30): how long the process manager waits after
SIGTERM before it kills the service (supervisord's ``stopwaitsecs``, Nomad's
``kill_timeout``: the catalog's ``stop_timeout_s``). Requests in flight get 30%
of it, the last upload of the log 50%, the rest is margin.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from workloads.settings import RegistryNames, WorkloadSettings, load

_REGISTRY = RegistryNames()
BODY_BYTES_PER_ROW = 4096


class ServingSettings(WorkloadSettings):
    """What one service instance serves and how. Raises ``pydantic.ValidationError``
    for a number not above 0, a log without a spool folder, or no key while
    authentication is required; :meth:`from_env` names the variable."""

    model_config = SettingsConfigDict(
        env_prefix="SERVING_", env_ignore_empty=True, frozen=True, extra="forbid"
    )

    model_name: str = _REGISTRY.model_name
    model_alias: str = _REGISTRY.champion_alias
    predictions_url: str | None = None
    spool_dir: str | None = None
    api_key: str | None = None
    auth_required: bool = True
    max_batch_rows: int = Field(1000, gt=0)
    max_body_bytes: int | None = Field(None, gt=0)
    refresh_s: float = Field(30.0, gt=0)
    spool_max_bytes: int = Field(256 << 20, gt=0)
    spool_fsync: Literal["everysec", "always"] = "everysec"
    log_flush_s: float = Field(10.0, gt=0)
    stop_timeout_s: float = Field(30.0, gt=0)
    workers: int | None = Field(None, gt=0)
    metrics_dir: str | None = None

    @model_validator(mode="after")
    def _log_and_key_are_complete(self) -> ServingSettings:
        if self.predictions_url and not self.spool_dir:
            raise ValueError(
                "SERVING_SPOOL_DIR must name a local folder when SERVING_PREDICTIONS_URL is set"
            )
        if self.auth_required and not self.api_key:
            raise ValueError(
                "SERVING_API_KEY is empty or unset and authentication is required "
                "(SERVING_AUTH_REQUIRED): the service does not start without its key"
            )
        return self

    @property
    def body_limit(self) -> int:
        """The largest request body accepted, in bytes."""
        return self.max_body_bytes or self.max_batch_rows * BODY_BYTES_PER_ROW

    @property
    def worker_count(self) -> int:
        """Worker processes: ``workers``, else the cores given to this process.

        Under Nomad that is ``NOMAD_CPU_CORES`` (cores reserved with ``resources.cores``)
        or, for a CPU share in MHz, one: the task's CPU affinity there is every core of
        the host, and a worker per host core would overrun the task's memory.
        Elsewhere it is the cores this process may run on (its CPU affinity).
        """
        if self.workers:
            return self.workers
        if "NOMAD_ALLOC_ID" in os.environ:
            try:
                return max(1, len(_cpu_list(os.environ.get("NOMAD_CPU_CORES", ""))))
            except ValueError:  # not a CPU list: one worker, as for a share in MHz
                return 1
        return len(os.sched_getaffinity(0))

    @property
    def graceful_s(self) -> float:
        """How long uvicorn lets requests in flight finish after SIGTERM."""
        return 0.3 * self.stop_timeout_s

    @property
    def drain_s(self) -> float:
        """How long the last upload of the prediction log may take at stop."""
        return 0.5 * self.stop_timeout_s

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServingSettings:
        """Settings from ``SERVING_<FIELD>`` variables of ``environ`` (default: the
        process environment). Raises :class:`workloads.settings.SettingsError` (a
        ValueError) naming the variable whose value is refused."""
        return load(cls, environ)


def _cpu_list(text: str) -> set[int]:
    """The cores of a Linux CPU list such as ``0-2,5`` (Nomad's ``NOMAD_CPU_CORES``)."""
    cores: set[int] = set()
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        cores.update(range(int(low), int(high or low) + 1))
    return cores
