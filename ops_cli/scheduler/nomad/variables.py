"""Secrets opsctl holds for a job, written where the job reads them.

A job's templates read its secrets from the Nomad Variable ``nomad/jobs/<job>``
(``nomadVar``; only that job's tasks may read it, through workload identity).
The prediction service's API key lives in opsctl's secret store
(``OPSCTL_SECRET_SERVING_API_KEY``, as CI holds it), so ``up`` and ``deploy``
write it to the Variable of every job that uses it before registering the job:
the service and its clients always get the key opsctl was given, and a new key
reaches them on the next ``up`` (Nomad re-renders the template and restarts
the tasks). Other items of the Variable are kept; the write is check-and-set,
so a concurrent change is never overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ops_cli.scheduler.base import ProgressCallback, WorkloadEvent
from ops_cli.scheduler.nomad.client import NomadError


class VariablesAPI(Protocol):
    """The part of :class:`~ops_cli.scheduler.nomad.client.NomadClient` used here."""

    def variable(self, path: str) -> dict[str, Any] | None:
        """As :meth:`NomadClient.variable`."""

    def put_variable(self, path: str, items: dict[str, str], *, cas: int) -> dict[str, Any]:
        """As :meth:`NomadClient.put_variable`."""


def job_variable(job: str) -> str:
    """The Nomad Variable a job's ``nomadVar`` templates read."""
    return f"nomad/jobs/{job}"


class JobSecrets:
    """Writes the items a job needs into its Nomad Variable when they differ."""

    def __init__(self, api: VariablesAPI, namespace: str, token_source: str) -> None:
        self.api = api
        self.namespace = namespace
        self.token_source = token_source

    def ensure(self, job: str, items: Mapping[str, str], progress: ProgressCallback) -> bool:
        """Make ``items`` part of the job's Variable; True when it was written.

        Raises :class:`NomadError` saying how to grant or do the write when the
        token may not, and a conflict error when the Variable changed meanwhile.
        """
        if not items:
            return False
        path = job_variable(job)
        current = self.api.variable(path)
        stored: dict[str, str] = dict((current or {}).get("Items") or {})
        if all(stored.get(key) == value for key, value in items.items()):
            return False
        try:
            self.api.put_variable(
                path, {**stored, **items}, cas=int((current or {}).get("ModifyIndex") or 0)
            )
        except NomadError as exc:
            if exc.status != 403:
                raise
            raise NomadError(
                f"the token in {self.token_source} may not write the Nomad Variable "
                f"'{path}' in namespace '{self.namespace}', where '{job}' reads its secrets",
                status=403,
                hint='grant it `variables { path "nomad/jobs/*" { capabilities = '
                '["read", "write"] } }` in its ACL policy',
            ) from None
        progress(WorkloadEvent(job, "starting", detail=f"secrets written to {path}"))
        return True
