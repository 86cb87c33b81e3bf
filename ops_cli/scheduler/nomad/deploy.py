"""Register a job and follow its Nomad deployment to the end.

The lifecycle, as Nomad runs it: registering a new version creates a
deployment; canaries (if the update block asks for them) are placed first and
must turn healthy; then they are promoted (by us unless ``auto_promote``) and
the rest of the allocations roll. Nomad fails the deployment when an
allocation is unhealthy or the progress deadline passes, and with
``auto_revert`` it registers the last stable version again.

This engine promotes the healthy canaries of groups that wait for a manual
promotion (groups with ``auto_promote`` are promoted by Nomad itself, so a
rollout never hangs on an opsctl that died), leaves unhealthy allocations to
Nomad (which reschedules them until the progress deadline, as it would without
us), fails the deployment itself only when its own deadline passes (so Nomad
auto-reverts), and reports each step through the progress callback.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from ops_cli.errors import OpsError, ServiceFailedError
from ops_cli.scheduler.abilities import DeployOutcome, RollbackPlan
from ops_cli.scheduler.base import ProgressCallback, WorkloadEvent
from ops_cli.scheduler.nomad.client import NomadConflictError
from ops_cli.scheduler.plan import JobPlan

# how long a new version may go without a deployment before we look at allocations
DEPLOYMENT_APPEAR_S = 30.0


class DeploymentAPI(Protocol):
    """The part of :class:`~ops_cli.scheduler.nomad.client.NomadClient` this engine uses."""

    def job(self, job_id: str) -> dict[str, Any] | None:
        """As :meth:`NomadClient.job`."""

    def versions(self, job_id: str) -> list[dict[str, Any]]:
        """As :meth:`NomadClient.versions`."""

    def register(self, job: dict[str, Any], *, modify_index: int) -> dict[str, Any]:
        """As :meth:`NomadClient.register`."""

    def revert(self, job_id: str, version: int, *, prior_version: int) -> dict[str, Any]:
        """As :meth:`NomadClient.revert`."""

    def latest_deployment(self, job_id: str) -> dict[str, Any] | None:
        """As :meth:`NomadClient.latest_deployment`."""

    def promote(self, deployment_id: str) -> dict[str, Any]:
        """As :meth:`NomadClient.promote`."""

    def fail(self, deployment_id: str) -> dict[str, Any]:
        """As :meth:`NomadClient.fail`."""


class DeploymentEngine:
    """Applies plans and rollbacks; ``clock``/``sleep`` are injectable for tests."""

    def __init__(
        self,
        api: DeploymentAPI,
        *,
        poll_interval_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api = api
        self.poll_interval_s = poll_interval_s
        self.clock = clock
        self.sleep = sleep

    def apply(
        self, plan: JobPlan, progress: ProgressCallback, *, timeout_s: float
    ) -> DeployOutcome:
        """Register ``plan.payload`` against ``plan.modify_index`` and follow it.

        Raises :class:`NomadConflictError` when the job changed since the plan
        (nothing is written) and :class:`ServiceFailedError` when the deployment
        fails or misses ``timeout_s`` (after failing it, so Nomad reverts).
        """
        if not plan.has_changes:
            progress(WorkloadEvent(plan.job, "unchanged"))
            return DeployOutcome(plan.job, "unchanged", detail="no changes")
        answer = self.api.register(plan.payload, modify_index=plan.modify_index)
        version = self._registered_version(plan.job, int(answer.get("JobModifyIndex") or 0))
        return self.follow(plan.job, version, progress, timeout_s=timeout_s)

    def rollback_plan(self, job_id: str) -> RollbackPlan:
        """The newest stable version older than the current one; raises
        :class:`OpsError` when there is none."""
        versions = sorted(self.api.versions(job_id), key=lambda v: v["Version"], reverse=True)
        if not versions:
            raise OpsError(f"job '{job_id}' does not exist in Nomad; nothing to roll back")
        current = versions[0]
        for version in versions[1:]:
            if version.get("Stable"):
                image = _image_of(version)
                return RollbackPlan(job_id, current["Version"], version["Version"], image)
        raise OpsError(
            f"job '{job_id}' has no stable version before version {current['Version']}; "
            "nothing to roll back to"
        )

    def rollback(
        self, plan: RollbackPlan, progress: ProgressCallback, *, timeout_s: float
    ) -> DeployOutcome:
        """Revert to ``plan.target_version`` if the job is still at
        ``plan.current_version`` (EnforcePriorVersion), then follow the deployment."""
        self.api.revert(plan.job, plan.target_version, prior_version=plan.current_version)
        job = self.api.job(plan.job) or {}
        return self.follow(
            plan.job,
            int(job.get("Version", plan.current_version + 1)),
            progress,
            timeout_s=timeout_s,
        )

    def follow(
        self, job_id: str, version: int, progress: ProgressCallback, *, timeout_s: float
    ) -> DeployOutcome:
        """Watch the deployment of ``version`` until it succeeds, fails or times out."""
        started = self.clock()
        progress(WorkloadEvent(job_id, "starting", detail=f"version {version}"))
        while True:
            elapsed = self.clock() - started
            deployment = self.api.latest_deployment(job_id)
            if deployment is None or deployment.get("JobVersion") != version:
                if elapsed > min(DEPLOYMENT_APPEAR_S, timeout_s):
                    return self._no_deployment(job_id, version, progress, elapsed)
            else:
                outcome = self._step(job_id, version, deployment, progress, elapsed, timeout_s)
                if outcome is not None:
                    return outcome
            self.sleep(self.poll_interval_s)

    def _step(
        self,
        job_id: str,
        version: int,
        deployment: dict[str, Any],
        progress: ProgressCallback,
        elapsed: float,
        timeout_s: float,
    ) -> DeployOutcome | None:
        status = deployment.get("Status")
        groups = deployment.get("TaskGroups") or {}
        progress(WorkloadEvent(job_id, "starting", elapsed, describe_groups(groups)))
        if status == "successful":
            progress(WorkloadEvent(job_id, "healthy", elapsed, f"version {version}"))
            return DeployOutcome(job_id, "successful", version, describe_groups(groups))
        if status in ("failed", "cancelled"):
            self._failed(job_id, version, deployment, progress, elapsed, reason=None)
        if status != "running":
            return None  # paused, pending, initializing: keep watching
        # an unhealthy allocation is Nomad's to reschedule until the progress
        # deadline; Nomad fails the deployment itself if it never recovers
        if elapsed > timeout_s:
            self._fail_and_report(
                job_id,
                version,
                deployment,
                progress,
                elapsed,
                f"not healthy within {timeout_s:.0f}s",
            )
        if ready_to_promote(groups):
            self.api.promote(deployment["ID"])
            progress(WorkloadEvent(job_id, "starting", elapsed, "canaries healthy; promoted"))
        return None

    def _fail_and_report(
        self,
        job_id: str,
        version: int,
        deployment: dict[str, Any],
        progress: ProgressCallback,
        elapsed: float,
        reason: str,
    ) -> None:
        answer = self.api.fail(deployment["ID"])
        reverted = answer.get("RevertedJobVersion")
        self._failed(
            job_id, version, deployment, progress, elapsed, reason=reason, reverted=reverted
        )

    def _failed(
        self,
        job_id: str,
        version: int,
        deployment: dict[str, Any],
        progress: ProgressCallback,
        elapsed: float,
        *,
        reason: str | None,
        reverted: int | None = None,
    ) -> None:
        description = deployment.get("StatusDescription") or deployment.get("Status") or ""
        why = f"{reason}; opsctl marked the deployment failed" if reason else description
        if reverted is not None:
            revert = f"Nomad is reverting to version {reverted}"
        elif any(g.get("AutoRevert") for g in (deployment.get("TaskGroups") or {}).values()):
            revert = "auto_revert is on, so Nomad reverts to the last stable version"
        else:
            revert = "auto_revert is off: the failed version stays; use `opsctl rollback`"
        progress(WorkloadEvent(job_id, "failed", elapsed, why))
        raise ServiceFailedError(
            f"deployment of '{job_id}' version {version} failed: {why}. {revert}.",
            hint=f"see `nomad deployment status {deployment.get('ID', '')}` and the allocation logs",
        )

    def _no_deployment(
        self, job_id: str, version: int, progress: ProgressCallback, elapsed: float
    ) -> DeployOutcome:
        # Nomad creates no deployment when no allocation needs replacing
        progress(
            WorkloadEvent(job_id, "healthy", elapsed, f"version {version}, no deployment needed")
        )
        return DeployOutcome(job_id, "successful", version, "no deployment was needed")

    def _registered_version(self, job_id: str, modify_index: int) -> int:
        job = self.api.job(job_id) or {}
        if modify_index and int(job.get("JobModifyIndex") or 0) != modify_index:
            raise NomadConflictError(
                f"job '{job_id}' was registered, then changed again by someone else "
                f"before opsctl could follow its deployment (index {modify_index} -> "
                f"{job.get('JobModifyIndex')}); not following someone else's change",
                hint="see `nomad job history` to find out who changed it",
            )
        return int(job.get("Version") or 0)


def ready_to_promote(groups: dict[str, Any]) -> bool:
    """True when some group waits for a manual promotion (canaries, not promoted,
    no ``AutoPromote``) and every canary of every such group is placed and healthy."""
    waiting = [
        g
        for g in groups.values()
        if int(g.get("DesiredCanaries") or 0) > 0
        and not g.get("Promoted")
        and not g.get("AutoPromote")
    ]
    return bool(waiting) and all(
        int(g.get("HealthyAllocs") or 0) >= int(g["DesiredCanaries"])
        and len(g.get("PlacedCanaries") or []) >= int(g["DesiredCanaries"])
        for g in waiting
    )


def describe_groups(groups: dict[str, Any]) -> str:
    """``group: placed/total placed, N healthy, M unhealthy, canaries c/d`` per group."""
    parts = []
    for name, g in sorted(groups.items()):
        text = (
            f"{name}: {g.get('PlacedAllocs', 0)}/{g.get('DesiredTotal', 0)} placed, "
            f"{g.get('HealthyAllocs', 0)} healthy, {g.get('UnhealthyAllocs', 0)} unhealthy"
        )
        if int(g.get("DesiredCanaries") or 0):
            promoted = ", promoted" if g.get("Promoted") else ""
            text += (
                f", canaries {len(g.get('PlacedCanaries') or [])}/{g['DesiredCanaries']}{promoted}"
            )
        parts.append(text)
    return "; ".join(parts)


def _image_of(job: dict[str, Any]) -> str:
    for group in job.get("TaskGroups") or []:
        for task in group.get("Tasks") or []:
            image = (task.get("Config") or {}).get("image")
            if image:
                return str(image)
    return ""
