"""``release create``: seal what an environment runs now into a stored bundle."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from ops_cli.config.models import EnvironmentConfig
from ops_cli.environment import Environment
from ops_cli.errors import ConfigError, OpsError
from ops_cli.release import records
from ops_cli.release.endpoints import open_store, tracking_uri
from ops_cli.release.hashing import sha256_json
from ops_cli.release.images import ImageRef
from ops_cli.release.manifest import ModelRef, ReleaseManifest, seal
from ops_cli.release.registry import Registry
from ops_cli.release.sources import git_commit, infrastructure_versions
from ops_cli.service_auth import credentials

# Where the environment's state lives on one machine says nothing about what runs.
_CONFIG_FIELDS_NOT_RELEASED = {"state_dir"}


def config_sha256(config: EnvironmentConfig) -> str:
    """The hash of the resolved (merged, validated) config, without machine-local paths."""
    return sha256_json(config.model_dump(mode="json", exclude=_CONFIG_FIELDS_NOT_RELEASED))


def champion(registry: Registry, config: EnvironmentConfig) -> ModelRef:
    """The version the champion alias names, with the content hash of its artifacts."""
    name, alias = config.registry.model_name, config.registry.champion_alias
    version = registry.version_by_alias(name, alias)
    if version is None:
        raise OpsError(
            f"{registry.label} registry ({registry.uri}): no version of '{name}' has the "
            f"alias '{alias}'",
            hint="train and promote a model first: opsctl pipeline run --wait",
        )
    return ModelRef(
        name=name,
        version=str(version.version),
        alias=alias,
        run_id=version.run_id or None,
        source=version.source,
        artifact_sha256=registry.artifact_sha256(name, str(version.version)),
    )


def build_manifest(
    env: Environment,
    *,
    images: list[ImageRef],
    model: ModelRef,
    commit: str,
    infrastructure: dict[str, str],
    created_at: datetime,
    actor: str,
) -> ReleaseManifest:
    """The sealed bundle of these parts (pure: no I/O)."""
    return seal(
        ReleaseManifest(
            created_at=created_at,
            created_by=actor,
            source_environment=env.name,
            git_commit=commit,
            config_sha256=config_sha256(env.config),
            infrastructure=infrastructure,
            images=images,
            model=model,
        )
    )


def require_platform_image(env: Environment, images: list[ImageRef]) -> None:
    """Cluster environments run the platform image: the bundle must pin its digest."""
    repository = env.config.image.repository
    if not env.config.is_local and not any(i.repository == repository for i in images):
        raise ConfigError(
            f"environment '{env.name}' runs {repository}: pass --image-digest "
            f"{repository}:<tag>@sha256:<digest> (the build workflow records it)"
        )


def create_release(
    env: Environment, images: list[ImageRef], *, project: Path, environ: Mapping[str, str]
) -> ReleaseManifest:
    """Resolve the champion, seal the bundle and store it in ``env``'s releases bucket.

    Raises ConfigError for a missing platform image digest and OpsError when the
    registry has no champion or the bucket cannot be written.
    """
    require_platform_image(env, images)
    store = open_store(env)
    registry = Registry(tracking_uri(env, environ), env.name, credentials(env))
    manifest = build_manifest(
        env,
        images=images,
        model=champion(registry, env.config),
        commit=git_commit(project, environ),
        infrastructure=infrastructure_versions(project),
        created_at=records.now(),
        actor=records.actor(),
    )
    store.put_manifest(manifest)
    return manifest
