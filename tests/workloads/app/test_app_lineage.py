"""The app shows what the served model was trained on, offers that data's agents,
products and accounts (not the newest acquired data's), says plainly when a baseline
serves, and shows a batch where no row scores as a failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient
from pytest_httpserver import HTTPServer

from ml.data.sources import SyntheticSource
from ml.data.synthetic import GeneratorConfig
from ml.modeling.lineage import BASELINE_MESSAGE, lineage_tags
from ml.runs import acquire_step, load_tables, process_month
from tests.workloads.app.stubs import VERSION, serve_stub
from tests.workloads.app.test_app_pages import page, texts


@pytest.fixture(scope="module")
def trained_on(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The served model's data (agents ``Rep 001``...), then newer data with other agents
    acquired last, as a user's first run after the generated-data bootstrap leaves it."""
    url = f"file://{tmp_path_factory.mktemp('data')}"
    mine = GeneratorConfig(rows=1500, seed=3, signal=0.0, agent_prefix="Rep", agents=12)
    version = acquire_step(SyntheticSource(mine), url)["version"]
    month = process_month(url, version, None, 0.9)["month"]
    acquire_step(SyntheticSource(GeneratorConfig(rows=1500, seed=4)), url)  # newest, other agents
    tables = load_tables(url, version, month)
    data = {"source": "folder", "origin": "/home/me/crm", "version": version, "month": month,
            "rows": {"read": 1500, "quarantined": 0, "train": 900, "val": 300, "eval": 300},
            "months": {"train": ["2017-03"], "val": ["2017-09"], "eval": ["2017-10", "2017-12"]},
            "quality_score": 1.0}  # fmt: skip
    return {"url": url, "data": data, "agents": sorted(tables.teams["sales_agent"])}


@pytest.fixture
def baseline_serving(
    trained_on: dict, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, app_env: Path
) -> dict:
    version = {**VERSION, "kind": "baseline", "family": "historical_win_rate",
               "data": trained_on["data"], "note": BASELINE_MESSAGE}  # fmt: skip
    url = serve_stub(httpserver, version, agents=set(trained_on["agents"]))
    monkeypatch.setenv("CRM_SERVING_URL", url)
    monkeypatch.setenv("CRM_DATA_URL", trained_on["url"])
    return trained_on


def test_predict_offers_the_served_models_agents_and_its_default_is_accepted(
    baseline_serving: dict,
) -> None:
    at = page("predict")
    assert not at.exception, at.exception
    agents = next(s for s in at.selectbox if s.label == "Sales agent")
    assert list(agents.options) == baseline_serving["agents"]
    assert all(a.startswith("Rep ") for a in agents.options)
    assert "trained on folder data" in texts(at, "caption")
    assert BASELINE_MESSAGE in texts(at, "info")
    at.button[0].click().run()  # the form as it opens: the service knows its agent
    assert not at.error, texts(at, "error")
    assert at.metric[0].value == "42.0%"


def test_batch_where_no_row_scores_is_a_failure(baseline_serving: dict) -> None:
    csv = (
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date\n"
        "B1,Anna Alder,GTX Basic,,Engaging,2017-11-01\n"
        "B2,Someone Else,GTX Basic,,Engaging,2017-11-01\n"
    )
    at = page("batch")
    at.get("file_uploader")[0].set_value(("deals.csv", csv.encode(), "text/csv")).run()
    assert not at.exception
    assert "No row scored" in texts(at, "error") and not at.success
    errors = at.dataframe[0].value
    assert "not an agent the served model was trained with" in errors["error"].iloc[0]


def test_batch_where_every_row_scores_is_a_success(baseline_serving: dict) -> None:
    agent = baseline_serving["agents"][0]
    csv = (
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date\n"
        f"C1,{agent},GTXPro,,Engaging,2017-11-01\n"
    )
    at = page("batch")
    at.get("file_uploader")[0].set_value(("deals.csv", csv.encode(), "text/csv")).run()
    assert "1 of 1 rows scored" in texts(at, "success") and not at.warning


def test_model_page_says_a_baseline_serves_and_what_it_was_trained_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app_env: Path, trained_on: dict
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("crm", artifact_location=str(tmp_path / "art"))
    client.create_registered_model("crm-win-probability")
    run = client.create_run(experiment)
    client.log_metric(run.info.run_id, "eval_roc_auc", 0.5)
    version = client.create_model_version("crm-win-probability", "file:///m", run.info.run_id)
    tags = {"kind": "baseline", "family": "agent_win_rate", "promotion": "promoted",
            **lineage_tags(trained_on["data"])}  # fmt: skip
    for key, value in tags.items():
        client.set_model_version_tag("crm-win-probability", version.version, key, value)
    client.set_registered_model_alias("crm-win-probability", "champion", version.version)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setattr("workloads.app.model_info.check_mlflow", lambda url: None)
    at = page("model")
    assert not at.exception, at.exception
    assert at.subheader[0].value == "champion: version 1 (baseline: agent_win_rate)"
    assert BASELINE_MESSAGE in texts(at, "info")
    shown = texts(at, "markdown")
    assert "**folder**" in shown and trained_on["data"]["version"] in shown
