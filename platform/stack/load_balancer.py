"""Public ALB: TLS on 443, 80 only redirects, people signed in before the app
(``terraform/modules/load_balancer``, its ``auth.tf`` included)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from stack.common import egress, ingress
from stack.inputs import StackInputs
from stack.network import Network
from stack.provider import invoke_options

HEALTH_PATHS = {"api": "/health", "ui": "/_stcore/health"}


@dataclass
class LoadBalancer:
    """The public load balancer, its security group, and its target groups and listener ports by
    service."""

    lb: aws.lb.LoadBalancer
    group: aws.ec2.SecurityGroup
    targets: dict[str, aws.lb.TargetGroup]
    ports: dict[str, int]


def build_load_balancer(
    inputs: StackInputs, network: Network, target_group_id: Any
) -> LoadBalancer:
    """The load balancer, its security group, target groups and listeners."""
    name = inputs.name
    group = aws.ec2.SecurityGroup(
        f"{name}-alb",
        name=f"{name}-alb",
        description="Public load balancer: HTTPS, and HTTP that only redirects",
        vpc_id=network.vpc.id,
    )
    ingress(
        f"{name}-alb-https",
        group.id,
        "tcp",
        443,
        443,
        "HTTPS from the internet",
        cidr_ipv4="0.0.0.0/0",
    )
    ingress(
        f"{name}-alb-http-redirect",
        group.id,
        "tcp",
        80,
        80,
        "HTTP from the internet, redirected to HTTPS",
        cidr_ipv4="0.0.0.0/0",
    )
    ports = dict(inputs.service_ports)
    for service, port in ports.items():
        egress(
            f"{name}-alb-to-{service}",
            group.id,
            "tcp",
            port,
            port,
            f"{service} on the cluster clients",
            referenced_security_group_id=target_group_id,
        )
    if inputs.app_auth.provider != "none":
        egress(
            f"{name}-alb-identity-provider",
            group.id,
            "tcp",
            443,
            443,
            "HTTPS to the identity provider (sign-in)",
            cidr_ipv4="0.0.0.0/0",
        )
    lb = aws.lb.LoadBalancer(
        f"{name}-public",
        name=f"{name}-public",
        internal=False,
        load_balancer_type="application",
        security_groups=[group.id],
        subnets=network.public_subnet_ids,
        drop_invalid_header_fields=True,
        enable_deletion_protection=inputs.deletion_protection,
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
    listeners(inputs, lb, targets)
    return LoadBalancer(lb=lb, group=group, targets=targets, ports=ports)


def listeners(
    inputs: StackInputs, lb: aws.lb.LoadBalancer, targets: dict[str, aws.lb.TargetGroup]
) -> None:
    """443: sign in, then the app; ``api.*`` straight to the prediction service. 80: redirect."""
    name = inputs.name
    forward = {"type": "forward", "order": 2, "target_group_arn": targets["ui"].arn}
    https = aws.lb.Listener(
        f"{name}-https",
        load_balancer_arn=lb.arn,
        port=443,
        protocol="HTTPS",
        ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
        certificate_arn=inputs.certificate_arn,
        default_actions=[*sign_in_actions(inputs, lb), forward],
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


def sign_in_actions(inputs: StackInputs, lb: aws.lb.LoadBalancer) -> list[dict[str, Any]]:
    """The authenticate action placed before the forward (none for ``provider: none``)."""
    auth = inputs.app_auth
    if auth.provider == "cognito":
        pool, client, domain = cognito(inputs, lb)
        cognito_action = {
            "user_pool_arn": pool.arn,
            "user_pool_client_id": client.id,
            "user_pool_domain": domain.domain,
            "session_timeout": auth.session_timeout,
            "on_unauthenticated_request": "authenticate",
        }
        return [
            {"type": "authenticate-cognito", "order": 1, "authenticate_cognito": cognito_action}
        ]
    if auth.provider == "oidc":
        secret = aws.secretsmanager.get_secret_version(
            secret_id=auth.client_secret_name, opts=invoke_options()
        )
        oidc_action = {
            "issuer": auth.issuer,
            "authorization_endpoint": auth.authorization_endpoint,
            "token_endpoint": auth.token_endpoint,
            "user_info_endpoint": auth.user_info_endpoint,
            "client_id": auth.client_id,
            "client_secret": pulumi.Output.secret(secret.secret_string),
            "session_timeout": auth.session_timeout,
            "on_unauthenticated_request": "authenticate",
        }
        return [{"type": "authenticate-oidc", "order": 1, "authenticate_oidc": oidc_action}]
    return []


def cognito(
    inputs: StackInputs, lb: aws.lb.LoadBalancer
) -> tuple[aws.cognito.UserPool, aws.cognito.UserPoolClient, aws.cognito.UserPoolDomain]:
    """A user pool whose users an administrator creates, its load balancer client and domain."""
    name = inputs.name
    pool = aws.cognito.UserPool(
        f"{name}-app",
        name=f"{name}-app",
        deletion_protection="ACTIVE" if inputs.deletion_protection else "INACTIVE",
        mfa_configuration="OPTIONAL",
        admin_create_user_config={"allow_admin_create_user_only": True},
        password_policy={
            "minimum_length": 14,
            "require_lowercase": True,
            "require_uppercase": True,
            "require_numbers": True,
            "require_symbols": False,
        },
        software_token_mfa_configuration={"enabled": True},
    )
    host = pulumi.Output.from_input(inputs.domain_name) if inputs.domain_name else lb.dns_name
    client = aws.cognito.UserPoolClient(
        f"{name}-alb",
        name=f"{name}-alb",
        user_pool_id=pool.id,
        generate_secret=True,
        allowed_oauth_flows_user_pool_client=True,
        allowed_oauth_flows=["code"],
        allowed_oauth_scopes=["openid", "email"],
        supported_identity_providers=["COGNITO"],
        callback_urls=[host.apply(lambda h: f"https://{h}/oauth2/idpresponse")],
    )
    account = aws.get_caller_identity(opts=invoke_options()).account_id
    domain = aws.cognito.UserPoolDomain(
        f"{name}-app", domain=f"{name}-{account}", user_pool_id=pool.id
    )
    return pool, client, domain
