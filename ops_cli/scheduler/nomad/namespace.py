"""The environment's Nomad namespace: created on the first deploy, planned around before.

Nomad refuses to plan or register a job in a namespace that does not exist.
``opsctl plan`` changes nothing, so for a missing namespace it shows every job
as created (nothing can exist in a namespace that does not) and says that
``up``/``deploy`` will create the namespace; ``up`` and ``deploy`` create it
(``POST /v1/namespace``) just before registering. ``default`` always exists.

Consul is not namespaced here: Consul namespaces and admin partitions are
Consul Enterprise features, the jobs register their services in Consul's
default namespace, and each environment has a Consul cluster of its own.
"""

from __future__ import annotations

from typing import Any, Protocol

from ops_cli.scheduler.base import ProgressCallback, WorkloadEvent
from ops_cli.scheduler.nomad.client import NomadError
from ops_cli.scheduler.plan import GroupChanges, JobPlan

DEFAULT = "default"


class NamespaceAPI(Protocol):
    """The part of :class:`~ops_cli.scheduler.nomad.client.NomadClient` used here."""

    def namespace(self, name: str) -> dict[str, Any] | None:
        """As :meth:`NomadClient.namespace`."""

    def create_namespace(self, name: str, description: str) -> None:
        """As :meth:`NomadClient.create_namespace`."""


class NamespaceKeeper:
    """Knows whether namespace ``name`` exists and creates it when asked."""

    def __init__(self, api: NamespaceAPI, name: str, environment: str, token_source: str) -> None:
        self.api = api
        self.name = name
        self.environment = environment
        self.token_source = token_source
        self._exists = name == DEFAULT

    def exists(self) -> bool:
        """Whether Nomad knows the namespace (asked once it has been seen)."""
        if not self._exists:
            self._exists = self.api.namespace(self.name) is not None
        return self._exists

    def ensure(self, progress: ProgressCallback) -> bool:
        """Create the namespace when it is missing; True when it was created.

        Raises :class:`NomadError` saying how to create it when the token may not
        (Nomad requires a management token to write namespaces)."""
        if self.exists():
            return False
        try:
            self.api.create_namespace(self.name, f"opsctl environment '{self.environment}'")
        except NomadError as exc:
            if exc.status != 403:
                raise
            raise NomadError(
                f"Nomad namespace '{self.name}' does not exist, and the token in "
                f"{self.token_source} may not create it (Nomad requires a management token)",
                status=403,
                hint=f"create it once: nomad namespace apply -description "
                f"\"opsctl environment '{self.environment}'\" {self.name}",
            ) from None
        self._exists = True
        progress(WorkloadEvent(f"namespace {self.name}", "healthy", detail="created"))
        return True

    def planned_creation(self, workload: str, job: dict[str, Any]) -> JobPlan:
        """The plan of ``job`` while the namespace is missing: a creation, every
        allocation to place, and a warning that deploying creates the namespace."""
        groups = tuple(
            GroupChanges(group=g["Name"], place=int(g.get("Count") or 0))
            for g in job.get("TaskGroups") or []
        )
        return JobPlan(
            job=workload,
            change="create",
            modify_index=0,
            groups=groups,
            warnings=f"Nomad namespace '{self.name}' does not exist yet; "
            "`opsctl up` and `opsctl deploy` create it before registering",
            payload=job,
        )
