"""Run the Pulumi program of platform/ under pulumi.runtime.set_mocks.

No Pulumi CLI, no AWS: every resource registration is recorded with its
inputs, and the few data sources the program reads get fixed answers.
"""

from __future__ import annotations

import asyncio
import importlib
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
    provider: str = ""


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers as AWS would, closely enough for the program to run; records everything."""

    def __init__(self) -> None:
        self.resources: list[Recorded] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        self.resources.append(Recorded(args.typ, args.name, dict(args.inputs), args.provider or ""))
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
            "aws:secretsmanager/getSecretVersion:getSecretVersion": {
                "secretString": "oidc-client-secret",
                "id": "secret",
            },
            "aws:kms/getAlias:getAlias": {
                "targetKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/shared",
                "id": "alias",
            },
        }
        return answers.get(args.token, {}), []


def load_stack_package() -> Any:
    """platform/stack, imported as the Pulumi program imports it (platform/ itself is
    not a package: it would shadow the standard library's ``platform``)."""
    if str(PLATFORM) not in sys.path:
        sys.path.insert(0, str(PLATFORM))
    return importlib.import_module("stack")


def run_stack(
    environment: str, variables: dict[str, Any] | None = None
) -> tuple[list[Recorded], dict[str, Any]]:
    """Declare stack ``environment`` under mocks; its resources and resolved outputs.

    ``variables`` default to what opsctl generates for the environment.
    """
    mocks = RecordingMocks()
    # Pulumi declares resources on the thread's current event loop; an earlier test's
    # asyncio.run() leaves the main thread with none set
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.set_mocks(mocks, project="crm-platform", stack=environment, preview=False)
    package = load_stack_package()
    variables = variables or infra_variables(cloud_config(environment))
    outputs = package.build(package.StackInputs.from_variables(variables))
    resolved: dict[str, Any] = {}

    @pulumi.runtime.test
    def wait() -> pulumi.Output:
        return pulumi.Output.from_input(outputs).apply(resolved.update)

    wait()
    return mocks.resources, resolved
