"""Platform bootstrap steps that follow a healthy start: the buckets exist."""

from __future__ import annotations

from collections.abc import Iterable

from ops_cli.errors import OpsError


def s3_client(
    endpoint_url: str | None, access_key: str | None, secret_key: str | None, region: str
):
    """A boto3 S3 client; with no keys, the AWS SDK's own credential chain applies.

    botocore's own retry policy covers the seconds after the gateway turns healthy.
    """
    import boto3  # imported here: boto3 costs a noticeable part of the CLI's start-up
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
        config=Config(retries={"max_attempts": 10, "mode": "standard"}, connect_timeout=5),
    )


def ensure_buckets(client, buckets: Iterable[str]) -> list[str]:
    """Create the buckets that do not exist; return the names created."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        created = []
        for bucket in buckets:
            if bucket not in existing:
                client.create_bucket(Bucket=bucket)
                created.append(bucket)
        return created
    except (BotoCoreError, ClientError) as exc:
        raise OpsError(f"object storage: could not create the buckets: {exc}") from None
