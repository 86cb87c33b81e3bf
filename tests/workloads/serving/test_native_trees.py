"""A gradient-boosting model scores through its native code (TL2cgen's C, built with
the machine's compiler) with the pipeline's probabilities to 1e-6, unseen categories
and missing values included, one row and a batch on every core; without a compiler,
or when the code differs, it scores with GTIL and the service says so in /version,
the log and /metrics; a library built once is loaded again without compiling."""

from __future__ import annotations

import logging
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from ml.modeling import batch, compiled, native
from ml.modeling.compiled import Served
from ml.modeling.families import FAMILIES
from tests.conftest import REPO
from tests.workloads.serving.conftest import TREES_RUNTIME, MemorySource, records
from workloads.serving.app import create_app
from workloads.serving.scorer import build_scorer, input_frame, probe_rows
from workloads.serving.settings import ServingSettings

pytestmark = pytest.mark.skipif(TREES_RUNTIME != "tl2cgen", reason="no C compiler (gcc or CC)")


@pytest.fixture(scope="module")
def small(trained) -> Pipeline:
    """A calibrated gradient-boosting pipeline of eight small trees (quick to compile)."""
    result = trained["boosting"]
    features = result.pipeline.named_steps["features"]
    splits = result.splits
    build, _space = FAMILIES["boosting"]
    base = build({"max_iter": 8, "max_leaf_nodes": 8, "min_samples_leaf": 20}, 0)
    base.fit(features.transform(splits.train), splits.train["won"].to_numpy())
    calibrated = CalibratedClassifierCV(FrozenEstimator(base), method="sigmoid")
    calibrated.fit(features.transform(splits.val), splits.val["won"].to_numpy())
    return Pipeline([("features", features), ("model", calibrated)])


@pytest.fixture(scope="module")
def scorer(small):
    """The service's scorer of ``small`` (its library built here, once for the module)."""
    return build_scorer(small)


def test_native_code_scores_as_the_pipeline(small, scorer, eval_inputs) -> None:
    assert scorer.kind == "compiled"
    assert scorer.compiled["runtime"] == "tl2cgen" and "problem" not in scorer.compiled
    assert scorer.compiled["max_difference"] <= 1e-6
    rows = probe_rows(scorer.features, count=2000, seed=11)  # unseen accounts, no engage date
    assert np.isnan(rows.engage_days).any() and None in rows.account
    ids = [str(i) for i in range(2000)]
    expected = small.predict_proba(input_frame(rows, ids))[:, 1]
    np.testing.assert_allclose(scorer.predict(rows, ids), expected, rtol=0, atol=1e-6)
    for i in range(5):  # one row at a time, as a request is scored
        one = probe_rows(scorer.features, count=1, seed=i)
        want = small.predict_proba(input_frame(one, ["x"]))[:, 1]
        np.testing.assert_allclose(scorer.predict(one, ["x"]), want, rtol=0, atol=1e-6)


def test_the_library_reads_nan_and_unseen_categories_as_scikit_learn_does(small, scorer) -> None:
    """On encoded rows: NaN anywhere, categories never seen and the encoder's -1."""
    inner, _ = compiled.parts(small.named_steps["model"])
    classifier = inner.steps[1][1]
    rows = probe_rows(scorer.features, count=500, seed=3)
    encoded = scorer._encoder.transform(*scorer.features.transform(rows))
    rng = np.random.default_rng(0)
    encoded[rng.random(encoded.shape) < 0.15] = np.nan
    encoded[:50, 0], encoded[50:100, 1], encoded[100:110, 0] = -1.0, 250.0, 1.5
    expected = classifier.decision_function(encoded)
    model = scorer.model
    assert model.native is not None
    np.testing.assert_allclose(model.decision(encoded), expected, rtol=0, atol=1e-9)
    alone = [model.decision(encoded[i : i + 1])[0] for i in range(150)]  # a request's path
    np.testing.assert_allclose(alone, expected[:150], rtol=0, atol=1e-9)
    probabilities = model.predict(encoded)
    alone = [model.predict(encoded[i : i + 1])[0] for i in range(150)]
    np.testing.assert_allclose(alone, probabilities[:150], rtol=0, atol=1e-12)
    margins = model.native.margins(model._unknown_as_missing(encoded), threads=2)
    np.testing.assert_allclose(margins, expected, rtol=0, atol=1e-9)


def test_a_batch_scores_through_the_library_on_every_core(small, eval_inputs) -> None:
    repeats = -(-compiled.BATCH_THREADS_FROM // len(eval_inputs))
    rows = pd.concat([eval_inputs] * repeats, ignore_index=True)
    scores, status = batch.batch_scores(Served(small), rows)
    assert status["used"] and status["runtime"] == "tl2cgen" and "problem" not in status
    np.testing.assert_allclose(scores, small.predict_proba(rows)[:, 1], rtol=0, atol=1e-6)


def test_a_second_load_reuses_the_library_without_compiling(small, scorer, native_cache) -> None:
    first = scorer.model.native
    assert first.path.is_relative_to(native_cache)
    built, modified = native.builds, first.path.stat().st_mtime_ns
    again = build_scorer(small)
    assert again.compiled["runtime"] == "tl2cgen"
    assert again.model.native.path == first.path
    assert native.builds == built and first.path.stat().st_mtime_ns == modified


def test_a_restarted_process_loads_the_library_built_before(scorer, tmp_path) -> None:
    """A new process (a restart, another worker, the batch flow) with the same model and
    cache folder compiles nothing."""
    trees = tmp_path / "trees.tl"
    trees.write_bytes(scorer.model.trees.serialize_bytes())
    program = (
        "import sys, treelite\n"
        "from ml.modeling import native\n"
        "model = treelite.Model.deserialize_bytes(open(sys.argv[1], 'rb').read())\n"
        "print(native.native_trees(model).path, native.builds)\n"
    )
    done = subprocess.run([sys.executable, "-c", program, str(trees)], capture_output=True,
                          text=True, timeout=120, cwd=REPO, check=True)  # fmt: skip
    path, builds = done.stdout.split()
    assert (path, builds) == (str(scorer.model.native.path), "0")


def test_without_a_compiler_it_scores_with_gtil_and_says_so(
    small, eval_inputs, tmp_path, monkeypatch, caplog
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no gcc here
    monkeypatch.delenv("CC", raising=False)
    built = native.builds
    with caplog.at_level(logging.WARNING, logger="workloads.serving.scorer"):
        fallback = build_scorer(small)
    assert fallback.kind == "compiled" and fallback.compiled["runtime"] == "treelite"
    problem = fallback.compiled["problem"]
    assert "native tree code not used" in problem and "'gcc' is not on PATH" in problem
    assert problem in caplog.text
    rows = probe_rows(fallback.features, count=300, seed=2)
    ids = [str(i) for i in range(300)]
    expected = small.predict_proba(input_frame(rows, ids))[:, 1]
    np.testing.assert_allclose(fallback.predict(rows, ids), expected, rtol=0, atol=1e-6)
    scores, status = batch.batch_scores(Served(small), eval_inputs)
    assert status["used"] and status["runtime"] == "treelite" and status["problem"] == problem
    np.testing.assert_allclose(scores, small.predict_proba(eval_inputs)[:, 1], atol=1e-6)
    assert native.builds == built

    source = MemorySource({"1": small}, alias_version="1")
    with TestClient(create_app(ServingSettings(auth_required=False), source)) as client:
        client.app.state.service.refresher.check()
        version = client.get("/version").json()
        assert version["scorer"] == "compiled" and version["compiled"]["used"] is True
        assert version["compiled"]["runtime"] == "treelite"
        assert version["compiled"]["problem"] == problem
        metrics = client.get("/metrics").text
        assert "serving_compiled_fallback 1.0" in metrics
        assert 'serving_scorer{runtime="treelite",scorer="compiled"} 1.0' in metrics
        answer = client.post("/predict", json={"opportunities": records(eval_inputs.head(3))})
        got = [p["win_probability"] for p in answer.json()["predictions"]]
        np.testing.assert_allclose(got, small.predict_proba(eval_inputs.head(3))[:, 1], atol=1e-6)


def test_the_service_reports_native_code_when_it_is_used(small) -> None:
    source = MemorySource({"1": small}, alias_version="1")
    with TestClient(create_app(ServingSettings(auth_required=False), source)) as client:
        client.app.state.service.refresher.check()
        version = client.get("/version").json()
        assert version["compiled"]["runtime"] == "tl2cgen" and "problem" not in version["compiled"]
        metrics = client.get("/metrics").text
        assert "serving_compiled_fallback 0.0" in metrics
        assert 'serving_scorer{runtime="tl2cgen",scorer="compiled"} 1.0' in metrics


def test_native_code_that_differs_is_not_used(small, monkeypatch) -> None:
    real = native.NativeTrees.margins

    def off(self, rows, threads=1):
        return real(self, rows, threads) + 0.01

    monkeypatch.setattr(native.NativeTrees, "margins", off)
    fallback = build_scorer(small)
    assert fallback.kind == "compiled" and fallback.compiled["runtime"] == "treelite"
    assert "differs by" in fallback.compiled["problem"]
    assert fallback.compiled["max_difference"] <= 1e-6


@pytest.mark.parametrize("how", ["shared", "off"])
def test_a_shared_cache_folder_or_the_setting_turns_it_off(small, tmp_path, monkeypatch, how):
    """A library is code this process runs: a folder others may write to is refused."""
    if how == "shared":
        folder = tmp_path / "cache"
        folder.mkdir()
        folder.chmod(0o777)
        monkeypatch.setenv("CRM_NATIVE_CACHE_DIR", str(folder))
    else:
        monkeypatch.setenv("CRM_NATIVE_TREES", "off")
    fallback = build_scorer(small)
    assert fallback.compiled["runtime"] == "treelite"
    assert ("not private" if how == "shared" else "CRM_NATIVE_TREES") in fallback.compiled[
        "problem"
    ]
