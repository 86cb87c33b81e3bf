"""The Nomad HTTP API, through python-nomad: the only module that does I/O with Nomad.

Every call maps failures to :class:`NomadError` (an :class:`OpsError`) with a
message naming the address and what was attempted. Transient failures are
retried with exponential backoff:

- reads and dry runs (GET, plan): any 5xx, timeouts, connection failures;
- writes: only when the request cannot have been applied: connection
  refused or connect timeout, ``503``, and ``No cluster leader``;
- scaling: also ``400 ... active deployment`` (Nomad refuses to scale while a
  deployment runs; it will accept once it ends), for as long as the deployment
  keeps making progress within its progress deadline
  (:class:`~ops_cli.scheduler.nomad.budget.DeploymentBudget`), not a count.

A registration with ``EnforceIndex`` that lost a race raises
:class:`NomadConflictError` and is never retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import nomad
import requests
from nomad.api import exceptions as nomad_errors
from tenacity import RetryCallState, Retrying, retry_if_exception, wait_exponential

from ops_cli.errors import OpsError
from ops_cli.scheduler.nomad.budget import DeploymentBudget
from ops_cli.scheduler.nomad.connection import NomadConnection

T = TypeVar("T")

ENFORCE_INDEX_PREFIX = "Enforcing job modify index"
ENFORCE_VERSION = "enforcing version"  # revert with EnforcePriorVersion lost a race
NO_LEADER = "No cluster leader"
ACTIVE_DEPLOYMENT = "active deployment"


class NomadError(OpsError):
    """Nomad refused or failed a request; ``status`` is the HTTP code, if any."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.status = status


class NomadConflictError(NomadError):
    """The job changed since it was read (``EnforceIndex``); nothing was written."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently transient failures are retried."""

    attempts: int = 5
    initial_wait_s: float = 0.5
    max_wait_s: float = 8.0


class NomadClient:
    """Typed calls to the endpoints the scheduler needs; dicts are API shapes."""

    def __init__(
        self,
        connection: NomadConnection,
        *,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connection = connection
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._api = nomad.Nomad(
            address=connection.address,
            namespace=connection.namespace,
            token=connection.token,
            region=connection.region,
            timeout=timeout_s,
            verify=connection.verify,
            cert=connection.cert or (),
        )

    # -- jobs ---------------------------------------------------------------

    def job(self, job_id: str) -> dict[str, Any] | None:
        """The registered job, or None when it does not exist."""
        return self._optional(f"read job '{job_id}'", lambda: self._api.job.get_job(job_id))

    def versions(self, job_id: str) -> list[dict[str, Any]]:
        """Every stored version of the job, newest first; [] for a job Nomad does not
        know (it answers 404)."""
        answer = self._optional(
            f"read versions of '{job_id}'", lambda: self._api.job.get_versions(job_id)
        )
        return list((answer or {}).get("Versions") or [])

    def plan(self, job: dict[str, Any]) -> dict[str, Any]:
        """A dry run of ``job`` with its diff against the registered version."""
        return self._call(
            f"plan job '{job['ID']}'",
            lambda: self._api.job.plan_job(job["ID"], {"Job": job}, diff=True),
            safe=True,
        )

    def register(self, job: dict[str, Any], *, modify_index: int) -> dict[str, Any]:
        """Register ``job`` only if its JobModifyIndex is still ``modify_index``
        (0: only if it does not exist). Raises :class:`NomadConflictError` otherwise."""
        body = {"Job": job, "EnforceIndex": True, "JobModifyIndex": modify_index}
        return self._call(f"register job '{job['ID']}'", lambda: self._api.jobs.register_job(body))

    def revert(self, job_id: str, version: int, *, prior_version: int) -> dict[str, Any]:
        """Revert to ``version`` only if the current version is ``prior_version``."""
        return self._call(
            f"revert job '{job_id}' to version {version}",
            lambda: self._api.job.revert_job(job_id, version, enforce_prior_version=prior_version),
        )

    def deregister(self, job_id: str) -> dict[str, Any] | None:
        """Stop the job (its history stays); None when it does not exist."""
        return self._optional(
            f"stop job '{job_id}'", lambda: self._api.job.deregister_job(job_id), safe=False
        )

    def scale(self, job_id: str, group: str, count: int, message: str) -> dict[str, Any]:
        """Set ``group``'s count. While a deployment of the job blocks it (400), the
        request is retried for as long as that deployment makes progress within its
        progress deadline; raises :class:`NomadError` once it stalls past it."""
        body = {"Count": count, "Target": {"Group": group}, "Message": message}
        budget = DeploymentBudget(lambda: self.latest_deployment(job_id), self._clock)
        try:
            return self._call(
                f"scale '{job_id}' to {count}",
                lambda: self._api.job.request(job_id, "scale", json=body, method="post").json(),
                budget=budget,
            )
        except NomadError as exc:
            if ACTIVE_DEPLOYMENT not in str(exc):
                raise
            raise NomadError(
                f"cannot scale '{job_id}' to {count}: {budget.waited_for} still runs and made "
                "no progress within its progress deadline; Nomad refuses to scale until it ends",
                status=exc.status,
                hint=f"see `nomad job status {job_id}`; fail the deployment or wait for it",
            ) from None

    def allocations(self, job_id: str) -> list[dict[str, Any]]:
        """The job's allocations (stubs), newest first as Nomad lists them."""
        answer = self._optional(
            f"list allocations of '{job_id}'", lambda: self._api.job.get_allocations(job_id)
        )
        return list(answer or [])

    # -- namespaces ---------------------------------------------------------

    def namespace(self, name: str) -> dict[str, Any] | None:
        """The namespace ``name``, or None when Nomad does not know it."""
        return self._optional(
            f"read namespace '{name}'", lambda: self._api.namespace.get_namespace(name)
        )

    def create_namespace(self, name: str, description: str) -> None:
        """Create (or update) namespace ``name`` (``POST /v1/namespace``); Nomad
        requires a management token for it."""
        body = {"Name": name, "Description": description}
        self._call(
            f"create namespace '{name}'",
            lambda: self._api.namespace.create_namespace(body),
        )

    # -- variables ----------------------------------------------------------

    def variable(self, path: str) -> dict[str, Any] | None:
        """The Nomad Variable at ``path`` in the connection's namespace (its ``Items``
        decrypted, and its ``ModifyIndex``), or None when it does not exist."""
        namespace = self.connection.namespace
        return self._optional(
            f"read Nomad Variable '{path}'",
            lambda: self._api.variable.get_variable(path, namespace=namespace),
        )

    def put_variable(self, path: str, items: dict[str, str], *, cas: int) -> dict[str, Any]:
        """Write the Variable at ``path`` whole, only if its ``ModifyIndex`` is still
        ``cas`` (0: only if it does not exist); a conflict is never retried."""
        namespace = self.connection.namespace
        body = {"Namespace": namespace, "Path": path, "Items": items}
        return self._call(
            f"write Nomad Variable '{path}'",
            lambda: self._api.variable.create_variable(path, body, namespace=namespace, cas=cas),
        )

    # -- deployments --------------------------------------------------------

    def latest_deployment(self, job_id: str) -> dict[str, Any] | None:
        """The job's most recent deployment, or None."""
        return self._optional(
            f"read the deployment of '{job_id}'", lambda: self._api.job.get_deployment(job_id)
        )

    def deployment(self, deployment_id: str) -> dict[str, Any]:
        """The deployment ``deployment_id`` (Nomad's JSON: ``Status``, ``TaskGroups`` ...)."""
        return self._call(
            f"read deployment {deployment_id}",
            lambda: self._api.deployment.get_deployment(deployment_id),
        )

    def promote(self, deployment_id: str) -> dict[str, Any]:
        """Promote every canary group of the deployment."""
        return self._call(
            f"promote deployment {deployment_id}",
            lambda: self._api.deployment.promote_deployment_all(deployment_id),
        )

    def fail(self, deployment_id: str) -> dict[str, Any]:
        """Mark the deployment failed; with auto-revert Nomad rolls the job back."""
        return self._call(
            f"fail deployment {deployment_id}",
            lambda: self._api.deployment.fail_deployment(deployment_id),
        )

    # -- allocations --------------------------------------------------------

    def restart_allocation(self, alloc_id: str) -> None:
        """Restart allocation ``alloc_id`` in place (its tasks restart, it is not rescheduled)."""
        self._call(
            f"restart allocation {alloc_id}",
            lambda: self._api.client.allocation.restart_allocation(alloc_id),
        )

    def read_logs(self, alloc_id: str, task: str, *, stream: str, tail_bytes: int) -> str:
        """The last ``tail_bytes`` of a task's ``stdout``/``stderr``."""
        return self._call(
            f"read logs of allocation {alloc_id}",
            lambda: self._api.client.stream_logs.stream(
                alloc_id, task, stream, offset=tail_bytes, origin="end", plain=True
            ),
            safe=True,
        )

    def follow_logs(self, alloc_id: str, task: str, *, stream: str) -> Iterator[str]:
        """New lines of a task's output, as Nomad streams them (until interrupted)."""
        params = {"task": task, "type": stream, "follow": "true", "origin": "end", "plain": "true"}
        response = self._call(
            f"follow logs of allocation {alloc_id}",
            lambda: self._api.client.stream_logs.request(
                alloc_id, params=params, method="get", stream=True, timeout=None
            ),
            safe=True,
        )
        yield from (line for line in response.iter_lines(decode_unicode=True) if line is not None)

    # -- plumbing -----------------------------------------------------------

    def _optional(self, what: str, call: Callable[[], T], *, safe: bool = True) -> T | None:
        try:
            return self._call(what, call, safe=safe)
        except NomadError as exc:
            if exc.status == 404:
                return None
            raise

    def _call(
        self,
        what: str,
        call: Callable[[], T],
        *,
        safe: bool = False,
        budget: DeploymentBudget | None = None,
    ) -> T:
        scale = budget is not None
        retrying = Retrying(
            stop=self._stop(budget),
            wait=wait_exponential(
                multiplier=self._retry.initial_wait_s, max=self._retry.max_wait_s
            ),
            retry=retry_if_exception(lambda e: is_transient(e, safe=safe, scale=scale)),
            reraise=True,
        )
        if self._sleep:
            retrying.sleep = self._sleep
        try:
            return retrying(call)
        except nomad_errors.BaseNomadException as exc:
            status, body = _status_and_body(exc)
            raise _translate(status, body, what, self.connection) from None

    def _stop(self, budget: DeploymentBudget | None) -> Callable[[RetryCallState], bool]:
        """Stop after ``RetryPolicy.attempts`` transient failures; a write blocked by an
        active deployment waits on ``budget`` instead and is not counted."""
        failures = 0

        def stop(state: RetryCallState) -> bool:
            nonlocal failures
            exc = state.outcome.exception() if state.outcome else None
            if budget is not None and blocked_by_deployment(exc):
                return budget.expired()
            failures += 1
            return failures >= self._retry.attempts

        return stop


def blocked_by_deployment(exc: BaseException | None) -> bool:
    """Nomad's ``400 ... active deployment``: the write waits for the deployment."""
    answer = getattr(exc, "nomad_resp", None)
    return (
        isinstance(answer, requests.Response)
        and answer.status_code == 400
        and ACTIVE_DEPLOYMENT in answer.text
    )


def is_transient(exc: BaseException, *, safe: bool, scale: bool = False) -> bool:
    """Whether retrying ``exc`` may succeed without risking a double write."""
    if not isinstance(exc, nomad_errors.BaseNomadException):
        return False
    answer = exc.nomad_resp
    if isinstance(answer, requests.Response):
        status, body = answer.status_code, answer.text
        if ENFORCE_INDEX_PREFIX in body or ENFORCE_VERSION in body:
            return False
        if scale and blocked_by_deployment(exc):
            return True
        if NO_LEADER in body or status in (429, 503):
            return True
        return safe and status >= 500
    if isinstance(answer, requests.ConnectionError):
        return True  # refused or connect timeout: nothing reached Nomad
    return safe and isinstance(answer, requests.Timeout)


def _status_and_body(exc: nomad_errors.BaseNomadException) -> tuple[int | None, str]:
    answer = exc.nomad_resp
    if isinstance(answer, requests.Response):
        return answer.status_code, answer.text.strip()
    return None, str(answer)


def _translate(status: int | None, body: str, what: str, connection: NomadConnection) -> NomadError:
    address = connection.address
    if ENFORCE_INDEX_PREFIX in body or ENFORCE_VERSION in body or status == 409:
        return NomadConflictError(
            f"cannot {what}: it was changed by someone else since opsctl read it "
            f"(Nomad: {body}); nothing was overwritten",
            status=status,
            hint="run `opsctl plan` again to see the current state, then retry",
        )
    if status == 403:
        return NomadError(
            f"Nomad at {address} refused to {what}: permission denied ({body})",
            status=status,
            hint=f"set {connection.token_source} to a token with the needed policy",
        )
    if status is None:
        return NomadError(
            f"no answer from Nomad at {address} to {what}: {body}",
            hint="check NOMAD_ADDR (or the environment's nomad.address); a write that timed "
            "out may still have been applied: look with `opsctl status`",
        )
    return NomadError(f"Nomad at {address} could not {what}: HTTP {status}: {body}", status=status)
