"""Render the supervisord configuration of a local environment.

supervisord does the supervising (restarts, log files, process groups); this
module only writes its INI file. Each workload is a program with
``autostart=false``: opsctl starts them itself, in dependency order, gated on
health checks. The workloads' environments are not in this file: each program
runs through :mod:`ops_cli.scheduler.local.launch`, which reads its
environment from its own 0600 file, so no value passes through supervisord's
INI quoting (a quote, a backslash or ``%`` in a secret reaches the process as
it is).

A program that exits within :data:`START_SECONDS` of its start counts as a
failed start; after :data:`START_RETRIES` retries it is FATAL and stays down.
"""

from __future__ import annotations

import math
import shlex
from pathlib import Path

from ops_cli.scheduler.local.reaper import ENDING_EVENTS
from ops_cli.scheduler.local.workload import LocalWorkload, interpreter

REAPER_NAME = "opsctl-reaper"
START_SECONDS = 10
"""A process must stay up this long for its start to count (supervisord's startsecs)."""
START_RETRIES = 3
"""Failed starts retried before the program is FATAL (supervisord's startretries)."""


def _escape(value: str) -> str:
    """supervisord expands ``%(name)s``; a literal percent sign must be doubled."""
    return value.replace("%", "%%")


def launch_command(workload: LocalWorkload) -> list[str]:
    """The command supervisord runs: the launcher, the environment file, the workload's
    fingerprint (a changed environment is a changed command), then its command."""
    return [
        interpreter(),
        "-m",
        "ops_cli.scheduler.local.launch",
        str(workload.env_file),
        "--digest",
        workload.fingerprint(),
        "--",
        *workload.command,
    ]


def render_supervisor_conf(
    workloads: list[LocalWorkload],
    *,
    socket_path: Path,
    pid_file: Path,
    log_dir: Path,
    data_dir: Path,
) -> str:
    """The complete supervisord.conf for ``workloads``."""
    sections = [
        "[unix_http_server]",
        f"file={_escape(str(socket_path))}",
        "chmod=0700",
        "",
        "[supervisord]",
        f"logfile={_escape(str(log_dir / 'supervisord.log'))}",
        f"pidfile={_escape(str(pid_file))}",
        "logfile_maxbytes=10MB",
        "logfile_backups=2",
        "nodaemon=false",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_escape(str(socket_path))}",
        "",
        # Kills what a crashed process left behind in its process group (for
        # example the uvicorn child of `mlflow server`), so the restarted
        # process can bind its port again.
        f"[eventlistener:{REAPER_NAME}]",
        "command="
        + _escape(
            shlex.join(
                [interpreter(), "-m", "ops_cli.scheduler.local.reaper", f"--data-dir={data_dir}"]
            )
        ),
        f"events={','.join(ENDING_EVENTS)}",
        "autorestart=true",
        f"stderr_logfile={_escape(str(log_dir / (REAPER_NAME + '.log')))}",
        "",
    ]
    depths = dependency_depths(workloads)
    for workload in workloads:
        sections += _program_section(workload, priority=100 + 10 * depths[workload.name])
    return "\n".join(sections)


def dependency_depths(workloads: list[LocalWorkload]) -> dict[str, int]:
    """0 for a workload without dependencies, else one more than its deepest dependency.

    As supervisord priorities, dependents stop before what they depend on
    (``down`` lets the prediction service flush its log to storage first).
    """
    by_name = {w.name: w for w in workloads}
    depths: dict[str, int] = {}

    def depth(name: str) -> int:
        if name not in depths:
            deps = [d for d in by_name[name].depends_on if d in by_name]
            depths[name] = 1 + max(map(depth, deps)) if deps else 0
        return depths[name]

    for workload in workloads:
        depth(workload.name)
    return depths


def _program_section(workload: LocalWorkload, *, priority: int) -> list[str]:
    return [
        f"[program:{workload.name}]",
        f"priority={priority}",
        f"command={_escape(shlex.join(launch_command(workload)))}",
        f"directory={_escape(str(workload.data_dir))}",
        "autostart=false",
        "autorestart=true",
        f"startsecs={START_SECONDS}",
        f"startretries={START_RETRIES}",
        "stopsignal=TERM",
        f"stopwaitsecs={math.ceil(workload.spec.stop_timeout_s)}",
        "stopasgroup=true",
        "killasgroup=true",
        "redirect_stderr=true",
        f"stdout_logfile={_escape(str(workload.log_file))}",
        "stdout_logfile_maxbytes=20MB",
        "stdout_logfile_backups=3",
        "",
    ]
