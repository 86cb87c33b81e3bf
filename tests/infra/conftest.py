"""Fixtures of the infrastructure tests: one Terraform workspace and one mocked plan
per environment for the whole session (each plan costs seconds)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from infra_support import cloud_config
from terraform_support import TerraformWorkspace, why_not_runnable

from ops_cli.provision.tfvars import infra_variables


@pytest.fixture(scope="session")
def terraform(tmp_path_factory: pytest.TempPathFactory) -> TerraformWorkspace:
    """A copy of terraform/ that installs the AWS provider from the local mirror only;
    skips (without trying the network) where there is no terraform or no mirror."""
    reason = why_not_runnable()
    if reason:
        pytest.skip(f"Terraform checks need a local provider mirror: {reason}")
    return TerraformWorkspace.create(tmp_path_factory.mktemp("terraform"))


@pytest.fixture(scope="session")
def initialized(terraform: TerraformWorkspace) -> Callable[[str], TerraformWorkspace]:
    """``initialized(root)``: the workspace with ``root`` initialized (once)."""
    done: set[str] = set()

    def init(root: str) -> TerraformWorkspace:
        if root not in done:
            terraform.init(root)
            done.add(root)
        return terraform

    return init


@pytest.fixture(scope="session")
def mocked_plan(
    initialized: Callable[[str], TerraformWorkspace],
) -> Callable[[str], dict[str, Any]]:
    """``mocked_plan(env)``: the JSON plan of ``terraform/envs/<env>`` with the variables
    opsctl generates for the environment (computed once per session)."""
    plans: dict[str, dict[str, Any]] = {}

    def plan(env: str) -> dict[str, Any]:
        if env not in plans:
            root = f"envs/{env}"
            plans[env] = initialized(root).mocked_plan(root, infra_variables(cloud_config(env)))
        return plans[env]

    return plan
