"""Image references from the build workflow, and what the audit log says about the past."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ops_cli.errors import ConfigError
from ops_cli.release.images import parse_image, parse_images
from ops_cli.release.records import AuditRecord, in_environment_at

DIGEST = "sha256:" + "0f" * 32


@pytest.mark.parametrize(
    ("reference", "repository", "tag"),
    [
        (f"ghcr.io/acme/crm-platform:1.2.0@{DIGEST}", "ghcr.io/acme/crm-platform", "1.2.0"),
        (f"ghcr.io/acme/crm-platform@{DIGEST}", "ghcr.io/acme/crm-platform", None),
        (
            f"registry.local:5000/crm/platform:sha-abc@{DIGEST}",
            "registry.local:5000/crm/platform",
            "sha-abc",
        ),
    ],
)
def test_image_references_parse(reference: str, repository: str, tag: str | None) -> None:
    image = parse_image(reference)
    assert (image.repository, image.tag, image.digest) == (repository, tag, DIGEST)
    assert image.pinned == f"{repository}@{DIGEST}"
    assert image.nomad_tag("latest") == f"{tag or 'latest'}@{DIGEST}"


@pytest.mark.parametrize(
    "reference",
    ["ghcr.io/acme/crm-platform:1.2.0", "ghcr.io/acme/crm@sha256:abc", "UPPER/case@" + DIGEST],
)
def test_references_without_a_full_digest_are_usage_errors(reference: str) -> None:
    with pytest.raises(ConfigError, match="--image-digest") as error:
        parse_image(reference)
    assert error.value.exit_code == 2


def test_several_references_in_one_value_and_one_digest_per_repository() -> None:
    images = parse_images([f"b/two@{DIGEST} a/one@{DIGEST}"])
    assert [i.repository for i in images] == ["a/one", "b/two"]
    with pytest.raises(ConfigError, match="more than one digest for a/one"):
        parse_images([f"a/one@{DIGEST}", f"a/one:2@{DIGEST}"])


def _record(minutes: int, release: str, result: str, to: str = "prod") -> AuditRecord:
    return AuditRecord(
        at=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=minutes),
        actor="ci",
        release_id=release,
        from_environment="staging",
        to_environment=to,
        result=result,
    )


def test_history_is_the_last_successful_promotion_not_after_the_time() -> None:
    log = [
        _record(0, "r1", "succeeded"),
        _record(10, "r2", "refused"),
        _record(20, "r3", "failed-rolled-back"),
        _record(30, "r4", "succeeded"),
        _record(40, "r5", "succeeded", to="qa"),
    ]
    at = datetime(2026, 11, 1, tzinfo=UTC)
    assert in_environment_at(log, "prod", at - timedelta(seconds=1)) is None
    assert in_environment_at(log, "prod", at).release_id == "r1"
    assert in_environment_at(log, "prod", at + timedelta(minutes=25)).release_id == "r1"
    assert in_environment_at(log, "prod", at + timedelta(minutes=30)).release_id == "r4"
    assert in_environment_at(log, "prod", at + timedelta(days=1)).release_id == "r4"
