"""``opsctl up | status | restart | logs | down``: the platform's lifecycle."""

from __future__ import annotations

from typing import Annotated

import typer

from ops_cli import operations
from ops_cli.cli import render
from ops_cli.cli.options import EnvOption, LockTimeoutOption, OutputFormat, OutputOption, YesOption
from ops_cli.environment import open_environment
from ops_cli.errors import EXIT_FAILURE
from ops_cli.scheduler.base import Health


def up(
    env: EnvOption = "local",
    output: OutputOption = OutputFormat.table,
    lock_timeout: LockTimeoutOption = 0,
) -> None:
    """Bring the environment up: start every service, wait until all are healthy."""
    environment = open_environment(env)
    with render.progress(output is OutputFormat.table) as view:
        report = operations.up(environment, view, lock_timeout_s=lock_timeout)
    if output is OutputFormat.json:
        render.print_json(
            {
                "environment": report.environment,
                "changed": report.changed,
                "started": report.result.started,
                "unchanged": report.result.unchanged,
                "secrets_generated": report.secrets_generated,
                "buckets_created": report.buckets_created,
                "elapsed_s": round(report.result.elapsed_s, 2),
                "services": render.status_rows(report.statuses),
            }
        )
        return
    if report.changed:
        render.stdout.print(
            f"[green]Environment '{env}' is up[/] ({len(report.result.started)} started, "
            f"{len(report.result.unchanged)} already running) in {report.result.elapsed_s:.1f}s"
        )
    else:
        render.stdout.print(
            f"Environment '{env}': all {len(report.result.unchanged)} services already up "
            "and healthy; nothing changed."
        )
    render.stdout.print(render.endpoint_table(report.statuses))


def status(env: EnvOption = "local", output: OutputOption = OutputFormat.table) -> None:
    """Show every service with its health and endpoints. Exits 1 when any is not healthy."""
    environment = open_environment(env)
    statuses = operations.status(environment)
    if output is OutputFormat.json:
        render.print_json({"environment": env, "services": render.status_rows(statuses)})
    else:
        render.stdout.print(render.status_table(statuses, f"Environment '{env}'"))
    if any(s.health is not Health.HEALTHY for s in statuses):
        raise typer.Exit(EXIT_FAILURE)


def restart(
    workload: Annotated[str, typer.Argument(help="Workload name, e.g. mlflow.")],
    env: EnvOption = "local",
    output: OutputOption = OutputFormat.table,
    lock_timeout: LockTimeoutOption = 0,
) -> None:
    """Restart one workload and wait until it is healthy again."""
    environment = open_environment(env)
    with render.progress(output is OutputFormat.table) as view:
        operations.restart(environment, workload, view, lock_timeout_s=lock_timeout)
    if output is OutputFormat.json:
        render.print_json({"environment": env, "restarted": workload})
    else:
        render.stdout.print(f"[green]{workload} restarted and healthy[/]")


def logs(
    workload: Annotated[str, typer.Argument(help="Workload name, e.g. mlflow.")],
    env: EnvOption = "local",
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
    lines: Annotated[int, typer.Option("--lines", "-n", min=0, help="Lines to show first.")] = 100,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Print a workload's log; with -f, follow it until interrupted."""
    environment = open_environment(env)
    stream = operations.logs(environment, workload, lines=lines, follow=follow)
    if output is OutputFormat.json and not follow:
        render.print_json({"environment": env, "workload": workload, "lines": list(stream)})
        return
    try:
        for line in stream:
            typer.echo(line)
    except KeyboardInterrupt:
        pass


def down(
    env: EnvOption = "local",
    purge: Annotated[
        bool, typer.Option("--purge", help="Also delete all data, logs and local secrets.")
    ] = False,
    yes: YesOption = False,
    output: OutputOption = OutputFormat.table,
    lock_timeout: LockTimeoutOption = 0,
) -> None:
    """Stop every service. Data is kept unless --purge."""
    environment = open_environment(env)
    if purge and not yes:
        typer.confirm(
            f"Delete ALL data of environment '{env}' in {environment.paths.root}?", abort=True
        )
    report = operations.down(environment, purge=purge, lock_timeout_s=lock_timeout)
    if output is OutputFormat.json:
        render.print_json({"environment": env, "stopped": report.stopped, "purged": report.purged})
        return
    stopped = ", ".join(report.stopped) if report.stopped else "nothing was running"
    render.stdout.print(f"Environment '{env}' is down ({stopped}).")
    if report.purged:
        render.stdout.print(f"Deleted {environment.paths.root}.")


def register(app: typer.Typer) -> None:
    for command in (up, status, restart, logs, down):
        app.command()(command)
