"""The fast scorer (the compiled scorer's fallback) gives the pipeline's own probabilities (to 1e-9) on many rows."""

from __future__ import annotations

import numpy as np
import pytest

from ml.features.transformer import CATEGORICAL, NUMERIC
from workloads.serving import scorer as scoring
from workloads.serving.features import RawRows
from workloads.serving.scorer import FastScorer, fast_scorer, input_frame, probe_rows, raw_rows

FAMILIES = ("boosting", "logistic")


@pytest.mark.parametrize("family", FAMILIES)
def test_fast_path_equals_pipeline_on_evaluation_rows(trained, eval_inputs, family) -> None:
    pipeline = trained[family].pipeline
    scorer = fast_scorer(pipeline)
    assert scorer.kind == "fast"
    rows = raw_rows(eval_inputs)
    fast = scorer.predict(rows, list(eval_inputs["opportunity_id"]))
    expected = pipeline.predict_proba(eval_inputs)[:, 1]
    assert len(eval_inputs) > 200
    np.testing.assert_allclose(fast, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("family", FAMILIES)
def test_fast_path_equals_pipeline_on_probe_rows(trained, family) -> None:
    """Every agent, product and account (known, missing, unseen), dates past the history."""
    pipeline = trained[family].pipeline
    scorer = FastScorer(pipeline)
    rows = probe_rows(scorer.features, count=3000, seed=11)
    ids = [str(i) for i in range(3000)]
    expected = pipeline.predict_proba(input_frame(rows, ids))[:, 1]
    np.testing.assert_allclose(scorer.predict(rows, ids), expected, rtol=0, atol=1e-9)
    one = RawRows(rows.sales_agent[:1], rows.product[:1], rows.account[:1],
                  rows.engage_days[:1], rows.as_of_days[:1])  # fmt: skip
    np.testing.assert_allclose(scorer.predict(one, ids[:1]), expected[:1], rtol=0, atol=1e-9)


def test_fast_features_equal_the_transformer(trained, eval_inputs) -> None:
    features = trained["boosting"].pipeline.named_steps["features"]
    expected = features.transform(eval_inputs)
    categorical, numeric = FastScorer(trained["boosting"].pipeline).features.transform(
        raw_rows(eval_inputs)
    )
    for name, values in zip(CATEGORICAL, categorical, strict=True):
        assert list(values) == list(expected[name]), name
    np.testing.assert_allclose(numeric, expected[list(NUMERIC)].to_numpy(dtype=float), atol=1e-12)


def test_an_encoder_it_cannot_compile_falls_back_to_the_pipeline(trained, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise scoring.NotSeparable("mixes columns")

    monkeypatch.setattr(scoring, "compile_encoder", refuse)
    assert fast_scorer(trained["logistic"].pipeline).kind == "pipeline"


def test_a_fast_path_that_disagrees_is_not_used(trained, monkeypatch) -> None:
    monkeypatch.setattr(scoring, "max_difference", lambda *args: 1e-6)
    assert fast_scorer(trained["boosting"].pipeline).kind == "pipeline"


def test_one_row_alone_has_the_features_it_has_in_a_batch(trained) -> None:
    """A request's single row takes a path of its own (plain Python): every probe row
    (unknown agents, products and accounts, missing engage dates, dates past the
    history) gets exactly the features it gets in a batch."""
    features = FastScorer(trained["boosting"].pipeline).features
    rows = probe_rows(features, count=600, seed=5)
    categorical, numeric = features.transform(rows)
    for i in range(600):
        alone_categorical, alone_numeric = features.transform(scoring.row_of(rows, i))
        assert [c[0] for c in alone_categorical] == [c[i] for c in categorical], i
        np.testing.assert_array_equal(alone_numeric[0], numeric[i], err_msg=str(i))


def test_the_load_check_scores_single_rows_too(trained, monkeypatch) -> None:
    """A single-row path that disagrees with the pipeline is caught at load."""
    pipeline = trained["logistic"].pipeline
    scorer = FastScorer(pipeline)
    real = scorer.features.transform

    def wrong_alone(rows):
        categorical, numeric = real(rows)
        return categorical, numeric + (0.5 if len(numeric) == 1 else 0.0)

    monkeypatch.setattr(scorer.features, "transform", wrong_alone)
    assert scoring.max_difference(scorer, pipeline, probe_rows(scorer.features)) > 1e-3
