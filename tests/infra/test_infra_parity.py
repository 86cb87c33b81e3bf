"""Terraform and Pulumi describe the same environment, setting for setting.

Terraform's side is its mocked plan (``terraform test``, the provider mocked)
with the variables opsctl generates; Pulumi's side is the program under
``pulumi.runtime.set_mocks`` with the same variables. Compared for staging and
prod: resource counts per type, every top-level setting after variables are
evaluated (see :mod:`parity_support`), security-group rules, region and
default tags.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from infra_support import CLOUD_ENVIRONMENTS, TERRAFORM, cloud_config, first, parse_dir
from parity_support import (
    PULUMI_TO_TERRAFORM,
    TERRAFORM_TO_PULUMI,
    managed_changes,
    pulumi_settings,
    settings_difference,
    terraform_settings,
)
from pulumi_support import Recorded, run_stack

from ops_cli.provision.tfvars import infra_variables


@cache
def pulumi_resources(env: str) -> tuple[Recorded, ...]:
    return tuple(run_stack(env)[0])


def pulumi_counts(env: str) -> Counter:
    return Counter(
        PULUMI_TO_TERRAFORM.get(r.token, r.token)
        for r in pulumi_resources(env)
        if not r.token.startswith("pulumi:")
    )


@pytest.mark.parametrize("env", CLOUD_ENVIRONMENTS)
def test_same_resource_counts_per_type(env: str, mocked_plan: Callable) -> None:
    terraform = Counter(r["type"] for r in managed_changes(mocked_plan(env)))
    assert terraform == pulumi_counts(env)


@pytest.mark.parametrize("env", CLOUD_ENVIRONMENTS)
def test_same_top_level_settings(env: str, mocked_plan: Callable) -> None:
    plan = mocked_plan(env)
    difference = settings_difference(
        terraform_settings(plan), pulumi_settings(pulumi_resources(env), plan)
    )
    assert difference == {}


@pytest.mark.parametrize("env", CLOUD_ENVIRONMENTS)
def test_same_security_group_rules(env: str, mocked_plan: Callable) -> None:
    rule_types = ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule")
    plan = mocked_plan(env)
    keys = ("ip_protocol", "from_port", "to_port", "cidr_ipv4", "description")
    terraform = Counter(
        (r["type"], *(r["change"]["after"].get(k) for k in keys))
        for r in managed_changes(plan)
        if r["type"] in rule_types
    )
    pulumi = Counter(
        (
            PULUMI_TO_TERRAFORM[r.token],
            *(
                r.inputs.get(k)
                for k in ("ipProtocol", "fromPort", "toPort", "cidrIpv4", "description")
            ),
        )
        for r in pulumi_resources(env)
        if PULUMI_TO_TERRAFORM.get(r.token) in rule_types
    )
    assert terraform == pulumi


@pytest.mark.parametrize("env", CLOUD_ENVIRONMENTS)
def test_same_region_and_default_tags(env: str) -> None:
    import json

    (provider_block,) = parse_dir(TERRAFORM / "envs" / env)["provider"]
    aws = first(provider_block["aws"])
    tags = first(aws["default_tags"])["tags"]
    variables = infra_variables(cloud_config(env))
    evaluated = {
        k: v.replace("${var.environment}", variables["environment"]) for k, v in tags.items()
    }
    assert aws["region"] == "${var.region}"
    (provider,) = [r for r in pulumi_resources(env) if r.token == "pulumi:providers:aws"]
    assert provider.inputs["region"] == variables["region"]
    assert json.loads(provider.inputs["defaultTags"])["tags"] == evaluated


def test_a_setting_changed_on_one_side_is_reported(mocked_plan: Callable) -> None:
    plan = mocked_plan("staging")
    changed = []
    for r in pulumi_resources("staging"):
        inputs: dict[str, Any] = dict(r.inputs)
        if r.token == TERRAFORM_TO_PULUMI["aws_lb"] and r.name.endswith("-control"):
            inputs["enableDeletionProtection"] = True
        changed.append(Recorded(r.token, r.name, inputs, r.provider))
    difference = settings_difference(terraform_settings(plan), pulumi_settings(changed, plan))
    assert set(difference) == {"aws_lb"}


def test_every_mapped_type_is_used(mocked_plan: Callable) -> None:
    used = {r["type"] for r in managed_changes(mocked_plan("prod"))}
    assert set(TERRAFORM_TO_PULUMI) == used


OIDC = {
    "provider": "oidc",
    "issuer": "https://id.example.com",
    "authorization_endpoint": "https://id.example.com/oauth2/authorize",
    "token_endpoint": "https://id.example.com/oauth2/token",
    "user_info_endpoint": "https://id.example.com/oauth2/userinfo",
    "client_id": "crm-staging-app",
    "client_secret_name": "crm/staging/oidc-client",
    "session_timeout": 28800,
}
"""An organisation's identity provider instead of the default Cognito user pool."""


def test_oidc_sign_in_is_the_same_in_terraform_and_pulumi(initialized: Callable) -> None:
    """With ``app_auth.provider: oidc`` both sides authenticate before the app with the
    same provider settings, and the client secret comes from Secrets Manager (the
    secret named by ``client_secret_name``), never from the variables."""
    variables = {**infra_variables(cloud_config("staging")), "app_auth": OIDC}
    plan = initialized("envs/staging").mocked_plan("envs/staging", variables)
    resources = run_stack("staging", variables)[0]
    assert settings_difference(terraform_settings(plan), pulumi_settings(resources, plan)) == {}

    listener = next(
        r["change"]["after"]
        for r in managed_changes(plan)
        if r["address"].endswith("aws_lb_listener.https")
    )
    actions = sorted(listener["default_action"], key=lambda a: a["order"])
    assert [a["type"] for a in actions] == ["authenticate-oidc", "forward"]
    oidc = first(actions[0]["authenticate_oidc"])
    assert oidc["issuer"] == OIDC["issuer"] and oidc["client_id"] == OIDC["client_id"]
    # both read the secret client_secret_name names (the mocks answer the same value)
    assert oidc["client_secret"] == "oidc-client-secret"
    assert "aws_cognito_user_pool" not in {r["type"] for r in managed_changes(plan)}
    assert "oidc-client-secret" not in json.dumps(variables)  # only the secret store has it
    pulumi_listener = next(
        r
        for r in resources
        if r.token == "aws:lb/listener:Listener" and r.inputs.get("port") == 443
    )
    # a Pulumi secret travels wrapped (signature key 4dabf18193072939515e22adb298388d)
    wrapped = pulumi_listener.inputs["defaultActions"]
    assert "4dabf18193072939515e22adb298388d" in wrapped, "the client secret is not a secret"
    pulumi_oidc = wrapped["value"][0]["authenticateOidc"]
    assert pulumi_oidc["clientSecret"] == "oidc-client-secret"  # the mocked secret's value
    assert pulumi_oidc["issuer"] == OIDC["issuer"]
