"""The platform key and the hardened buckets (``terraform/modules/storage``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from stack.common import policy
from stack.provider import invoke_options

NONCURRENT_VERSION_DAYS = 90
PREDICTION_LOG_IA_DAYS = 30


@dataclass
class Storage:
    """The environment's KMS key ARN and its buckets by kind."""

    kms_key_arn: pulumi.Output[str]
    buckets: dict[str, aws.s3.Bucket]


def build_storage(name: str, buckets: dict[str, str]) -> Storage:
    """The environment's KMS key (with its alias) and one hardened bucket per kind."""
    identity = aws.get_caller_identity(opts=invoke_options())
    region = aws.get_region(opts=invoke_options()).region
    key = aws.kms.Key(
        f"{name}-key",
        description=f"opsctl {name}: buckets, database and logs",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=key_policy(name, identity.account_id, region),
    )
    aws.kms.Alias(f"{name}-key-alias", name=f"alias/opsctl-{name}", target_key_id=key.key_id)
    created = {kind: hardened_bucket(kind, bucket, key.arn) for kind, bucket in buckets.items()}
    return Storage(kms_key_arn=key.arn, buckets=created)


def key_policy(name: str, account: str, region: str) -> str:
    """The account administers the key through IAM; CloudWatch Logs may use it for
    the environment's log groups only."""
    return policy(
        {
            "Sid": "AccountAdministersThroughIam",
            "Effect": "Allow",
            "Action": "kms:*",
            "Resource": "*",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        },
        {
            "Sid": "CloudWatchLogsOfThisEnvironment",
            "Effect": "Allow",
            "Action": [
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            "Resource": "*",
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Condition": {
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account}:log-group:/opsctl/{name}/*"
                }
            },
        },
    )


def hardened_bucket(kind: str, bucket_name: str, kms_key_arn: Any) -> aws.s3.Bucket:
    """A private, versioned, KMS-encrypted, TLS-only bucket with lifecycle rules."""
    bucket = aws.s3.Bucket(bucket_name, bucket=bucket_name, tags={"Kind": kind})
    block = aws.s3.BucketPublicAccessBlock(
        f"{bucket_name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    aws.s3.BucketOwnershipControls(
        f"{bucket_name}-ownership",
        bucket=bucket.id,
        rule={"object_ownership": "BucketOwnerEnforced"},
    )
    versioning = aws.s3.BucketVersioning(
        f"{bucket_name}-versioning",
        bucket=bucket.id,
        versioning_configuration={"status": "Enabled"},
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{bucket_name}-encryption",
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": kms_key_arn,
                },
                "bucket_key_enabled": True,
            }
        ],
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{bucket_name}-lifecycle",
        bucket=bucket.id,
        rules=lifecycle_rules(kind),
        opts=pulumi.ResourceOptions(depends_on=[versioning]),
    )
    aws.s3.BucketPolicy(
        f"{bucket_name}-tls-only",
        bucket=bucket.id,
        policy=bucket.arn.apply(tls_only_policy),
        opts=pulumi.ResourceOptions(depends_on=[block]),
    )
    return bucket


def lifecycle_rules(kind: str) -> list[dict[str, Any]]:
    """Old versions expire; prediction logs move to infrequent access."""
    return [
        {
            "id": "expire-old-versions",
            "status": "Enabled",
            "filter": {},
            "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_VERSION_DAYS},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
        },
        {
            "id": "prediction-logs-to-infrequent-access",
            "status": "Enabled" if kind == "predictions" else "Disabled",
            "filter": {},
            "transitions": [{"days": PREDICTION_LOG_IA_DAYS, "storage_class": "STANDARD_IA"}],
        },
    ]


def tls_only_policy(arn: str) -> str:
    """Deny every request to the bucket that does not use TLS."""
    return policy(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"],
            "Principal": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
