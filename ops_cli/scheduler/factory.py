"""The one place that knows every scheduler: build the one an environment names.

Generic code asks :meth:`ops_cli.environment.Environment.scheduler`, which asks this
module; nothing else outside ``scheduler/local`` and ``scheduler/nomad`` imports them
(``tests/test_import_rules.py`` holds to it). The implementations are imported when
chosen, so an installation without the cluster extra still runs locally.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ops_cli.errors import ConfigError
from ops_cli.scheduler.base import Scheduler

if TYPE_CHECKING:
    from ops_cli.environment import Environment


def build_scheduler(env: Environment, *, inspect_only: bool = False) -> Scheduler:
    """The scheduler ``env.config.scheduler`` names, built for its enabled workloads.

    With ``inspect_only`` (status, logs, down) unset secrets are not an error: those
    commands read state and never start anything. Raises :class:`ConfigError` for a
    scheduler this installation does not have, or for a workload that cannot be
    resolved (unknown placeholder, port, or a missing executable).
    """
    secrets = env.secrets.lenient() if inspect_only else env.secrets
    if env.config.scheduler == "local":
        from ops_cli.scheduler.local.scheduler import LocalScheduler
        from ops_cli.scheduler.local.workload import resolve_local_workloads

        workloads = resolve_local_workloads(env.config, env.catalog, env.paths, secrets)
        return LocalScheduler(env.config, workloads, env.paths)
    if env.config.scheduler == "nomad":
        from ops_cli.scheduler.nomad.factory import build_nomad_scheduler

        return build_nomad_scheduler(
            env.cluster_config(), env.catalog, env.secrets, env.cluster_environ()
        )
    raise ConfigError(
        f"environment '{env.name}': scheduler '{env.config.scheduler}' is not available "
        "in this installation"
    )
