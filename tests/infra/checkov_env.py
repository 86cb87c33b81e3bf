"""checkov in a virtual environment of its own, never in the project's.

checkov pins old boto3, botocore, networkx and packaging; installed beside
opsctl it would break the project's environment. This module creates (once)
a separate virtual environment with a pinned checkov and returns the path of
its executable. Run it as a script to prepare the environment ahead of the
tests (CI does): ``python tests/infra/checkov_env.py``.

The location is ``$OPSCTL_CHECKOV_VENV`` or ``~/.cache/opsctl/checkov-<version>``;
an existing, working environment is reused.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

CHECKOV_VERSION = "3.3.30"


def venv_dir() -> Path:
    """Where the checkov environment lives (override with ``OPSCTL_CHECKOV_VENV``)."""
    override = os.environ.get("OPSCTL_CHECKOV_VENV")
    if override:
        return Path(override).expanduser()
    return Path.home() / ".cache" / "opsctl" / f"checkov-{CHECKOV_VERSION}"


def checkov_executable(root: Path | None = None) -> Path:
    """The checkov entry point inside the environment at ``root``."""
    return (root or venv_dir()) / "bin" / "checkov"


def ensure_checkov(root: Path | None = None) -> Path:
    """Create the environment and install checkov unless it already works.

    Returns the path of the checkov executable; raises
    :class:`subprocess.CalledProcessError` when pip fails (its output is shown).
    """
    root = root or venv_dir()
    exe = checkov_executable(root)
    if exe.exists() and _works(exe):
        return exe
    venv.EnvBuilder(with_pip=True, clear=True).create(root)
    pip = [
        str(root / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    subprocess.run([*pip, f"checkov=={CHECKOV_VERSION}"], check=True)
    return exe


def _works(exe: Path) -> bool:
    result = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=False)
    return result.returncode == 0 and CHECKOV_VERSION in result.stdout


if __name__ == "__main__":
    sys.stdout.write(f"{ensure_checkov()}\n")
