"""What the commands do, without the command line: up, status, restart, down, logs.

Each function takes an opened :class:`~ops_cli.environment.Environment`, holds
the environment's lock where it changes something, and returns plain data the
CLI renders (as a table or as JSON).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ops_cli.bootstrap import ensure_buckets, s3_client
from ops_cli.discovery.static import write_registry
from ops_cli.environment import Environment
from ops_cli.errors import ConfigError, OpsError
from ops_cli.locking import environment_lock
from ops_cli.scheduler.base import ApplyResult, ProgressCallback, WorkloadStatus
from ops_cli.scheduler.local.workload import resolve_ports
from ops_cli.state import read_json, write_json_atomic


@dataclass
class UpReport:
    """The outcome of ``up``: what started, what was already there, where to go."""

    environment: str
    result: ApplyResult
    statuses: list[WorkloadStatus]
    secrets_generated: list[str] = field(default_factory=list)
    buckets_created: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.result.changed or bool(self.secrets_generated or self.buckets_created)


WorkloadPlanConfirm = Callable[[list[Any]], bool]
"""Sees the scheduler's plans (cluster schedulers) and answers whether to apply."""


def up(
    env: Environment,
    progress: ProgressCallback,
    *,
    lock_timeout_s: float = 0,
    confirm_workloads: WorkloadPlanConfirm | None = None,
) -> UpReport:
    """Bring every enabled workload up and healthy; idempotent.

    For a scheduler that can plan (Nomad), the plans are shown to
    ``confirm_workloads`` first when it is given, and nothing is applied unless
    it answers yes (:class:`~ops_cli.errors.OpsError` "not confirmed").

    Raises :class:`~ops_cli.errors.LockedError` when another command holds the
    environment, :class:`~ops_cli.errors.PortInUseError` for a taken port and
    :class:`~ops_cli.errors.ServiceFailedError` when a workload does not come up.
    """
    env.paths.create()
    with environment_lock(env.paths.lock_file, environment=env.name, timeout_s=lock_timeout_s):
        generated = env.secrets.ensure_generated(env.local_secret_names())
        scheduler = env.scheduler()
        _confirm_plans(scheduler, confirm_workloads)
        result = scheduler.up(progress)
        buckets = _ensure_local_buckets(env)
        statuses = scheduler.status()
        if env.config.discovery == "static":
            write_registry(env.paths.registry_file, statuses)
        _record_state(env, "up", statuses)
    return UpReport(env.name, result, statuses, generated, buckets)


@dataclass
class CloudUpReport:
    """``up`` of a provisioned environment: the infrastructure, then the workloads."""

    provision: Any  # ops_cli.provision.flow.ProvisionReport
    workloads: UpReport | None


def up_cloud(
    env: Environment,
    progress: ProgressCallback,
    *,
    confirm_infra: Callable[[Any], bool],
    confirm_workloads: WorkloadPlanConfirm | None,
    infra_progress: Callable[[str], None],
    lock_timeout_s: float = 0,
) -> CloudUpReport:
    """Provision (plan -> ``confirm_infra`` -> apply -> outputs stored), then deploy
    the workloads to the cluster the outputs name. Declining the infrastructure
    plan stops before anything is applied or deployed."""
    from ops_cli.provision import flow

    deployed: list[UpReport] = []

    def deploy(_outputs: Any) -> None:
        deployed.append(
            up(env, progress, lock_timeout_s=lock_timeout_s, confirm_workloads=confirm_workloads)
        )

    report = flow.provision_then(
        env, confirm_infra, deploy, progress=infra_progress, lock_timeout_s=lock_timeout_s
    )
    return CloudUpReport(report, deployed[0] if deployed else None)


def status(env: Environment) -> list[WorkloadStatus]:
    """The health of every enabled workload; needs no lock and changes nothing."""
    return env.scheduler(inspect_only=True).status()


def restart(
    env: Environment, name: str, progress: ProgressCallback, *, lock_timeout_s: float = 0
) -> None:
    """Restart workload ``name`` and wait until it is healthy."""
    _require_enabled(env, name)
    with environment_lock(env.paths.lock_file, environment=env.name, timeout_s=lock_timeout_s):
        env.scheduler().restart(name, progress)


def logs(env: Environment, name: str, *, lines: int, follow: bool) -> Iterator[str]:
    """The output of workload ``name``."""
    _require_enabled(env, name)
    return env.scheduler(inspect_only=True).logs(name, lines=lines, follow=follow)


@dataclass
class DownReport:
    environment: str
    stopped: list[str]
    purged: bool


def down(env: Environment, *, purge: bool, lock_timeout_s: float = 0) -> DownReport:
    """Stop every workload; with ``purge``, also delete the state directory (data,
    logs, secrets). Without ``purge`` every byte of data stays."""
    if not env.paths.root.exists():
        return DownReport(env.name, [], False)
    with environment_lock(env.paths.lock_file, environment=env.name, timeout_s=lock_timeout_s):
        stopped = env.scheduler(inspect_only=True).down()
        if purge:
            shutil.rmtree(env.paths.root)
        else:
            _record_state(env, "down", [])
    return DownReport(env.name, stopped, purge)


def down_cloud(
    env: Environment,
    *,
    confirm: Callable[[str], bool],
    allow_prod_destroy: bool,
    infra_progress: Callable[[str], None],
    lock_timeout_s: float = 0,
) -> DownReport:
    """Stop the workloads, then destroy the infrastructure after two confirmations.

    A protected environment (prod) is refused before anything stops unless
    ``allow_prod_destroy``. Returns with ``purged`` False when a question is declined.
    """
    from ops_cli.provision import flow
    from ops_cli.provision.tfvars import PROTECTED_ENVIRONMENTS

    if env.name in PROTECTED_ENVIRONMENTS and not allow_prod_destroy:
        flow.destroy(env, confirm, allow_prod_destroy=False)  # raises with the reason
    questions = flow.destroy_questions(env.name)
    if not all(confirm(question) for question in questions):
        return DownReport(env.name, [], False)
    stopped: list[str] = []
    if flow.stored_outputs(env) is not None:
        with environment_lock(env.paths.lock_file, environment=env.name, timeout_s=lock_timeout_s):
            stopped = env.scheduler(inspect_only=True).down()
    flow.destroy(
        env,
        lambda _question: True,  # both questions were answered above
        allow_prod_destroy=allow_prod_destroy,
        progress=infra_progress,
        lock_timeout_s=lock_timeout_s,
    )
    return DownReport(env.name, stopped, True)


def last_state(env: Environment) -> dict | None:
    """What the last ``up``/``down`` recorded, or None."""
    return read_json(env.paths.state_file)


def _confirm_plans(scheduler: Any, confirm: WorkloadPlanConfirm | None) -> None:
    from ops_cli.scheduler.nomad.abilities import Planner

    if confirm is None or not isinstance(scheduler, Planner):
        return
    plans = scheduler.plan()
    if any(p.has_changes for p in plans) and not confirm(plans):
        raise OpsError("the workload plan was not confirmed; nothing was deployed")


def _require_enabled(env: Environment, name: str) -> None:
    env.catalog[name]  # raises for a name the catalog does not know
    if name not in env.config.enabled_workloads():
        enabled = ", ".join(env.config.enabled_workloads())
        raise ConfigError(f"workload '{name}' is not enabled in '{env.name}'; enabled: {enabled}")


def _ensure_local_buckets(env: Environment) -> list[str]:
    storage = env.config.storage
    local_gateway = storage.kind == "seaweedfs" and env.config.is_local
    if not local_gateway or "storage" not in env.config.enabled_workloads():
        return []
    port = resolve_ports(env.config, env.catalog)["storage"]["s3"]
    client = s3_client(
        f"http://{env.config.network.bind_host}:{port}",
        env.secrets.require(storage.access_key_secret or ""),
        env.secrets.require(storage.secret_key_secret or ""),
        storage.region,
    )
    return ensure_buckets(client, storage.buckets.model_dump().values())


def _record_state(env: Environment, action: str, statuses: list[WorkloadStatus]) -> None:
    write_json_atomic(
        env.paths.state_file,
        {
            "environment": env.name,
            "last_action": action,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "workloads": {
                s.name: {
                    "health": s.health.value,
                    "endpoints": {e.label: e.url for e in s.endpoints},
                }
                for s in statuses
            },
        },
        mode=0o644,
    )
