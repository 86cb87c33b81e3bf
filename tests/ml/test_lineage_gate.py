"""The gate compares like with like and the champion says what it was trained on.

The rules as a table (no MLflow), then the sequence a user lives through, on a real
MLflow server: a bootstrap on generated data with its planted signal, a run on the
user's own files (the generator with no signal and other agent names, landed from a
folder, stands in for them), then another generated-data run.
"""

from __future__ import annotations

import math
import uuid
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from ml import storage
from ml.data.sources import FolderSource, SyntheticSource
from ml.data.synthetic import GeneratorConfig, generate_csv_files
from ml.modeling.lineage import BASELINE_MESSAGE, lineage_from_tags
from ml.modeling.promotion import Incumbent, decide
from ml.runs import acquire_step, process_month, train_month
from ml.settings import PipelineSettings, PromotionMargins, TrainingSettings
from tests.ml.platform_settings import platform_settings
from workloads.monitoring.reference import champion_reference

MARGINS = PromotionMargins(
    auc_over_baseline=0.01,
    brier_over_baseline=0.001,
    auc_over_champion=0.0,
    brier_over_champion=0.0,
)
BASE = {"historical_win_rate": {"roc_auc": 0.60, "brier": 0.230}}
GOOD = {"roc_auc": 0.65, "brier": 0.220}
FLAT = {"roc_auc": 0.605, "brier": 0.2299}
STRONG = {"roc_auc": 0.70, "brier": 0.200}


def test_a_challenger_that_beats_the_baselines_is_promoted_when_no_champion_exists() -> None:
    decision = decide(GOOD, BASE, None, MARGINS, source="folder")
    assert decision.promote and not decision.serve_baseline


def test_no_learned_model_beating_the_baselines_serves_the_baseline() -> None:
    decision = decide(FLAT, BASE, None, MARGINS, source="folder")
    assert not decision.promote and decision.serve_baseline
    assert decision.reason.startswith(BASELINE_MESSAGE)
    assert "does not beat baseline:historical_win_rate" in decision.reason
    assert not decide({"roc_auc": math.nan, "brier": 0.1}, BASE, None, MARGINS).promote


def test_a_fit_champion_is_compared_on_the_same_rows_and_kept_when_better() -> None:
    champion = Incumbent("3", "folder", metrics=STRONG)
    decision = decide(GOOD, BASE, champion, MARGINS, source="folder")
    assert not decision.promote and not decision.serve_baseline
    assert "champion:v3" in decision.reason
    assert decide(STRONG, BASE, Incumbent("3", "folder", metrics=GOOD), MARGINS,
                  source="folder").promote  # fmt: skip


def test_a_champion_no_better_than_the_baselines_gives_way_to_the_baseline() -> None:
    champion = Incumbent("3", "folder", metrics=FLAT)
    decision = decide(FLAT, BASE, champion, MARGINS, source="folder")
    assert not decision.promote and decision.serve_baseline


def test_an_unfit_champion_does_not_block() -> None:
    champion = Incumbent("2", "synthetic", unfit="30 of the 30 sales_agent values are unknown")
    decision = decide(GOOD, BASE, champion, MARGINS, source="synthetic")
    assert decision.promote and "cannot score these rows" in decision.reason
    flat = decide(FLAT, BASE, champion, MARGINS, source="synthetic")
    assert flat.serve_baseline and "does not block" in flat.reason


def test_generated_data_never_replaces_a_real_data_champion() -> None:
    for champion in (Incumbent("4", "folder", metrics=FLAT), Incumbent("4", "kaggle", unfit="x")):
        decision = decide(STRONG, BASE, champion, MARGINS, source="synthetic")
        assert not decision.promote and not decision.serve_baseline
        assert "generated data never replaces it" in decision.reason


def test_real_data_replaces_a_generated_data_champion_when_it_passes_the_baselines() -> None:
    champion = Incumbent("1", "synthetic", metrics=STRONG)  # better numbers, other data
    decision = decide(GOOD, BASE, champion, MARGINS, source="folder")
    assert decision.promote and "real data replaces it" in decision.reason
    flat = decide(FLAT, BASE, champion, MARGINS, source="folder")
    assert not flat.promote and flat.serve_baseline


@pytest.fixture
def registry(mlflow_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Pipeline settings on the real MLflow server, with a model name of their own."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    mlflow.set_tracking_uri(mlflow_server)
    name = f"crm-{uuid.uuid4().hex[:8]}"
    return platform_settings(
        name=name,
        data_url=f"file://{tmp_path / 'data'}",
        training=TrainingSettings(trials=1, families=("logistic",)),
    )


def _run(settings: PipelineSettings, source) -> dict:
    url = settings.data_url
    version = acquire_step(source, url)["version"]
    month = process_month(url, version, None, 0.9)["month"]
    return train_month(url, version, month, settings, f"training-{month}",
                       {"pipeline_run_id": uuid.uuid4().hex})  # fmt: skip


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "crm"
    folder.mkdir()
    config = GeneratorConfig(rows=3000, seed=5, signal=0.0, agent_prefix="Rep")
    for name, data in generate_csv_files(config).items():
        (folder / name).write_bytes(data)
    return folder


def test_a_users_first_real_data_run_ends_with_a_champion_that_scores_its_deals(
    registry: PipelineSettings, tmp_path: Path
) -> None:
    client = MlflowClient()
    name = registry.registry.model_name
    bootstrap = _run(registry, SyntheticSource(GeneratorConfig(rows=3000, seed=42)))
    first = client.get_model_version_by_alias(name, "champion")  # learned or baseline
    assert first.version == bootstrap["champion_version"]
    assert lineage_from_tags(first.tags)["source"] == "synthetic"

    real = _run(registry, FolderSource(_folder(tmp_path)))
    champion = client.get_model_version_by_alias(name, "champion")
    assert champion.version not in (first.version, bootstrap["model_version"])
    assert champion.version == real["champion_version"]
    assert "cannot score these rows" in real["decision"]  # other agents: unfit, no block
    data = lineage_from_tags(champion.tags)
    assert data["source"] == "folder" and data["version"] == real["data"]["version"]
    assert data["rows"]["read"] == 3000 and data["months"]["eval"] == real["months"]["eval"]
    if champion.tags["kind"] == "baseline":
        assert real["decision"].startswith(BASELINE_MESSAGE)
        assert champion.tags["promotion.reason"].startswith(BASELINE_MESSAGE)

    # the champion scores the open deals of the user's data, through MLflow's interface
    features = storage.read_parquet(storage.join(
        registry.data_url, "processed", data["version"], data["month"], "sales_pipeline.parquet"
    ))  # fmt: skip
    open_deals = features[features["deal_stage"].isin(["Engaging", "Prospecting"])]
    rows = open_deals[["opportunity_id", "sales_agent", "product", "account", "deal_stage",
                       "engage_date"]].assign(as_of_date=f"{data['month']}-28")  # fmt: skip
    p = mlflow.pyfunc.load_model(f"models:/{name}@champion").predict(rows)
    assert len(p) == len(rows) > 100
    assert abs(p.mean() - 0.632) < 0.08  # about the historical win rate: no signal

    # monitoring finds the champion's training reference, learned or baseline
    reference = champion_reference(registry.data_url, f"file://{tmp_path / 'monitoring'}",
                                   name, "champion")  # fmt: skip
    assert reference.model_version == champion.version
    assert reference.rows["win_probability"].between(0, 1).all() and len(reference.rows) > 100

    run = client.get_run(champion.run_id)
    contexts = {d.tags[0].value for d in run.inputs.dataset_inputs if d.tags}
    assert contexts == {"training", "validation", "evaluation"}
    assert run.data.tags["data.source"] == "folder"

    # other generated data: the bootstrap's own would reuse its version (tests/ml/test_reuse.py)
    again = _run(registry, SyntheticSource(GeneratorConfig(rows=3000, seed=43)))
    assert not again["promoted"] and again["baseline_version"] is None
    assert "generated data never replaces it" in again["decision"]
    assert client.get_model_version_by_alias(name, "champion").version == champion.version
