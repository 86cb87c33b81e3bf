"""Flow: the whole pipeline, acquisition -> monthly processing -> training, as subflows."""

from __future__ import annotations

from typing import Any

from prefect import flow

from workloads.flows.acquisition import acquisition
from workloads.flows.processing import monthly_processing
from workloads.flows.runtime import month_run_name, rename_run
from workloads.flows.training import training


@flow(name="crm-pipeline", flow_run_name=month_run_name("pipeline"))
def crm_pipeline(
    source: str = "synthetic",
    rows: int = 8800,
    seed: int = 42,
    month: str | None = None,
    data_url: str | None = None,
    quality_threshold: float | None = None,
    model_name: str | None = None,
    champion_alias: str | None = None,
    challenger_alias: str | None = None,
    trials: int | None = None,
    margins: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Acquire ``source``, process ``month`` (default: the data's last), train and gate."""
    acquired = acquisition(source=source, rows=rows, seed=seed, data_url=data_url)
    processed = monthly_processing(
        month=month,
        version=acquired["version"],
        data_url=data_url,
        quality_threshold=quality_threshold,
    )
    rename_run(f"pipeline-{processed['month']}")
    trained = training(
        month=processed["month"],
        version=acquired["version"],
        data_url=data_url,
        model_name=model_name,
        champion_alias=champion_alias,
        challenger_alias=challenger_alias,
        trials=trials,
        margins=margins,
    )
    return {"acquisition": acquired, "processing": processed, "training": trained}
