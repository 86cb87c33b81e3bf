"""Options shared by every command."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer


class OutputFormat(StrEnum):
    """``table``: the essential columns, fitted to the terminal; ``wide``: every
    column (as ``kubectl get -o wide``); ``json``: one complete document for scripts."""

    table = "table"
    wide = "wide"
    json = "json"

    @property
    def for_people(self) -> bool:
        """Tables, progress and questions on the terminal (not JSON)."""
        return self is not OutputFormat.json

    @property
    def is_wide(self) -> bool:
        """Every column (``-o wide``), not only those that fit the terminal."""
        return self is OutputFormat.wide


EnvOption = Annotated[
    str,
    typer.Option(
        "--env", "-e", envvar="OPSCTL_ENV", help="Environment name (environments/<name>.yaml)."
    ),
]
OutputOption = Annotated[
    OutputFormat,
    typer.Option(
        "--output",
        "-o",
        envvar="OPSCTL_OUTPUT",
        help="table for people (fits the terminal), wide for every column, json for scripts.",
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
