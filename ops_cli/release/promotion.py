"""``promote``: put exactly the bundle one environment verified into another.

Order: refuse what must not go (tampered bundle, no passing verification in
the source), bring the model version into the target registry, then under the
target's lock move the champion alias, deploy the images (cluster targets)
and run the smoke checks there. Any failure after the first change rolls the
target back (alias to its previous version, cluster jobs to their previous
stable version). Every attempt, refused or not, ends with one audit record.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ops_cli.environment import Environment
from ops_cli.errors import ConfigError, NotConfirmedError, OpsError
from ops_cli.locking import environment_lock
from ops_cli.release import records
from ops_cli.release.endpoints import open_store, storage_endpoint, tracking_uri
from ops_cli.release.hashing import tree_sha256
from ops_cli.release.manifest import ReleaseManifest, TamperedError, check_integrity
from ops_cli.release.records import AuditRecord, Result
from ops_cli.release.registry import TAG_ARTIFACT_SHA, TAG_RELEASE, TAG_SOURCE, Registry
from ops_cli.release.rollout import deploy_images, platform_workloads, roll_back_images
from ops_cli.release.store import ReleaseStore
from ops_cli.release.verify import SmokeChecks, smoke_checks
from ops_cli.scheduler.base import ProgressCallback
from ops_cli.service_auth import credentials


class PromotionRefusedError(OpsError):
    """The bundle may not be promoted; nothing in the target changed."""


class PromotionFailedError(OpsError):
    """The promotion failed after changing the target; ``report`` says how it ended."""

    def __init__(self, message: str, report: PromotionReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class PromotionReport:
    """How a promotion ended and what it changed."""

    release_id: str
    from_environment: str
    to_environment: str
    result: Result
    model_version: str | None = None
    previous_model_version: str | None = None
    deployed: list[str] = field(default_factory=list)
    detail: str = ""
    audit_key: str = ""


@dataclass(frozen=True)
class PromotionPlan:
    """What a promotion will change in the target, shown before it asks.

    ``model_version`` is the bundle's version in the source registry;
    ``current_champion`` the target's champion version now (None: no champion);
    ``copies_model`` whether the model's artifacts are copied into the target's
    registry (another MLflow server with no version of that content yet);
    ``image`` the platform image (``repository@sha256:...``) deployed to
    ``workloads`` (cluster targets; none for a local one).
    """

    release_id: str
    from_environment: str
    to_environment: str
    model_name: str
    model_version: str
    champion_alias: str
    current_champion: str | None
    copies_model: bool
    image: str | None = None
    workloads: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready data, keyed by the field names above."""
        return {**asdict(self), "workloads": list(self.workloads)}


PromotionConfirm = Callable[[PromotionPlan], bool]
"""Sees the plan before anything changes and answers whether to go on."""


def _no_progress(_event: object) -> None:
    return None


@dataclass
class _Promotion:
    source: Environment
    target: Environment
    environ: Mapping[str, str]
    checks: SmokeChecks
    progress: ProgressCallback
    source_store: ReleaseStore = field(init=False)
    target_store: ReleaseStore = field(init=False)

    def __post_init__(self) -> None:
        self.source_store = open_store(self.source)
        self.target_store = open_store(self.target)

    # -- refusals -------------------------------------------------------------

    def pick(self, release_id: str | None) -> str:
        """The release named, else the newest one that passed verification in the source."""
        if release_id:
            return release_id
        for candidate in reversed(self.source_store.release_ids()):
            found = records.latest_verification(
                self.source_store.verifications(candidate, self.source.name)
            )
            if found is not None and found.passed:
                return candidate
        raise PromotionRefusedError(
            f"no release has passed verification in '{self.source.name}'",
            hint=f"opsctl release verify --env {self.source.name} RELEASE",
        )

    def admit(self, release_id: str) -> ReleaseManifest:
        """The bundle, if it is intact and passed its latest verification in the source."""
        manifest = self.source_store.get_manifest(release_id)
        check_integrity(manifest)
        latest = records.latest_verification(
            self.source_store.verifications(release_id, self.source.name)
        )
        if latest is None or not latest.passed or latest.content_sha256 != manifest.content_sha256:
            state = "was never verified" if latest is None else "did not pass its smoke checks"
            raise PromotionRefusedError(
                f"release {release_id} {state} in '{self.source.name}'; only a bundle whose "
                f"deployment and smoke checks passed there can be promoted",
                hint=f"opsctl release verify --env {self.source.name} {release_id}",
            )
        return manifest

    def plan(self, manifest: ReleaseManifest, source: Registry, target: Registry) -> PromotionPlan:
        """What :meth:`bring_model` and :meth:`apply` would change; reads only."""
        model = manifest.model
        name, alias = self.champion()
        found = target.version_by_alias(name, alias)
        copies = source.uri != target.uri and not target.find_by_artifact_sha256(
            model.name, model.artifact_sha256
        )
        image: str | None = None
        workloads: tuple[str, ...] = ()
        if not self.target.config.is_local:
            ref = manifest.image_for(self.target.config.image.repository)
            image = ref.pinned if ref else None
            workloads = tuple(platform_workloads(self.target))
        return PromotionPlan(
            release_id=manifest.release_id,
            from_environment=self.source.name,
            to_environment=self.target.name,
            model_name=model.name,
            model_version=model.version,
            champion_alias=alias,
            current_champion=str(found.version) if found is not None else None,
            copies_model=copies,
            image=image,
            workloads=workloads,
        )

    # -- the model ----------------------------------------------------------------

    def registries(self) -> tuple[Registry, Registry]:
        source_uri = tracking_uri(self.source, self.environ, shared=False)
        target_uri = tracking_uri(self.target, self.environ, shared=False)
        return (
            Registry(source_uri, self.source.name, credentials(self.source)),
            Registry(target_uri, self.target.name, credentials(self.target)),
        )

    def bring_model(self, manifest: ReleaseManifest, source: Registry, target: Registry) -> str:
        """The target registry's version with the bundle's model content; copied from
        the source registry when the target has none. Refuses changed artifacts."""
        model = manifest.model
        if source.uri == target.uri:
            if source.artifact_sha256(model.name, model.version) != model.artifact_sha256:
                raise TamperedError(f"{model.name} version {model.version} changed since release")
            return model.version
        existing = target.find_by_artifact_sha256(model.name, model.artifact_sha256)
        if existing:
            return existing
        with tempfile.TemporaryDirectory(prefix="opsctl-promote-") as tmp:
            model_dir = source.download(model.name, model.version, Path(tmp))
            if tree_sha256(model_dir) != model.artifact_sha256:
                raise TamperedError(
                    f"{model.name} version {model.version} in '{self.source.name}' no longer "
                    f"has the artifacts release {manifest.release_id} recorded"
                )
            tags = {
                **source.description_tags(model.name, model.version),
                TAG_ARTIFACT_SHA: model.artifact_sha256,
                TAG_SOURCE: f"{self.source.name}:{model.name}/{model.version}",
                TAG_RELEASE: manifest.release_id,
            }
            return target.import_version(model.name, model_dir, tags)

    # -- apply and roll back --------------------------------------------------------

    def apply(
        self, manifest: ReleaseManifest, registry: Registry, version: str, report: PromotionReport
    ) -> None:
        """Move the alias, deploy, check; on any failure roll back, and record how
        it ended in ``report`` (never raises for a failure it rolled back)."""
        name, alias = self.champion()
        try:
            registry.set_alias(name, alias, version)
            deploy_images(self.target, manifest, self.progress, report.deployed)
            failed = [
                c for c in self.checks(self.target, registry, manifest, version) if not c.passed
            ]
            if failed:
                detail = "; ".join(f"{c.name} ({c.detail})" for c in failed)
                raise OpsError(f"smoke checks failed in '{self.target.name}': {detail}")
        except Exception as exc:  # whatever failed after the alias moved, roll back
            self.roll_back(registry, report, str(exc) or type(exc).__name__)

    def champion(self) -> tuple[str, str]:
        """The target's model name and champion alias."""
        return self.target.config.registry.model_name, self.target.config.registry.champion_alias

    def roll_back(self, registry: Registry, report: PromotionReport, reason: str) -> None:
        """Alias back to the previous version (removed if there was none), jobs back to
        their previous stable version; ``report`` says whether that worked."""
        name, alias = self.champion()
        previous = report.previous_model_version
        try:
            if previous:
                registry.set_alias(name, alias, previous)
            else:
                registry.delete_alias(name, alias)
            roll_back_images(self.target, report.deployed, self.progress)
        except OpsError as exc:
            report.result = "failed"
            report.detail = f"{reason}; the rollback failed too: {exc}"
            return
        report.result = "failed-rolled-back"
        back_to = f"version {previous}" if previous else "no champion (there was none)"
        report.detail = f"{reason}; rolled back: {name}@{alias} -> {back_to}"

    # -- audit ----------------------------------------------------------------------

    def audit(self, report: PromotionReport, manifest: ReleaseManifest | None) -> None:
        previous = records.in_environment_at(
            self.target_store.audit_records(self.target.name), self.target.name, records.now()
        )
        record = AuditRecord(
            at=records.now(),
            actor=records.actor(),
            release_id=report.release_id,
            content_sha256=manifest.content_sha256 if manifest else "",
            from_environment=self.source.name,
            to_environment=self.target.name,
            result=report.result,
            model_version=report.model_version,
            previous_model_version=report.previous_model_version,
            previous_release_id=previous.release_id if previous else None,
            images=[i.pinned for i in manifest.images] if manifest else [],
            detail=report.detail,
        )
        report.audit_key = self.target_store.append_audit(record)


def _require_distinct(source: Environment, target: Environment) -> None:
    """One environment, or two local ones on the same ports, is one platform: refuse,
    naming why."""
    if source.name == target.name:
        raise ConfigError(
            f"--from and --to are both '{source.name}'; promote between two environments"
        )
    same = source.config.is_local and target.config.is_local
    if same and storage_endpoint(source) == storage_endpoint(target):
        raise ConfigError(
            f"'{source.name}' and '{target.name}' resolve to the same local services "
            f"({storage_endpoint(source)}); OPSCTL_* variables such as "
            "OPSCTL_NETWORK__PORT_BASE apply to both environments of a promotion: "
            "set each one's network.port_base in its file instead"
        )


def promote(
    source: Environment,
    target: Environment,
    release_id: str | None,
    *,
    environ: Mapping[str, str],
    checks: SmokeChecks = smoke_checks,
    progress: ProgressCallback = _no_progress,
    lock_timeout_s: float = 0,
    confirm: PromotionConfirm | None = None,
) -> PromotionReport:
    """Promote ``release_id`` (default: the newest release verified in ``source``).

    Once the bundle is admitted, ``confirm`` (when given) sees the
    :class:`PromotionPlan` before anything changes; a no raises
    :class:`NotConfirmedError`, with nothing changed and no audit record (no
    attempt was made). Raises :class:`ConfigError` when ``source`` and ``target``
    are one platform.

    Returns the report of a promotion that succeeded. Raises
    :class:`PromotionRefusedError` or :class:`TamperedError` when nothing was
    changed, and :class:`PromotionFailedError` when the target was changed and
    rolled back (``result`` failed-rolled-back) or could not be (``failed``).
    Each of these outcomes is in the target's audit log.
    """
    _require_distinct(source, target)
    run = _Promotion(source, target, environ, checks, progress)
    chosen = run.pick(release_id)
    report = PromotionReport(chosen, source.name, target.name, "refused")
    manifest: ReleaseManifest | None = None
    try:
        manifest = run.admit(chosen)
        source_registry, target_registry = run.registries()
        if confirm is not None and not confirm(
            run.plan(manifest, source_registry, target_registry)
        ):
            raise NotConfirmedError(f"promotion of {chosen} not confirmed; nothing was changed")
        report.model_version = run.bring_model(manifest, source_registry, target_registry)
        name, alias = run.champion()
        lock = target.paths.lock_file
        with environment_lock(lock, environment=target.name, timeout_s=lock_timeout_s):
            found = target_registry.version_by_alias(name, alias)
            report.previous_model_version = str(found.version) if found is not None else None
            report.result = "succeeded"
            run.apply(manifest, target_registry, report.model_version, report)
    except NotConfirmedError:
        raise
    except OpsError as exc:
        report.detail = str(exc)
        run.audit(report, manifest)
        raise
    run.audit(report, manifest)
    if report.result != "succeeded":
        message = f"promotion of {chosen} to '{target.name}' failed: {report.detail}"
        raise PromotionFailedError(message, report)
    return report
