"""``release verify``: smoke checks of a release in an environment, recorded.

The checks: every enabled service of the environment is healthy (the
scheduler's own status); on a cluster, every platform workload runs the
release's image digest (its deploy plan with that image changes nothing); and
the registry's champion alias names the release's model version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ops_cli.environment import Environment
from ops_cli.errors import OpsError
from ops_cli.release import records
from ops_cli.release.endpoints import open_store, tracking_uri
from ops_cli.release.manifest import ReleaseManifest, check_integrity
from ops_cli.release.records import Check, VerificationRecord
from ops_cli.release.registry import Registry
from ops_cli.release.rollout import platform_workloads
from ops_cli.scheduler.base import Health
from ops_cli.service_auth import credentials

SmokeChecks = Callable[[Environment, Registry, ReleaseManifest, str], list[Check]]
"""``(environment, its registry, the release, expected model version) -> checks``."""


def image_checks(env: Environment, manifest: ReleaseManifest) -> list[Check]:
    """Cluster environments: each platform workload's job already runs the release's
    image, i.e. planning a deploy of it changes nothing. Local environments run
    processes, not images: no check."""
    if env.config.is_local:
        return []
    from ops_cli.scheduler.abilities import Deployer

    repository = env.config.image.repository
    image = manifest.image_for(repository)
    scheduler = env.scheduler(inspect_only=True)
    if image is None or not isinstance(scheduler, Deployer):
        why = "the release has no digest for it" if image is None else "cannot plan deploys"
        return [Check(name=f"runs {repository}", passed=False, detail=why)]
    checks = []
    for workload in platform_workloads(env):
        try:
            plan = scheduler.plan_deploy(workload, image_tag=image.nomad_tag(env.config.image.tag))
            passed, detail = not plan.has_changes, f"plan: {plan.change}"
        except OpsError as exc:
            passed, detail = False, str(exc)
        checks.append(Check(name=f"{workload} runs {image.pinned}", passed=passed, detail=detail))
    return checks


def smoke_checks(
    env: Environment, registry: Registry, manifest: ReleaseManifest, expected_version: str
) -> list[Check]:
    """Every service healthy, the release's images running (clusters), and the
    champion alias on ``expected_version``. Never raises for a failed check: a
    failure is a check that did not pass."""
    statuses = env.scheduler(inspect_only=True).status()
    checks = [
        Check(name=f"service {s.name} healthy", passed=s.health is Health.HEALTHY, detail=s.detail)
        for s in statuses
    ]
    if not statuses:
        checks.append(Check(name="services running", passed=False, detail="no service runs"))
    name, alias = env.config.registry.model_name, env.config.registry.champion_alias
    found = registry.version_by_alias(name, alias)
    actual = str(found.version) if found is not None else None
    checks.append(
        Check(
            name=f"{name}@{alias} is version {expected_version}",
            passed=actual == expected_version,
            detail=f"the alias names version {actual}" if actual else "the alias is not set",
        )
    )
    return [*checks, *image_checks(env, manifest)]


def verify_release(
    env: Environment,
    release_id: str,
    *,
    environ: Mapping[str, str],
    checks: SmokeChecks = smoke_checks,
) -> VerificationRecord:
    """Run the smoke checks of ``release_id`` in ``env`` and store the outcome beside
    the bundle; returns the record (``passed`` False is an outcome, not an error).
    Raises TamperedError for a bundle that does not match its hash."""
    store = open_store(env)
    manifest = store.get_manifest(release_id)
    check_integrity(manifest)
    registry = Registry(tracking_uri(env, environ), env.name, credentials(env))
    results = checks(env, registry, manifest, manifest.model.version)
    record = VerificationRecord(
        release_id=manifest.release_id,
        content_sha256=manifest.content_sha256,
        environment=env.name,
        at=records.now(),
        actor=records.actor(),
        passed=all(c.passed for c in results),
        checks=results,
    )
    store.put_verification(record)
    return record
