"""Monitoring results as the Monitoring page shows them, from monitoring storage.

Two sources: the platform's own months (``<monitoring>/results``, ``alerts``) and the
latest demo replay (``<monitoring>/replay/latest.json`` and its folder), which is
generated data and always shown as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ml import storage
from workloads.monitoring.results import read_alerts, read_latest_replay, read_results

GENERATED = (
    "Replayed months are generated data: deals made up by `opsctl demo replay`, scored by "
    "the real prediction service, closing over the following months. They are not the CRM's."
)


@dataclass(frozen=True)
class Source:
    """One set of monitored months: its results (oldest first) and alerts (newest first)."""

    label: str
    results: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    generated: bool = False
    replay: dict[str, Any] | None = None


def load(monitoring_url: str) -> list[Source]:
    """The platform's months, then the latest replay's when one ran."""
    sources = [Source("Platform months", read_results(monitoring_url), read_alerts(monitoring_url))]
    replay = read_latest_replay(monitoring_url)
    if replay:
        folder = storage.join(monitoring_url, "replay", replay["replay_id"])
        label = f"Demo replay {replay['replay_id']} (generated data)"
        sources.append(Source(label, read_results(folder), read_alerts(folder), True, replay))
    return sources


def drift_by_month(results: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per month with drift measured: share, threshold, drifted and not computable
    columns, prediction drift."""
    rows = []
    for r in results:
        drift = r.get("drift")
        if not drift:
            continue
        rules = r.get("settings", {}).get("rules", [])
        rule: dict[str, Any] = next((x for x in rules if x["name"] == "drift_share"), {})
        rows.append(
            {
                "month": r["month"],
                "drift share": drift.get("share"),
                "threshold": rule.get("threshold"),
                "drifted columns": ", ".join(drift.get("drifted_columns", [])) or "-",
                "not computable": "; ".join(
                    f"{c}: {why}" for c, why in (drift.get("not_computable") or {}).items()
                )
                or "-",
                "prediction drift": drift.get("prediction_drifted"),
                "rows scored": r.get("current_rows"),
            }
        )
    return pd.DataFrame(rows)


def _band(values: Any, index: int) -> float | None:
    return values[index] if values else None


def performance_by_month(results: list[dict[str, Any]]) -> pd.DataFrame:
    """Estimated and realised performance per month of prediction, from the newest result
    that scored it (later runs know more closed deals), with label coverage."""
    latest: dict[str, dict[str, Any]] = {}
    for result in results:
        for month in result.get("performance", []):
            latest[month["month"]] = month
    rows = []
    for m, v in sorted(latest.items()):
        estimated, realised = v.get("estimated") or {}, v.get("realised") or {}
        rows.append(
            {
                "month": m,
                "predictions": v.get("predictions"),
                "closed deals": v.get("labelled"),
                "label coverage": v.get("label_coverage"),
                "estimated ROC-AUC": estimated.get("roc_auc"),
                "ROC-AUC band low": _band(estimated.get("roc_auc_band"), 0),
                "ROC-AUC band high": _band(estimated.get("roc_auc_band"), 1),
                "realised ROC-AUC": realised.get("roc_auc"),
                "estimated Brier": estimated.get("brier"),
                "Brier band low": _band(estimated.get("brier_band"), 0),
                "Brier band high": _band(estimated.get("brier_band"), 1),
                "realised Brier": realised.get("brier"),
                "expected wins": estimated.get("wins"),
                "wins so far": realised.get("wins"),
            }
        )
    return pd.DataFrame(rows)


def convergence(results: list[dict[str, Any]], month: str) -> pd.DataFrame:
    """How one month of prediction looked at each later run, indexed by the date its
    labels were known: label coverage, estimated and realised ROC-AUC and Brier."""
    rows = []
    for result in results:
        entry = next((p for p in result.get("performance", []) if p["month"] == month), None)
        if entry is None:
            continue
        estimated, realised = entry.get("estimated") or {}, entry.get("realised") or {}
        rows.append(
            {
                "labels as of": result.get("labels_as_of") or result["month"],
                "label coverage": entry.get("label_coverage"),
                "estimated ROC-AUC": estimated.get("roc_auc"),
                "realised ROC-AUC": realised.get("roc_auc"),
                "estimated Brier": estimated.get("brier"),
                "realised Brier": realised.get("brier"),
            }
        )
    return pd.DataFrame(rows)


def latest_with_drift(results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest result that measured drift (a month with predictions)."""
    return next((r for r in reversed(results) if r.get("drift")), None)


def segments(
    result: dict[str, Any], drift_result: dict[str, Any] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(drift per segment of ``drift_result``'s month (default: the result's), performance
    per segment and month of prediction from ``result``)."""
    found = result.get("segments") or {}
    drifts = ((drift_result or result).get("segments") or {}).get("drift", [])
    drift = pd.DataFrame(
        {
            "dimension": e["dimension"],
            "segment": e["segment"],
            "rows": e["rows"],
            "reference rows": e["reference_rows"],
            "drift share": "too small to judge" if e["too_small"] else e.get("share"),
            "drifted columns": ", ".join(e.get("drifted_columns", [])) or "-",
            "flagged": e.get("flagged", False),
        }
        for e in drifts
    )
    performance = pd.DataFrame(
        {
            "month": e["month"],
            "dimension": e["dimension"],
            "segment": e["segment"],
            "rows": e["rows"],
            "label coverage": e.get("label_coverage"),
            "estimated Brier": "too small to judge" if e["too_small"] else e.get("estimated_brier"),
            "realised Brier": e.get("realised_brier"),
            "estimated ROC-AUC": e.get("estimated_roc_auc"),
            "realised ROC-AUC": e.get("realised_roc_auc"),
        }
        for e in found.get("performance", [])
    )
    return drift, performance


def triggers(result: dict[str, Any]) -> pd.DataFrame:
    """Where each rule stands after the result's month."""
    return pd.DataFrame(
        {
            "rule": t["rule"],
            "needs": f"{t['n']} of {t['m']}",
            "judged months": ", ".join(t["window"]) or "-",
            "breached months": ", ".join(t["breached_months"]) or "-",
            "limit": t.get("limit"),
            "firing": t["firing"],
            "since": t.get("since") or "-",
        }
        for t in result.get("triggers", [])
    )


def alert_lines(alerts: list[dict[str, Any]]) -> list[str]:
    """One sentence per alert: the rules that started firing, their months and segments,
    and the retraining run it started."""
    lines = []
    for a in alerts:
        rules = "; ".join(
            f"{t['rule']} broke in {', '.join(t['breached_months'])}"
            + (f" (segments: {', '.join(t['segments'])})" if t.get("segments") else "")
            for t in a.get("triggers", [])
        )
        retraining = a.get("retraining") or {}
        lines.append(
            f"{a.get('month')}: {a.get('model')}: {rules or 'rules fired'}. Retraining "
            f"{retraining.get('status', '-')}: {retraining.get('detail', '')}"
        )
    return lines


def alerts_table(alerts: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per alert: when, month, model, which rules, months and segments, and what
    followed (retraining run, webhook, MLflow tag)."""
    rows = []
    for a in alerts:
        fired = a.get("triggers", [])
        retraining = a.get("retraining") or {}
        rows.append(
            {
                "raised at": a.get("raised_at"),
                "month": a.get("month"),
                "model": a.get("model"),
                "rules": ", ".join(t["rule"] for t in fired) or "-",
                "months": "; ".join(", ".join(t["breached_months"]) for t in fired) or "-",
                "segments": "; ".join(s for t in fired for s in t.get("segments", {})) or "-",
                "retraining": f"{retraining.get('status', '-')}: {retraining.get('detail', '')}",
                "training run": retraining.get("flow_run_id") or "-",
                "webhook": a.get("webhook", "-"),
                "MLflow": a.get("mlflow", "-"),
            }
        )
    return pd.DataFrame(rows)
