"""The Pulumi provisioner: the program in ``platform/``, one stack per environment.

It drives the Pulumi CLI through the Automation API. The state lives in the
same S3 bucket as Terraform's (``s3://<bucket>/pulumi``) and secrets are
encrypted with the shared KMS key created by ``terraform/bootstrap``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
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

CLI_HINT = "install the Pulumi CLI (https://www.pulumi.com/docs/install/) and put it on PATH"


class PulumiProvisioner(Provisioner):
    """Stack ``environment`` of the program in ``program_dir``.

    ``env_vars`` reach the program (backend URL, environments folder).
    """

    name = "pulumi"

    def __init__(
        self,
        *,
        environment: str,
        program_dir: Path,
        backend_url: str,
        secrets_provider: str,
        env_vars: Mapping[str, str] | None = None,
    ) -> None:
        self.environment = environment
        self.program_dir = program_dir
        self.backend_url = backend_url
        self.secrets_provider = secrets_provider
        self.env_vars = dict(env_vars or {})
        self._stack: Any = None

    @override
    def plan(self, progress: ProgressCallback = no_progress) -> InfraPlan:
        result = self._call(lambda s: s.preview(on_output=progress, diff=False))
        counts = {str(k): v for k, v in (result.change_summary or {}).items()}
        replaces = counts.get("replace", 0)
        return InfraPlan(
            self.environment,
            adds=counts.get("create", 0) + replaces,
            changes=counts.get("update", 0),
            destroys=counts.get("delete", 0) + replaces,
        )

    @override
    def apply(self, plan: InfraPlan, progress: ProgressCallback = no_progress) -> Outputs:
        result = self._call(lambda s: s.up(on_output=progress))
        return Outputs({name: out.value for name, out in result.outputs.items()})

    @override
    def destroy(self, progress: ProgressCallback = no_progress) -> None:
        self._call(lambda s: s.destroy(on_output=progress))

    @override
    def outputs(self) -> Outputs:
        raw = self._call(lambda s: s.outputs())
        return Outputs({name: out.value for name, out in raw.items()})

    @override
    def drift(self, progress: ProgressCallback = no_progress) -> DriftReport:
        result = self._call(lambda s: s.preview_refresh(on_output=progress))
        counts = {str(k): v for k, v in (result.change_summary or {}).items()}
        drifted = tuple(
            ResourceChange(f"{op} x{count}", "", op)
            for op, count in counts.items()
            if op != "same" and count
        )
        return DriftReport(self.environment, drifted)

    def _call(self, operation: Callable[[Any], Any]) -> Any:
        from pulumi.automation.errors import CommandError

        stack = self._select_stack()
        try:
            return operation(stack)
        except CommandError as exc:
            raise OpsError(f"pulumi failed for stack '{self.environment}':\n{exc}") from exc

    def _select_stack(self) -> Any:
        if self._stack is not None:
            return self._stack
        if shutil.which("pulumi") is None:
            raise OpsError("the Pulumi CLI is not on PATH", hint=CLI_HINT)
        from pulumi import automation as auto

        options = auto.LocalWorkspaceOptions(
            work_dir=str(self.program_dir),
            env_vars={"PULUMI_BACKEND_URL": self.backend_url, **self.env_vars},
            secrets_provider=self.secrets_provider,
        )
        try:
            self._stack = auto.create_or_select_stack(
                stack_name=self.environment, work_dir=str(self.program_dir), opts=options
            )
        except auto.errors.CommandError as exc:
            raise OpsError(f"cannot open Pulumi stack '{self.environment}':\n{exc}") from exc
        return self._stack
