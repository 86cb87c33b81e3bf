"""The compiled model of every family equals the scikit-learn pipeline (to 1e-6) on the
evaluation rows and on probe rows with unseen categories, after a round trip through
its folder; a model that cannot be compiled, or differs, is not used and the service
says so in /version and /metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import Pipeline

from ml.modeling import batch, compiled
from ml.modeling.baseline import baseline_pipeline
from ml.modeling.compiled import Served
from tests.workloads.serving.conftest import TREES_RUNTIME, MemorySource, records
from workloads.serving.app import create_app
from workloads.serving.scorer import build_scorer, input_frame, probe_rows, raw_rows
from workloads.serving.settings import ServingSettings

RUNTIMES = {"boosting": "treelite", "logistic": "numpy", "isotonic": "treelite", "baseline": "rate"}


def isotonic(result) -> Pipeline:
    """The boosting pipeline with its calibrator refitted as isotonic regression."""
    features, model = result.pipeline.named_steps.values()
    frozen = model.calibrated_classifiers_[0].estimator
    val = result.splits.val
    calibrated = CalibratedClassifierCV(frozen, method="isotonic")
    calibrated.fit(features.transform(val), val["won"].to_numpy())
    return Pipeline([("features", features), ("model", calibrated)])


@pytest.fixture(scope="module")
def pipelines(trained) -> dict[str, Pipeline]:
    return {
        "boosting": trained["boosting"].pipeline,
        "logistic": trained["logistic"].pipeline,
        "isotonic": isotonic(trained["boosting"]),
        "baseline": baseline_pipeline(trained["boosting"], "agent_win_rate"),
    }


@pytest.mark.parametrize("family", list(RUNTIMES))
def test_compiled_equals_the_pipeline_after_a_round_trip(
    pipelines, eval_inputs, tmp_path, family
) -> None:
    pipeline = pipelines[family]
    manifest = compiled.build_artifact(pipeline, eval_inputs, tmp_path / "compiled")
    assert manifest["runtime"] == RUNTIMES[family] and "problem" not in manifest
    assert manifest["check"]["max_difference"] <= 1e-6
    model, _ = compiled.load(tmp_path / "compiled")
    expected = pipeline.predict_proba(eval_inputs)[:, 1]
    got = batch.score_frame(pipeline, model, eval_inputs)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    # the service's path: fast features and encoder, then the compiled model
    served = Served(pipeline, model, manifest, compiled.check_rows(tmp_path / "compiled"))
    scorer = build_scorer(served)
    assert scorer.kind == "compiled" and scorer.compiled["made_at"] == "training"
    rows = probe_rows(scorer.features, count=3000, seed=5)  # unseen accounts and categories
    ids = [str(i) for i in range(3000)]
    want = pipeline.predict_proba(input_frame(rows, ids))[:, 1]
    np.testing.assert_allclose(scorer.predict(rows, ids), want, rtol=0, atol=1e-6)
    one = eval_inputs.head(1)
    np.testing.assert_allclose(
        scorer.predict(raw_rows(one), ["x"]), expected[:1], rtol=0, atol=1e-6
    )


def test_a_version_without_a_compiled_model_is_compiled_at_load(pipelines) -> None:
    scorer = build_scorer(pipelines["boosting"])
    assert scorer.kind == "compiled"
    assert scorer.compiled["made_at"] == "load" and scorer.compiled["runtime"] == TREES_RUNTIME


def test_a_compiled_model_that_differs_is_not_used(pipelines, eval_inputs) -> None:
    model = compiled.compile_model(pipelines["logistic"])
    model.intercept += 0.01
    scorer = build_scorer(Served(pipelines["logistic"], model, {}, eval_inputs.head(50)))
    assert scorer.kind == "fast" and not scorer.compiled["used"]
    assert "differs by" in scorer.compiled["problem"]


def test_a_model_it_cannot_compile_is_reported_and_batch_scoring_falls_back(
    pipelines, eval_inputs, tmp_path, monkeypatch
) -> None:
    def refuse(pipeline):
        raise compiled.NotCompilable("no compiled form for this classifier")

    monkeypatch.setattr(compiled, "compile_model", refuse)
    manifest = compiled.build_artifact(pipelines["boosting"], eval_inputs, tmp_path / "c")
    assert "no compiled form" in manifest["problem"]
    assert compiled.load(tmp_path / "c") == (None, manifest)
    scores, status = batch.batch_scores(Served(pipelines["boosting"], None, manifest), eval_inputs)
    assert not status["used"] and "no compiled form" in status["problem"]
    expected = pipelines["boosting"].predict_proba(eval_inputs)[:, 1]
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-12)


def test_the_service_says_when_it_falls_back(pipelines, eval_inputs) -> None:
    """/version, /metrics and the log name the fallback; the answers stay right."""
    problem = "not compiled: NotCompilable: no compiled form for this classifier"
    fallback = Served(pipelines["boosting"], None, {"format": 1, "problem": problem})
    source = MemorySource({"1": fallback, "2": pipelines["logistic"]}, alias_version="1")
    with TestClient(create_app(ServingSettings(auth_required=False), source)) as client:
        client.app.state.service.refresher.check()
        version = client.get("/version").json()
        assert version["scorer"] == "fast"
        assert version["compiled"]["used"] is False
        assert version["compiled"]["problem"] == f"training: {problem}"
        metrics = client.get("/metrics").text
        assert "serving_compiled_fallback 1.0" in metrics
        assert 'serving_scorer{runtime="none",scorer="fast"} 1.0' in metrics
        rows = records(eval_inputs.head(3))
        answer = client.post("/predict", json={"opportunities": rows}).json()
        got = [p["win_probability"] for p in answer["predictions"]]
        expected = pipelines["boosting"].predict_proba(eval_inputs.head(3))[:, 1]
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
        source.alias_version = "2"
        client.app.state.service.refresher.check()
        version = client.get("/version").json()
        assert version["scorer"] == "compiled" and version["compiled"]["runtime"] == "numpy"
        metrics = client.get("/metrics").text
        assert "serving_compiled_fallback 0.0" in metrics
        assert 'serving_scorer{runtime="numpy",scorer="compiled"} 1.0' in metrics


def test_a_batch_of_many_rows_scores_as_the_pipeline_on_every_core(pipelines, eval_inputs) -> None:
    """From ``BATCH_THREADS_FROM`` rows on, a tree ensemble is scored in bulk (the fitted
    classifier's vectorised predictor, OpenMP on every core): the same probabilities."""
    pipeline = pipelines["boosting"]
    repeats = -(-compiled.BATCH_THREADS_FROM // len(eval_inputs))
    rows = pd.concat([eval_inputs] * repeats, ignore_index=True)
    scores, status = batch.batch_scores(Served(pipeline, compiled.compile_model(pipeline)), rows)
    assert status["used"] and status["runtime"] == TREES_RUNTIME
    single = batch.score_frame(pipeline, compiled.compile_model(pipeline), eval_inputs.head(50))
    np.testing.assert_allclose(scores[:50], single, rtol=0, atol=1e-12)
    np.testing.assert_allclose(scores, pipeline.predict_proba(rows)[:, 1], rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "calibrator",
    [
        compiled.Calibrator("sigmoid", a=-1.7, b=0.3),
        compiled.Calibrator(
            "isotonic", x=np.array([-2.0, 0.0, 0.5, 3.0]), y=np.array([0.05, 0.2, 0.2, 0.9])
        ),
    ],
)
def test_one_score_is_calibrated_as_a_batch_is(calibrator) -> None:
    """A request's single score takes a path of its own; it ends where a batch does,
    outside the fitted range and on its edges included."""
    scores = np.array([-9.0, -2.0, -1.0, 0.0, 0.25, 0.5, 2.9, 3.0, 7.5])
    alone = [calibrator.one(float(s)) for s in scores]
    np.testing.assert_allclose(alone, calibrator(scores), rtol=0, atol=1e-15)
