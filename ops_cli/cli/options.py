"""Options shared by every command."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


EnvOption = Annotated[
    str,
    typer.Option(
        "--env", "-e", envvar="OPSCTL_ENV", help="Environment name (environments/<name>.yaml)."
    ),
]
OutputOption = Annotated[
    OutputFormat,
    typer.Option(
        "--output", "-o", envvar="OPSCTL_OUTPUT", help="table for people, json for scripts."
    ),
]
LockTimeoutOption = Annotated[
    float,
    typer.Option(
        "--lock-timeout",
        min=0,
        help="Seconds to wait for another opsctl command on this environment (0: fail at once).",
    ),
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (CI).")]
