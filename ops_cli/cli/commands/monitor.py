"""``opsctl monitor run | status`` and ``opsctl demo replay``: model monitoring."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ops_cli.cli import render
from ops_cli.cli.options import EnvOption, OutputFormat, OutputOption
from ops_cli.cli.tables import Column, table
from ops_cli.environment import open_environment
from ops_cli.errors import EXIT_FAILURE
from ops_cli.monitor import core
from ops_cli.monitor.summary import GENERATED
from ops_cli.pipeline import RunProgress

monitor_app = typer.Typer(help="Monitor the champion: drift, estimated and realised performance.")
demo_app = typer.Typer(help="Demonstrations on a local platform (generated data).")


def _show(progress: RunProgress) -> None:
    steps = ", ".join(f"{s['name']}: {s['state']}" for s in progress.steps) or "-"
    render.stderr.print(f"{progress.name} [{progress.state}] {steps}", highlight=False)


MONTH_COLUMNS = (
    Column("month"),
    Column("rows", justify="right"),
    Column("drift", header="drift share", justify="right"),
    Column("est_brier", header="est. Brier", justify="right"),
    Column("brier", header="Brier", justify="right"),
    Column("coverage", header="labels", justify="right"),
    Column("alerts", justify="right"),
    Column("drifted", header="drifted columns", text=True, optional=True),
    Column("est_auc", header="est. ROC-AUC", wide=True, justify="right"),
    Column("auc", header="ROC-AUC", wide=True, justify="right"),
    Column("not_computable", header="not computable", wide=True),
    Column("firing", header="rules firing", wide=True),
    Column("runs", header="retraining runs", wide=True),
)


def _figure(value: float | None, digits: int = 3) -> str | None:
    return None if value is None else f"{value:.{digits}f}"


def month_table_rows(months: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``monitor status`` rows as :data:`MONTH_COLUMNS` shows them (estimated beside
    realised; ``labels`` is the month's label coverage)."""
    return [
        {
            "month": m["month"],
            "rows": m["rows_scored"],
            "drift": _figure(m["drift_share"], 2),
            "est_brier": _figure(m["estimated_brier"]),
            "brier": _figure(m["realised_brier"]),
            "coverage": None if m["label_coverage"] is None else f"{m['label_coverage']:.0%}",
            "alerts": m["alerts"],
            "drifted": ", ".join(m["drifted_columns"]) or None,
            "est_auc": _figure(m["estimated_roc_auc"]),
            "auc": _figure(m["realised_roc_auc"]),
            "not_computable": ", ".join(m["not_computable"]) or None,
            "firing": ", ".join(m["rules_firing"]) or None,
            "runs": "\n".join(m["retraining_runs"]) or None,
        }
        for m in months
    ]


def _print_months(title: str, months: list[dict[str, Any]], wide: bool) -> None:
    render.stdout.print(table(MONTH_COLUMNS, month_table_rows(months), title=title, wide=wide))


def _print_replay(replay: dict[str, Any], wide: bool) -> None:
    title = f"Demo replay {replay['replay_id']}: {replay.get('status', '?')}"
    _print_months(title, replay["months_monitored"], wide)
    render.stdout.print(f"Note: {GENERATED}.")


def _print_status(data: dict[str, Any], wide: bool) -> None:
    if data["months"]:
        _print_months("Monitored months", data["months"], wide)
    else:
        render.stdout.print("No monitoring run yet: `opsctl monitor run` or `opsctl demo replay`.")
    if data.get("replay"):
        _print_replay(data["replay"], wide)


@monitor_app.command("run")
def run(
    env: EnvOption = "local",
    month: Annotated[
        str | None, typer.Option(help="Month to monitor, YYYY-MM (default: the previous one).")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the run to its end.")] = False,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Start the monitoring flow on the platform's worker."""
    result = core.run(open_environment(env), month=month, wait=wait, on_progress=_show)
    if output is OutputFormat.json:
        render.print_json(result)
    else:
        render.stdout.print(f"monitoring run {result.name} ({result.run_id}): {result.state}")
        if result.message:
            render.stdout.print(result.message)
    if wait and result.state != "COMPLETED":
        raise typer.Exit(EXIT_FAILURE)


@monitor_app.command("status")
def status(env: EnvOption = "local", output: OutputOption = OutputFormat.table) -> None:
    """Per month: rows scored, drift, estimated and realised performance, label coverage,
    alerts and retraining runs."""
    data = core.status(open_environment(env))
    if output is OutputFormat.json:
        render.print_json(data)
    else:
        _print_status(data, output.is_wide)


@demo_app.command("replay")
def replay(
    env: EnvOption = "local",
    months: Annotated[int, typer.Option(min=1, max=24, help="Generated months to replay.")] = 6,
    drift: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Drift from the second month on, 0..1.")
    ] = 1.0,
    rows: Annotated[int, typer.Option(min=50, max=20000, help="Deals per month.")] = 400,
    settle_months: Annotated[
        int, typer.Option(min=0, max=12, help="Months monitored after the last, as deals close.")
    ] = 2,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Replay generated months after the champion's training period through the real
    prediction service, with delayed labels, and monitor them month by month."""
    render.stderr.print(f"Demo replay: {GENERATED}.", highlight=False)
    result, summary = core.replay(
        open_environment(env), months=months, drift=drift, rows=rows,
        settle_months=settle_months, on_progress=_show,
    )  # fmt: skip
    if output is OutputFormat.json:
        render.print_json({"run": result, "replay": summary, "note": GENERATED})
    else:
        render.stdout.print(f"demo replay run {result.name} ({result.run_id}): {result.state}")
        if result.message and result.state != "COMPLETED":
            render.stdout.print(result.message)
        if summary:
            _print_replay(summary, output.is_wide)
    if result.state != "COMPLETED":
        raise typer.Exit(EXIT_FAILURE)


def register(app: typer.Typer) -> None:
    """Add the ``monitor`` and ``demo`` groups to ``app``."""
    app.add_typer(monitor_app, name="monitor")
    app.add_typer(demo_app, name="demo")
