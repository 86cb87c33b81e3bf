"""``opsctl drift`` and ``opsctl infra plan | outputs | bootstrap``: the AWS infrastructure."""

from __future__ import annotations

import typer
from rich.console import Console

from ops_cli.cli import render
from ops_cli.cli.options import EnvOption, OutputFormat, OutputOption, YesOption
from ops_cli.environment import open_environment
from ops_cli.errors import EXIT_FAILURE, OpsError
from ops_cli.provision import flow
from ops_cli.provision.base import DriftReport, InfraPlan, ProgressCallback

infra_app = typer.Typer(help="The environment's AWS infrastructure (Terraform or Pulumi).")


def show_infra_plan(env: str, plan: InfraPlan, console: Console = render.stdout) -> None:
    """The infrastructure plan for people: Terraform's summary line, then each resource."""
    console.print(f"Infrastructure of '{env}': {plan.summary()}")
    for item in plan.resources:
        console.print(f"  {item.action:8} {item.address}")


def infra_progress(output: OutputFormat) -> ProgressCallback:
    """Tool output line by line on stderr; nothing in JSON mode (stdout stays one document)."""
    return _progress(output)


def plan_json(plan: InfraPlan) -> dict:
    """The JSON form of an infrastructure plan."""
    return _plan_json(plan)


def _progress(output: OutputFormat) -> ProgressCallback:
    if output is OutputFormat.json:
        return lambda _line: None
    return lambda line: render.stderr.print(line, markup=False, highlight=False)


def _plan_json(plan: InfraPlan) -> dict:
    return {
        "environment": plan.environment,
        "add": plan.adds,
        "change": plan.changes,
        "destroy": plan.destroys,
        "resources": [
            {"address": r.address, "type": r.resource_type, "action": r.action}
            for r in plan.resources
        ],
    }


def _drift_json(report: DriftReport) -> dict:
    return {
        "environment": report.environment,
        "drifted": [
            {"address": r.address, "type": r.resource_type, "action": r.action}
            for r in report.drifted
        ],
    }


def drift(env: EnvOption = "staging", output: OutputOption = OutputFormat.table) -> None:
    """Compare the real infrastructure with the recorded state. Exits 1 on drift."""
    report = flow.drift(open_environment(env), progress=_progress(output))
    if output is OutputFormat.json:
        render.print_json(_drift_json(report))
    elif report.has_drift:
        render.stdout.print(f"[yellow]Drift in '{env}'[/]: {len(report.drifted)} resource(s)")
        for item in report.drifted:
            render.stdout.print(f"  {item.action:8} {item.address}")
    else:
        render.stdout.print(f"[green]No drift in '{env}'[/]: infrastructure matches the state.")
    if report.has_drift:
        raise typer.Exit(EXIT_FAILURE)


@infra_app.command("plan")
def infra_plan(env: EnvOption = "staging", output: OutputOption = OutputFormat.table) -> None:
    """Show what `opsctl up` would change in the infrastructure; changes nothing."""
    plan = flow.plan(open_environment(env), progress=_progress(output))
    if output is OutputFormat.json:
        render.print_json(_plan_json(plan))
        return
    show_infra_plan(env, plan)


@infra_app.command("outputs")
def infra_outputs(env: EnvOption = "staging", output: OutputOption = OutputFormat.table) -> None:
    """Print the outputs stored by the last apply (no cloud call)."""
    stored = flow.stored_outputs(open_environment(env))
    if stored is None:
        raise OpsError(
            f"no infrastructure outputs recorded for '{env}'", hint=f"run `opsctl up --env {env}`"
        )
    if output is OutputFormat.json:
        render.print_json({"environment": env, "outputs": stored.to_dict()})
        return
    for key, value in sorted(stored.to_dict().items()):
        render.stdout.print(f"{key:22} {value}")


@infra_app.command("bootstrap")
def infra_bootstrap(
    env: EnvOption = "staging",
    yes: YesOption = False,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Create the state bucket, lock table and shared buckets (once per account)."""

    def confirm(plan: InfraPlan) -> bool:
        return yes or render.ask(f"Bootstrap: {plan.summary()}. Apply?")

    outputs = flow.bootstrap(open_environment(env), confirm, progress=_progress(output))
    if output is OutputFormat.json:
        render.print_json({"environment": env, "outputs": outputs.to_dict()})
    else:
        render.stdout.print(f"[green]Bootstrap done[/]: {outputs.to_dict()}")


def register(app: typer.Typer) -> None:
    """Add ``drift`` and the ``infra`` group to ``app``."""
    app.command()(drift)
    app.add_typer(infra_app, name="infra")


__all__ = ["register"]
