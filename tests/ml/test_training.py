"""Training is deterministic, serves raw rows, and the gate refuses models no better
than the baselines; logging goes to a local MLflow (sqlite) store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from ml.data import schema as s
from ml.data.synthetic import GeneratorConfig, generate_csv_files
from ml.features import CrmTables
from ml.modeling.promotion import decide
from ml.modeling.pyfunc import load_pipeline
from ml.modeling.registry import Logged, register_and_gate
from ml.modeling.tracking import log_training
from ml.modeling.train import train
from ml.settings import PromotionMargins, TrainingSettings
from ml.validation import validate_files
from tests.ml.platform_settings import platform_settings

FAST = TrainingSettings(trials=2, families=("logistic", "boosting"))


def _tables(signal: float) -> CrmTables:
    clean = validate_files(generate_csv_files(GeneratorConfig(rows=3000, seed=11, signal=signal)))
    t = clean.tables
    return CrmTables(t[s.PIPELINE], t[s.ACCOUNTS], t[s.PRODUCTS], t[s.TEAMS])


@pytest.fixture(scope="module")
def trained():
    return train(_tables(1.0), FAST)


def _feature_hash(result) -> str:
    features = result.pipeline.named_steps["features"].transform(result.eval_inputs)
    return hashlib.sha256(pd.util.hash_pandas_object(features).to_numpy().tobytes()).hexdigest()


def test_same_seed_same_features_and_metrics(trained) -> None:
    again = train(_tables(1.0), FAST)
    assert _feature_hash(again) == _feature_hash(trained)
    assert again.eval_metrics == trained.eval_metrics
    assert again.family == trained.family


def test_pipeline_scores_raw_rows_and_one_row(trained) -> None:
    p = trained.pipeline.predict_proba(trained.eval_inputs)[:, 1]
    assert p == pytest.approx(trained.families[trained.family].eval_predictions)
    one = trained.eval_inputs.iloc[[0]].assign(engage_date=lambda d: d["engage_date"].astype(str))
    assert 0 < trained.pipeline.predict_proba(one)[0, 1] < 1


def test_evaluation_is_out_of_time_with_baselines(trained) -> None:
    months = trained.splits.months
    assert max(months["train"]) < min(months["val"]) <= max(months["val"]) < min(months["eval"])
    assert set(trained.baselines) == {"historical_win_rate", "agent_win_rate"}
    for values in (trained.eval_metrics, *trained.baselines.values()):
        assert {"roc_auc", "pr_auc", "brier", "log_loss"} <= set(values)
    assert trained.eval_metrics["roc_auc"] < 0.95  # no leakage-level scores


def test_logging_registry_and_promotion(trained, tmp_path: Path, monkeypatch) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.chdir(tmp_path)  # local artifacts land under tmp_path/mlruns
    mlflow.set_tracking_uri(uri)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    lenient = platform_settings(margins=PromotionMargins(0.0, -1.0, 0.0, -1.0))
    data = {"version": "abc", "files": {"sales_pipeline.csv": {"sha256": "00"}}}
    run_id, model_uri = log_training(trained, run_name="training-2017-12", settings=lenient,
                                     data=data)  # fmt: skip
    logged = Logged(run_id, model_uri, "training-2017-12", data)
    version, decision, baseline = register_and_gate(trained, logged, lenient)
    client = MlflowClient(uri)
    aliases = client.get_registered_model(lenient.registry.model_name).aliases
    assert aliases["challenger"] == version and decision.promote and baseline is None
    assert aliases["champion"] == version
    run = client.get_run(run_id)
    assert run.data.tags["promotion.decision"] == "promoted"
    assert (
        "eval_roc_auc" in run.data.metrics and "baseline_agent_win_rate_brier" in run.data.metrics
    )
    assert run.data.params["data_version"] == "abc"
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {
        "features.json",
        "feature_importance.json",
        "promotion.json",
        "plots",
        "data",
    } <= artifacts
    # the same model again does not beat the champion by the strict margin
    strict = platform_settings(margins=PromotionMargins(0.0, -1.0, 0.0, 0.0))
    run2, uri2 = log_training(trained, run_name="training-2017-12", settings=strict, data=data)
    logged2 = Logged(run2, uri2, "training-2017-12", data)
    version2, decision2, baseline2 = register_and_gate(trained, logged2, strict)
    aliases = client.get_registered_model(strict.registry.model_name).aliases
    assert not decision2.promote and "champion" in decision2.reason
    # the champion beats the baselines on these rows, so it stays and no baseline is served
    assert baseline2 is None and not decision2.serve_baseline
    assert aliases["challenger"] == version2 and aliases["champion"] == version
    assert client.get_run(run2).data.tags["promotion.decision"] == "not promoted"
    loaded = load_pipeline(f"models:/{strict.registry.model_name}@champion")
    assert loaded.predict_proba(trained.eval_inputs.head(3)).shape == (3, 2)


def test_no_signal_model_is_not_promoted() -> None:
    flat = train(_tables(0.0), FAST)
    decision = decide(flat.eval_metrics, flat.baselines, None, platform_settings().margins)
    assert not decision.promote and decision.serve_baseline


def test_field_importance_finds_the_planted_signal(trained) -> None:
    from ml.modeling.importance import field_importance

    importance = field_importance(trained.pipeline, trained.eval_inputs, trained.eval_labels)
    assert "opportunity_id" not in importance
    # the generator plants its signal in the agent, the product and the sector
    assert importance["sales_agent"] > 0.01
    assert importance["sales_agent"] > importance["deal_stage"]
