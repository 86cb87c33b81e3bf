"""What the checkout contributes to a release: its git commit and the versions
(content hashes) of the infrastructure modules."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from ops_cli.errors import OpsError
from ops_cli.release.hashing import tree_sha256


def git_commit(project: Path, environ: Mapping[str, str]) -> str:
    """The commit being released: ``git rev-parse HEAD`` in ``project`` (the checkout
    that is actually there), else ``GITHUB_SHA``; raises OpsError when neither says."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=False
        )
        reason = done.stderr.strip()
    except OSError as exc:
        done, reason = None, str(exc)
    if done is not None and done.returncode == 0:
        return done.stdout.strip()
    if environ.get("GITHUB_SHA"):
        return environ["GITHUB_SHA"]
    raise OpsError(f"cannot tell the git commit of {project}: {reason}")


def infrastructure_versions(project: Path) -> dict[str, str]:
    """``{"terraform/modules/network": <sha256>, ..., "platform": <sha256>}``: one
    content hash per Terraform module, per-environment root and the Pulumi program.
    Folders that do not exist are left out."""
    folders: list[Path] = []
    terraform = project / "terraform"
    for group in ("modules", "envs"):
        base = terraform / group
        if base.is_dir():
            folders.extend(sorted(p for p in base.iterdir() if p.is_dir()))
    folders.extend(p for p in (terraform / "bootstrap", project / "platform") if p.is_dir())
    return {p.relative_to(project).as_posix(): tree_sha256(p) for p in folders}
