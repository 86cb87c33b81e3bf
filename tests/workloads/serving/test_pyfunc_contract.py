"""MLflow's contract, through a real MLflow server: ``mlflow.pyfunc.load_model(
"models:/<name>@<alias>").predict(df)`` returns P(Won) per row, equal to what the
prediction service's ``/invocations`` answers for the same rows (to 1e-9), for each
kind of model the registry can hold: logistic, boosting, and a baseline served as
the champion. The signature lets ``account``, ``engage_date`` and ``as_of_date`` be
missing, as the service does (``fixtures/pyfunc-contract``)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ml.modeling.baseline import best_baseline
from ml.modeling.lineage import BASELINE_MESSAGE, lineage_tags
from ml.modeling.tracking import log_baseline, log_training
from ml.modeling.train import TrainingResult
from tests.ml.platform_settings import platform_settings
from tests.workloads.serving.conftest import records
from tests.workloads.serving.test_serving_api import wait_ready
from workloads.serving.app import create_app
from workloads.serving.model import RegistrySource
from workloads.serving.settings import ServingSettings

FIXTURE = Path(__file__).parent / "fixtures" / "pyfunc-contract" / "rows.json"
KINDS = ("logistic", "boosting", "baseline")
DATA = {"source": "synthetic", "version": "0123456789abcdef", "month": "2017-12",
        "rows": {"read": 3000, "quarantined": 0, "train": 1, "val": 1, "eval": 1},
        "months": {"train": ["2017-03"], "val": ["2017-08"], "eval": ["2017-10"]}}  # fmt: skip


@pytest.fixture(scope="module")
def registered(mlflow_server: str, trained: dict[str, TrainingResult]) -> dict[str, str]:
    """Each kind registered on the real server under an alias named after it."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    mlflow.set_tracking_uri(mlflow_server)
    name = f"crm-contract-{uuid.uuid4().hex[:8]}"
    settings = platform_settings(name=name)
    client = MlflowClient()
    data = {"version": DATA["version"], "month": DATA["month"]}
    logged = {family: log_training(trained[family], run_name=family, settings=settings,
                                   data=data, lineage=DATA)[1]
              for family in ("logistic", "boosting")}  # fmt: skip
    baseline = best_baseline(trained["logistic"])
    logged["baseline"] = log_baseline(trained["logistic"], baseline, run_name="baseline",
                                      settings=settings, data=data, lineage=DATA)[1]  # fmt: skip
    for kind, uri in logged.items():
        version = mlflow.register_model(uri, name).version
        tags = {"kind": "baseline" if kind == "baseline" else "learned", **lineage_tags(DATA),
                "family": baseline if kind == "baseline" else kind}  # fmt: skip
        for key, value in tags.items():
            client.set_model_version_tag(name, version, key, value)
        client.set_registered_model_alias(name, kind, version)
    yield {"name": name, "url": mlflow_server}
    mp.undo()


def _rows(eval_inputs: pd.DataFrame) -> list[dict]:
    """The field case's rows pointed at agents and products the models know, plus real
    evaluation rows (with missing accounts and engage dates among them)."""
    fixture = json.loads(FIXTURE.read_text())
    known = eval_inputs.dropna(subset=["account"]).iloc[0]
    fixture[0].update(sales_agent=known["sales_agent"], product=known["product"],
                      account=known["account"])  # fmt: skip
    fixture[1].update(sales_agent=eval_inputs["sales_agent"].iloc[-1])
    return fixture + records(eval_inputs.iloc[::40])


def _service_answer(name: str, alias: str, rows: list[dict]) -> tuple[np.ndarray, dict]:
    app = create_app(ServingSettings(auth_required=False), RegistrySource(name, alias))
    with TestClient(app) as client:
        wait_ready(client, timeout=120)
        response = client.post("/invocations", json={"dataframe_records": rows})
        assert response.status_code == 200, response.text
        return np.array(response.json()["predictions"]), client.get("/version").json()


@pytest.mark.parametrize("kind", KINDS)
def test_pyfunc_equals_invocations_for_every_model_kind(
    registered: dict[str, str], eval_inputs: pd.DataFrame, kind: str
) -> None:
    rows = _rows(eval_inputs)
    model = mlflow.pyfunc.load_model(f"models:/{registered['name']}@{kind}")
    from_pyfunc = model.predict(pd.DataFrame(rows))
    from_service, version = _service_answer(registered["name"], kind, rows)
    assert from_pyfunc.dtype == np.float64 and from_pyfunc.shape == (len(rows),)
    assert ((from_pyfunc > 0) & (from_pyfunc < 1)).all()  # probabilities, not 0/1 labels
    np.testing.assert_allclose(from_pyfunc, from_service, rtol=0, atol=1e-9)
    assert version["data"]["source"] == "synthetic" and version["data"]["rows"]["read"] == 3000
    assert version["kind"] == ("baseline" if kind == "baseline" else "learned")
    assert version["note"] == (BASELINE_MESSAGE if kind == "baseline" else None)


def test_the_signature_lets_optional_columns_be_missing(
    registered: dict[str, str], eval_inputs: pd.DataFrame
) -> None:
    model = mlflow.pyfunc.load_model(f"models:/{registered['name']}@logistic")
    inputs = {c.name: c.required for c in model.metadata.get_input_schema().inputs}
    assert [c for c, required in inputs.items() if not required] == [
        "account", "engage_date", "as_of_date"
    ]  # fmt: skip
    assert model.metadata.get_output_schema().inputs[0].type.name == "double"
    rows = [{k: v for k, v in r.items() if k not in ("account", "engage_date", "as_of_date")}
            for r in _rows(eval_inputs)]  # fmt: skip
    from_pyfunc = model.predict(pd.DataFrame(rows))  # as_of_date: today, as in the service
    from_service, _ = _service_answer(registered["name"], "logistic", rows)
    np.testing.assert_allclose(from_pyfunc, from_service, rtol=0, atol=1e-9)


def test_pyfunc_refuses_what_the_service_refuses(
    registered: dict[str, str], eval_inputs: pd.DataFrame
) -> None:
    model = mlflow.pyfunc.load_model(f"models:/{registered['name']}@baseline")
    rows = pd.DataFrame(_rows(eval_inputs)[:2])
    for column, value, message in (("product", "technolgy", "unknown product 'technolgy'"),
                                   ("sales_agent", "Nobody", "unknown sales_agent 'Nobody'")):  # fmt: skip
        with pytest.raises(MlflowException, match=message):
            model.predict(rows.assign(**{column: value}))
