"""How the pipeline's results read on a terminal: the one-screen report of a run, and
the labels ``model list`` shows for what each version is and was trained on."""

from __future__ import annotations

from typing import Any

from rich.table import Table

BASELINE_NOTE = "no learned model beats the historical win rate on this data; serving the baseline"
_NAMES = {
    "historical_win_rate": "baseline: historical win rate",
    "agent_win_rate": "baseline: agent win rate",
}


def span(months: list[str] | None) -> str:
    """``["2017-03", ..., "2017-07"]`` -> ``2017-03..2017-07``."""
    if not months:
        return "-"
    return months[0] if len(months) == 1 else f"{months[0]}..{months[-1]}"


def data_label(data: dict[str, Any] | None) -> str:
    """``folder 3f2a9c1d`` for a version's lineage; ``-`` when it recorded none."""
    if not data:
        return "-"
    return f"{data.get('source', '?')} {str(data.get('version', '?'))[:8]}"


_SHORT = {"historical_win_rate": "win rate", "agent_win_rate": "agent rate"}


def kind_label(summary: dict[str, Any]) -> str:
    """``baseline: agent rate`` or ``boosting`` (``-`` when not recorded)."""
    family = summary.get("family") or "-"
    if summary.get("kind") == "baseline":
        return f"baseline: {_SHORT.get(family, family)}"
    return family


def model_label(summary: dict[str, Any]) -> str:
    """``v4 (baseline: agent_win_rate)`` or ``v3 (boosting)``."""
    return f"v{summary.get('version') or summary.get('model_version')} ({kind_label(summary)})"


def _data_lines(data: dict[str, Any]) -> list[str]:
    rows, months = data.get("rows", {}), data.get("months", {})
    quality = data.get("quality_score")
    score = f"{quality:.3f}" if isinstance(quality, float | int) else "?"
    lines = [
        f"Data      {data.get('source')} {data.get('origin', '')}, version {data.get('version')}",
        f"          {rows.get('read', '?')} rows read, {rows.get('quarantined', '?')} quarantined,"
        f" quality score {score}",
    ]
    lines += [f"          read: {note}" for note in data.get("reading", [])]
    lines.append(
        f"Months    trained {span(months.get('train'))} ({rows.get('train', '?')} rows), "
        f"validated {span(months.get('val'))} ({rows.get('val', '?')} rows)"
    )
    lines.append(
        f"          evaluated out of time {span(months.get('eval'))} ({rows.get('eval', '?')} rows)"
    )
    return lines


def metrics_table(training: dict[str, Any]) -> Table:
    """The model's and the baselines' out-of-time metrics, side by side."""
    table = Table(title="Out-of-time evaluation", title_justify="left")
    table.add_column("")
    for column in ("ROC-AUC", "Brier", "log loss", "PR-AUC"):
        table.add_column(column, justify="right")
    rows = {f"model {model_label(training)}": training["model"]}
    rows.update({_NAMES.get(n, n): m for n, m in training["baselines"].items()})
    for name, values in rows.items():
        cells = (values.get(m) for m in ("roc_auc", "brier", "log_loss", "pr_auc"))
        table.add_row(name, *("-" if v is None else f"{v:.4f}" for v in cells))
    return table


SWITCH_NOTE = (
    "the prediction service loads a new champion at its next check of the alias "
    "(every 30 s; SERVING_REFRESH_S): until then it answers with the previous one"
)
REUSE_NOTE = "--force trains, registers and gates a new version"


def _decision_lines(training: dict[str, Any]) -> list[str]:
    """The gate's decision, or for a reuse what it did and how to train anyway."""
    if training.get("reused"):
        return [f"Decision  {training['reason']}", f"          {REUSE_NOTE}"]
    verdict = "promoted to champion" if training["promoted"] else "not promoted"
    return [f"Decision  {model_label(training)} {verdict}: {training['reason']}"]


def report_lines(report: dict[str, Any]) -> tuple[list[str], Table | None, list[str]]:
    """(lines before the metrics table, the table, lines after it) of a run's report."""
    training, serving = report.get("training"), report.get("serving")
    before: list[str] = []
    table = None
    after: list[str] = []
    if training:
        before = _data_lines(training["data"] or {})
        table = metrics_table(training)
        after.extend(_decision_lines(training))
    if serving:
        after.append(
            f"Serving   {serving['name']} {model_label(serving)}, trained on "
            f"{data_label(serving.get('data'))}"
        )
        if serving.get("kind") == "baseline":
            after.append(f"          {BASELINE_NOTE}")
        if training and training.get("promoted"):
            after.append(f"          {SWITCH_NOTE}")
    else:
        after.append("Serving   nothing: the registry has no champion yet")
    return before, table, after
