"""The local scheduler: supervisord runs the processes, opsctl orders and gates them."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import psutil
from typing_extensions import override

from ops_cli.config.models import EnvironmentConfig
from ops_cli.errors import PortInUseError, ServiceFailedError
from ops_cli.health import probe
from ops_cli.ports import port_holder, port_is_free
from ops_cli.scheduler.base import (
    ApplyResult,
    Health,
    ProgressCallback,
    Scheduler,
    WorkloadEvent,
    WorkloadStatus,
)
from ops_cli.scheduler.local.exits import fatal_reason
from ops_cli.scheduler.local.launch import OWNER_VARIABLE, write_env_file
from ops_cli.scheduler.local.logfiles import follow_lines, tail_lines
from ops_cli.scheduler.local.reaper import of_workloads, owned_processes, reap_owned, workload_of
from ops_cli.scheduler.local.supervisor_client import (
    RUNNING_STATES,
    ProcessInfo,
    SupervisorClient,
    socket_path_for,
)
from ops_cli.scheduler.local.supervisor_conf import render_supervisor_conf
from ops_cli.scheduler.local.workload import LocalWorkload, operator_variables, tool_path
from ops_cli.state import StatePaths

_LOG_LINES_ON_FAILURE = 20
PROBED_STATES = {"STARTING", "RUNNING"}
"""A process in these states is probed: healthy as soon as its check passes, before
supervisord's START_SECONDS have passed."""


class LocalScheduler(Scheduler):
    """Runs ``workloads`` as supervisord programs bound to the environment's host."""

    def __init__(
        self, config: EnvironmentConfig, workloads: list[LocalWorkload], paths: StatePaths
    ) -> None:
        self.config = config
        self.paths = paths
        self.workloads = {w.name: w for w in workloads}
        self.conf_file = paths.run / "supervisord.conf"
        self.supervisord_log = paths.logs / "supervisord.log"
        self.client = SupervisorClient(
            self.conf_file, socket_path_for(paths.run), paths.run / "supervisord.pid"
        )

    # -- the Scheduler role ---------------------------------------------------

    @override
    def up(self, progress: ProgressCallback) -> ApplyResult:
        began = time.monotonic()
        self._write_workload_files()
        self._write_conf()
        if self.client.is_running():
            to_start = self._reconcile_running()
        else:
            self._stop_orphans(progress)
            self._check_ports(self.workloads.values())
            self.client.start_daemon(self._daemon_env())
            to_start = set(self.workloads)
        unchanged = sorted(set(self.workloads) - to_start)
        for name in unchanged:
            progress(WorkloadEvent(name, "unchanged", detail="already running and healthy"))
        self._start_in_order(to_start, progress)
        return ApplyResult(
            started=sorted(to_start), unchanged=unchanged, elapsed_s=time.monotonic() - began
        )

    @override
    def status(self) -> list[WorkloadStatus]:
        if self.client.is_running():
            infos = self.client.all_info()
            return [self._status_of(w, infos.get(w.name)) for w in self.workloads.values()]
        orphans = self._orphans()
        return [
            self._orphaned(w, orphans[w.name]) if w.name in orphans else self._status_of(w, None)
            for w in self.workloads.values()
        ]

    def _orphans(self) -> dict[str, list[int]]:
        """Pids by workload of this environment's processes; with supervisord not
        running, each was left behind by one that was killed (``kill -9``)."""
        found: dict[str, list[int]] = {}
        for proc in owned_processes(of_workloads(str(self.paths.data))):
            with contextlib.suppress(psutil.Error):
                name = workload_of(proc.environ().get(OWNER_VARIABLE, ""))
                if name in self.workloads:
                    found.setdefault(name, []).append(proc.pid)
        return found

    def _orphaned(self, workload: LocalWorkload, pids: list[int]) -> WorkloadStatus:
        pid_list = ", ".join(map(str, sorted(pids)))
        detail = (f"supervisord is not running but processes it started are (pid {pid_list}): "
                  f"run opsctl down --env {self.config.name}, or up to replace them")  # fmt: skip
        return WorkloadStatus(name=workload.name, health=Health.UNHEALTHY, detail=detail,
                              endpoints=workload.endpoints, pid=min(pids))  # fmt: skip

    def _stop_orphans(self, progress: ProgressCallback) -> None:
        """Stop what a killed supervisord left running, before ``up`` starts afresh
        (they hold the environment's ports, and nothing manages them)."""
        orphans = self._orphans()
        if orphans:
            reap_owned(of_workloads(str(self.paths.data), sorted(orphans)))
        for name, pids in sorted(orphans.items()):
            progress(WorkloadEvent(name, "replaced", detail=(
                f"stopped pid {', '.join(map(str, sorted(pids)))}, left running by a "
                "supervisord that was killed")))  # fmt: skip

    @override
    def restart(self, name: str, progress: ProgressCallback) -> None:
        if not self.client.is_running():
            raise ServiceFailedError(
                f"the '{self.config.name}' environment is not up; run: opsctl up --env {self.config.name}"
            )
        self.client.stop(name)
        reap_owned(of_workloads(str(self.paths.data), [name]))
        self._start_in_order({name}, progress)

    def down(self) -> list[str]:
        """Stop every program and supervisord, then whatever their processes left
        behind (a child in its own session, a flow run)."""
        running: list[str] = []
        if self.client.is_running():
            infos = self.client.all_info().items()
            running = [n for n, i in infos if i.state in RUNNING_STATES]
            self.client.shutdown()
        reap_owned(of_workloads(str(self.paths.data)))
        return sorted(n for n in running if n in self.workloads)

    @override
    def logs(self, name: str, *, lines: int, follow: bool) -> Iterator[str]:
        log_file = self.workloads[name].log_file
        if follow:
            return follow_lines(log_file, lines)
        return iter(tail_lines(log_file, lines))

    # -- helpers ----------------------------------------------------------------

    def _write_workload_files(self) -> None:
        for workload in self.workloads.values():
            workload.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_env_file(workload.env_file, workload.env)
            for path, content, mode in workload.files:
                _write_private(path, content, mode)

    def _write_conf(self) -> None:
        text = render_supervisor_conf(
            list(self.workloads.values()),
            socket_path=self.client.socket_path,
            pid_file=self.client.pid_file,
            log_dir=self.supervisord_log.parent,
            data_dir=self.paths.data,
        )
        _write_private(self.conf_file, text, 0o600)

    def _daemon_env(self) -> dict[str, str]:
        """supervisord and its listener get the allow-list only: each program's own
        environment comes from its file (see :mod:`~ops_cli.scheduler.local.launch`)."""
        env = operator_variables([], os.environ)
        env["PATH"] = tool_path()
        return env

    def _reconcile_running(self) -> set[str]:
        """Apply a changed configuration to the running supervisord; return what to start."""
        added, changed, removed = self.client.reload()
        for name in removed:
            self.client.stop(name)
            self.client.remove_group(name)
        for name in changed:
            self.client.stop(name)
            self.client.remove_group(name)
            self.client.add_group(name)
        for name in added:
            self.client.add_group(name)
        infos = self.client.all_info()
        to_start = {n for n in self.workloads if n in added or n in changed}
        for name, workload in self.workloads.items():
            status = self._status_of(workload, infos.get(name))
            if status.health is not Health.HEALTHY:
                to_start.add(name)
        not_running = [
            self.workloads[n]
            for n in to_start
            if infos.get(n) is None or infos[n].state not in RUNNING_STATES
        ]
        self._check_ports(not_running)
        return to_start

    def _check_ports(self, workloads: Iterable[LocalWorkload]) -> None:
        host = self.config.network.bind_host
        for workload in workloads:
            for label, port in workload.ports.items():
                if not port_is_free(host, port):
                    holder = port_holder(port)
                    by = f" by {holder}" if holder else ""
                    raise PortInUseError(
                        f"port {port} ({workload.name}.{label}) on {host} is already in use{by}; "
                        f"stop that process, or move the environment with network.port_base "
                        f"(OPSCTL_NETWORK__PORT_BASE) or workloads.{workload.name}.ports.{label}"
                    )

    def _start_in_order(self, names: set[str], progress: ProgressCallback) -> None:
        """Start ``names`` as soon as their dependencies are healthy; wait for each
        to be healthy. Independent workloads start together."""
        pending = set(names)
        starting: dict[str, float] = {}
        healthy = set(self.workloads) - pending
        for name in sorted(pending):
            progress(WorkloadEvent(name, "waiting"))
        while pending or starting:
            for name in sorted(pending):
                if all(dep in healthy for dep in self.workloads[name].depends_on):
                    self.client.start(name)
                    starting[name] = time.monotonic()
                    pending.discard(name)
                    progress(WorkloadEvent(name, "starting"))
            for name, since in list(starting.items()):
                if self._became_healthy(name, since, progress):
                    healthy.add(name)
                    del starting[name]
            if pending or starting:
                time.sleep(self.config.health.poll_interval_s)

    def _became_healthy(self, name: str, since: float, progress: ProgressCallback) -> bool:
        workload = self.workloads[name]
        elapsed = time.monotonic() - since
        info = self.client.info(name)
        if info.state == "FATAL":
            self._fail(name, fatal_reason(info, self.supervisord_log), progress, elapsed)
        if workload.probe is None and info.state == "RUNNING":
            progress(WorkloadEvent(name, "healthy", elapsed, "running"))
            return True
        if workload.probe is not None and info.state in PROBED_STATES:
            result = probe(workload.probe, self.config.health.check_timeout_s)
            if result.healthy:
                progress(WorkloadEvent(name, "healthy", elapsed, result.detail))
                return True
        if elapsed > self.config.health.start_timeout_s:
            self._fail(
                name,
                f"not healthy after {self.config.health.start_timeout_s:.0f}s (state {info.state})",
                progress,
                elapsed,
            )
        return False

    def _fail(self, name: str, reason: str, progress: ProgressCallback, elapsed: float) -> None:
        progress(WorkloadEvent(name, "failed", elapsed, reason))
        log_file = self.workloads[name].log_file
        tail = "\n    ".join(tail_lines(log_file, _LOG_LINES_ON_FAILURE)) or "(empty)"
        raise ServiceFailedError(
            f"workload '{name}' {reason}\n  last lines of {log_file}:\n    {tail}"
        )

    def _status_of(self, workload: LocalWorkload, info: ProcessInfo | None) -> WorkloadStatus:
        base: dict[str, Any] = {"name": workload.name, "endpoints": workload.endpoints}
        if info is None or info.state in {"STOPPED", "EXITED", "STOPPING"}:
            return WorkloadStatus(health=Health.STOPPED, detail="not running", **base)
        if info.state == "FATAL":
            detail = f"FATAL: {fatal_reason(info, self.supervisord_log)}"
            return WorkloadStatus(health=Health.FAILED, detail=detail, **base)
        if info.state not in PROBED_STATES:
            return WorkloadStatus(
                health=Health.STARTING, detail=info.state.lower(), pid=info.pid or None, **base
            )
        uptime = max(0.0, time.time() - info.start)
        starting = info.state == "STARTING"
        if workload.probe is None:
            health = Health.STARTING if starting else Health.HEALTHY
            return WorkloadStatus(
                health=health, detail=info.state.lower(), pid=info.pid, uptime_s=uptime, **base
            )
        result = probe(workload.probe, self.config.health.check_timeout_s)
        health = Health.HEALTHY if result.healthy else Health.UNHEALTHY
        if starting and not result.healthy:
            health = Health.STARTING
        return WorkloadStatus(
            health=health, detail=result.detail, pid=info.pid, uptime_s=uptime, **base
        )


def _write_private(path: Path, content: str, mode: int) -> None:
    """Write ``content`` atomically with ``mode`` (the files can carry secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)
