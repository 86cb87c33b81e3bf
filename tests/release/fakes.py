"""Fakes for the release core's unit tests, named as such: an in-memory S3 bucket
with conditional puts, a registry, and a cluster scheduler that deploys and rolls back.

The real SeaweedFS gateway and MLflow server are exercised by
``tests/integration/test_promotion.py``; the Nomad path is only checked here.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from botocore.exceptions import ClientError

from ops_cli.release.hashing import tree_sha256
from ops_cli.release.registry import DESCRIPTION_TAGS
from ops_cli.scheduler.abilities import DeployOutcome, RollbackPlan
from ops_cli.scheduler.base import Health, WorkloadStatus
from ops_cli.scheduler.plan import JobPlan


class FakeS3:
    """One bucket in memory; ``put_object(IfNoneMatch="*")`` refuses an existing key."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self.objects: dict[str, bytes] = {}

    def _check(self, bucket: str) -> None:
        if bucket != self.bucket:
            raise ClientError({"Error": {"Code": "NoSuchBucket"}}, "Op")

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **kwargs: Any) -> dict:
        self._check(Bucket)
        if kwargs.get("IfNoneMatch") == "*" and Key in self.objects:
            raise ClientError(
                {"Error": {"Code": "PreconditionFailed"},
                 "ResponseMetadata": {"HTTPStatusCode": 412}}, "PutObject"
            )  # fmt: skip
        self.objects[Key] = Body
        return {}

    def get_object(self, *, Bucket: str, Key: str) -> dict:
        self._check(Bucket)
        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
        return {"Body": io.BytesIO(self.objects[Key])}

    def get_paginator(self, _name: str) -> Any:
        return SimpleNamespace(paginate=self._paginate)

    def _paginate(self, *, Bucket: str, Prefix: str, Delimiter: str | None = None) -> list[dict]:
        self._check(Bucket)
        keys = sorted(k for k in self.objects if k.startswith(Prefix))
        if not Delimiter:
            return [{"Contents": [{"Key": k} for k in keys]}]
        prefixes = sorted({Prefix + k[len(Prefix) :].split(Delimiter)[0] + Delimiter
                           for k in keys if Delimiter in k[len(Prefix) :]})  # fmt: skip
        return [{"CommonPrefixes": [{"Prefix": p} for p in prefixes]}]


def artifact_hash(content: bytes) -> str:
    """The content hash of a model whose only artifact is ``model.pkl`` = ``content``."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "model.pkl").write_bytes(content)
        return tree_sha256(Path(tmp))


@dataclass
class FakeRegistry:
    """A registry whose versions each hold one artifact (``model.pkl``) and tags."""

    uri: str
    label: str
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    alias_moves: list[tuple[str, str | None]] = field(default_factory=list)

    def add(self, content: bytes, tags: dict[str, str] | None = None) -> str:
        version = str(len(self.versions) + 1)
        self.versions[version] = {"content": content, "tags": tags or {}}
        return version

    def version_by_alias(self, name: str, alias: str) -> Any | None:
        version = self.aliases.get(alias)
        if version is None:
            return None
        return SimpleNamespace(version=version, run_id="run", source=f"models:/m-{version}")

    def artifact_sha256(self, name: str, version: str) -> str:
        return artifact_hash(self.versions[version]["content"])

    def description_tags(self, name: str, version: str) -> dict[str, str]:
        tags = self.versions[version]["tags"]
        return {k: tags[k] for k in DESCRIPTION_TAGS if k in tags}

    def download(self, name: str, version: str, folder: Path) -> Path:
        (folder / "model.pkl").write_bytes(self.versions[version]["content"])
        return folder

    def import_version(self, name: str, model_dir: Path, tags: dict[str, str]) -> str:
        return self.add((model_dir / "model.pkl").read_bytes(), tags)

    def find_by_artifact_sha256(self, name: str, digest: str) -> str | None:
        found = [
            v for v, d in self.versions.items() if d["tags"].get("opsctl.artifact_sha256") == digest
        ]
        return found[-1] if found else None

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.aliases[alias] = version
        self.alias_moves.append((alias, version))

    def delete_alias(self, name: str, alias: str) -> None:
        self.aliases.pop(alias, None)
        self.alias_moves.append((alias, None))


@dataclass
class FakeCluster:
    """A Deployer and RollbackCapable scheduler: job versions per workload, images by version."""

    images: dict[str, list[str]]
    default_image: str = "ghcr.io/opsctl/crm-platform:0.9.0"  # of jobs not in ``images``
    fail_deploy_of: str | None = None
    applied: list[tuple[str, str]] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)

    def status(self) -> list[WorkloadStatus]:
        return [WorkloadStatus(name, Health.HEALTHY) for name in self.images]

    def plan_deploy(
        self, workload: str, *, image_tag: str | None = None, model_alias: str | None = None
    ) -> JobPlan:
        image = f"ghcr.io/opsctl/crm-platform:{image_tag}"
        current = self.images.setdefault(workload, [self.default_image])
        change = "none" if current[-1] == image else "update"
        return JobPlan(workload, change, len(self.images[workload]), payload={"image": image})

    def apply(self, plan: JobPlan, progress: Any) -> DeployOutcome:
        if plan.job == self.fail_deploy_of:
            return DeployOutcome(plan.job, "failed", detail="allocation unhealthy; reverted")
        self.images[plan.job].append(plan.payload["image"])
        self.applied.append((plan.job, plan.payload["image"]))
        return DeployOutcome(plan.job, "successful", version=len(self.images[plan.job]) - 1)

    def plan_rollback(self, workload: str) -> RollbackPlan:
        versions = self.images[workload]
        return RollbackPlan(workload, len(versions) - 1, len(versions) - 2, versions[-2])

    def rollback(self, plan: RollbackPlan, progress: Any) -> DeployOutcome:
        self.images[plan.job].append(plan.target_image)
        self.rolled_back.append(plan.job)
        return DeployOutcome(plan.job, "successful", version=plan.target_version)
