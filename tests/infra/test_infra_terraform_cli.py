"""Terraform itself, offline: ``init`` from the provider mirror, ``validate`` on every
root, and a plan with the AWS provider mocked for staging and prod, so the provider's
own schema and value checks run on the values opsctl generates."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from infra_support import CLOUD_ENVIRONMENTS, TERRAFORM, cloud_config, parse_dir
from terraform_support import MIRROR_CANDIDATES, ROOTS, TerraformWorkspace, provider_mirror

from ops_cli.config.cloud import MAX_AWS_ENVIRONMENT_NAME, aws_name_violations
from ops_cli.provision.tfvars import infra_variables


def after(plan: dict[str, Any], address_end: str) -> dict[str, Any]:
    """The planned values of the one resource whose address ends with ``address_end``."""
    (found,) = [r for r in plan["resource_changes"] if r["address"].endswith(address_end)]
    return found["change"]["after"]


def test_no_mirror_means_a_skip_without_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPSCTL_TF_PROVIDER_MIRROR", str(tmp_path))
    monkeypatch.setattr("terraform_support.MIRROR_CANDIDATES", ())
    assert provider_mirror() is None
    assert MIRROR_CANDIDATES  # the real candidates stay documented


def admits(constraint: str, version: str) -> bool:
    """Whether a Terraform version constraint of ``>=``, ``<``, ``<=``, ``>`` and ``=``
    parts admits ``version``."""
    want = tuple(int(n) for n in version.split("."))
    checks = {
        ">=": lambda a, b: a >= b,
        ">": lambda a, b: a > b,
        "<=": lambda a, b: a <= b,
        "<": lambda a, b: a < b,
        "=": lambda a, b: a == b,
    }
    for part in constraint.split(","):
        match = re.fullmatch(r"\s*(>=|<=|>|<|=)?\s*([\d.]+)\s*", part)
        assert match, f"unexpected constraint part {part!r}"
        op, number = match.groups()
        bound = tuple(int(n) for n in number.split("."))
        bound += (0,) * (len(want) - len(bound))
        if not checks[op or "="](want, bound):
            return False
    return True


def aws_constraints() -> dict[str, str]:
    """The AWS provider constraint each root and module declares, by folder."""
    found = {}
    for folder in [*(TERRAFORM / root for root in ROOTS), *(TERRAFORM / "modules").iterdir()]:
        for block in parse_dir(folder).get("terraform", []):
            for providers in block.get("required_providers", []):
                if "aws" in providers:
                    found[str(folder.relative_to(TERRAFORM))] = providers["aws"]["version"]
    return found


def test_the_aws_provider_is_held_to_the_tested_major_version() -> None:
    """Only 5.x is tested (the mirror holds 5.100.0): every root and module admits
    it and refuses 6.x, so no init picks an untested major version."""
    constraints = aws_constraints()
    modules = {f"modules/{p.name}" for p in (TERRAFORM / "modules").iterdir() if p.is_dir()}
    assert set(constraints) == {*ROOTS, *modules}
    for folder, constraint in constraints.items():
        assert admits(constraint, "5.100.0"), (folder, constraint)
        assert not admits(constraint, "6.0.0"), (folder, constraint)
        assert not admits(constraint, "6.2.0"), (folder, constraint)


@pytest.mark.parametrize("root", ROOTS)
def test_validate(root: str, initialized: Callable[[str], TerraformWorkspace]) -> None:
    result = initialized(root).run(root, "validate", "-json")
    report = json.loads(result.stdout)
    assert report["valid"], json.dumps(report["diagnostics"], indent=2)
    assert not [d for d in report["diagnostics"] if d["severity"] == "warning"], report


@pytest.mark.parametrize("env", CLOUD_ENVIRONMENTS)
def test_mocked_plan_follows_the_environment(env: str, mocked_plan: Callable) -> None:
    plan = mocked_plan(env)
    config = cloud_config(env)
    assert config.aws is not None
    protected = config.aws.deletion_protection
    assert after(plan, "aws_lb.public")["enable_deletion_protection"] is protected
    assert after(plan, "aws_lb.control")["enable_deletion_protection"] is protected
    db = after(plan, "aws_db_instance.this")
    assert db["deletion_protection"] is protected
    assert db["multi_az"] is config.aws.multi_az
    assert db["final_snapshot_identifier"].startswith(f"crm-{env}-final-")
    servers = after(plan, 'aws_autoscaling_group.node["server"]')
    assert servers["desired_capacity"] == config.aws.server_count


@pytest.mark.parametrize("env", CLOUD_ENVIRONMENTS)
def test_app_is_behind_sign_in_and_the_api_is_not(env: str, mocked_plan: Callable) -> None:
    plan = mocked_plan(env)
    actions = after(plan, "aws_lb_listener.https")["default_action"]
    assert [a["type"] for a in sorted(actions, key=lambda a: a["order"])] == [
        "authenticate-cognito",
        "forward",
    ]
    rule = after(plan, "aws_lb_listener_rule.api")
    assert [a["type"] for a in rule["action"]] == ["forward"]


@pytest.mark.parametrize("env", CLOUD_ENVIRONMENTS)
def test_clients_reach_each_other_on_the_service_ports(env: str, mocked_plan: Callable) -> None:
    rules = [
        r["change"]["after"]
        for r in mocked_plan(env)["resource_changes"]
        if ".services_from_clients[" in r["address"]
    ]
    assert sorted(r["from_port"] for r in rules) == [8000, 8501]


def test_the_longest_environment_name_opsctl_admits_is_the_longest_aws_accepts(
    initialized: Callable,
) -> None:
    """The provider's own name checks agree with opsctl's table (``AWS_NAMES``): a name
    of ``MAX_AWS_ENVIRONMENT_NAME`` characters plans, one more fails the mocked plan,
    and opsctl refuses that one at load (tests/ops_cli/test_config.py)."""
    base = infra_variables(cloud_config("staging"))
    longest = "s" * MAX_AWS_ENVIRONMENT_NAME
    assert not aws_name_violations(longest) and aws_name_violations(longest + "s")

    plan = initialized("envs/staging").mocked_plan("envs/staging", {**base, "environment": longest})
    assert after(plan, "aws_lb.control")["name"] == f"crm-{longest}-control"
    with pytest.raises(AssertionError, match="cannot be longer than 32 characters"):
        initialized("envs/staging").mocked_plan(
            "envs/staging", {**base, "environment": longest + "s"}
        )
