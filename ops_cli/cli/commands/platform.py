"""``opsctl up | status | restart | logs | down``: the platform's lifecycle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from ops_cli import operations
from ops_cli.cli import render
from ops_cli.cli.commands.cluster import plan_summary, plan_table
from ops_cli.cli.commands.infra import infra_progress, show_infra_plan
from ops_cli.cli.options import EnvOption, LockTimeoutOption, OutputFormat, OutputOption, YesOption
from ops_cli.environment import Environment, open_environment
from ops_cli.errors import EXIT_FAILURE
from ops_cli.model_bootstrap import bootstrap_model
from ops_cli.provision.base import InfraPlan
from ops_cli.scheduler.base import Health

BootstrapOption = Annotated[
    bool,
    typer.Option(
        "--bootstrap/--no-bootstrap",
        help="Local: when no model is champion yet, run the pipeline on generated data.",
    ),
]


def up(
    env: EnvOption = "local",
    yes: YesOption = False,
    bootstrap: BootstrapOption = True,
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
    with render.progress(output.for_people) as view:
        report = operations.up_environment(
            environment,
            view,
            confirm_infra=(lambda _plan: True) if yes else _confirm_infra(env, output),
            confirm_workloads=None if yes else _confirm_jobs(env, output),
            infra_progress=infra_progress(output),
            lock_timeout_s=lock_timeout,
        )
    if bootstrap:
        _bootstrap_model(environment)
    _print_up(env, report, output)


def _bootstrap_model(environment: Environment) -> None:
    result = bootstrap_model(environment, lambda line: render.stderr.print(line, highlight=False))
    if result is not None and result.champion_version is None:
        render.stderr.print(
            "[yellow]The bootstrap model did not pass the promotion gate; no champion is "
            "serving yet.[/] See `opsctl model list`."
        )


def _confirm_infra(env: str, output: OutputFormat) -> Callable[[InfraPlan], bool]:
    def confirm(plan: InfraPlan) -> bool:
        show_infra_plan(env, plan, render.before_question(output.for_people))
        return render.ask(f"Apply these infrastructure changes to '{env}'?")

    return confirm


def _confirm_jobs(env: str, output: OutputFormat) -> Callable[[list[Any]], bool]:
    def confirm(plans: list[Any]) -> bool:
        console = render.before_question(output.for_people)
        console.print(plan_table(plans, f"Workload plan for '{env}'", wide=output.is_wide))
        console.print(plan_summary(plans))
        return render.ask(f"Deploy these workload changes to '{env}'?")

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
                "databases_created": report.databases_created,
                "left_out": report.left_out,
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
    if report.databases_created:
        render.stdout.print(f"Created the databases {', '.join(report.databases_created)}.")
    for name, why in report.left_out.items():
        render.stderr.print(f"[yellow]{name} was left out[/]: {why}", highlight=False)
    render.stdout.print(render.endpoint_table(report.statuses))


def status(env: EnvOption = "local", output: OutputOption = OutputFormat.table) -> None:
    """Show every service with its health and endpoints. Exits 1 when any is not healthy."""
    environment = open_environment(env)
    statuses = operations.status(environment)
    traffic = operations.traffic(statuses)
    note = operations.alert_delivery_note(environment)
    if output is OutputFormat.json:
        payload = {"environment": env, "services": render.status_rows(statuses, traffic)}
        render.print_json({**payload, **({"alerts": note} if note else {})})
    else:
        title = f"Environment '{env}'"
        render.stdout.print(
            render.status_table(statuses, title, wide=output.is_wide, traffic=traffic)
        )
        if note:
            render.stderr.print(f"[yellow]{note}[/]", highlight=False)
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
    with render.progress(output.for_people) as view:
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


PurgeOption = Annotated[
    bool, typer.Option("--purge", help="Local: also delete all data, logs and local secrets.")
]
AllowProdDestroyOption = Annotated[
    bool, typer.Option("--allow-prod-destroy", help="Cloud: permit destroying prod.")
]


def down(
    env: EnvOption = "local",
    purge: PurgeOption = False,
    allow_prod_destroy: AllowProdDestroyOption = False,
    yes: YesOption = False,
    output: OutputOption = OutputFormat.table,
    lock_timeout: LockTimeoutOption = 0,
) -> None:
    """Stop every service; local data is kept unless --purge.

    Cloud environments: stop the jobs and destroy the infrastructure after two
    confirmations; prod refuses unless --allow-prod-destroy.
    """
    environment = open_environment(env)
    report = operations.down_environment(
        environment,
        purge=purge,
        allow_prod_destroy=allow_prod_destroy,
        confirm=None if yes else render.ask,
        infra_progress=infra_progress(output),
        lock_timeout_s=lock_timeout,
    )
    if output is OutputFormat.json:
        render.print_json({"environment": env, **render.to_jsonable(report)})
        return
    stopped = ", ".join(report.stopped) if report.stopped else "nothing was running"
    render.stdout.print(f"Environment '{env}' is down ({stopped}).")
    if report.purged:
        cloud = environment.config.provisioner != "none"
        render.stdout.print(f"Deleted {'its infrastructure' if cloud else environment.paths.root}.")
    if report.databases_dropped:
        render.stdout.print(f"Dropped the databases {', '.join(report.databases_dropped)}.")


def register(app: typer.Typer) -> None:
    """Add ``up``, ``status``, ``restart``, ``logs`` and ``down`` to ``app``."""
    for command in (up, status, restart, logs, down):
        app.command()(command)
