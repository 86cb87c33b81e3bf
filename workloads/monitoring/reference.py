"""The training reference of the champion: its out-of-time evaluation rows (what the
model was judged on when it was trained) with the model's own predictions.

Built once per model version from the MLflow run that trained it (raw data version,
training month, split sizes) and cached in monitoring storage at
``<monitoring url>/reference/<model>-v<version>.parquet``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ml import storage
from ml.features import INPUT_COLUMNS
from ml.modeling.splits import time_splits
from ml.runs import load_tables


@dataclass(frozen=True)
class Reference:
    """The reference rows (inputs, ``won``, ``win_probability``) of one model version."""

    model_name: str
    model_version: str
    rows: pd.DataFrame


class ReferenceError(RuntimeError):
    """The champion or the data it was trained on cannot be found."""


def _cache_url(monitoring_url: str, name: str, version: str) -> str:
    return storage.join(monitoring_url, "reference", f"{name}-v{version}.parquet")


def champion_reference(
    data_url: str, monitoring_url: str, model_name: str, alias: str
) -> Reference:
    """The reference of the model that has ``alias`` now; raises ReferenceError when there
    is no such model or its training data is gone."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    try:
        version = client.get_model_version_by_alias(model_name, alias)
    except MlflowException as exc:
        raise ReferenceError(f"no model {model_name}@{alias} in the registry: {exc}") from None
    cache = _cache_url(monitoring_url, model_name, version.version)
    if storage.exists(cache):
        return Reference(model_name, version.version, storage.read_parquet(cache))
    run = client.get_run(version.run_id)
    data = mlflow.artifacts.load_dict(f"runs:/{version.run_id}/data/manifest.json")
    try:
        tables = load_tables(data_url, data["version"], data["month"])
    except FileNotFoundError as exc:
        raise ReferenceError(f"training data of v{version.version} is gone: {exc}") from None
    params = run.data.params
    splits = time_splits(tables.deals, int(params["eval_months"]), int(params["val_months"]))
    rows = splits.eval.reset_index(drop=True)
    model = mlflow.sklearn.load_model(f"models:/{model_name}/{version.version}")
    rows["win_probability"] = model.predict_proba(rows[list(INPUT_COLUMNS)])[:, 1]
    storage.write_parquet(cache, rows)
    return Reference(model_name, version.version, rows)
