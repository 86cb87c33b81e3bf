"""The schema of an environment: what ``environments/<name>.yaml`` may say.

Every model refuses unknown keys (``extra="forbid"``), so a typo is an error
rather than a silently ignored setting. Secrets never appear as values: fields
ending in ``_secret`` hold the *name* of a secret, resolved at run time by
:mod:`ops_cli.secrets`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

SecretName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,62}$")]
"""The name of a secret (lowercase, digits, dashes), never its value."""

DNSName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]


class Strict(BaseModel):
    """Base of every config model: unknown keys are errors, values immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NetworkConfig(Strict):
    """Where services listen. Locally every port is ``port_base + offset``."""

    bind_host: str = "127.0.0.1"
    port_base: int = Field(18000, ge=1024, le=65000)


class BucketsConfig(Strict):
    """Bucket names, one per kind of data the platform keeps."""

    data: DNSName = "crm-data"
    mlflow: DNSName = "mlflow-artifacts"
    predictions: DNSName = "prediction-logs"
    monitoring: DNSName = "monitoring"
    releases: DNSName = "releases"


class StorageConfig(Strict):
    """Object storage: the embedded SeaweedFS gateway locally, AWS S3 in the cloud."""

    kind: Literal["seaweedfs", "s3"] = "seaweedfs"
    endpoint_url: str | None = None
    region: str = "us-east-1"
    buckets: BucketsConfig = BucketsConfig()
    access_key_secret: SecretName | None = "s3-access-key"
    secret_key_secret: SecretName | None = "s3-secret-key"


class DatabaseConfig(Strict):
    """Relational store of MLflow and Prefect: SQLite files locally, PostgreSQL otherwise."""

    kind: Literal["sqlite", "postgresql"] = "sqlite"
    host: str | None = None
    port: int = Field(5432, ge=1, le=65535)
    user: str | None = None
    password_secret: SecretName | None = None
    sslmode: Literal["disable", "prefer", "require", "verify-full"] = "prefer"
    mlflow_database: str = "mlflow"
    prefect_database: str = "prefect"

    @model_validator(mode="after")
    def _postgres_needs_host(self) -> DatabaseConfig:
        if self.kind == "postgresql" and (not self.host or not self.user):
            raise ValueError("database.kind 'postgresql' needs 'host' and 'user'")
        return self


class Resources(Strict):
    """What one instance of a workload reserves (Nomad semantics: MHz and MiB)."""

    cpu_mhz: int = Field(ge=50)
    memory_mb: int = Field(ge=32)


class WorkloadSettings(Strict):
    """How an environment runs one workload of the catalog."""

    enabled: bool = True
    count: int = Field(1, ge=0, le=50)
    resources: Resources | None = None
    ports: dict[str, int] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)


class RegistryConfig(Strict):
    """The model registry names the platform relies on."""

    model_name: str = "crm-win-probability"
    champion_alias: str = "champion"
    challenger_alias: str = "challenger"


class PromotionMarginsConfig(Strict):
    """How much a new model must beat the baselines and the champion by (out of time):
    ROC-AUC higher by more than ``auc_*``, Brier lower by at least ``brier_*``."""

    auc_over_baseline: float = Field(0.01, ge=0, le=1)
    brier_over_baseline: float = Field(0.001, ge=0, le=1)
    auc_over_champion: float = Field(0.0, ge=0, le=1)
    brier_over_champion: float = Field(0.0, ge=0, le=1)


class PipelineConfig(Strict):
    """Defaults of ``opsctl pipeline run``: data source, quality gate, search, promotion."""

    default_source: str = "synthetic"
    default_rows: int = Field(8800, ge=1000)
    quality_threshold: float = Field(0.95, ge=0, le=1)
    trials: int = Field(20, ge=1)
    margins: PromotionMarginsConfig = PromotionMarginsConfig()


class MonitoringConfig(Strict):
    """Thresholds of the monthly monitoring flow: a breach alerts the webhook named by
    ``webhook_url_secret`` and starts a retraining, at most once per ``cooldown_days``."""

    drift_share_threshold: float = Field(0.5, gt=0, le=1)
    min_auc: float = Field(0.55, ge=0, le=1)
    webhook_url_secret: SecretName = "alert-webhook-url"
    cooldown_days: float = Field(14.0, ge=0)


class AuthConfig(Strict):
    """Whether services demand credentials; must be on for cluster environments."""

    required: bool = False
    api_key_secret: SecretName = "serving-api-key"


class HealthConfig(Strict):
    """How long ``up`` waits for a workload, and how often it looks."""

    start_timeout_s: float = Field(300.0, gt=0)
    poll_interval_s: float = Field(0.5, gt=0)
    check_timeout_s: float = Field(2.0, gt=0)


class NomadConstraint(Strict):
    """A placement rule for every job of the environment (Nomad's ``constraint``)."""

    attribute: str
    operator: str = "="
    value: str = ""


class NomadConfig(Strict):
    """The Nomad cluster; ``NOMAD_ADDR``/``NOMAD_TOKEN``/``NOMAD_NAMESPACE`` override it."""

    address: str | None = None
    region: str | None = None
    namespace: str = "default"
    datacenters: list[str] = Field(default_factory=lambda: ["*"])
    node_pool: str | None = None
    driver: Literal["docker", "raw_exec"] = "docker"
    constraints: list[NomadConstraint] = Field(default_factory=list)
    token_secret: SecretName | None = "nomad-token"


class ConsulConfig(Strict):
    """The Consul agent; ``CONSUL_HTTP_ADDR``/``CONSUL_HTTP_TOKEN`` override it."""

    address: str | None = None
    datacenter: str | None = None
    token_secret: SecretName | None = "consul-token"
    kv_prefix: str = "opsctl"


class AwsConfig(Strict):
    """The AWS account side of a cloud environment (credentials come from the SDK chain)."""

    region: str = "eu-west-1"
    availability_zones: list[str] = Field(default_factory=list)
    vpc_cidr: str = "10.40.0.0/16"
    instance_type_server: str = "t3.small"
    instance_type_client: str = "t3.large"
    client_count: int = Field(2, ge=1)
    db_instance_class: str = "db.t4g.medium"
    multi_az: bool = False
    domain_name: str | None = None
    certificate_arn: str | None = None
    state_bucket: str | None = None
    lock_table: str | None = None


class ImageConfig(Strict):
    """The container image of the platform's own workloads in cluster environments."""

    repository: str = "ghcr.io/opsctl/crm-platform"
    tag: str = "latest"


class EnvironmentConfig(Strict):
    """One environment (local, staging, prod, ...), after merging ``base.yaml``."""

    name: DNSName
    description: str = ""
    scheduler: Literal["local", "nomad"] = "local"
    discovery: Literal["static", "consul"] = "static"
    provisioner: Literal["none", "terraform", "pulumi"] = "none"
    state_dir: Path | None = None
    network: NetworkConfig = NetworkConfig()
    storage: StorageConfig = StorageConfig()
    database: DatabaseConfig = DatabaseConfig()
    workloads: dict[str, WorkloadSettings] = Field(default_factory=dict)
    registry: RegistryConfig = RegistryConfig()
    pipeline: PipelineConfig = PipelineConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    auth: AuthConfig = AuthConfig()
    health: HealthConfig = HealthConfig()
    image: ImageConfig = ImageConfig()
    nomad: NomadConfig | None = None
    consul: ConsulConfig | None = None
    aws: AwsConfig | None = None

    @model_validator(mode="after")
    def _backends_are_consistent(self) -> EnvironmentConfig:
        if self.scheduler == "nomad" and self.nomad is None:
            raise ValueError("scheduler 'nomad' needs a 'nomad' section")
        if self.discovery == "consul" and self.consul is None:
            raise ValueError("discovery 'consul' needs a 'consul' section")
        if self.scheduler == "local" and self.discovery != "static":
            raise ValueError("scheduler 'local' works with discovery 'static' only")
        if self.provisioner != "none" and self.aws is None:
            raise ValueError(f"provisioner '{self.provisioner}' needs an 'aws' section")
        if self.scheduler == "nomad" and not self.auth.required:
            raise ValueError("cluster environments must set auth.required: true")
        return self

    @property
    def is_local(self) -> bool:
        """True when workloads run as processes on this machine."""
        return self.scheduler == "local"

    def enabled_workloads(self) -> dict[str, WorkloadSettings]:
        """The workloads this environment runs, by name, in file order."""
        return {name: w for name, w in self.workloads.items() if w.enabled and w.count > 0}
