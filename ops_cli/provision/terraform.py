"""The Terraform provisioner: one root module, a tfvars file, a remote state.

Flow: ``init`` (once per instance, with the backend given as
``-backend-config``), ``plan -out`` into the work directory, ``show -json``
of that plan to count adds, changes and destroys, ``apply`` of exactly that
plan file, ``output -json``. Drift is a refresh-only plan.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from typing_extensions import override

from ops_cli.errors import OpsError
from ops_cli.provision.base import (
    DriftReport,
    InfraPlan,
    Outputs,
    ProgressCallback,
    Provisioner,
    ResourceChange,
    no_progress,
)
from ops_cli.provision.runner import RunResult, TerraformRunner, find_runner
from ops_cli.provision.tfvars import write_tfvars

PROVIDER_FAILURE_MARKERS = (
    "Failed to query available provider packages",
    "Failed to install provider",
    "could not connect to registry.terraform.io",
    "Inconsistent dependency lock file",
)

PROVIDER_HINT = (
    "Terraform downloads the hashicorp/aws provider from registry.terraform.io at init; "
    "allow that host, or point TF_CLI_CONFIG_FILE at a CLI config with a "
    "provider_installation filesystem_mirror or network_mirror that holds it"
)


class TerraformProvisioner(Provisioner):
    """Terraform on the root module ``root`` for environment ``environment``.

    ``workdir`` (in the environment's state directory) receives the tfvars
    file and the plan file; the root module in the repository stays clean
    apart from Terraform's own ``.terraform`` folder.
    """

    name = "terraform"

    def __init__(
        self,
        *,
        environment: str,
        root: Path,
        workdir: Path,
        variables: Mapping[str, Any],
        backend_config: Mapping[str, str],
        runner: TerraformRunner | None = None,
    ) -> None:
        self.environment = environment
        self.root = root
        self.workdir = workdir
        self.variables = dict(variables)
        self.backend_config = dict(backend_config)
        self.runner = runner or find_runner()
        self._initialized = False

    @property
    def tfvars_path(self) -> Path:
        """The variables file written from the environment's config (JSON)."""
        return self.workdir / "terraform.tfvars.json"

    @property
    def plan_path(self) -> Path:
        """Where ``plan`` saves the plan that ``apply`` carries out."""
        return self.workdir / "plan.tfplan"

    @override
    def plan(self, progress: ProgressCallback = no_progress) -> InfraPlan:
        self._init(progress)
        self._check("plan", [*self._plan_args(), f"-out={self.plan_path}"], progress)
        changes = self._show_plan()["resource_changes"]
        return _summarize(self.environment, changes)

    @override
    def apply(self, plan: InfraPlan, progress: ProgressCallback = no_progress) -> Outputs:
        if not self.plan_path.exists():
            raise OpsError(f"no saved plan for '{self.environment}'; run plan first")
        self._init(progress)
        self._check("apply", ["apply", "-input=false", "-no-color", str(self.plan_path)], progress)
        self.plan_path.unlink(missing_ok=True)
        return self.outputs()

    @override
    def destroy(self, progress: ProgressCallback = no_progress) -> None:
        self._init(progress)
        self._check("destroy", ["destroy", "-auto-approve", *self._var_args()], progress)

    @override
    def outputs(self) -> Outputs:
        self._init(no_progress)
        result = self._check("output", ["output", "-json"], no_progress)
        raw = json.loads(result.stdout or "{}")
        return Outputs({name: item.get("value") for name, item in raw.items()})

    @override
    def drift(self, progress: ProgressCallback = no_progress) -> DriftReport:
        self._init(progress)
        drift_plan = self.workdir / "drift.tfplan"
        self._check("plan", [*self._plan_args(), "-refresh-only", f"-out={drift_plan}"], progress)
        shown = self._show_plan(drift_plan)
        drift_plan.unlink(missing_ok=True)
        drifted = tuple(_change(item) for item in shown.get("resource_drift") or [])
        return DriftReport(self.environment, drifted)

    def _init(self, progress: ProgressCallback) -> None:
        if self._initialized:
            return
        self.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_tfvars(self.variables, self.tfvars_path)
        args = ["init", "-input=false", "-no-color", "-reconfigure"]
        args += [f"-backend-config={key}={value}" for key, value in self.backend_config.items()]
        result = self.runner.run(args, self.root, progress)
        if result.returncode != 0:
            raise _init_error(result, self.root)
        self._initialized = True

    def _plan_args(self) -> list[str]:
        return ["plan", "-input=false", "-no-color", *self._var_args()]

    def _var_args(self) -> list[str]:
        return [f"-var-file={self.tfvars_path}"]

    def _show_plan(self, path: Path | None = None) -> dict[str, Any]:
        result = self._check("show", ["show", "-json", str(path or self.plan_path)], no_progress)
        shown = json.loads(result.stdout)
        shown.setdefault("resource_changes", [])
        return shown

    def _check(self, what: str, args: Sequence[str], progress: ProgressCallback) -> RunResult:
        result = self.runner.run(args, self.root, progress)
        if result.returncode != 0:
            raise OpsError(
                f"terraform {what} failed for '{self.environment}' "
                f"(exit {result.returncode}, {self.runner.description}):\n{result.error_text()}"
            )
        return result


def _init_error(result: RunResult, root: Path) -> OpsError:
    text = f"{result.stdout}\n{result.stderr}"
    if any(marker in text for marker in PROVIDER_FAILURE_MARKERS):
        return OpsError(
            f"Terraform could not install the AWS provider for {root}:\n{result.error_text()}",
            hint=PROVIDER_HINT,
        )
    return OpsError(f"terraform init failed in {root}:\n{result.error_text()}")


def _change(item: Mapping[str, Any]) -> ResourceChange:
    actions = list(item.get("change", {}).get("actions") or [])
    action = (
        "replace" if {"create", "delete"} <= set(actions) else (actions[0] if actions else "no-op")
    )
    return ResourceChange(str(item.get("address", "")), str(item.get("type", "")), action)


def _summarize(environment: str, items: Sequence[Mapping[str, Any]]) -> InfraPlan:
    """Count as Terraform does: a replacement is one add and one destroy."""
    changes = [c for c in (_change(i) for i in items) if c.action not in {"no-op", "read"}]
    adds = sum(c.action in {"create", "replace"} for c in changes)
    updates = sum(c.action == "update" for c in changes)
    destroys = sum(c.action in {"delete", "replace"} for c in changes)
    return InfraPlan(environment, adds, updates, destroys, tuple(changes))
