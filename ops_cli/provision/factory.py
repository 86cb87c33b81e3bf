"""Build the provisioner an environment names, after the checks that make
its failures clear (config values, credentials, state bucket, tool)."""

from __future__ import annotations

from pathlib import Path

from ops_cli.config.loader import find_environments_dir
from ops_cli.environment import Environment
from ops_cli.errors import ConfigError
from ops_cli.provision.base import Provisioner
from ops_cli.provision.preflight import aws_session, require_state_bucket, state_backend
from ops_cli.provision.tfvars import (
    DEFAULT_LOCK_TABLE,
    bootstrap_variables,
    infra_variables,
    require_aws,
)

SHARED_KEY_ALIAS = "alias/opsctl-shared"


def project_dir() -> Path:
    """The checkout that holds ``environments/``, ``terraform/`` and ``platform/``."""
    return find_environments_dir().parent


def infra_workdir(env: Environment) -> Path:
    """Where tfvars, plans and stored outputs of ``env`` live (its state directory)."""
    return env.paths.root / "infra"


def provisioner_for(env: Environment) -> Provisioner:
    """The provisioner of ``env`` (``provisioner:`` in its YAML), ready to plan.

    Raises :class:`ConfigError` for an environment without one or with missing
    values, :class:`OpsError` for missing credentials or state bucket.
    """
    kind = env.config.provisioner
    if kind == "terraform":
        return terraform_for(env)
    if kind == "pulumi":
        return pulumi_for(env)
    raise ConfigError(
        f"environment '{env.name}' has provisioner '{kind}': there is no infrastructure to provision"
    )


def terraform_for(env: Environment) -> Provisioner:
    """Terraform on ``terraform/envs/<env>`` with the S3 backend."""
    from ops_cli.provision.runner import find_runner
    from ops_cli.provision.terraform import TerraformProvisioner

    root = project_dir() / "terraform" / "envs" / env.name
    if not root.is_dir():
        raise ConfigError(f"no Terraform root for '{env.name}': expected {root}")
    variables = infra_variables(env.config)
    session = aws_session(require_aws(env.config).region)
    backend = state_backend(env.config, session)
    require_state_bucket(session, backend, env.name)
    return TerraformProvisioner(
        environment=env.name,
        root=root,
        workdir=infra_workdir(env),
        variables=variables,
        backend_config=backend.terraform_config(),
        runner=find_runner(),
    )


def bootstrap_for(env: Environment) -> Provisioner:
    """Terraform on ``terraform/bootstrap`` (state bucket, lock table, shared
    buckets), its own state kept locally in ``env``'s state directory."""
    from ops_cli.provision.runner import find_runner
    from ops_cli.provision.terraform import TerraformProvisioner

    aws = require_aws(env.config)
    session = aws_session(aws.region)
    backend = state_backend(env.config, session)
    workdir = infra_workdir(env) / "bootstrap"
    return TerraformProvisioner(
        environment=f"{env.name}-bootstrap",
        root=project_dir() / "terraform" / "bootstrap",
        workdir=workdir,
        variables=bootstrap_variables(
            env.config, backend.bucket, aws.lock_table or DEFAULT_LOCK_TABLE
        ),
        backend_config={"path": str(workdir / "terraform.tfstate")},
        runner=find_runner(),
    )


def pulumi_for(env: Environment) -> Provisioner:
    """The ``platform/`` program, stack ``<env>``, state in the S3 state bucket."""
    from ops_cli.provision.pulumi import PulumiProvisioner

    infra_variables(env.config)  # the program needs the same values: fail early and clearly
    aws = require_aws(env.config)
    session = aws_session(aws.region)
    backend = state_backend(env.config, session, prefix="pulumi")
    require_state_bucket(session, backend, env.name)
    return PulumiProvisioner(
        environment=env.name,
        program_dir=project_dir() / "platform",
        backend_url=f"s3://{backend.bucket}/pulumi?region={aws.region}",
        secrets_provider=f"awskms://{SHARED_KEY_ALIAS}?region={aws.region}",
    )
