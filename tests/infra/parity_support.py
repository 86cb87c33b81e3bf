"""Terraform's mocked plan and the Pulumi program under mocks, reduced to comparable facts.

Both sides become, per AWS resource type, a multiset of *top-level settings*:
every argument whose value is a scalar, a list of scalars or a map of scalars,
after variables are evaluated. From the plan's JSON (``resource_changes[].change.after``)
on one side and the inputs Pulumi registered on the other (camelCase keys turned
to snake_case). A setting Terraform only knows after apply (an ID, an ARN) is
left out on both sides, as are the few that come from mocked data sources.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from pulumi_support import Recorded

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
    "aws_cognito_user_pool": "aws:cognito/userPool:UserPool",
    "aws_cognito_user_pool_client": "aws:cognito/userPoolClient:UserPoolClient",
    "aws_cognito_user_pool_domain": "aws:cognito/userPoolDomain:UserPoolDomain",
}
PULUMI_TO_TERRAFORM = {v: k for k, v in TERRAFORM_TO_PULUMI.items()}

FROM_MOCKED_DATA = {
    # policy documents: Terraform's come from a mocked aws_iam_policy_document
    ("aws_iam_role", "assume_role_policy"),
    ("aws_iam_role_policy", "policy"),
    ("aws_kms_key", "policy"),
    ("aws_s3_bucket_policy", "policy"),
    # the AMI: a mocked SSM parameter on both sides, with different fixed answers
    ("aws_launch_template", "image_id"),
}
"""Settings whose Terraform value a mocked data source made up; compared elsewhere
(the policy statements by the static tests) or not at all."""

PULUMI_NAMES = {"vpc_zone_identifiers": "vpc_zone_identifier"}
"""Pulumi inputs whose snake_case name differs from Terraform's argument."""

MAPS = ("tags",)
"""The map-valued arguments; any other dict on Pulumi's side is a nested block."""

_TIMESTAMP = re.compile(r"-\d{14}$")


def snake(name: str) -> str:
    """``camelCase`` -> ``camel_case`` (Pulumi's input names -> Terraform's)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def normalize(value: Any) -> Any:
    """A hashable, tool-neutral form: "true"/"false" as bools, lists as sorted tuples,
    maps as sorted item tuples, a trailing creation timestamp as ``-<time>``."""
    if isinstance(value, str):
        if value in ("true", "false"):
            return value == "true"
        return _TIMESTAMP.sub("-<time>", value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return tuple(sorted((normalize(v) for v in value), key=repr))
    if isinstance(value, dict):
        return tuple(sorted((k, normalize(v)) for k, v in value.items()))
    return value


def is_setting(key: str, value: Any) -> bool:
    """A scalar, a list of scalars or a map of scalars (not a nested block)."""
    scalar = (str, int, float, bool)
    if isinstance(value, scalar):
        return True
    if isinstance(value, list):
        return all(isinstance(v, scalar) for v in value)
    if isinstance(value, dict):
        return key in MAPS and all(isinstance(v, scalar) for v in value.values())
    return False


def managed_changes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Resources the plan would create (data sources left out)."""
    return [r for r in plan["resource_changes"] if r["mode"] == "managed"]


def unknown_keys(plan: dict[str, Any]) -> dict[str, set[str]]:
    """Per type, the settings Terraform knows only after apply (IDs, ARNs, references)."""
    found: dict[str, set[str]] = {}
    for change in managed_changes(plan):
        unknown = change["change"].get("after_unknown") or {}
        keys = {k for k, v in unknown.items() if v is True or (isinstance(v, list) and any(v))}
        found.setdefault(change["type"], set()).update(keys)
    return found


def terraform_settings(plan: dict[str, Any]) -> dict[str, Counter]:
    """Per type, a multiset of each resource's known top-level settings."""
    skip = unknown_keys(plan)
    found: dict[str, Counter] = {}
    for change in managed_changes(plan):
        rtype, after = change["type"], change["change"]["after"] or {}
        settings = {
            key: normalize(value)
            for key, value in after.items()
            if value is not None
            and value != []
            and value != {}
            and is_setting(key, value)
            and key not in skip.get(rtype, set())
            and key not in ("tags_all",)
            and (rtype, key) not in FROM_MOCKED_DATA
        }
        found.setdefault(rtype, Counter())[frozenset(settings.items())] += 1
    return found


def pulumi_settings(resources: Iterable[Recorded], plan: dict[str, Any]) -> dict[str, Counter]:
    """Per type, a multiset of each Pulumi resource's top-level inputs, limited to the
    settings Terraform can know at plan time."""
    skip = unknown_keys(plan)
    found: dict[str, Counter] = {}
    for resource in resources:
        rtype = PULUMI_TO_TERRAFORM.get(resource.token, resource.token)
        if rtype.startswith("pulumi:"):
            continue
        settings = {}
        for key, value in resource.inputs.items():
            name = PULUMI_NAMES.get(snake(key), snake(key))
            if isinstance(value, str) and value.startswith("{") and name not in ("policy",):
                value = json.loads(value)  # engine-encoded maps (tags) arrive as JSON
            if (
                value is None
                or value == []
                or value == {}
                or not is_setting(name, value)
                or name in skip.get(rtype, set())
                or (rtype, name) in FROM_MOCKED_DATA
            ):
                continue
            settings[name] = normalize(value)
        found.setdefault(rtype, Counter())[frozenset(settings.items())] += 1
    return found


def settings_difference(
    terraform: dict[str, Counter], pulumi: dict[str, Counter]
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Per type, the resources (as settings) one side declares and the other does not."""
    differences = {}
    for rtype in sorted(set(terraform) | set(pulumi)):
        only_tf = terraform.get(rtype, Counter()) - pulumi.get(rtype, Counter())
        only_pulumi = pulumi.get(rtype, Counter()) - terraform.get(rtype, Counter())
        if only_tf or only_pulumi:
            differences[rtype] = {
                "terraform": [dict(s) for s in only_tf.elements()],
                "pulumi": [dict(s) for s in only_pulumi.elements()],
            }
    return differences
