"""Optional scheduler abilities: plans, deployments, rollbacks.

A scheduler that has one implements the protocol; callers check with
``isinstance`` (the protocols are runtime-checkable) and tell the user when
the environment's scheduler lacks it, rather than testing flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ops_cli.scheduler.base import ProgressCallback
from ops_cli.scheduler.nomad.plan import JobPlan


@dataclass(frozen=True)
class DeployOutcome:
    """How a deployment ended. ``status``: successful | unchanged | failed."""

    job: str
    status: str
    version: int | None = None
    detail: str = ""
    reverted_to: int | None = None


@dataclass(frozen=True)
class RollbackPlan:
    """Which version a rollback would return to, from which."""

    job: str
    current_version: int
    target_version: int
    target_image: str = ""


@runtime_checkable
class Planner(Protocol):
    def plan(self, workloads: list[str] | None = None) -> list[JobPlan]:
        """What applying the environment (or ``workloads``) would change; changes nothing."""
        ...


@runtime_checkable
class Deployer(Protocol):
    def plan_deploy(
        self, workload: str, *, image_tag: str | None = None, model_alias: str | None = None
    ) -> JobPlan:
        """The plan of deploying ``workload`` with the given image tag and model alias."""
        ...

    def apply(self, plan: JobPlan, progress: ProgressCallback) -> DeployOutcome:
        """Register exactly what ``plan`` showed, refusing if the job changed since,
        and follow the deployment to its end."""
        ...


@runtime_checkable
class RollbackCapable(Protocol):
    def plan_rollback(self, workload: str) -> RollbackPlan:
        """The previous stable version ``workload`` would return to."""
        ...

    def rollback(self, plan: RollbackPlan, progress: ProgressCallback) -> DeployOutcome:
        """Revert to ``plan.target_version`` unless the job moved on meanwhile."""
        ...
