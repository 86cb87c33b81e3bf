"""VPC, public and private subnets per zone, NAT, flow logs (``terraform/modules/network``)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from stack.common import assume_role, policy
from stack.inputs import StackInputs

SUBNET_BITS = 4
PRIVATE_OFFSET = 8
FLOW_LOG_RETENTION_DAYS = 365


@dataclass
class Network:
    """The VPC, its CIDR block and its public and private subnets."""

    vpc: aws.ec2.Vpc
    cidr: str
    public_subnet_ids: list[Any]
    private_subnet_ids: list[Any]


def build_network(inputs: StackInputs, kms_key_arn: Any) -> Network:
    """The VPC of the environment; instances and the database stay in private subnets."""
    name, zones, cidr = inputs.name, list(inputs.availability_zones), inputs.vpc_cidr
    vpc = aws.ec2.Vpc(
        name,
        cidr_block=cidr,
        enable_dns_support=True,
        enable_dns_hostnames=True,
        tags={"Name": name},
    )
    aws.ec2.DefaultSecurityGroup(f"{name}-default", vpc_id=vpc.id)
    igw = aws.ec2.InternetGateway(name, vpc_id=vpc.id, tags={"Name": name})
    public = {z: subnet(name, "public", vpc, cidr, z, i) for i, z in enumerate(zones)}
    private = {
        z: subnet(name, "private", vpc, cidr, z, i + PRIVATE_OFFSET) for i, z in enumerate(zones)
    }
    nat_zones = zones[:1] if inputs.single_nat_gateway else zones
    nats = {z: nat_gateway(name, z, public[z], igw) for z in nat_zones}
    public_table = aws.ec2.RouteTable(
        f"{name}-public", vpc_id=vpc.id, tags={"Name": f"{name}-public"}
    )
    aws.ec2.Route(
        f"{name}-public-internet",
        route_table_id=public_table.id,
        destination_cidr_block="0.0.0.0/0",
        gateway_id=igw.id,
    )
    for zone in zones:
        aws.ec2.RouteTableAssociation(
            f"{name}-public-{zone}", subnet_id=public[zone].id, route_table_id=public_table.id
        )
        table = aws.ec2.RouteTable(
            f"{name}-private-{zone}", vpc_id=vpc.id, tags={"Name": f"{name}-private-{zone}"}
        )
        aws.ec2.Route(
            f"{name}-private-nat-{zone}",
            route_table_id=table.id,
            destination_cidr_block="0.0.0.0/0",
            nat_gateway_id=nats.get(zone, nats[nat_zones[0]]).id,
        )
        aws.ec2.RouteTableAssociation(
            f"{name}-private-{zone}", subnet_id=private[zone].id, route_table_id=table.id
        )
    flow_logs(name, vpc, kms_key_arn)
    return Network(
        vpc=vpc,
        cidr=cidr,
        public_subnet_ids=[public[z].id for z in zones],
        private_subnet_ids=[private[z].id for z in zones],
    )


def subnet(
    name: str, tier: str, vpc: aws.ec2.Vpc, cidr: str, zone: str, index: int
) -> aws.ec2.Subnet:
    """The ``index``-th /(+4) block of the VPC (Terraform's ``cidrsubnet(cidr, 4, index)``)."""
    block = list(ipaddress.ip_network(cidr).subnets(prefixlen_diff=SUBNET_BITS))[index]
    return aws.ec2.Subnet(
        f"{name}-{tier}-{zone}",
        vpc_id=vpc.id,
        availability_zone=zone,
        cidr_block=str(block),
        map_public_ip_on_launch=False,
        tags={"Name": f"{name}-{tier}-{zone}", "Tier": tier},
    )


def nat_gateway(
    name: str, zone: str, public_subnet: aws.ec2.Subnet, igw: Any
) -> aws.ec2.NatGateway:
    """A NAT gateway with its elastic IP in ``zone``'s public subnet."""
    eip = aws.ec2.Eip(f"{name}-nat-{zone}", domain="vpc", tags={"Name": f"{name}-nat-{zone}"})
    return aws.ec2.NatGateway(
        f"{name}-{zone}",
        allocation_id=eip.id,
        subnet_id=public_subnet.id,
        tags={"Name": f"{name}-{zone}"},
        opts=pulumi.ResourceOptions(depends_on=[igw]),
    )


def flow_logs(name: str, vpc: aws.ec2.Vpc, kms_key_arn: Any) -> None:
    """Every accepted and rejected connection of the VPC, kept for audits."""
    group = aws.cloudwatch.LogGroup(
        f"{name}-vpc-flow",
        name=f"/opsctl/{name}/vpc-flow",
        retention_in_days=FLOW_LOG_RETENTION_DAYS,
        kms_key_id=kms_key_arn,
    )
    role = aws.iam.Role(
        f"{name}-vpc-flow",
        name=f"{name}-vpc-flow",
        assume_role_policy=assume_role("vpc-flow-logs.amazonaws.com"),
    )
    aws.iam.RolePolicy(
        f"{name}-write-flow-logs",
        name="write-flow-logs",
        role=role.id,
        policy=group.arn.apply(
            lambda arn: policy(
                {
                    "Effect": "Allow",
                    "Action": [
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogStreams",
                    ],
                    "Resource": f"{arn}:*",
                }
            )
        ),
    )
    aws.ec2.FlowLog(
        f"{name}-flow",
        vpc_id=vpc.id,
        traffic_type="ALL",
        log_destination=group.arn,
        iam_role_arn=role.arn,
    )
