"""The Nomad scheduler: every enabled service workload as a Nomad job.

``up`` plans each job and registers only those that change, in dependency
waves, following each deployment until healthy. It also plans, deploys and
rolls back single workloads (see :mod:`.abilities`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from typing_extensions import override

from ops_cli.catalog import Catalog
from ops_cli.catalog.placeholders import placeholders_in
from ops_cli.config.models import EnvironmentConfig
from ops_cli.discovery.base import Discovery, DiscoveryPermissionError
from ops_cli.errors import ConfigError, OpsError, ServiceFailedError
from ops_cli.scheduler.abilities import DeployOutcome, RollbackPlan
from ops_cli.scheduler.base import (
    ApplyResult,
    Endpoint,
    Health,
    ProgressCallback,
    Scheduler,
    WorkloadEvent,
    WorkloadStatus,
)
from ops_cli.scheduler.nomad.client import NomadClient, NomadError
from ops_cli.scheduler.nomad.deploy import DeploymentEngine
from ops_cli.scheduler.nomad.namespace import NamespaceKeeper
from ops_cli.scheduler.nomad.plan import summarize_plan
from ops_cli.scheduler.nomad.render import cluster_workloads, render_job
from ops_cli.scheduler.nomad.status import job_status
from ops_cli.scheduler.nomad.values import secret_item, service_name
from ops_cli.scheduler.nomad.variables import JobSecrets
from ops_cli.scheduler.plan import JobPlan

LOG_BYTES_PER_LINE = 256
DEPLOY_MARGIN_S = 60.0


class NomadScheduler(Scheduler):
    """Runs one environment's services on Nomad; implements Planner, Deployer
    and RollbackCapable."""

    def __init__(
        self,
        config: EnvironmentConfig,
        catalog: Catalog,
        client: NomadClient,
        *,
        discovery: Discovery | None = None,
        engine: DeploymentEngine | None = None,
        secret_values: Mapping[str, str] | None = None,
    ) -> None:
        """``secret_values``: secrets opsctl holds, by name, that jobs read from their
        Nomad Variable (the prediction service's API key); written on deploy."""
        self.config = config
        self.catalog = catalog
        self.client = client
        self.discovery = discovery
        self.engine = engine or DeploymentEngine(client, poll_interval_s=2.0)
        connection = client.connection
        self.namespaces = NamespaceKeeper(
            client, connection.namespace, config.name, connection.token_source
        )
        self.secret_values = dict(secret_values or {})
        self.job_secrets = JobSecrets(client, connection.namespace, connection.token_source)

    # -- Scheduler ------------------------------------------------------------

    @override
    def up(self, progress: ProgressCallback) -> ApplyResult:
        began = time.monotonic()
        result = ApplyResult()
        for wave in self.catalog.start_order(self._workloads()):
            for name in wave:
                outcome = self.apply(self.plan_deploy(name), progress)
                target = result.unchanged if outcome.status == "unchanged" else result.started
                target.append(name)
        result.elapsed_s = time.monotonic() - began
        return result

    @override
    def status(self) -> list[WorkloadStatus]:
        return [self._status_of(name) for name in self._workloads()]

    def restart(self, name: str, progress: ProgressCallback) -> None:
        """Restart every running allocation of ``name`` in place, then wait until
        the job reports healthy again (``health.start_timeout_s``)."""
        self._require(name)
        progress(WorkloadEvent(name, "starting", detail="restarting allocations"))
        for alloc in self._running_allocations(name):
            self.client.restart_allocation(alloc["ID"])
        deadline = time.monotonic() + self.config.health.start_timeout_s
        while time.monotonic() < deadline:
            time.sleep(self.config.health.poll_interval_s * 4)
            current = self._status_of(name)
            if current.health is Health.HEALTHY:
                progress(WorkloadEvent(name, "healthy", detail=current.detail))
                return
        progress(WorkloadEvent(name, "failed", detail="not healthy in time"))
        raise ServiceFailedError(
            f"'{name}' did not report healthy within {self.config.health.start_timeout_s:.0f}s "
            "after its restart"
        )

    @override
    def down(self) -> list[str]:
        stopped = []
        for wave in reversed(self.catalog.start_order(self._workloads())):
            for name in wave:
                job = self.client.job(name)
                if job is None or job.get("Stop") or job.get("Status") == "dead":
                    continue
                self.client.deregister(name)
                stopped.append(name)
        return stopped

    def logs(self, name: str, *, lines: int, follow: bool) -> Iterator[str]:
        """The output (stdout) of ``name``'s newest running allocation."""
        self._require(name)
        allocations = self._running_allocations(name)
        if not allocations:
            raise OpsError(f"'{name}' has no running allocation to read logs from")
        alloc = max(allocations, key=lambda a: a.get("CreateIndex", 0))
        text = self.client.read_logs(
            alloc["ID"], name, stream="stdout", tail_bytes=max(lines, 1) * LOG_BYTES_PER_LINE
        )
        yield from text.splitlines()[-lines:] if lines else []
        if follow:
            yield from self.client.follow_logs(alloc["ID"], name, stream="stdout")

    # -- Planner / Deployer / RollbackCapable ---------------------------------

    def plan(self, workloads: list[str] | None = None) -> list[JobPlan]:
        """The plan of every enabled service workload (or of ``workloads``) as it is configured now;
        changes nothing (:class:`~ops_cli.scheduler.abilities.Planner`)."""
        names = workloads or self._workloads()
        return [self.plan_deploy(name) for name in names]

    def plan_deploy(
        self, workload: str, *, image_tag: str | None = None, model_alias: str | None = None
    ) -> JobPlan:
        """Render ``workload``'s job (with ``image_tag`` and the registry alias ``model_alias`` it
        serves, when given) and ask Nomad what registering it would change. Raises ConfigError
        for a workload the environment does not run."""
        self._require(workload)
        job = render_job(
            self.config,
            self.catalog,
            workload,
            image_tag=image_tag,
            model_alias=model_alias,
            namespace=self.client.connection.namespace,
        )
        if not self.namespaces.exists():
            return self.namespaces.planned_creation(workload, job)
        return summarize_plan(workload, self.client.plan(job), job)

    def apply(self, plan: JobPlan, progress: ProgressCallback) -> DeployOutcome:
        """Create the environment's namespace if it is missing, then register
        ``plan`` and follow its deployment."""
        if plan.has_changes:
            self.namespaces.ensure(progress)
        self.job_secrets.ensure(plan.job, self.secret_items(plan.job), progress)
        return self.engine.apply(plan, progress, timeout_s=self._timeout(plan.job))

    def secret_items(self, name: str) -> dict[str, str]:
        """The Variable items job ``name`` reads that opsctl holds: the API key for a
        job whose spec uses it (``auth.api_key``), when auth is required."""
        auth = self.config.auth
        key = self.secret_values.get(auth.api_key_secret)
        if not auth.required or not key:
            return {}
        spec, settings = self.catalog[name], self.config.workloads.get(name)
        texts = [*spec.command, *spec.env.values(), *(settings.env.values() if settings else ())]
        used = set().union(*(placeholders_in(t) for t in texts))
        if used & {"auth.api_key", f"secret.{auth.api_key_secret}"}:
            return {secret_item(auth.api_key_secret): key}
        return {}

    def plan_rollback(self, workload: str) -> RollbackPlan:
        """The previous stable version of ``workload``'s job; raises OpsError when there is none."""
        self._require(workload)
        return self.engine.rollback_plan(workload)

    def rollback(self, plan: RollbackPlan, progress: ProgressCallback) -> DeployOutcome:
        """Revert to ``plan.target_version`` unless the job moved on since the plan, and follow the
        deployment up to the job's start timeout."""
        return self.engine.rollback(plan, progress, timeout_s=self._timeout(plan.job))

    # -- helpers --------------------------------------------------------------

    def _workloads(self) -> list[str]:
        return cluster_workloads(self.config, self.catalog)

    def _require(self, name: str) -> None:
        self.catalog[name]  # raises for a name the catalog does not know
        if name not in self._workloads():
            raise ConfigError(
                f"workload '{name}' is not a service job of '{self.config.name}'; "
                f"jobs: {', '.join(self._workloads())}"
            )

    def _timeout(self, name: str) -> float:
        # Nomad fails the deployment itself at the progress deadline; we give it
        # that long plus a margin before failing it ourselves
        return self.catalog[name].update.progress_deadline_s + DEPLOY_MARGIN_S

    def _running_allocations(self, name: str) -> list[dict[str, Any]]:
        return [
            a
            for a in self.client.allocations(name)
            if a.get("ClientStatus") == "running" and a.get("DesiredStatus") == "run"
        ]

    def _status_of(self, name: str) -> WorkloadStatus:
        try:
            job = self.client.job(name)
            allocations = self.client.allocations(name) if job else []
            deployment = self.client.latest_deployment(name) if job else None
        except NomadError as exc:
            if exc.status is not None and exc.status in (401, 403):
                raise
            return WorkloadStatus(name, Health.FAILED, detail=str(exc))
        status = job_status(name, job, allocations, deployment)
        if status.health is Health.HEALTHY:
            return WorkloadStatus(**{**status.__dict__, "endpoints": self._endpoints(name)})
        return status

    def _endpoints(self, name: str) -> tuple[Endpoint, ...]:
        if self.discovery is None:
            return ()
        endpoints: list[Endpoint] = []
        for endpoint in self.catalog[name].endpoints:
            try:
                found = self.discovery.resolve(service_name(self.catalog, name, endpoint.port))
            except DiscoveryPermissionError:
                raise  # a token problem, not "no endpoint yet"
            except OpsError:
                return tuple(endpoints)
            if found:
                endpoints.append(Endpoint(endpoint.label, found[0].url + endpoint.path))
        return tuple(endpoints)
