"""Terraform against a local provider mirror: ``init``, ``validate`` and a mocked plan.

Nothing here reaches the network. The tests run only where a ``terraform``
binary and a filesystem mirror of the AWS provider exist; they write their own
CLI configuration (``TF_CLI_CONFIG_FILE``) with a ``filesystem_mirror`` block
and no direct fallback, so ``terraform init`` can only install from the mirror,
and turn off Terraform's version check (``CHECKPOINT_DISABLE``). Elsewhere they
skip without trying.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra_support import TERRAFORM

AWS_PROVIDER = Path("registry.terraform.io") / "hashicorp" / "aws"
MIRROR_CANDIDATES = (
    "/opt/tf-plugins",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
)
"""Where Terraform's documented implicit mirrors (and this project's CI image) keep providers;
``OPSCTL_TF_PROVIDER_MIRROR`` names another."""

ROOTS = ("envs/staging", "envs/prod", "bootstrap")
MOCKED_PLAN_TEST = Path(__file__).parent / "terraform" / "mocked_plan.tftest.hcl"


def provider_mirror() -> Path | None:
    """A filesystem mirror holding some version of hashicorp/aws, or None."""
    override = os.environ.get("OPSCTL_TF_PROVIDER_MIRROR")
    for candidate in ([override] if override else []) + list(MIRROR_CANDIDATES):
        folder = Path(candidate).expanduser()
        if any((folder / AWS_PROVIDER).glob("*/*/terraform-provider-aws*")):
            return folder
    return None


def mirrored_versions(mirror: Path) -> list[str]:
    """The AWS provider versions the mirror holds."""
    return sorted(p.name for p in (mirror / AWS_PROVIDER).iterdir() if p.is_dir())


def why_not_runnable() -> str | None:
    """Why the Terraform checks cannot run here, or None when they can."""
    if shutil.which("terraform") is None:
        return "no terraform binary on PATH"
    if provider_mirror() is None:
        return "no filesystem mirror of the AWS provider (set OPSCTL_TF_PROVIDER_MIRROR)"
    return None


@dataclass
class TerraformWorkspace:
    """A copy of ``terraform/`` whose roots install the AWS provider from the mirror only."""

    folder: Path
    env: dict[str, str]

    @classmethod
    def create(cls, folder: Path) -> TerraformWorkspace:
        mirror = provider_mirror()
        assert mirror is not None
        shutil.copytree(
            TERRAFORM, folder / "terraform", ignore=shutil.ignore_patterns(".terraform*")
        )
        config = folder / "terraform.tfrc"
        config.write_text(
            "provider_installation {\n"
            f'  filesystem_mirror {{\n    path    = "{mirror}"\n'
            '    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n',
            encoding="utf-8",
        )
        env = {
            **os.environ,
            "TF_CLI_CONFIG_FILE": str(config),
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
        }
        env.pop("TF_PLUGIN_CACHE_DIR", None)
        return cls(folder / "terraform", env)

    def run(self, root: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["terraform", f"-chdir={self.folder / root}", *args, "-no-color"],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
            check=False,
        )

    def init(self, root: str) -> None:
        """``init -backend=false``; AssertionError with Terraform's words when it fails."""
        result = self.run(root, "init", "-backend=false", "-input=false")
        assert result.returncode == 0, f"terraform init failed in {root}:\n{result.stderr}"

    def mocked_plan(self, root: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The JSON plan of ``root`` with ``variables`` and the AWS provider mocked.

        Runs ``terraform test`` with :data:`MOCKED_PLAN_TEST`; AssertionError with
        Terraform's diagnostics when the run fails (a provider check refused a value).
        """
        tests = self.folder / root / "tests"
        tests.mkdir(exist_ok=True)
        shutil.copy(MOCKED_PLAN_TEST, tests / MOCKED_PLAN_TEST.name)
        var_file = self.folder / root / "opsctl.tfvars.json"
        var_file.write_text(json.dumps(variables), encoding="utf-8")
        result = self.run(root, "test", f"-var-file={var_file}", "-json", "-verbose", timeout=600)
        messages = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        plans = [m["test_plan"] for m in messages if m.get("type") == "test_plan"]
        problems = [
            m["@message"] + json.dumps(m.get("diagnostic", {}).get("detail", ""))
            for m in messages
            if m.get("@level") == "error" or m.get("type") == "diagnostic"
        ]
        assert result.returncode == 0 and plans, (
            f"terraform test failed in {root}:\n" + "\n".join(problems) + result.stderr[-3000:]
        )
        return plans[0]
