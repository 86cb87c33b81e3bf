"""The schema of an environment: what ``environments/<name>.yaml`` may say.

Every model refuses unknown keys (``extra="forbid"``), so a typo is an error
rather than a silently ignored setting. Secrets never appear as values: fields
ending in ``_secret`` hold the *name* of a secret, resolved at run time by
:mod:`ops_cli.secrets`.

The sections live in sibling modules and are re-exported here, so callers import
every model from this one: :mod:`ops_cli.config.common` (the strict base and
constrained names), :mod:`ops_cli.config.cluster` (Nomad, Consul, TLS) and
:mod:`ops_cli.config.cloud` (AWS and the production rules).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from ops_cli.config.cloud import MAX_AWS_ENVIRONMENT_NAME, aws_name_violations
from ops_cli.config.cloud import AppAuthConfig as AppAuthConfig
from ops_cli.config.cloud import AwsConfig as AwsConfig
from ops_cli.config.cloud import ProductionRules as ProductionRules
from ops_cli.config.cluster import CONSTRAINT_OPERATORS as CONSTRAINT_OPERATORS
from ops_cli.config.cluster import LOOPBACK as LOOPBACK
from ops_cli.config.cluster import ClusterTls as ClusterTls
from ops_cli.config.cluster import ConsulConfig as ConsulConfig
from ops_cli.config.cluster import NomadConfig as NomadConfig
from ops_cli.config.cluster import NomadConstraint as NomadConstraint
from ops_cli.config.cluster import in_clear_off_machine as in_clear_off_machine
from ops_cli.config.common import DNSName as DNSName
from ops_cli.config.common import SecretName as SecretName
from ops_cli.config.common import Strict as Strict


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


SecretsManagerArn = Annotated[
    str, StringConstraints(pattern=r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:\S+$")
]


class DatabaseConfig(Strict):
    """Relational store of MLflow and Prefect: SQLite files locally, PostgreSQL otherwise.

    With ``managed_password`` (RDS ``manage_master_user_password``) the password
    lives only in the Secrets Manager secret RDS keeps and rotates
    (``password_secret_arn``); the cluster's MLflow and Prefect read it there at
    start (``workloads.database_password``). ``up`` fills the secret's ARN and
    ``host``/``port`` from the infrastructure's outputs when the file leaves them
    out.
    """

    kind: Literal["sqlite", "postgresql"] = "sqlite"
    host: str | None = None
    port: int = Field(5432, ge=1, le=65535)
    user: str | None = None
    password_secret: SecretName | None = None
    managed_password: bool = Field(
        False, description="RDS keeps and rotates the password in Secrets Manager"
    )
    password_secret_arn: SecretsManagerArn | None = Field(
        None, description="the secret of the RDS-managed password (the database_secret_arn output)"
    )
    sslmode: Literal["disable", "prefer", "require", "verify-full"] = "prefer"
    mlflow_database: str = "mlflow"
    prefect_database: str = "prefect"

    @model_validator(mode="after")
    def _postgres_needs_host(self) -> DatabaseConfig:
        if self.kind == "postgresql" and not self.user:
            raise ValueError("database.kind 'postgresql' needs 'host' and 'user'")
        if self.kind == "postgresql" and not self.host and not self.managed_password:
            raise ValueError("database.kind 'postgresql' needs 'host' and 'user'")
        if self.managed_password and self.kind != "postgresql":
            raise ValueError("database.managed_password needs kind 'postgresql' (RDS)")
        if self.managed_password and self.password_secret:
            raise ValueError(
                "database.managed_password and database.password_secret exclude each other: "
                "RDS keeps the password, no copy of it is stored"
            )
        return self


class Resources(Strict):
    """What one instance of a workload reserves (Nomad semantics): a CPU share in
    MHz or whole cores for it alone, and MiB of memory."""

    cpu_mhz: int | None = Field(None, ge=50)
    cores: int | None = Field(
        None,
        ge=1,
        le=64,
        description="whole cores reserved for the instance alone (Nomad `cores`), instead of "
        "cpu_mhz; a workload may size itself by them (the prediction service runs a worker "
        "process per core)",
    )
    memory_mb: int = Field(ge=32)

    @model_validator(mode="after")
    def _one_cpu_reservation(self) -> Resources:
        if (self.cpu_mhz is None) == (self.cores is None):
            raise ValueError(
                "resources: give either cpu_mhz or cores (not both, not neither); an "
                "environment's file that switches from one to the other sets the other to null"
            )
        return self


class WorkloadSettings(Strict):
    """How an environment runs one workload of the catalog."""

    enabled: bool = True
    count: int = Field(1, ge=0, le=50)
    resources: Resources | None = None
    ports: dict[str, int] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)


class RegistryConfig(Strict):
    """The model registry names the platform relies on (defaults: ``base.yaml``)."""

    model_name: str
    champion_alias: str
    challenger_alias: str


class PromotionMarginsConfig(Strict):
    """How much a new model must beat the baselines and the champion by (out of time):
    ROC-AUC higher by more than ``auc_*``, Brier lower by at least ``brier_*``
    (defaults: ``base.yaml``)."""

    auc_over_baseline: float = Field(ge=0, le=1)
    brier_over_baseline: float = Field(ge=0, le=1)
    auc_over_champion: float = Field(ge=0, le=1)
    brier_over_champion: float = Field(ge=0, le=1)


class PipelineConfig(Strict):
    """Defaults of ``opsctl pipeline run``: data source, quality gate, search, promotion
    (their own defaults: ``base.yaml``)."""

    default_source: str
    default_rows: int = Field(ge=1000)
    quality_threshold: float = Field(ge=0, le=1)
    trials: int = Field(ge=1)
    margins: PromotionMarginsConfig


class MonitoringRule(Strict):
    """An N-of-M rule: it fires when it breaks in ``n`` of the last ``m`` months it
    could judge; an alert and a retraining follow when it starts firing."""

    enabled: bool = True
    n: int = Field(ge=1, le=12)
    m: int = Field(ge=1, le=12)

    @model_validator(mode="after")
    def _n_within_m(self) -> MonitoringRule:
        if self.n > self.m:
            raise ValueError(f"'n' ({self.n}) must not exceed 'm' ({self.m})")
        return self


class DriftShareRule(MonitoringRule):
    """Breaks when the share of drifted monitored columns reaches ``threshold``."""

    threshold: float = Field(gt=0, le=1)


class BrierRule(MonitoringRule):
    """Breaks when the month's Brier score exceeds the champion's reference Brier (its
    out-of-time evaluation) by more than ``max_increase``."""

    max_increase: float = Field(ge=0, le=1)


class RealisedBrierRule(BrierRule):
    """As :class:`BrierRule` on realised figures, judged once the month's label
    coverage (share of its scored deals that have closed) reaches ``min_coverage``."""

    min_coverage: float = Field(gt=0, le=1)


class MonitoringRules(Strict):
    """The retraining triggers of the monthly monitoring flow."""

    drift_share: DriftShareRule
    estimated_brier: BrierRule
    realised_brier: RealisedBrierRule


class MonitoringConfig(Strict):
    """The monthly monitoring flow: N-of-M ``rules``; an alert goes to the webhook named
    by ``webhook_url_secret`` and starts a retraining, at most once per ``cooldown_days``;
    segment figures on fewer than ``min_segment_size`` rows are too small to judge
    (defaults: ``base.yaml``)."""

    webhook_url_secret: SecretName
    cooldown_days: float = Field(ge=0)
    min_segment_size: int = Field(ge=1)
    rules: MonitoringRules


class AuthConfig(Strict):
    """Whether the prediction service demands its API key (``X-API-Key``); on by
    default and always on for cluster environments. With ``required`` the key (the
    secret ``api_key_secret``) reaches the service and every client the platform
    runs (the app, the flows); the service refuses to start without it."""

    required: bool = True
    api_key_secret: SecretName = "serving-api-key"


class ServiceAuthConfig(Strict):
    """Credentials of the platform's own services, in every environment: loopback is
    no trust boundary on a shared host.

    MLflow runs its basic-auth app (an admin ``mlflow_username`` whose password is
    secret ``mlflow_password_secret``; ``mlflow_flask_secret`` signs its CSRF
    tokens); the Prefect server demands ``prefect_auth_secret`` (its auth string)
    and CSRF tokens; ``seaweedfs_jwt_secret`` signs the tokens SeaweedFS's filer and
    volume server demand on their HTTP APIs (the S3 gateway checks its own keys). Locally the secrets are generated on the first ``up``; in a
    cluster they are Nomad Variables.
    """

    mlflow_username: str = Field("platform", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    mlflow_password_secret: SecretName = "mlflow-password"
    mlflow_flask_secret: SecretName = "mlflow-flask-secret-key"
    prefect_auth_secret: SecretName = "prefect-auth-string"
    seaweedfs_jwt_secret: SecretName = "seaweedfs-jwt-key"

    def secret_names(self) -> list[str]:
        """The names of the four service secrets (MLflow password and Flask key, Prefect's auth
        string, SeaweedFS's JWT key), in that order."""
        return [self.mlflow_password_secret, self.mlflow_flask_secret, self.prefect_auth_secret,
                self.seaweedfs_jwt_secret]  # fmt: skip


class TelemetryConfig(Strict):
    """Usage reporting of the tools the platform runs (MLflow, Prefect, Streamlit,
    Evidently, NannyML, SeaweedFS): off unless the operator opts in. Opted in, each
    tool keeps its own default; nothing opsctl sets turns it off."""

    report_usage: bool = Field(
        False, description="let the tools send their usage statistics to their makers"
    )


class HealthConfig(Strict):
    """How long ``up`` waits for a workload, and how often it looks."""

    start_timeout_s: float = Field(300.0, gt=0)
    poll_interval_s: float = Field(0.5, gt=0)
    check_timeout_s: float = Field(2.0, gt=0)


class ImageConfig(Strict):
    """The container image of the platform's own workloads in cluster environments."""

    repository: str = "ghcr.io/opsctl/crm-platform"
    tag: str = "latest"
    digest: Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")] | None = Field(
        None,
        description="the image digest a cluster deploy pins (a tag moves; a digest does not); "
        "a release sets it, or OPSCTL_IMAGE__DIGEST",
    )


class EnvironmentConfig(Strict):
    """One environment (local, staging, prod, ...), after merging ``base.yaml``."""

    name: DNSName
    description: str = ""
    scheduler: Literal["local", "nomad"] = "local"
    discovery: Literal["static", "consul"] = "static"
    provisioner: Literal["none", "terraform", "pulumi"] = "none"
    state_dir: Path | None = Field(
        None,
        description="the state root: each environment keeps its files in its own folder "
        "beneath it (<state_dir>/<name>); unset: the user's state folder",
    )
    network: NetworkConfig = NetworkConfig()
    storage: StorageConfig = StorageConfig()
    database: DatabaseConfig = DatabaseConfig()
    workloads: dict[str, WorkloadSettings] = Field(default_factory=dict)
    # defaults of these three: base.yaml, which every environment starts from
    registry: RegistryConfig
    pipeline: PipelineConfig
    monitoring: MonitoringConfig
    auth: AuthConfig = AuthConfig()
    service_auth: ServiceAuthConfig = ServiceAuthConfig()
    telemetry: TelemetryConfig = TelemetryConfig()
    health: HealthConfig = HealthConfig()
    image: ImageConfig = ImageConfig()
    nomad: NomadConfig | None = None
    consul: ConsulConfig | None = None
    aws: AwsConfig | None = None

    @field_validator("state_dir", mode="before")
    @classmethod
    def _state_dir_is_absolute(cls, value: object) -> object:
        """An empty value (an unset shell variable) never means the current folder,
        and a relative one never depends on where a command runs."""
        if value is None:
            return None
        text = str(value)
        if text.strip() == "":
            raise ValueError(
                "is empty; unset it to use the user's state folder, or name an absolute folder"
            )
        if not Path(text).expanduser().is_absolute():
            raise ValueError(
                f"'{text}' is a relative path; name an absolute folder (or one starting with ~)"
            )
        return value

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
        if self.database.managed_password and self.aws is None:
            raise ValueError("database.managed_password needs an 'aws' section (RDS)")
        if self.scheduler == "nomad" and not self.auth.required:
            raise ValueError("cluster environments must set auth.required: true")
        if self.aws is not None and (broken := aws_name_violations(self.name)):
            raise ValueError(
                f"name: environment '{self.name}' (the file's name) cannot name its AWS "
                f"resources: {'; '.join(broken)}. An environment with an 'aws' section has "
                f"a name of at most {MAX_AWS_ENVIRONMENT_NAME} characters"
            )
        return self

    @property
    def is_local(self) -> bool:
        """True when workloads run as processes on this machine."""
        return self.scheduler == "local"

    def enabled_workloads(self) -> dict[str, WorkloadSettings]:
        """The workloads this environment runs, by name, in file order."""
        return {name: w for name, w in self.workloads.items() if w.enabled and w.count > 0}
