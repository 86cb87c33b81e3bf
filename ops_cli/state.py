"""Where an environment keeps its files, and how they are written safely.

Layout of a state directory (mode 0700)::

    <root>/state.json        what opsctl last did (written atomically)
    <root>/secrets.json      generated local secrets (0600)
    <root>/registry.json     the static discovery registry
    <root>/logs/<workload>.log
    <root>/data/<workload>/  each workload's own data
    <root>/run/              process manager config, socket and pid file

The lock file sits beside the root (``.<env>.lock``) so that purging the state
directory never removes a lock someone holds.
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


@dataclass(frozen=True)
class StatePaths:
    """The files of one environment's state directory."""

    root: Path

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def secrets_file(self) -> Path:
        return self.root / "secrets.json"

    @property
    def registry_file(self) -> Path:
        return self.root / "registry.json"

    @property
    def infra_outputs_file(self) -> Path:
        """Outputs of the last infrastructure apply (cloud environments)."""
        return self.root / "infra" / "outputs.json"

    @property
    def lock_file(self) -> Path:
        return self.root.parent / f".{self.root.name}.lock"

    def workload_data(self, name: str) -> Path:
        return self.data / name

    def workload_log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def create(self) -> None:
        """Create the directory tree, private to the user; no-op when it exists."""
        for folder in (self.root, self.logs, self.data, self.run):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.root.chmod(0o700)


def default_state_root() -> Path:
    """The user's state directory for opsctl (e.g. ``~/.local/state/opsctl``)."""
    return Path(platformdirs.user_state_dir("opsctl", appauthor=False))


def state_paths(config: EnvironmentConfig) -> StatePaths:
    """The state directory of ``config``: its ``state_dir`` or the user default."""
    root = config.state_dir or default_state_root() / config.name
    return StatePaths(Path(root).expanduser().resolve())


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
