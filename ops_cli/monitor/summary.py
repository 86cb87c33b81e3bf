"""Monitoring results as the operator reads them: one row per monitored month.

A month's row joins its own result (rows scored, drift share and columns) with the
newest result that scored its predictions again (estimated and realised ROC-AUC and
Brier, label coverage: later runs know more closed deals) and the alerts raised when it
was monitored. Pure functions over the documents the monitoring flow writes.
"""

from __future__ import annotations

from typing import Any

GENERATED = "replayed months are generated data, not the CRM's"


def _latest_performance(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for result in sorted(results, key=lambda r: r["month"]):
        for entry in result.get("performance") or []:
            latest[entry["month"]] = entry
    return latest


def month_rows(results: list[dict[str, Any]], alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per monitored month, oldest first (see the module docstring)."""
    performance = _latest_performance(results)
    rows = []
    for result in sorted(results, key=lambda r: r["month"]):
        month = result["month"]
        drift = result.get("drift") or {}
        entry = performance.get(month, {})
        estimated = entry.get("estimated") or {}
        realised = entry.get("realised") or {}
        raised = [a for a in alerts if a.get("month") == month]
        rows.append(
            {
                "month": month,
                "generated": bool(result.get("generated")),
                "rows_scored": result.get("current_rows", 0),
                "drift_share": drift.get("share"),
                "drifted_columns": drift.get("drifted_columns", []),
                "not_computable": sorted(drift.get("not_computable") or {}),
                "estimated_roc_auc": estimated.get("roc_auc"),
                "estimated_brier": estimated.get("brier"),
                "realised_roc_auc": realised.get("roc_auc"),
                "realised_brier": realised.get("brier"),
                "label_coverage": entry.get("label_coverage"),
                "rules_firing": [t["rule"] for t in result.get("triggers", []) if t.get("firing")],
                "alerts": len(raised),
                "retraining_runs": [
                    a["retraining"]["flow_run_id"]
                    for a in raised
                    if (a.get("retraining") or {}).get("flow_run_id")
                ],
            }
        )
    return rows


def summarise(
    results: list[dict[str, Any]],
    alerts: list[dict[str, Any]],
    replay: dict[str, Any] | None,
    replay_results: list[dict[str, Any]],
    replay_alerts: list[dict[str, Any]],
) -> dict[str, Any]:
    """The status document: the platform's months and, separately, the latest replay's."""
    status: dict[str, Any] = {
        "months": month_rows(results, alerts),
        "alerts": alerts,
        "replay": None,
    }
    if replay:
        status["replay"] = {
            **replay,
            "note": GENERATED,
            "months_monitored": month_rows(replay_results, replay_alerts),
            "alerts": replay_alerts,
        }
    return status
