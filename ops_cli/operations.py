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
from ops_cli.database import drop_databases, ensure_databases, owned_databases
from ops_cli.discovery.resolve import storage_endpoint
from ops_cli.discovery.static import write_registry
from ops_cli.environment import Environment
from ops_cli.errors import ConfigError, NotConfirmedError
from ops_cli.locking import environment_lock
from ops_cli.scheduler.base import ApplyResult, ProgressCallback, WorkloadStatus
from ops_cli.scheduler.shared import missing_tools
from ops_cli.secrets import secret_variable
from ops_cli.state import check_purgeable, read_json, write_json_atomic
from ops_cli.traffic import Traffic, service_traffic


@dataclass
class UpReport:
    """The outcome of ``up``: what started, what was already there, where to go."""

    environment: str
    result: ApplyResult
    statuses: list[WorkloadStatus]
    secrets_generated: list[str] = field(default_factory=list)
    buckets_created: list[str] = field(default_factory=list)
    databases_created: list[str] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)
    """Workloads not started because their command is missing, with how to install it."""

    @property
    def changed(self) -> bool:
        """True when ``up`` started a workload or created a secret, bucket or database."""
        made = self.secrets_generated or self.buckets_created or self.databases_created
        return self.result.changed or bool(made)


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
    with environment_lock(env.paths.lock_file, environment=env.name, timeout_s=lock_timeout_s):
        env.paths.create()  # under the lock: a purge holding it cannot delete it mid-way
        generated = env.secrets.ensure_generated(env.local_secret_names())
        env.require_api_key()
        scheduler = env.scheduler()
        _confirm_plans(scheduler, confirm_workloads)
        databases = ensure_databases(env.config, env.secrets)
        result = scheduler.up(progress)
        statuses = scheduler.status()
        if env.config.discovery == "static":
            write_registry(env.paths.registry_file, statuses)
        buckets = _ensure_local_buckets(env)  # the gateway found as every command finds it
        _record_state(env, "up", statuses)
    left_out = missing_tools(env.config, env.catalog) if env.config.is_local else {}
    return UpReport(env.name, result, statuses, generated, buckets, databases, left_out)


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

    env.require_api_key()  # before anything is applied
    deployed: list[UpReport] = []

    def deploy(_outputs: Any) -> None:
        deployed.append(
            up(env, progress, lock_timeout_s=lock_timeout_s, confirm_workloads=confirm_workloads)
        )

    report = flow.provision_then(
        env, confirm_infra, deploy, progress=infra_progress, lock_timeout_s=lock_timeout_s
    )
    return CloudUpReport(report, deployed[0] if deployed else None)


def up_environment(
    env: Environment,
    progress: ProgressCallback,
    *,
    confirm_infra: Callable[[Any], bool],
    confirm_workloads: WorkloadPlanConfirm | None,
    infra_progress: Callable[[str], None],
    lock_timeout_s: float = 0,
) -> UpReport:
    """``opsctl up``: :func:`up` for an environment without a provisioner (local, or a
    cluster that exists already), else :func:`up_cloud` (infrastructure first).

    ``confirm_infra`` sees the infrastructure plan (an
    :class:`~ops_cli.provision.base.InfraPlan`) and ``confirm_workloads`` the job
    plans; either answering no raises :class:`~ops_cli.errors.NotConfirmedError`
    with nothing applied after the question. Other errors as :func:`up`.
    """
    if env.config.provisioner == "none":
        return up(env, progress, lock_timeout_s=lock_timeout_s, confirm_workloads=confirm_workloads)
    cloud = up_cloud(
        env,
        progress,
        confirm_infra=confirm_infra,
        confirm_workloads=confirm_workloads,
        infra_progress=infra_progress,
        lock_timeout_s=lock_timeout_s,
    )
    if cloud.workloads is None:
        raise NotConfirmedError("the infrastructure plan was declined; nothing was applied")
    return cloud.workloads


def status(env: Environment) -> list[WorkloadStatus]:
    """The health of every enabled workload; needs no lock and changes nothing."""
    return env.scheduler(inspect_only=True).status()


def traffic(statuses: list[WorkloadStatus]) -> dict[str, Traffic]:
    """Each service's request and server-error rates from the metrics workload's
    Prometheus (last five minutes); empty when it is not up."""
    return service_traffic(statuses)


def alert_delivery_note(env: Environment) -> str | None:
    """Why the metrics alerts reach no one, when they do not: on this machine, the
    ``alerts`` workload enabled and the monitoring webhook secret set nowhere. None
    otherwise (in a cluster the secret is an item of the job's Nomad Variable, which
    opsctl does not read)."""
    if env.config.scheduler != "local" or "alerts" not in env.config.enabled_workloads():
        return None
    secret = env.config.monitoring.webhook_url_secret
    if env.secrets.get(secret):
        return None
    return (
        f"alerts are sent nowhere: the webhook secret '{secret}' is not set "
        f"(export {secret_variable(secret)} or add it to {env.secrets.file}, then `up`); "
        "they still show in Prometheus and Alertmanager"
    )


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
    """The outcome of ``down``: the workloads stopped, whether the environment's data
    (local) or infrastructure (cloud) was deleted, and the databases dropped."""

    environment: str
    stopped: list[str]
    purged: bool
    databases_dropped: list[str] = field(default_factory=list)


def check_purge(env: Environment) -> None:
    """Raise :class:`~ops_cli.errors.RefusedError` (exit 2) naming the folder and why
    when ``down --purge`` would delete anything but this environment's own folder;
    silent when the folder does not exist (nothing to delete)."""
    if env.paths.root.exists() or env.paths.root.is_symlink():
        check_purgeable(env.paths)


def down(env: Environment, *, purge: bool, lock_timeout_s: float = 0) -> DownReport:
    """Stop every workload; with ``purge``, also delete the environment's folder (data,
    logs, secrets) and its own PostgreSQL databases, if it keeps its stores there.
    Without ``purge`` every byte of data stays.

    ``purge`` deletes only a folder opsctl created for this environment (see
    :func:`check_purge`); it is checked before anything stops and again under
    the environment's lock, which ``up`` holds while it creates the folder.
    """
    if purge:
        check_purge(env)
    if not env.paths.root.exists():
        return DownReport(env.name, [], False)
    dropped: list[str] = []
    with environment_lock(env.paths.lock_file, environment=env.name, timeout_s=lock_timeout_s):
        if purge:
            check_purge(env)
        stopped = env.scheduler(inspect_only=True).down()
        if purge:
            dropped = drop_databases(env.config, env.secrets)
            shutil.rmtree(env.paths.root)
        elif env.paths.owner() == env.name:
            _record_state(env, "down", [])
    return DownReport(env.name, stopped, purge, dropped)


def down_cloud(
    env: Environment,
    *,
    confirm: Callable[[str], bool],
    allow_prod_destroy: bool,
    infra_progress: Callable[[str], None],
    lock_timeout_s: float = 0,
) -> DownReport:
    """Stop the workloads, then destroy the infrastructure after two confirmations.

    A protected environment (``aws.production`` or ``aws.deletion_protection``) is refused before anything stops unless
    ``allow_prod_destroy``. Returns with ``purged`` False when a question is declined.
    """
    from ops_cli.provision import flow
    from ops_cli.provision.tfvars import is_protected

    if is_protected(env.config) and not allow_prod_destroy:
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


def purge_question(env: Environment) -> str:
    """The question ``down --purge`` asks before deleting a local environment's data."""
    databases = owned_databases(env.config)
    also = f" and its databases {', '.join(databases)}" if databases else ""
    return f"Delete ALL data of environment '{env.name}' in {env.paths.root}{also}?"


def down_environment(
    env: Environment,
    *,
    purge: bool,
    allow_prod_destroy: bool,
    confirm: Callable[[str], bool] | None,
    infra_progress: Callable[[str], None],
    lock_timeout_s: float = 0,
) -> DownReport:
    """``opsctl down``: :func:`down_cloud` for a provisioned environment (``purge`` is
    implied: its infrastructure is destroyed), else :func:`down`.

    ``confirm`` (None: every answer is yes) is asked :func:`purge_question` before a
    local purge, after the purge was found allowed, and the two destroy questions of
    a cloud environment. A no raises :class:`~ops_cli.errors.NotConfirmedError`
    before anything was deleted or destroyed.
    """
    answer = confirm or (lambda _question: True)
    if env.config.provisioner != "none":
        report = down_cloud(
            env,
            confirm=answer,
            allow_prod_destroy=allow_prod_destroy,
            infra_progress=infra_progress,
            lock_timeout_s=lock_timeout_s,
        )
        if not report.purged:
            raise NotConfirmedError("not confirmed; nothing was destroyed")
        return report
    if purge:
        check_purge(env)  # refused before any question
        if not answer(purge_question(env)):
            raise NotConfirmedError("not confirmed; nothing was deleted")
    return down(env, purge=purge, lock_timeout_s=lock_timeout_s)


def last_state(env: Environment) -> dict | None:
    """What the last ``up``/``down`` recorded, or None."""
    return read_json(env.paths.state_file)


def _confirm_plans(scheduler: Any, confirm: WorkloadPlanConfirm | None) -> None:
    from ops_cli.scheduler.abilities import Planner

    if confirm is None or not isinstance(scheduler, Planner):
        return
    plans = scheduler.plan()
    if any(p.has_changes for p in plans) and not confirm(plans):
        raise NotConfirmedError("the workload plan was not confirmed; nothing was deployed")


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
    client = s3_client(
        storage_endpoint(env),
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
