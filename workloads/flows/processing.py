"""Flow: monthly processing = validation + month-end snapshot + features."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from ml.runs import process_month
from workloads.flows.runtime import month_run_name, rename_run, resolve, storage_task
from workloads.flows.settings import pipeline_settings


@storage_task
def process(url: str, version: str, month: str, threshold: float) -> dict[str, Any]:
    return process_month(url, version, month, threshold)


@flow(name="monthly-processing", flow_run_name=month_run_name("processing"))
def monthly_processing(
    month: str | None = None,
    version: str | None = None,
    data_url: str | None = None,
    quality_threshold: float | None = None,
) -> dict[str, Any]:
    """Validate raw data (quarantine, quality gate) and write ``month``'s snapshot and
    features. ``month`` defaults to the data's last month, ``version`` to the latest."""
    settings = pipeline_settings(data_url_value=data_url, quality_threshold=quality_threshold)
    version, month = resolve(settings.data_url, version, month)
    rename_run(f"processing-{month}")
    summary = process(settings.data_url, version, month, settings.quality_threshold)
    get_run_logger().info(
        "month %s: quality %.3f, %s quarantined, %d open deals scored",
        month,
        summary["quality_score"],
        summary["quarantined_rows"],
        summary["open_deals_scored"],
    )
    return summary
