"""``opsctl plan``: what ``up`` would change, infrastructure first, then the jobs.

Also the guard every cluster command shares (:func:`cluster_scheduler`): the
environment's scheduler, when it has the optional ability the command needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ops_cli.environment import Environment
from ops_cli.errors import ConfigError
from ops_cli.provision import flow
from ops_cli.provision.base import InfraPlan, ProgressCallback, no_progress
from ops_cli.scheduler.abilities import Planner
from ops_cli.scheduler.plan import JobPlan


@dataclass(frozen=True)
class PlanReport:
    """The merged plan of an environment.

    ``infrastructure`` is None for an environment without a provisioner (or when one
    workload was named); ``jobs`` is None when the cluster does not exist yet (the
    infrastructure plan creates it and the first ``up`` creates every job).
    """

    environment: str
    infrastructure: InfraPlan | None
    jobs: list[JobPlan] | None

    @property
    def changed(self) -> bool:
        """True when applying would change anything (a cluster still to create does)."""
        if self.jobs is None or (self.infrastructure and self.infrastructure.has_changes):
            return True
        return any(p.has_changes for p in self.jobs)


def cluster_scheduler(env: Environment, ability: type[Any]) -> Any:
    """``env``'s scheduler if it implements ``ability`` (a protocol of
    :mod:`ops_cli.scheduler.abilities`), after checking the API key its jobs need.

    Raises :class:`ConfigError` naming the scheduler when it lacks the ability (every
    local environment does), and as :meth:`Environment.require_api_key`.
    """
    scheduler: Any = None
    if not env.config.is_local:
        env.require_api_key()
        scheduler = env.scheduler()
    if scheduler is None or not isinstance(scheduler, ability):
        verb = ability.__name__.removesuffix("Capable").lower()
        raise ConfigError(
            f"environment '{env.name}' uses scheduler '{env.config.scheduler}', which "
            f"cannot {verb}; use a cluster environment (scheduler: nomad), e.g. --env staging"
        )
    return scheduler


def plan(
    env: Environment,
    workload: str | None = None,
    *,
    infra_progress: ProgressCallback = no_progress,
    show_infra: Callable[[InfraPlan], None] | None = None,
) -> PlanReport:
    """Plan the infrastructure (provisioned environments, unless ``workload`` is named),
    handing it to ``show_infra`` as soon as it is known, then the jobs (all, or only
    ``workload``'s). Changes nothing.

    Raises :class:`ConfigError` for a local environment or an unknown workload, and
    :class:`~ops_cli.errors.OpsError` when a tool or the cluster fails to plan.
    """
    env.require_api_key()
    infra = None
    if env.config.provisioner != "none" and not workload:
        infra = flow.plan(env, progress=infra_progress)
        if show_infra is not None:
            show_infra(infra)
    if infra is not None and infra.adds and flow.stored_outputs(env) is None:
        return PlanReport(env.name, infra, None)  # no cluster to ask yet
    planner: Planner = cluster_scheduler(env, Planner)
    jobs = planner.plan([workload] if workload else None)
    return PlanReport(env.name, infra, jobs)
