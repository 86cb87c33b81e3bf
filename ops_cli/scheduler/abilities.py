"""Optional scheduler abilities: plans, deployments, rollbacks.

They sit beside :mod:`ops_cli.scheduler.base` because they are generic: any
scheduler may implement them (today the Nomad one does).

A scheduler that has one implements the protocol; callers check with
``isinstance`` (the protocols are runtime-checkable) and tell the user when
the environment's scheduler lacks it, rather than testing flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ops_cli.scheduler.base import ProgressCallback
from ops_cli.scheduler.plan import JobPlan


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
    """A scheduler that can say what applying would change, without changing it."""

    def plan(self, workloads: list[str] | None = None) -> list[JobPlan]:
        """What applying the environment (or ``workloads``) would change; changes nothing."""
        ...


@runtime_checkable
class Deployer(Protocol):
    """A scheduler that deploys one workload from a plan it showed (canaries followed to the end)."""

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
    """A scheduler that returns a workload to its previous stable version."""

    def plan_rollback(self, workload: str) -> RollbackPlan:
        """The previous stable version ``workload`` would return to."""
        ...

    def rollback(self, plan: RollbackPlan, progress: ProgressCallback) -> DeployOutcome:
        """Revert to ``plan.target_version`` unless the job moved on meanwhile."""
        ...
