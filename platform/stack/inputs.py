"""The typed inputs of the stack: the variables Terraform gets, as one object.

:func:`StackInputs.from_variables` reads the mapping
``ops_cli.provision.tfvars.infra_variables`` builds for ``terraform/envs/<env>``,
so both tools describe the environment from identical inputs; a key missing or
of the wrong type fails here, naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class AppAuth:
    """How the public load balancer signs people in before the app (``aws.app_auth``)."""

    provider: str
    issuer: str | None = None
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    user_info_endpoint: str | None = None
    client_id: str | None = None
    client_secret_name: str | None = None
    session_timeout: int = 28800


@dataclass(frozen=True)
class StackInputs:
    """Every variable of the environment roots (``terraform/envs/<env>/variables.tf``)."""

    environment: str
    region: str
    availability_zones: list[str]
    vpc_cidr: str
    single_nat_gateway: bool
    server_instance_type: str
    client_instance_type: str
    server_count: int
    client_count: int
    nomad_region: str
    datacenter: str
    db_instance_class: str
    db_username: str
    db_name: str
    multi_az: bool
    buckets: dict[str, str]
    shared_buckets: dict[str, str]
    certificate_arn: str
    domain_name: str | None
    app_auth: AppAuth
    service_ports: dict[str, int]
    deletion_protection: bool

    @property
    def name(self) -> str:
        """The prefix of every resource name, ``crm-<environment>``."""
        return f"crm-{self.environment}"

    @property
    def default_tags(self) -> dict[str, str]:
        """Tags every resource carries (the Terraform roots' provider ``default_tags``)."""
        return {"ManagedBy": "opsctl", "Environment": self.environment}

    @classmethod
    def from_variables(cls, variables: dict[str, Any]) -> StackInputs:
        """Build from the tfvars mapping; KeyError/TypeError name the offending key."""
        expected = {f.name for f in fields(cls)}
        missing, unknown = expected - set(variables), set(variables) - expected
        if missing or unknown:
            raise KeyError(f"stack variables: missing {sorted(missing)}, unknown {sorted(unknown)}")
        values = dict(variables)
        values["app_auth"] = AppAuth(**variables["app_auth"])
        for key in ("server_count", "client_count"):
            if not isinstance(values[key], int):
                raise TypeError(f"stack variable '{key}' must be an integer")
        return cls(**values)
