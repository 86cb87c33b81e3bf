"""Batch scoring through a compiled model (:mod:`ml.modeling.compiled`): a DataFrame of
``ml.features.INPUT_COLUMNS`` through the pipeline's fitted features and encoder
(vectorised, :data:`~ml.modeling.compiled.CHUNK_ROWS` rows at a time), then the
compiled model; a tree ensemble's batch through its native code on every core
(``ml.modeling.native``), else the fitted classifier's own vectorised predictor
(see ``CompiledModel.bulk``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from ml.features.transformer import NUMERIC
from ml.modeling import compiled as compiling
from ml.modeling.compiled import CHUNK_ROWS, TOLERANCE, CompiledModel, Served, parts
from ml.modeling.native import checked_native


def model_input(pipeline: Pipeline, compiled: CompiledModel, inputs: pd.DataFrame) -> np.ndarray:
    """The rows ``compiled`` takes for ``inputs`` (``INPUT_COLUMNS``), computed by the
    pipeline's fitted features and encoder (vectorised: the batch path)."""
    features = pipeline.named_steps["features"].transform(inputs)
    if compiled.input == "numeric_features":
        return features[list(NUMERIC)].to_numpy(dtype=np.float64)
    inner, _ = parts(pipeline.named_steps["model"])
    assert inner is not None
    encoded = inner.steps[0][1].transform(features)
    encoded = encoded.toarray() if hasattr(encoded, "toarray") else encoded
    return np.asarray(encoded, dtype=np.float64)


def score_frame(pipeline: Pipeline, compiled: CompiledModel, inputs: pd.DataFrame) -> np.ndarray:
    """P(Won) per row of ``inputs`` through the compiled model, :data:`CHUNK_ROWS` rows at a
    time (the features of a million rows at once would take gigabytes)."""
    if not len(inputs):
        return np.empty(0)
    inner, _calibrators = parts(pipeline.named_steps["model"])
    if compiled.runtime == "treelite" and inner is not None:
        compiled = replace(compiled, bulk=inner.steps[1][1])
    chunks = [
        compiled.predict(model_input(pipeline, compiled, inputs.iloc[i : i + CHUNK_ROWS]))
        for i in range(0, len(inputs), CHUNK_ROWS)
    ]
    return np.concatenate(chunks)


def max_difference(pipeline: Pipeline, compiled: CompiledModel, inputs: pd.DataFrame) -> float:
    """The largest absolute difference in P(Won) between ``compiled`` and ``pipeline``."""
    expected = pipeline.predict_proba(inputs)[:, 1]
    return float(np.max(np.abs(score_frame(pipeline, compiled, inputs) - expected)))


def batch_scores(
    served: Served, inputs: pd.DataFrame, sample: int = 1000
) -> tuple[np.ndarray, dict[str, Any]]:
    """P(Won) per row of ``inputs`` through ``served``'s compiled model (compiled here when
    the version has none), checked first against the pipeline on the rows saved with it
    and the first ``sample`` rows of ``inputs``; through the pipeline itself when it
    cannot be compiled or differs by more than :data:`TOLERANCE`. Returns the
    probabilities and the status (``used``, ``runtime``, ``max_difference`` or ``problem``;
    ``problem`` too when a tree ensemble is used without its native code)."""
    pipeline = served.pipeline
    problem = (served.manifest or {}).get("problem")
    if not problem:
        try:
            model = served.compiled or compiling.compile_model(pipeline)
            probe = [inputs.head(sample)]
            if served.check_rows is not None:
                probe.append(served.check_rows)
            probe = [p for p in probe if len(p)]

            def difference_of(candidate: CompiledModel) -> float:
                return max((max_difference(pipeline, candidate, p) for p in probe), default=0.0)

            if len(inputs):
                model, difference, native_problem = checked_native(model, difference_of)
            else:
                difference, native_problem = 0.0, None
            if difference <= TOLERANCE:
                status = {"used": True, "runtime": model.engine, "max_difference": difference}
                if native_problem:
                    status["problem"] = native_problem
                return score_frame(pipeline, model, inputs), status
            problem = f"compiled {model.runtime} model differs by {difference:.3g}"
        except Exception as exc:  # never fail a batch for want of a compiled model
            problem = f"not compiled: {type(exc).__name__}: {exc}"
    scores = pipeline.predict_proba(inputs)[:, 1] if len(inputs) else np.empty(0)
    return scores, {"used": False, "problem": problem}
