"""Helpers every part of the stack shares: IAM documents and security-group rules."""

from __future__ import annotations

import json
from typing import Any

import pulumi_aws as aws


def policy(*statements: dict[str, Any]) -> str:
    """An IAM policy document as JSON."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def assume_role(service: str) -> str:
    """The trust policy letting AWS service ``service`` assume a role."""
    return policy(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": service}}
    )


def ingress(
    label: str, group_id: Any, protocol: str, low: int, high: int, description: str, **source: Any
) -> None:
    """One ingress rule of ``group_id`` (a ``cidr_ipv4`` or ``referenced_security_group_id``);
    ``description`` is the Terraform rule's, word for word."""
    aws.vpc.SecurityGroupIngressRule(
        label,
        security_group_id=group_id,
        description=description,
        ip_protocol=protocol,
        from_port=low,
        to_port=high,
        **source,
    )


def egress(
    label: str, group_id: Any, protocol: str, low: int, high: int, description: str, **target: Any
) -> None:
    """One egress rule of ``group_id``; ``description`` is the Terraform rule's."""
    aws.vpc.SecurityGroupEgressRule(
        label,
        security_group_id=group_id,
        description=description,
        ip_protocol=protocol,
        from_port=low,
        to_port=high,
        **target,
    )
