"""The release bundle: its golden form, and hashes that do not drift.

``pytest tests/release/test_manifest.py --update-golden`` rewrites the
golden file after an intended change of the format (commit it with the change).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ops_cli.release.hashing import canonical_json, sha256_json, tree_sha256
from ops_cli.release.images import ImageRef
from ops_cli.release.manifest import (
    ModelRef,
    ReleaseManifest,
    TamperedError,
    check_integrity,
    parse_manifest,
    seal,
)
from tests.conftest import REPO

GOLDEN = REPO / "tests" / "golden" / "release" / "manifest.json"


def sample() -> ReleaseManifest:
    return seal(
        ReleaseManifest(
            created_at=datetime(2026, 11, 27, 10, 15, 0, tzinfo=UTC),
            created_by="github:release-bot (run 42)",
            source_environment="staging",
            git_commit="0123456789abcdef0123456789abcdef01234567",
            config_sha256="c" * 64,
            infrastructure={"terraform/modules/network": "1" * 64, "platform": "2" * 64},
            images=[
                ImageRef(
                    repository="ghcr.io/opsctl/crm-platform",
                    tag="1.4.0",
                    digest="sha256:" + "a" * 64,
                )
            ],
            model=ModelRef(
                name="crm-win-probability",
                version="7",
                alias="champion",
                run_id="5f3c",
                source="models:/m-5f3c",
                artifact_sha256="d" * 64,
            ),
        )
    )


def test_manifest_matches_the_golden_file(update_golden: bool) -> None:
    rendered = json.dumps(sample().model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
    if update_golden:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(rendered)
    assert GOLDEN.exists(), f"no golden file {GOLDEN}; run pytest with --update-golden"
    assert rendered == GOLDEN.read_text()


def test_golden_file_is_a_sealed_intact_bundle() -> None:
    stored = parse_manifest(json.loads(GOLDEN.read_text()), "golden")
    check_integrity(stored)
    assert stored.release_id == "20261127T101500Z-" + stored.content_sha256[:12]


def test_content_hash_is_stable_across_runs_and_key_order() -> None:
    first, second = sample(), sample()
    assert first.content_sha256 == second.content_sha256
    # pinned: a change of the hashing scheme must be deliberate (and bump schema_version)
    assert first.content_sha256 == (
        "af954a871d4717df2e09c1af7204655d2f9f080ad71e64982d635fbbf3b23185"
    )
    reordered = dict(reversed(list(first.infrastructure.items())))
    again = seal(first.model_copy(update={"infrastructure": reordered, "content_sha256": ""}))
    assert again.content_sha256 == first.content_sha256
    assert canonical_json({"b": 1, "a": [1, "é"]}) == b'{"a":[1,"\\u00e9"],"b":1}'
    assert sha256_json({}) == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


@pytest.mark.parametrize(
    "change",
    [
        {"git_commit": "f" * 40},
        {"config_sha256": "e" * 64},
        {"infrastructure": {"platform": "3" * 64}},
        {"images": []},
        {"created_by": "someone else"},
    ],
)
def test_any_change_is_caught_as_tampering(change: dict) -> None:
    tampered = sample().model_copy(update=change)
    with pytest.raises(TamperedError, match="content hash does not match"):
        check_integrity(tampered)


def test_a_changed_model_version_is_caught() -> None:
    manifest = sample()
    model = manifest.model.model_copy(update={"version": "8"})
    with pytest.raises(TamperedError):
        check_integrity(manifest.model_copy(update={"model": model}))


def test_a_forged_id_is_caught() -> None:
    manifest = sample()
    with pytest.raises(TamperedError):
        check_integrity(manifest.model_copy(update={"release_id": "20300101T000000Z-000000000000"}))


def test_unparseable_bundle_is_reported_as_tampered() -> None:
    data = sample().model_dump(mode="json")
    data["unexpected"] = 1
    with pytest.raises(TamperedError, match="not valid"):
        parse_manifest(data, "x")


def test_tree_hash_ignores_location_times_and_working_files(tmp_path: Path) -> None:
    def make(root: Path) -> Path:
        (root / "mod").mkdir(parents=True)
        (root / "mod" / "main.tf").write_text('resource "x" "y" {}\n')
        (root / "vars.tf").write_text("variable a {}\n")
        return root

    one, two = make(tmp_path / "one"), make(tmp_path / "two")
    os.utime(two / "vars.tf", (0, 0))
    (two / ".terraform").mkdir()
    (two / ".terraform" / "providers.bin").write_bytes(b"\0")
    (two / "terraform.tfstate").write_text("{}")
    assert tree_sha256(one) == tree_sha256(two)
    (two / "vars.tf").write_text("variable b {}\n")
    assert tree_sha256(one) != tree_sha256(two)
    (two / "vars.tf").rename(two / "other.tf")
    (two / "other.tf").write_text("variable a {}\n")
    assert tree_sha256(one) != tree_sha256(two), "a renamed file is a change"
