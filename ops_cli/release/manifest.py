"""The release bundle: what a release is made of, sealed by a content hash.

A manifest names exactly what runs: image digests, the model version (with
the hash of its artifacts), the hash of the resolved environment config, the
git commit and the infrastructure module versions. ``content_sha256`` is the
SHA-256 of the canonical JSON of every other field except ``release_id``; the
release id ends with its first 12 hex digits, so a changed byte anywhere is
caught by :func:`check_integrity`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ops_cli.errors import OpsError
from ops_cli.release.hashing import sha256_json
from ops_cli.release.images import ImageRef

SCHEMA_VERSION = 1
_UNSEALED = {"release_id", "content_sha256"}


class TamperedError(OpsError):
    """A stored bundle does not match its own content hash."""


class ModelRef(BaseModel):
    """A registered model version and what identifies its content anywhere."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str
    alias: str
    run_id: str | None = None
    source: str
    artifact_sha256: str


class ReleaseManifest(BaseModel):
    """One release. Immutable: a change makes a new release with a new id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = SCHEMA_VERSION
    release_id: str = ""
    created_at: datetime
    created_by: str
    source_environment: str
    git_commit: str
    config_sha256: str
    infrastructure: dict[str, str] = Field(default_factory=dict)
    images: list[ImageRef] = Field(default_factory=list)
    model: ModelRef
    content_sha256: str = ""

    def sealed_content(self) -> dict[str, Any]:
        """The fields the content hash covers, as JSON values."""
        return self.model_dump(mode="json", exclude=_UNSEALED)

    def image_for(self, repository: str) -> ImageRef | None:
        """The bundle's image of ``repository``, if it has one."""
        return next((i for i in self.images if i.repository == repository), None)


def release_id_for(created_at: datetime, content_sha256: str) -> str:
    """``<UTC time YYYYMMDDTHHMMSSZ>-<12 hex of the content hash>``: sortable by time."""
    stamp = created_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{content_sha256[:12]}"


def seal(manifest: ReleaseManifest) -> ReleaseManifest:
    """The manifest with its content hash and release id set."""
    digest = sha256_json(manifest.sealed_content())
    release_id = release_id_for(manifest.created_at, digest)
    return manifest.model_copy(update={"content_sha256": digest, "release_id": release_id})


def check_integrity(manifest: ReleaseManifest) -> None:
    """Return silently when the content hash and the id match the content;
    raise :class:`TamperedError` otherwise."""
    actual = sha256_json(manifest.sealed_content())
    expected_id = release_id_for(manifest.created_at, actual)
    if actual != manifest.content_sha256 or expected_id != manifest.release_id:
        raise TamperedError(
            f"release {manifest.release_id}: the content hash does not match its content "
            f"(recorded {manifest.content_sha256[:12] or '-'}, computed {actual[:12]}); "
            "the bundle was changed after it was created and will not be deployed"
        )


def parse_manifest(data: dict[str, Any], release_id: str) -> ReleaseManifest:
    """Validate stored JSON; a bundle that no longer parses is reported as tampered."""
    try:
        return ReleaseManifest.model_validate(data)
    except ValueError as exc:
        raise TamperedError(
            f"release {release_id}: the stored bundle is not valid: {exc}"
        ) from None
