"""FakeNomadCluster: a FAKE of Nomad's deployment lifecycle, not Nomad.

It models what the deployment engine relies on, in the API's shapes:
versions with EnforceIndex registration, a deployment per new version,
canaries that turn healthy or unhealthy, promotion (by the caller, or by
the fake itself for groups with ``AutoPromote``, one tick after the canaries
turned healthy, as Nomad does after ``min_healthy_time``), the progress
deadline, failing a deployment and auto-revert to the last stable version,
and reverts with EnforcePriorVersion. Time advances one tick per read of the
deployment. Behaviour verified only here (not against a real agent) is
listed in docs/cluster.md.

Every call is recorded in :attr:`FakeNomadCluster.requests` with what was
sent and the caller's clock at the time, so tests assert what the engine
decided and sent, not what the fake made of it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ops_cli.scheduler.nomad.client import NomadConflictError, NomadError


@dataclass(frozen=True)
class Request:
    """One call the engine made: the endpoint, what it sent, and when (its clock)."""

    endpoint: str
    sent: dict[str, Any] = field(default_factory=dict)
    at: float = 0.0


class FakeNomadCluster:
    """One job's history and deployments. ``canaries`` decides how new
    allocations behave: "healthy", "unhealthy" or "stuck" (never healthy).
    ``clock`` is the caller's clock, stamped on each recorded request."""

    def __init__(
        self,
        *,
        canaries: str = "healthy",
        progress_deadline_ticks: int = 50,
        clock: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.canaries = canaries
        self.progress_deadline_ticks = progress_deadline_ticks
        self.clock = clock
        self.versions_of: dict[str, list[dict[str, Any]]] = {}
        self.deployments: dict[str, dict[str, Any]] = {}
        self.ticks: dict[str, int] = {}
        self.healthy_since: dict[str, int] = {}
        self.requests: list[Request] = []
        self.index = 100

    def sent(self, endpoint: str) -> list[Request]:
        """The recorded requests to ``endpoint`` (register, revert, promote, fail ...)."""
        return [r for r in self.requests if r.endpoint == endpoint]

    def writes(self) -> list[str]:
        """The endpoints of every write the engine sent, in order."""
        reads = ("job", "versions", "latest_deployment")
        return [r.endpoint for r in self.requests if r.endpoint not in reads]

    def _record(self, endpoint: str, **sent: Any) -> None:
        self.requests.append(Request(endpoint, copy.deepcopy(sent), self.clock()))

    # -- setup helpers ----------------------------------------------------------

    def seed(self, job: dict[str, Any], *, stable: bool = True) -> dict[str, Any]:
        """A version registered (and deployed) before the test starts."""
        return self._store(job, stable=stable)

    def someone_else_registers(self, job_id: str) -> None:
        """A concurrent change by another operator."""
        self._store(copy.deepcopy(self.current(job_id)), stable=False)

    def current(self, job_id: str) -> dict[str, Any]:
        return self.versions_of[job_id][-1]

    # -- the API the engine uses ------------------------------------------------

    def job(self, job_id: str) -> dict[str, Any] | None:
        self._record("job", job_id=job_id)
        history = self.versions_of.get(job_id)
        return copy.deepcopy(history[-1]) if history else None

    def versions(self, job_id: str) -> list[dict[str, Any]]:
        self._record("versions", job_id=job_id)
        return [copy.deepcopy(v) for v in reversed(self.versions_of.get(job_id, []))]

    def register(self, job: dict[str, Any], *, modify_index: int) -> dict[str, Any]:
        self._record("register", job=job, enforce_index=True, job_modify_index=modify_index)
        history = self.versions_of.get(job["ID"])
        actual = history[-1]["JobModifyIndex"] if history else 0
        if actual != modify_index:
            raise NomadConflictError(
                f"cannot register job '{job['ID']}': it was changed by someone else "
                f"(Nomad: Enforcing job modify index {modify_index}: job exists with "
                f"conflicting job modify index: {actual}); nothing was overwritten",
                status=500,
            )
        stored = self._store(job, stable=False)
        self._start_deployment(stored)
        return {"EvalID": "eval", "JobModifyIndex": stored["JobModifyIndex"], "Warnings": ""}

    def revert(self, job_id: str, version: int, *, prior_version: int) -> dict[str, Any]:
        self._record("revert", job_id=job_id, version=version, enforce_prior_version=prior_version)
        current = self.current(job_id)
        if current["Version"] != prior_version:
            raise NomadConflictError(
                f"cannot revert job '{job_id}': it was changed by someone else (Nomad: Current "
                f"job has version {current['Version']}; enforcing version {prior_version})",
                status=500,
            )
        target = next(v for v in self.versions_of[job_id] if v["Version"] == version)
        stored = self._store(copy.deepcopy(target), stable=False)
        self._start_deployment(stored)
        return {"EvalID": "eval", "JobModifyIndex": stored["JobModifyIndex"]}

    def latest_deployment(self, job_id: str) -> dict[str, Any] | None:
        self._record("latest_deployment", job_id=job_id)
        deployment = self.deployments.get(job_id)
        if deployment is None:
            return None
        self._advance(job_id, deployment)
        return copy.deepcopy(deployment)

    def promote(self, deployment_id: str) -> dict[str, Any]:
        self._record("promote", deployment_id=deployment_id)
        deployment = self._by_id(deployment_id)
        group = _group(deployment)
        if deployment["Status"] != "running" or group["HealthyAllocs"] < group["DesiredCanaries"]:
            raise NomadError("HTTP 500: deployment cannot be promoted", status=500)
        if group["Promoted"]:
            raise NomadError("HTTP 500: deployment already promoted", status=500)
        group["Promoted"] = True
        return {"EvalID": "eval", "DeploymentModifyIndex": self._next_index()}

    def fail(self, deployment_id: str) -> dict[str, Any]:
        self._record("fail", deployment_id=deployment_id)
        deployment = self._by_id(deployment_id)
        reverted = self._fail(deployment, "Deployment marked as failed")
        return {
            "EvalID": "eval",
            "DeploymentModifyIndex": self._next_index(),
            "RevertedJobVersion": reverted,
        }

    # -- the lifecycle ----------------------------------------------------------

    def _store(self, job: dict[str, Any], *, stable: bool) -> dict[str, Any]:
        history = self.versions_of.setdefault(job["ID"], [])
        stored = copy.deepcopy(job)
        stored.update(
            Version=len(history),
            Stable=stable,
            JobModifyIndex=self._next_index(),
            Status="running",
        )
        history.append(stored)
        return stored

    def _start_deployment(self, job: dict[str, Any]) -> None:
        group = job["TaskGroups"][0]
        self.deployments[job["ID"]] = {
            "ID": f"dep-{job['ID']}-v{job['Version']}",
            "JobID": job["ID"],
            "JobVersion": job["Version"],
            "Status": "running",
            "StatusDescription": "Deployment is running",
            "TaskGroups": {
                group["Name"]: {
                    "AutoRevert": group["Update"]["AutoRevert"],
                    "AutoPromote": group["Update"]["AutoPromote"],
                    "Promoted": False,
                    "PlacedCanaries": [],
                    "DesiredCanaries": group["Update"]["Canary"],
                    "DesiredTotal": group["Count"],
                    "PlacedAllocs": 0,
                    "HealthyAllocs": 0,
                    "UnhealthyAllocs": 0,
                }
            },
        }
        self.ticks[job["ID"]] = 0
        self.healthy_since.pop(job["ID"], None)

    def _advance(self, job_id: str, deployment: dict[str, Any]) -> None:
        if deployment["Status"] != "running":
            return
        self.ticks[job_id] += 1
        group = _group(deployment)
        if self.ticks[job_id] > self.progress_deadline_ticks:
            self._fail(deployment, "Failed due to progress deadline")
            return
        wanted = group["DesiredCanaries"] if not group["Promoted"] else group["DesiredTotal"]
        if group["DesiredCanaries"] and not group["PlacedCanaries"]:
            group["PlacedCanaries"] = [f"alloc-{i}" for i in range(group["DesiredCanaries"])]
        group["PlacedAllocs"] = max(group["PlacedAllocs"], wanted)
        if self.canaries == "healthy":
            group["HealthyAllocs"] = wanted
        elif self.canaries == "unhealthy":
            group["UnhealthyAllocs"] = 1
        self._auto_promote(job_id, group)
        needs_promotion = group["DesiredCanaries"] and not group["Promoted"]
        if not needs_promotion and group["HealthyAllocs"] >= group["DesiredTotal"]:
            deployment.update(
                Status="successful", StatusDescription="Deployment completed successfully"
            )
            self.current(job_id)["Stable"] = True

    def _auto_promote(self, job_id: str, group: dict[str, Any]) -> None:
        """Nomad promotes an ``AutoPromote`` group itself once every canary has been
        healthy for ``min_healthy_time``: here, one tick after they all turned healthy."""
        canaries = group["DesiredCanaries"]
        if not canaries or group["Promoted"] or not group["AutoPromote"]:
            return
        if group["HealthyAllocs"] < canaries:
            return
        since = self.healthy_since.setdefault(job_id, self.ticks[job_id])
        if self.ticks[job_id] > since:
            group["Promoted"] = True

    def _fail(self, deployment: dict[str, Any], description: str) -> int | None:
        job_id = deployment["JobID"]
        deployment["Status"] = "failed"
        stable = [v for v in self.versions_of[job_id] if v["Stable"]]
        if not _group(deployment)["AutoRevert"] or not stable:
            deployment["StatusDescription"] = description
            return None
        target = stable[-1]
        deployment["StatusDescription"] = (
            f"{description} - rolling back to job version {target['Version']}"
        )
        reverted = self._store(copy.deepcopy(target), stable=True)
        reverted["Stable"] = True
        return int(target["Version"])

    def _by_id(self, deployment_id: str) -> dict[str, Any]:
        return next(d for d in self.deployments.values() if d["ID"] == deployment_id)

    def _next_index(self) -> int:
        self.index += 1
        return self.index


def _group(deployment: dict[str, Any]) -> dict[str, Any]:
    return next(iter(deployment["TaskGroups"].values()))
