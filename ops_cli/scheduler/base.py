"""The scheduler role: bring workloads up, report on them, take them down.

Each implementation lives beside this module (``local/``, ``nomad/``).
Optional abilities (plans, canary deployments, rollbacks) are separate
protocols a scheduler may also implement; callers check with ``isinstance``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum


class Health(StrEnum):
    """A workload's health: ``healthy`` (passing checks), ``starting``, ``unhealthy`` (running,
    checks failing), ``stopped`` or ``failed`` (exited, or gave up)."""

    HEALTHY = "healthy"
    STARTING = "starting"
    UNHEALTHY = "unhealthy"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True)
class Endpoint:
    """A URL a person or a script uses to reach a workload."""

    label: str
    url: str


@dataclass(frozen=True)
class WorkloadStatus:
    """What a scheduler knows of one workload right now."""

    name: str
    health: Health
    detail: str = ""
    endpoints: tuple[Endpoint, ...] = ()
    pid: int | None = None
    uptime_s: float | None = None
    instances: int = 1
    version: str | None = None


@dataclass(frozen=True)
class WorkloadEvent:
    """Progress of one workload during ``up`` or ``restart``."""

    name: str
    phase: str  # waiting | starting | healthy | unchanged | failed | replaced
    elapsed_s: float = 0.0
    detail: str = ""


ProgressCallback = Callable[[WorkloadEvent], None]


@dataclass
class ApplyResult:
    """The outcome of bringing an environment up."""

    started: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def changed(self) -> bool:
        """True when ``up`` started anything."""
        return bool(self.started)


class Scheduler(abc.ABC):
    """Runs the enabled workloads of one environment."""

    @abc.abstractmethod
    def up(self, progress: ProgressCallback) -> ApplyResult:
        """Start what is not running, in dependency order, until every workload is healthy.

        Idempotent: when everything already runs with the same settings it
        changes nothing and reports every workload as unchanged. Raises
        :class:`ops_cli.errors.ServiceFailedError` when a workload fails or
        misses its start timeout.
        """

    @abc.abstractmethod
    def status(self) -> list[WorkloadStatus]:
        """Every enabled workload with its health and endpoints; never raises
        because something is down (that is a status, not an error)."""

    @abc.abstractmethod
    def restart(self, name: str, progress: ProgressCallback) -> None:
        """Stop and start ``name``, waiting until it is healthy again."""

    @abc.abstractmethod
    def down(self) -> list[str]:
        """Stop every workload; returns the names stopped. Silent when nothing runs."""

    @abc.abstractmethod
    def logs(self, name: str, *, lines: int, follow: bool) -> Iterator[str]:
        """The last ``lines`` lines of ``name``'s output, then new ones while ``follow``."""
