"""The ``opsctl`` entry point: builds the command tree and maps errors to exit codes."""

from __future__ import annotations

import json
import sys

import typer

from ops_cli import __version__
from ops_cli.cli.commands import cluster as cluster_commands
from ops_cli.cli.commands import config as config_commands
from ops_cli.cli.commands import infra as infra_commands
from ops_cli.cli.commands import monitor as monitor_commands
from ops_cli.cli.commands import pipeline as pipeline_commands
from ops_cli.cli.commands import platform as platform_commands
from ops_cli.cli.commands import release as release_commands
from ops_cli.errors import EXIT_FAILURE, EXIT_USAGE, OpsError, missing_extra

app = typer.Typer(
    name="opsctl",
    help="Stand up and run the CRM win-probability MLOps platform, locally or on Nomad/AWS.\n\n"
    "Exit codes: 0 success, 1 failure, 2 usage or configuration error.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (
    platform_commands,
    config_commands,
    infra_commands,
    cluster_commands,
    pipeline_commands,
    monitor_commands,
    release_commands,
):
    module.register(app)


@app.command()
def version() -> None:
    """Print the version of opsctl."""
    typer.echo(__version__)


def _wants_json(argv: list[str]) -> bool:
    pairs = zip(argv, [*argv[1:], ""], strict=False)
    return any(
        a in {"--output=json", "-ojson"} or (a in {"--output", "-o"} and b == "json")
        for a, b in pairs
    )


def _report_error(message: str, hint: str | None, code: int, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps({"error": message, "exit_code": code}) + "\n")
    sys.stderr.write(f"Error: {message}\n")
    if hint:
        sys.stderr.write(f"Hint: {hint}\n")


def main(argv: list[str] | None = None) -> None:
    """Run opsctl and exit with its documented code; never shows a traceback for an
    anticipated error."""
    argv = sys.argv[1:] if argv is None else argv
    as_json = _wants_json(argv)
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="opsctl", standalone_mode=False)
    except typer.Abort:
        sys.stderr.write("Aborted.\n")
        sys.exit(EXIT_FAILURE)
    except typer.TyperException as exc:  # bad flag, missing argument, wrong value
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        sys.exit(getattr(exc, "exit_code", EXIT_USAGE))
    except OpsError as exc:
        _report_error(str(exc), exc.hint, exc.exit_code, as_json)
        sys.exit(exc.exit_code)
    except ModuleNotFoundError as exc:
        usage = missing_extra(exc)
        if usage is None:
            raise
        _report_error(str(usage), usage.hint, usage.exit_code, as_json)
        sys.exit(usage.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()

__all__ = ["EXIT_USAGE", "app", "main"]
