"""Local processes under the real supervisord: what a workload's process sees, crash
loops that end, and nothing a workload started outliving it.

The workloads here are small Python programs (``PROGRAM`` below) run by the
real local scheduler: supervisord, the launcher and the reaper as ``up`` runs them.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest

from ops_cli.catalog.spec import WorkloadSpec
from ops_cli.config import load_environment
from ops_cli.errors import ServiceFailedError
from ops_cli.health import ProbeTarget
from ops_cli.scheduler.base import Health
from ops_cli.scheduler.local.launch import OWNER_VARIABLE
from ops_cli.scheduler.local.reaper import of_workloads, owned_processes
from ops_cli.scheduler.local.scheduler import LocalScheduler
from ops_cli.scheduler.local.workload import LocalWorkload, tool_path
from ops_cli.state import StatePaths
from tests.conftest import free_port_base

PROGRAM = r"""
import json, os, socket, subprocess, sys, time
mode, out, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "crash":
    print("loading the model", flush=True)
    time.sleep(1.2)  # past supervisord's old startsecs=1: a crash loop it never ended
    print("boom: the model file is unreadable", flush=True)
    sys.exit(3)
if mode == "env":
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(dict(os.environ), handle, ensure_ascii=False)
if mode == "spawn":  # a child in its own session, out of reach of the process group
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                             start_new_session=True)
    with open(out, "a", encoding="utf-8") as handle:
        handle.write(f"{child.pid}\n")
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen()
time.sleep(600)
"""

TRICKY = 'q"uote \\back\\slash %(percent)s 50% sp  ace, comma=eq \u00e9\u6f22 $HOME ${x} `x`'


@pytest.fixture
def local(tmp_path: Path, environments_dir: Path):
    """A scheduler over workloads built by ``add``; always taken down after."""
    config = load_environment("local", environments_dir, environ={})
    paths = StatePaths(tmp_path / "state" / "local")
    paths.create()
    program = tmp_path / "program.py"
    program.write_text(PROGRAM)
    port = free_port_base(int(os.environ.get("OPSCTL_TEST_PORT_START", "20000")) + 700, size=5)
    built: list[LocalScheduler] = []

    def add(name: str, mode: str, env: dict[str, str] | None = None) -> LocalScheduler:
        out = tmp_path / f"{name}.out"
        spec = WorkloadSpec.model_validate({
            "name": name, "description": "test program", "command": ["python"],
            "ports": {"tcp": {"offset": 0}}, "health": {"type": "tcp", "port": "tcp"},
        })  # fmt: skip
        data_dir = paths.workload_data(name)
        workload = LocalWorkload(
            spec=spec,
            command=(sys.executable, str(program), mode, str(out), str(port)),
            env={**(env or {}), "PATH": tool_path(), OWNER_VARIABLE: str(data_dir)},
            ports={"tcp": port},
            data_dir=data_dir,
            log_file=paths.workload_log(name),
            env_file=paths.run / "env" / f"{name}.json",
            probe=ProbeTarget("tcp", "127.0.0.1", port),
            endpoints=(),
            depends_on=(),
        )
        scheduler = LocalScheduler(config, [workload], paths)
        built.append(scheduler)
        return scheduler

    yield add, tmp_path, paths
    for scheduler in built:
        scheduler.down()


def test_secret_values_reach_the_process_unchanged_and_nothing_else(local, monkeypatch) -> None:
    add, tmp_path, _ = local
    for leak in ("OPSCTL_SECRET_S3_SECRET_KEY", "NOMAD_TOKEN", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(leak, "must-not-leak")
    monkeypatch.setenv("LANG", "C.UTF-8")
    declared = {"SECRET": TRICKY, "EMPTYISH": " ", "JSON": '{"a": "b\\n"}'}
    scheduler = add("envcheck", "env", declared)
    scheduler.up(lambda _event: None)
    seen = json.loads((tmp_path / "envcheck.out").read_text(encoding="utf-8"))
    for key, value in declared.items():
        assert seen[key] == value, key
    seen.pop("LC_CTYPE", None)  # Python sets it itself under the C locale (PEP 538)
    owner = seen.pop(OWNER_VARIABLE)
    assert owner.startswith(str(scheduler.paths.workload_data("envcheck")) + "#")
    # what the scheduler declared, nothing of supervisord's or the operator's
    assert set(seen) == {*declared, "PATH"}
    conf = scheduler.conf_file.read_text()
    assert "slash" not in conf and "must-not-leak" not in conf
    env_file = scheduler.workloads["envcheck"].env_file
    assert env_file.stat().st_mode & 0o777 == 0o600


def test_a_crash_loop_is_fatal_and_up_names_the_exit_and_the_log(local) -> None:
    add, _, _ = local
    scheduler = add("crashy", "crash")
    with pytest.raises(ServiceFailedError) as failed:
        scheduler.up(lambda _event: None)
    message = str(failed.value)
    assert "workload 'crashy' crashed 4 times within 10s of starting" in message
    assert "exit status 3" in message
    assert "boom: the model file is unreadable" in message
    [status] = scheduler.status()
    assert status.health is Health.FAILED
    assert status.detail.startswith("FATAL: ") and "exit status 3" in status.detail


def test_nothing_a_workload_started_outlives_it(local) -> None:
    add, tmp_path, paths = local
    scheduler = add("spawner", "spawn")
    pids_file = tmp_path / "spawner.out"

    def children() -> list[int]:
        return [int(line) for line in pids_file.read_text().split()]

    def gone(pid: int, timeout_s: float = 15) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie":
                return True
            time.sleep(0.1)
        return False

    def wait_for_children(count: int) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if pids_file.exists() and len(children()) >= count:
                return
            time.sleep(0.1)
        raise AssertionError(f"expected {count} children, have {children()}")

    scheduler.up(lambda _event: None)
    wait_for_children(1)
    # kill -9 of the service: supervisord restarts it, and its orphan is ended
    os.kill(scheduler.client.info("spawner").pid, signal.SIGKILL)
    assert gone(children()[0]), "the child of a killed service survived it"
    wait_for_children(2)
    # restart: the child of the stopped instance is ended
    scheduler.restart("spawner", lambda _event: None)
    assert gone(children()[1]), "the child of a restarted service survived the restart"
    wait_for_children(3)
    # down: nothing of the environment's workloads is left
    scheduler.down()
    assert gone(children()[2]), "the child of a service survived down"
    assert owned_processes(of_workloads(str(paths.data))) == []


def test_after_supervisord_is_killed_status_names_the_orphans_and_up_replaces_them(local) -> None:
    add, _, _ = local
    scheduler = add("orphaned", "listen")
    scheduler.up(lambda _event: None)
    orphan = scheduler.client.info("orphaned").pid
    os.kill(int(scheduler.client.pid_file.read_text()), signal.SIGKILL)
    deadline = time.monotonic() + 15
    while scheduler.client.is_running() and time.monotonic() < deadline:
        time.sleep(0.1)

    [status] = scheduler.status()
    assert status.health is Health.UNHEALTHY and status.pid == orphan
    assert f"pid {orphan}" in status.detail and "opsctl down --env local" in status.detail

    events = []
    scheduler.up(events.append)  # the orphan holds the port: replaced, not refused
    assert any(e.phase == "replaced" and f"pid {orphan}" in e.detail for e in events)
    assert not psutil.pid_exists(orphan) or psutil.Process(orphan).status() == "zombie"
    [status] = scheduler.status()
    assert status.health is Health.HEALTHY and status.pid != orphan
