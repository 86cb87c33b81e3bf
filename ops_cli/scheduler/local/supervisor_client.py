"""The only module of the local scheduler that talks to supervisord.

supervisord is started as a daemon from the rendered configuration and then
driven through its XML-RPC interface over a private unix socket.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import SupervisorTransport

from ops_cli.errors import OpsError

# Linux limits a unix socket path to 108 bytes.
_MAX_SOCKET_PATH = 100

RUNNING_STATES = {"STARTING", "RUNNING", "BACKOFF"}
# supervisord's spawnerr for a program that ran, then exited before startsecs
_EXITED_TOO_QUICKLY = "Exited too quickly"


@dataclass(frozen=True)
class ProcessInfo:
    """supervisord's ``getProcessInfo`` of one program: ``state`` (``RUNNING``, ``FATAL`` ...),
    ``pid`` (0 when not running), ``start`` (epoch seconds), ``exitstatus`` and ``spawnerr`` of
    its last exit."""

    name: str
    state: str
    pid: int
    start: float
    description: str
    exitstatus: int = 0
    spawnerr: str = ""

    @property
    def outcome(self) -> str:
        """How the last run ended, e.g. "exit status 3" or "could not be started: ..."."""
        if self.spawnerr and not self.spawnerr.startswith(_EXITED_TOO_QUICKLY):
            return f"could not be started: {self.spawnerr}"
        return f"exit status {self.exitstatus}"


def socket_path_for(run_dir: Path) -> Path:
    """``run/supervisor.sock``, or a short path in the temp dir when that is too long."""
    preferred = run_dir / "supervisor.sock"
    if len(str(preferred)) <= _MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(str(run_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"opsctl-{digest}.sock"


class SupervisorClient:
    """XML-RPC calls to one supervisord; every method raises :class:`OpsError`
    with the supervisord message when a call fails."""

    def __init__(self, conf_file: Path, socket_path: Path, pid_file: Path) -> None:
        self.conf_file = conf_file
        self.socket_path = socket_path
        self.pid_file = pid_file

    def _proxy(self) -> Any:
        transport = SupervisorTransport(None, None, serverurl=f"unix://{self.socket_path}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def is_running(self) -> bool:
        """True when supervisord answers on the socket."""
        if not self.socket_path.exists():
            return False
        try:
            return self._proxy().supervisor.getState()["statename"] == "RUNNING"
        except (OSError, xmlrpc.client.Error):
            return False

    def start_daemon(self, env: dict[str, str], timeout_s: float = 20.0) -> None:
        """Start supervisord (it daemonizes) and wait until it answers."""
        result = subprocess.run(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.conf_file)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise OpsError(f"supervisord did not start: {(result.stderr or result.stdout).strip()}")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.is_running():
                return
            time.sleep(0.1)
        raise OpsError(f"supervisord did not answer on {self.socket_path} within {timeout_s:.0f}s")

    def reload(self) -> tuple[list[str], list[str], list[str]]:
        """Re-read the configuration; returns (added, changed, removed) program names."""
        added, changed, removed = self._call("reloadConfig")[0]
        return added, changed, removed

    def add_group(self, name: str) -> None:
        """Add the program group ``name`` from the configuration supervisord last read."""
        self._call("addProcessGroup", name)

    def remove_group(self, name: str) -> None:
        """Remove the (stopped) program group ``name``."""
        self._call("removeProcessGroup", name)

    def start(self, name: str) -> None:
        """Ask supervisord to start ``name`` without waiting; already started is fine."""
        try:
            self._call("startProcess", name, False)
        except OpsError as exc:
            if "ALREADY_STARTED" not in str(exc):
                raise

    def stop(self, name: str) -> None:
        """Stop ``name`` and its process group; not running is fine."""
        try:
            self._call("stopProcess", name, True)
        except OpsError as exc:
            if "NOT_RUNNING" not in str(exc):
                raise

    def info(self, name: str) -> ProcessInfo:
        """The state of program ``name``; raises OpsError when supervisord does not know it."""
        return _to_info(self._call("getProcessInfo", name))

    def all_info(self) -> dict[str, ProcessInfo]:
        """The state of every program, by name."""
        return {i["name"]: _to_info(i) for i in self._call("getAllProcessInfo")}

    def shutdown(self, timeout_s: float = 60.0) -> None:
        """Stop every program, then supervisord; returns once its pid is gone."""
        pid = self._daemon_pid()
        try:
            self._call("stopAllProcesses", True)
            self._call("shutdown")
        except OpsError:
            pass  # it may already be on its way out
        deadline = time.monotonic() + timeout_s
        while pid and time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        if pid:
            raise OpsError(f"supervisord (pid {pid}) did not exit within {timeout_s:.0f}s")

    def _daemon_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._proxy().supervisor, method)(*args)
        except xmlrpc.client.Fault as exc:
            raise OpsError(f"supervisord {method}{args}: {exc.faultString}") from None
        except OSError as exc:
            raise OpsError(f"supervisord is not reachable at {self.socket_path}: {exc}") from None


def _to_info(raw: dict[str, Any]) -> ProcessInfo:
    return ProcessInfo(
        name=raw["name"],
        state=raw["statename"],
        pid=raw["pid"],
        start=raw["start"],
        description=raw["description"],
        exitstatus=int(raw.get("exitstatus", 0)),
        spawnerr=str(raw.get("spawnerr", "")),
    )
