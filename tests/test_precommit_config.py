"""The pre-commit hooks run the same lint and type checks as ``scripts/test``, and
pre-commit accepts the configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO


def _lint_commands() -> list[str]:
    """The ``.venv/bin/ruff ...`` and ``.venv/bin/mypy ...`` lines of scripts/test,
    ruff's without the path argument (pre-commit passes the changed files)."""
    lines = (REPO / "scripts" / "test").read_text().splitlines()
    checks = ("/ruff ", "/mypy ")
    return [
        line.removesuffix(" .").strip()
        for line in lines
        if line.startswith(".venv/bin/") and any(c in line for c in checks)
    ]


def test_the_hooks_are_the_lint_of_scripts_test() -> None:
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    entries = [hook["entry"] for repo in config["repos"] for hook in repo["hooks"]]
    assert len(_lint_commands()) >= 3  # ruff check, ruff format --check, mypy at least
    assert entries == _lint_commands()
    assert {repo["repo"] for repo in config["repos"]} == {"local"}  # nothing to download


def test_pre_commit_accepts_the_configuration() -> None:
    pre_commit = Path(sys.executable).parent / "pre-commit"
    done = subprocess.run(
        [str(pre_commit), "validate-config", ".pre-commit-config.yaml"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
