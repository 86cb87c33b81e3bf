"""Private, encrypted PostgreSQL with an RDS-managed password (``terraform/modules/database``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pulumi
import pulumi_aws as aws

from stack.common import assume_role, ingress
from stack.inputs import StackInputs
from stack.network import Network


@dataclass
class Database:
    """The RDS instance and its security group."""

    instance: aws.rds.Instance
    group: aws.ec2.SecurityGroup


def final_snapshot_name(name: str, now: datetime | None = None) -> str:
    """``<name>-final-<UTC timestamp>``: each instance's final snapshot gets its own name,
    so destroying the environment a second time never collides with the first snapshot."""
    return f"{name}-final-{(now or datetime.now(UTC)):%Y%m%d%H%M%S}"


def build_database(
    inputs: StackInputs, network: Network, clients: dict[str, Any], kms_key_arn: Any
) -> Database:
    """The instance, its subnet group, security group, parameters and monitoring role."""
    name = inputs.name
    subnets = aws.rds.SubnetGroup(
        name,
        name=name,
        description="Private subnets of the database",
        subnet_ids=network.private_subnet_ids,
    )
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
            "PostgreSQL from the cluster",
            referenced_security_group_id=client_id,
        )
    parameters = aws.rds.ParameterGroup(
        f"{name}-postgres16",
        name=f"{name}-postgres16",
        description="PostgreSQL 16, TLS only",
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
        instance_class=inputs.db_instance_class,
        db_name=inputs.db_name,
        username=inputs.db_username,
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
        multi_az=inputs.multi_az,
        backup_retention_period=14,
        backup_window="02:00-03:00",
        maintenance_window="sun:03:30-sun:04:30",
        copy_tags_to_snapshot=True,
        deletion_protection=inputs.deletion_protection,
        skip_final_snapshot=False,
        final_snapshot_identifier=final_snapshot_name(name),
        auto_minor_version_upgrade=True,
        iam_database_authentication_enabled=True,
        enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
        monitoring_interval=60,
        monitoring_role_arn=monitoring.arn,
        performance_insights_enabled=True,
        performance_insights_kms_key_id=kms_key_arn,
        # the name is fixed when the instance is created; a later run must not change it
        opts=pulumi.ResourceOptions(ignore_changes=["finalSnapshotIdentifier"]),
    )
    return Database(instance=instance, group=group)
