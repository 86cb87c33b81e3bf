"""``opsctl plan | deploy | rollback``: workload changes on a cluster environment.

``plan`` exits 0 when nothing would change, 1 when something would, 255 on an
error (2 stays the code of a usage or configuration error). ``deploy`` and
``rollback`` show what they will do and ask first, unless ``--yes``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from ops_cli.cli import render
from ops_cli.cli.commands.infra import infra_progress, plan_json, show_infra_plan
from ops_cli.cli.options import EnvOption, OutputFormat, OutputOption, YesOption
from ops_cli.environment import open_environment
from ops_cli.errors import ConfigError, OpsError
from ops_cli.provision import flow

EXIT_PLAN_CHANGES = 1
EXIT_PLAN_ERROR = 255

WorkloadArgument = Annotated[str, typer.Argument(help="Workload name, e.g. mlflow.")]


def _cluster_scheduler(env: str, ability: type) -> Any:
    """The environment's scheduler, if it has ``ability``; else a ConfigError."""
    environment = open_environment(env)
    scheduler = None if environment.config.is_local else environment.scheduler()
    if scheduler is None or not isinstance(scheduler, ability):
        raise ConfigError(
            f"environment '{env}' uses scheduler '{environment.config.scheduler}', which "
            f"cannot {ability.__name__.removesuffix('Capable').lower()}; use a cluster "
            "environment (scheduler: nomad), e.g. --env staging"
        )
    return scheduler


def plan_table(plans: list, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("job", "change", "allocations", "details"):
        table.add_column(column)
    style = {"none": "dim", "create": "green", "update": "yellow", "destroy": "red"}
    for plan in plans:
        details = list(plan.fields)
        if plan.failed_placements:
            details.append(f"cannot place: {', '.join(plan.failed_placements)}")
        if plan.warnings:
            details.append(f"warning: {plan.warnings}")
        table.add_row(
            plan.job,
            f"[{style.get(plan.change, '')}]{plan.change}[/]",
            "\n".join(f"{g.group}: {g.describe()}" for g in plan.groups) or "-",
            "\n".join(details) or "-",
        )
    return table


def plan(
    workload: Annotated[
        str | None, typer.Argument(help="Only this workload (default: all of them).")
    ] = None,
    env: EnvOption = "staging",
    output: OutputOption = OutputFormat.table,
) -> None:
    """Show what `up` would change (infrastructure, then jobs); changes nothing.

    Provisioned environments show the infrastructure plan before the Nomad jobs
    (not when one WORKLOAD is named: then only its job is planned).

    Exit codes: 0 no changes, 1 changes, 255 error (2 for a usage or config error).
    """
    from ops_cli.scheduler.nomad.abilities import Planner

    environment = open_environment(env)
    try:
        infra = None if workload else _infra_plan(environment, output)
        if infra is not None and infra.adds and flow.stored_outputs(environment) is None:
            plans = None  # no cluster to ask yet: every job is created on the first up
        else:
            plans = _cluster_scheduler(env, Planner).plan([workload] if workload else None)
    except ConfigError:
        raise
    except OpsError as exc:
        _report(exc, output)
        raise typer.Exit(EXIT_PLAN_ERROR) from None
    changed = bool(infra and infra.has_changes) or plans is None
    changed = changed or any(p.has_changes for p in plans or [])
    if output is OutputFormat.json:
        render.print_json(
            {
                "environment": env,
                "changes": changed,
                "infrastructure": plan_json(infra) if infra else None,
                "jobs": None if plans is None else [p.as_dict() for p in plans],
            }
        )
    else:
        if plans is None:
            render.stdout.print("Jobs: the cluster does not exist yet; `up` creates every job.")
        else:
            render.stdout.print(plan_table(plans, f"Plan for '{env}'"))
        verdict = "changes shown above" if changed else "no changes: the cluster matches"
        render.stdout.print(verdict)
    raise typer.Exit(EXIT_PLAN_CHANGES if changed else 0)


def _infra_plan(environment: Any, output: OutputFormat) -> Any:
    """The infrastructure plan of a provisioned environment (shown), else None."""
    if environment.config.provisioner == "none":
        return None
    infra = flow.plan(environment, progress=infra_progress(output))
    if output is OutputFormat.table:
        show_infra_plan(environment.name, infra)
    return infra


def _report(exc: OpsError, output: OutputFormat) -> None:
    if output is OutputFormat.json:
        render.print_json({"error": str(exc), "exit_code": EXIT_PLAN_ERROR})
    render.stderr.print(f"Error: {exc}", highlight=False, markup=False)
    if exc.hint:
        render.stderr.print(f"Hint: {exc.hint}", highlight=False, markup=False)


def deploy(
    workload: WorkloadArgument,
    env: EnvOption = "staging",
    image: Annotated[
        str | None, typer.Option("--image", help="Image tag to deploy (default: the env's).")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Registry alias to serve, e.g. challenger.")
    ] = None,
    yes: YesOption = False,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Plan, show, confirm and deploy one workload, following canaries to the end.

    A concurrent change since the plan is refused, never overwritten. A failed
    or timed-out deployment is marked failed, so Nomad reverts (auto_revert).
    """
    from ops_cli.scheduler.nomad.abilities import Deployer

    scheduler = _cluster_scheduler(env, Deployer)
    planned = scheduler.plan_deploy(workload, image_tag=image, model_alias=model)
    if output is OutputFormat.table:
        render.stdout.print(plan_table([planned], f"Deploy '{workload}' to '{env}'"))
    if planned.has_changes and not yes:
        typer.confirm(f"Deploy '{workload}' to '{env}'?", abort=True, err=True)
    with render.progress(output is OutputFormat.table) as view:
        outcome = scheduler.apply(planned, view)
    _print_outcome(env, outcome, output, {"plan": planned.as_dict()})


def rollback(
    workload: WorkloadArgument,
    env: EnvOption = "staging",
    yes: YesOption = False,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Return a workload to its previous stable version (refused if it moved on meanwhile)."""
    from ops_cli.scheduler.nomad.abilities import RollbackCapable

    scheduler = _cluster_scheduler(env, RollbackCapable)
    target = scheduler.plan_rollback(workload)
    if output is OutputFormat.table:
        image = f" ({target.target_image})" if target.target_image else ""
        render.stdout.print(
            f"Roll back '{workload}' in '{env}': version {target.current_version} -> "
            f"{target.target_version}{image}"
        )
    if not yes:
        typer.confirm(f"Roll back '{workload}' in '{env}'?", abort=True, err=True)
    with render.progress(output is OutputFormat.table) as view:
        outcome = scheduler.rollback(target, view)
    extra = {"from_version": target.current_version, "to_version": target.target_version}
    _print_outcome(env, outcome, output, extra)


def _print_outcome(env: str, outcome: Any, output: OutputFormat, extra: dict[str, Any]) -> None:
    if output is OutputFormat.json:
        render.print_json({"environment": env, **render.to_jsonable(outcome), **extra})
        return
    if outcome.status == "unchanged":
        render.stdout.print(f"'{outcome.job}' already runs this version; nothing deployed.")
    else:
        render.stdout.print(
            f"[green]'{outcome.job}' version {outcome.version} is deployed and healthy[/] "
            f"({outcome.detail})"
        )


def register(app: typer.Typer) -> None:
    for command in (plan, deploy, rollback):
        app.command()(command)
