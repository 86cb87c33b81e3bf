"""``opsctl monitor run | status`` and ``opsctl demo replay``: the operator's side of
monitoring.

opsctl never imports the monitoring code: deployments are registered the way
``opsctl pipeline run`` registers them (``python -m workloads.flows.deploy``), runs
are created and followed over Prefect's REST API (``PREFECT_API_URL`` overrides the
discovered endpoint), and results are read from the monitoring bucket.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ops_cli import pipeline
from ops_cli.discovery.resolve import service_url
from ops_cli.environment import Environment
from ops_cli.errors import ConfigError, OpsError
from ops_cli.monitor.store import MonitoringStore, open_monitoring_store
from ops_cli.monitor.summary import summarise
from ops_cli.pipeline import PrefectApi, RunProgress

MONITORING_DEPLOYMENT = "monitoring/monthly"
REPLAY_DEPLOYMENT = "demo-replay/replay"
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def follow(
    api: PrefectApi,
    run_id: str,
    *,
    wait: bool,
    on_progress: Callable[[RunProgress], None],
    timeout_s: float,
    poll_s: float,
) -> RunProgress:
    """Observe run ``run_id``; with ``wait`` until it ends or ``timeout_s`` passes,
    reporting each change (state or subflow states) to ``on_progress``."""
    observed = api.progress(run_id)
    on_progress(observed)
    deadline = time.monotonic() + timeout_s
    while wait and not observed.finished and time.monotonic() < deadline:
        time.sleep(poll_s)
        latest = api.progress(run_id)
        if (latest.state, latest.steps) != (observed.state, observed.steps):
            on_progress(latest)
        observed = latest
    return observed


def _register(env: Environment) -> PrefectApi:
    eps = pipeline.endpoints(env)
    source = pipeline.resolve_source(None, env)
    pipeline.deploy(env, eps, source=source, rows=env.config.pipeline.default_rows)
    return pipeline.prefect_api(env, eps.prefect_api)


def run(
    env: Environment,
    *,
    month: str | None,
    wait: bool,
    on_progress: Callable[[RunProgress], None],
    timeout_s: float = 1800,
    poll_s: float = 2.0,
) -> RunProgress:
    """Start a run of the monitoring flow for ``month`` (``YYYY-MM``, not after this
    calendar month; default: the previous one) and, with ``wait``, follow it to its
    end. Raises ConfigError for a malformed or future month, OpsError when the platform
    cannot be reached."""
    if month is not None and not _MONTH.match(month):
        raise ConfigError(f"--month {month}: expected YYYY-MM, e.g. 2018-03")
    this_month = datetime.now(UTC).strftime("%Y-%m")
    if month is not None and month > this_month:
        raise ConfigError(f"--month {month}: has not begun (this is {this_month})")
    api = _register(env)
    created = api.create_run(MONITORING_DEPLOYMENT, {"month": month} if month else {})
    return follow(api, created["id"], wait=wait, on_progress=on_progress, timeout_s=timeout_s,
                  poll_s=poll_s)  # fmt: skip


def read_status(store: MonitoringStore) -> dict[str, Any]:
    """The platform's monitored months and alerts, and the latest demo replay's."""
    replay = store.read("replay/latest.json")
    prefix = f"replay/{replay['replay_id']}/" if replay else None
    return summarise(
        store.read_folder("results/"),
        store.read_folder("alerts/"),
        replay,
        store.read_folder(prefix + "results/") if prefix else [],
        store.read_folder(prefix + "alerts/") if prefix else [],
    )


def status(env: Environment) -> dict[str, Any]:
    """Per monitored month: rows scored, drift share and drifted columns, estimated and
    realised ROC-AUC and Brier, label coverage, alerts and retraining runs; the same for
    the latest demo replay, marked as generated data."""
    found = read_status(open_monitoring_store(env))
    return {"environment": env.name, **found}


def serving_url(env: Environment) -> str:
    """The prediction service's base URL: ``CRM_SERVING_URL``, else Discovery's
    (:func:`ops_cli.discovery.resolve.service_url`)."""
    return service_url(env, "serving", "CRM_SERVING_URL")


def replay(
    env: Environment,
    *,
    months: int,
    drift: float,
    rows: int,
    settle_months: int = 2,
    on_progress: Callable[[RunProgress], None],
    timeout_s: float = 1800,
    poll_s: float = 2.0,
) -> tuple[RunProgress, dict[str, Any] | None]:
    """Run a demo replay on a local environment and follow it to its end; returns the
    last observation of the run and the replay's status (None if it wrote none).
    Raises ConfigError on a cluster environment, OpsError without a champion."""
    if not env.config.is_local:
        raise ConfigError(
            f"environment '{env.name}': demo replay writes generated data and runs on a "
            "local environment only"
        )
    if pipeline.champion_version(env) is None:
        raise OpsError(
            f"environment '{env.name}' has no champion model to replay months for",
            hint=f"`opsctl up --env {env.name}` trains one, or run `opsctl pipeline run --wait`",
        )
    serving = serving_url(env)
    api = _register(env)
    parameters = {"serving_url": serving, "months": months, "drift": drift,
                  "rows_per_month": rows, "settle_months": settle_months}  # fmt: skip
    created = api.create_run(REPLAY_DEPLOYMENT, parameters)
    observed = follow(api, created["id"], wait=True, on_progress=on_progress, timeout_s=timeout_s,
                      poll_s=poll_s)  # fmt: skip
    return observed, read_status(open_monitoring_store(env))["replay"]
