"""The AWS side of a cloud environment, and the rules a production environment obeys.

:class:`ProductionRules` is the one place the production rules live. Terraform
gets their outcome through the generated tfvars (``ops_cli.provision.tfvars``),
the Pulumi program through the same variables, and ``opsctl down`` through
:attr:`AwsConfig.production`; no tool keeps a copy of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

CERTIFICATE_ARN_PATTERN = r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$"
"""An ACM certificate ARN (``arn:<partition>:acm:<region>:<account>:certificate/<id>``)."""

HttpsUrl = Annotated[str, StringConstraints(pattern=r"^https://[^\s/]+(/\S*)?$")]


RESOURCE_PREFIX = "crm-"
"""Every AWS resource of an environment is named ``crm-<environment>[-<suffix>]``
(``terraform/modules/platform`` and ``platform/stack/inputs.py``)."""


@dataclass(frozen=True)
class AwsName:
    """One AWS resource name built from the environment name, and AWS's limit for it."""

    resource: str
    suffix: str
    limit: int

    def of(self, environment: str) -> str:
        """The resource's name for ``environment``: ``crm-<environment><suffix>``."""
        return f"{RESOURCE_PREFIX}{environment}{self.suffix}"

    def longest_environment(self) -> int:
        """The longest environment name (characters) whose resource name fits AWS's limit."""
        return self.limit - len(self.of(""))


AWS_NAMES: tuple[AwsName, ...] = (
    AwsName("public load balancer", "-public", 32),
    AwsName("control load balancer", "-control", 32),
    # the longest of the target groups: api, ui (public), nomad, consul (control)
    AwsName("target group", "-consul", 32),
    AwsName("IAM role", "-rds-monitoring", 64),
    AwsName("RDS instance identifier", "", 63),
    AwsName("Cognito sign-in domain (with the 12-digit account id)", "-123456789012", 63),
)
"""The names that bind, each with AWS's documented maximum length; every other name
an environment creates is shorter than its own limit by more."""

MAX_AWS_ENVIRONMENT_NAME = min(n.longest_environment() for n in AWS_NAMES)


def aws_name_violations(environment: str) -> list[str]:
    """Why ``environment`` cannot name AWS resources, each naming the resource and the
    limit; empty when every name fits. RDS also refuses a trailing hyphen and ``--``."""
    found = [
        f"{n.resource} '{n.of(environment)}' would have {len(n.of(environment))} "
        f"characters, AWS allows {n.limit}"
        for n in AWS_NAMES
        if len(n.of(environment)) > n.limit
    ]
    if environment.endswith("-") or "--" in environment:
        found.append(
            f"RDS instance identifier '{RESOURCE_PREFIX}{environment}' may not end "
            "with a hyphen or hold two in a row"
        )
    return found


PRODUCTION_RULES_BROKEN = "production rules broken: "
"""How :class:`AwsConfig` starts the refusal listing :meth:`ProductionRules.violations`
(``; ``-separated); the config loader names each rule's own source."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProductionRules:
    """What ``aws.production: true`` demands, checked when the config loads.

    - three availability zones at least (a quorum survives the loss of one);
    - the database multi-AZ;
    - deletion protection on (database and both load balancers);
    - 3 or 5 Nomad/Consul servers (an odd quorum that survives one zone);
    - a TLS certificate given as an ACM ARN (checked for every environment that sets one);
    - the app behind the load balancer's user authentication (``app_auth.provider`` not ``none``).
    """

    MIN_ZONES: ClassVar[int] = 3
    SERVER_COUNTS: ClassVar[tuple[int, ...]] = (3, 5)

    @classmethod
    def violations(cls, aws: AwsConfig) -> list[str]:
        """Each broken rule as ``aws.<key>: <why>``; empty when ``aws`` obeys them all."""
        found = []
        if len(aws.availability_zones) < cls.MIN_ZONES:
            found.append(f"aws.availability_zones: production spreads over {cls.MIN_ZONES} zones")
        if not aws.multi_az:
            found.append("aws.multi_az: production runs its database multi-AZ (true)")
        if not aws.deletion_protection:
            found.append("aws.deletion_protection: production keeps deletion protection on (true)")
        if aws.server_count not in cls.SERVER_COUNTS:
            found.append("aws.server_count: production runs 3 or 5 servers")
        if aws.app_auth.provider == "none":
            found.append("aws.app_auth.provider: production keeps the app behind authentication")
        return found


class AppAuthConfig(_Strict):
    """How the public load balancer authenticates people before the Streamlit app.

    ``cognito`` (the default) creates a Cognito user pool for the environment
    (users are added by an administrator); ``oidc`` uses the organisation's
    identity provider, whose client secret the load balancer reads from the
    Secrets Manager secret named by ``client_secret_name``; ``none`` leaves the
    app open (never allowed in production). The prediction API (``api.*``) is
    not behind it: it demands its own API key.
    """

    provider: Literal["cognito", "oidc", "none"] = "cognito"
    issuer: HttpsUrl | None = None
    authorization_endpoint: HttpsUrl | None = None
    token_endpoint: HttpsUrl | None = None
    user_info_endpoint: HttpsUrl | None = None
    client_id: str | None = None
    client_secret_name: str | None = Field(
        None, description="Secrets Manager secret holding the OIDC client secret (its name)"
    )
    session_timeout_s: int = Field(28800, ge=60, le=604800)

    OIDC_FIELDS: ClassVar[tuple[str, ...]] = (
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "user_info_endpoint",
        "client_id",
        "client_secret_name",
    )

    @model_validator(mode="after")
    def _oidc_is_complete(self) -> AppAuthConfig:
        if self.provider == "oidc":
            missing = [f for f in self.OIDC_FIELDS if not getattr(self, f)]
            if missing:
                raise ValueError(f"provider 'oidc' needs {', '.join(missing)}")
        return self


class AwsConfig(_Strict):
    """The AWS account side of a cloud environment (credentials come from the SDK chain)."""

    region: str = "eu-west-1"
    availability_zones: list[str] = Field(default_factory=list)
    vpc_cidr: str = "10.40.0.0/16"
    instance_type_server: str = "t3.small"
    instance_type_client: str = "t3.large"
    server_count: int = Field(3, ge=1, le=7, description="Nomad and Consul servers (odd)")
    client_count: int = Field(2, ge=1)
    db_instance_class: str = "db.t4g.medium"
    multi_az: bool = False
    deletion_protection: bool = False
    production: bool = Field(
        False, description="obey ProductionRules; `down` refuses without --allow-prod-destroy"
    )
    domain_name: str | None = None
    certificate_arn: Annotated[str, StringConstraints(pattern=CERTIFICATE_ARN_PATTERN)] | None = (
        None
    )
    app_auth: AppAuthConfig = AppAuthConfig()
    state_bucket: str | None = None
    lock_table: str | None = None

    @model_validator(mode="after")
    def _rules(self) -> AwsConfig:
        if self.server_count % 2 == 0:
            raise ValueError("server_count must be odd (1, 3, 5 or 7): a quorum needs a majority")
        if self.production:
            broken = ProductionRules.violations(self)
            if broken:
                raise ValueError(PRODUCTION_RULES_BROKEN + "; ".join(broken))
        return self
