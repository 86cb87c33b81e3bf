"""Register the pipeline's deployments on a Prefect work pool (default ``platform``).

Run as ``python -m workloads.flows.deploy [options]`` with ``PREFECT_API_URL`` set;
prints one JSON document: the deployments registered, with their ids and schedules.

Deployments:

- ``crm-pipeline/crm-pipeline``: the whole pipeline, on demand (``opsctl pipeline run``);
- ``acquisition/acquisition``: acquisition alone, on demand;
- ``monthly-processing/monthly``: each month on the 1st at 02:00 UTC;
- ``training/monthly``: each month on the 1st at 04:00 UTC, after processing;
- ``monitoring/monthly``: each month on the 1st at 06:00 UTC: drift, estimated and
  realised performance of the previous month, N-of-M rules, alerts, cooled-down retraining;
- ``demo-replay/replay``: on demand (``opsctl demo replay``): generated months scored by
  the prediction service and monitored month by month, with the monitoring settings.

Settings are read once, from ``PIPELINE_*`` and ``MONITORING_*`` variables
(:mod:`workloads.flows.settings`, :mod:`workloads.monitoring.settings`; opsctl sets them
from the environment's config), and reach every flow whole, as its ``settings``
deployment parameter, so a run shows what it used. A value a model refuses stops the
command with exit 2 and one line naming the variable.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

from workloads.flows.settings import PipelineSettings
from workloads.monitoring.settings import MonitoringSettings
from workloads.settings import SettingsError, load

PROCESSING_CRON = "0 2 1 * *"
TRAINING_CRON = "0 4 1 * *"
MONITORING_CRON = "0 6 1 * *"


def parse_args(argv: list[str]) -> argparse.Namespace:
    """``--pool`` (default ``platform``), and the pipeline's default run parameters
    ``--source`` and ``--rows`` (required: opsctl passes the environment's)."""
    parser = argparse.ArgumentParser(prog="python -m workloads.flows.deploy")
    parser.add_argument("--pool", default="platform")
    parser.add_argument("--source", required=True)
    parser.add_argument("--rows", type=int, required=True)
    return parser.parse_args(argv)


def deployment_specs(
    args: argparse.Namespace, pipeline: PipelineSettings, monitoring_settings: MonitoringSettings
) -> list[dict[str, Any]]:
    """What to register: per deployment a dict with ``flow``, ``name``, ``cron`` (None:
    on demand) and ``parameters``; every flow's ``settings`` are the whole model."""
    from workloads.flows.acquisition import acquisition
    from workloads.flows.monitoring import monitoring
    from workloads.flows.pipeline import crm_pipeline
    from workloads.flows.processing import monthly_processing
    from workloads.flows.replay import demo_replay
    from workloads.flows.scoring import deployment_spec as scoring_deployment
    from workloads.flows.training import training

    run = {"source": args.source, "rows": args.rows}
    return [
        {"flow": crm_pipeline, "name": "crm-pipeline", "cron": None,
         "parameters": {**run, "settings": pipeline}},
        {"flow": acquisition, "name": "acquisition", "cron": None,
         "parameters": {**run, "settings": pipeline}},
        {"flow": monthly_processing, "name": "monthly", "cron": PROCESSING_CRON,
         "parameters": {"settings": pipeline}},
        {"flow": training, "name": "monthly", "cron": TRAINING_CRON,
         "parameters": {"settings": pipeline}},
        {"flow": monitoring, "name": "monthly", "cron": MONITORING_CRON,
         "parameters": {"settings": monitoring_settings}},
        {"flow": demo_replay, "name": "replay", "cron": None,
         "parameters": {"settings": monitoring_settings}},
        scoring_deployment(pipeline),
    ]  # fmt: skip


def ensure_pool(name: str) -> None:
    """Create process work pool ``name`` unless it exists (the worker may not have yet)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    with get_client(sync_client=True) as client, contextlib.suppress(ObjectAlreadyExists):
        client.create_work_pool(WorkPoolCreate(name=name, type="process"))


def register(
    args: argparse.Namespace,
    pipeline: PipelineSettings | None = None,
    monitoring_settings: MonitoringSettings | None = None,
) -> list[dict[str, Any]]:
    """Create or update every deployment on ``args.pool`` with ``pipeline`` and
    ``monitoring_settings`` (default: the variables'); returns per deployment a dict with
    ``deployment``, ``id``, ``schedule`` and ``pool``. Raises SettingsError naming a
    variable whose value is refused."""
    from prefect.deployments.runner import EntrypointType

    pipeline = pipeline or load(PipelineSettings)
    monitoring_settings = monitoring_settings or load(MonitoringSettings)
    ensure_pool(args.pool)
    registered = []
    for spec in deployment_specs(args, pipeline, monitoring_settings):
        deployment = spec["flow"].to_deployment(
            name=spec["name"],
            cron=spec["cron"],
            parameters=spec["parameters"],
            work_pool_name=args.pool,
            entrypoint_type=EntrypointType.MODULE_PATH,
            tags=["crm-pipeline"],
        )
        deployment_id = deployment.apply()
        registered.append(
            {
                "deployment": f"{spec['flow'].name}/{spec['name']}",
                "id": str(deployment_id),
                "schedule": spec["cron"],
                "pool": args.pool,
            }
        )
    return registered


def main(argv: list[str] | None = None) -> None:
    """Register the deployments and print them as JSON; a refused setting exits 2."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        pipeline, monitoring_settings = load(PipelineSettings), load(MonitoringSettings)
    except SettingsError as exc:
        print(f"workloads.flows.deploy: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(json.dumps({"deployments": register(args, pipeline, monitoring_settings)}, indent=2))


if __name__ == "__main__":
    main()
