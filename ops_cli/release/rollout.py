"""The images of a release on a cluster environment: deploy them, roll them back.

Local environments run processes from this installation, not images, so there
is nothing to redeploy there; these functions return at once for them.
"""

from __future__ import annotations

from ops_cli.environment import Environment
from ops_cli.errors import ConfigError, OpsError
from ops_cli.release.manifest import ReleaseManifest
from ops_cli.scheduler.base import ProgressCallback


def platform_workloads(env: Environment) -> list[str]:
    """The enabled service workloads that run the platform image (no image of their own)."""
    return [
        name
        for name in env.config.enabled_workloads()
        if env.catalog[name].kind == "service" and env.catalog[name].image.repository is None
    ]


def deploy_images(
    env: Environment, manifest: ReleaseManifest, progress: ProgressCallback, deployed: list[str]
) -> None:
    """Deploy the bundle's platform image (pinned by digest) to every platform workload
    of a cluster ``env``, appending each workload to ``deployed`` once its new version
    is healthy. Raises OpsError when a deployment fails: Nomad has then reverted that
    job itself (auto_revert), so it is not in ``deployed``; the caller rolls back
    the others."""
    if env.config.is_local:
        return
    from ops_cli.scheduler.abilities import Deployer

    image = manifest.image_for(env.config.image.repository)
    if image is None:
        raise ConfigError(
            f"release {manifest.release_id} has no image of {env.config.image.repository}, "
            f"which '{env.name}' runs"
        )
    scheduler = env.scheduler()
    if not isinstance(scheduler, Deployer):
        raise ConfigError(f"the scheduler of '{env.name}' cannot deploy images")
    for workload in platform_workloads(env):
        plan = scheduler.plan_deploy(workload, image_tag=image.nomad_tag(env.config.image.tag))
        if not plan.has_changes:
            continue
        outcome = scheduler.apply(plan, progress)
        if outcome.status == "failed":
            raise OpsError(f"deploying {image.pinned} to '{workload}' failed: {outcome.detail}")
        deployed.append(workload)


def roll_back_images(env: Environment, workloads: list[str], progress: ProgressCallback) -> None:
    """Return each of ``workloads`` to its previous stable job version."""
    if env.config.is_local or not workloads:
        return
    from ops_cli.scheduler.abilities import RollbackCapable

    scheduler = env.scheduler()
    if not isinstance(scheduler, RollbackCapable):
        raise OpsError(f"the scheduler of '{env.name}' cannot roll back")
    for workload in workloads:
        scheduler.rollback(scheduler.plan_rollback(workload), progress)
