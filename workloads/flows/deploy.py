"""Register the pipeline's deployments on a Prefect work pool (default ``platform``).

Run as ``python -m workloads.flows.deploy [options]`` with ``PREFECT_API_URL`` set;
prints one JSON document: the deployments registered, with their ids and schedules.

Deployments:

- ``crm-pipeline/crm-pipeline``: the whole pipeline, on demand (``opsctl pipeline run``);
- ``acquisition/acquisition``: acquisition alone, on demand;
- ``monthly-processing/monthly``: each month on the 1st at 02:00 UTC;
- ``training/monthly``: each month on the 1st at 04:00 UTC, after processing;
- ``monitoring/monthly``: each month on the 1st at 06:00 UTC: drift and realised
  performance of the previous month, alerts, cooled-down retraining.

Settings reach the flows as deployment parameters, so a run shows what it used.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

PROCESSING_CRON = "0 2 1 * *"
TRAINING_CRON = "0 4 1 * *"
MONITORING_CRON = "0 6 1 * *"
MONITORING_NAMES = ("drift_share_threshold", "min_auc", "webhook_url_secret", "cooldown_days")
MARGIN_NAMES = (
    "auc_over_baseline",
    "brier_over_baseline",
    "auc_over_champion",
    "brier_over_champion",
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m workloads.flows.deploy")
    parser.add_argument("--pool", default="platform")
    parser.add_argument("--data-url", required=True)
    parser.add_argument("--model-name", default="crm-win-probability")
    parser.add_argument("--champion-alias", default="champion")
    parser.add_argument("--challenger-alias", default="challenger")
    parser.add_argument("--quality-threshold", type=float, default=0.95)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--source", default="synthetic")
    parser.add_argument("--rows", type=int, default=8800)
    parser.add_argument(
        "--margin",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"a promotion margin; names: {', '.join(MARGIN_NAMES)}",
    )
    parser.add_argument("--predictions-url", default="s3://prediction-logs")
    parser.add_argument("--monitoring-url", default="s3://monitoring")
    parser.add_argument(
        "--monitoring",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"a monitoring setting; names: {', '.join(MONITORING_NAMES)}",
    )
    return parser.parse_args(argv)


def margins_from(pairs: list[str]) -> dict[str, float]:
    """``["auc_over_baseline=0.01"]`` -> ``{"auc_over_baseline": 0.01}``; rejects unknown names."""
    margins = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in MARGIN_NAMES:
            raise SystemExit(f"--margin {pair}: unknown name; allowed: {', '.join(MARGIN_NAMES)}")
        margins[name] = float(value)
    return margins


def monitoring_from(pairs: list[str]) -> dict[str, float | str]:
    """``["min_auc=0.55"]`` -> ``{"min_auc": 0.55}``; rejects unknown names."""
    settings: dict[str, float | str] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in MONITORING_NAMES:
            raise SystemExit(
                f"--monitoring {pair}: unknown name; allowed: {', '.join(MONITORING_NAMES)}"
            )
        settings[name] = value if name == "webhook_url_secret" else float(value)
    return settings


def deployment_specs(args: argparse.Namespace) -> list[dict[str, Any]]:
    """What to register: flow, deployment name, schedule and parameters."""
    from workloads.flows.acquisition import acquisition
    from workloads.flows.monitoring import monitoring
    from workloads.flows.pipeline import crm_pipeline
    from workloads.flows.processing import monthly_processing
    from workloads.flows.scoring import deployment_spec as scoring_deployment
    from workloads.flows.training import training

    registry = {
        "model_name": args.model_name,
        "champion_alias": args.champion_alias,
        "challenger_alias": args.challenger_alias,
        "trials": args.trials,
        "margins": margins_from(args.margin),
    }
    return [
        {
            "flow": crm_pipeline,
            "name": "crm-pipeline",
            "cron": None,
            "parameters": {
                "source": args.source,
                "rows": args.rows,
                "data_url": args.data_url,
                "quality_threshold": args.quality_threshold,
                **registry,
            },
        },
        {
            "flow": acquisition,
            "name": "acquisition",
            "cron": None,
            "parameters": {"source": args.source, "rows": args.rows, "data_url": args.data_url},
        },
        {
            "flow": monthly_processing,
            "name": "monthly",
            "cron": PROCESSING_CRON,
            "parameters": {"data_url": args.data_url, "quality_threshold": args.quality_threshold},
        },
        {
            "flow": training,
            "name": "monthly",
            "cron": TRAINING_CRON,
            "parameters": {"data_url": args.data_url, **registry},
        },
        {
            "flow": monitoring,
            "name": "monthly",
            "cron": MONITORING_CRON,
            "parameters": {
                "data_url": args.data_url,
                "predictions_url": args.predictions_url,
                "monitoring_url": args.monitoring_url,
                "model_name": args.model_name,
                "champion_alias": args.champion_alias,
                "training_deployment": "training/monthly",
                **monitoring_from(args.monitoring),
            },
        },
        scoring_deployment(args),
    ]


def ensure_pool(name: str) -> None:
    """Create process work pool ``name`` unless it exists (the worker may not have yet)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    with get_client(sync_client=True) as client, contextlib.suppress(ObjectAlreadyExists):
        client.create_work_pool(WorkPoolCreate(name=name, type="process"))


def register(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Create or update every deployment on ``args.pool``; returns what was registered."""
    from prefect.deployments.runner import EntrypointType

    ensure_pool(args.pool)
    registered = []
    for spec in deployment_specs(args):
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
    args = parse_args(sys.argv[1:] if argv is None else argv)
    print(json.dumps({"deployments": register(args)}, indent=2))


if __name__ == "__main__":
    main()
