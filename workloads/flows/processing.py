"""Flow: monthly processing = validation + month-end snapshot + features."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from ml.data.acquire import latest_version
from ml.runs import process_month
from workloads.flows.runtime import month_run_name, rename_run, storage_task
from workloads.flows.settings import PipelineSettings, resolved


@storage_task
def process(url: str, version: str | None, month: str | None, threshold: float) -> dict[str, Any]:
    """Process ``month`` of raw ``version`` (the latest when None); see :func:`ml.runs.process_month`."""
    return process_month(url, version or latest_version(url), month, threshold)


@flow(name="monthly-processing", flow_run_name=month_run_name("processing"))
def monthly_processing(
    month: str | None = None,
    version: str | None = None,
    settings: PipelineSettings | None = None,
) -> dict[str, Any]:
    """Validate raw data (quarantine, quality gate) and write ``month``'s snapshot and
    features. ``month`` defaults to the data's last month, ``version`` to the latest.
    Returns :func:`ml.runs.process_month`'s summary (``month``, ``rows_read``, ...)."""
    settings = resolved(settings)
    # the month is resolved after validation, from the dates it could read
    summary = process(settings.data_url, version, month, settings.quality_threshold)
    month = summary["month"]
    rename_run(f"processing-{month}")
    logger = get_run_logger()
    logger.info(
        "month %s: %d rows read, quality %.3f, %s quarantined, %d open deals scored",
        month,
        summary["rows_read"],
        summary["quality_score"],
        summary["quarantined_rows"],
        summary["open_deals_scored"],
    )
    for note in summary["reading"]:
        logger.info("read: %s", note)
    return summary
