"""Entry point of the Pulumi program: the stack named after an environment.

The stack reads ``environments/<stack>.yaml`` through opsctl's own loader and
the variables Terraform gets (``ops_cli.provision.tfvars``), so both tools
build the environment from identical inputs, region and default tags included.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pulumi

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import StackInputs, build

from ops_cli.config import load_environment
from ops_cli.provision.tfvars import infra_variables

config = pulumi.Config()
environment = config.get("environment") or pulumi.get_stack()
inputs = StackInputs.from_variables(infra_variables(load_environment(environment)))
for key, value in build(inputs).items():
    pulumi.export(key, value)
