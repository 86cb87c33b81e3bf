"""Flow: the whole pipeline, acquisition -> monthly processing -> training, as subflows."""

from __future__ import annotations

from typing import Any

from prefect import flow

from workloads.flows.acquisition import acquisition
from workloads.flows.processing import monthly_processing
from workloads.flows.runtime import month_run_name, rename_run
from workloads.flows.settings import PipelineSettings, resolved
from workloads.flows.training import training


@flow(name="crm-pipeline", flow_run_name=month_run_name("pipeline"))
def crm_pipeline(
    source: str,
    rows: int,
    seed: int = 42,
    month: str | None = None,
    settings: PipelineSettings | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Acquire ``source``, process ``month`` (default: the data's last), train and gate;
    a version already trained on the same data, code and settings is reused unless
    ``force`` (``workloads.flows.training``). Every step gets the same ``settings``
    (default: the ``PIPELINE_*`` variables'). Returns the steps' summaries under
    ``acquisition``, ``processing`` and ``training``."""
    settings = resolved(settings)
    acquired = acquisition(source=source, rows=rows, seed=seed, settings=settings)
    processed = monthly_processing(month=month, version=acquired["version"], settings=settings)
    rename_run(f"pipeline-{processed['month']}")
    trained = training(
        month=processed["month"],
        version=acquired["version"],
        settings=settings,
        force=force,
    )
    return {"acquisition": acquired, "processing": processed, "training": trained}
