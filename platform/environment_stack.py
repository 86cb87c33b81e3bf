"""The AWS environment, resource for resource the design of ``terraform/modules``.

``build(variables)`` takes the variables opsctl writes for Terraform
(``ops_cli.provision.tfvars.infra_variables``) and returns the stack outputs
under the same names as the Terraform root's outputs. The cloud-init
templates are Terraform's own files, so both tools boot identical nodes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pulumi
import pulumi_aws as aws

TEMPLATES = (
    Path(__file__).resolve().parent.parent / "terraform" / "modules" / "cluster" / "templates"
)
UBUNTU_AMI = "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"
SERVER_COUNT = 3
SERVER_PEER_PORTS = {
    "consul-rpc-serf-tcp": ("tcp", 8300, 8302),
    "consul-serf-udp": ("udp", 8301, 8302),
    "consul-http": ("tcp", 8500, 8500),
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
CONTROL_PORTS = {"nomad": 4646, "consul": 8500}
HEALTH_PATHS = {"api": "/health", "ui": "/_stcore/health"}


def render_template(role: str, values: dict[str, Any]) -> str:
    """Render ``templates/<role>.yaml.tftpl`` as Terraform's templatefile would.

    The templates use plain ``${name}`` interpolations only; an unknown name is a KeyError.
    """
    text = (TEMPLATES / f"{role}.yaml.tftpl").read_text(encoding="utf-8")
    return re.sub(r"\$\{(\w+)\}", lambda m: str(values[m.group(1)]), text)


def policy(*statements: dict[str, Any]) -> str:
    """An IAM policy document as JSON."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def assume_role(service: str) -> str:
    return policy(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": service}}
    )


def build(v: dict[str, Any]) -> dict[str, Any]:
    """Declare every resource of the environment; returns the stack outputs."""
    name = f"crm-{v['environment']}"
    storage = build_storage(name, v["buckets"])
    network = build_network(name, v, storage.kms_key_arn)
    groups = cluster_security_groups(name, network.vpc.id)
    alb = build_load_balancer(name, v, network, groups.client.id)
    db = build_database(name, v, network, {"client": groups.client.id}, storage.kms_key_arn)
    cluster = build_cluster(name, v, network, groups, storage, db, alb)
    shared = dict(v.get("shared_buckets") or {})
    return {
        "nomad_addr": cluster.control.dns_name.apply(lambda d: f"http://{d}:4646"),
        "consul_addr": cluster.control.dns_name.apply(lambda d: f"http://{d}:8500"),
        "bucket_names": {**shared, **{k: b.bucket for k, b in storage.buckets.items()}},
        "database_endpoint": db.instance.endpoint,
        "database_secret_arn": db.instance.master_user_secrets[0].secret_arn,
        "alb_dns_name": alb.lb.dns_name,
        "vpc_id": network.vpc.id,
    }


# -- storage -------------------------------------------------------------------


def build_storage(name: str, buckets: dict[str, str]) -> SimpleNamespace:
    """The platform key and the hardened buckets (terraform/modules/storage)."""
    identity = aws.get_caller_identity()
    region = aws.get_region().region
    key = aws.kms.Key(
        f"{name}-key",
        description=f"opsctl {name}: buckets, database and logs",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=key_policy(name, identity.account_id, region),
    )
    aws.kms.Alias(f"{name}-key-alias", name=f"alias/opsctl-{name}", target_key_id=key.key_id)
    created = {kind: hardened_bucket(kind, bucket, key.arn) for kind, bucket in buckets.items()}
    return SimpleNamespace(kms_key_arn=key.arn, buckets=created)


def key_policy(name: str, account: str, region: str) -> str:
    return policy(
        {
            "Sid": "AccountAdministersThroughIam",
            "Effect": "Allow",
            "Action": "kms:*",
            "Resource": "*",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        },
        {
            "Sid": "CloudWatchLogsOfThisEnvironment",
            "Effect": "Allow",
            "Action": [
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            "Resource": "*",
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Condition": {
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account}:log-group:/opsctl/{name}/*"
                }
            },
        },
    )


def hardened_bucket(kind: str, bucket_name: str, kms_key_arn: pulumi.Output[str]) -> aws.s3.Bucket:
    """A private, versioned, KMS-encrypted, TLS-only bucket with lifecycle rules."""
    bucket = aws.s3.Bucket(bucket_name, bucket=bucket_name, tags={"Kind": kind})
    block = aws.s3.BucketPublicAccessBlock(
        f"{bucket_name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    aws.s3.BucketOwnershipControls(
        f"{bucket_name}-ownership",
        bucket=bucket.id,
        rule={"object_ownership": "BucketOwnerEnforced"},
    )
    versioning = aws.s3.BucketVersioning(
        f"{bucket_name}-versioning",
        bucket=bucket.id,
        versioning_configuration={"status": "Enabled"},
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{bucket_name}-encryption",
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": kms_key_arn,
                },
                "bucket_key_enabled": True,
            }
        ],
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{bucket_name}-lifecycle",
        bucket=bucket.id,
        rules=lifecycle_rules(kind),
        opts=pulumi.ResourceOptions(depends_on=[versioning]),
    )
    aws.s3.BucketPolicy(
        f"{bucket_name}-tls-only",
        bucket=bucket.id,
        policy=bucket.arn.apply(tls_only_policy),
        opts=pulumi.ResourceOptions(depends_on=[block]),
    )
    return bucket


def lifecycle_rules(kind: str) -> list[dict[str, Any]]:
    return [
        {
            "id": "expire-old-versions",
            "status": "Enabled",
            "filter": {},
            "noncurrent_version_expiration": {"noncurrent_days": 90},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
        },
        {
            "id": "prediction-logs-to-infrequent-access",
            "status": "Enabled" if kind == "predictions" else "Disabled",
            "filter": {},
            "transitions": [{"days": 30, "storage_class": "STANDARD_IA"}],
        },
    ]


def tls_only_policy(arn: str) -> str:
    return policy(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"],
            "Principal": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )


# -- network -------------------------------------------------------------------


def build_network(name: str, v: dict[str, Any], kms_key_arn: Any) -> SimpleNamespace:
    """VPC, public and private subnets per zone, NAT, flow logs (terraform/modules/network)."""
    zones = list(v["availability_zones"])
    cidr = v["vpc_cidr"]
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
    private = {z: subnet(name, "private", vpc, cidr, z, i + 8) for i, z in enumerate(zones)}
    nat_zones = zones[:1] if v["single_nat_gateway"] else zones
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
        nat = nats[zone] if zone in nats else nats[nat_zones[0]]
        aws.ec2.Route(
            f"{name}-private-nat-{zone}",
            route_table_id=table.id,
            destination_cidr_block="0.0.0.0/0",
            nat_gateway_id=nat.id,
        )
        aws.ec2.RouteTableAssociation(
            f"{name}-private-{zone}", subnet_id=private[zone].id, route_table_id=table.id
        )
    flow_logs(name, vpc, kms_key_arn)
    return SimpleNamespace(
        vpc=vpc,
        cidr=cidr,
        public_subnet_ids=[public[z].id for z in zones],
        private_subnet_ids=[private[z].id for z in zones],
    )


def subnet(
    name: str, tier: str, vpc: aws.ec2.Vpc, cidr: str, zone: str, index: int
) -> aws.ec2.Subnet:
    import ipaddress

    block = list(ipaddress.ip_network(cidr).subnets(prefixlen_diff=4))[index]
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
    eip = aws.ec2.Eip(f"{name}-nat-{zone}", domain="vpc", tags={"Name": f"{name}-nat-{zone}"})
    return aws.ec2.NatGateway(
        f"{name}-{zone}",
        allocation_id=eip.id,
        subnet_id=public_subnet.id,
        tags={"Name": f"{name}-{zone}"},
        opts=pulumi.ResourceOptions(depends_on=[igw]),
    )


def flow_logs(name: str, vpc: aws.ec2.Vpc, kms_key_arn: Any) -> None:
    group = aws.cloudwatch.LogGroup(
        f"{name}-vpc-flow",
        name=f"/opsctl/{name}/vpc-flow",
        retention_in_days=365,
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


# -- security groups -------------------------------------------------------------


def ingress(label: str, group_id: Any, protocol: str, low: int, high: int, **source: Any) -> None:
    aws.vpc.SecurityGroupIngressRule(
        label,
        security_group_id=group_id,
        description=label,
        ip_protocol=protocol,
        from_port=low,
        to_port=high,
        **source,
    )


def egress(label: str, group_id: Any, protocol: str, low: int, high: int, **target: Any) -> None:
    aws.vpc.SecurityGroupEgressRule(
        label,
        security_group_id=group_id,
        description=label,
        ip_protocol=protocol,
        from_port=low,
        to_port=high,
        **target,
    )


def cluster_security_groups(name: str, vpc_id: Any) -> SimpleNamespace:
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
    return SimpleNamespace(server=server, client=client)


def cluster_rules(
    name: str, groups: SimpleNamespace, vpc_cidr: str, alb_group_id: Any, ports: dict[str, int]
) -> None:
    """The rules of terraform/modules/cluster/security.tf."""
    by_role = {"server": groups.server.id, "client": groups.client.id}
    for target, table in (("server", SERVER_PEER_PORTS), ("client", CLIENT_PEER_PORTS)):
        for port_name, (protocol, low, high) in table.items():
            for source, source_id in by_role.items():
                label = f"{name}-{target}-{port_name}-from-{source}"
                ingress(
                    label,
                    by_role[target],
                    protocol,
                    low,
                    high,
                    referenced_security_group_id=source_id,
                )
    for api, port in CONTROL_PORTS.items():
        ingress(f"{name}-control-{api}", groups.server.id, "tcp", port, port, cidr_ipv4=vpc_cidr)
    for service, port in ports.items():
        ingress(
            f"{name}-service-{service}",
            groups.client.id,
            "tcp",
            port,
            port,
            referenced_security_group_id=alb_group_id,
        )
    outbound = {
        "https": ("tcp", 443, 443, "0.0.0.0/0"),
        "http": ("tcp", 80, 80, "0.0.0.0/0"),
        "vpc-tcp": ("tcp", 0, 65535, vpc_cidr),
        "vpc-udp": ("udp", 0, 65535, vpc_cidr),
    }
    for role, group_id in by_role.items():
        for label, (protocol, low, high, cidr) in outbound.items():
            egress(f"{name}-{role}-{label}", group_id, protocol, low, high, cidr_ipv4=cidr)


# -- load balancer ---------------------------------------------------------------


def build_load_balancer(
    name: str, v: dict[str, Any], network: SimpleNamespace, target_group_id: Any
) -> SimpleNamespace:
    """Public ALB: TLS on 443, 80 only redirects (terraform/modules/load_balancer)."""
    group = aws.ec2.SecurityGroup(
        f"{name}-alb",
        name=f"{name}-alb",
        description="Public load balancer: HTTPS, and HTTP that only redirects",
        vpc_id=network.vpc.id,
    )
    ingress(f"{name}-alb-https", group.id, "tcp", 443, 443, cidr_ipv4="0.0.0.0/0")
    ingress(f"{name}-alb-http-redirect", group.id, "tcp", 80, 80, cidr_ipv4="0.0.0.0/0")
    ports = dict(v["service_ports"])
    for service, port in ports.items():
        egress(
            f"{name}-alb-to-{service}",
            group.id,
            "tcp",
            port,
            port,
            referenced_security_group_id=target_group_id,
        )
    lb = aws.lb.LoadBalancer(
        f"{name}-public",
        name=f"{name}-public",
        internal=False,
        load_balancer_type="application",
        security_groups=[group.id],
        subnets=network.public_subnet_ids,
        drop_invalid_header_fields=True,
        enable_deletion_protection=v["deletion_protection"],
    )
    targets = {
        service: aws.lb.TargetGroup(
            f"{name}-{service}",
            name=f"{name}-{service}",
            port=port,
            protocol="HTTP",
            vpc_id=network.vpc.id,
            health_check={"path": HEALTH_PATHS[service], "matcher": "200"},
        )
        for service, port in ports.items()
    }
    https = aws.lb.Listener(
        f"{name}-https",
        load_balancer_arn=lb.arn,
        port=443,
        protocol="HTTPS",
        ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
        certificate_arn=v["certificate_arn"],
        default_actions=[{"type": "forward", "target_group_arn": targets["ui"].arn}],
    )
    aws.lb.ListenerRule(
        f"{name}-api",
        listener_arn=https.arn,
        priority=10,
        actions=[{"type": "forward", "target_group_arn": targets["api"].arn}],
        conditions=[{"host_header": {"values": ["api.*"]}}],
    )
    aws.lb.Listener(
        f"{name}-http",
        load_balancer_arn=lb.arn,
        port=80,
        protocol="HTTP",
        default_actions=[
            {
                "type": "redirect",
                "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"},
            }
        ],
    )
    return SimpleNamespace(lb=lb, group=group, targets=targets, ports=ports)


# -- database --------------------------------------------------------------------


def build_database(
    name: str,
    v: dict[str, Any],
    network: SimpleNamespace,
    clients: dict[str, Any],
    kms_key_arn: Any,
) -> SimpleNamespace:
    """Private, encrypted PostgreSQL with an RDS-managed password (terraform/modules/database)."""
    subnets = aws.rds.SubnetGroup(name, name=name, subnet_ids=network.private_subnet_ids)
    group = aws.ec2.SecurityGroup(
        f"{name}-db",
        name=f"{name}-db",
        description="PostgreSQL, reachable from the cluster only",
        vpc_id=network.vpc.id,
    )
    for label, client_id in clients.items():
        ingress(
            f"{name}-db-from-{label}",
            group.id,
            "tcp",
            5432,
            5432,
            referenced_security_group_id=client_id,
        )
    parameters = aws.rds.ParameterGroup(
        f"{name}-postgres16",
        name=f"{name}-postgres16",
        family="postgres16",
        parameters=[
            {"name": "rds.force_ssl", "value": "1"},
            {"name": "log_min_duration_statement", "value": "1000"},
            {"name": "log_connections", "value": "1"},
        ],
    )
    monitoring = aws.iam.Role(
        f"{name}-rds-monitoring",
        name=f"{name}-rds-monitoring",
        assume_role_policy=assume_role("monitoring.rds.amazonaws.com"),
    )
    aws.iam.RolePolicyAttachment(
        f"{name}-rds-monitoring",
        role=monitoring.name,
        policy_arn="arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
    )
    instance = aws.rds.Instance(
        name,
        identifier=name,
        engine="postgres",
        engine_version="16",
        instance_class=v["db_instance_class"],
        db_name=v["db_name"],
        username=v["db_username"],
        port=5432,
        manage_master_user_password=True,
        master_user_secret_kms_key_id=kms_key_arn,
        allocated_storage=50,
        max_allocated_storage=500,
        storage_type="gp3",
        storage_encrypted=True,
        kms_key_id=kms_key_arn,
        db_subnet_group_name=subnets.name,
        vpc_security_group_ids=[group.id],
        parameter_group_name=parameters.name,
        publicly_accessible=False,
        multi_az=v["multi_az"],
        backup_retention_period=14,
        backup_window="02:00-03:00",
        maintenance_window="sun:03:30-sun:04:30",
        copy_tags_to_snapshot=True,
        deletion_protection=v["deletion_protection"],
        skip_final_snapshot=False,
        final_snapshot_identifier=f"{name}-final",
        auto_minor_version_upgrade=True,
        iam_database_authentication_enabled=True,
        enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
        monitoring_interval=60,
        monitoring_role_arn=monitoring.arn,
        performance_insights_enabled=True,
        performance_insights_kms_key_id=kms_key_arn,
    )
    return SimpleNamespace(instance=instance, group=group)


# -- cluster ---------------------------------------------------------------------


def build_cluster(
    name: str,
    v: dict[str, Any],
    network: SimpleNamespace,
    groups: SimpleNamespace,
    storage: SimpleNamespace,
    db: SimpleNamespace,
    alb: SimpleNamespace,
) -> SimpleNamespace:
    """Servers and clients on auto-scaling groups, the control endpoint (terraform/modules/cluster)."""
    cluster_rules(name, groups, network.cidr, alb.group.id, alb.ports)
    profile = node_profile(name, v, storage, db)
    control, control_targets = control_endpoint(name, network)
    ami = aws.ssm.get_parameter(name=UBUNTU_AMI).value
    values = {
        "environment": name,
        "cluster_tag": name,
        "datacenter": v["datacenter"],
        "nomad_region": v["nomad_region"],
        "server_count": SERVER_COUNT,
    }
    roles = {
        "server": (
            v["server_instance_type"],
            SERVER_COUNT,
            groups.server.id,
            [t.arn for t in control_targets.values()],
        ),
        "client": (
            v["client_instance_type"],
            v["client_count"],
            groups.client.id,
            [t.arn for t in alb.targets.values()],
        ),
    }
    for role, (instance_type, count, group_id, targets) in roles.items():
        template = launch_template(
            name, role, ami, instance_type, group_id, profile, render_template(role, values)
        )
        node_group(name, role, count, template, network.private_subnet_ids, targets)
    return SimpleNamespace(control=control)


def node_profile(
    name: str, v: dict[str, Any], storage: SimpleNamespace, db: SimpleNamespace
) -> aws.iam.InstanceProfile:
    """The instances' role: the platform's buckets and keys, the database secret, peers."""
    identity = aws.get_caller_identity()
    region = aws.get_region().region
    shared_arns = [f"arn:aws:s3:::{bucket}" for bucket in (v.get("shared_buckets") or {}).values()]
    shared_keys = (
        [aws.kms.get_alias(name="alias/opsctl-shared").target_key_arn] if shared_arns else []
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
            "Sid": "ReadEnvironmentParameters",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:GetParametersByPath"],
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
    name: str, network: SimpleNamespace
) -> tuple[aws.lb.LoadBalancer, dict[str, aws.lb.TargetGroup]]:
    """Internal NLB in front of the servers' Nomad and Consul APIs."""
    lb = aws.lb.LoadBalancer(
        f"{name}-control",
        name=f"{name}-control",
        internal=True,
        load_balancer_type="network",
        subnets=network.private_subnet_ids,
        enable_cross_zone_load_balancing=True,
        enable_deletion_protection=True,
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
                "protocol": "HTTP",
                "port": str(port),
                "path": "/v1/agent/health" if api == "nomad" else "/v1/status/leader",
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
    name: str, role: str, ami: str, instance_type: str, group_id: Any, profile: Any, user_data: str
) -> aws.ec2.LaunchTemplate:
    import base64

    return aws.ec2.LaunchTemplate(
        f"{name}-{role}",
        name_prefix=f"{name}-{role}-",
        image_id=ami,
        instance_type=instance_type,
        user_data=base64.b64encode(user_data.encode()).decode(),
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
