"""Integration tests start the real services on a free block of loopback ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port_base


@dataclass
class LocalPlatform:
    """Runs ``opsctl`` against a private local environment."""

    state_dir: Path
    port_base: int
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ops_cli", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            cwd=REPO,
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "ops_cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            cwd=REPO,
        )

    def json(self, *args: str) -> dict:
        result = self.run(*args, "--output", "json")
        try:
            return json.loads(result.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"opsctl {args} printed no JSON: {result.stderr}") from None

    def secret(self, name: str) -> str:
        return json.loads((self.state_dir / "secrets.json").read_text())[name]


@pytest.fixture
def local_platform(tmp_path: Path):
    """A local environment on its own ports and state dir; always taken down after."""
    base = free_port_base(start=int(os.environ.get("OPSCTL_TEST_PORT_START", "20000")))
    env = {
        **os.environ,
        "OPSCTL_ENVIRONMENTS_DIR": str(REPO / "environments"),
        "OPSCTL_STATE_DIR": str(tmp_path / "state"),
        "OPSCTL_NETWORK__PORT_BASE": str(base),
    }
    platform = LocalPlatform(tmp_path / "state", base, env)
    yield platform
    platform.run("down", "--purge", "--yes", timeout=120)
