"""The provisioning role: what every provisioner (Terraform, Pulumi) offers.

A provisioner works on one environment's infrastructure. ``plan`` never
changes anything; ``apply`` carries out the last plan; ``destroy`` removes
everything the environment owns; ``outputs`` reads what the last apply
produced; ``drift`` compares the real infrastructure with the recorded state.
Every method reports progress line by line through a callback and raises
:class:`~ops_cli.errors.OpsError` (never a bare tool exception) on failure,
with the tool's own error text in the message.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

ProgressCallback = Callable[[str], None]
"""Receives one line of progress (a tool's output line, or a step of ours)."""


def no_progress(_line: str) -> None:
    """A progress callback that drops every line."""


@dataclass(frozen=True)
class ResourceChange:
    """One resource a plan touches: its address, type and action."""

    address: str
    resource_type: str
    action: str  # create, update, delete, replace, read


@dataclass(frozen=True)
class InfraPlan:
    """What applying would do: counts and the resources behind them."""

    environment: str
    adds: int
    changes: int
    destroys: int
    resources: tuple[ResourceChange, ...] = ()

    @property
    def has_changes(self) -> bool:
        """True when applying the plan adds, changes or destroys anything."""
        return bool(self.adds or self.changes or self.destroys)

    def summary(self) -> str:
        """One line as Terraform writes it: ``2 to add, 0 to change, 1 to destroy``."""
        return f"{self.adds} to add, {self.changes} to change, {self.destroys} to destroy"


@dataclass(frozen=True)
class DriftReport:
    """Resources whose real state differs from the recorded one."""

    environment: str
    drifted: tuple[ResourceChange, ...] = ()

    @property
    def has_drift(self) -> bool:
        """True when any resource changed outside the tool."""
        return bool(self.drifted)


@dataclass(frozen=True)
class Outputs:
    """What an environment's infrastructure exposes to the platform.

    ``values`` keeps every output as the tool returned it; the properties
    name the ones the platform relies on (``None`` when absent).
    """

    values: Mapping[str, Any] = field(default_factory=dict)

    @property
    def nomad_addr(self) -> str | None:
        """The Nomad API address (``http://host:4646``), or None when the infrastructure has none."""
        return self.values.get("nomad_addr")

    @property
    def consul_addr(self) -> str | None:
        """The Consul API address (``http://host:8500``), or None."""
        return self.values.get("consul_addr")

    @property
    def bucket_names(self) -> dict[str, str]:
        """The environment's buckets by kind (``data``, ``mlflow`` ...); empty when none are
        recorded."""
        return dict(self.values.get("bucket_names") or {})

    @property
    def database_endpoint(self) -> str | None:
        """The database's ``host:port``, or None when the infrastructure has none."""
        return self.values.get("database_endpoint")

    @property
    def alb_dns_name(self) -> str | None:
        """The public load balancer's DNS name, or None."""
        return self.values.get("alb_dns_name")

    def to_dict(self) -> dict[str, Any]:
        """A copy of every output, by name (what ``infra outputs -o json`` prints)."""
        return dict(self.values)


class Provisioner(ABC):
    """The infrastructure of one environment, managed by one tool."""

    name: str = "provisioner"

    @abstractmethod
    def plan(self, progress: ProgressCallback = no_progress) -> InfraPlan:
        """Compute what ``apply`` would change; changes nothing."""

    @abstractmethod
    def apply(self, plan: InfraPlan, progress: ProgressCallback = no_progress) -> Outputs:
        """Carry out ``plan`` (the one just shown) and return the new outputs."""

    @abstractmethod
    def destroy(self, progress: ProgressCallback = no_progress) -> None:
        """Remove every resource of the environment."""

    @abstractmethod
    def outputs(self) -> Outputs:
        """The outputs recorded by the last apply (empty before the first one)."""

    @abstractmethod
    def drift(self, progress: ProgressCallback = no_progress) -> DriftReport:
        """Resources changed outside the tool since the last apply."""
