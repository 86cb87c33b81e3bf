"""The infrastructure flows of ``up``, ``plan``, ``down`` and ``drift``.

``provision_then`` is the heart of ``opsctl up`` for a cloud environment:
plan, show (through ``confirm``), apply, store the outputs, then hand them
to ``deploy``. Nothing is applied unless ``confirm`` says yes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ops_cli.environment import Environment
from ops_cli.errors import ConfigError, NotConfirmedError
from ops_cli.locking import environment_lock
from ops_cli.provision.base import (
    DriftReport,
    InfraPlan,
    Outputs,
    ProgressCallback,
    Provisioner,
    no_progress,
)
from ops_cli.provision.tfvars import is_protected
from ops_cli.state import read_json, write_json_atomic


@dataclass(frozen=True)
class ProvisionReport:
    """What ``provision_then`` did: the plan, whether it was applied, the outputs."""

    plan: InfraPlan
    applied: bool
    outputs: Outputs | None


def provision_then(
    env: Environment,
    confirm: Callable[[InfraPlan], bool],
    deploy: Callable[[Outputs], None],
    *,
    provisioner: Provisioner | None = None,
    progress: ProgressCallback = no_progress,
    lock_timeout_s: float = 0,
) -> ProvisionReport:
    """Plan, confirm, apply, store outputs, then ``deploy(outputs)``.

    ``confirm`` sees the plan and is asked only when it changes something; a
    no answer returns at once (``applied`` False, no outputs, no deploy). With
    nothing to change, the recorded outputs are read and deploy still runs.
    The environment's lock is held while the infrastructure changes and
    released before ``deploy``, which may take it itself.
    """
    provisioner = provisioner or _default_provisioner(env)
    with environment_lock(env.paths.lock_file, environment=env.name, timeout_s=lock_timeout_s):
        env.paths.create()
        plan = provisioner.plan(progress)
        if plan.has_changes and not confirm(plan):
            return ProvisionReport(plan, False, None)
        outputs = provisioner.apply(plan, progress) if plan.has_changes else provisioner.outputs()
        store_outputs(env, outputs)
    deploy(outputs)
    return ProvisionReport(plan, plan.has_changes, outputs)


def bootstrap(
    env: Environment,
    confirm: Callable[[InfraPlan], bool],
    *,
    progress: ProgressCallback = no_progress,
) -> Outputs:
    """``infra bootstrap``: the account-wide state bucket, lock table and shared
    buckets. Plan, then ``confirm`` (asked only when the plan changes something),
    then apply; returns the outputs (the recorded ones when nothing changes).

    Raises :class:`NotConfirmedError` when ``confirm`` answers no (nothing applied).
    """
    from ops_cli.provision.factory import bootstrap_for

    provisioner = bootstrap_for(env)
    planned = provisioner.plan(progress)
    if not planned.has_changes:
        return provisioner.outputs()
    if not confirm(planned):
        raise NotConfirmedError(f"bootstrap of '{env.name}' not confirmed; nothing was applied")
    return provisioner.apply(planned, progress)


def plan(
    env: Environment,
    *,
    provisioner: Provisioner | None = None,
    progress: ProgressCallback = no_progress,
) -> InfraPlan:
    """What ``up`` would change in the infrastructure; changes nothing."""
    return (provisioner or _default_provisioner(env)).plan(progress)


def drift(
    env: Environment,
    *,
    provisioner: Provisioner | None = None,
    progress: ProgressCallback = no_progress,
) -> DriftReport:
    """Resources changed outside opsctl since the last apply; changes nothing."""
    return (provisioner or _default_provisioner(env)).drift(progress)


def destroy(
    env: Environment,
    confirm: Callable[[str], bool],
    *,
    allow_prod_destroy: bool = False,
    provisioner: Provisioner | None = None,
    progress: ProgressCallback = no_progress,
    lock_timeout_s: float = 0,
) -> bool:
    """Destroy the environment's infrastructure after two confirmations.

    A protected environment (``aws.production`` or ``aws.deletion_protection``) is refused with :class:`ConfigError`
    unless ``allow_prod_destroy``. ``confirm`` receives each question and
    must answer yes twice; returns False (nothing destroyed) otherwise.
    """
    if is_protected(env.config) and not allow_prod_destroy:
        raise ConfigError(
            f"refusing to destroy '{env.name}': it is a protected environment "
            f"(aws.production or aws.deletion_protection in environments/{env.name}.yaml)",
            hint="only with --allow-prod-destroy, after turning off deletion protection "
            "(database and load balancers) on purpose",
        )
    for question in destroy_questions(env.name):
        if not confirm(question):
            return False
    provisioner = provisioner or _default_provisioner(env)
    with environment_lock(env.paths.lock_file, environment=env.name, timeout_s=lock_timeout_s):
        env.paths.create()
        provisioner.destroy(progress)
        outputs_path(env).unlink(missing_ok=True)
    return True


def destroy_questions(name: str) -> tuple[str, str]:
    """The two questions ``destroy`` asks, in order."""
    return (
        f"Destroy ALL infrastructure of '{name}' (network, cluster, database, load balancer)?",
        f"Really destroy '{name}'? Its database and its cluster cannot be recovered "
        "except from backups.",
    )


def outputs_path(env: Environment) -> Path:
    """The file where the last apply's outputs are stored."""
    return env.paths.infra_outputs_file


def store_outputs(env: Environment, outputs: Outputs) -> None:
    """Record ``outputs`` in the environment's folder (atomically), creating the
    folder with its marker when it is missing."""
    env.paths.create()
    write_json_atomic(outputs_path(env), outputs.to_dict(), mode=0o600)


def stored_outputs(env: Environment) -> Outputs | None:
    """The outputs of the last apply, without calling any tool; None before it."""
    data = read_json(outputs_path(env))
    return None if data is None else Outputs(data)


def _default_provisioner(env: Environment) -> Provisioner:
    from ops_cli.provision.factory import provisioner_for

    return provisioner_for(env)
