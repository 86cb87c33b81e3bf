"""Stop whatever a workload's processes left behind, and the supervisord listener that
does it when a workload exits.

supervisord signals a whole process group only when *it* stops a program. A
program that crashes (or is killed with SIGKILL) can leave children behind:
still holding its port (its restart would then fail), or in their own session
(a Prefect flow run), out of reach of any process group. Every workload process
carries :data:`~ops_cli.scheduler.local.launch.OWNER_VARIABLE` (its data folder
and pid), which every process it starts inherits; :func:`reap_owned` ends the
processes that carry a given owner. The listener (run by supervisord itself)
ends, when a program exits, its process group and every process of that
instance; ``down`` and ``restart`` end every process of the workloads they stop.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable

import psutil

from ops_cli.scheduler.local.launch import OWNER_VARIABLE


def reap_group(pgid: int, grace_s: float = 5.0) -> None:
    """Terminate every process still in group ``pgid``; silent if none is left."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def owned_processes(matches: Callable[[str], bool]) -> list[psutil.Process]:
    """This user's processes whose owner tag satisfies ``matches`` (this one excluded)."""
    found = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        with contextlib.suppress(psutil.Error):
            tag = proc.environ().get(OWNER_VARIABLE)
            if tag is not None and matches(tag):
                found.append(proc)
    return found


def reap_owned(matches: Callable[[str], bool], grace_s: float = 5.0) -> list[int]:
    """SIGTERM, then after ``grace_s`` SIGKILL, every process :func:`owned_processes`
    finds; returns their pids."""
    procs = owned_processes(matches)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=grace_s)
    return [p.pid for p in procs]


def of_workloads(data_dir: str, names: list[str] | None = None) -> Callable[[str], bool]:
    """Matches any instance of the workloads ``names`` (all when None) whose data
    folders are under ``data_dir``."""
    owners = None if names is None else {os.path.join(data_dir, n) for n in names}

    def matches(tag: str) -> bool:
        owner = tag.rpartition("#")[0]
        if owners is None:
            return os.path.dirname(owner) == data_dir
        return owner in owners

    return matches


def workload_of(tag: str) -> str:
    """The workload name in owner tag ``tag`` (``<data folder>/<name>#<pid>``)."""
    return os.path.basename(tag.rpartition("#")[0])


def of_ended_instances(owner: str) -> Callable[[str], bool]:
    """Matches processes of workload ``owner`` whose instance (the process the
    launcher became) has ended: left behind, never part of a running instance."""

    def matches(tag: str) -> bool:
        tag_owner, _, pid = tag.rpartition("#")
        return tag_owner == owner and pid.isdigit() and not _alive(int(pid))

    return matches


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


ENDING_EVENTS = ("PROCESS_STATE_EXITED", "PROCESS_STATE_BACKOFF", "PROCESS_STATE_STOPPED")
"""A program's process ended: it exited while running, failed to start (killed or
crashed before supervisord's startsecs), or was stopped."""


def main(argv: list[str] | None = None) -> None:
    """Serve events forever, as supervisord's listener protocol expects."""
    from supervisor import childutils

    parser = argparse.ArgumentParser(prog="reaper")
    parser.add_argument("--data-dir", required=True, help="the environment's data folder")
    data_dir = parser.parse_args(argv).data_dir
    while True:
        headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        if headers.get("eventname") in ENDING_EVENTS:
            fields, _ = childutils.eventdata(payload + "\n")
            name, pid = fields.get("processname", ""), int(fields.get("pid", 0) or 0)
            if pid > 1:  # EXITED and STOPPED name the process; its group may remain
                reap_group(pid)
            left = reap_owned(of_ended_instances(os.path.join(data_dir, name)))
            if left:
                sys.stderr.write(f"ended what {name} left behind: pids {left}\n")
                sys.stderr.flush()
        childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    main()
