"""The releases bucket: bundles, verification records and the audit log.

Layout (one object per record, each written once and never rewritten)::

    releases/<release id>/manifest.json
    releases/<release id>/verifications/<env>/<time>-<uuid>.json
    audit/<env>/<time>-<record id>.json

Writes are conditional (``If-None-Match: *``), so an existing key is never
overwritten, even by a concurrent writer; keys carry a random part as well.
This is the only module of the release core that talks to object storage.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ops_cli.errors import OpsError
from ops_cli.release.hashing import canonical_json
from ops_cli.release.manifest import ReleaseManifest, parse_manifest
from ops_cli.release.records import AuditRecord, VerificationRecord

_MISSING = {"404", "NoSuchKey", "NotFound"}
_EXISTS = {"412", "PreconditionFailed", "ConditionalRequestConflict"}


class ReleaseNotFoundError(OpsError):
    """No bundle with that id in the releases bucket."""


def _stamp(record_at: Any) -> str:
    return record_at.strftime("%Y%m%dT%H%M%S.%fZ")


class ReleaseStore:
    """Bundles and records in one bucket, through a boto3 S3 client."""

    def __init__(self, client: Any, bucket: str, label: str) -> None:
        self.client = client
        self.bucket = bucket
        self.label = label  # how messages name the store, e.g. "local: s3://releases"

    def put_manifest(self, manifest: ReleaseManifest) -> str:
        """Store a sealed bundle; refuses to replace one that exists. Returns its key."""
        key = f"releases/{manifest.release_id}/manifest.json"
        self._write_once(key, manifest.model_dump(mode="json"))
        return key

    def get_manifest(self, release_id: str) -> ReleaseManifest:
        """The stored bundle (not yet checked against its hash: see ``check_integrity``)."""
        data = self._read(f"releases/{release_id}/manifest.json")
        if data is None:
            raise ReleaseNotFoundError(f"no release '{release_id}' in {self.label}")
        return parse_manifest(data, release_id)

    def release_ids(self) -> list[str]:
        """Every release id in the bucket, oldest first (ids sort by time)."""
        prefixes = self._common_prefixes("releases/")
        return sorted(p.removeprefix("releases/").rstrip("/") for p in prefixes)

    def put_verification(self, record: VerificationRecord) -> str:
        """Write ``record`` once under ``releases/<id>/verifications/<env>/``; returns its key.
        Raises OpsError when the key exists (records are never rewritten)."""
        key = (
            f"releases/{record.release_id}/verifications/{record.environment}/"
            f"{_stamp(record.at)}-{uuid.uuid4().hex[:8]}.json"
        )
        self._write_once(key, record.model_dump(mode="json"))
        return key

    def verifications(self, release_id: str, environment: str) -> list[VerificationRecord]:
        """Every verification of ``release_id`` in ``environment``, oldest first."""
        prefix = f"releases/{release_id}/verifications/{environment}/"
        return [VerificationRecord.model_validate(d) for d in self._read_all(prefix)]

    def append_audit(self, record: AuditRecord) -> str:
        """Append ``record`` to the audit log of its target environment; returns the key."""
        key = f"audit/{record.to_environment}/{_stamp(record.at)}-{record.record_id}.json"
        self._write_once(key, record.model_dump(mode="json"))
        return key

    def audit_records(self, environment: str) -> list[AuditRecord]:
        """The audit log of ``environment``, oldest first."""
        records = [AuditRecord.model_validate(d) for d in self._read_all(f"audit/{environment}/")]
        return sorted(records, key=lambda r: r.at)

    # -- I/O ---------------------------------------------------------------

    def _write_once(self, key: str, data: Any) -> None:
        body = canonical_json(data)
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                IfNoneMatch="*",
            )
        except ClientError as exc:
            if _code(exc) in _EXISTS:
                raise OpsError(f"{self.label}: {key} exists; records are never rewritten") from None
            raise self._error("write", key, exc) from None
        except BotoCoreError as exc:
            raise self._error("write", key, exc) from None

    def _read(self, key: str) -> Any | None:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise self._error("read", key, exc) from None
        except BotoCoreError as exc:
            raise self._error("read", key, exc) from None
        return json.loads(body)

    def _keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                keys.extend(item["Key"] for item in page.get("Contents", []))
        except (ClientError, BotoCoreError) as exc:
            raise self._error("list", prefix, exc) from None
        return sorted(keys)

    def _common_prefixes(self, prefix: str) -> list[str]:
        found: list[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, Delimiter="/"
            )
            for page in pages:
                found.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
        except (ClientError, BotoCoreError) as exc:
            raise self._error("list", prefix, exc) from None
        return found

    def _read_all(self, prefix: str) -> list[Any]:
        return [d for d in (self._read(k) for k in self._keys(prefix)) if d is not None]

    def _error(self, verb: str, key: str, exc: Exception) -> OpsError:
        if isinstance(exc, ClientError) and _code(exc) == "NoSuchBucket":
            return OpsError(
                f"{self.label}: the releases bucket '{self.bucket}' does not exist",
                hint="`opsctl up` creates it locally; `opsctl infra bootstrap` on AWS",
            )
        return OpsError(f"{self.label}: could not {verb} {key}: {exc}")


def _code(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return str(error.get("Code") or status)
