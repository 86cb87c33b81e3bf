"""The infrastructure variables of an environment, from its config.

One function turns ``environments/<env>.yaml`` into the variables of the
Terraform roots (``terraform/envs/<env>``); the Pulumi program reads the very
same mapping, so both tools describe the environment from identical inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ops_cli.config.models import AwsConfig, EnvironmentConfig
from ops_cli.errors import ConfigError
from ops_cli.state import write_json_atomic

SHARED_BUCKET_KINDS = ("releases",)
"""Buckets every environment shares (a release verified in staging is the one
prod runs); created by ``terraform/bootstrap``, used by each environment."""

SERVICE_PORTS = {"api": 8000, "ui": 8501}
"""Static ports the load balancer forwards to on the Nomad clients."""

DEFAULT_LOCK_TABLE = "opsctl-terraform-locks"


def is_protected(config: EnvironmentConfig) -> bool:
    """Whether ``down`` refuses to destroy the environment without ``--allow-prod-destroy``:
    a production environment (``aws.production``) or one with deletion protection on."""
    return config.aws is not None and (config.aws.production or config.aws.deletion_protection)


def require_aws(config: EnvironmentConfig) -> AwsConfig:
    """The ``aws`` section; :class:`ConfigError` when the environment has none."""
    if config.aws is None:
        raise ConfigError(
            f"environment '{config.name}' has no 'aws' section; "
            f"add one to environments/{config.name}.yaml to provision it"
        )
    return config.aws


def infra_variables(config: EnvironmentConfig) -> dict[str, Any]:
    """The variables of the environment's infrastructure, JSON-ready.

    Raises :class:`ConfigError` naming the key when a required value is missing.
    """
    aws = require_aws(config)
    _require(
        config, "aws.availability_zones", len(aws.availability_zones) >= 2, "two zones at least"
    )
    _require(
        config,
        "aws.certificate_arn",
        bool(aws.certificate_arn),
        "an ACM certificate ARN (TLS only)",
    )
    buckets = config.storage.buckets.model_dump()
    return {
        "environment": config.name,
        "region": aws.region,
        "availability_zones": list(aws.availability_zones),
        "vpc_cidr": aws.vpc_cidr,
        "single_nat_gateway": not aws.multi_az,
        "server_instance_type": aws.instance_type_server,
        "client_instance_type": aws.instance_type_client,
        "server_count": aws.server_count,
        "client_count": aws.client_count,
        "nomad_region": (config.nomad.region if config.nomad else None) or "global",
        "datacenter": _datacenter(config, aws),
        "db_instance_class": aws.db_instance_class,
        "db_username": config.database.user or "platform",
        "db_name": config.database.mlflow_database,
        "multi_az": aws.multi_az,
        "buckets": {k: v for k, v in buckets.items() if k not in SHARED_BUCKET_KINDS},
        "shared_buckets": {k: v for k, v in buckets.items() if k in SHARED_BUCKET_KINDS},
        "certificate_arn": aws.certificate_arn,
        "domain_name": aws.domain_name,
        "app_auth": _app_auth(aws),
        "service_ports": dict(SERVICE_PORTS),
        "deletion_protection": aws.deletion_protection,
    }


def _app_auth(aws: AwsConfig) -> dict[str, Any]:
    """``aws.app_auth`` as the object variable of the load balancer (every key present)."""
    auth = aws.app_auth
    return {
        "provider": auth.provider,
        **{field: getattr(auth, field) for field in auth.OIDC_FIELDS},
        "session_timeout": auth.session_timeout_s,
    }


def bootstrap_variables(
    config: EnvironmentConfig, state_bucket: str, lock_table: str
) -> dict[str, Any]:
    """The variables of ``terraform/bootstrap`` (state backend and shared buckets)."""
    aws = require_aws(config)
    buckets = config.storage.buckets.model_dump()
    return {
        "region": aws.region,
        "state_bucket": state_bucket,
        "lock_table": lock_table,
        "shared_buckets": {k: v for k, v in buckets.items() if k in SHARED_BUCKET_KINDS},
    }


def write_tfvars(variables: dict[str, Any], path: Path) -> Path:
    """Write ``variables`` as a ``.tfvars.json`` file (atomically) and return its path."""
    write_json_atomic(path, variables, mode=0o600)
    return path


def _datacenter(config: EnvironmentConfig, aws: AwsConfig) -> str:
    datacenters = [d for d in (config.nomad.datacenters if config.nomad else []) if d != "*"]
    return datacenters[0] if datacenters else aws.region


def _require(config: EnvironmentConfig, key: str, ok: bool, what: str) -> None:
    if not ok:
        raise ConfigError(
            f"environments/{config.name}.yaml: '{key}' must be set to {what} "
            f"(or set OPSCTL_{key.upper().replace('.', '__')})"
        )
