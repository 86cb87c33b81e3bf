"""The training reference of the champion: its out-of-time evaluation rows (what the
model was judged on when it was trained) with the model's own predictions, plus what
monitoring needs of its training data: the segment lookup (agents' managers and
offices, products' series) and which data version and month it was trained on.

Built once per model version from the MLflow run that trained it (raw data version,
training month, split sizes) and cached in monitoring storage at
``<monitoring url>/reference/<model>-v<version>.parquet`` (rows) and ``.json`` (the rest).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ml import storage
from ml.features import INPUT_COLUMNS
from ml.modeling.splits import time_splits
from ml.runs import load_tables
from workloads.monitoring.segments import SegmentLookup


@dataclass(frozen=True)
class Reference:
    """The reference rows (inputs, ``won``, ``win_probability``, segment columns) of one
    model version, its segment lookup and the data it was trained on."""

    model_name: str
    model_version: str
    rows: pd.DataFrame
    lookup: SegmentLookup
    data_version: str
    data_month: str


class ReferenceError(RuntimeError):
    """The champion or the data it was trained on cannot be found."""


def _cache_url(monitoring_url: str, name: str, version: str, suffix: str) -> str:
    return storage.join(monitoring_url, "reference", f"{name}-v{version}.{suffix}")


def _cached(monitoring_url: str, name: str, version: str) -> Reference | None:
    rows_url = _cache_url(monitoring_url, name, version, "parquet")
    facts_url = _cache_url(monitoring_url, name, version, "json")
    if not (storage.exists(rows_url) and storage.exists(facts_url)):
        return None
    facts: dict[str, Any] = storage.read_json(facts_url)
    return Reference(
        name,
        version,
        storage.read_parquet(rows_url),
        SegmentLookup.from_dict(facts["lookup"]),
        facts["data"]["version"],
        facts["data"]["month"],
    )


def champion_reference(
    data_url: str, monitoring_url: str, model_name: str, alias: str
) -> Reference:
    """The reference of the model that has ``alias`` now; raises ReferenceError when there
    is no such model or its training data is gone."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from ml.modeling.pyfunc import load_pipeline

    client = MlflowClient()
    try:
        version = client.get_model_version_by_alias(model_name, alias)
    except MlflowException as exc:
        raise ReferenceError(f"no model {model_name}@{alias} in the registry: {exc}") from None
    found = _cached(monitoring_url, model_name, version.version)
    if found is not None:
        return found
    if not version.run_id:
        raise ReferenceError(f"{model_name} v{version.version} names no training run")
    run = client.get_run(version.run_id)
    data = mlflow.artifacts.load_dict(f"runs:/{version.run_id}/data/manifest.json")
    try:
        tables = load_tables(data_url, data["version"], data["month"])
    except FileNotFoundError as exc:
        raise ReferenceError(f"training data of v{version.version} is gone: {exc}") from None
    params = run.data.params
    splits = time_splits(tables.deals, int(params["eval_months"]), int(params["val_months"]))
    lookup = SegmentLookup.from_tables(tables.teams, tables.products)
    rows = splits.eval.reset_index(drop=True)
    model = load_pipeline(f"models:/{model_name}/{version.version}")
    rows["win_probability"] = model.predict_proba(rows[list(INPUT_COLUMNS)])[:, 1]
    rows = lookup.label(rows)
    facts = {
        "lookup": lookup.as_dict(),
        "data": {"version": data["version"], "month": data["month"]},
    }
    storage.write_parquet(_cache_url(monitoring_url, model_name, version.version, "parquet"), rows)
    storage.write_json(_cache_url(monitoring_url, model_name, version.version, "json"), facts)
    return Reference(model_name, version.version, rows, lookup, data["version"], data["month"])
