"""Run the Pulumi program of platform/ under pulumi.runtime.set_mocks.

No Pulumi CLI, no AWS: every resource registration is recorded with its
inputs, and the few data sources the program reads get fixed answers.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from typing import Any

import pulumi
from infra_support import PLATFORM, cloud_config

from ops_cli.provision.tfvars import infra_variables

ACCOUNT = "123456789012"
REGION = "eu-west-1"


@dataclass(frozen=True)
class Recorded:
    """One resource the program declared."""

    token: str
    name: str
    inputs: dict[str, Any]


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers as AWS would, closely enough for the program to run; records everything."""

    def __init__(self) -> None:
        self.resources: list[Recorded] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        self.resources.append(Recorded(args.typ, args.name, dict(args.inputs)))
        state = dict(args.inputs)
        state.setdefault("arn", f"arn:aws:mock:{REGION}:{ACCOUNT}:{args.name}")
        state.setdefault("dnsName", f"{args.name}.elb.{REGION}.amazonaws.com")
        state.setdefault("endpoint", f"{args.name}.rds.amazonaws.com:5432")
        state.setdefault("keyId", f"key-{args.name}")
        state.setdefault("latestVersion", 1)
        state.setdefault(
            "masterUserSecrets",
            [{"secretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{args.name}"}],
        )
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
        answers = {
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/test",
                "userId": "test",
                "id": ACCOUNT,
            },
            "aws:index/getRegion:getRegion": {"name": REGION, "region": REGION, "id": REGION},
            "aws:ssm/getParameter:getParameter": {
                "value": "ami-0123456789abcdef0",
                "name": "ami",
                "type": "String",
                "id": "ami",
            },
            "aws:kms/getAlias:getAlias": {
                "targetKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/shared",
                "id": "alias",
            },
        }
        return answers.get(args.token, {}), []


def load_stack_module() -> Any:
    """platform/environment_stack.py, loaded by path (platform/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "crm_environment_stack", PLATFORM / "environment_stack.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_stack(environment: str) -> tuple[list[Recorded], dict[str, Any]]:
    """Declare stack ``environment`` under mocks; its resources and resolved outputs."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="crm-platform", stack=environment, preview=False)
    module = load_stack_module()
    outputs = module.build(infra_variables(cloud_config(environment)))
    resolved: dict[str, Any] = {}

    @pulumi.runtime.test
    def wait() -> pulumi.Output:
        return pulumi.Output.from_input(outputs).apply(resolved.update)

    wait()
    return mocks.resources, resolved
