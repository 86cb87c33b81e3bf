"""Flow: acquire raw data from Kaggle, a folder or the generator into object storage."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from ml.data.sources import make_source
from ml.runs import acquire_step
from workloads.flows.runtime import storage_task
from workloads.flows.settings import PipelineSettings, resolved


@storage_task
def land(source: str, rows: int, seed: int, drift: float, url: str) -> dict[str, Any]:
    """Acquire ``source`` into ``url`` (see :func:`ml.runs.acquire_step`)."""
    return acquire_step(make_source(source, rows=rows, seed=seed, drift=drift), url)


@flow(name="acquisition", flow_run_name="acquisition-{source}")
def acquisition(
    source: str,
    rows: int,
    seed: int = 42,
    drift: float = 0.0,
    settings: PipelineSettings | None = None,
) -> dict[str, Any]:
    """Land ``source`` (``kaggle``, ``synthetic`` or a folder path) under the settings'
    data URL; acquiring identical data again writes nothing and says so. Returns
    :func:`ml.runs.acquire_step`'s summary (``version``, ``message``, ...)."""
    result = land(source, rows, seed, drift, resolved(settings).data_url)
    get_run_logger().info(result["message"])
    return result
