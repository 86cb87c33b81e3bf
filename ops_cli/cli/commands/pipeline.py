"""``opsctl pipeline run | status`` and ``opsctl model list``: the ML pipeline."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from ops_cli import pipeline
from ops_cli.cli import pipeline_view, render
from ops_cli.cli.options import EnvOption, OutputFormat, OutputOption
from ops_cli.cli.tables import Column, age, table, utc_time
from ops_cli.environment import Environment, open_environment
from ops_cli.errors import EXIT_FAILURE, OpsError

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
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Train, register and gate a new version even when one was trained on "
            "the same data, code and settings (otherwise that version is reused).",
        ),
    ] = False,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Register the pipeline's deployments and start a run on the platform's worker; with
    --wait, say what it did: data read, months, metrics beside the baselines, the
    decision (or the version it reused) and which model serves now."""
    environment = open_environment(env)
    result = pipeline.run(environment, source=source, rows=rows, month=month, wait=wait,
                          on_progress=_show, force=force)  # fmt: skip
    report = _report(environment, result) if result.finished else None
    if output is OutputFormat.json:
        render.print_json({**render.to_jsonable(result), "report": report})
    else:
        render.stdout.print(f"pipeline run {result.name} ({result.run_id}): {result.state}")
        if result.message and result.state != "COMPLETED":
            render.stdout.print(result.message, highlight=False, markup=False)
        if report and wait:
            _print_report(report)
    if wait and result.state != "COMPLETED":
        raise typer.Exit(EXIT_FAILURE)


def _report(environment: Environment, result: pipeline.RunProgress) -> dict | None:
    """The run's report; a registry that cannot be read is said, not fatal: the run's
    own state is the command's result."""
    try:
        return pipeline.report(environment, result.run_id)
    except OpsError as exc:
        render.stderr.print(f"the run's report is not available: {exc}", highlight=False)
        return None


def _print_report(report: dict) -> None:
    before, table, after = pipeline_view.report_lines(report)
    for line in before:
        render.stdout.print(line, highlight=False, markup=False)
    if table is not None:
        render.stdout.print(table)
    for line in after:
        render.stdout.print(line, highlight=False, markup=False)


DEPLOYMENT_COLUMNS = (
    Column("deployment"),
    Column("pool"),
    Column("schedule"),
    Column("id", wide=True),
)
RUN_COLUMNS = (
    Column("run"),
    Column("state"),
    Column("start", header="start (UTC)"),
    Column("end", header="end (UTC)"),
    Column("id", wide=True),
)
MODEL_COLUMNS = (
    Column("version", justify="right"),
    Column("aliases", text=True),
    Column("model", wide=True),
    Column("trained_on", header="trained on"),
    Column("evaluated", header="evaluated", wide=True),
    Column("age", justify="right"),
    Column("created", header="created (UTC)", wide=True),
    Column("eval_roc_auc", header="ROC-AUC", justify="right"),
    Column("eval_brier", header="Brier", justify="right"),
    Column("baseline_agent_win_rate_roc_auc", header="agent AUC", wide=True, justify="right"),
    Column("promotion"),
    Column("run_id", header="run id", wide=True),
    Column("metrics", header="other metrics", text=True, wide=True, optional=True),
)
"""``model list``: a metric key of a version's ``metrics`` names the column that
shows it; ``-o wide`` lists the metrics without a column of their own."""


def status_tables(data: dict[str, Any]) -> list[tuple[str, tuple[Column, ...], list[dict]]]:
    """``pipeline.status`` as (title, columns, rows) of its two tables."""
    deployments = [
        {"deployment": f"{d['flow']}/{d['name']}" if d.get("flow") else d["name"],
         "pool": d["pool"], "id": d["id"],
         "schedule": "\n".join(filter(None, d["schedules"])) or None}
        for d in data["deployments"]
    ]  # fmt: skip
    runs = [
        {"run": r["name"], "state": r["state"], "id": r["id"],
         "start": utc_time(r["start"]), "end": utc_time(r["end"])}
        for r in data["runs"]
    ]  # fmt: skip
    return [("Deployments", DEPLOYMENT_COLUMNS, deployments), ("Recent runs", RUN_COLUMNS, runs)]


@pipeline_app.command("status")
def status(env: EnvOption = "local", output: OutputOption = OutputFormat.table) -> None:
    """Show the pipeline's deployments, schedules and recent runs."""
    data = pipeline.status(open_environment(env))
    if output is OutputFormat.json:
        render.print_json(data)
        return
    wide = output.is_wide
    for title, columns, rows in status_tables(data):
        render.stdout.print(table(columns, rows, title=title, wide=wide))


def model_rows(versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``pipeline.models`` rows as :data:`MODEL_COLUMNS` cells."""
    shown = {c.key for c in MODEL_COLUMNS}
    now = time.time()
    rows = []
    for v in versions:
        metrics = v["metrics"]
        created_s = v["created"] / 1000 if v.get("created") else None  # MLflow: epoch ms
        rows.append(
            {
                **v,
                **{k: f"{value:.4f}" for k, value in metrics.items() if k in shown},
                "aliases": ", ".join(v["aliases"]) or None,
                "model": pipeline_view.kind_label(v),
                "trained_on": pipeline_view.data_label(v.get("data")),
                "evaluated": pipeline_view.span((v.get("data") or {}).get("months", {}).get("eval")),
                "age": age(now - created_s) if created_s else None,
                "created": utc_time(datetime.fromtimestamp(created_s, UTC)) if created_s else None,
                "metrics": "\n".join(f"{k}={value}" for k, value in metrics.items()
                                    if k not in shown) or None,
            }
        )  # fmt: skip
    return rows


@model_app.command("list")
def list_models(env: EnvOption = "local", output: OutputOption = OutputFormat.table) -> None:
    """List registered model versions: aliases, what each was trained on, out-of-time
    metrics and the promotion decision."""
    rows = pipeline.models(open_environment(env))
    if output is OutputFormat.json:
        render.print_json({"environment": env, "versions": rows})
        return
    render.stdout.print(
        table(MODEL_COLUMNS, model_rows(rows), title="Model versions", wide=output.is_wide)
    )
    champion = next((r for r in rows if "champion" in r["aliases"]), None)
    if champion and champion.get("kind") == "baseline":
        render.stdout.print(f"champion v{champion['version']}: {pipeline_view.BASELINE_NOTE}")


def register(app: typer.Typer) -> None:
    """Add the ``pipeline`` and ``model`` groups to ``app``."""
    app.add_typer(pipeline_app, name="pipeline")
    app.add_typer(model_app, name="model")
