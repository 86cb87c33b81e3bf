"""Terraform and Pulumi describe the same environment.

Both sides are reduced to comparable facts: the set of AWS resource types,
and the key security properties of each. A resource type added on one side
only, or a property changed on one side only, fails here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from infra_support import CLOUD_ENVIRONMENTS, TERRAFORM, first, module_dirs, resources
from pulumi_support import Recorded, run_stack

TERRAFORM_TO_PULUMI = {
    "aws_vpc": "aws:ec2/vpc:Vpc",
    "aws_default_security_group": "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    "aws_internet_gateway": "aws:ec2/internetGateway:InternetGateway",
    "aws_subnet": "aws:ec2/subnet:Subnet",
    "aws_eip": "aws:ec2/eip:Eip",
    "aws_nat_gateway": "aws:ec2/natGateway:NatGateway",
    "aws_route_table": "aws:ec2/routeTable:RouteTable",
    "aws_route": "aws:ec2/route:Route",
    "aws_route_table_association": "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws_cloudwatch_log_group": "aws:cloudwatch/logGroup:LogGroup",
    "aws_flow_log": "aws:ec2/flowLog:FlowLog",
    "aws_iam_role": "aws:iam/role:Role",
    "aws_iam_role_policy": "aws:iam/rolePolicy:RolePolicy",
    "aws_iam_role_policy_attachment": "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws_iam_instance_profile": "aws:iam/instanceProfile:InstanceProfile",
    "aws_kms_key": "aws:kms/key:Key",
    "aws_kms_alias": "aws:kms/alias:Alias",
    "aws_s3_bucket": "aws:s3/bucket:Bucket",
    "aws_s3_bucket_public_access_block": "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws_s3_bucket_ownership_controls": "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws_s3_bucket_versioning": "aws:s3/bucketVersioning:BucketVersioning",
    "aws_s3_bucket_server_side_encryption_configuration": "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws_s3_bucket_lifecycle_configuration": "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws_s3_bucket_policy": "aws:s3/bucketPolicy:BucketPolicy",
    "aws_security_group": "aws:ec2/securityGroup:SecurityGroup",
    "aws_vpc_security_group_ingress_rule": "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws_vpc_security_group_egress_rule": "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws_db_subnet_group": "aws:rds/subnetGroup:SubnetGroup",
    "aws_db_parameter_group": "aws:rds/parameterGroup:ParameterGroup",
    "aws_db_instance": "aws:rds/instance:Instance",
    "aws_launch_template": "aws:ec2/launchTemplate:LaunchTemplate",
    "aws_autoscaling_group": "aws:autoscaling/group:Group",
    "aws_lb": "aws:lb/loadBalancer:LoadBalancer",
    "aws_lb_target_group": "aws:lb/targetGroup:TargetGroup",
    "aws_lb_listener": "aws:lb/listener:Listener",
    "aws_lb_listener_rule": "aws:lb/listenerRule:ListenerRule",
}
PULUMI_TO_TERRAFORM = {v: k for k, v in TERRAFORM_TO_PULUMI.items()}


@cache
def terraform_resources(env: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [r for folder in module_dirs(TERRAFORM / "envs" / env) for r in resources(folder)]


@cache
def pulumi_resources(env: str) -> list[Recorded]:
    return run_stack(env)[0]


def type_difference(terraform_types: set[str], pulumi_tokens: set[str]) -> dict[str, set[str]]:
    """Types declared by one side only (unmapped tokens count as Pulumi-only)."""
    mapped = {PULUMI_TO_TERRAFORM.get(token, token) for token in pulumi_tokens}
    return {"terraform only": terraform_types - mapped, "pulumi only": mapped - terraform_types}


def terraform_facts(env: str) -> set[tuple]:
    facts: set[tuple] = set()
    for rtype, _name, body in terraform_resources(env):
        if rtype == "aws_s3_bucket_public_access_block":
            facts.add(
                (
                    rtype,
                    tuple(
                        body[k]
                        for k in (
                            "block_public_acls",
                            "block_public_policy",
                            "ignore_public_acls",
                            "restrict_public_buckets",
                        )
                    ),
                )
            )
        elif rtype == "aws_s3_bucket_server_side_encryption_configuration":
            rule = first(body["rule"])
            facts.add(
                (
                    rtype,
                    first(rule["apply_server_side_encryption_by_default"])["sse_algorithm"],
                    rule["bucket_key_enabled"],
                )
            )
        elif rtype == "aws_s3_bucket_versioning":
            facts.add((rtype, first(body["versioning_configuration"])["status"]))
        elif rtype == "aws_db_instance":
            facts.add(
                (
                    rtype,
                    body["engine"],
                    body["storage_encrypted"],
                    body["publicly_accessible"],
                    body["manage_master_user_password"],
                    body["iam_database_authentication_enabled"],
                )
            )
        elif rtype == "aws_kms_key":
            facts.add((rtype, body["enable_key_rotation"]))
        elif rtype == "aws_launch_template":
            facts.add(
                (
                    rtype,
                    first(body["metadata_options"])["http_tokens"],
                    first(first(body["block_device_mappings"])["ebs"])["encrypted"],
                )
            )
        elif rtype == "aws_lb_listener" and isinstance(body.get("port"), int):
            facts.add((rtype, body["port"], body["protocol"]))
        elif (
            rtype == "aws_vpc_security_group_ingress_rule" and body.get("cidr_ipv4") == "0.0.0.0/0"
        ):
            facts.add(("public ingress", body["from_port"], body["to_port"]))
        elif rtype == "aws_lb":
            facts.add((rtype, body["load_balancer_type"], body["internal"]))
    return facts


def pulumi_facts(env: str) -> set[tuple]:
    facts: set[tuple] = set()
    for r in pulumi_resources(env):
        rtype, i = PULUMI_TO_TERRAFORM.get(r.token, r.token), r.inputs
        if rtype == "aws_s3_bucket_public_access_block":
            facts.add(
                (
                    rtype,
                    tuple(
                        i[k]
                        for k in (
                            "blockPublicAcls",
                            "blockPublicPolicy",
                            "ignorePublicAcls",
                            "restrictPublicBuckets",
                        )
                    ),
                )
            )
        elif rtype == "aws_s3_bucket_server_side_encryption_configuration":
            rule = i["rules"][0]
            facts.add(
                (
                    rtype,
                    rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"],
                    rule["bucketKeyEnabled"],
                )
            )
        elif rtype == "aws_s3_bucket_versioning":
            facts.add((rtype, i["versioningConfiguration"]["status"]))
        elif rtype == "aws_db_instance":
            facts.add(
                (
                    rtype,
                    i["engine"],
                    i["storageEncrypted"],
                    i["publiclyAccessible"],
                    i["manageMasterUserPassword"],
                    i["iamDatabaseAuthenticationEnabled"],
                )
            )
        elif rtype == "aws_kms_key":
            facts.add((rtype, i["enableKeyRotation"]))
        elif rtype == "aws_launch_template":
            ebs = i["blockDeviceMappings"][0]["ebs"]["encrypted"]
            facts.add((rtype, i["metadataOptions"]["httpTokens"], ebs in (True, "true")))
        elif rtype == "aws_lb_listener" and i["protocol"] != "TCP":
            facts.add((rtype, i["port"], i["protocol"]))
        elif rtype == "aws_vpc_security_group_ingress_rule" and i.get("cidrIpv4") == "0.0.0.0/0":
            facts.add(("public ingress", i["fromPort"], i["toPort"]))
        elif rtype == "aws_lb":
            facts.add((rtype, i["loadBalancerType"], i["internal"]))
    return facts


@pytest.mark.parametrize("env", CLOUD_ENVIRONMENTS)
def test_same_resource_types(env: str) -> None:
    difference = type_difference(
        {t for t, _n, _b in terraform_resources(env)}, {r.token for r in pulumi_resources(env)}
    )
    assert difference == {"terraform only": set(), "pulumi only": set()}


@pytest.mark.parametrize("env", CLOUD_ENVIRONMENTS)
def test_same_key_properties(env: str) -> None:
    assert terraform_facts(env) == pulumi_facts(env)


def test_a_type_missing_on_one_side_is_reported() -> None:
    terraform_types = {t for t, _n, _b in terraform_resources("staging")}
    tokens = {r.token for r in pulumi_resources("staging")} - {TERRAFORM_TO_PULUMI["aws_flow_log"]}
    assert type_difference(terraform_types, tokens)["terraform only"] == {"aws_flow_log"}


def test_every_mapped_type_is_used() -> None:
    used = {t for t, _n, _b in terraform_resources("prod")}
    assert set(TERRAFORM_TO_PULUMI) == used
