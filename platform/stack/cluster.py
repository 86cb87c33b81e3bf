"""Servers and clients on auto-scaling groups, their security groups, IAM role and the
internal control endpoint (``terraform/modules/cluster``).

The cloud-init templates are Terraform's own files (``templates/*.tftpl``), so
both tools boot identical nodes.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from stack.common import assume_role, egress, ingress, policy
from stack.database import Database
from stack.inputs import StackInputs
from stack.load_balancer import LoadBalancer
from stack.network import Network
from stack.provider import invoke_options
from stack.storage import Storage

TEMPLATES = Path(__file__).resolve().parents[2] / "terraform" / "modules" / "cluster" / "templates"
UBUNTU_AMI = "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"
MAX_KILL_TIMEOUT = "15m"
SERVER_PEER_PORTS = {
    "consul-rpc-serf-tcp": ("tcp", 8300, 8302),
    "consul-serf-udp": ("udp", 8301, 8302),
    "consul-https": ("tcp", 8501, 8501),
    "consul-dns-tcp": ("tcp", 8600, 8600),
    "consul-dns-udp": ("udp", 8600, 8600),
    "nomad-tcp": ("tcp", 4646, 4648),
    "nomad-serf-udp": ("udp", 4648, 4648),
}
CLIENT_PEER_PORTS = {
    "consul-serf-tcp": ("tcp", 8301, 8302),
    "consul-serf-udp": ("udp", 8301, 8302),
    "nomad-client": ("tcp", 4646, 4647),
    "nomad-dynamic": ("tcp", 20000, 32000),
}
CONTROL_PORTS = {"nomad": 4646, "consul": 8501}
CONTROL_HEALTH_PATHS = {"nomad": "/v1/agent/health", "consul": "/v1/status/leader"}
EGRESS = {
    "https": ("tcp", 443, 443, "0.0.0.0/0"),
    "http": ("tcp", 80, 80, "0.0.0.0/0"),
}


@dataclass
class SecurityGroups:
    """The security groups of the Nomad/Consul servers and of the clients."""

    server: aws.ec2.SecurityGroup
    client: aws.ec2.SecurityGroup


@dataclass
class Cluster:
    """The cluster's parts other modules need: its control load balancer."""

    control: aws.lb.LoadBalancer


def render_template(role: str, values: dict[str, Any]) -> str:
    """``templates/<role>.yaml.tftpl`` as Terraform's ``templatefile`` renders it.

    Plain ``${name}`` interpolations only; ``$${`` is a literal ``${`` whatever
    follows (Consul's ``$${value.nomad_service}``). An unknown name is a KeyError.
    """
    text = (TEMPLATES / f"{role}.yaml.tftpl").read_text(encoding="utf-8")
    return re.sub(
        r"\$\$\{|\$\{(\w+)\}",
        lambda m: str(values[m.group(1)]) if m.group(1) else "${",
        text,
    )


def cluster_security_groups(name: str, vpc_id: Any) -> SecurityGroups:
    """Servers and clients groups, before anything that references them."""
    server = aws.ec2.SecurityGroup(
        f"{name}-servers",
        name=f"{name}-servers",
        description="Nomad and Consul servers",
        vpc_id=vpc_id,
    )
    client = aws.ec2.SecurityGroup(
        f"{name}-clients",
        name=f"{name}-clients",
        description="Nomad clients running the workloads",
        vpc_id=vpc_id,
    )
    return SecurityGroups(server=server, client=client)


def cluster_rules(name: str, groups: SecurityGroups, vpc_cidr: str, alb: LoadBalancer) -> None:
    """The rules of ``terraform/modules/cluster/security.tf``."""
    by_role = {"server": groups.server.id, "client": groups.client.id}
    for target, table in (("server", SERVER_PEER_PORTS), ("client", CLIENT_PEER_PORTS)):
        for port_name, (protocol, low, high) in table.items():
            for source, source_id in by_role.items():
                key = f"{target}-{port_name}-from-{source}"
                ingress(
                    f"{name}-{key}",
                    by_role[target],
                    protocol,
                    low,
                    high,
                    f"{key} (cluster peers)",
                    referenced_security_group_id=source_id,
                )
    for api, port in CONTROL_PORTS.items():
        ingress(
            f"{name}-control-{api}",
            groups.server.id,
            "tcp",
            port,
            port,
            f"{api} API from inside the VPC (internal control endpoint)",
            cidr_ipv4=vpc_cidr,
        )
    for service, port in alb.ports.items():
        ingress(
            f"{name}-service-{service}",
            groups.client.id,
            "tcp",
            port,
            port,
            f"{service} from the load balancer",
            referenced_security_group_id=alb.group.id,
        )
        ingress(
            f"{name}-service-{service}-from-clients",
            groups.client.id,
            "tcp",
            port,
            port,
            f"{service} from the other clients (service to service)",
            referenced_security_group_id=groups.client.id,
        )
    outbound = {
        **EGRESS,
        "vpc-tcp": ("tcp", 0, 65535, vpc_cidr),
        "vpc-udp": ("udp", 0, 65535, vpc_cidr),
    }
    for role, group_id in by_role.items():
        for label, (protocol, low, high, cidr) in outbound.items():
            egress(
                f"{name}-{role}-{label}",
                group_id,
                protocol,
                low,
                high,
                f"{role}-{label} outbound",
                cidr_ipv4=cidr,
            )


def build_cluster(
    inputs: StackInputs,
    network: Network,
    groups: SecurityGroups,
    storage: Storage,
    db: Database,
    alb: LoadBalancer,
) -> Cluster:
    """Rules, instance profile, control endpoint, launch templates and node groups."""
    name = inputs.name
    cluster_rules(name, groups, network.cidr, alb)
    profile = node_profile(inputs, storage, db)
    control, control_targets = control_endpoint(inputs, network)
    ami = aws.ssm.get_parameter(name=UBUNTU_AMI, opts=invoke_options()).value
    values = {
        "environment": name,
        "cluster_tag": name,
        "datacenter": inputs.datacenter,
        "nomad_region": inputs.nomad_region,
        "server_count": inputs.server_count,
        "region": inputs.region,
        "ssm_prefix": f"/opsctl/{name}",
        "max_kill_timeout": MAX_KILL_TIMEOUT,
    }
    roles = {
        "server": (
            inputs.server_instance_type,
            inputs.server_count,
            groups.server.id,
            control_targets,
        ),
        "client": (inputs.client_instance_type, inputs.client_count, groups.client.id, alb.targets),
    }
    for role, (instance_type, count, group_id, targets) in roles.items():
        user_data = control.dns_name.apply(
            lambda dns, r=role: render_template(r, {**values, "control_dns": dns})
        )
        template = launch_template(name, role, ami, instance_type, group_id, profile, user_data)
        node_group(
            name,
            role,
            count,
            template,
            network.private_subnet_ids,
            [t.arn for t in targets.values()],
        )
    return Cluster(control=control)


def node_profile(inputs: StackInputs, storage: Storage, db: Database) -> aws.iam.InstanceProfile:
    """The instances' role: the platform's buckets and keys, the database secret,
    the environment's parameters, peers."""
    name = inputs.name
    identity = aws.get_caller_identity(opts=invoke_options())
    region = aws.get_region(opts=invoke_options()).region
    shared_arns = [f"arn:aws:s3:::{bucket}" for bucket in inputs.shared_buckets.values()]
    shared_keys = (
        [aws.kms.get_alias(name="alias/opsctl-shared", opts=invoke_options()).target_key_arn]
        if shared_arns
        else []
    )
    role = aws.iam.Role(
        f"{name}-node", name=f"{name}-node", assume_role_policy=assume_role("ec2.amazonaws.com")
    )
    document = pulumi.Output.all(
        [b.arn for b in storage.buckets.values()],
        storage.kms_key_arn,
        db.instance.master_user_secrets[0].secret_arn,
    ).apply(
        lambda args: node_policy(
            args[0] + shared_arns,
            [args[1], *shared_keys],
            args[2],
            f"arn:aws:ssm:{region}:{identity.account_id}:parameter/opsctl/{name}/*",
        )
    )
    aws.iam.RolePolicy(f"{name}-node-platform", name="platform", role=role.id, policy=document)
    aws.iam.RolePolicyAttachment(
        f"{name}-node-ssm",
        role=role.name,
        policy_arn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    )
    return aws.iam.InstanceProfile(f"{name}-node", name=f"{name}-node", role=role.name)


def node_policy(
    bucket_arns: list[str], key_arns: list[str], secret_arn: str, parameters: str
) -> str:
    """The statements of ``terraform/modules/cluster/iam.tf``."""
    return policy(
        {
            "Sid": "ListPlatformBuckets",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": bucket_arns,
        },
        {
            "Sid": "UsePlatformObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": [f"{arn}/*" for arn in bucket_arns],
        },
        {
            "Sid": "UsePlatformKeys",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            "Resource": key_arns,
        },
        {
            "Sid": "ReadDatabasePassword",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [secret_arn],
        },
        {
            "Sid": "EnvironmentParameters",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:GetParametersByPath", "ssm:PutParameter"],
            "Resource": [parameters],
        },
        {
            "Sid": "DiscoverPeers",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeInstances",
                "ec2:DescribeTags",
                "autoscaling:DescribeAutoScalingGroups",
            ],
            "Resource": "*",
        },
    )


def control_endpoint(
    inputs: StackInputs, network: Network
) -> tuple[aws.lb.LoadBalancer, dict[str, aws.lb.TargetGroup]]:
    """Internal NLB in front of the servers' Nomad and Consul HTTPS APIs."""
    name = inputs.name
    lb = aws.lb.LoadBalancer(
        f"{name}-control",
        name=f"{name}-control",
        internal=True,
        load_balancer_type="network",
        subnets=network.private_subnet_ids,
        enable_cross_zone_load_balancing=True,
        enable_deletion_protection=inputs.deletion_protection,
    )
    targets = {}
    for api, port in CONTROL_PORTS.items():
        targets[api] = aws.lb.TargetGroup(
            f"{name}-{api}",
            name=f"{name}-{api}",
            port=port,
            protocol="TCP",
            vpc_id=network.vpc.id,
            health_check={
                "protocol": "HTTPS",
                "port": str(port),
                "path": CONTROL_HEALTH_PATHS[api],
            },
        )
        aws.lb.Listener(
            f"{name}-control-{api}",
            load_balancer_arn=lb.arn,
            port=port,
            protocol="TCP",
            default_actions=[{"type": "forward", "target_group_arn": targets[api].arn}],
        )
    return lb, targets


def launch_template(
    name: str, role: str, ami: str, instance_type: str, group_id: Any, profile: Any, user_data: Any
) -> aws.ec2.LaunchTemplate:
    """IMDSv2 only, encrypted root disk, no public address, cloud-init as user data."""
    return aws.ec2.LaunchTemplate(
        f"{name}-{role}",
        name_prefix=f"{name}-{role}-",
        image_id=ami,
        instance_type=instance_type,
        user_data=pulumi.Output.from_input(user_data).apply(
            lambda text: base64.b64encode(text.encode()).decode()
        ),
        iam_instance_profile={"arn": profile.arn},
        network_interfaces=[
            {"associate_public_ip_address": "false", "security_groups": [group_id]}
        ],
        metadata_options={
            "http_endpoint": "enabled",
            "http_tokens": "required",
            "http_put_response_hop_limit": 2,
        },
        block_device_mappings=[
            {
                "device_name": "/dev/sda1",
                "ebs": {
                    "volume_size": 50,
                    "volume_type": "gp3",
                    "encrypted": "true",
                    "delete_on_termination": "true",
                },
            }
        ],
        monitoring={"enabled": True},
        tag_specifications=[
            {
                "resource_type": "instance",
                "tags": {"Name": f"{name}-{role}", "opsctl-cluster": name, "opsctl-role": role},
            }
        ],
    )


def node_group(
    name: str,
    role: str,
    count: int,
    template: aws.ec2.LaunchTemplate,
    subnets: list[Any],
    targets: list[Any],
) -> aws.autoscaling.Group:
    """A fixed-size group spread over the private subnets, replaced by rolling refresh."""
    return aws.autoscaling.Group(
        f"{name}-{role}s",
        name=f"{name}-{role}s",
        min_size=count,
        max_size=count,
        desired_capacity=count,
        vpc_zone_identifiers=subnets,
        target_group_arns=targets,
        health_check_type="ELB",
        health_check_grace_period=600,
        launch_template={"id": template.id, "version": template.latest_version.apply(str)},
        instance_refresh={"strategy": "Rolling", "preferences": {"min_healthy_percentage": 66}},
        tags=[
            {"key": "opsctl-cluster", "value": name, "propagate_at_launch": True},
            {"key": "opsctl-role", "value": role, "propagate_at_launch": True},
        ],
    )
