"""``opsctl pipeline run | status`` and ``opsctl model list``: the ML pipeline."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ops_cli import pipeline
from ops_cli.cli import render
from ops_cli.cli.options import EnvOption, OutputFormat, OutputOption
from ops_cli.environment import open_environment
from ops_cli.errors import EXIT_FAILURE

pipeline_app = typer.Typer(help="Run the CRM pipeline: data -> features -> model -> gate.")
model_app = typer.Typer(help="Models in the environment's registry.")


def _show(progress: pipeline.RunProgress) -> None:
    steps = ", ".join(f"{s['name']}: {s['state']}" for s in progress.steps) or "-"
    render.stderr.print(f"{progress.name} [{progress.state}] {steps}", highlight=False)


@pipeline_app.command("run")
def run(
    env: EnvOption = "local",
    source: Annotated[
        str | None, typer.Option(help="kaggle, synthetic or a folder of the CSV files.")
    ] = None,
    rows: Annotated[int | None, typer.Option(min=1000, help="Rows to generate.")] = None,
    month: Annotated[str | None, typer.Option(help="Month to process, YYYY-MM.")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the run to its end.")] = False,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Register the pipeline's deployments and start a run on the platform's worker."""
    environment = open_environment(env)
    result = pipeline.run(
        environment, source=source, rows=rows, month=month, wait=wait, on_progress=_show
    )
    if output is OutputFormat.json:
        render.print_json(result)
    else:
        render.stdout.print(f"pipeline run {result.name} ({result.run_id}): {result.state}")
        if result.message:
            render.stdout.print(result.message)
    if wait and result.state != "COMPLETED":
        raise typer.Exit(EXIT_FAILURE)


@pipeline_app.command("status")
def status(env: EnvOption = "local", output: OutputOption = OutputFormat.table) -> None:
    """Show the pipeline's deployments, schedules and recent runs."""
    data = pipeline.status(open_environment(env))
    if output is OutputFormat.json:
        render.print_json(data)
        return
    table = Table(title="Deployments", title_justify="left")
    for column in ("deployment", "pool", "schedule"):
        table.add_column(column)
    for d in data["deployments"]:
        table.add_row(d["name"], d["pool"] or "-", ", ".join(filter(None, d["schedules"])) or "-")
    render.stdout.print(table)
    runs = Table(title="Recent runs", title_justify="left")
    for column in ("run", "state", "start", "end"):
        runs.add_column(column)
    for r in data["runs"]:
        runs.add_row(r["name"], r["state"] or "-", r["start"] or "-", r["end"] or "-")
    render.stdout.print(runs)


@model_app.command("list")
def list_models(env: EnvOption = "local", output: OutputOption = OutputFormat.table) -> None:
    """List registered model versions with their aliases and out-of-time metrics."""
    rows = pipeline.models(open_environment(env))
    if output is OutputFormat.json:
        render.print_json({"environment": env, "versions": rows})
        return
    table = Table(title="Model versions", title_justify="left")
    for column in ("version", "aliases", "ROC-AUC", "Brier", "agent baseline AUC", "promotion"):
        table.add_column(column)
    for r in rows:
        m = r["metrics"]
        table.add_row(
            r["version"],
            ", ".join(r["aliases"]) or "-",
            str(m.get("eval_roc_auc", "-")),
            str(m.get("eval_brier", "-")),
            str(m.get("baseline_agent_win_rate_roc_auc", "-")),
            r["promotion"] or "-",
        )
    render.stdout.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(pipeline_app, name="pipeline")
    app.add_typer(model_app, name="model")
