"""Reading the RDS-managed secret with boto3, against an HTTP server answering in
Secrets Manager's documented JSON protocol (``GetSecretValue``)."""

from __future__ import annotations

import json

import pytest
from pytest_httpserver import HTTPServer

from workloads.database_password.secret import SecretUnavailable, read_secret, region_of

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-8f1c2b7a-0d3e-4a5b-9c6d-1e2f3a4b5c6d-AbCdEf"


def secret_answer(version: str, password: str) -> dict:
    return {
        "ARN": ARN,
        "Name": "rds!db-8f1c2b7a-0d3e-4a5b-9c6d-1e2f3a4b5c6d",
        "VersionId": version,
        "SecretString": json.dumps({"username": "platform", "password": password}),
        "VersionStages": ["AWSCURRENT"],
        "CreatedDate": 1.7e9,
    }


@pytest.fixture
def secrets_manager(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    """boto3 sends Secrets Manager calls to the test server, with throwaway credentials."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", httpserver.url_for("/"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return httpserver


def test_the_current_version_is_read_by_its_arn(secrets_manager: HTTPServer) -> None:
    # an RDS password may hold characters a URL or a password file would need escaped
    secrets_manager.expect_request(
        "/",
        method="POST",
        headers={"X-Amz-Target": "secretsmanager.GetSecretValue"},
        json={"SecretId": ARN},
    ).respond_with_json(secret_answer("v-1", "p:a\\ss#wo%rd"))

    secret = read_secret(ARN)

    assert (secret.version, secret.username, secret.password) == (
        "v-1",
        "platform",
        "p:a\\ss#wo%rd",
    )
    assert "p:a" not in repr(secret)
    (request, _) = secrets_manager.log[0]
    assert "/eu-west-1/secretsmanager/" in request.headers["Authorization"]  # the ARN's region


def test_a_refusal_names_the_secret_and_the_permissions(secrets_manager: HTTPServer) -> None:
    secrets_manager.expect_request("/", method="POST").respond_with_data(
        json.dumps({"__type": "AccessDeniedException", "message": "not authorized"}),
        status=400,
        content_type="application/x-amz-json-1.1",
    )

    with pytest.raises(SecretUnavailable) as caught:
        read_secret(ARN)

    message = str(caught.value)
    assert ARN in message and "AccessDeniedException" in message
    assert "secretsmanager:GetSecretValue" in message and "kms:Decrypt" in message


def test_a_secret_that_is_not_rds_json_is_refused(secrets_manager: HTTPServer) -> None:
    answer = {**secret_answer("v-1", "x"), "SecretString": "just-a-password"}
    secrets_manager.expect_request("/", method="POST").respond_with_json(answer)

    with pytest.raises(SecretUnavailable, match="does not hold the JSON RDS writes"):
        read_secret(ARN)


@pytest.mark.parametrize("arn", ["", "arn:aws:s3:::bucket", "database-password"])
def test_only_a_secrets_manager_arn_is_accepted(arn: str) -> None:
    with pytest.raises(SecretUnavailable, match="not the ARN of a Secrets Manager secret"):
        region_of(arn)
