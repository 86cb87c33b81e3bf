"""Usage errors of the release commands exit 2 and name the flag, before any I/O."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO


def opsctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops_cli", *args],
        capture_output=True, text=True, cwd=REPO, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("release", "create", "--env", "staging", "--image-digest", "crm:latest"),
            "--image-digest",
        ),
        (("history", "--env", "prod", "--at", "yesterday"), "--at 'yesterday'"),
        (("promote", "--from", "prod", "--to", "prod", "--yes"), "--from and --to are both"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    done = opsctl(*args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


def test_commands_are_registered() -> None:
    done = opsctl("--help")
    assert all(word in done.stdout for word in ("release", "promote", "history"))
    sub = opsctl("release", "--help")
    assert all(word in sub.stdout for word in ("create", "show", "list", "verify"))
