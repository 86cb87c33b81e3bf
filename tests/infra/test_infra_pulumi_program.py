"""The Pulumi program under mocks: inventory of each stack and its security properties."""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from typing import Any

import pytest
import yaml
from infra_support import CLOUD_ENVIRONMENTS, PLATFORM, cloud_config
from pulumi_support import Recorded, run_stack

from ops_cli.provision.tfvars import infra_variables


@cache
def stack(env: str) -> tuple[list[Recorded], dict[str, Any]]:
    return run_stack(env)


def of_type(env: str, suffix: str) -> list[Recorded]:
    return [r for r in stack(env)[0] if r.token.endswith(suffix)]


def test_platform_is_not_a_package() -> None:
    assert not (PLATFORM / "__init__.py").exists()


def test_platform_is_split_like_the_terraform_modules() -> None:
    parts = {p.stem for p in (PLATFORM / "stack").glob("*.py")}
    modules = {p.name for p in (PLATFORM.parent / "terraform" / "modules").iterdir() if p.is_dir()}
    # state_backend and platform are Terraform-only: the bootstrap root and the wiring module
    assert modules - {"state_backend", "platform"} <= parts
    assert all(len(p.read_text().splitlines()) <= 400 for p in (PLATFORM / "stack").glob("*.py"))


@pytest.mark.parametrize("env", CLOUD_ENVIRONMENTS)
def test_stack_file_names_the_environment_only(env: str) -> None:
    stack_file = yaml.safe_load((PLATFORM / f"Pulumi.{env}.yaml").read_text())
    assert stack_file["config"] == {"crm-platform:environment": env}


def test_region_and_default_tags_come_from_the_environment() -> None:
    variables = {**infra_variables(cloud_config("staging")), "region": "us-west-2"}
    recorded, _outputs = run_stack("staging", variables)
    (provider,) = [r for r in recorded if r.token == "pulumi:providers:aws"]
    assert provider.inputs["region"] == "us-west-2"
    # provider inputs reach the engine as JSON strings
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert tags == {"ManagedBy": "opsctl", "Environment": "staging"}


@pytest.mark.parametrize("env", CLOUD_ENVIRONMENTS)
def test_every_aws_resource_uses_the_environment_provider(env: str) -> None:
    aws_resources = [r for r in stack(env)[0] if r.token.startswith("aws:")]
    assert aws_resources
    assert all("aws-environment" in r.provider for r in aws_resources)


def test_stack_inputs_name_a_missing_variable() -> None:
    from pulumi_support import load_stack_package

    variables = infra_variables(cloud_config("staging"))
    del variables["server_count"]
    with pytest.raises(KeyError, match="server_count"):
        load_stack_package().StackInputs.from_variables(variables)


@pytest.mark.parametrize("env", CLOUD_ENVIRONMENTS)
def test_inventory(env: str) -> None:
    variables = infra_variables(cloud_config(env))
    zones = len(variables["availability_zones"])
    counts = Counter(r.token.split(":")[-1] for r in stack(env)[0])
    assert counts["Vpc"] == 1
    assert counts["Subnet"] == 2 * zones
    assert counts["NatGateway"] == (1 if variables["single_nat_gateway"] else zones)
    assert counts["Bucket"] == len(variables["buckets"])
    assert counts["Instance"] == 1
    assert counts["Group"] == 2  # servers and clients
    assert counts["LoadBalancer"] == 2  # public ALB, internal control NLB
    assert counts["Key"] == 1


@pytest.mark.parametrize("env", CLOUD_ENVIRONMENTS)
def test_outputs_are_the_terraform_outputs(env: str) -> None:
    outputs = stack(env)[1]
    assert set(outputs) == {
        "nomad_addr",
        "consul_addr",
        "bucket_names",
        "database_endpoint",
        "database_secret_arn",
        "alb_dns_name",
        "vpc_id",
    }
    assert outputs["nomad_addr"].endswith(":4646")
    assert outputs["bucket_names"]["releases"] == "crm-releases"


@pytest.mark.parametrize("env", CLOUD_ENVIRONMENTS)
def test_every_bucket_is_encrypted_and_private(env: str) -> None:
    buckets = {r.inputs["bucket"] for r in of_type(env, "s3/bucket:Bucket")}
    blocks = of_type(env, "BucketPublicAccessBlock")
    encryption = of_type(env, "BucketServerSideEncryptionConfiguration")
    assert len(blocks) == len(encryption) == len(buckets)
    for block in blocks:
        assert all(
            block.inputs[k] is True
            for k in (
                "blockPublicAcls",
                "blockPublicPolicy",
                "ignorePublicAcls",
                "restrictPublicBuckets",
            )
        )
    for item in encryption:
        assert (
            item.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"]
            == "aws:kms"
        )
    for item in of_type(env, "BucketVersioning"):
        assert item.inputs["versioningConfiguration"]["status"] == "Enabled"


@pytest.mark.parametrize("env", CLOUD_ENVIRONMENTS)
def test_database_is_encrypted_private_and_multi_az_in_prod(env: str) -> None:
    (db,) = of_type(env, "rds/instance:Instance")
    assert db.inputs["storageEncrypted"] is True
    assert db.inputs["publiclyAccessible"] is False
    assert db.inputs["manageMasterUserPassword"] is True
    assert "password" not in db.inputs
    assert db.inputs["multiAz"] is (env == "prod")


@pytest.mark.parametrize("env", CLOUD_ENVIRONMENTS)
def test_only_the_load_balancer_is_open_to_the_internet(env: str) -> None:
    public = [
        (r.name, r.inputs["fromPort"])
        for r in of_type(env, "SecurityGroupIngressRule")
        if r.inputs.get("cidrIpv4") == "0.0.0.0/0"
    ]
    assert sorted(port for _name, port in public) == [80, 443]
    assert all("-alb-" in name for name, _port in public)
    (http,) = [r for r in of_type(env, "lb/listener:Listener") if r.inputs["port"] == 80]
    assert http.inputs["defaultActions"][0]["type"] == "redirect"


@pytest.mark.parametrize("env", CLOUD_ENVIRONMENTS)
def test_instances_use_imdsv2_and_terraform_cloud_init(env: str) -> None:
    templates = of_type(env, "LaunchTemplate")
    assert len(templates) == 2
    for template in templates:
        assert template.inputs["metadataOptions"]["httpTokens"] == "required"
    servers = [g for g in of_type(env, "autoscaling/group:Group") if g.name.endswith("servers")]
    assert servers[0].inputs["desiredCapacity"] == 3
