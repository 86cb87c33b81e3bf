"""Checks before Terraform or Pulumi run, each failing with one clear message.

Credentials come from the AWS SDK's own chain (environment variables,
``~/.aws``, SSO, instance or container role), exactly as the ``aws`` CLI
finds them; opsctl never stores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ops_cli.config.models import EnvironmentConfig
from ops_cli.errors import ConfigError, OpsError
from ops_cli.provision.tfvars import DEFAULT_LOCK_TABLE, require_aws

CREDENTIALS_HINT = (
    "configure credentials the way the AWS CLI finds them: AWS_PROFILE (aws configure / "
    "aws sso login), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or an instance role"
)


@dataclass(frozen=True)
class StateBackend:
    """Where an environment's remote state lives."""

    bucket: str
    lock_table: str
    region: str
    key: str

    def terraform_config(self) -> dict[str, str]:
        """The ``-backend-config`` pairs of the S3 backend."""
        return {
            "bucket": self.bucket,
            "key": self.key,
            "region": self.region,
            "dynamodb_table": self.lock_table,
            "encrypt": "true",
        }


def aws_session(region: str) -> Any:
    """A boto3 session for ``region`` that has credentials; :class:`OpsError` otherwise."""
    import boto3

    session = boto3.Session(region_name=region)
    try:
        credentials = session.get_credentials()
    except (
        Exception
    ) as exc:  # botocore raises many profile/SSO errors; all mean "no usable credentials"
        raise OpsError(
            f"AWS credentials could not be loaded: {exc}", hint=CREDENTIALS_HINT
        ) from exc
    if credentials is None:
        raise OpsError("no AWS credentials found", hint=CREDENTIALS_HINT)
    return session


def account_id(session: Any) -> str:
    """The AWS account the credentials belong to (STS); :class:`OpsError` when rejected."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return str(session.client("sts").get_caller_identity()["Account"])
    except (ClientError, BotoCoreError) as exc:
        raise OpsError(f"AWS rejected the credentials: {exc}", hint=CREDENTIALS_HINT) from exc


def state_backend(
    config: EnvironmentConfig, session: Any, *, prefix: str = "terraform"
) -> StateBackend:
    """The state backend of ``config``: configured names, else account-derived defaults."""
    aws = require_aws(config)
    bucket = aws.state_bucket or f"opsctl-state-{account_id(session)}-{aws.region}"
    return StateBackend(
        bucket=bucket,
        lock_table=aws.lock_table or DEFAULT_LOCK_TABLE,
        region=aws.region,
        key=f"{prefix}/{config.name}.tfstate",
    )


def require_state_bucket(session: Any, backend: StateBackend, environment: str) -> None:
    """Raise :class:`OpsError` unless the state bucket exists and is reachable."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        session.client("s3").head_bucket(Bucket=backend.bucket)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in {"404", "NoSuchBucket", "NotFound"}:
            raise OpsError(
                f"the state bucket '{backend.bucket}' does not exist",
                hint=f"create it once per account with `opsctl infra bootstrap --env {environment}` "
                "(see docs/aws.md), or set aws.state_bucket to an existing bucket",
            ) from exc
        if code in {"403", "AccessDenied"}:
            raise OpsError(
                f"the state bucket '{backend.bucket}' exists but these credentials may not use it",
                hint="grant s3:ListBucket, s3:GetObject and s3:PutObject on it, or set aws.state_bucket",
            ) from exc
        raise OpsError(f"cannot reach the state bucket '{backend.bucket}': {exc}") from exc
    except BotoCoreError as exc:
        raise OpsError(f"cannot reach the state bucket '{backend.bucket}': {exc}") from exc


def require_provisioner(config: EnvironmentConfig, expected: str) -> None:
    """Raise :class:`ConfigError` unless ``config`` is provisioned by ``expected``."""
    if config.provisioner != expected:
        raise ConfigError(
            f"environment '{config.name}' uses provisioner '{config.provisioner}', not '{expected}'"
        )
