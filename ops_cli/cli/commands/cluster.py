"""``opsctl plan | deploy | rollback``: workload changes on a cluster environment.

``plan`` exits 0 when nothing would change, 1 when something would, 255 on an
error (2 stays the code of a usage or configuration error). ``deploy`` and
``rollback`` show what they will do and ask first, unless ``--yes``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ops_cli import planning
from ops_cli.cli import render
from ops_cli.cli.commands.infra import infra_progress, plan_json, show_infra_plan
from ops_cli.cli.options import EnvOption, OutputFormat, OutputOption, YesOption
from ops_cli.cli.tables import Column, styled, table
from ops_cli.environment import open_environment
from ops_cli.errors import ConfigError, OpsError
from ops_cli.scheduler.abilities import Deployer, RollbackCapable

EXIT_PLAN_CHANGES = 1
EXIT_PLAN_ERROR = 255

WorkloadArgument = Annotated[str, typer.Argument(help="Workload name, e.g. mlflow.")]


PLAN_COLUMNS = (
    Column("job"),
    Column("change"),
    Column("allocations", text=True),
    Column("details", text=True, optional=True),
    Column("index", header="modify index", wide=True, justify="right"),
)
_CHANGE_STYLE = {"none": "dim", "create": "green", "update": "yellow", "destroy": "red"}


def plan_table(plans: list, title: str, *, wide: bool = False) -> Any:
    """Each job's planned change, allocations and changed fields (see :data:`PLAN_COLUMNS`)."""
    rows = []
    for plan in plans:
        details = list(plan.fields)
        if plan.failed_placements:
            details.append(f"cannot place: {', '.join(plan.failed_placements)}")
        if plan.warnings:
            details.append(f"warning: {plan.warnings}")
        rows.append(
            {
                "job": plan.job,
                "change": styled(plan.change, _CHANGE_STYLE.get(plan.change, "")),
                "allocations": "\n".join(f"{g.group}: {g.describe()}" for g in plan.groups) or None,
                "details": "\n".join(details) or None,
                "index": plan.modify_index,
            }
        )
    return table(PLAN_COLUMNS, rows, title=title, wide=wide)


def plan_summary(plans: list) -> str:
    """One line as Terraform ends a plan: ``Jobs: 1 to create, 2 to update, 0 to
    destroy, 3 unchanged.``"""
    count = {c: sum(p.change == c for p in plans) for c in ("create", "update", "destroy", "none")}
    return (
        f"Jobs: {count['create']} to create, {count['update']} to update, "
        f"{count['destroy']} to destroy, {count['none']} unchanged."
    )


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
    show = (lambda infra: show_infra_plan(env, infra)) if output.for_people else None
    try:
        report = planning.plan(
            open_environment(env), workload, infra_progress=infra_progress(output), show_infra=show
        )
    except ConfigError:
        raise
    except OpsError as exc:
        _report(exc, output)
        raise typer.Exit(EXIT_PLAN_ERROR) from None
    if output is OutputFormat.json:
        render.print_json(_plan_json(report))
    else:
        _print_plan(report, output)
    raise typer.Exit(EXIT_PLAN_CHANGES if report.changed else 0)


def _plan_json(report: planning.PlanReport) -> dict[str, Any]:
    infra, jobs = report.infrastructure, report.jobs
    return {
        "environment": report.environment,
        "changes": report.changed,
        "infrastructure": plan_json(infra) if infra else None,
        "jobs": None if jobs is None else [p.as_dict() for p in jobs],
    }


def _print_plan(report: planning.PlanReport, output: OutputFormat) -> None:
    if report.jobs is None:
        render.stdout.print("Jobs: the cluster does not exist yet; `up` creates every job.")
    else:
        title = f"Plan for '{report.environment}'"
        render.stdout.print(plan_table(report.jobs, title, wide=output.is_wide))
        render.stdout.print(plan_summary(report.jobs))
    verdict = "changes shown above" if report.changed else "no changes: the cluster matches"
    render.stdout.print(verdict)


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
    scheduler: Deployer = planning.cluster_scheduler(open_environment(env), Deployer)
    planned = scheduler.plan_deploy(workload, image_tag=image, model_alias=model)
    asking = planned.has_changes and not yes
    if output.for_people or asking:
        title = f"Deploy '{workload}' to '{env}'"
        console = render.before_question(output.for_people)
        console.print(plan_table([planned], title, wide=output.is_wide))
    if asking:
        _ask_or_abort(f"Deploy '{workload}' to '{env}'?")
    with render.progress(output.for_people) as view:
        outcome = scheduler.apply(planned, view)
    _print_outcome(env, outcome, output, {"plan": planned.as_dict()})


def rollback(
    workload: WorkloadArgument,
    env: EnvOption = "staging",
    yes: YesOption = False,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Return a workload to its previous stable version (refused if it moved on meanwhile)."""
    scheduler: RollbackCapable = planning.cluster_scheduler(open_environment(env), RollbackCapable)
    target = scheduler.plan_rollback(workload)
    if output.for_people or not yes:
        image = f" ({target.target_image})" if target.target_image else ""
        render.before_question(output.for_people).print(
            f"Roll back '{workload}' in '{env}': version {target.current_version} -> "
            f"{target.target_version}{image}"
        )
    if not yes:
        _ask_or_abort(f"Roll back '{workload}' in '{env}'?")
    with render.progress(output.for_people) as view:
        outcome = scheduler.rollback(target, view)
    extra = {"from_version": target.current_version, "to_version": target.target_version}
    _print_outcome(env, outcome, output, extra)


def _ask_or_abort(question: str) -> None:
    if not render.ask(question):
        raise typer.Abort()


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
    """Add ``plan``, ``deploy`` and ``rollback`` to ``app``."""
    for command in (plan, deploy, rollback):
        app.command()(command)
