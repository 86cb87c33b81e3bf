"""The instances may read the RDS-managed database password, and nothing else in
Secrets Manager: the same grant in Terraform and in the Pulumi program.

The cluster's MLflow and Prefect read the password at start with the instance
role (``workloads.database_password``): ``secretsmanager:GetSecretValue`` on
exactly the secret RDS keeps it in, and ``kms:Decrypt`` on the key that secret
is encrypted with.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from infra_support import CLOUD_ENVIRONMENTS, TERRAFORM, parse_dir
from pulumi_support import ACCOUNT, REGION, Recorded, run_stack


def _one(blocks: list[dict[str, Any]], key: str) -> dict[str, Any]:
    (found,) = [b[key] for b in blocks if key in b]
    return found


def terraform_statements() -> list[dict[str, Any]]:
    data = parse_dir(TERRAFORM / "modules" / "cluster")["data"]
    (document,) = [
        d["aws_iam_policy_document"]["platform"]
        for d in data
        if "platform" in d.get("aws_iam_policy_document", {})
    ]
    return document["statement"]


def test_terraform_grants_reading_exactly_the_database_secret() -> None:
    secret = [
        s
        for s in terraform_statements()
        if any(a.startswith("secretsmanager:") for a in s["actions"])
    ]
    assert [(s["actions"], s["resources"]) for s in secret] == [
        (["secretsmanager:GetSecretValue"], ["${var.database_secret_arn}"])
    ]
    platform = parse_dir(TERRAFORM / "modules" / "platform")["module"]
    database = parse_dir(TERRAFORM / "modules" / "database")["output"]
    # ... and that variable is the secret RDS manages for the instance
    assert _one(platform, "cluster")["database_secret_arn"] == (
        "${module.database.master_user_secret_arn}"
    )
    assert _one(database, "master_user_secret_arn")["value"] == (
        "${aws_db_instance.this.master_user_secret[0].secret_arn}"
    )
    # the secret is encrypted with the storage key, which the instances may decrypt with
    assert _one(platform, "database")["kms_key_arn"] == "${module.storage.kms_key_arn}"
    assert "module.storage.kms_key_arn" in _one(platform, "cluster")["kms_key_arns"]
    (keys,) = [s for s in terraform_statements() if s.get("sid") == "UsePlatformKeys"]
    assert "kms:Decrypt" in keys["actions"] and keys["resources"] == "${var.kms_key_arns}"


@cache
def pulumi_resources(env: str) -> list[Recorded]:
    return run_stack(env)[0]


@pytest.mark.parametrize("env", CLOUD_ENVIRONMENTS)
def test_pulumi_grants_reading_exactly_the_database_secret(env: str) -> None:
    recorded = pulumi_resources(env)
    (db,) = [r for r in recorded if r.token == "aws:rds/instance:Instance"]
    (platform,) = [
        r
        for r in recorded
        if r.token == "aws:iam/rolePolicy:RolePolicy" and r.inputs["name"] == "platform"
    ]
    statements = json.loads(platform.inputs["policy"])["Statement"]

    secret = [s for s in statements if any(a.startswith("secretsmanager:") for a in s["Action"])]
    # the mocks give an instance the secret arn:...:secret:<its name>, as RDS names one per instance
    expected = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{db.name}"
    assert [(s["Action"], s["Resource"]) for s in secret] == [
        (["secretsmanager:GetSecretValue"], [expected])
    ]
    (keys,) = [s for s in statements if s.get("Sid") == "UsePlatformKeys"]
    assert db.inputs["masterUserSecretKmsKeyId"] in keys["Resource"]
