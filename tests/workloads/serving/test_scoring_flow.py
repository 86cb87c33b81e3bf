"""Batch scoring of a processed month: every open deal scored, pipeline value per
agent, manager and office, written as parquet (on a file:// data URL)."""

from __future__ import annotations

import pandas as pd
import pytest

from ml import storage
from ml.data import schema as s
from ml.data.sources import make_source
from ml.modeling.baseline import baseline_pipeline
from ml.runs import acquire_step, load_tables, process_month
from ml.snapshots import month_end
from tests.workloads.serving.conftest import TREES_RUNTIME
from workloads.flows.scoring import expected_deal_values, score_month

MONTH = "2017-09"


@pytest.fixture(scope="module")
def processed(tmp_path_factory) -> tuple[str, str]:
    url = tmp_path_factory.mktemp("data").as_uri()
    version = acquire_step(make_source("synthetic", rows=3000, seed=7), url)["version"]
    process_month(url, version, MONTH, 0.95)
    return url, version


@pytest.mark.parametrize("kind", ["boosting", "baseline"])
def test_every_open_deal_is_scored_and_valued(processed, trained, kind: str) -> None:
    url, version = processed
    learned = trained["boosting"]
    model = learned.pipeline if kind == "boosting" else baseline_pipeline(learned, "agent_win_rate")
    summary = score_month(url, version, MONTH, model, "crm-win-probability", "3")
    target = storage.join(url, "scores", version, MONTH)
    scores = storage.read_parquet(storage.join(target, "scores.parquet"))
    values = storage.read_parquet(storage.join(target, "pipeline_value.parquet"))
    deals = load_tables(url, version, MONTH).deals
    open_ids = set(deals.loc[deals["deal_stage"].isin(s.OPEN_STAGES), "opportunity_id"])
    assert set(scores["opportunity_id"]) == open_ids and summary["open_deals"] == len(open_ids)
    inputs = scores[["opportunity_id", "sales_agent", "product", "account", "deal_stage",
                     "engage_date", "as_of_date"]]  # fmt: skip
    expected = model.predict_proba(inputs)[:, 1]
    assert scores["win_probability"].to_numpy() == pytest.approx(expected, abs=1e-12)
    assert (
        scores["expected_value"] == scores["win_probability"] * scores["expected_deal_value"]
    ).all()
    assert set(scores["model_version"]) == {"3"}
    runtime = {"boosting": TREES_RUNTIME, "baseline": "rate"}[kind]
    assert summary["compiled"]["used"] and summary["compiled"]["runtime"] == runtime
    assert set(values["level"]) == {"sales_agent", "manager", "regional_office", "total"}
    for level in ("sales_agent", "manager", "regional_office"):
        part = values[values["level"].eq(level)]
        assert part["expected_value"].sum() == pytest.approx(summary["expected_pipeline_value"])
        assert part["open_deals"].sum() == len(open_ids)
    assert summary["expected_pipeline_value"] < summary["pipeline_value"]
    assert storage.read_json(storage.join(target, "summary.json")) == summary


def test_deal_values_are_known_at_the_month_end(processed) -> None:
    url, version = processed
    tables = load_tables(url, version, MONTH)
    as_of = month_end(MONTH)
    values = expected_deal_values(tables, as_of)
    deals = tables.deals
    won = deals[deals["deal_stage"].eq(s.WON) & (deals["close_date"] <= as_of)]
    mean = won.groupby("product")["close_value"].mean()
    for product, row in values.iterrows():
        if row["value_basis"] == "won_mean_close_value":
            assert row["expected_deal_value"] == pytest.approx(mean[product])
        else:
            price = tables.products.set_index("product").loc[product, "sales_price"]
            assert row["expected_deal_value"] == price
    early = expected_deal_values(tables, pd.Timestamp("2016-01-31"))
    assert set(early["value_basis"]) == {"list_price"}  # nothing had closed yet
