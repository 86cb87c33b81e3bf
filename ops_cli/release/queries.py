"""Read-only questions: which releases exist, what one holds, what ran when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ops_cli.environment import Environment
from ops_cli.errors import OpsError
from ops_cli.release import records
from ops_cli.release.endpoints import open_store
from ops_cli.release.manifest import ReleaseManifest, check_integrity
from ops_cli.release.records import AuditRecord, VerificationRecord


@dataclass
class ReleaseView:
    """A bundle, whether it matches its hash, and its verifications in the environment."""

    manifest: ReleaseManifest
    intact: bool
    integrity_detail: str
    verifications: list[VerificationRecord] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        """True when the bundle is intact and its latest verification passed."""
        latest = records.latest_verification(self.verifications)
        return self.intact and latest is not None and latest.passed


def show_release(env: Environment, release_id: str) -> ReleaseView:
    """The bundle ``release_id`` from ``env``'s releases bucket, checked against its hash."""
    store = open_store(env)
    manifest = store.get_manifest(release_id)
    try:
        check_integrity(manifest)
        intact, detail = True, "content hash matches"
    except OpsError as exc:
        intact, detail = False, str(exc)
    return ReleaseView(manifest, intact, detail, store.verifications(release_id, env.name))


def list_releases(env: Environment, *, limit: int = 50) -> list[ReleaseView]:
    """The newest ``limit`` releases in ``env``'s releases bucket, newest first."""
    ids = list(reversed(open_store(env).release_ids()))[:limit]
    return [show_release(env, release_id) for release_id in ids]


@dataclass
class History:
    """An environment's audit log, and the promotion in force at a time."""

    environment: str
    at: datetime
    current: AuditRecord | None
    records: list[AuditRecord]


def history(env: Environment, at: datetime | None = None) -> History:
    """What ran in ``env`` at ``at`` (default: now), and every audit record up to then."""
    at = at or records.now()
    log = [r for r in open_store(env).audit_records(env.name) if r.at <= at]
    return History(env.name, at, records.in_environment_at(log, env.name, at), log)
