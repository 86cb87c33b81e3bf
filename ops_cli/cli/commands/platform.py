"""``opsctl up | status | restart | logs | down``: the platform's lifecycle."""

from __future__ import annotations

from typing import Annotated

import typer

from ops_cli import operations, pipeline
from ops_cli.cli import render
from ops_cli.cli.commands.cluster import plan_table
from ops_cli.cli.commands.infra import infra_progress, show_infra_plan
from ops_cli.cli.options import EnvOption, LockTimeoutOption, OutputFormat, OutputOption, YesOption
from ops_cli.environment import open_environment
from ops_cli.errors import EXIT_FAILURE, OpsError
from ops_cli.scheduler.base import Health


def up(
    env: EnvOption = "local",
    yes: YesOption = False,
    bootstrap: Annotated[
        bool,
        typer.Option(
            "--bootstrap/--no-bootstrap",
            help="Local: when no model is champion yet, run the pipeline on generated data.",
        ),
    ] = True,
    output: OutputOption = OutputFormat.table,
    lock_timeout: LockTimeoutOption = 0,
) -> None:
    """Bring the environment up: start every service, wait until all are healthy.

    Local: when the registry has no champion yet, the pipeline then trains one on
    generated data (unless --no-bootstrap), so serving and the app work at once.

    Cloud environments: infrastructure plan, confirm, apply, then the workload
    plan, confirm, deploy (--yes skips both questions).
    """
    environment = open_environment(env)
    confirm_jobs = None if yes else _confirm_jobs(env, output)
    with render.progress(output is OutputFormat.table) as view:
        if environment.config.provisioner == "none":
            report = operations.up(
                environment, view, lock_timeout_s=lock_timeout, confirm_workloads=confirm_jobs
            )
        else:
            cloud = operations.up_cloud(
                environment,
                view,
                confirm_infra=(lambda _plan: True) if yes else _confirm_infra(env, output),
                confirm_workloads=confirm_jobs,
                infra_progress=infra_progress(output),
                lock_timeout_s=lock_timeout,
            )
            if cloud.workloads is None:
                render.stderr.print("Infrastructure plan declined; nothing was applied.")
                raise typer.Exit(EXIT_FAILURE)
            report = cloud.workloads
    if bootstrap and pipeline.bootstrap_needed(environment):
        _bootstrap_model(environment, output)
    _print_up(env, report, output)


def _bootstrap_model(environment, output: OutputFormat) -> None:
    render.stderr.print("No champion model yet: running the pipeline on generated data...")
    result = pipeline.run(
        environment,
        source="synthetic",
        rows=None,
        month=None,
        wait=True,
        on_progress=lambda p: render.stderr.print(f"  {p.name}: {p.state}", highlight=False),
    )
    if result.state != "COMPLETED":
        raise OpsError(
            f"the bootstrap pipeline run {result.name} ended {result.state}: {result.message}"
        )
    if pipeline.champion_version(environment) is None:
        render.stderr.print(
            "[yellow]The bootstrap model did not pass the promotion gate; no champion is "
            "serving yet.[/] See `opsctl model list`."
        )


def _confirm_infra(env: str, output: OutputFormat):
    def confirm(plan) -> bool:
        if output is OutputFormat.table:
            show_infra_plan(env, plan)
        return typer.confirm(f"Apply these infrastructure changes to '{env}'?", err=True)

    return confirm


def _confirm_jobs(env: str, output: OutputFormat):
    def confirm(plans) -> bool:
        if output is OutputFormat.table:
            render.stdout.print(plan_table(plans, f"Workload plan for '{env}'"))
        return typer.confirm(f"Deploy these workload changes to '{env}'?", err=True)

    return confirm


def _print_up(env: str, report: operations.UpReport, output: OutputFormat) -> None:
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
        bool, typer.Option("--purge", help="Local: also delete all data, logs and local secrets.")
    ] = False,
    allow_prod_destroy: Annotated[
        bool, typer.Option("--allow-prod-destroy", help="Cloud: permit destroying prod.")
    ] = False,
    yes: YesOption = False,
    output: OutputOption = OutputFormat.table,
    lock_timeout: LockTimeoutOption = 0,
) -> None:
    """Stop every service; local data is kept unless --purge.

    Cloud environments: stop the jobs and destroy the infrastructure after two
    confirmations; prod refuses unless --allow-prod-destroy.
    """
    environment = open_environment(env)
    if environment.config.provisioner != "none":
        report = operations.down_cloud(
            environment,
            confirm=(lambda _q: True) if yes else (lambda q: typer.confirm(q, err=True)),
            allow_prod_destroy=allow_prod_destroy,
            infra_progress=infra_progress(output),
            lock_timeout_s=lock_timeout,
        )
        if not report.purged:
            render.stderr.print("Not confirmed; nothing was destroyed.")
            raise typer.Exit(EXIT_FAILURE)
    else:
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
        what = (
            "its infrastructure"
            if environment.config.provisioner != "none"
            else (environment.paths.root)
        )
        render.stdout.print(f"Deleted {what}.")


def register(app: typer.Typer) -> None:
    for command in (up, status, restart, logs, down):
        app.command()(command)
