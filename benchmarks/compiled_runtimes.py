"""Benchmark: which runtime compiles each model family best, on this machine.

For logistic regression and gradient boosting (trained on generator data as the
pipeline trains them), the bare classifier's single-row cost and its largest
difference from scikit-learn on the evaluation rows (encoded), per runtime:
scikit-learn itself, Treelite's GTIL (trees), ONNX Runtime through skl2onnx in
float32 and float64, and numpy (the linear model's dot product). A runtime that
cannot convert or run a model is reported with its error.

ONNX Runtime and skl2onnx are not dependencies of the platform; install them to
run this: ``pip install skl2onnx onnxruntime``.

    python benchmarks/compiled_runtimes.py
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _machine import machine

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "benchmarks" / "results" / "compiled_runtimes.json"


def median_us(call: Callable[[], object], runs: int = 3000) -> float:
    """The median wall time of ``call`` over ``runs`` calls, in microseconds."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1e6


def trained(family: str):
    """A training result of ``family`` on 8,800 generated rows (seed 42, 3 trials)."""
    from ml.data import schema as s
    from ml.data.synthetic import GeneratorConfig, generate_csv_files
    from ml.features import CrmTables
    from ml.modeling.train import train
    from ml.settings import TrainingSettings
    from ml.validation import validate_files

    clean = validate_files(generate_csv_files(GeneratorConfig(rows=8800, seed=42))).tables
    tables = CrmTables(clean[s.PIPELINE], clean[s.ACCOUNTS], clean[s.PRODUCTS], clean[s.TEAMS])
    return train(tables, TrainingSettings(trials=3, families=(family,)))


def onnx(classifier, rows: np.ndarray, double: bool) -> tuple[Callable, Callable]:
    """``classifier`` converted to ONNX (float64 inputs when ``double``, else float32) in a single-
    threaded ONNX Runtime session: its P(Won) function of a row array, as the (batch, one-row)
    pair the other runtimes give (the same function twice)."""
    import onnxruntime as ort
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    kind, dtype = (DoubleTensorType, np.float64) if double else (FloatTensorType, np.float32)
    model = convert_sklearn(classifier, initial_types=[("X", kind([None, rows.shape[1]]))],
                            target_opset={"": 18, "ai.onnx.ml": 3},
                            options={id(classifier): {"zipmap": False}})  # fmt: skip
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )

    def run(x):
        return session.run(None, {"X": x.astype(dtype)})[1][:, 1]

    return run, run


def runtimes(classifier, family: str) -> dict[str, Callable]:
    """Per runtime, a function building (P(Won) of many rows, one-row call) from rows."""
    from ml.modeling.compiled import _known_categories

    def sklearn(rows):
        return classifier.predict_proba(rows)[:, 1], lambda: classifier.predict_proba(rows[:1])

    out = {"scikit-learn": sklearn}
    out["onnxruntime float32"] = lambda rows: _pair(onnx(classifier, rows, False), rows)
    out["onnxruntime float64"] = lambda rows: _pair(onnx(classifier, rows, True), rows)
    if family == "boosting":
        import treelite

        def gtil(rows):
            from ml.modeling.compiled import CompiledModel

            columns, known = _known_categories(classifier)
            model = CompiledModel("treelite", "boosting", trees=treelite.sklearn.import_model(classifier),
                                  categorical=columns, known=known)  # fmt: skip
            one = rows[:1]
            return model.predict(rows), lambda: model.predict(one)

        out["treelite gtil"] = gtil
    else:
        coef, intercept = classifier.coef_[0], classifier.intercept_[0]

        def linear(rows):
            from scipy.special import expit

            one = rows[:1]
            return expit(rows @ coef + intercept), lambda: expit(one @ coef + intercept)

        out["numpy"] = linear
    return out


def _pair(run: tuple[Callable, Callable], rows: np.ndarray):
    many, _ = run
    one = rows[:1]
    return many(rows), lambda: many(one)


def main() -> None:
    """Time each runtime on both families, check it against scikit-learn, print the report as JSON."""
    from ml.modeling.batch import model_input
    from ml.modeling.compiled import compile_model, parts

    report: dict[str, object] = {"machine": machine(), "families": {}}
    for family in ("logistic", "boosting"):
        result = trained(family)
        pipeline = result.pipeline
        inner, _ = parts(pipeline.named_steps["model"])
        classifier = inner.steps[1][1]
        rows = model_input(pipeline, compile_model(pipeline), result.eval_inputs)
        expected = classifier.predict_proba(rows)[:, 1]
        measured = {}
        for name, build in runtimes(classifier, family).items():
            try:
                many, one = build(rows)
                measured[name] = {
                    "max_difference": float(np.max(np.abs(np.asarray(many) - expected))),
                    "one_row_us": median_us(one),
                }
            except Exception as exc:  # a runtime that cannot take this model is a result too
                measured[name] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
            print(family, name, measured[name], flush=True)
        report["families"][family] = measured  # type: ignore[index]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
