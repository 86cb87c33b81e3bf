"""The backend-neutral description of one workload.

A spec says *what* runs (command, ports, health check, environment,
dependencies, resources, update strategy, image); the schedulers decide *how*:
a supervised process locally, a Nomad job in a cluster. Strings may hold
``${name}`` placeholders that each backend fills from its own context (see
:mod:`ops_cli.catalog.placeholders`).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from ops_cli.config.models import DNSName, Resources, Strict

MAX_STOP_TIMEOUT_S = 900.0
"""The cluster's clients allow kill timeouts up to this (``client.max_kill_timeout``)."""


class PortSpec(Strict):
    """A named port. Locally it listens on ``network.port_base + offset``."""

    offset: int = Field(ge=0, le=999)
    protocol: Literal["http", "tcp", "grpc"] = "http"
    public: bool = Field(False, description="meant for people or clients outside the platform")
    lb_port: int | None = Field(
        None,
        ge=1024,
        le=65535,
        description="cluster only: the fixed node port the cloud load balancer forwards to "
        "(a reserved port in Nomad); dynamic when unset",
    )


MIN_CHECK_INTERVAL_S = 1.0
"""Nomad refuses a service check whose interval or timeout is below one second."""

SERVICE_NAME = re.compile(r"^(?i:[a-z0-9]|[a-z0-9][a-z0-9-]{0,61}[a-z0-9])$")
"""A Consul service name as Nomad's ``Service.Validate`` accepts it (RFC 1123 label)."""

PORT_LABEL = r"^[A-Za-z0-9_]+$"
"""A Nomad port label (it becomes ``NOMAD_PORT_<label>``): letters, digits, underscores."""


class HealthCheckSpec(Strict):
    """How to tell that the workload serves: an HTTP 2xx/3xx, or a TCP connect.

    ``interval_s`` and ``timeout_s`` are at least one second (Nomad's minimum);
    an http ``path`` is relative to the service (starts with ``/``, no host).
    """

    type: Literal["http", "tcp"]
    port: str
    path: str = Field("/", pattern=r"^/[^\s]*$")
    interval_s: float = Field(5.0, ge=MIN_CHECK_INTERVAL_S)
    timeout_s: float = Field(2.0, ge=MIN_CHECK_INTERVAL_S)


class UpdateStrategy(Strict):
    """Rolling-update behaviour, in Nomad's terms (ignored by the local scheduler).

    Refused as Nomad's ``UpdateStrategy.Validate`` refuses it: ``auto_promote``
    without canaries, and anything but ``min_healthy_time_s`` <
    ``healthy_deadline_s`` < ``progress_deadline_s``. Canaries that wait for
    manual promotion (``auto_promote: false``) are promoted by opsctl once
    healthy for ``min_healthy_time_s``; with ``auto_promote`` Nomad promotes them
    itself, so a rollout never waits on a promotion nobody will make.
    """

    max_parallel: int = Field(1, ge=1)
    canary: int = Field(0, ge=0)
    auto_promote: bool = False
    auto_revert: bool = True
    min_healthy_time_s: float = Field(10.0, ge=0)
    healthy_deadline_s: float = Field(300.0, gt=0)
    progress_deadline_s: float = Field(600.0, gt=0)

    @model_validator(mode="after")
    def _as_nomad_validates(self) -> UpdateStrategy:
        if self.auto_promote and self.canary == 0:
            raise ValueError("auto_promote needs canary > 0 (there is nothing to promote)")
        if self.min_healthy_time_s >= self.healthy_deadline_s:
            raise ValueError(
                f"min_healthy_time_s ({self.min_healthy_time_s:g}) must be below "
                f"healthy_deadline_s ({self.healthy_deadline_s:g})"
            )
        if self.healthy_deadline_s >= self.progress_deadline_s:
            raise ValueError(
                f"healthy_deadline_s ({self.healthy_deadline_s:g}) must be below "
                f"progress_deadline_s ({self.progress_deadline_s:g})"
            )
        return self


class ImageSpec(Strict):
    """Container image; ``repository: null`` means the platform's own image. A cluster
    deploy pins ``digest`` (``sha256:<64 hex>``): a tag moves, a digest does not."""

    repository: str | None = None
    tag: str | None = None
    digest: str | None = Field(None, pattern=r"^sha256:[0-9a-f]{64}$")


class EndpointSpec(Strict):
    """A URL worth printing to the user (a UI or an API)."""

    label: str
    port: str
    path: str = "/"


class ScrapeAuthSpec(Strict):
    """The HTTP basic authentication Prometheus signs in to a metrics endpoint with:
    ``username`` (plain text, or a placeholder of a plain setting such as
    ``${service_auth.mlflow_username}``) and ``password_file``, one of the ``metrics``
    workload's own files (beside ``prometheus.yml``, so the path is relative to it)."""

    username: str = Field(min_length=1)
    password_file: str = Field(pattern=r"^[A-Za-z0-9_.][A-Za-z0-9_./-]*$")


class MetricsSpec(Strict):
    """Where the workload serves Prometheus metrics; the ``metrics`` workload scrapes it
    (a static target locally, found through Consul in a cluster), signing in with
    ``basic_auth`` when the endpoint demands it."""

    port: str
    path: str = Field("/metrics", pattern=r"^/[^\s]*$")
    basic_auth: ScrapeAuthSpec | None = None


class FileSpec(Strict):
    """A file rendered (placeholders filled) into the workload's data directory
    before it starts; a Nomad template in a cluster."""

    path: str = Field(pattern=r"^[A-Za-z0-9_.][A-Za-z0-9_./-]*$")
    content: str
    mode: str = Field("0600", pattern=r"^0[0-7]{3}$", description="octal, as a string")

    @property
    def mode_bits(self) -> int:
        """The file's permission bits as an integer (``mode`` ``"0600"`` -> ``0o600``)."""
        return int(self.mode, 8)


PASS_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*\*?$"


class WorkloadSpec(Strict):
    """One workload of the platform; see the module docstring for placeholders."""

    name: DNSName
    kind: Literal["service", "batch", "periodic"] = "service"
    description: str
    command: list[str] = Field(min_length=1)
    ports: dict[Annotated[str, StringConstraints(pattern=PORT_LABEL)], PortSpec] = Field(
        default_factory=dict
    )
    health: HealthCheckSpec | None = None
    env: dict[str, str] = Field(default_factory=dict)
    pass_env: list[Annotated[str, StringConstraints(pattern=PASS_ENV_NAME)]] = Field(
        default_factory=list,
        description="local processes only: variables taken from the operator's environment "
        "when set (a name, or a prefix ending in *); OPSCTL_SECRET_* never passes, secrets "
        "reach a process only as ${secret.name} in env",
    )
    depends_on: list[str] = Field(
        default_factory=list,
        description="workloads that must be healthy before this one starts; a service that "
        "only connects at run time and retries needs none",
    )
    resources: Resources = Resources(cpu_mhz=250, memory_mb=256)
    update: UpdateStrategy = UpdateStrategy()
    image: ImageSpec = ImageSpec()
    endpoints: list[EndpointSpec] = Field(default_factory=list)
    files: list[FileSpec] = Field(default_factory=list)
    metrics: MetricsSpec | None = None
    install_hint: str | None = Field(
        None,
        description="how to install the command when it is missing: `up` then leaves this "
        "workload out, says so with this hint, and brings the rest of the platform up",
    )
    schedule: str | None = Field(None, description="cron expression, for periodic workloads")
    stop_timeout_s: float = Field(
        30.0,
        gt=0,
        le=MAX_STOP_TIMEOUT_S,
        description="how long a stop waits for the workload to finish before killing it "
        "(Nomad's kill_timeout in a cluster)",
    )

    @model_validator(mode="after")
    def _references_resolve(self) -> WorkloadSpec:
        if self.health and self.health.port not in self.ports:
            raise ValueError(
                f"health.port '{self.health.port}' is not one of ports: {sorted(self.ports)}"
            )
        if self.metrics and self.metrics.port not in self.ports:
            raise ValueError(
                f"metrics.port '{self.metrics.port}' is not one of ports: {sorted(self.ports)}"
            )
        for endpoint in self.endpoints:
            if endpoint.port not in self.ports:
                raise ValueError(
                    f"endpoint '{endpoint.label}' names unknown port '{endpoint.port}'"
                )
        if self.kind == "service" and self.health is None:
            raise ValueError("a service needs a health check")
        if self.kind == "periodic" and not self.schedule:
            raise ValueError("a periodic workload needs a schedule")
        if self.name in self.depends_on:
            raise ValueError("a workload cannot depend on itself")
        for label in self.ports:
            if not SERVICE_NAME.match(self.service_name(label)):
                raise ValueError(
                    f"ports.{label}: the service name '{self.service_name(label)}' is not a valid "
                    "Consul service name (letters, digits and dashes, at most 63 characters)"
                )
        return self

    @property
    def main_port(self) -> str | None:
        """The port the workload is known by: its health check's, else its first."""
        if self.health is not None:
            return self.health.port
        return next(iter(self.ports), None)

    def service_name(self, label: str) -> str:
        """The Consul service of port ``label``: the workload's name for its main port,
        ``<workload>-<label>`` for the others, with ``_`` as ``-`` (a port label may hold
        underscores, a service name may not)."""
        if label == self.main_port:
            return self.name
        return f"{self.name}-{label.replace('_', '-')}"
