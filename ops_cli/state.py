"""Where an environment keeps its files, and how they are written safely.

The state root (``state_dir``, ``OPSCTL_STATE_DIR``, default the user's state
folder, e.g. ``~/.local/state/opsctl``) holds one folder per environment.
Layout of an environment's folder ``<state root>/<env>`` (mode 0700)::

    .opsctl-state            the marker: opsctl created this folder, for <env>
    state.json               what opsctl last did (written atomically)
    secrets.json             generated local secrets (0600)
    registry.json            the static discovery registry
    logs/<workload>.log
    data/<workload>/         each workload's own data
    run/                     process manager config, socket, pid file, service environments

The lock file sits beside the folder (``<state root>/.<env>.lock``) so that
purging the folder never removes a lock someone holds.

A folder is opsctl's only when opsctl created it and wrote the marker naming
the environment: opsctl never writes into, changes the mode of, or deletes a
folder without it (see :meth:`StatePaths.create` and :func:`check_purgeable`).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from ops_cli.config.models import EnvironmentConfig
from ops_cli.errors import RefusedError

MARKER_NAME = ".opsctl-state"


@dataclass(frozen=True)
class StatePaths:
    """The files of one environment's state directory."""

    root: Path
    environment: str = ""

    @property
    def environment_name(self) -> str:
        """The environment the folder belongs to (by default the folder's name)."""
        return self.environment or self.root.name

    @property
    def marker_file(self) -> Path:
        """The file that marks the folder as this environment's own (``down --purge`` deletes no
        other)."""
        return self.root / MARKER_NAME

    @property
    def logs(self) -> Path:
        """The workloads' log folder."""
        return self.root / "logs"

    @property
    def data(self) -> Path:
        """The workloads' data folder (one subfolder each)."""
        return self.root / "data"

    @property
    def run(self) -> Path:
        """Runtime files: supervisord's configuration, socket and pid, each process's environment."""
        return self.root / "run"

    @property
    def state_file(self) -> Path:
        """What the last ``up``/``down`` recorded (JSON)."""
        return self.root / "state.json"

    @property
    def secrets_file(self) -> Path:
        """The environment's local secrets (JSON, mode 0600)."""
        return self.root / "secrets.json"

    @property
    def registry_file(self) -> Path:
        """The service registry ``up`` writes for static discovery (JSON: service -> endpoints)."""
        return self.root / "registry.json"

    @property
    def infra_outputs_file(self) -> Path:
        """Outputs of the last infrastructure apply (cloud environments)."""
        return self.root / "infra" / "outputs.json"

    @property
    def lock_file(self) -> Path:
        """The environment's lock, beside its folder so that a purge can delete the folder while
        holding it."""
        return self.root.parent / f".{self.root.name}.lock"

    def workload_data(self, name: str) -> Path:
        """The data folder of workload ``name``."""
        return self.data / name

    def workload_log(self, name: str) -> Path:
        """The log file of workload ``name``."""
        return self.logs / f"{name}.log"

    def create(self) -> None:
        """Create the environment's folder (0700) with its marker, and its subfolders.

        The state root above it is created (0700) when missing; an existing one
        is left exactly as it is (mode included). An existing environment folder
        is used only when its marker names this environment; a folder an
        earlier opsctl made (no marker, but a ``state.json`` naming this
        environment) is marked and kept. Anything else raises
        :class:`RefusedError` (exit 2) naming the folder and why.
        """
        self.root.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            self.root.mkdir(mode=0o700)
        except FileExistsError:
            self._adopt_or_refuse()
        else:
            self._write_marker()
        for folder in (self.logs, self.data, self.run):
            folder.mkdir(exist_ok=True, mode=0o700)

    def owner(self) -> str | None:
        """The environment the marker names, or None when there is no readable marker."""
        try:
            marker = json.loads(self.marker_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        owner = marker.get("environment") if isinstance(marker, dict) else None
        return owner if isinstance(owner, str) else None

    def check_owned(self) -> None:
        """Raise :class:`RefusedError` unless the folder carries this environment's marker."""
        if self.root.is_symlink() or not self.root.is_dir():
            raise RefusedError(
                f"{self.root} is not a folder opsctl created (a link or not a folder); "
                "opsctl leaves it alone"
            )
        owner = self.owner()
        if owner is None:
            raise RefusedError(
                f"{self.root} was not created by opsctl (no {MARKER_NAME} marker in it); "
                "opsctl neither uses nor deletes a folder it did not create",
                hint="point OPSCTL_STATE_DIR (or state_dir) at another folder: each "
                "environment gets its own folder beneath it",
            )
        if owner != self.environment_name:
            raise RefusedError(
                f"{self.root} belongs to environment '{owner}', not "
                f"'{self.environment_name}' (its {MARKER_NAME} marker says so)"
            )

    def _adopt_or_refuse(self) -> None:
        if self.owner() is None and not self.root.is_symlink() and self._made_by_earlier_opsctl():
            self._write_marker()
        self.check_owned()

    def _made_by_earlier_opsctl(self) -> bool:
        try:
            recorded = read_json(self.state_file)
        except (OSError, ValueError):
            return False
        return isinstance(recorded, dict) and recorded.get("environment") == self.environment_name

    def _write_marker(self) -> None:
        write_json_atomic(
            self.marker_file,
            {"environment": self.environment_name, "created_by": "opsctl"},
            mode=0o600,
        )


def default_state_root() -> Path:
    """The user's state directory for opsctl (e.g. ``~/.local/state/opsctl``)."""
    return Path(platformdirs.user_state_dir("opsctl", appauthor=False))


def state_paths(config: EnvironmentConfig) -> StatePaths:
    """The folder of environment ``config``: ``<state root>/<name>``, the state root
    being its ``state_dir`` (``OPSCTL_STATE_DIR``) or the user default."""
    root = Path(config.state_dir or default_state_root()).expanduser()
    return StatePaths((root / config.name).resolve(), config.name)


def check_purgeable(
    paths: StatePaths, *, cwd: Path | None = None, home: Path | None = None
) -> None:
    """Raise :class:`RefusedError` (exit 2) naming the folder and why, unless deleting
    ``paths.root`` can only delete what opsctl created for this environment.

    Refused: an empty or relative path, ``/``, the home folder, the current
    folder or any folder holding one of them, a link, and any folder without
    this environment's marker. ``cwd`` and ``home`` default to this process's.
    """
    raw = str(paths.root)
    if raw in ("", ".") or not paths.root.is_absolute():
        raise RefusedError(f"refusing to delete '{raw}': an empty or relative path")
    target = Path(os.path.normpath(raw))
    cwd = (cwd or Path.cwd()).resolve()
    home = (home or Path.home()).resolve()
    protected = {"the root folder": Path("/"), "your home folder": home, "the current folder": cwd}
    for label, folder in protected.items():
        if target == folder or target.resolve() == folder:
            raise RefusedError(f"refusing to delete {target}: it is {label}")
        if folder.is_relative_to(target.resolve()):
            raise RefusedError(f"refusing to delete {target}: it holds {label} ({folder})")
    paths.check_owned()


def write_json_atomic(path: Path, data: Any, *, mode: int = 0o600) -> None:
    """Write ``data`` as JSON so that readers see the old file or the new one, never half.

    The temporary file is fsynced, given ``mode``, then renamed over ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True, default=str)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any | None:
    """The JSON content of ``path``, or None when the file does not exist."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
