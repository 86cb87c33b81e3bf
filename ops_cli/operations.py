"""What the commands do, without the command line: up, status, restart, down, logs.

Each function takes an opened :class:`~ops_cli.environment.Environment`, holds
the environment's lock where it changes something, and returns plain data the
CLI renders (as a table or as JSON).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ops_cli.bootstrap import ensure_buckets, s3_client
from ops_cli.discovery.static import write_registry
from ops_cli.environment import Environment
from ops_cli.errors import ConfigError
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


def up(env: Environment, progress: ProgressCallback, *, lock_timeout_s: float = 0) -> UpReport:
    """Bring every enabled workload up and healthy; idempotent.

    Raises :class:`~ops_cli.errors.LockedError` when another command holds the
    environment, :class:`~ops_cli.errors.PortInUseError` for a taken port and
    :class:`~ops_cli.errors.ServiceFailedError` when a workload does not come up.
    """
    env.paths.create()
    with environment_lock(env.paths.lock_file, environment=env.name, timeout_s=lock_timeout_s):
        generated = env.secrets.ensure_generated(env.local_secret_names())
        scheduler = env.scheduler()
        result = scheduler.up(progress)
        buckets = _ensure_local_buckets(env)
        statuses = scheduler.status()
        write_registry(env.paths.registry_file, statuses)
        _record_state(env, "up", statuses)
    return UpReport(env.name, result, statuses, generated, buckets)


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


def last_state(env: Environment) -> dict | None:
    """What the last ``up``/``down`` recorded, or None."""
    return read_json(env.paths.state_file)


def _require_enabled(env: Environment, name: str) -> None:
    env.catalog[name]  # raises for a name the catalog does not know
    if name not in env.config.enabled_workloads():
        enabled = ", ".join(env.config.enabled_workloads())
        raise ConfigError(f"workload '{name}' is not enabled in '{env.name}'; enabled: {enabled}")


def _ensure_local_buckets(env: Environment) -> list[str]:
    storage = env.config.storage
    if storage.kind != "seaweedfs" or "storage" not in env.config.enabled_workloads():
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
