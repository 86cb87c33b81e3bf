"""Reading the RDS-managed secret from Secrets Manager (boto3)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError


class SecretUnavailable(Exception):
    """The secret could not be read or does not hold a password; the message says why."""


@dataclass(frozen=True)
class DatabaseSecret:
    """One version of the secret. ``password`` is hidden from ``repr``."""

    version: str
    username: str
    password: str = field(repr=False)


def region_of(arn: str) -> str:
    """The region of a Secrets Manager ARN (``arn:<partition>:secretsmanager:<region>:...``);
    raises :class:`SecretUnavailable` for anything else."""
    parts = arn.split(":")
    if len(parts) < 7 or parts[0] != "arn" or parts[2] != "secretsmanager" or not parts[3]:
        raise SecretUnavailable(f"'{arn}' is not the ARN of a Secrets Manager secret")
    return parts[3]


def secrets_client(arn: str) -> Any:
    """A Secrets Manager client in the secret's region, with boto3's default
    credentials (on the cluster: the instance role, through IMDSv2)."""
    return boto3.client("secretsmanager", region_name=region_of(arn))


def read_secret(arn: str, client: Any | None = None) -> DatabaseSecret:
    """The current version (``AWSCURRENT``) of the secret ``arn``.

    Raises :class:`SecretUnavailable` naming the ARN when AWS refuses or the
    secret is not the ``{"username", "password"}`` JSON RDS writes.
    """
    client = client or secrets_client(arn)
    try:
        answer = client.get_secret_value(SecretId=arn)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise SecretUnavailable(
            f"Secrets Manager refused to read {arn}: {error.get('Code')}: "
            f"{error.get('Message')} (the instance role needs secretsmanager:GetSecretValue "
            "on this secret and kms:Decrypt on its key)"
        ) from None
    except BotoCoreError as exc:
        raise SecretUnavailable(f"could not reach Secrets Manager for {arn}: {exc}") from None
    try:
        content = json.loads(answer["SecretString"])
        return DatabaseSecret(answer["VersionId"], content["username"], content["password"])
    except (KeyError, TypeError, ValueError):
        raise SecretUnavailable(
            f"{arn} does not hold the JSON RDS writes ({{'username': ..., 'password': ...}})"
        ) from None
