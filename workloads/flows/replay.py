"""Flow: a demo replay of generated months (see ``workloads.monitoring.replay``).

Generated deals for ``months`` months after the champion's training month are scored
through the prediction service (so they land in the prediction log), their outcomes
are kept as the months' "future", and the monitoring flow runs month by month with
the outcomes known at each month-end, then for ``settle_months`` more months in which
only labels arrive. Results, alerts and state go to ``<monitoring>/replay/<id>/`` and
the snapshots to their own Evidently project; ``<monitoring>/replay/latest.json`` names
the latest replay. Every document it writes says ``"generated": true``.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger

from ml import storage
from ml.snapshots import month_end
from workloads.flows.monitoring import monitoring
from workloads.flows.runtime import storage_task
from workloads.monitoring import replay as generated
from workloads.monitoring import results
from workloads.monitoring.logs import read_predictions
from workloads.monitoring.reference import Reference, champion_reference
from workloads.monitoring.settings import MonitoringSettings, ReplayScope, resolved

NOTE = "Replayed months are generated data, scored by the prediction service; not the CRM's."


@storage_task
def load_reference(settings: MonitoringSettings) -> Reference:
    """The champion's training reference (see :func:`champion_reference`)."""
    return champion_reference(
        settings.data_url, settings.monitoring_url, settings.model_name, settings.champion_alias
    )


def serving_key() -> str | None:
    """The prediction service's API key, when the platform requires one."""
    return os.environ.get("CRM_SERVING_API_KEY") or os.environ.get("OPSCTL_SECRET_SERVING_API_KEY")


def wait_for_log(
    settings: MonitoringSettings,
    plan: generated.ReplayPlan,
    since: str,
    expected: int,
    timeout_s: float,
) -> int:
    """Wait until the prediction log holds the replay's ``expected`` rows (the service
    writes its log in the background); returns how many it holds. Raises TimeoutError."""
    deadline = time.monotonic() + timeout_s
    found = 0
    while time.monotonic() < deadline:
        found = len(read_predictions(settings.predictions_url, plan.months, since, plan.prefix))
        if found >= expected:
            return found
        time.sleep(3)
    raise TimeoutError(
        f"the prediction log at {settings.predictions_url} holds {found} of the replay's "
        f"{expected} rows after {timeout_s:.0f}s: is the service writing its log?"
    )


def _pointer(settings: MonitoringSettings, summary: dict[str, Any]) -> None:
    storage.write_json(results.latest_replay_url(settings.monitoring_url), summary)


def score_and_keep(
    settings: MonitoringSettings,
    plan: generated.ReplayPlan,
    reference: Reference,
    serving_url: str,
    output_url: str,
    log_timeout_s: float,
) -> ReplayScope:
    """Generate the deals, score them through the service, keep their outcomes, and wait
    for the service's log to hold them; returns the monitoring runs' replay scope."""
    since = datetime.now(UTC).date().isoformat()
    scored = generated.score(serving_url, generated.generate(plan, reference), serving_key())
    outcomes_url = storage.join(output_url, "outcomes.parquet")
    storage.write_parquet(outcomes_url, generated.outcomes(scored, plan.seed))
    get_run_logger().info("%s: %d generated deals scored by %s", NOTE, len(scored), serving_url)
    wait_for_log(settings, plan, since, len(scored), log_timeout_s)
    return ReplayScope(
        replay_id=plan.replay_id, outcomes_url=outcomes_url, since=since, prefix=plan.prefix
    )


def monitor_month(
    month: str, scope: ReplayScope, settings: MonitoringSettings
) -> dict[str, Any] | None:
    """One monitoring run of the replay, with the outcomes known at the month-end;
    returns the alert it raised, if any."""
    labels_as_of = month_end(month).date().isoformat()
    result = monitoring(month=month, labels_as_of=labels_as_of, replay=scope, settings=settings)
    return result["alert"]


@flow(name="demo-replay")
def demo_replay(
    serving_url: str,
    months: int = 6,
    drift: float = 1.0,
    rows_per_month: int = 400,
    settle_months: int = 2,
    seed: int = 7,
    log_timeout_s: float = 300.0,
    settings: MonitoringSettings | None = None,
) -> dict[str, Any]:
    """Replay ``months`` generated months with ``drift`` (0..1) from the second month on,
    through the service at ``serving_url``; returns the replay's summary (also at
    ``<monitoring>/replay/latest.json``). ``settings`` (default: the ``MONITORING_*``
    variables') go to every monitoring run of the replay."""
    logger = get_run_logger()
    settings = resolved(settings)
    reference = load_reference(settings)
    plan = generated.plan(reference.data_month, months, drift, rows_per_month, seed)
    summary: dict[str, Any] = {
        "replay_id": plan.replay_id, "generated": True, "note": NOTE, "status": "running",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"), "months": plan.months,
        "drifts": plan.drifts, "rows_per_month": rows_per_month, "settle_months": settle_months,
        "model": {"name": reference.model_name, "version": reference.model_version},
        "output_url": storage.join(settings.monitoring_url, "replay", plan.replay_id),
    }  # fmt: skip
    _pointer(settings, summary)
    scope = score_and_keep(
        settings, plan, reference, serving_url, summary["output_url"], log_timeout_s
    )
    last = pd.Period(plan.months[-1], freq="M")
    runs = plan.months + [(last + i).strftime("%Y-%m") for i in range(1, settle_months + 1)]
    alerts = [a for a in (monitor_month(m, scope, settings) for m in runs) if a]
    summary.update(
        status="finished",
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        monitored_months=runs,
        alerts=len(alerts),
        retraining=[a["retraining"] for a in alerts],
    )
    _pointer(settings, summary)
    logger.info(
        "replay %s: %d months monitored, %d alert(s)", plan.replay_id, len(runs), len(alerts)
    )
    return summary
