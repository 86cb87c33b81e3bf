"""A job's health from what Nomad says of it: the job, its allocations, its deployment."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ops_cli.scheduler.base import Health, WorkloadStatus


def job_status(
    name: str,
    job: dict[str, Any] | None,
    allocations: list[dict[str, Any]],
    deployment: dict[str, Any] | None,
) -> WorkloadStatus:
    """Health rules: no job or a stopped one is STOPPED; every wanted instance
    running and healthy is HEALTHY; a running deployment is STARTING; failed
    allocations and none healthy is FAILED; anything else UNHEALTHY.
    ``instances`` counts healthy running allocations of the current version."""
    if job is None:
        return WorkloadStatus(name, Health.STOPPED, detail="no such job")
    version = int(job.get("Version") or 0)
    label = f"v{version}" + (" (stable)" if job.get("Stable") else "")
    if job.get("Stop") or job.get("Status") == "dead":
        return WorkloadStatus(name, Health.STOPPED, detail=f"job stopped, {label}", version=label)
    wanted = sum(int(g.get("Count") or 0) for g in job.get("TaskGroups") or [])
    current = [
        a for a in allocations if a.get("DesiredStatus") == "run" and a.get("JobVersion") == version
    ]
    healthy = [a for a in current if _alloc_healthy(a)]
    states = Counter(a.get("ClientStatus", "unknown") for a in current)
    detail = _detail(len(healthy), wanted, states, deployment, version)
    health = _health(len(healthy), wanted, states, deployment, version)
    return WorkloadStatus(name, health, detail=detail, instances=len(healthy), version=label)


def _alloc_healthy(alloc: dict[str, Any]) -> bool:
    if alloc.get("ClientStatus") != "running":
        return False
    verdict = (alloc.get("DeploymentStatus") or {}).get("Healthy")
    if verdict is not None:
        return bool(verdict)
    # rescheduled outside a deployment: Nomad has no verdict, trust the task states
    tasks = (alloc.get("TaskStates") or {}).values()
    return bool(tasks) and all(t.get("State") == "running" for t in tasks)


def _health(
    healthy: int,
    wanted: int,
    states: Counter[str],
    deployment: dict[str, Any] | None,
    version: int,
) -> Health:
    deploying = (
        deployment is not None
        and deployment.get("JobVersion") == version
        and deployment.get("Status") in ("running", "paused", "pending", "initializing")
    )
    if healthy >= wanted > 0 and not deploying:
        return Health.HEALTHY
    if deploying or states.get("pending"):
        return Health.STARTING
    if states.get("failed") and not healthy:
        return Health.FAILED
    return Health.UNHEALTHY


def _detail(
    healthy: int,
    wanted: int,
    states: Counter[str],
    deployment: dict[str, Any] | None,
    version: int,
) -> str:
    parts = [f"{healthy}/{wanted} healthy"]
    parts += [f"{n} {state}" for state, n in sorted(states.items()) if state != "running"]
    if deployment is not None:
        description = deployment.get("StatusDescription") or deployment.get("Status", "")
        parts.append(f"deployment v{deployment.get('JobVersion')}: {description}")
    return f"job v{version}, " + ", ".join(parts)
