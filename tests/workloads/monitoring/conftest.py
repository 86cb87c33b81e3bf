"""A trained champion on generated data, a temporary Prefect API, and prediction logs
written the way the serving API writes them (day partitions of parquet)."""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from ml import storage
from ml.data.sources import SyntheticSource
from ml.data.synthetic import GeneratorConfig
from ml.features import INPUT_COLUMNS
from ml.features.rows import labelled_rows
from ml.modeling.pyfunc import load_pipeline
from ml.runs import acquire_step, load_tables, process_month, resolve_month, train_month
from ml.settings import TrainingSettings
from ml.snapshots import month_end
from tests.conftest import free_port_base
from tests.ml.platform_settings import platform_settings
from workloads.flows.settings import PipelineSettings
from workloads.monitoring.settings import MonitoringSettings
from workloads.settings import load

SEED, ROWS = 11, 4000
MONTH = "2018-01"  # the month the serving API scored the opportunities in


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return "127.0.0.1", free_port_base(start=26000, size=1)


@pytest.fixture(scope="session")
def prefect_api():
    """A temporary Prefect server (SQLite) with the platform's deployments registered."""
    from prefect.testing.utilities import prefect_test_harness

    from workloads.flows import deploy

    with prefect_test_harness(server_startup_timeout=120):
        args = deploy.parse_args(["--source", "synthetic", "--rows", "8800"])
        deploy.register(args, load(PipelineSettings, {}), load(MonitoringSettings, {}))
        yield


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Generated data (no drift) and a champion trained on it, in a private MLflow."""
    root = tmp_path_factory.mktemp("champion")
    data_url = f"file://{root / 'data'}"
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    mlflow.create_experiment("crm-test", artifact_location=str(root / "artifacts"))
    version = acquire_step(SyntheticSource(GeneratorConfig(rows=ROWS, seed=SEED)), data_url)[
        "version"
    ]
    version, month = resolve_month(data_url, version, None)
    process_month(data_url, version, month, 0.9)
    settings = platform_settings(
        name="crm-test",
        data_url=data_url,
        training=TrainingSettings(trials=2, families=("logistic",)),
    )
    summary = train_month(data_url, version, month, settings, f"training-{month}")
    MlflowClient().set_registered_model_alias("crm-test", "champion", summary["model_version"])
    return {
        "root": str(root),
        "data_url": data_url,
        "version": version,
        "month": month,
        "eval_months": summary["months"]["eval"],
    }


def scored_rows(data_url: str, version: str, month: str, months: list[str]) -> pd.DataFrame:
    """Opportunities open at the ends of ``months`` (closed later), scored by the champion."""
    deals = load_tables(data_url, version, month).deals
    rows = labelled_rows(deals, [month_end(m) for m in months], deals["close_date"].max())
    model = load_pipeline("models:/crm-test@champion")
    rows["win_probability"] = model.predict_proba(rows[list(INPUT_COLUMNS)])[:, 1]
    return rows.drop(columns=["won"])


def write_prediction_log(predictions_url: str, rows: pd.DataFrame, month: str = MONTH) -> None:
    """``rows`` as the serving API logs them, spread over the days of ``month``:
    one parquet file per day partition."""
    days = pd.Series([f"{month}-{1 + i % 28:02d}" for i in range(len(rows))], index=rows.index)
    for day, part in rows.groupby(days):
        logged = part.assign(model_name="crm-test", model_version="1", request_id="test")
        storage.write_parquet(
            storage.join(predictions_url, f"date={day}", "part-0.parquet"), logged
        )


@pytest.fixture
def platform_data(trained: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A private copy of the champion's data plus empty prediction and monitoring stores."""
    shutil.copytree(Path(trained["root"]) / "data", tmp_path / "data")
    return {
        **trained,
        "data_url": f"file://{tmp_path / 'data'}",
        "predictions_url": f"file://{tmp_path / 'predictions'}",
        "monitoring_url": f"file://{tmp_path / 'monitoring'}",
    }


def land_drifted_data(data_url: str, drift: float) -> str:
    """Acquire the same generated data with ``drift`` injected as the newest version and
    process it; returns the version."""
    config = GeneratorConfig(rows=ROWS, seed=SEED, drift=drift)
    version = acquire_step(SyntheticSource(config), data_url)["version"]
    version, month = resolve_month(data_url, version, None)
    process_month(data_url, version, month, 0.9)
    return version
