"""The backend-neutral description of one workload.

A spec says *what* runs (command, ports, health check, environment,
dependencies, resources, update strategy, image); the schedulers decide *how*:
a supervised process locally, a Nomad job in a cluster. Strings may hold
``${name}`` placeholders that each backend fills from its own context (see
:mod:`ops_cli.catalog.placeholders`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ops_cli.config.models import DNSName, Resources, Strict


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


class HealthCheckSpec(Strict):
    """How to tell that the workload serves: an HTTP 2xx/3xx, or a TCP connect."""

    type: Literal["http", "tcp"]
    port: str
    path: str = "/"
    interval_s: float = Field(5.0, gt=0)
    timeout_s: float = Field(2.0, gt=0)


class UpdateStrategy(Strict):
    """Rolling-update behaviour, in Nomad's terms (ignored by the local scheduler)."""

    max_parallel: int = Field(1, ge=1)
    canary: int = Field(0, ge=0)
    auto_promote: bool = False
    auto_revert: bool = True
    min_healthy_time_s: float = Field(10.0, ge=0)
    healthy_deadline_s: float = Field(300.0, gt=0)
    progress_deadline_s: float = Field(600.0, gt=0)


class ImageSpec(Strict):
    """Container image; ``repository: null`` means the platform's own image."""

    repository: str | None = None
    tag: str | None = None


class EndpointSpec(Strict):
    """A URL worth printing to the user (a UI or an API)."""

    label: str
    port: str
    path: str = "/"


class FileSpec(Strict):
    """A file rendered (placeholders filled) into the workload's data directory
    before it starts; a Nomad template in a cluster."""

    path: str = Field(pattern=r"^[A-Za-z0-9_.][A-Za-z0-9_./-]*$")
    content: str
    mode: str = Field("0600", pattern=r"^0[0-7]{3}$", description="octal, as a string")

    @property
    def mode_bits(self) -> int:
        return int(self.mode, 8)


class WorkloadSpec(Strict):
    """One workload of the platform; see the module docstring for placeholders."""

    name: DNSName
    kind: Literal["service", "batch", "periodic"] = "service"
    description: str
    command: list[str] = Field(min_length=1)
    ports: dict[str, PortSpec] = Field(default_factory=dict)
    health: HealthCheckSpec | None = None
    env: dict[str, str] = Field(default_factory=dict)
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
    schedule: str | None = Field(None, description="cron expression, for periodic workloads")

    @model_validator(mode="after")
    def _references_resolve(self) -> WorkloadSpec:
        if self.health and self.health.port not in self.ports:
            raise ValueError(
                f"health.port '{self.health.port}' is not one of ports: {sorted(self.ports)}"
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
        return self
