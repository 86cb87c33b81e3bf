"""A run on data, code and settings already trained reuses that version and says so;
a forced run, or a change of data, code or settings, trains and registers a new one.

The fingerprint's rules without MLflow, then the runs a user makes, on a real MLflow
server: two runs on the same data register one version, ``force`` registers a second,
a change of settings a third.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from ml.data.sources import SyntheticSource
from ml.data.synthetic import GeneratorConfig
from ml.modeling import fingerprint as fp
from ml.runs import acquire_step, process_month, train_month
from ml.settings import PipelineSettings, TrainingSettings
from tests.ml.platform_settings import platform_settings

SETTINGS = TrainingSettings(trials=20)


def test_the_fingerprint_changes_with_the_data_the_month_and_the_settings() -> None:
    base = fp.training_fingerprint("3f2a", "2017-12", SETTINGS)
    assert base == fp.training_fingerprint("3f2a", "2017-12", TrainingSettings(trials=20))
    others = {
        fp.training_fingerprint("3f2b", "2017-12", SETTINGS),
        fp.training_fingerprint("3f2a", "2017-11", SETTINGS),
        fp.training_fingerprint("3f2a", "2017-12", replace(SETTINGS, trials=21)),
        fp.training_fingerprint("3f2a", "2017-12", replace(SETTINGS, families=("logistic",))),
    }
    assert base not in others and len(others) == 4
    assert set(fp.fingerprint_inputs("3f2a", "2017-12", SETTINGS)["libraries"]) == set(fp.LIBRARIES)


def test_the_code_version_is_the_ml_packages_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "ml"
    (package / "modeling").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "modeling" / "train.py").write_text("SEED = 1\n")
    monkeypatch.setattr(fp, "_PACKAGE", package)
    fp.code_version.cache_clear()
    try:
        before = fp.code_version()
        old_fingerprint = fp.training_fingerprint("v", "m", SETTINGS)
        (package / "modeling" / "train.cpython-311.pyc").write_bytes(b"compiled")
        fp.code_version.cache_clear()
        assert fp.code_version() == before  # only the source counts
        (package / "modeling" / "train.py").write_text("SEED = 2\n")
        fp.code_version.cache_clear()
        assert fp.code_version() != before
        assert fp.training_fingerprint("v", "m", SETTINGS) != old_fingerprint
    finally:
        fp.code_version.cache_clear()


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


def _versions(client: MlflowClient, name: str) -> dict[str, list[str]]:
    """Every version of ``name`` with its aliases."""
    return {
        v.version: sorted(client.get_model_version(name, v.version).aliases)
        for v in client.search_model_versions(f"name='{name}'")
    }


def test_same_inputs_reuse_the_version_force_and_new_settings_train(
    registry: PipelineSettings,
) -> None:
    client = MlflowClient()
    name, url = registry.registry.model_name, registry.data_url
    data = acquire_step(SyntheticSource(GeneratorConfig(rows=3000, seed=42)), url)["version"]
    month = process_month(url, data, None, 0.9)["month"]

    def run(settings: PipelineSettings, pipeline_run: str, force: bool = False) -> dict:
        tags = {"pipeline_run_id": pipeline_run}
        return train_month(url, data, month, settings, f"training-{month}", tags, force)

    first = run(registry, "run-1")
    assert not first["reused"]
    registered = _versions(client, name)  # the learned version, and a baseline if served
    learned = client.get_model_version(name, first["model_version"])
    assert learned.tags[fp.FINGERPRINT_TAG] == fp.training_fingerprint(
        data, month, registry.training
    )
    assert learned.tags[fp.CODE_VERSION_TAG] == fp.code_version()

    again = run(registry, "run-2")
    assert again["reused"] and again["model_version"] == first["model_version"]
    v = first["model_version"]
    kept = ", ".join(registered[v])
    assert again["decision"].startswith(
        f"reused v{v} (same data, code and settings): nothing trained or registered; "
        f"the gate did not run again, so v{v} keeps its aliases ({kept})"
    )
    assert again["champion_version"] == first["champion_version"]
    assert again["eval"]["roc_auc"] == first["eval"]["roc_auc"]
    assert _versions(client, name) == registered  # nothing registered, no alias moved
    record = client.search_runs(
        [client.get_experiment_by_name(name).experiment_id],
        filter_string="tags.pipeline_run_id = 'run-2'",
    )
    assert [(r.data.tags["kind"], r.data.tags["model_version"]) for r in record] == [("reused", v)]
    assert record[0].data.tags["reused.run_id"] == learned.run_id

    forced = run(registry, "run-3", force=True)
    assert not forced["reused"] and int(forced["model_version"]) > int(max(registered, key=int))
    assert (
        client.get_model_version(name, forced["model_version"]).tags[fp.FINGERPRINT_TAG]
        == learned.tags[fp.FINGERPRINT_TAG]
    )
    assert run(registry, "run-4")["model_version"] == forced["model_version"]  # the newest

    other = replace(registry, training=replace(registry.training, seed=7))
    changed = run(other, "run-5")
    assert not changed["reused"]
    assert int(changed["model_version"]) > int(forced["model_version"])
